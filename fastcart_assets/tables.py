"""Every Delta table of the lake, in one catalog (docs/SPEC.md §3).

A table's path under the lake root is also its Dagster asset key (`silver/ecommerce_sales` ->
`["silver", "ecommerce_sales"]`) and gives its SQL view name (`silver_ecommerce_sales`). The
catalog says which column dates a table (for `fastcart query --date` and retention) and how
long its rows are kept. Queries, maintenance, the report and the dashboard all read it. The
Gold entries come from the Gold table registry (gold/registry.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import dagster as dg

from fastcart_assets.errors import FastcartError
from fastcart_assets.gold.registry import CUSTOMERS, GOLD_TABLES, SALES

SALES_PERFORMANCE, CUSTOMER_ANALYTICS = SALES.name, CUSTOMERS.name


@dataclass(frozen=True)
class TableInfo:
    """One Delta table: where it lives, what dates it, how long rows are kept."""

    path: str  # under the lake root, e.g. "gold/sales_performance/top_products"
    date_column: str | None  # the partition date column (None: the table has none)
    pool: str  # the one-slot Dagster pool of the table's writers
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


BRONZE = TableInfo("bronze/ecommerce_sales", "ingestion_date", "delta_bronze", retention_days=90)
SILVER = TableInfo(
    "silver/ecommerce_sales", "silver_ingestion_date", "delta_silver", retention_days=365
)
SILVER_REJECTED = TableInfo(
    "silver/ecommerce_sales_rejected", "silver_ingestion_date", "delta_silver", retention_days=365
)
# One row per (partition date, rule): the rule's violation rate and severity (docs/SPEC.md §8).
# The Silver step writes it, so it shares Silver's pool.
RULE_METRICS = TableInfo("quality/rule_metrics", "date", "delta_silver")
# The Kafka records `fastcart forget` erased (coordinates only, no personal data; erasures.py).
# Written by forget's Bronze step, so it shares Bronze's pool; kept indefinitely.
FORGOTTEN = TableInfo("quality/forgotten", None, "delta_bronze")
GOLD = tuple(  # from the Gold registry (gold/registry.py)
    TableInfo(t.path, t.partition_column, f"delta_gold_{t.group.name}") for t in GOLD_TABLES
)
# Change data capture of the orders table (docs/SPEC.md §10). The SCD tables are read by key,
# not by date: they have no partition column and keep every version.
BRONZE_CDC = TableInfo("bronze/orders_cdc", "ingestion_date", "delta_bronze_cdc", retention_days=90)
ORDERS_CURRENT = TableInfo("silver/orders_current", None, "delta_silver_cdc")
ORDERS_HISTORY = TableInfo("silver/orders_history", None, "delta_silver_cdc")
CDC = (BRONZE_CDC, ORDERS_CURRENT, ORDERS_HISTORY)
TABLES: tuple[TableInfo, ...] = (
    BRONZE,
    SILVER,
    SILVER_REJECTED,
    RULE_METRICS,
    FORGOTTEN,
    *GOLD,
    *CDC,
)
_BY_PATH = {t.path: t for t in TABLES}


def retention_cutoff(table: TableInfo, today: date) -> date | None:
    """The first date `table` still holds under retention (None: it keeps everything)."""
    if table.retention_days is None:
        return None
    return today - timedelta(days=table.retention_days)


def expired_inputs(source: TableInfo, dates: Sequence[date], applied: date | None) -> str | None:
    """Why recomputing `dates` from `source` would be wrong, or None when it is fine.

    `applied` is the date before which retention has deleted `source`'s rows (None: it never
    ran). A table computed from `source` must not be recomputed for such a date: the partition
    would be replaced with fewer rows, or with none.
    """
    expired = sorted(d for d in dates if applied is not None and d < applied)
    if not expired:
        return None
    return (
        f"{source.path} keeps {source.retention_days} days and has deleted the rows before "
        f"{applied}, so {', '.join(d.isoformat() for d in expired[:5])}"
        f"{' …' if len(expired) > 5 else ''} cannot be recomputed from it: the partitions are "
        "kept as they are. Nothing was written."
    )


def gold_asset_keys(group: str) -> list[dg.AssetKey]:
    """The asset keys of one Gold group's tables (`sales_performance`, `customer_analytics`)."""
    return [table.asset_key for table in GOLD if table.path.split("/")[1] == group]


class UnknownTable(FastcartError, ValueError):
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
