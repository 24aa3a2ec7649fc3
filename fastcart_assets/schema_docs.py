"""Generate docs/SCHEMAS.md from the schema constants: `python -m fastcart_assets.schema_docs`."""

from __future__ import annotations

import sys
from pathlib import Path

from pyspark.sql.types import StructType

from fastcart_assets.gold.registry import GROUPS, tables_of
from fastcart_assets.schemas import (
    BRONZE_SCHEMA,
    SILVER_PARTITION_COLUMNS,
    SILVER_REJECTED_PARTITION_COLUMNS,
    SILVER_REJECTED_SCHEMA,
    SILVER_SCHEMA,
)

SAMPLE_EVENT = """{"order_id": "ORD-93239605", "timestamp": "2025-11-09T15:55:40.669190Z",
 "product_id": "PROD-004", "product_name": "USB-C Cable", "quantity": 3, "price": 11.16,
 "total": 33.48, "customer_id": "CUST-485923", "customer_email": "…@example.org",
 "payment_method": "bank_transfer", "shipping_address": {"street": "123 Main St",
 "city": "Springfield", "state": "IL", "zip_code": "62701", "country": "USA"},
 "status": "pending"}"""


def ddl(table: str, schema: StructType, partitions: tuple[str, ...]) -> str:
    columns = ",\n".join(
        f"  {f.name} {f.dataType.simpleString().upper()}{'' if f.nullable else ' NOT NULL'}"
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
        "Generated from `fastcart_assets/schemas.py` and the Gold table registry "
        "(`fastcart_assets/gold/registry.py`) by `python -m fastcart_assets.schema_docs`; a test "
        "keeps this file current. Sample rows: `fastcart query TABLE --limit 3` after "
        "`make demo`.",
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
        *gold_docs(),
    ]
    return "\n".join(parts) + "\n"


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
