"""Gold's cross-table checks (SPEC.md §8), on the partitions a step just wrote."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from fastcart_assets.gold.customer_analytics import completed_by_snapshot

MONEY_TOLERANCE = 0.005


def _per_day(frame: DataFrame, day_column: str, value) -> dict[date, float]:
    rows = frame.groupBy(day_column).agg(value.alias("v")).collect()
    return {r[0]: (r.v or 0) for r in rows}


def shipped_revenue_mismatches(
    events: DataFrame, daily: DataFrame, hourly: DataFrame, dates: Sequence[date]
) -> dict[str, dict[str, float]]:
    """Dates where shipped revenue differs between Silver, daily_product_revenue, hourly."""
    in_dates = F.col("date").isin(list(dates))
    silver = _per_day(
        events.where((F.col("status") == "shipped") & F.col("event_date").isin(list(dates))),
        "event_date",
        F.sum("total"),
    )
    by_product = _per_day(daily.where(in_dates), "date", F.sum("total_revenue"))
    by_hour = _per_day(hourly.where(in_dates), "date", F.sum("revenue_per_hour"))
    mismatches = {}
    for day in dates:
        values = (silver.get(day, 0.0), by_product.get(day, 0.0), by_hour.get(day, 0.0))
        if max(values) - min(values) > MONEY_TOLERANCE:
            mismatches[day.isoformat()] = dict(
                zip(("silver", "daily_product_revenue", "hourly_order_trends"), values, strict=True)
            )
    return mismatches


def cohort_mismatches(payments: DataFrame, conversion: DataFrame, dates: Sequence[date]):
    """Dates where payment_method_revenue's orders differ from conversion_metrics' cohort."""
    in_dates = F.col("date").isin(list(dates))
    by_method = _per_day(payments.where(in_dates), "date", F.sum("order_count"))
    created = _per_day(conversion.where(in_dates), "date", F.sum("total_orders_created"))
    return {
        d.isoformat(): {"payment_method_revenue": by_method.get(d, 0), "conversion": created[d]}
        for d in dates
        if by_method.get(d, 0) != created.get(d, 0)
    }


def percentage_sums_off(frame: DataFrame, day_column: str, column: str, dates: Sequence[date]):
    """Dates whose percentages do not sum to 100 (dates with nothing to share are skipped)."""
    sums = _per_day(frame.where(F.col(day_column).isin(list(dates))), day_column, F.sum(column))
    return {d.isoformat(): s for d, s in sums.items() if s and abs(s - 100.0) > 1e-6}


def rank_gaps(frame: DataFrame, group: Sequence[str]) -> list[dict]:
    """Groups whose ranks are not exactly 1..n."""
    rows = (
        frame.groupBy(*group)
        .agg(
            F.count(F.lit(1)).alias("n"),
            F.min("rank").alias("lo"),
            F.max("rank").alias("hi"),
            F.count_distinct("rank").alias("distinct"),
        )
        .collect()
    )
    return [
        {**{g: str(r[g]) for g in group}, "ranks": [r.lo, r.hi], "rows": r.n}
        for r in rows
        if not (r.lo == 1 and r.hi == r.n == r.distinct)
    ]


def segment_mismatches(segments: DataFrame, facts: DataFrame, snapshots: Sequence[date]):
    """Snapshots whose segment counts do not add up to the customers with a completed order."""
    counted = _per_day(
        segments.where(F.col("snapshot_date").isin(list(snapshots))),
        "snapshot_date",
        F.sum("customer_count"),
    )
    customers = _per_day(
        completed_by_snapshot(facts, snapshots),
        "snapshot_date",
        F.count_distinct("customer_id"),
    )
    return {
        d.isoformat(): {"segments": counted.get(d, 0), "customers": customers.get(d, 0)}
        for d in snapshots
        if counted.get(d, 0) != customers.get(d, 0)
    }
