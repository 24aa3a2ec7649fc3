"""The six customer-analytics tables on hand-built snapshots, expected values written out."""

from __future__ import annotations

from datetime import date

import pytest
from pytest import approx

from fastcart_assets.gold import customer_analytics as ca
from fastcart_assets_tests.gold.conftest import D, collect, row

D0 = date(2025, 11, 9)

# Completed orders (a shipped event) per customer; C-EDGE totals test the segment bounds.
ORDERS = [
    # C1: two orders, 60.00 in all (one-time before D, repeat from D)
    row("A1", "pending", "2025-11-08 10:00", total=20, customer_id="C1", payment="paypal"),
    row(
        "A1",
        "shipped",
        "2025-11-09 12:00",
        total=20,
        customer_id="C1",
        payment="paypal",
        email="old@example.org",
    ),
    row("A2", "pending", "2025-11-10 08:00", total=40, customer_id="C1"),
    row("A2", "shipped", "2025-11-10 09:00", total=40, customer_id="C1", email="new@example.org"),
    # exactly 100.00 and exactly 500.00: both medium_value
    row("B1", "shipped", "2025-11-10 10:00", total=100.0, customer_id="C100", state="NY"),
    row("B2", "shipped", "2025-11-10 10:00", total=500.0, customer_id="C500", state="NY"),
    # 500.004 rounds to 500.00 (medium); 500.006 rounds to 500.01 (high); 99.996 -> 100.00
    row("B3", "shipped", "2025-11-10 10:00", total=500.004, customer_id="C5004", state="TX"),
    row(
        "B4",
        "shipped",
        "2025-11-10 10:00",
        total=500.006,
        customer_id="C5006",
        state="TX",
        payment=None,
    ),
    row("B5", "shipped", "2025-11-10 10:00", total=99.996, customer_id="C99996", state=None),
    # pending only (not completed) and a shipment after D: outside snapshot D
    row("X1", "pending", "2025-11-10 11:00", total=70, customer_id="C7"),
    row("X2", "shipped", "2025-11-11 11:00", total=80, customer_id="C8"),
]


@pytest.fixture
def snapshot(frames):
    _, facts = frames(ORDERS)
    completed = ca.completed_by_snapshot(facts, [D0, D])
    return completed, ca.customers(completed)


def test_customer_segments_bounds_and_always_three(snapshot):
    _, totals = snapshot
    rows = {
        (r["snapshot_date"], r["segment"]): r
        for r in collect(ca.customer_segments(totals, [D0, D]), "segment")
    }
    assert {k: (r["customer_count"], r["total_revenue"]) for k, r in rows.items() if k[0] == D} == {
        (D, "high_value"): (1, 500.006),
        (D, "medium_value"): (4, approx(1200.0)),  # 100 + 500 + 500.004 + 99.996
        (D, "low_value"): (1, 60.0),
    }
    assert rows[(D, "medium_value")]["avg_customer_value"] == approx(300.0)
    assert rows[(D, "low_value")]["segment_percentage"] == approx(100 / 6)
    assert {k[1]: r["customer_count"] for k, r in rows.items() if k[0] == D0} == {
        "high_value": 0,
        "medium_value": 0,
        "low_value": 1,
    }
    assert rows[(D0, "high_value")]["avg_customer_value"] is None
    assert rows[(D0, "high_value")]["total_revenue"] == 0.0


def test_top_customers(snapshot):
    _, totals = snapshot
    rows = collect(ca.top_customers(totals).where(f"snapshot_date = '{D}'"), "rank")
    assert [(r["rank"], r["customer_id"]) for r in rows] == [
        (1, "C5006"),
        (2, "C500"),
        (3, "C5004"),
        (4, "C100"),
        (5, "C99996"),
        (6, "C1"),
    ]
    c1 = rows[-1]
    assert (
        c1["customer_email"],
        c1["total_spent"],
        c1["order_count"],
        c1["avg_order_value"],
        c1["first_order_date"],
        c1["last_order_date"],
        c1["customer_tenure_days"],
    ) == ("new@example.org", 60.0, 2, 30.0, date(2025, 11, 8), date(2025, 11, 10), 2)
    # C500 and C5004 tie at 500.00 to the cent: the smaller id ranks first
    assert rows[1]["total_spent"] == 500.0 and rows[2]["total_spent"] == 500.004


