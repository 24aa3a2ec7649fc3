"""Generate docs/SCHEMAS.md from the schema constants: `python -m fastcart_assets.schema_docs`."""

from __future__ import annotations

import sys
from pathlib import Path

from pyspark.sql.types import ArrayType, DataType, StructType

from fastcart_assets.cdc.schemas import (
    BRONZE_CDC_PARTITION_COLUMNS,
    BRONZE_CDC_SCHEMA,
    ORDERS_CURRENT_PARTITION_COLUMNS,
    ORDERS_CURRENT_SCHEMA,
    ORDERS_HISTORY_PARTITION_COLUMNS,
    ORDERS_HISTORY_SCHEMA,
)
from fastcart_assets.erasures import FORGOTTEN_PARTITION_COLUMNS, FORGOTTEN_SCHEMA
from fastcart_assets.gold.registry import GROUPS, tables_of
from fastcart_assets.quality.rule_metrics import (
    RULE_METRICS_PARTITION_COLUMNS,
    RULE_METRICS_SCHEMA,
)
from fastcart_assets.schemas import (
    BRONZE_SCHEMA,
    SILVER_PARTITION_COLUMNS,
    SILVER_REJECTED_PARTITION_COLUMNS,
    SILVER_REJECTED_SCHEMA,
    SILVER_SCHEMA,
)
from fastcart_assets.tables import FORGOTTEN, RULE_METRICS

SAMPLE_EVENT = """{"order_id": "ORD-93239605", "timestamp": "2025-11-09T15:55:40.669190Z",
 "product_id": "PROD-004", "product_name": "USB-C Cable", "quantity": 3, "price": 11.16,
 "total": 33.48, "customer_id": "CUST-485923", "customer_email": "…@example.org",
 "payment_method": "bank_transfer", "shipping_address": {"street": "123 Main St",
 "city": "Springfield", "state": "IL", "zip_code": "62701", "country": "USA"},
 "status": "pending"}"""

SAMPLE_CHANGE = """key:   {"order_id": "ORD-93239605"}
value: {"before": {"order_id": "ORD-93239605", …, "status": "pending", …},
        "after": {"order_id": "ORD-93239605", "customer_id": "CUST-485923",
                  "customer_email": "…@example.org", "product_id": "PROD-004", "quantity": 3,
                  "total": 33.48, "payment_method": "bank_transfer", "status": "confirmed",
                  "shipping_state": "IL", "created_at": "2025-11-09T15:55:40.669190Z",
                  "updated_at": "2025-11-09T16:02:13.120455Z"},
        "source": {"version": "2.7.3.Final", "connector": "postgresql", "name": "fastcart",
                   "ts_ms": 1762704133120, "snapshot": "false", "db": "fastcart",
                   "schema": "public", "table": "orders", "txId": 7931, "lsn": 6093812352, …},
        "op": "u", "ts_ms": 1762704133245}
(after a delete: the same key with a null value, a tombstone)"""


def sql_type(data_type: DataType) -> str:
    """A type as DDL: keywords upper case, struct field names as they are (`txId`)."""
    if isinstance(data_type, StructType):
        return f"STRUCT<{','.join(f'{f.name}:{sql_type(f.dataType)}' for f in data_type.fields)}>"
    if isinstance(data_type, ArrayType):
        return f"ARRAY<{sql_type(data_type.elementType)}>"
    return data_type.simpleString().upper()


def ddl(table: str, schema: StructType, partitions: tuple[str, ...]) -> str:
    columns = ",\n".join(
        f"  {f.name} {sql_type(f.dataType)}{'' if f.nullable else ' NOT NULL'}"
        for f in schema.fields
    )
    partitioned = f"\nPARTITIONED BY ({', '.join(partitions)})" if partitions else ""
    return (
        f"CREATE TABLE delta.`$FASTCART_LAKE_ROOT/{table}` (\n{columns}\n) USING DELTA"
        f"{partitioned};"
    )


def render() -> str:
    parts = [
        "# Table schemas",
        "",
        "Generated from `fastcart_assets/schemas.py`, `fastcart_assets/quality/rule_metrics.py`, "
        "the Gold table registry (`fastcart_assets/gold/registry.py`) and "
        "`fastcart_assets/cdc/schemas.py` by "
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
        "## Data quality",
        "",
        "One row per (partition date, rule), replaced when the date is reprocessed; `rate` is "
        "the share of the date's Bronze rows violating the rule, `severity` is `ok`, `warn` or "
        "`error`.",
        "",
        "```sql",
        ddl(RULE_METRICS.path, RULE_METRICS_SCHEMA, RULE_METRICS_PARTITION_COLUMNS),
        "```",
        "",
        "## Erased records",
        "",
        "One row per Kafka record whose personal data `fastcart forget` erased: its coordinates "
        "and the request, never the customer. Silver rejects these records for `erased`, a "
        'Bronze replay blanks them again (ARCHITECTURE.md, "Forgetting a customer").',
        "",
        "```sql",
        ddl(FORGOTTEN.path, FORGOTTEN_SCHEMA, FORGOTTEN_PARTITION_COLUMNS),
        "```",
        "",
        *gold_docs(),
        *cdc_docs(),
    ]
    return "\n".join(parts) + "\n"


def cdc_docs() -> list[str]:
    """The change-data-capture part (docs/SPEC.md §10)."""
    return [
        "",
        "## Change data capture",
        "",
        "One Kafka record of topic `fastcart.public.orders` (Debezium's PostgreSQL connector, "
        "JSON without schemas):",
        "",
        "```text",
        SAMPLE_CHANGE,
        "```",
        "",
        "Bronze keeps every record (tombstones: `_raw` null) with the Kafka columns every Bronze "
        "table has (above), the envelope typed and the key's `order_id` (`key_order_id`, when "
        "the key is Debezium's JSON key); Silver keeps one row per live order (SCD 1) and one "
        "per version (SCD 2; a delete is a version whose interval is empty).",
        "",
        "```sql",
        ddl("bronze/orders_cdc", BRONZE_CDC_SCHEMA, BRONZE_CDC_PARTITION_COLUMNS),
        "",
        ddl("silver/orders_current", ORDERS_CURRENT_SCHEMA, ORDERS_CURRENT_PARTITION_COLUMNS),
        "",
        ddl("silver/orders_history", ORDERS_HISTORY_SCHEMA, ORDERS_HISTORY_PARTITION_COLUMNS),
        "```",
    ]


def gold_docs() -> list[str]:
    """The Gold part: per group, each table's description, DDL and checks (docs/SPEC.md §7)."""
    parts = [
        "## Gold",
        "",
        'Money is DOUBLE; see ARCHITECTURE.md ("Money in Gold") for how it is summed, ranked '
        "and compared. Every check is evaluated per partition; a failure is an ERROR.",
    ]
    for group in GROUPS:
        parts += ["", f"### `gold/{group.name}/*` (partitioned by `{group.partition_column}`)"]
        for table in tables_of(group):
            parts += ["", f"**{table.name}** — {table.description}", "", "```sql"]
            parts += [ddl(table.path, table.schema, (table.partition_column,)), "```"]
            if table.checks:
                parts += ["", *(f"- check `{c.name}`: {c.description}" for c in table.checks)]
    return parts


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/SCHEMAS.md")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render())


if __name__ == "__main__":
    main()
