"""Generate docs/SCHEMAS.md from the schema constants: `python -m fastcart_assets.schema_docs`."""

from __future__ import annotations

import sys
from pathlib import Path

from pyspark.sql.types import ArrayType, DataType, StructType

from fastcart_assets.gold.schemas import GOLD_SCHEMAS, partition_column
from fastcart_assets.schemas import (
    BRONZE_SCHEMA,
    SILVER_PARTITION_COLUMNS,
    SILVER_REJECTED_PARTITION_COLUMNS,
    SILVER_REJECTED_SCHEMA,
    SILVER_SCHEMA,
)
from fastcart_assets.settings import SALES_PERFORMANCE_TABLES

SAMPLE_EVENT = """{"order_id": "ORD-93239605", "timestamp": "2025-11-09T15:55:40.669190Z",
 "product_id": "PROD-004", "product_name": "USB-C Cable", "quantity": 3, "price": 11.16,
 "total": 33.48, "customer_id": "CUST-485923", "customer_email": "…@example.org",
 "payment_method": "bank_transfer", "shipping_address": {"street": "123 Main St",
 "city": "Springfield", "state": "IL", "zip_code": "62701", "country": "USA"},
 "status": "pending"}"""


def sql_type(data_type: DataType) -> str:
    """A column type in DDL: keywords upper case, struct field names as they are."""
    if isinstance(data_type, StructType):
        return f"STRUCT<{', '.join(f'{f.name}: {sql_type(f.dataType)}' for f in data_type)}>"
    if isinstance(data_type, ArrayType):
        return f"ARRAY<{sql_type(data_type.elementType)}>"
    return data_type.simpleString().upper()


def ddl(table: str, schema: StructType, partitions: tuple[str, ...]) -> str:
    columns = ",\n".join(
        f"  {f.name} {sql_type(f.dataType)}{'' if f.nullable else ' NOT NULL'}"
        for f in schema.fields
    )
    return (
        f"CREATE TABLE delta.`$FASTCART_LAKE_ROOT/{table}` (\n{columns}\n) USING DELTA\n"
        f"PARTITIONED BY ({', '.join(partitions)});"
    )


def render() -> str:
    parts = [
        "# Table schemas",
        "",
        "Generated from `fastcart_assets/schemas.py` and `fastcart_assets/gold/schemas.py` by "
        "`python -m fastcart_assets.schema_docs`; a test keeps this file current. Sample rows: "
        "`fastcart query TABLE --limit 3` after `make demo`.",
        "",
        "## Source event (one Kafka message, key = order_id)",
        "",
        "```json",
        SAMPLE_EVENT,
        "```",
        "",
        "## Bronze",
        "",
        "Unknown top-level payload fields are appended as STRING columns (schema evolution).",
        "`kafka_key` is the key as text (invalid UTF-8 as U+FFFD), `kafka_key_bytes` the exact "
        "bytes; `kafka_headers` keeps every header in order (duplicates, null values); "
        "`kafka_timestamp` is null when the record timestamp is not a positive instant before "
        "year 10000. Offsets restart when a topic is recreated: a record is identified by "
        "(`kafka_incarnation`, `kafka_partition`, `kafka_offset`); null `kafka_incarnation` "
        "(rows written before the column existed) means 1. Columns added to an existing table "
        "go to its end.",
        "",
        "```sql",
        ddl("bronze/ecommerce_sales", BRONZE_SCHEMA, ("ingestion_date",)),
        "```",
        "",
        "## Silver",
        "",
        "```sql",
        ddl("silver/ecommerce_sales", SILVER_SCHEMA, SILVER_PARTITION_COLUMNS),
        "",
        ddl(
            "silver/ecommerce_sales_rejected",
            SILVER_REJECTED_SCHEMA,
            SILVER_REJECTED_PARTITION_COLUMNS,
        ),
        "```",
        "",
        "## Gold",
        "",
        "```sql",
    ]
    for table, schema in GOLD_SCHEMAS.items():
        group = "sales_performance" if table in SALES_PERFORMANCE_TABLES else "customer_analytics"
        parts += [ddl(f"gold/{group}/{table}", schema, (partition_column(table),)), ""]
    parts[-1] = "```"
    return "\n".join(parts) + "\n"


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/SCHEMAS.md")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render())


if __name__ == "__main__":
    main()
