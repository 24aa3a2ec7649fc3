"""The frames every Gold table is built on (SPEC.md §7 "Input" and "Terms"), computed once.

`order_status_events`: valid Silver rows reduced, over the whole table, to one event per
(order_id, status) — the earliest by timestamp, ties to the later ingested.
`order_facts`: one row per order with its creation (pending), completion (shipped) and
cancellation, its order date and its processing time.

Gold's step stores both frames once (gold.build) and every table reads them back. A step
needs only some orders (`orders_with_an_event_on`, `orders_shipped_by`): it reduces those, each
with all its events.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

EVENT_COLUMNS = (
    "order_id",
    "status",
    "timestamp",
    "total",
    "price",
    "quantity",
    "product_id",
    "product_name",
    "customer_id",
    "customer_email",
    "payment_method",
    "shipping_state",
)
# Silver and a step's dates -> the order_ids the step's tables need.
OrderSelector = Callable[[DataFrame, Sequence[date]], DataFrame]
# Lifecycle rank: the later stage wins a timestamp tie; cancelled counts as the last stage.
STATUS_RANK = {"pending": 1, "confirmed": 2, "processing": 3, "shipped": 4, "cancelled": 5}

# Offsets that keep every part of the event key non-negative and of a fixed width.
_SHIFT = 10**17
_WIDTH = 18


def _padded(value: Column, width: int = _WIDTH) -> Column:
    return F.lpad(value.cast("string"), width, "0")


def _earliest_first_key(silver: DataFrame) -> Column:
    """A string whose minimum is the earliest event, ties to the later ingested.

    Order: timestamp ascending, then ingestion_timestamp, kafka_partition and kafka_offset
    descending. One min() aggregate over it is ~2.5x faster on Sail than a row_number window
    over the whole table, and it leaves no window under the tables' own windows.
    """
    return F.concat(
        _padded(F.unix_micros("timestamp") + F.lit(_SHIFT)),
        _padded(F.lit(_SHIFT) - F.unix_micros("ingestion_timestamp")),
        _padded(F.lit(2**31) - F.col("kafka_partition"), 10),
        _padded(F.lit(_SHIFT) - F.col("kafka_offset")),
    )


def order_status_events(silver: DataFrame) -> DataFrame:
    """One valid event per (order_id, status): the earliest (ties: the later ingested).

    Columns: EVENT_COLUMNS plus `event_date` and `event_hour` (UTC, the session time zone)
    and `status_rank` (STATUS_RANK).
    """
    keyed = silver.where(F.col("data_quality_score")).select(
        *EVENT_COLUMNS, _earliest_first_key(silver).alias("_key")
    )
    earliest = keyed.groupBy("order_id", "status").agg(F.min("_key").alias("_key"))
    reduced = keyed.join(earliest, ["order_id", "status", "_key"], "left_semi")
    return reduced.select(
        *EVENT_COLUMNS,
        F.to_date("timestamp").alias("event_date"),
        F.hour("timestamp").alias("event_hour"),
        status_rank(F.col("status")).alias("status_rank"),
    )


def status_rank(status: Column) -> Column:
    """The lifecycle rank of `status` (null for anything else)."""
    rank = F.lit(None).cast("int")
    for name, value in STATUS_RANK.items():
        rank = F.when(status == name, F.lit(value)).otherwise(rank)
    return rank


def _of(status: str, column: str) -> Column:
    """The value of `column` on the order's event of `status` (there is at most one)."""
    return F.max(F.when(F.col("status") == status, F.col(column)))


def order_facts(events: DataFrame) -> DataFrame:
    """One row per order of `order_status_events`: creation, completion, cancellation.

    Columns: order_id; order_date (date of its earliest event); created_at, created_date,
    pending_total, pending_payment_method (its pending event); shipped_at, shipped_date,
    shipped_hour and, of the shipped event, amount (its total), customer_id, customer_email,
    payment_method, shipping_state; is_cancelled; processing_minutes (pending → shipped, only
    when both exist and shipped ≥ pending).
    """
    facts = events.groupBy("order_id").agg(
        F.to_date(F.min("timestamp")).alias("order_date"),
        _of("pending", "timestamp").alias("created_at"),
        _of("pending", "total").alias("pending_total"),
        _of("pending", "payment_method").alias("pending_payment_method"),
        _of("shipped", "timestamp").alias("shipped_at"),
        _of("shipped", "total").alias("amount"),
        _of("shipped", "customer_id").alias("customer_id"),
        _of("shipped", "customer_email").alias("customer_email"),
        _of("shipped", "payment_method").alias("payment_method"),
        _of("shipped", "shipping_state").alias("shipping_state"),
        F.max(F.when(F.col("status") == "cancelled", F.lit(1)).otherwise(0)).alias("_cancelled"),
    )
    minutes = (F.unix_micros("shipped_at") - F.unix_micros("created_at")).cast("double") / 6e7
    return facts.select(
        "order_id",
        "order_date",
        "created_at",
        F.to_date("created_at").alias("created_date"),
        "pending_total",
        "pending_payment_method",
        "shipped_at",
        F.to_date("shipped_at").alias("shipped_date"),
        F.hour("shipped_at").alias("shipped_hour"),
        "amount",
        "customer_id",
        "customer_email",
        "payment_method",
        "shipping_state",
        (F.col("_cancelled") == 1).alias("is_cancelled"),
        F.when(F.col("shipped_at") >= F.col("created_at"), minutes).alias("processing_minutes"),
    )


def _valid_before(silver: DataFrame, end: date) -> Column:
    """Valid rows with a timestamp before `end` (a range file statistics can skip files on)."""
    return F.col("data_quality_score") & (F.col("timestamp") < F.lit(end))


def orders_with_an_event_on(silver: DataFrame, dates: Sequence[date]) -> DataFrame:
    """The orders with a valid event dated (UTC, as `event_date`) on one of `dates`: every
    figure of a sales date is an event, a creation or a shipment of that date."""
    first, last = min(dates), max(dates)
    return (
        silver.where(_valid_before(silver, last + timedelta(days=1)))
        .where(F.col("timestamp") >= F.lit(first))
        .where(F.to_date("timestamp").isin(list(dates)))
        .select("order_id")
        .distinct()
    )


def orders_shipped_by(silver: DataFrame, dates: Sequence[date]) -> DataFrame:
    """The orders with a valid shipped event dated on or before the last of `dates`: the only
    ones a customer snapshot of those dates covers (its earliest shipped event is at least as
    early)."""
    end = max(dates) + timedelta(days=1)
    shipped = silver.where(_valid_before(silver, end) & (F.col("status") == "shipped"))
    return shipped.select("order_id").distinct()
