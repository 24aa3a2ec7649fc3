"""Delta Lake helpers: existence (delta-rs), creating an empty table, partition predicates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from deltalake import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql.types import StructType


def table_exists(path: str) -> bool:
    """True when a Delta table (a `_delta_log`) exists at `path`."""
    return DeltaTable.is_deltatable(path)


def ensure_table(
    spark: SparkSession, path: str, schema: StructType, partitions: Sequence[str]
) -> None:
    """Create an empty Delta table when none exists (replaceWhere and MERGE need one)."""
    if not table_exists(path):
        empty = spark.createDataFrame([], schema)
        empty.write.format("delta").mode("overwrite").partitionBy(*partitions).save(path)


def dates_predicate(column: str, dates: Sequence[date]) -> str:
    """SQL `column IN (DATE'…', …)` for a replaceWhere or a MERGE condition."""
    listed = ", ".join(f"DATE'{d.isoformat()}'" for d in sorted(set(dates)))
    return f"{column} IN ({listed})"
