"""Read the lake without writing code: every existing table as a SQL view."""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fastcart_assets.delta import check_readable
from fastcart_assets.settings import Settings
from fastcart_assets.tables import TABLES, TableInfo, UnknownTable


def register_views(spark: SparkSession, settings: Settings) -> list[str]:
    """Register every existing table as a temporary view; returns the view names.

    Raises:
        TableUnreadable: a table's Delta log is corrupt or missing.
    """
    names = []
    for table in TABLES:
        path = settings.table_path(table.path)
        if check_readable(path):
            spark.read.format("delta").load(path).createOrReplaceTempView(table.view)
            names.append(table.view)
    return names


def read_table(
    spark: SparkSession, settings: Settings, table: TableInfo, day: date | None = None
) -> DataFrame:
    """One table, optionally one date of it (its partition column)."""
    path = settings.table_path(table.path)
    if not check_readable(path):
        raise UnknownTable(f"table {table.path} has not been written yet ({path})")
    frame = spark.read.format("delta").load(path)
    if day is not None:
        if table.date_column is None:
            raise UnknownTable(f"{table.path} has no date partition; filter it with `fastcart sql`")
        frame = frame.where(F.col(table.date_column) == F.lit(day))
    return frame
