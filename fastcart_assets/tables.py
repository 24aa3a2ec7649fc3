"""Every Delta table of the lake, in one catalog (docs/SPEC.md §3).

A table's path under the lake root is also its Dagster asset key (`silver/ecommerce_sales` ->
`["silver", "ecommerce_sales"]`) and gives its SQL view name (`silver_ecommerce_sales`). The
catalog says which column dates a table (for `fastcart query --date` and retention) and how
long its rows are kept. Queries, maintenance, the report and the dashboard all read it.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

SALES_PERFORMANCE = "sales_performance"
CUSTOMER_ANALYTICS = "customer_analytics"
SALES_PERFORMANCE_TABLES = (
    "daily_product_revenue",
    "hourly_order_trends",
    "order_status_distribution",
    "conversion_metrics",
    "payment_method_revenue",
    "top_products",
)
CUSTOMER_ANALYTICS_TABLES = (
    "top_customers",
    "customer_segments",
    "payment_method_preferences",
    "geographic_analysis",
    "customer_retention",
    "processing_time_by_segment",
)


@dataclass(frozen=True)
class TableInfo:
    """One Delta table: where it lives, what dates it, how long rows are kept."""

    path: str  # under the lake root, e.g. "gold/sales_performance/top_products"
    date_column: str  # the partition date column
    retention_days: int | None = None  # None: kept indefinitely

    @property
    def layer(self) -> str:
        return self.path.split("/")[0]

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def view(self) -> str:
        """SQL view name: `gold/sales_performance/top_products` -> `gold_top_products`."""
        return f"{self.layer}_{self.name}"

    @property
    def asset_key(self) -> dg.AssetKey:
        return asset_key(self.path)


def asset_key(path: str) -> dg.AssetKey:
    """The asset key of the table at `path` (the path's parts)."""
    return dg.AssetKey(path.split("/"))


BRONZE = TableInfo("bronze/ecommerce_sales", "ingestion_date", retention_days=90)
SILVER = TableInfo("silver/ecommerce_sales", "silver_ingestion_date", retention_days=365)
SILVER_REJECTED = TableInfo(
    "silver/ecommerce_sales_rejected", "silver_ingestion_date", retention_days=365
)
# One row per (partition date, rule): the rule's violation rate and severity (SPEC.md §8).
RULE_METRICS = TableInfo("quality/rule_metrics", "date")
GOLD = tuple(TableInfo(f"gold/{SALES_PERFORMANCE}/{t}", "date") for t in SALES_PERFORMANCE_TABLES)
GOLD += tuple(
    TableInfo(f"gold/{CUSTOMER_ANALYTICS}/{t}", "snapshot_date") for t in CUSTOMER_ANALYTICS_TABLES
)
TABLES: tuple[TableInfo, ...] = (BRONZE, SILVER, SILVER_REJECTED, RULE_METRICS, *GOLD)
_BY_PATH = {t.path: t for t in TABLES}


class UnknownTable(ValueError):
    """The name matches no table of the lake."""


def table_info(name: str) -> TableInfo:
    """A table from its path (`gold/sales_performance/top_products`), view or short name."""
    if name in _BY_PATH:
        return _BY_PATH[name]
    for table in TABLES:
        if name in (table.view, table.name):
            return table
    known = ", ".join(t.view for t in TABLES)
    raise UnknownTable(f"unknown table {name!r}; known: {known}")
