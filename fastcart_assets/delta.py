"""Delta Lake helpers: existence and health (delta-rs), creating an empty table, partition
predicates."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

import pyarrow.fs as pafs
from deltalake import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

from fastcart_assets.errors import FastcartError
from fastcart_assets.scratch import filesystem_of


def table_exists(path: str) -> bool:
    """True when a Delta table (a `_delta_log`) exists at `path`."""
    return DeltaTable.is_deltatable(path)


class TableUnreadable(FastcartError, RuntimeError):
    """A table's Delta log is corrupt, or missing while its data files are there."""


def check_readable(path: str) -> bool:
    """True when a readable table is at `path`, False when there is none yet.

    Raises:
        TableUnreadable: the log cannot be read, or data files are there without a log.
    """
    if not table_exists(path):
        filesystem, base = filesystem_of(path)
        found = filesystem.get_file_info(pafs.FileSelector(base, allow_not_found=True))
        if any(entry.path.endswith(".parquet") for entry in found):
            raise TableUnreadable(
                f"{path} holds data files but no Delta log (_delta_log was deleted?): restore "
                "it from a backup; FastCart will not guess which files are current"
            )
        return False
    try:
        DeltaTable(path)
    except Exception as exc:  # delta-rs raises a bare DeltaError for any log problem
        reason = str(exc).strip().splitlines()[0]
        raise TableUnreadable(
            f"the Delta log of {path} cannot be read ({reason}): restore the damaged commit "
            "file under _delta_log from a backup"
        ) from None
    return True


# Set by maintenance when it applies retention: rows dated before it are gone from the table.
RETENTION_PROPERTY = "fastcart.retention.applied_before"


def retention_applied(path: str) -> date | None:
    """The date before which retention has deleted the table's rows (None: it never ran)."""
    if not table_exists(path):
        return None
    value = DeltaTable(path).metadata().configuration.get(RETENTION_PROPERTY)
    return date.fromisoformat(value) if value else None


def record_retention(table: DeltaTable, cutoff: date) -> None:
    """Record that retention deleted the rows dated before `cutoff`."""
    table.alter.set_table_properties(
        {RETENTION_PROPERTY: cutoff.isoformat()}, raise_if_not_exists=False
    )


def ensure_table(
    spark: SparkSession, path: str, schema: StructType, partitions: Sequence[str]
) -> None:
    """Create an empty Delta table when none exists (replaceWhere and MERGE need one)."""
    if not table_exists(path):
        empty = spark.createDataFrame([], schema)
        empty.write.format("delta").mode("overwrite").partitionBy(*partitions).save(path)


def delta_table(path: str) -> str:
    """The table at `path` as a SQL identifier, delta.`…`, its backticks escaped by doubling."""
    return "delta.`" + path.replace("`", "``") + "`"


def merge_into(spark: SparkSession, path: str, source: DataFrame, clauses: str) -> None:
    """MERGE `source` (alias `s`) into the Delta table at `path` (alias `t`).

    `clauses` is the statement after the two tables: `ON …` and its `WHEN …` branches, written
    from column names and typed literals only; the source rows travel as a temporary view,
    never as SQL text.
    """
    view = f"merge_source_{uuid.uuid4().hex[:12]}"
    source.createOrReplaceTempView(view)
    try:
        spark.sql(f"MERGE INTO {delta_table(path)} AS t USING {view} AS s {clauses}")
    finally:
        spark.catalog.dropTempView(view)


def dates_predicate(column: str, dates: Sequence[date]) -> str:
    """SQL `column IN (DATE'…', …)` for a replaceWhere or a MERGE condition."""
    listed = ", ".join(f"DATE'{d.isoformat()}'" for d in sorted(set(dates)))
    return f"{column} IN ({listed})"
