"""Gold table schemas (SPEC.md §7): exact column order and types, with each partition column."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DateType, DoubleType, IntegerType, StringType, StructField, StructType

SALES_PARTITION = "date"
SNAPSHOT_PARTITION = "snapshot_date"


def _schema(*columns: tuple[str, object]) -> StructType:
    return StructType([StructField(name, kind()) for name, kind in columns])


TEXT, INT, NUM, DAY = StringType, IntegerType, DoubleType, DateType

GOLD_SCHEMAS: dict[str, StructType] = {
    "daily_product_revenue": _schema(
        ("date", DAY),
        ("product_id", TEXT),
        ("product_name", TEXT),
        ("total_revenue", NUM),
        ("total_orders", INT),
        ("total_quantity_sold", INT),
        ("avg_order_value", NUM),
        ("min_price", NUM),
        ("max_price", NUM),
    ),
    "hourly_order_trends": _schema(
        ("date", DAY),
        ("hour", INT),
        ("orders_created_count", INT),
        ("orders_completed_count", INT),
        ("revenue_per_hour", NUM),
        ("avg_processing_time_minutes", NUM),
    ),
    "order_status_distribution": _schema(
        ("date", DAY),
        ("status", TEXT),
        ("status_count", INT),
        ("status_percentage", NUM),
        ("total_revenue_by_status", NUM),
    ),
    "conversion_metrics": _schema(
        ("date", DAY),
        ("total_orders_created", INT),
        ("total_orders_shipped", INT),
        ("total_orders_cancelled", INT),
        ("conversion_rate", NUM),
        ("cancellation_rate", NUM),
    ),
    "payment_method_revenue": _schema(
        ("date", DAY),
        ("payment_method", TEXT),
        ("total_revenue", NUM),
        ("order_count", INT),
        ("avg_order_value", NUM),
        ("payment_method_percentage", NUM),
    ),
    "top_products": _schema(
        ("date", DAY),
        ("ranking", TEXT),
        ("rank", INT),
        ("product_id", TEXT),
        ("product_name", TEXT),
        ("total_revenue", NUM),
        ("quantity_sold", INT),
    ),
    "top_customers": _schema(
        ("snapshot_date", DAY),
        ("rank", INT),
        ("customer_id", TEXT),
        ("customer_email", TEXT),
        ("total_spent", NUM),
        ("order_count", INT),
        ("avg_order_value", NUM),
        ("first_order_date", DAY),
        ("last_order_date", DAY),
        ("customer_tenure_days", INT),
    ),
    "customer_segments": _schema(
        ("snapshot_date", DAY),
        ("segment", TEXT),
        ("customer_count", INT),
        ("total_revenue", NUM),
        ("avg_customer_value", NUM),
        ("segment_percentage", NUM),
    ),
    "payment_method_preferences": _schema(
        ("snapshot_date", DAY),
        ("payment_method", TEXT),
        ("payment_method_usage_count", INT),
        ("payment_method_percentage", NUM),
        ("avg_order_value_by_method", NUM),
        ("total_revenue_by_method", NUM),
    ),
    "geographic_analysis": _schema(
        ("snapshot_date", DAY),
        ("rank", INT),
        ("shipping_state", TEXT),
        ("order_count_by_state", INT),
        ("revenue_by_state", NUM),
        ("avg_order_value_by_state", NUM),
        ("unique_customers_by_state", INT),
    ),
    "customer_retention": _schema(
        ("snapshot_date", DAY),
        ("repeat_customer_count", INT),
        ("one_time_customer_count", INT),
        ("repeat_customer_percentage", NUM),
        ("repeat_customer_revenue", NUM),
        ("repeat_customer_revenue_percentage", NUM),
    ),
    "processing_time_by_segment": _schema(
        ("snapshot_date", DAY),
        ("customer_segment", TEXT),
        ("avg_processing_time_minutes", NUM),
        ("median_processing_time_minutes", NUM),
        ("min_processing_time_minutes", NUM),
        ("max_processing_time_minutes", NUM),
    ),
}


def partition_column(table: str) -> str:
    """The Delta partition column of a Gold table: `date` or `snapshot_date`."""
    return SALES_PARTITION if "date" in GOLD_SCHEMAS[table].fieldNames() else SNAPSHOT_PARTITION


def conform(frame: DataFrame, table: str) -> DataFrame:
    """`frame` with exactly the table's columns, in order, cast to their types."""
    return frame.select(
        *[F.col(f.name).cast(f.dataType).alias(f.name) for f in GOLD_SCHEMAS[table].fields]
    )
