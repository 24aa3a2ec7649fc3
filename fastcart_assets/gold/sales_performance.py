"""`gold/sales_performance/*` (docs/SPEC.md §7a): one partition per event date D.

Every function takes the shared frames (`events`, `facts` from gold.events) and the dates to
compute, and returns rows for exactly those dates.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from fastcart_assets.gold import schemas
from fastcart_assets.gold.metrics import (
    CENTS_KEY,
    count_if,
    dates_frame,
    exact_avg,
    exact_sum,
    latest,
    mean,
    ranked,
    share,
    sum_or_zero,
    with_cents,
)
from fastcart_assets.gold.schemas import conform
from fastcart_assets.schemas import ORDER_STATUSES

TOP_PRODUCTS = 10


def _on(frame: DataFrame, column: str, dates: Sequence[date]) -> DataFrame:
    return frame.where(F.col(column).isin(list(dates)))


def _shipped_on(events: DataFrame, dates: Sequence[date]) -> DataFrame:
    return _on(events.where(F.col("status") == "shipped"), "event_date", dates)


def _product_sales(events: DataFrame, dates: Sequence[date]) -> DataFrame:
    """Per date and product: shipped revenue, orders, quantity, prices and the latest name."""
    return (
        _shipped_on(events, dates)
        .groupBy(F.col("event_date").alias("date"), "product_id")
        .agg(
            latest("product_name").alias("product_name"),
            exact_sum(F.col("total")).alias("total_revenue"),
            F.count(F.lit(1)).alias("total_orders"),
            sum_or_zero(F.col("quantity")).alias("total_quantity_sold"),
            F.min("price").alias("min_price"),
            F.max("price").alias("max_price"),
        )
    )


def daily_product_revenue(events: DataFrame, dates: Sequence[date]) -> DataFrame:
    """Shipped revenue per product and day."""
    sales = _product_sales(events, dates).withColumn(
        "avg_order_value", mean(F.col("total_revenue"), F.col("total_orders"))
    )
    return conform(sales, schemas.DAILY_PRODUCT_REVENUE)


def hourly_order_trends(events: DataFrame, facts: DataFrame, dates: Sequence[date]) -> DataFrame:
    """Orders created and completed, shipped revenue and processing time per hour with events."""
    is_shipped = F.col("status") == "shipped"
    hours = (
        _on(events, "event_date", dates)
        .groupBy(F.col("event_date").alias("date"), F.col("event_hour").alias("hour"))
        .agg(
            count_if(F.col("status") == "pending").alias("orders_created_count"),
            count_if(is_shipped).alias("orders_completed_count"),
            F.coalesce(exact_sum(F.when(is_shipped, F.col("total"))), F.lit(0.0)).alias(
                "revenue_per_hour"
            ),
        )
    )
    # facts' shipped_at is the shipped event itself, so its hour is the event's hour.
    processing = (
        _on(facts, "shipped_date", dates)
        .groupBy(F.col("shipped_date").alias("date"), F.col("shipped_hour").alias("hour"))
        .agg(exact_avg(F.col("processing_minutes")).alias("avg_processing_time_minutes"))
    )
    return conform(hours.join(processing, ["date", "hour"], "left"), schemas.HOURLY_ORDER_TRENDS)


def order_status_distribution(events: DataFrame, dates: Sequence[date]) -> DataFrame:
    """Each order with an event on D once, under the status of its latest event that day."""
    spark = events.sparkSession
    last_of_day = Window.partitionBy("order_id", "event_date").orderBy(
        F.col("timestamp").desc(), F.col("status_rank").desc()
    )
    latest_events = (
        _on(events, "event_date", dates)
        .withColumn("_n", F.row_number().over(last_of_day))
        .where("_n = 1")
        .groupBy(F.col("event_date").alias("date"), "status")
        .agg(F.count(F.lit(1)).alias("n"), exact_sum(F.col("total")).alias("revenue"))
    )
    statuses = spark.createDataFrame([(s,) for s in ORDER_STATUSES], "status string")
    grid = dates_frame(spark, dates, "date").crossJoin(statuses)
    per_day = Window.partitionBy("date")
    distribution = (
        grid.join(latest_events, ["date", "status"], "left")
        .withColumn("status_count", F.coalesce(F.col("n"), F.lit(0)))
        .withColumn("total_revenue_by_status", F.coalesce(F.col("revenue"), F.lit(0.0)))
        .withColumn(
            "status_percentage",
            share(F.col("status_count"), F.sum("status_count").over(per_day)),
        )
    )
    return conform(distribution, schemas.ORDER_STATUS_DISTRIBUTION)


def conversion_metrics(facts: DataFrame, dates: Sequence[date]) -> DataFrame:
    """The cohort of orders created on D: how many shipped, how many were cancelled."""
    cohort = (
        _on(facts, "created_date", dates)
        .groupBy(F.col("created_date").alias("date"))
        .agg(
            F.count(F.lit(1)).alias("total_orders_created"),
            count_if(F.col("shipped_at").isNotNull()).alias("total_orders_shipped"),
            count_if(F.col("is_cancelled")).alias("total_orders_cancelled"),
        )
    )
    created, shipped, cancelled = (
        F.coalesce(F.col(c), F.lit(0))
        for c in ("total_orders_created", "total_orders_shipped", "total_orders_cancelled")
    )
    metrics = (
        dates_frame(facts.sparkSession, dates, "date")
        .join(cohort, "date", "left")
        .select(
            "date",
            created.alias("total_orders_created"),
            shipped.alias("total_orders_shipped"),
            cancelled.alias("total_orders_cancelled"),
            share(shipped, created).alias("conversion_rate"),
            share(cancelled, created).alias("cancellation_rate"),
        )
    )
    return conform(metrics, schemas.CONVERSION_METRICS)


def payment_method_revenue(facts: DataFrame, dates: Sequence[date]) -> DataFrame:
    """Booked revenue (pending totals) per payment method of the orders created on D."""
    methods = (
        _on(facts, "created_date", dates)
        .groupBy(
            F.col("created_date").alias("date"),
            F.col("pending_payment_method").alias("payment_method"),
        )
        .agg(
            exact_sum(F.col("pending_total")).alias("total_revenue"),
            F.count(F.lit(1)).alias("order_count"),
        )
        .withColumn("avg_order_value", mean(F.col("total_revenue"), F.col("order_count")))
        .withColumn(
            "payment_method_percentage",
            share(F.col("order_count"), F.sum("order_count").over(Window.partitionBy("date"))),
        )
    )
    return conform(methods, schemas.PAYMENT_METHOD_REVENUE)


def top_products(events: DataFrame, dates: Sequence[date]) -> DataFrame:
    """Top 10 products of D by shipped revenue (to the cent) and by quantity."""
    sales = _product_sales(events, dates).withColumnRenamed("total_quantity_sold", "quantity_sold")
    key = F.col("product_id").asc_nulls_last()
    by_cents = [F.col(CENTS_KEY).desc(), key]
    by_revenue = ranked(with_cents(sales, "total_revenue"), ["date"], by_cents, TOP_PRODUCTS)
    by_revenue = by_revenue.drop(CENTS_KEY)
    by_quantity = ranked(sales, ["date"], [F.col("quantity_sold").desc(), key], TOP_PRODUCTS)
    rankings = by_revenue.withColumn("ranking", F.lit("revenue")).unionByName(
        by_quantity.withColumn("ranking", F.lit("quantity"))
    )
    return conform(rankings, schemas.TOP_PRODUCTS)
