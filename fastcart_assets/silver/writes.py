"""The Silver step on Delta tables (SPEC.md §6), for one Bronze partition or a range of them.

Silver partition D processes Bronze partition D. Rejected rows replace partition D of the
rejected table. Kept rows are deduplicated within the batch, then MERGEd on (order_id,
timestamp) into the whole Silver table, replacing a row only when the incoming one wins (later
ingested; ties: higher Kafka partition, then offset), so any processing order gives the same
table. A re-run finds nothing to write and commits nothing to either table. A Bronze row that
`fastcart forget` erased is rejected for `erased`, and the row Silver had kept from it is
deleted (silver/erasure.py), its Gold dates reported as touched.

When every kept row is a new key (the usual micro-batch), the MERGE is a plain append.

Spark actions per run: the classified batch and the decided changes are written once to
scratch Parquet (Sail's `cache()` recomputes), then read by small aggregations and the writes;
the classified copy keeps `_raw` and the original payload only on rejected rows.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from fastcart_assets.delta import dates_predicate, ensure_table, merge_into, table_exists
from fastcart_assets.erasures import ERASED, erased_records, with_erased_flag
from fastcart_assets.locks import WRITER_WAIT_S, table_lock
from fastcart_assets.schemas import (
    BRONZE_SCHEMA,
    SILVER_PARTITION_COLUMNS,
    SILVER_REJECTED_PARTITION_COLUMNS,
    SILVER_REJECTED_SCHEMA,
    SILVER_SCHEMA,
)
from fastcart_assets.scratch import scratch_dir, stored
from fastcart_assets.silver.erasure import remove_erased
from fastcart_assets.silver.rules import ERASED_RULE, HARD_RULES, SOFT_RULES
from fastcart_assets.silver.transforms import (
    COORDINATES,
    INSERT,
    KEY,
    REPLACE,
    UNCHANGED,
    classify,
    in_dates,
    merge_actions,
    newest_per_key,
    originals_of_rejected_only,
    rejected_rows,
    replaces,
    silver_rows,
    touched_by_partition,
    typed_events,
)


@dataclass
class PartitionCounts:
    """What the step found and wrote for one Bronze partition (the base of its rule rates)."""

    rows_in: int = 0  # Bronze rows of the date
    rejected: int = 0
    flagged: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)  # hard rules
    flagged_by_rule: dict[str, int] = field(default_factory=dict)  # soft rules, passing rows
    inserted: int = 0
    replaced: int = 0
    unchanged: int = 0

    def violations(self, rule: str) -> int:
        """Rows of the partition violating `rule` (rejected for it, or flagged by it)."""
        return self.rejected_by_reason.get(rule, self.flagged_by_rule.get(rule, 0))

    @property
    def rows_kept(self) -> int:
        return self.inserted + self.replaced

    @property
    def duplicates_dropped(self) -> int:
        return self.rows_in - self.rejected - self.rows_kept - self.unchanged


@dataclass
class SilverResult:
    """What one Silver step did, reported as materialization metadata."""

    dates: list[date]
    rows_in: int = 0  # Bronze rows of the dates
    passed: int = 0  # of them, rows passing every hard rule
    rejected: int = 0  # rows written to the rejected table
    rejected_by_reason: dict[str, int] = field(default_factory=dict)  # a row may have several
    flagged: int = 0  # passing rows failing a soft rule
    flagged_by_rule: dict[str, int] = field(default_factory=dict)
    duplicates_in_batch: int = 0  # passing rows beaten by another row of the batch
    inserted: int = 0  # new keys
    replaced: int = 0  # keys whose Silver row this batch replaced
    unchanged: int = 0  # rows already in Silver as they are (a re-run)
    duplicates_dropped: int = 0  # passing rows not in Silver: beaten in the batch or the table
    removed: int = 0  # Silver rows deleted because their Bronze row was erased (fastcart forget)
    counts_by_partition: dict[date, PartitionCounts] = field(default_factory=dict)
    # The Gold dates each processed (Bronze) partition touched; `touched_dates` is their union.
    touched_by_partition: dict[date, list[date]] = field(default_factory=dict)

    @property
    def rows_kept(self) -> int:
        """Rows inserted or replaced in Silver by this step."""
        return self.inserted + self.replaced

    @property
    def touched_dates(self) -> list[date]:
        return sorted({d for days in self.touched_by_partition.values() for d in days})

    def add_touched(self, touched: dict[date, list[date]]) -> None:
        """Add Gold dates touched per processed partition."""
        for partition, days in touched.items():
            known = self.touched_by_partition.get(partition, [])
            self.touched_by_partition[partition] = sorted(set(known) | set(days))

    def keep_touched_between(self, first: date | None, last: date | None) -> None:
        """Drop touched dates before `first` or after `last` (no Gold partition holds them)."""
        self.touched_by_partition = {
            partition: [
                d for d in days if (first is None or d >= first) and (last is None or d <= last)
            ]
            for partition, days in self.touched_by_partition.items()
        }


def write_silver_partition(
    spark: SparkSession,
    silver_path: str,
    rejected_path: str,
    bronze: DataFrame,
    partition_dates: Sequence[date],
    now: datetime,
) -> SilverResult:
    """Run the Silver step for the Bronze partitions `partition_dates` of `bronze`.

    Args:
        spark: the session from the Spark resource.
        silver_path: the Silver Delta table (created when missing).
        rejected_path: the rejected Delta table (created when missing).
        bronze: Bronze rows; only those of `partition_dates` are used.
        partition_dates: one date, or several (a backfill range) processed in one go.
        now: the write time (`silver_ingestion_timestamp`, `rejected_at`).
    """
    with table_lock(silver_path, wait_s=WRITER_WAIT_S):  # decide and MERGE as one writer
        dates = sorted(set(partition_dates))
        result = SilverResult(dates=dates)
        ensure_table(spark, silver_path, SILVER_SCHEMA, SILVER_PARTITION_COLUMNS)
        ensure_table(
            spark, rejected_path, SILVER_REJECTED_SCHEMA, SILVER_REJECTED_PARTITION_COLUMNS
        )
        if not dates:
            return result
        bronze = bronze.where(in_dates("ingestion_date", dates))
        with scratch_dir(posixpath.dirname(silver_path.rstrip("/")), "silver") as scratch:
            classified = originals_of_rejected_only(classify(typed_events(bronze)))
            classified = stored(classified, f"{scratch}/classified")
            span = _count_rules(classified, result)
            if result.rejected_by_reason.get(ERASED_RULE):  # Silver keeps no erased record
                result.removed, removed_touched = remove_erased(
                    spark, silver_path, classified.where(F.col(ERASED)), dates, f"{scratch}/e"
                )
                result.add_touched(removed_touched)
            _replace_rejected(spark, classified, rejected_path, dates, now, f"{scratch}/rejected")
            if span is None:  # nothing passed the hard rules
                return result
            winners = newest_per_key(silver_rows(classified, now))
            silver = spark.read.format("delta").load(silver_path)
            decided = stored(merge_actions(winners, silver, dates, span), f"{scratch}/decided")
            target_dates = _count_actions(decided, dates, result)
            if result.rows_kept:
                written = decided.where(F.col("_action").isin(INSERT, REPLACE))
                changes = written.select(*SILVER_SCHEMA.fieldNames())
                if result.replaced:
                    _merge(spark, changes, silver_path, target_dates)
                else:  # new keys only, decided under the lock: nothing in Silver to match
                    _append(changes, silver_path)
                silver = spark.read.format("delta").load(silver_path)
                result.add_touched(touched_by_partition(silver, written))
        return result


def _count_rules(classified: DataFrame, result: SilverResult) -> tuple[int, int] | None:
    """Rows in, rejected by reason and flagged by rule, per Bronze date, in one aggregation.
    Returns the first and last timestamp (epoch microseconds) of the rows passing the hard
    rules, None if none."""
    rejected = F.size("rejection_reasons") > 0
    flagged = ~rejected & (F.size("dq_failures") > 0)

    def count(condition: Column) -> Column:
        return F.sum(F.when(condition, 1).otherwise(0))

    rows = (
        classified.groupBy("ingestion_date")
        .agg(
            F.count(F.lit(1)).alias("rows_in"),
            count(rejected).alias("rejected"),
            count(flagged).alias("flagged"),
            F.min(F.when(~rejected, F.unix_micros("timestamp"))).alias("first"),
            F.max(F.when(~rejected, F.unix_micros("timestamp"))).alias("last"),
            *[
                count(F.array_contains("rejection_reasons", r.name)).alias(r.name)
                for r in HARD_RULES
            ],
            *[
                count(~rejected & F.array_contains("dq_failures", r.name)).alias(r.name)
                for r in SOFT_RULES
            ],
        )
        .collect()
    )

    def by_rule(rules, found) -> dict[str, int]:
        return {r.name: sum(int(row[r.name] or 0) for row in found) for r in rules}

    for day in result.dates:  # a date without Bronze rows has counts of zero
        found = [row for row in rows if row.ingestion_date == day]
        result.counts_by_partition[day] = PartitionCounts(
            rows_in=sum(int(row.rows_in) for row in found),
            rejected=sum(int(row.rejected or 0) for row in found),
            flagged=sum(int(row.flagged or 0) for row in found),
            rejected_by_reason=by_rule(HARD_RULES, found),
            flagged_by_rule=by_rule(SOFT_RULES, found),
        )
    result.rows_in = sum(int(row.rows_in) for row in rows)
    result.rejected = sum(int(row.rejected or 0) for row in rows)
    result.passed = result.rows_in - result.rejected
    result.flagged = sum(int(row.flagged or 0) for row in rows)
    result.rejected_by_reason = by_rule(HARD_RULES, rows)
    result.flagged_by_rule = by_rule(SOFT_RULES, rows)
    spans = [(int(row["first"]), int(row["last"])) for row in rows if row["first"] is not None]
    if not spans:
        return None
    return min(first for first, _ in spans), max(last for _, last in spans)


def _replace_rejected(
    spark: SparkSession,
    classified: DataFrame,
    rejected_path: str,
    dates: Sequence[date],
    now: datetime,
    scratch: str,
) -> None:
    """Replace the dates' partitions of the rejected table, unless they already hold exactly
    these rows; a row rejected again for the same reasons keeps its first `rejected_at`."""
    existing = (
        spark.read.format("delta")
        .load(rejected_path)
        .where(in_dates("silver_ingestion_date", dates))
        .select(*SILVER_REJECTED_SCHEMA.fieldNames())  # exceptAll compares by position
    )
    earlier = existing.select(
        *COORDINATES,
        F.col("rejection_reasons").alias("_earlier_reasons"),
        F.col("rejected_at").alias("_earlier_at"),
    )
    same_reasons = F.col("rejection_reasons").eqNullSafe(F.col("_earlier_reasons"))
    rows = (
        rejected_rows(classified, now)
        .join(earlier, list(COORDINATES), "left")
        .withColumn(
            "rejected_at",
            F.when(same_reasons, F.col("_earlier_at")).otherwise(F.col("rejected_at")),
        )
        .select(*SILVER_REJECTED_SCHEMA.fieldNames())
    )
    rows = stored(rows, scratch)
    differs = rows.exceptAll(existing).unionByName(existing.exceptAll(rows)).limit(1).count()
    if differs:
        (
            rows.write.format("delta")
            .mode("overwrite")
            .option("replaceWhere", dates_predicate("silver_ingestion_date", dates))
            .save(rejected_path)
        )


def _count_actions(decided: DataFrame, dates: Sequence[date], result: SilverResult) -> list[date]:
    """Count the winners by action; returns the Silver partitions the MERGE must look at: the
    processed dates and those of the rows to be replaced."""
    counts = decided.groupBy("_action", "_target_date", "silver_ingestion_date").agg(
        F.count(F.lit(1)).alias("n")
    )
    rows = counts.collect()

    def total(action: str, day: date | None = None) -> int:
        return sum(
            int(r.n) for r in rows if r._action == action and day in (None, r.silver_ingestion_date)
        )

    result.inserted, result.replaced, result.unchanged = (
        total(INSERT),
        total(REPLACE),
        total(UNCHANGED),
    )
    for day, counts_of_day in result.counts_by_partition.items():
        counts_of_day.inserted = total(INSERT, day)
        counts_of_day.replaced = total(REPLACE, day)
        counts_of_day.unchanged = total(UNCHANGED, day)
    result.duplicates_in_batch = result.passed - sum(int(r.n) for r in rows)
    result.duplicates_dropped = result.passed - result.rows_kept - result.unchanged
    return sorted(set(dates) | {r._target_date for r in rows if r._action == REPLACE})


def _merge(
    spark: SparkSession, changes: DataFrame, silver_path: str, target_dates: Sequence[date]
) -> None:
    """MERGE the changed rows into Silver; the condition re-checks that each one still wins.

    Only the Silver partitions `target_dates` are matched: `merge_actions` found every row to
    replace in them (one writer per table at a time, SPEC.md §2), and Sail then reads only them.
    """
    on = " AND ".join(f"t.{c} = s.{c}" for c in KEY)
    on += " AND " + dates_predicate("t.silver_ingestion_date", target_dates)
    merge_into(
        spark,
        silver_path,
        changes,
        f"ON {on} WHEN MATCHED AND {replaces('s', 't')} THEN UPDATE SET * "
        "WHEN NOT MATCHED THEN INSERT *",
    )


def _append(changes: DataFrame, silver_path: str) -> None:
    """Append rows whose keys Silver does not hold (one commit; the MERGE's result when every
    row is an insert, without reading the target partitions)."""
    (
        changes.write.format("delta")
        .mode("append")
        .partitionBy(*SILVER_PARTITION_COLUMNS)
        .save(silver_path)
    )


def process_partitions(
    spark: SparkSession,
    bronze_path: str,
    silver_path: str,
    rejected_path: str,
    dates: Sequence[date],
    now: datetime | None = None,
    last_date: date | None = None,
    first_date: date | None = None,
) -> SilverResult:
    """`write_silver_partition` on the Bronze table at `bronze_path` (the form silver.assets
    calls); touched dates before `first_date` or after `last_date` are left out."""
    if table_exists(bronze_path):
        bronze = spark.read.format("delta").load(bronze_path)
    else:
        bronze = spark.createDataFrame([], BRONZE_SCHEMA)
    erased = erased_records(spark, bronze_path)
    bronze = with_erased_flag(bronze, erased.where(in_dates("ingestion_date", dates)))
    result = write_silver_partition(
        spark, silver_path, rejected_path, bronze, dates, now or datetime.now(UTC)
    )
    result.keep_touched_between(first_date, last_date)
    return result
