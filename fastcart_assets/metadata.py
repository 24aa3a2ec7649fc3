"""Dagster's standard table metadata, from a table's Spark schema (the catalog shows columns)."""

from __future__ import annotations

import dagster as dg
from pyspark.sql.types import StructType

COLUMN_SCHEMA = "dagster/column_schema"
ROW_COUNT = "dagster/row_count"  # rows of the whole table
PARTITION_ROW_COUNT = "dagster/partition_row_count"  # rows of one partition
URI = "dagster/uri"


def column_schema(schema: StructType) -> dg.TableSchema:
    """The columns of `schema` as Dagster's TableSchema (name, Spark type, nullability)."""
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


def table_metadata(schema: StructType, row_count: int, uri: str) -> dict:
    """`dagster/column_schema`, `dagster/row_count` (rows of the whole table) and `dagster/uri`."""
    return {
        COLUMN_SCHEMA: dg.MetadataValue.table_schema(column_schema(schema)),
        ROW_COUNT: dg.MetadataValue.int(row_count),
        URI: dg.MetadataValue.text(uri),
    }
