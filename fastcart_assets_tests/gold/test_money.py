"""Extreme but valid money through every Gold builder: kept as is, summed in a fixed order,
ranked and segmented by its cents; a sum beyond the double range is Infinity (ARCHITECTURE.md,
"Money in Gold")."""

from __future__ import annotations

import functools
import json
import math
import operator
import random
from datetime import timedelta

import pytest
from click.testing import CliRunner
from pyspark.sql import functions as F

from fastcart_assets.cli.main import cli
from fastcart_assets.gold.build import SharedFrames
from fastcart_assets.gold.metrics import cents, exact_sum
from fastcart_assets.gold.registry import gold_table
from fastcart_assets.partitions import today_utc
from fastcart_assets.resources.spark import spark_session
from fastcart_assets_tests.gold.conftest import D, collect, row
from fastcart_assets_tests.helpers import order_event, produce


def _order(order_id: str, customer: str, product: str, total: float) -> list[tuple]:
    fields = {"total": total, "price": total, "customer_id": customer, "product_id": product}
    return [
        row(order_id, "pending", "2025-11-10 09:00", **fields),
        row(order_id, "shipped", "2025-11-10 15:00", **fields),
    ]


HUGE = _order("O1", "C1", "P1", 20.0) + _order("O2", "C2", "P2", 1e35)
HUGE += _order("O3", "C3", "P3", 1e300)


def _build(frames, rows, name: str) -> list[dict]:
    events, facts = frames(rows)
    table = gold_table(name)
    return collect(table.build(SharedFrames(events, facts), [D]), *table.schema.fieldNames())


def test_huge_totals_are_kept_ranked_and_segmented_by_their_cents(frames):
    products = _build(frames, HUGE, "daily_product_revenue")
    assert [(r["product_id"], r["total_revenue"]) for r in products] == [
        ("P1", 20.0),
        ("P2", 1e35),
        ("P3", 1e300),
    ]
    top = _build(frames, HUGE, "top_products")
    by_revenue = [r for r in top if r["ranking"] == "revenue"]
    assert [(r["rank"], r["product_id"]) for r in by_revenue] == [(1, "P3"), (2, "P2"), (3, "P1")]
    customers = _build(frames, HUGE, "top_customers")
    assert [(r["rank"], r["customer_id"], r["total_spent"]) for r in customers] == [
        (1, "C3", 1e300),
        (2, "C2", 1e35),
        (3, "C1", 20.0),
    ]
    segments = {r["segment"]: r for r in _build(frames, HUGE, "customer_segments")}
    assert segments["high_value"]["customer_count"] == 2
    assert segments["high_value"]["total_revenue"] == 1e300  # 1e300 + 1e35 as a double
    assert segments["low_value"]["customer_count"] == 1
    [hourly] = [r for r in _build(frames, HUGE, "hourly_order_trends") if r["hour"] == 15]
    assert hourly["revenue_per_hour"] == 1e300
    [payments] = _build(frames, HUGE, "payment_method_revenue")
    assert payments["total_revenue"] == 1e300 and payments["avg_order_value"] == 1e300 / 3
    [states] = _build(frames, HUGE, "geographic_analysis")
    assert states["revenue_by_state"] == 1e300
    [retention] = _build(frames, HUGE, "customer_retention")
    assert retention["repeat_customer_revenue_percentage"] == 0.0


def test_a_sum_beyond_the_double_range_is_infinity_and_its_shares_are_null(frames):
    rows = _order("O1", "C9", "P1", 1.7e308) + _order("O2", "C9", "P1", 1.7e308)
    rows += _order("O3", "C1", "P2", 20.0)
    [product, _] = _build(frames, rows, "daily_product_revenue")
    assert product["total_revenue"] == math.inf and product["avg_order_value"] == math.inf
    customers = _build(frames, rows, "top_customers")
    assert [(r["customer_id"], r["total_spent"]) for r in customers] == [
        ("C9", math.inf),
        ("C1", 20.0),
    ]
    [retention] = _build(frames, rows, "customer_retention")
    assert retention["repeat_customer_revenue"] == math.inf
    assert retention["repeat_customer_revenue_percentage"] is None  # no share of Infinity
    segments = {r["segment"]: r for r in _build(frames, rows, "customer_segments")}
    assert segments["high_value"]["total_revenue"] == math.inf
    assert segments["high_value"]["segment_percentage"] == 50.0


def test_huge_values_sum_to_the_same_double_in_any_row_order(spark):
    rng = random.Random(7)
    values = [rng.uniform(1e18, 1e22) for _ in range(200)] + [0.1, 0.2]
    orders = {functools.reduce(operator.add, rng.sample(values, len(values))) for _ in range(20)}
    assert len(orders) > 1  # as doubles, the order of the additions shows in the result
    big = sorted(v for v in values if v >= 1e18)
    expected = 0.3 + functools.reduce(operator.add, big, 0.0)  # 0.1 + 0.2 summed exactly
    frame = spark.createDataFrame([(v,) for v in values], "x double")
    for layout in (frame, frame.repartition(7), frame.orderBy(F.rand(3)).repartition(3)):
        assert layout.agg(exact_sum(F.col("x"))).first()[0] == expected


def test_cents_orders_and_ties_like_rounded_cents_across_the_double_range(spark):
    values = [0.004, 0.005, 2.675, 2.6749, 7.0e13 + 0.01, 7.0e13 + 0.015625, 2.0**46 + 0.125]
    values += [1e35, 1e300, -1e35]
    frame = spark.createDataFrame([(v,) for v in values], "x double")
    keys = dict(frame.select("x", cents(F.col("x"))).collect())
    assert keys[0.004] == 0.0 and keys[0.005] == 0.01  # half-up on the decimal value
    assert keys[2.675] == 2.68 and keys[2.6749] == 2.67
    assert keys[7.0e13 + 0.01] < keys[7.0e13 + 0.015625]  # distinct cents stay distinct
    assert keys[2.0**46 + 0.125] == 2.0**46 + 0.125  # from 2^46 a double is its own key
    assert keys[1e35] == 1e35 and keys[1e300] == 1e300 and keys[-1e35] == -1e35


@pytest.mark.slow
def test_extreme_money_goes_through_fastcart_run_and_the_report(settings, kafka):
    day = today_utc() - timedelta(days=1)
    orders = {1: 33.48, 2: 1e35, 3: 1e300}
    values = [
        json.dumps(
            order_event(
                i,
                status=status,
                timestamp=f"{day}T{hour}:00:00Z",
                total=total,
                price=total,
                quantity=1,
                product_id=f"PROD-{i:03d}",
            )
        ).encode()
        for i, total in orders.items()
        for status, hour in (("pending", "08"), ("shipped", "10"))
    ]
    produce(kafka, values, partitions=1)
    run = CliRunner().invoke(cli, ["run"], catch_exceptions=False)
    assert run.exit_code == 0, run.output
    report = CliRunner().invoke(cli, ["validate"], catch_exceptions=False)
    assert report.exit_code == 0, report.output
    assert "FAIL" not in report.output and "1e+300" in report.output, report.output

    spark = spark_session()
    path = settings.table_path(gold_table("top_customers").path)
    top = spark.read.format("delta").load(path).where(F.col("snapshot_date") == today_utc())
    assert [(r.rank, r.total_spent) for r in top.orderBy("rank").collect()] == [
        (1, 1e300),
        (2, 1e35),
        (3, 33.48),
    ]
