"""Dagster's standard table metadata for every Delta table of the lake, from one helper.

`spec_metadata` goes on an asset's definition (the catalog shows the columns before anything
runs); `table_metadata` on each materialization: the column schema, the table's row count
(`dagster/row_count`), the partition's (`dagster/partition_row_count`), the location
(`dagster/uri`) and the SQL view name of `fastcart sql` (`dagster/table_name`). Row counts come
from the Delta log's file statistics (delta-rs): no Spark job, no data read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import dagster as dg
import pyarrow as pa
from deltalake import DeltaTable
from pyspark.sql.types import StructType

from fastcart_assets.delta import table_exists
from fastcart_assets.tables import TableInfo

COLUMN_SCHEMA = "dagster/column_schema"
TABLE_NAME = "dagster/table_name"
URI = "dagster/uri"
ROW_COUNT = "dagster/row_count"  # rows of the whole table
PARTITION_ROW_COUNT = "dagster/partition_row_count"  # rows of one partition


def column_schema(schema: StructType) -> dg.TableSchema:
    """A Spark schema as Dagster's column schema (types as Spark SQL writes them)."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=field.name,
                type=field.dataType.simpleString(),
                constraints=dg.TableColumnConstraints(nullable=field.nullable),
            )
            for field in schema.fields
        ]
    )


def _described(table: TableInfo, schema: StructType) -> dict[str, dg.MetadataValue]:
    return {
        COLUMN_SCHEMA: dg.MetadataValue.table_schema(column_schema(schema)),
        TABLE_NAME: dg.MetadataValue.text(table.view),
    }


def spec_metadata(table: TableInfo, schema: StructType) -> dict[str, dg.MetadataValue]:
    """Definition metadata of the asset of `table`: its path, columns and view name."""
    return {"table": dg.MetadataValue.text(table.path), **_described(table, schema)}


def delta_row_counts(path: str, partition_column: str) -> tuple[int | None, dict[date, int]]:
    """(rows in the table, rows per value of `partition_column`) from the Delta log.

    The total is None when a file has no row count in its statistics; a missing table has 0.
    """
    if not table_exists(path):
        return 0, {}
    actions = pa.table(DeltaTable(path).get_add_actions(flatten=True))
    records = actions.column("num_records").to_pylist()
    if any(n is None for n in records):
        return None, {}
    per_partition: dict[date, int] = {}
    column = f"partition.{partition_column}"
    if column in actions.column_names:
        for day, n in zip(actions.column(column).to_pylist(), records, strict=True):
            per_partition[day] = per_partition.get(day, 0) + n
    return sum(records), per_partition


def table_metadata(
    table: TableInfo, path: str, schema: StructType, days: Sequence[date] = ()
) -> dict[date | None, dict[str, dg.MetadataValue]]:
    """Materialization metadata of `table` at `path`: for each of `days` (its partition row
    count included), or under the key None when `days` is empty. The log is read once."""
    rows, per_partition = delta_row_counts(path, table.date_column)
    metadata = {**_described(table, schema), URI: dg.MetadataValue.text(path)}
    if rows is not None:
        metadata[ROW_COUNT] = dg.MetadataValue.int(rows)
    if not days:
        return {None: metadata}
    return {
        day: {
            **metadata,
            **(
                {PARTITION_ROW_COUNT: dg.MetadataValue.int(per_partition.get(day, 0))}
                if rows is not None
                else {}
            ),
        }
        for day in days
    }
