"""`gold/customer_analytics/*` (docs/SPEC.md §7b): one partition per snapshot date D.

Snapshot D covers the completed orders whose shipped event is dated on or before D. A
customer is the shipped event's `customer_id`; payment method and state are the shipped
event's; an order's amount is the shipped event's total.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from fastcart_assets.gold import schemas
from fastcart_assets.gold.metrics import (
    CENTS_KEY,
    cents,
    count_if,
    dates_frame,
    exact_avg,
    exact_sum,
    mean,
    ranked,
    share,
    with_cents,
)
from fastcart_assets.gold.schemas import conform

SEGMENTS = ("high_value", "medium_value", "low_value")
HIGH_ABOVE = 500.0  # high_value: total spent > 500
LOW_BELOW = 100.0  # low_value: < 100; medium_value: 100 to 500 inclusive
TOP_CUSTOMERS = 20
TOP_STATES = 10


def completed_by_snapshot(facts: DataFrame, snapshots: Sequence[date]) -> DataFrame:
    """Completed orders repeated once per snapshot D that covers them (shipped date ≤ D)."""
    days = dates_frame(facts.sparkSession, snapshots, "snapshot_date")
    completed = facts.where(F.col("shipped_at").isNotNull())
    return days.join(completed, F.col("shipped_date") <= F.col("snapshot_date"))


def segment_of(total_spent: Column) -> Column:
    """The value segment of a customer's total spent, rounded to cents."""
    spent = cents(total_spent)
    return (
        F.when(spent > HIGH_ABOVE, "high_value")
        .when(spent >= LOW_BELOW, "medium_value")
        .otherwise("low_value")
    )


def customers(completed: DataFrame) -> DataFrame:
    """Per snapshot and customer: spend, orders, first/last order date, latest email, segment."""
    spent = completed.groupBy("snapshot_date", "customer_id").agg(
        exact_sum(F.col("amount")).alias("total_spent"),
        F.count(F.lit(1)).alias("order_count"),
        F.min("order_date").alias("first_order_date"),
        F.max("order_date").alias("last_order_date"),
        F.max_by(F.col("customer_email"), F.struct("shipped_at", "order_id")).alias(
            "customer_email"
        ),
    )
    return spent.withColumn("segment", segment_of(F.col("total_spent")))


def top_customers(customer_totals: DataFrame) -> DataFrame:
    """The 20 customers who spent most (to the cent; ties: smaller customer_id)."""
    top = ranked(
        with_cents(customer_totals, "total_spent"),
        ["snapshot_date"],
        [F.col(CENTS_KEY).desc(), F.col("customer_id").asc_nulls_last()],
        TOP_CUSTOMERS,
    ).select(
        "*",
        mean(F.col("total_spent"), F.col("order_count")).alias("avg_order_value"),
        F.datediff("snapshot_date", "first_order_date").alias("customer_tenure_days"),
    )
    return conform(top, schemas.TOP_CUSTOMERS)


def _segment_grid(customer_totals: DataFrame, snapshots: Sequence[date]) -> DataFrame:
    spark = customer_totals.sparkSession
    segments = spark.createDataFrame([(s,) for s in SEGMENTS], "segment string")
    return dates_frame(spark, snapshots, "snapshot_date").crossJoin(segments)


def customer_segments(customer_totals: DataFrame, snapshots: Sequence[date]) -> DataFrame:
    """Customers and revenue per value segment; all three segments always present."""
    per_segment = customer_totals.groupBy("snapshot_date", "segment").agg(
        F.count(F.lit(1)).alias("n"), exact_sum(F.col("total_spent")).alias("revenue")
    )
    count = F.coalesce(F.col("n"), F.lit(0))
    revenue = F.coalesce(F.col("revenue"), F.lit(0.0))
    everyone = F.sum(count).over(Window.partitionBy("snapshot_date"))
    segments = (
        _segment_grid(customer_totals, snapshots)
        .join(per_segment, ["snapshot_date", "segment"], "left")
        .select(
            "snapshot_date",
            "segment",
            count.alias("customer_count"),
            revenue.alias("total_revenue"),
            mean(revenue, count).alias("avg_customer_value"),
            share(count, everyone).alias("segment_percentage"),
        )
    )
    return conform(segments, schemas.CUSTOMER_SEGMENTS)


