"""Gold table schemas (docs/SPEC.md §7): exact column order and types, one constant per table.

The table registry (gold.registry) pairs each schema with its table; the transforms conform
their result to it, so a written partition always has exactly these columns.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DateType, DoubleType, IntegerType, StringType, StructField, StructType


def _schema(*columns: tuple[str, object]) -> StructType:
    return StructType([StructField(name, kind()) for name, kind in columns])


TEXT, INT, NUM, DAY = StringType, IntegerType, DoubleType, DateType
# Personal data: kept in the tables, never shown in Dagster metadata (previews), and what
# `fastcart forget` looks for in Gold.
PERSONAL_COLUMNS = frozenset({"customer_id", "customer_email"})

# gold/sales_performance/*, partitioned by `date`
DAILY_PRODUCT_REVENUE = _schema(
    ("date", DAY),
    ("product_id", TEXT),
    ("product_name", TEXT),
    ("total_revenue", NUM),
    ("total_orders", INT),
    ("total_quantity_sold", INT),
    ("avg_order_value", NUM),
    ("min_price", NUM),
    ("max_price", NUM),
)
HOURLY_ORDER_TRENDS = _schema(
    ("date", DAY),
    ("hour", INT),
    ("orders_created_count", INT),
    ("orders_completed_count", INT),
    ("revenue_per_hour", NUM),
    ("avg_processing_time_minutes", NUM),
)
ORDER_STATUS_DISTRIBUTION = _schema(
    ("date", DAY),
    ("status", TEXT),
    ("status_count", INT),
    ("status_percentage", NUM),
    ("total_revenue_by_status", NUM),
)
CONVERSION_METRICS = _schema(
    ("date", DAY),
    ("total_orders_created", INT),
    ("total_orders_shipped", INT),
    ("total_orders_cancelled", INT),
    ("conversion_rate", NUM),
    ("cancellation_rate", NUM),
)
PAYMENT_METHOD_REVENUE = _schema(
    ("date", DAY),
    ("payment_method", TEXT),
    ("total_revenue", NUM),
    ("order_count", INT),
    ("avg_order_value", NUM),
    ("payment_method_percentage", NUM),
)
TOP_PRODUCTS = _schema(
    ("date", DAY),
    ("ranking", TEXT),
    ("rank", INT),
    ("product_id", TEXT),
    ("product_name", TEXT),
    ("total_revenue", NUM),
    ("quantity_sold", INT),
)

# gold/customer_analytics/*, partitioned by `snapshot_date`
TOP_CUSTOMERS = _schema(
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
)
CUSTOMER_SEGMENTS = _schema(
    ("snapshot_date", DAY),
    ("segment", TEXT),
    ("customer_count", INT),
    ("total_revenue", NUM),
    ("avg_customer_value", NUM),
    ("segment_percentage", NUM),
)
PAYMENT_METHOD_PREFERENCES = _schema(
    ("snapshot_date", DAY),
    ("payment_method", TEXT),
    ("payment_method_usage_count", INT),
    ("payment_method_percentage", NUM),
    ("avg_order_value_by_method", NUM),
    ("total_revenue_by_method", NUM),
)
GEOGRAPHIC_ANALYSIS = _schema(
    ("snapshot_date", DAY),
    ("rank", INT),
    ("shipping_state", TEXT),
    ("order_count_by_state", INT),
    ("revenue_by_state", NUM),
    ("avg_order_value_by_state", NUM),
    ("unique_customers_by_state", INT),
)
CUSTOMER_RETENTION = _schema(
    ("snapshot_date", DAY),
    ("repeat_customer_count", INT),
    ("one_time_customer_count", INT),
    ("repeat_customer_percentage", NUM),
    ("repeat_customer_revenue", NUM),
    ("repeat_customer_revenue_percentage", NUM),
)
PROCESSING_TIME_BY_SEGMENT = _schema(
    ("snapshot_date", DAY),
    ("customer_segment", TEXT),
    ("avg_processing_time_minutes", NUM),
    ("median_processing_time_minutes", NUM),
    ("min_processing_time_minutes", NUM),
    ("max_processing_time_minutes", NUM),
)


def conform(frame: DataFrame, schema: StructType) -> DataFrame:
    """`frame` with exactly the schema's columns, in order, cast to their types."""
    return frame.select(*[F.col(f.name).cast(f.dataType).alias(f.name) for f in schema.fields])
