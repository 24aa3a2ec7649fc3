"""The frames every Gold table is built on (SPEC.md §7 "Input" and "Terms"), computed once.

`order_status_events`: valid Silver rows reduced, over the whole table, to one event per
(order_id, status) — the earliest by timestamp, ties to the later ingested.
`order_facts`: one row per order with its pending, shipped and cancelled events.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
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
# Lifecycle rank: the later stage wins a timestamp tie; cancelled counts as the last stage.
STATUS_RANK = {"pending": 1, "confirmed": 2, "processing": 3, "shipped": 4, "cancelled": 5}


def order_status_events(silver: DataFrame) -> DataFrame:
    """One event per (order_id, status): the earliest valid one (ties: the later ingested).

    Read the result back from storage before ranking it again: Sail cannot plan a window
    over a window (Gold writes these frames to scratch Parquet, see gold.build).
    """
    window = Window.partitionBy("order_id", "status").orderBy(
        F.col("timestamp").asc(),
        F.col("ingestion_timestamp").desc(),
        F.col("kafka_partition").desc(),
        F.col("kafka_offset").desc(),
    )
    earliest = (
        silver.where(F.col("data_quality_score"))
        .withColumn("_n", F.row_number().over(window))
        .where("_n = 1")
    )
    return earliest.select(
        *EVENT_COLUMNS,
        F.to_date("timestamp").alias("event_date"),
        F.hour("timestamp").alias("event_hour"),
        status_rank(F.col("status")).alias("status_rank"),
    )


def status_rank(status: Column) -> Column:
    rank = F.lit(None).cast("int")
    for name, value in STATUS_RANK.items():
        rank = F.when(status == name, F.lit(value)).otherwise(rank)
    return rank


def _of(status: str, column: str) -> Column:
    """The value of `column` on the order's event of `status` (there is at most one)."""
    return F.max(F.when(F.col("status") == status, F.col(column)))


def order_facts(events: DataFrame) -> DataFrame:
    """One row per order: its pending (creation), shipped (completion) and cancelled events.

    Columns: order_id, order_date (date of its earliest event), created_at/created_date and
    the booked `pending_total` and `pending_payment_method`; shipped_at/shipped_date and, of
    the shipped event, `amount` (its total), customer, email, payment method, state, product;
    `cancelled`; `processing_minutes` (pending → shipped, when both exist and shipped ≥ pending).
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
        F.max(F.when(F.col("status") == "cancelled", F.lit(True))).alias("cancelled"),
    )
    minutes = (F.unix_micros("shipped_at") - F.unix_micros("created_at")).cast("double") / 6e7
    return facts.select(
        "*",
        F.to_date("created_at").alias("created_date"),
        F.to_date("shipped_at").alias("shipped_date"),
        F.when(F.col("shipped_at") >= F.col("created_at"), minutes).alias("processing_minutes"),
        F.coalesce(F.col("cancelled"), F.lit(False)).alias("is_cancelled"),
    ).drop("cancelled")