def payment_method_preferences(completed: DataFrame) -> DataFrame:
    """Completed orders per payment method (of the shipped event)."""
    methods = (
        completed.groupBy("snapshot_date", "payment_method")
        .agg(
            F.count(F.lit(1)).alias("payment_method_usage_count"),
            exact_sum(F.col("amount")).alias("total_revenue_by_method"),
        )
        .withColumn(
            "avg_order_value_by_method",
            mean(F.col("total_revenue_by_method"), F.col("payment_method_usage_count")),
        )
        .withColumn(
            "payment_method_percentage",
            share(
                F.col("payment_method_usage_count"),
                F.sum("payment_method_usage_count").over(Window.partitionBy("snapshot_date")),
            ),
        )
    )
    return conform(methods, schemas.PAYMENT_METHOD_PREFERENCES)


def geographic_analysis(completed: DataFrame) -> DataFrame:
    """The 10 shipping states with most completed orders (ties: smaller state, nulls last)."""
    states = completed.groupBy("snapshot_date", "shipping_state").agg(
        F.count(F.lit(1)).alias("order_count_by_state"),
        exact_sum(F.col("amount")).alias("revenue_by_state"),
        F.count_distinct("customer_id").alias("unique_customers_by_state"),
    )
    top = ranked(
        states,
        ["snapshot_date"],
        [F.col("order_count_by_state").desc(), F.col("shipping_state").asc_nulls_last()],
        TOP_STATES,
    ).withColumn(
        "avg_order_value_by_state",
        mean(F.col("revenue_by_state"), F.col("order_count_by_state")),
    )
    return conform(top, schemas.GEOGRAPHIC_ANALYSIS)


def customer_retention(customer_totals: DataFrame, snapshots: Sequence[date]) -> DataFrame:
    """Repeat (more than one completed order) versus one-time customers."""
    repeat = F.col("order_count") > 1
    totals = customer_totals.groupBy("snapshot_date").agg(
        count_if(repeat).alias("repeat"),
        count_if(~repeat).alias("one_time"),
        exact_sum(F.when(repeat, F.col("total_spent")).otherwise(0.0)).alias("repeat_revenue"),
        exact_sum(F.col("total_spent")).alias("revenue"),
    )
    repeat_n = F.coalesce(F.col("repeat"), F.lit(0))
    one_time_n = F.coalesce(F.col("one_time"), F.lit(0))
    repeat_revenue = F.coalesce(F.col("repeat_revenue"), F.lit(0.0))
    revenue = F.coalesce(F.col("revenue"), F.lit(0.0))
    retention = (
        dates_frame(customer_totals.sparkSession, snapshots, "snapshot_date")
        .join(totals, "snapshot_date", "left")
        .select(
            "snapshot_date",
            repeat_n.alias("repeat_customer_count"),
            one_time_n.alias("one_time_customer_count"),
            share(repeat_n, repeat_n + one_time_n).alias("repeat_customer_percentage"),
            repeat_revenue.alias("repeat_customer_revenue"),
            share(repeat_revenue, revenue).alias("repeat_customer_revenue_percentage"),
        )
    )
    return conform(retention, schemas.CUSTOMER_RETENTION)


def processing_time_by_segment(
    completed: DataFrame, customer_totals: DataFrame, snapshots: Sequence[date]
) -> DataFrame:
    """Processing minutes of completed orders per customer segment; three segments always."""
    timed = completed.where(F.col("processing_minutes").isNotNull()).join(
        customer_totals.select("snapshot_date", "customer_id", "segment"),
        ["snapshot_date", "customer_id"],
    )
    stats = timed.groupBy("snapshot_date", "segment").agg(
        exact_avg(F.col("processing_minutes")).alias("avg_processing_time_minutes"),
        F.percentile(F.col("processing_minutes"), F.lit(0.5)).alias(
            "median_processing_time_minutes"
        ),
        F.min("processing_minutes").alias("min_processing_time_minutes"),
        F.max("processing_minutes").alias("max_processing_time_minutes"),
    )
    by_segment = (
        _segment_grid(customer_totals, snapshots)
        .join(stats, ["snapshot_date", "segment"], "left")
        .withColumnRenamed("segment", "customer_segment")
    )
    return conform(by_segment, schemas.PROCESSING_TIME_BY_SEGMENT)
