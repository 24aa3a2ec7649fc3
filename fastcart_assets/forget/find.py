"""Find one customer's data in the lake and record the Kafka records to erase (Spark, delta-rs).

`find_customer` reads every table that holds customer data, counts the customer's rows, works
out which Bronze partitions Silver must re-run and which Gold dates fed on the customer's
Silver rows, and appends the customer's records to `quality/forgotten` (coordinates only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fastcart_assets.erasures import RECORD_KEY, append_erasures
from fastcart_assets.forget.customer import CustomerOrders, customer_orders, customer_rows
from fastcart_assets.forget.tables import NAMED_GOLD, Lake
from fastcart_assets.scratch import stored
from fastcart_assets.silver.transforms import touched_by_partition
from fastcart_assets.tables import (
    BRONZE,
    BRONZE_CDC,
    FORGOTTEN,
    ORDERS_CURRENT,
    ORDERS_HISTORY,
    SILVER,
    SILVER_REJECTED,
)

MAIN = (BRONZE, SILVER, SILVER_REJECTED)  # the order-event tables, by Kafka record
RECORD_COLUMNS = (*RECORD_KEY, "ingestion_date", "kafka_incarnation")


@dataclass
class Findings:
    """What `find_customer` found (no personal data: counts, dates, a request id)."""

    request_id: str
    found: dict[str, int] = field(default_factory=dict)  # the customer's rows per table
    recorded: int = 0  # records appended to quality/forgotten
    silver_dates: list[date] = field(default_factory=list)  # Bronze partitions Silver re-runs
    orphan_dates: list[date] = field(default_factory=list)  # records whose Bronze row is gone
    gold_dates: list[date] = field(default_factory=list)  # Gold dates their rows fed
    snapshot_dates: list[date] = field(default_factory=list)  # snapshots naming the customer
    cdc_dates: list[date] = field(default_factory=list)  # Bronze CDC partitions to blank
    cdc_orders: CustomerOrders = field(default_factory=CustomerOrders)  # ids, keys: no PII

    @property
    def nothing(self) -> bool:
        return not any(self.found.values())


def _records(frame: DataFrame) -> DataFrame:
    """The RECORD_COLUMNS of rows of `frame` (a main table) naming their Bronze record."""
    incarnation = (
        F.col("kafka_incarnation")
        if "kafka_incarnation" in frame.columns
        else F.lit(None).cast("int")
    )
    return frame.select(*RECORD_KEY, "ingestion_date", incarnation.alias("kafka_incarnation"))


def _main_records(lake: Lake, customer_id: str, findings: Findings) -> DataFrame | None:
    """The customer's records of the order-event tables, one row each (Bronze's incarnation
    where Bronze still has the row); counts the rows of each table into `findings`."""
    frames = {info: lake.read(info) for info in MAIN if lake.exists(info)}
    if not frames:
        return None
    orders = CustomerOrders()
    for frame in frames.values():
        orders = orders | customer_orders(frame, customer_id)
    found = []
    for info, frame in frames.items():
        mine = frame.where(customer_rows(frame, customer_id, orders))
        findings.found[info.path] = mine.count()
        found.append(_records(mine))
    union = found[0]
    for frame in found[1:]:
        union = union.unionByName(frame)
    return union.groupBy(*RECORD_KEY, "ingestion_date").agg(
        F.max("kafka_incarnation").alias("kafka_incarnation")
    )


def _gold_dates(lake: Lake, customer_id: str, records: DataFrame, findings: Findings) -> None:
    """Dates Gold must recompute: the event and creation dates the customer's Silver rows fed,
    and the customer snapshots naming them."""
    days: set[date] = set()
    if lake.exists(SILVER):
        silver = lake.read(SILVER)
        removed = silver.join(records.select(*RECORD_KEY), list(RECORD_KEY), "left_semi")
        touched = touched_by_partition(silver, removed.withColumn("_action", F.lit("removed")))
        days = {day for found in touched.values() for day in found}
    snapshots: set[date] = set()
    for table in NAMED_GOLD:
        if lake.exists(table):
            frame = lake.read(table)
            mine = frame.where(F.col("customer_id") == F.lit(customer_id))
            findings.found[table.path] = mine.count()
            snapshots |= {r[0] for r in mine.select(table.date_column).distinct().collect()}
    findings.gold_dates = sorted(days)
    findings.snapshot_dates = sorted(snapshots)


def _partitions(lake: Lake, records: DataFrame, findings: Findings) -> None:
    """Split the records' Bronze dates: partitions Silver re-runs (Bronze still has the row)
    and dates of records whose Bronze row is gone (retention keeps Silver longer)."""
    held = None
    if lake.exists(BRONZE):
        held = records.join(lake.read(BRONZE).select(*RECORD_KEY), list(RECORD_KEY), "left_semi")
        days = held.select("ingestion_date").distinct().collect()
        findings.silver_dates = sorted(r[0] for r in days)
    orphans = records if held is None else records.join(held, list(RECORD_KEY), "left_anti")
    findings.orphan_dates = sorted(
        r[0] for r in orphans.select("ingestion_date").distinct().collect()
    )


def _cdc_records(lake: Lake, customer_id: str, findings: Findings) -> DataFrame | None:
    """The customer's change envelopes (and rows of the SCD tables, counted)."""
    orders = CustomerOrders()
    tables = (BRONZE_CDC, ORDERS_HISTORY, ORDERS_CURRENT)
    frames = {info: lake.read(info) for info in tables if lake.exists(info)}
    for frame in frames.values():
        orders = orders | customer_orders(frame, customer_id)
    findings.cdc_orders = orders
    records = None
    for info, frame in frames.items():
        mine = frame.where(customer_rows(frame, customer_id, orders))
        findings.found[info.path] = mine.count()
        if info is BRONZE_CDC:
            records = mine.select(*RECORD_KEY, "ingestion_date").withColumn(
                "kafka_incarnation", F.lit(None).cast("int")
            )
            days = records.select("ingestion_date").distinct().collect()
            findings.cdc_dates = sorted(r[0] for r in days)
    return records


def find_customer(
    spark: SparkSession,
    lake: Lake,
    customer_id: str,
    request_id: str,
    now: datetime,
    scratch: str,
) -> Findings:
    """Find the customer everywhere and append their records to `quality/forgotten`."""
    findings = Findings(request_id)
    logged = []
    main = _main_records(lake, customer_id, findings)
    if main is not None:
        main = stored(main, f"{scratch}/main")
        _gold_dates(lake, customer_id, main, findings)
        _partitions(lake, main, findings)
        logged.append((BRONZE, main))
    cdc = _cdc_records(lake, customer_id, findings)
    if cdc is not None:
        logged.append((BRONZE_CDC, stored(cdc, f"{scratch}/cdc")))
    for info, records in logged:
        rows = records.select(
            F.lit(info.path).alias("bronze_table"),
            *RECORD_COLUMNS,
            F.lit(request_id).alias("request_id"),
            F.lit(now).cast("timestamp").alias("erased_at"),
        )
        findings.recorded += append_erasures(
            spark, lake.path(FORGOTTEN), rows, f"{scratch}/log-{info.name}"
        )
    return findings
