"""The one place that reads FastCart's environment (SPEC.md §3) and names table locations."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_LAKE_ROOT = "./lakehouse"
DEFAULT_KAFKA_BOOTSTRAP = "127.0.0.1:9092"
DEFAULT_KAFKA_TOPIC = "ecommerce-sales"
DEFAULT_CDC_TOPIC = "fastcart.public.orders"  # Debezium's <server>.<schema>.<table> (SPEC.md §10)
DEFAULT_DAGSTER_HOME = "./.dagster_home"
STATE_DIR = ".fastcart"

BRONZE_TABLE = "bronze/ecommerce_sales"
SILVER_TABLE = "silver/ecommerce_sales"
SILVER_REJECTED_TABLE = "silver/ecommerce_sales_rejected"
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
GOLD_TABLES = tuple(f"gold/sales_performance/{t}" for t in SALES_PERFORMANCE_TABLES) + tuple(
    f"gold/customer_analytics/{t}" for t in CUSTOMER_ANALYTICS_TABLES
)
# Change data capture of the orders table (SPEC.md §10).
BRONZE_CDC_TABLE = "bronze/orders_cdc"
ORDERS_CURRENT_TABLE = "silver/orders_current"
ORDERS_HISTORY_TABLE = "silver/orders_history"
CDC_TABLES = (BRONZE_CDC_TABLE, ORDERS_CURRENT_TABLE, ORDERS_HISTORY_TABLE)
ALL_TABLES = (BRONZE_TABLE, SILVER_TABLE, SILVER_REJECTED_TABLE, *GOLD_TABLES, *CDC_TABLES)


def _is_uri(location: str) -> bool:
    return "://" in location


def view_name(table: str) -> str:
    """SQL view name of a table: `gold/sales_performance/top_products` -> `gold_top_products`."""
    parts = table.split("/")
    return f"{parts[0]}_{parts[-1]}"


@dataclass(frozen=True)
class Settings:
    """FastCart configuration, read from the environment once per call of `from_env`."""

    lake_root: str = DEFAULT_LAKE_ROOT
    kafka_bootstrap: str = DEFAULT_KAFKA_BOOTSTRAP
    kafka_topic: str = DEFAULT_KAFKA_TOPIC
    cdc_topic: str = DEFAULT_CDC_TOPIC
    spark_remote: str | None = None

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            lake_root=os.environ.get("FASTCART_LAKE_ROOT") or DEFAULT_LAKE_ROOT,
            kafka_bootstrap=os.environ.get("FASTCART_KAFKA_BOOTSTRAP") or DEFAULT_KAFKA_BOOTSTRAP,
            kafka_topic=os.environ.get("FASTCART_KAFKA_TOPIC") or DEFAULT_KAFKA_TOPIC,
            cdc_topic=os.environ.get("FASTCART_CDC_TOPIC") or DEFAULT_CDC_TOPIC,
            spark_remote=os.environ.get("FASTCART_SPARK_REMOTE") or None,
        )

    @property
    def lake_uri(self) -> str:
        """The lake root as an absolute path (local) or unchanged URI (s3://, hdfs://)."""
        if _is_uri(self.lake_root):
            return self.lake_root.rstrip("/")
        return str(Path(self.lake_root).expanduser().resolve())

    def table_path(self, table: str) -> str:
        """Location of a table such as `silver/ecommerce_sales` under the lake root."""
        if table not in ALL_TABLES:
            raise ValueError(f"unknown table {table!r}; known tables: {', '.join(ALL_TABLES)}")
        return f"{self.lake_uri}/{table}"


def dagster_home() -> Path:
    """DAGSTER_HOME, defaulting to `./.dagster_home` for runs started through `fastcart`."""
    return Path(os.environ.get("DAGSTER_HOME") or DEFAULT_DAGSTER_HOME).resolve()
