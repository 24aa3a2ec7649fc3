"""The validation report (docs/SPEC.md §8): counts and revenue per layer, rejections, duplicates,
reconciliations and spot checks recomputed from Silver independently of the Gold code.

Every figure is computed with the DataFrame API; values read from the data (a product id, a
date) only ever reach Spark as literals, never as SQL text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from fastcart_assets.delta import check_readable
from fastcart_assets.gold.checks import money_equal
from fastcart_assets.quality.rule_metrics import RuleSummary, summarize
from fastcart_assets.settings import Settings
from fastcart_assets.silver.checks import reconcile
from fastcart_assets.silver.rules import HARD_RULES
from fastcart_assets.tables import (
    BRONZE,
    RULE_METRICS,
    SILVER,
    SILVER_REJECTED,
    TABLES,
    TableInfo,
)

DAILY = "gold/sales_performance/daily_product_revenue"
HOURLY = "gold/sales_performance/hourly_order_trends"
CONVERSION = "gold/sales_performance/conversion_metrics"
SEGMENTS = "gold/customer_analytics/customer_segments"


@dataclass
class Comparison:
    name: str
    expected: float
    actual: float

    @property
    def passed(self) -> bool:
        """Equal to half a cent (relatively, for amounts no real order has: gold.checks)."""
        return money_equal(self.expected, self.actual)


@dataclass
class ValidationReport:
    counts: dict[str, int] = field(default_factory=dict)
    revenue: dict[str, float] = field(default_factory=dict)
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    duplicates_dropped: int = 0
    reconciliations: list[Comparison] = field(default_factory=list)
    spot_checks: list[Comparison] = field(default_factory=list)
    rules: list[RuleSummary] = field(default_factory=list)  # from quality/rule_metrics

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.reconciliations + self.spot_checks)


def _total(frame: DataFrame, column: Column | str) -> float:
    value = frame.agg(F.sum(column)).collect()[0][0]
    return float(value or 0)


def reduced_events(silver: DataFrame) -> DataFrame:
    """Gold's input (docs/SPEC.md §7) rebuilt independently: per (order_id, status) the earliest
    valid event, ties to the later ingested, then the higher Kafka partition and offset."""
    order = Window.partitionBy("order_id", "status").orderBy(
        "timestamp",
        F.col("ingestion_timestamp").desc(),
        F.col("kafka_partition").desc(),
        F.col("kafka_offset").desc(),
    )
    ranked = silver.where(F.col("data_quality_score")).withColumn("_n", F.row_number().over(order))
    return ranked.where(F.col("_n") == 1).withColumn("event_date", F.to_date("timestamp"))


class _Lake:
    """The existing tables of the lake, each read once."""

    def __init__(self, spark: SparkSession, settings: Settings):
        self.spark, self.settings = spark, settings
        self.frames: dict[str, DataFrame] = {}
        for table in TABLES:
            path = settings.table_path(table.path)
            if check_readable(path):
                self.frames[table.path] = spark.read.format("delta").load(path)

    def __contains__(self, table: TableInfo | str) -> bool:
        return getattr(table, "path", table) in self.frames

    def __getitem__(self, table: TableInfo | str) -> DataFrame:
        return self.frames[getattr(table, "path", table)]


def validate(spark: SparkSession, settings: Settings) -> ValidationReport:
    """Build the report from the tables as they are now."""
    report = ValidationReport()
    lake = _Lake(spark, settings)
    report.counts = {path: frame.count() for path, frame in lake.frames.items()}
    if RULE_METRICS in lake:
        report.rules = summarize(lake[RULE_METRICS])
    if BRONZE not in lake or SILVER not in lake:
        return report
    bronze, silver = lake[BRONZE], lake[SILVER]
    events = reduced_events(silver)
    shipped = events.where(F.col("status") == F.lit("shipped"))
    report.revenue = {
        "bronze: all totals, duplicates and defects included": _total(bronze, "total"),
        "silver: valid rows": _total(silver.where(F.col("data_quality_score")), "total"),
        "silver: shipped revenue (reduced events)": _total(shipped, "total"),
    }
    if SILVER_REJECTED in lake:
        rejected = lake[SILVER_REJECTED]
        for rule in HARD_RULES:
            reason = F.array_contains("rejection_reasons", F.lit(rule.name))
            report.rejected_by_reason[rule.name] = rejected.where(reason).count()
        _reconcile_layers(spark, settings, bronze, report)
    if DAILY in lake:
        _revenue_across_layers(lake, shipped, report)
        _spot_checks(lake, events, report)
    return report


def _reconcile_layers(spark, settings: Settings, bronze: DataFrame, report) -> None:
    dates = [row[0] for row in bronze.select("ingestion_date").distinct().collect()]
    rows = reconcile(
        spark,
        settings.table_path(BRONZE.path),
        settings.table_path(SILVER.path),
        settings.table_path(SILVER_REJECTED.path),
        dates,
    )
    report.duplicates_dropped = sum(r.duplicates for r in rows)
    report.reconciliations.append(
        Comparison(
            "Bronze rows = Silver + rejected + dropped duplicates",
            sum(r.bronze for r in rows),
            sum(r.silver + r.rejected + r.duplicates for r in rows),
        )
    )


def _revenue_across_layers(lake: _Lake, shipped: DataFrame, report: ValidationReport) -> None:
    daily = lake[DAILY]
    gold_days = daily.select(F.col("date").alias("event_date")).distinct()
    silver = _total(shipped.join(gold_days, "event_date", "left_semi"), "total")
    daily_total = _total(daily, "total_revenue")
    report.revenue["gold: daily_product_revenue"] = daily_total
    report.reconciliations.append(
        Comparison(
            "shipped revenue: Silver = gold daily_product_revenue (dates in Gold)",
            silver,
            daily_total,
        )
    )
    if HOURLY in lake:
        hourly = _total(lake[HOURLY], "revenue_per_hour")
        report.revenue["gold: hourly_order_trends"] = hourly
        report.reconciliations.append(
            Comparison(
                "shipped revenue: gold daily_product_revenue = gold hourly_order_trends",
                daily_total,
                hourly,
            )
        )


def _latest(frame: DataFrame, column: str) -> date | None:
    return frame.agg(F.max(column)).collect()[0][0]


def _spot_checks(lake: _Lake, events: DataFrame, report: ValidationReport) -> None:
    daily = lake[DAILY]
    day = _latest(daily, "date")
    if day is None:
        return
    on_day = F.col("event_date") == F.lit(day)
    top = (
        daily.where(F.col("date") == F.lit(day))
        .orderBy(F.col("total_revenue").desc(), F.col("product_id").asc_nulls_last())
        .select("product_id", "total_revenue")
        .limit(1)
        .collect()
    )
    if top:
        product, revenue = top[0]
        same_product = F.col("product_id").eqNullSafe(F.lit(product))
        shipped = events.where((F.col("status") == F.lit("shipped")) & on_day & same_product)
        report.spot_checks.append(
            Comparison(
                f"{day} revenue of {product} (daily_product_revenue)",
                _total(shipped, "total"),
                revenue,
            )
        )
    if CONVERSION in lake:
        created = events.where((F.col("status") == F.lit("pending")) & on_day).count()
        gold = _total(lake[CONVERSION].where(F.col("date") == F.lit(day)), "total_orders_created")
        report.spot_checks.append(
            Comparison(f"{day} orders created (conversion_metrics)", created, gold)
        )
    if SEGMENTS in lake:
        segments = lake[SEGMENTS]
        snapshot = _latest(segments, "snapshot_date")
        # On the timestamp, not `event_date <= snapshot`: on a date derived under a window, Sail
        # 0.7's range-selectivity estimate can exceed 1 and fail the query ("Selectivity is out
        # of limit"), e.g. when events span decades.
        before = datetime.combine(snapshot + timedelta(days=1), datetime.min.time(), UTC)
        completed = events.where(
            (F.col("status") == F.lit("shipped")) & (F.col("timestamp") < F.lit(before))
        )
        customers = completed.select("customer_id").distinct().count()
        counted = _total(
            segments.where(F.col("snapshot_date") == F.lit(snapshot)), "customer_count"
        )
        report.spot_checks.append(
            Comparison(
                f"{snapshot} customers with a completed order (customer_segments)",
                customers,
                counted,
            )
        )
