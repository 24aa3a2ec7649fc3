"""Read the lake without writing code: every existing table as a SQL view."""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fastcart_assets.delta import table_exists
from fastcart_assets.settings import ALL_TABLES, Settings, view_name

# The column each table is filtered on by `fastcart query --date` (None: not by date).
DATE_COLUMNS = {
    "bronze/ecommerce_sales": "ingestion_date",
    "silver/ecommerce_sales": "silver_ingestion_date",
    "silver/ecommerce_sales_rejected": "silver_ingestion_date",
    "bronze/orders_cdc": "ingestion_date",
    "silver/orders_current": None,
    "silver/orders_history": None,
}


class UnknownTable(ValueError):
    """The name matches no table or view."""


def resolve_table(name: str) -> str:
    """A table from its path (`gold/sales_performance/top_products`), view or short name."""
    for table in ALL_TABLES:
        if name in (table, view_name(table), table.rsplit("/", 1)[-1]):
            return table
    known = ", ".join(view_name(t) for t in ALL_TABLES)
    raise UnknownTable(f"unknown table {name!r}; known: {known}")


def register_views(spark: SparkSession, settings: Settings) -> list[str]:
    """Register every existing table as a temporary view; returns the view names."""
    names = []
    for table in ALL_TABLES:
        path = settings.table_path(table)
        if table_exists(path):
            spark.read.format("delta").load(path).createOrReplaceTempView(view_name(table))
            names.append(view_name(table))
    return names


def date_column(table: str) -> str | None:
    if table in DATE_COLUMNS:
        return DATE_COLUMNS[table]
    return "snapshot_date" if "/customer_analytics/" in table else "date"


def read_table(
    spark: SparkSession, settings: Settings, table: str, day: date | None = None
) -> DataFrame:
    """One table, optionally one date of it (its partition column)."""
    path = settings.table_path(table)
    if not table_exists(path):
        raise UnknownTable(f"table {table} has not been written yet ({path})")
    frame = spark.read.format("delta").load(path)
    if day is not None:
        column = date_column(table)
        if column is None:
            raise UnknownTable(f"{table} has no date partition; filter it with `fastcart sql`")
        frame = frame.where(F.col(column) == F.lit(day))
    return frame
