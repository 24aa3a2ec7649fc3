"""The Silver step on Delta tables: replace rejected rows, MERGE kept rows, report what changed.

Silver partition D processes Bronze partition D. Rejected rows replace partition D of the
rejected table. Kept rows are deduplicated within the batch, then MERGEd on (order_id,
timestamp) into the whole Silver table, replacing a row only when the incoming one was
ingested later (ties: higher Kafka partition, then offset) — so any processing order gives the
same table, and re-running a partition changes nothing.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from fastcart_assets.delta import table_exists
from fastcart_assets.schemas import (
    SILVER_PARTITION_COLUMNS,
    SILVER_REJECTED_PARTITION_COLUMNS,
    SILVER_REJECTED_SCHEMA,
    SILVER_SCHEMA,
)
from fastcart_assets.scratch import scratch_dir, stored
from fastcart_assets.silver.rules import HARD_RULES, SOFT_RULES
from fastcart_assets.silver.transforms import (
    KEY,
    classify,
    newer_than,
    newest_per_key,
    rejected_rows,
    silver_rows,
    typed_events,
)


@dataclass
class SilverResult:
    """What one Silver materialization did, reported as metadata."""

    dates: list[date]
    rows_in: int = 0
    rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    flagged_by_rule: dict[str, int] = field(default_factory=dict)
    passed: int = 0
    duplicates_in_batch: int = 0
    rows_written: int = 0  # inserted or replaced in Silver by this run
    touched_dates: list[date] = field(default_factory=list)


def ensure_table(spark: SparkSession, path: str, schema: StructType, partitions: Sequence[str]):
    """Create an empty Delta table when none exists (replaceWhere needs one)."""
    if not table_exists(path):
        (
            spark.createDataFrame([], schema)
            .write.format("delta")
            .mode("overwrite")
            .partitionBy(*partitions)
            .save(path)
        )


def _date_filter(column: str, dates: Sequence[date]) -> str:
    listed = ", ".join(f"DATE'{d.isoformat()}'" for d in sorted(dates))
    return f"{column} IN ({listed})"


def process_partitions(
    spark: SparkSession,
    bronze_path: str,
    silver_path: str,
    rejected_path: str,
    dates: Sequence[date],
    now: datetime | None = None,
    last_date: date | None = None,
) -> SilverResult:
    """Run the Silver step for the Bronze partitions `dates` (one or a backfill range).

    Args:
        spark: the session from the Spark resource.
        bronze_path, silver_path, rejected_path: the three tables.
        dates: Bronze ingestion dates to process.
        now: the write time (silver_ingestion_timestamp, rejected_at).
        last_date: touched dates after this one are left out (Gold has no such partition).
    """
    now = now or datetime.now(UTC)
    result = SilverResult(dates=sorted(dates))
    ensure_table(spark, silver_path, SILVER_SCHEMA, SILVER_PARTITION_COLUMNS)
    ensure_table(spark, rejected_path, SILVER_REJECTED_SCHEMA, SILVER_REJECTED_PARTITION_COLUMNS)
    if not table_exists(bronze_path):
        return result
    bronze = (
        spark.read.format("delta").load(bronze_path).where(_date_filter("ingestion_date", dates))
    )
    with scratch_dir(posixpath.dirname(silver_path.rstrip("/")), "silver") as scratch:
        _merge_batch(
            spark, bronze, silver_path, rejected_path, dates, now, last_date, scratch, result
        )
    return result


def _merge_batch(
    spark, bronze, silver_path, rejected_path, dates, now, last_date, scratch, result: SilverResult
) -> None:
    """Classify once (stored under `scratch`), replace rejected rows, MERGE the winners."""
    classified = stored(classify(typed_events(bronze)), f"{scratch}/classified")
    _summarize(classified, result)
    (
        rejected_rows(classified, now)
        .write.format("delta")
        .mode("overwrite")
        .option("replaceWhere", _date_filter("silver_ingestion_date", dates))
        .save(rejected_path)
    )

    winners = stored(newest_per_key(silver_rows(classified, now)), f"{scratch}/winners")
    winners.createOrReplaceTempView("silver_incoming")
    on = " AND ".join(f"t.{c} = s.{c}" for c in KEY)
    spark.sql(
        f"MERGE INTO delta.`{silver_path}` AS t USING silver_incoming AS s ON {on} "
        f"WHEN MATCHED AND {newer_than('s', 't')} THEN UPDATE SET * "
        "WHEN NOT MATCHED THEN INSERT *"
    )
    silver = spark.read.format("delta").load(silver_path)
    written = silver.where(F.col("silver_ingestion_timestamp") == F.lit(now).cast("timestamp"))
    stats = written.agg(F.count(F.lit(1)).alias("rows")).collect()[0]
    result.rows_written = int(stats.rows)
    result.duplicates_in_batch = result.passed - winners.count()
    result.touched_dates = touched_dates(silver, written, last_date)


def _summarize(classified: DataFrame, result: SilverResult) -> None:
    """Rows in, rejected by reason and flagged by rule, in one aggregation."""
    hard = {r.name: F.array_contains("rejection_reasons", r.name) for r in HARD_RULES}
    rejected = F.size("rejection_reasons") > 0
    soft = {r.name: ~rejected & F.array_contains("dq_failures", r.name) for r in SOFT_RULES}
    counts = classified.agg(
        F.count(F.lit(1)).alias("rows_in"),
        F.sum(F.when(rejected, 1).otherwise(0)).alias("rejected"),
        *[F.sum(F.when(c, 1).otherwise(0)).alias(f"hard_{n}") for n, c in hard.items()],
        *[F.sum(F.when(c, 1).otherwise(0)).alias(f"soft_{n}") for n, c in soft.items()],
    ).collect()[0]
    result.rows_in = int(counts.rows_in)
    result.rejected = int(counts.rejected or 0)
    result.passed = result.rows_in - result.rejected
    result.rejected_by_reason = {n: int(counts[f"hard_{n}"] or 0) for n in hard}
    result.flagged_by_rule = {n: int(counts[f"soft_{n}"] or 0) for n in soft}


def touched_dates(silver: DataFrame, written: DataFrame, last_date: date | None) -> list[date]:
    """Event dates of the rows written, and creation dates (pending event) of their orders."""
    orders = written.select("order_id").distinct()
    created = (
        silver.where((F.col("status") == "pending") & F.col("data_quality_score"))
        .join(orders, "order_id", "left_semi")
        .groupBy("order_id")
        .agg(F.min("timestamp").alias("timestamp"))
    )
    dates = (
        written.select(F.to_date("timestamp").alias("day"))
        .union(created.select(F.to_date("timestamp").alias("day")))
        .distinct()
    )
    if last_date is not None:
        dates = dates.where(F.col("day") <= F.lit(last_date))
    return sorted(row.day for row in dates.collect())
