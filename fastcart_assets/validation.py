"""The validation report (SPEC.md §8): counts and revenue per layer, rejections, duplicates,
reconciliations and spot checks recomputed from Silver with plain SQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from pyspark.sql import SparkSession

from fastcart_assets.quality.rule_metrics import RuleSummary, summarize
from fastcart_assets.query import register_views
from fastcart_assets.settings import Settings
from fastcart_assets.silver.checks import reconcile
from fastcart_assets.silver.rules import HARD_RULES
from fastcart_assets.tables import BRONZE, GOLD, RULE_METRICS, SILVER, SILVER_REJECTED

MONEY_TOLERANCE = 0.005

# Gold's input (SPEC.md §7) written as plain SQL, independently of the Gold code.
REDUCED_EVENTS_SQL = """
SELECT * FROM (
  SELECT *, row_number() OVER (PARTITION BY order_id, status ORDER BY timestamp,
         ingestion_timestamp DESC, kafka_partition DESC, kafka_offset DESC) AS n
  FROM silver_ecommerce_sales WHERE data_quality_score
) WHERE n = 1
"""


@dataclass
class Comparison:
    name: str
    expected: float
    actual: float

    @property
    def passed(self) -> bool:
        return abs(self.expected - self.actual) <= MONEY_TOLERANCE


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


def _scalar(spark: SparkSession, sql: str) -> float:
    value = spark.sql(sql).collect()[0][0]
    return float(value or 0)


def validate(spark: SparkSession, settings: Settings) -> ValidationReport:
    """Build the report from the tables as they are now."""
    report = ValidationReport()
    views = set(register_views(spark, settings))
    for table in (BRONZE, SILVER, SILVER_REJECTED, *GOLD):
        if table.view in views:
            report.counts[table.path] = int(_scalar(spark, f"SELECT count(*) FROM {table.view}"))
    if RULE_METRICS.view in views:
        report.rules = summarize(spark.table(RULE_METRICS.view))
    if not {"bronze_ecommerce_sales", "silver_ecommerce_sales"} <= views:
        return report
    spark.sql(REDUCED_EVENTS_SQL).createOrReplaceTempView("reduced_events")

    report.revenue = {
        "bronze: all totals, duplicates and defects included": _scalar(
            spark, "SELECT sum(total) FROM bronze_ecommerce_sales"
        ),
        "silver: valid rows": _scalar(
            spark, "SELECT sum(total) FROM silver_ecommerce_sales WHERE data_quality_score"
        ),
        "silver: shipped revenue (reduced events)": _scalar(
            spark, "SELECT sum(total) FROM reduced_events WHERE status = 'shipped'"
        ),
    }
    for reason in (rule.name for rule in HARD_RULES):
        report.rejected_by_reason[reason] = int(
            _scalar(
                spark,
                "SELECT count(*) FROM silver_ecommerce_sales_rejected "
                f"WHERE array_contains(rejection_reasons, '{reason}')",
            )
        )

    dates = [
        r[0]
        for r in spark.sql("SELECT DISTINCT ingestion_date FROM bronze_ecommerce_sales").collect()
    ]
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

    if "gold_daily_product_revenue" in views:
        _revenue_across_layers(spark, report, views)
        _spot_checks(spark, report, views)
    return report


def _revenue_across_layers(spark, report: ValidationReport, views: set[str]) -> None:
    gold_days = "SELECT DISTINCT date FROM gold_daily_product_revenue"
    silver = _scalar(
        spark,
        "SELECT sum(total) FROM reduced_events WHERE status = 'shipped' "
        f"AND to_date(timestamp) IN ({gold_days})",
    )
    daily = _scalar(spark, "SELECT sum(total_revenue) FROM gold_daily_product_revenue")
    report.revenue["gold: daily_product_revenue"] = daily
    report.reconciliations.append(
        Comparison(
            "shipped revenue: Silver = gold daily_product_revenue (dates in Gold)", silver, daily
        )
    )
    if "gold_hourly_order_trends" in views:
        hourly = _scalar(spark, "SELECT sum(revenue_per_hour) FROM gold_hourly_order_trends")
        report.revenue["gold: hourly_order_trends"] = hourly
        report.reconciliations.append(
            Comparison(
                "shipped revenue: gold daily_product_revenue = gold hourly_order_trends",
                daily,
                hourly,
            )
        )


def _spot_checks(spark, report: ValidationReport, views: set[str]) -> None:
    day_row = spark.sql("SELECT max(date) FROM gold_daily_product_revenue").collect()[0][0]
    if day_row is None:
        return
    day: date = day_row
    top = spark.sql(
        f"SELECT product_id, total_revenue FROM gold_daily_product_revenue "
        f"WHERE date = DATE'{day}' ORDER BY total_revenue DESC, product_id LIMIT 1"
    ).collect()
    if top:
        product, revenue = top[0]
        recomputed = _scalar(
            spark,
            "SELECT sum(total) FROM reduced_events WHERE status = 'shipped' "
            f"AND to_date(timestamp) = DATE'{day}' AND product_id = '{product}'",
        )
        report.spot_checks.append(
            Comparison(f"{day} revenue of {product} (daily_product_revenue)", recomputed, revenue)
        )
    if "gold_conversion_metrics" in views:
        created = _scalar(
            spark,
            "SELECT count(*) FROM reduced_events WHERE status = 'pending' "
            f"AND to_date(timestamp) = DATE'{day}'",
        )
        gold = _scalar(
            spark,
            f"SELECT total_orders_created FROM gold_conversion_metrics WHERE date = DATE'{day}'",
        )
        report.spot_checks.append(
            Comparison(f"{day} orders created (conversion_metrics)", created, gold)
        )
    if "gold_customer_segments" in views:
        snapshot = spark.sql("SELECT max(snapshot_date) FROM gold_customer_segments").collect()[0][
            0
        ]
        customers = _scalar(
            spark,
            "SELECT count(DISTINCT customer_id) FROM reduced_events "
            f"WHERE status = 'shipped' AND to_date(timestamp) <= DATE'{snapshot}'",
        )
        counted = _scalar(
            spark,
            "SELECT sum(customer_count) FROM gold_customer_segments "
            f"WHERE snapshot_date = DATE'{snapshot}'",
        )
        report.spot_checks.append(
            Comparison(
                f"{snapshot} customers with a completed order (customer_segments)",
                customers,
                counted,
            )
        )
