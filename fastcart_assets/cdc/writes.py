"""The CDC Silver step on Delta tables (SPEC.md §10), for one Bronze CDC partition or a range.

Silver CDC partition D processes Bronze CDC partition D: its envelopes are classified (rejected
with reasons, tombstones, usable changes), the history of the keys they touch is recomputed from
the stored versions plus the batch, and only what differs is MERGEd: new or changed versions
into `silver/orders_history` (on order_id and lsn), then each touched key's last version into
`silver/orders_current` (on order_id, by lsn: a later change updates the row, a delete removes
it, an older change is ignored). The current table is always brought in line with the history,
so a run that stopped between the two MERGEs is completed by the next. A re-run finds nothing
to write and commits nothing.

Spark actions per run: the classified batch, the stored versions of its keys and the recomputed
versions are written once to scratch Parquet (Sail's `cache()` recomputes, and cannot plan a
window over a window), then read by small aggregations and the MERGEs.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fastcart_assets.cdc.rules import count_envelopes
from fastcart_assets.cdc.schemas import (
    BRONZE_CDC_SCHEMA,
    ORDERS_CURRENT_PARTITION_COLUMNS,
    ORDERS_CURRENT_SCHEMA,
    ORDERS_HISTORY_PARTITION_COLUMNS,
    ORDERS_HISTORY_SCHEMA,
)
from fastcart_assets.cdc.transforms import (
    APPLIED,
    CONTENT_COLUMNS,
    DELETE_ROW,
    DUPLICATE,
    HISTORY_COLUMNS,
    INSERT,
    STALE,
    UPDATE,
    VERSION_KEY,
    candidates,
    classify,
    current_actions,
    history_actions,
    newer_or_same_lsn,
    newest_per_version,
    outcomes,
    ranked_changes,
    versions,
)
from fastcart_assets.delta import ensure_table, merge_into, table_exists
from fastcart_assets.erasures import erased_records, with_erased_flag
from fastcart_assets.locks import WRITER_WAIT_S, table_lock
from fastcart_assets.scratch import scratch_dir, stored
from fastcart_assets.silver.transforms import in_dates


@dataclass
class CdcResult:
    """What one CDC Silver step did, reported as materialization metadata.

    Every envelope of the processed dates is counted once: rows_in = applied + stale +
    duplicates + tombstones + rejected.
    """

    dates: list[date]
    rows_in: int = 0  # Bronze CDC rows of the dates
    applied: int = 0  # new versions at least as new as the key's stored ones
    stale: int = 0  # new versions older than one stored for the key: history only
    duplicates: int = 0  # versions the tables already held, or another record of the batch won
    tombstones: int = 0  # null values (they follow deletes): nothing to apply
    rejected: int = 0  # envelopes failing a rule (cdc.rules)
    rejected_by_reason: dict[str, int] = field(default_factory=dict)  # several per envelope
    history_inserted: int = 0
    history_updated: int = 0
    current_inserted: int = 0
    current_updated: int = 0
    current_deleted: int = 0

    @property
    def accounted(self) -> int:
        """Envelopes given an outcome (equals rows_in when none was lost on the way)."""
        return self.applied + self.stale + self.duplicates + self.tombstones + self.rejected


def _count(frame: DataFrame, column: str) -> dict[str, int]:
    return {row[0]: int(row[1]) for row in frame.groupBy(column).count().collect()}


def apply_changes(
    spark: SparkSession,
    current_path: str,
    history_path: str,
    bronze: DataFrame,
    partition_dates: Sequence[date],
) -> CdcResult:
    """Apply the Bronze CDC rows of `partition_dates` to the current and history tables.

    Args:
        spark: the session from the Spark resource.
        current_path: `silver/orders_current` (created when missing).
        history_path: `silver/orders_history` (created when missing).
        bronze: Bronze CDC rows; only those of `partition_dates` are used.
        partition_dates: one date, or several (a backfill range) processed in one go.
    """
    dates = sorted(set(partition_dates))
    result = CdcResult(dates=dates)
    with (
        table_lock(history_path, wait_s=WRITER_WAIT_S),
        table_lock(current_path, wait_s=WRITER_WAIT_S),
    ):
        ensure_table(spark, history_path, ORDERS_HISTORY_SCHEMA, ORDERS_HISTORY_PARTITION_COLUMNS)
        ensure_table(spark, current_path, ORDERS_CURRENT_SCHEMA, ORDERS_CURRENT_PARTITION_COLUMNS)
        if not dates:
            return result
        root = posixpath.dirname(history_path.rstrip("/"))
        with scratch_dir(root, "cdc") as scratch:
            batch = bronze.where(in_dates("ingestion_date", dates))
            classified = stored(classify(batch), f"{scratch}/classified")
            _count_envelopes(classified, result)
            changes = stored(ranked_changes(classified), f"{scratch}/changes")
            keys = changes.select("order_id").distinct()
            history = spark.read.format("delta").load(history_path)
            existing = stored(history.join(keys, "order_id", "left_semi"), f"{scratch}/existing")
            by_outcome = _count(outcomes(changes, existing), "outcome")
            result.applied = by_outcome.get(APPLIED, 0)
            result.stale = by_outcome.get(STALE, 0)
            result.duplicates = by_outcome.get(DUPLICATE, 0)
            winners = stored(
                newest_per_version(candidates(changes, existing)), f"{scratch}/winners"
            )
            recomputed = stored(versions(winners), f"{scratch}/versions")
            _write_history(spark, recomputed, existing, history_path, result)
            _write_current(spark, recomputed, current_path, result, f"{scratch}/current")
    return result


def _count_envelopes(classified: DataFrame, result: CdcResult) -> None:
    counts = count_envelopes(classified)
    result.rows_in = counts.pop("_rows")
    result.tombstones = counts.pop("_tombstones")
    result.rejected = counts.pop("_rejected")
    result.rejected_by_reason = {reason: n for reason, n in counts.items() if n}


def _write_history(
    spark: SparkSession,
    recomputed: DataFrame,
    existing: DataFrame,
    history_path: str,
    result: CdcResult,
) -> None:
    """MERGE new and changed versions into history, on (order_id, lsn)."""
    decided = history_actions(recomputed, existing).where(F.col("_action").isNotNull())
    counts = _count(decided, "_action")
    result.history_inserted = counts.get(INSERT, 0)
    result.history_updated = counts.get(UPDATE, 0)
    if not counts:
        return
    on = " AND ".join(f"t.{c} = s.{c}" for c in VERSION_KEY)
    merge_into(
        spark,
        history_path,
        decided.select(*HISTORY_COLUMNS),
        f"ON {on} WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *",
    )


def _write_current(
    spark: SparkSession,
    recomputed: DataFrame,
    current_path: str,
    result: CdcResult,
    scratch: str,
) -> None:
    """MERGE each touched key's last version into the current table, ordered by lsn."""
    keys = recomputed.select("order_id").distinct()
    current = spark.read.format("delta").load(current_path).join(keys, "order_id", "left_semi")
    decided = current_actions(recomputed, current).where(F.col("_action").isNotNull())
    decided = stored(decided, scratch)  # the MERGE must not re-read the table it changes
    counts = _count(decided, "_action")
    result.current_inserted = counts.get(INSERT, 0)
    result.current_updated = counts.get(UPDATE, 0)
    result.current_deleted = counts.get(DELETE_ROW, 0)
    if not counts:
        return
    columns = ", ".join(CONTENT_COLUMNS)
    values = ", ".join(f"s.{c}" for c in CONTENT_COLUMNS)
    assignments = ", ".join(f"{c} = s.{c}" for c in CONTENT_COLUMNS)
    merge_into(
        spark,
        current_path,
        decided.drop("_action"),
        "ON t.order_id = s.order_id "
        "WHEN MATCHED AND s._delete AND s.lsn > t.lsn THEN DELETE "
        f"WHEN MATCHED AND NOT s._delete AND {newer_or_same_lsn('s', 't')} "
        f"THEN UPDATE SET {assignments} "
        f"WHEN NOT MATCHED AND NOT s._delete THEN INSERT ({columns}) VALUES ({values})",
    )


def read_bronze_cdc(spark: SparkSession, bronze_path: str) -> DataFrame:
    """The Bronze CDC table, or an empty frame of its schema when it does not exist yet, with
    ERASED flagging the envelopes `fastcart forget` erased (fastcart_assets.erasures)."""
    if table_exists(bronze_path):
        bronze = spark.read.format("delta").load(bronze_path)
    else:
        bronze = spark.createDataFrame([], BRONZE_CDC_SCHEMA)
    return with_erased_flag(bronze, erased_records(spark, bronze_path))


def process_cdc_partitions(
    spark: SparkSession,
    bronze_path: str,
    current_path: str,
    history_path: str,
    dates: Sequence[date],
) -> CdcResult:
    """`apply_changes` on the Bronze CDC table at `bronze_path` (the form cdc.assets calls);
    a missing Bronze CDC table is an empty one."""
    bronze = read_bronze_cdc(spark, bronze_path)
    return apply_changes(spark, current_path, history_path, bronze, dates)
