"""Gold's cross-table checks (docs/SPEC.md §8), evaluated per partition date.

Each check returns, for every date it was asked about, an Outcome: passed or not, and the
numbers it compared (plain ints and floats, so the UI can plot them over partitions). The
frames given are the Gold tables as written, restricted to the dates of the step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from fastcart_assets.gold.customer_analytics import completed_by_snapshot
from fastcart_assets.gold.metrics import exact_sum

# Money compared across tables agrees to half a cent; above MONEY_RELATIVE_FROM it agrees to
# one part in 1e12 (a double holds about 16 digits, and amounts that large are not real ones).
MONEY_TOLERANCE = 0.005
MONEY_RELATIVE = 1e-12
PERCENT_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Outcome:
    """One check on one partition: whether it passed and the numbers it compared."""

    passed: bool
    values: dict[str, float | int]


def money_equal(a: float, b: float) -> bool:
    """Two money figures equal to half a cent (relatively, for amounts beyond ~5e9)."""
    if a == b or not (math.isfinite(a) and math.isfinite(b)):
        return a == b  # an infinite sum equals only the same infinity
    return abs(a - b) <= max(MONEY_TOLERANCE, MONEY_RELATIVE * max(abs(a), abs(b)))


def _per_day(frame: DataFrame, day_column: str, *values: Column) -> dict[date, tuple]:
    """One aggregation per day: day -> the values (None where a sum had nothing)."""
    rows = frame.groupBy(day_column).agg(*values).collect()
    return {r[0]: tuple(r[1:]) for r in rows}


def shipped_revenue(
    events: DataFrame, daily: DataFrame, hourly: DataFrame, dates: Sequence[date]
) -> dict[date, Outcome]:
    """Shipped revenue of each date: Silver's reduced events = daily_product_revenue =
    hourly_order_trends. Every side is summed exactly (gold.metrics.exact_sum)."""
    shipped = events.where((F.col("status") == "shipped") & F.col("event_date").isin(list(dates)))
    sides = {
        "silver": _per_day(shipped, "event_date", exact_sum(F.col("total"))),
        "daily_product_revenue": _per_day(daily, "date", exact_sum(F.col("total_revenue"))),
        "hourly_order_trends": _per_day(hourly, "date", exact_sum(F.col("revenue_per_hour"))),
    }
    outcomes = {}
    for day in dates:
        values = {name: float(by_day.get(day, (0.0,))[0] or 0.0) for name, by_day in sides.items()}
        silver = values["silver"]
        passed = all(money_equal(silver, v) for v in values.values())
        spread = max(values.values()) - min(values.values())
        values["difference"] = 0.0 if math.isnan(spread) else spread  # nan: equal infinities
        outcomes[day] = Outcome(passed, values)
    return outcomes


def cohort_orders(
    payments: DataFrame, conversion: DataFrame, dates: Sequence[date]
) -> dict[date, Outcome]:
    """payment_method_revenue's order count of each date = conversion_metrics' created cohort."""
    by_method = _per_day(payments, "date", F.sum("order_count"))
    created = _per_day(conversion, "date", F.sum("total_orders_created"))
    return _counts_equal(("payment_method_orders", by_method), ("created_cohort", created), dates)


def _counts_equal(
    left: tuple[str, dict[date, tuple]], right: tuple[str, dict[date, tuple]], dates
) -> dict[date, Outcome]:
    """Per date: two counts (a missing date counts 0), equal or not, and their difference."""
    outcomes = {}
    for day in dates:
        a, b = (int(by_day.get(day, (0,))[0] or 0) for _, by_day in (left, right))
        values = {left[0]: a, right[0]: b, "difference": a - b}
        outcomes[day] = Outcome(a == b, values)
    return outcomes


def percentages_sum_to_100(
    frame: DataFrame, day_column: str, column: str, dates: Sequence[date]
) -> dict[date, Outcome]:
    """Percentages of each date sum to 100 (a date with nothing to share, all null, passes)."""
    sums = _per_day(frame, day_column, F.sum(column), F.count(column), F.count(F.lit(1)))
    outcomes = {}
    for day in dates:
        total, shared, rows = sums.get(day, (None, 0, 0))
        passed = not shared or abs(total - 100.0) <= PERCENT_TOLERANCE
        values = {"percentage_sum": float(total or 0.0), "rows": int(rows)}
        outcomes[day] = Outcome(passed, {**values, "rows_with_percentage": int(shared)})
    return outcomes


def ranks_contiguous(
    frame: DataFrame, day_column: str, group: Sequence[str], dates: Sequence[date]
) -> dict[date, Outcome]:
    """Within each date (and `group`, e.g. the ranking), ranks run exactly 1..n."""
    rankings = (
        frame.groupBy(day_column, *group)
        .agg(
            F.count(F.lit(1)).alias("n"),
            F.min("rank").alias("lo"),
            F.max("rank").alias("hi"),
            F.count_distinct("rank").alias("distinct"),
        )
        .withColumn(
            "gap",
            ~((F.col("lo") == 1) & (F.col("hi") == F.col("n")) & (F.col("distinct") == F.col("n"))),
        )
    )
    per_day = _per_day(
        rankings,
        day_column,
        F.sum("n"),
        F.count(F.lit(1)),
        F.sum(F.col("gap").cast("int")),
        F.max("hi"),
    )
    outcomes = {}
    for day in dates:
        rows, groups, gaps, top = per_day.get(day, (0, 0, 0, 0))
        values = {"rows": int(rows), "rankings": int(groups), "rankings_with_gaps": int(gaps)}
        outcomes[day] = Outcome(gaps == 0, {**values, "max_rank": int(top or 0)})
    return outcomes


def segments_add_up(
    segments: DataFrame, facts: DataFrame, snapshots: Sequence[date]
) -> dict[date, Outcome]:
    """Each snapshot's segment counts add up to the customers with a completed order."""
    counted = _per_day(segments, "snapshot_date", F.sum("customer_count"))
    completed = completed_by_snapshot(facts, snapshots)
    customers = _per_day(completed, "snapshot_date", F.count_distinct("customer_id"))
    return _counts_equal(
        ("segment_customers", counted), ("customers_with_completed_order", customers), snapshots
    )