def test_payment_method_preferences(snapshot):
    completed, _ = snapshot
    rows = collect(
        ca.payment_method_preferences(completed).where(f"snapshot_date = '{D}'"), "payment_method"
    )
    assert [
        (
            r["payment_method"],
            r["payment_method_usage_count"],
            r["payment_method_percentage"],
            r["total_revenue_by_method"],
        )
        for r in rows
    ] == [
        (None, 1, approx(100 / 7), 500.006),
        ("credit_card", 5, approx(500 / 7), approx(1240.0)),
        ("paypal", 1, approx(100 / 7), 20.0),
    ]


def test_geographic_analysis(snapshot):
    completed, _ = snapshot
    rows = collect(ca.geographic_analysis(completed).where(f"snapshot_date = '{D}'"), "rank")
    assert [
        (
            r["rank"],
            r["shipping_state"],
            r["order_count_by_state"],
            r["revenue_by_state"],
            r["unique_customers_by_state"],
        )
        for r in rows
    ] == [
        (1, "CA", 2, 60.0, 1),
        (2, "NY", 2, 600.0, 2),
        (3, "TX", 2, approx(1000.01), 2),
        (4, None, 1, 99.996, 1),
    ]
    assert rows[0]["avg_order_value_by_state"] == 30.0


def test_customer_retention(snapshot):
    _, totals = snapshot
    rows = collect(ca.customer_retention(totals, [D0, D]), "snapshot_date")
    assert [
        (
            r["snapshot_date"],
            r["repeat_customer_count"],
            r["one_time_customer_count"],
            r["repeat_customer_revenue"],
        )
        for r in rows
    ] == [(D0, 0, 1, 0.0), (D, 1, 5, 60.0)]
    assert rows[1]["repeat_customer_percentage"] == approx(100 / 6)
    assert rows[1]["repeat_customer_revenue_percentage"] == approx(60 / 1760.006 * 100)
    assert rows[0]["repeat_customer_percentage"] == 0.0


def test_processing_time_by_segment_median_is_exact(frames):
    # One low-value customer with four timed orders: 10, 20, 40, 100 minutes -> median 30.
    orders = []
    for i, minutes in enumerate((10, 20, 40, 100)):
        orders += [
            row(f"P{i}", "pending", "2025-11-10 08:00", total=5, customer_id="CL"),
            row(
                f"P{i}",
                "shipped",
                f"2025-11-10 {8 + minutes // 60:02d}:{minutes % 60:02d}",
                total=5,
                customer_id="CL",
            ),
        ]
    # shipped before pending: a completed order with no processing time
    orders += [
        row("Q", "shipped", "2025-11-10 07:00", total=5, customer_id="CL"),
        row("Q", "pending", "2025-11-10 09:00", total=5, customer_id="CL"),
    ]
    _, facts = frames(orders)
    completed = ca.completed_by_snapshot(facts, [D])
    rows = {
        r["customer_segment"]: r
        for r in collect(
            ca.processing_time_by_segment(completed, ca.customers(completed), [D]),
            "customer_segment",
        )
    }
    low = rows["low_value"]
    assert (
        low["avg_processing_time_minutes"],
        low["median_processing_time_minutes"],
        low["min_processing_time_minutes"],
        low["max_processing_time_minutes"],
    ) == (approx(42.5), approx(30.0), approx(10.0), approx(100.0))
    assert rows["high_value"]["median_processing_time_minutes"] is None
    assert set(rows) == {"high_value", "medium_value", "low_value"}
