"""Gold's checks, per partition date: what passes, what fails, and the numbers they report."""

from __future__ import annotations

import math

from fastcart_assets.gold import checks
from fastcart_assets.gold.checks import money_equal
from fastcart_assets_tests.gold.conftest import D0, D2, D, row

SHIPPED = [
    row("O1", "shipped", "2025-11-09 10:00", total=20.0),
    row("O2", "shipped", "2025-11-10 11:00", total=30.5),
    row("O3", "shipped", "2025-11-10 12:00", total=0.1, product_id="P2"),
]


def test_shipped_revenue_reports_each_date_and_fails_only_where_tables_disagree(spark, frames):
    events, _ = frames(SHIPPED)
    daily = spark.createDataFrame(
        [(D0, 20.0), (D, 30.5), (D, 1.1)], "date date, total_revenue double"
    )  # D: 31.6 in Gold, 30.6 in Silver
    hourly = spark.createDataFrame([(D0, 20.0), (D, 30.6)], "date date, revenue_per_hour double")
    outcomes = checks.shipped_revenue(events, daily, hourly, [D0, D, D2])
    assert outcomes[D0].passed and outcomes[D0].values == {
        "silver": 20.0,
        "daily_product_revenue": 20.0,
        "hourly_order_trends": 20.0,
        "difference": 0.0,
    }
    assert not outcomes[D].passed
    assert outcomes[D].values["silver"] == 30.6  # summed exactly: not 30.599999999999998
    assert math.isclose(outcomes[D].values["difference"], 1.0)
    assert outcomes[D2].passed and outcomes[D2].values["silver"] == 0.0  # nothing shipped


def test_cohort_orders_per_date(spark):
    payments = spark.createDataFrame([(D0, 2), (D0, 1), (D, 4)], "date date, order_count int")
    conversion = spark.createDataFrame([(D0, 3), (D, 5)], "date date, total_orders_created int")
    outcomes = checks.cohort_orders(payments, conversion, [D0, D])
    assert outcomes[D0].passed and outcomes[D0].values["difference"] == 0
    assert not outcomes[D].passed
    assert outcomes[D].values == {"payment_method_orders": 4, "created_cohort": 5, "difference": -1}


def test_percentages_pass_at_100_or_with_nothing_to_share(spark):
    frame = spark.createDataFrame(
        [(D0, 60.0), (D0, 40.0), (D, 50.0), (D, 49.0), (D2, None), (D2, None)],
        "date date, share double",
    )
    outcomes = checks.percentages_sum_to_100(frame, "date", "share", [D0, D, D2])
    assert outcomes[D0].passed and outcomes[D0].values["percentage_sum"] == 100.0
    assert not outcomes[D].passed and outcomes[D].values["percentage_sum"] == 99.0
    assert outcomes[D2].passed
    assert outcomes[D2].values == {"percentage_sum": 0.0, "rows": 2, "rows_with_percentage": 0}


def test_ranks_contiguous_counts_rankings_with_gaps(spark):
    frame = spark.createDataFrame(
        [(D0, "revenue", 1), (D0, "revenue", 2), (D0, "quantity", 1)]
        + [(D, "revenue", 1), (D, "revenue", 3), (D, "quantity", 1), (D, "quantity", 1)],
        "date date, ranking string, rank int",
    )
    outcomes = checks.ranks_contiguous(frame, "date", ["ranking"], [D0, D, D2])
    assert outcomes[D0].passed
    assert outcomes[D0].values == {"rows": 3, "rankings": 2, "rankings_with_gaps": 0, "max_rank": 2}
    assert not outcomes[D].passed and outcomes[D].values["rankings_with_gaps"] == 2
    assert outcomes[D2].passed and outcomes[D2].values["rows"] == 0


def test_segments_add_up_to_customers_with_a_completed_order(spark, frames):
    _, facts = frames(SHIPPED)  # C1 on D0; C1 again on D (one customer)
    segments = spark.createDataFrame(
        [(D0, 1), (D0, 0), (D, 2)], "snapshot_date date, customer_count int"
    )
    outcomes = checks.segments_add_up(segments, facts, [D0, D])
    assert outcomes[D0].passed
    assert not outcomes[D].passed
    assert outcomes[D].values == {
        "segment_customers": 2,
        "customers_with_completed_order": 1,
        "difference": 1,
    }


def test_money_is_equal_to_half_a_cent_or_relatively_for_huge_amounts():
    assert money_equal(100.0, 100.004) and not money_equal(100.0, 100.006)
    assert money_equal(1e35, 1e35 * (1 + 1e-15))  # a double's last digits
    assert not money_equal(1e35, 1.001e35)
    assert money_equal(math.inf, math.inf) and not money_equal(math.inf, 1e308)
