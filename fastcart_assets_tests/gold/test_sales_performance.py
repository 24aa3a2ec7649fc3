"""The six sales-performance tables on one hand-built day, expected values written out."""

from __future__ import annotations

from datetime import date

import pytest
from pytest import approx

from fastcart_assets.gold import sales_performance as sp
from fastcart_assets_tests.gold.conftest import D, collect, row

D0, D2 = date(2025, 11, 9), date(2025, 11, 11)

DAY = [
    # O1: created 09:10, shipped 13:40 (270 min)
    row("O1", "pending", "2025-11-10 09:10", total=20, quantity=2, product_id="P1"),
    row("O1", "confirmed", "2025-11-10 09:20", total=20, quantity=2, product_id="P1"),
    row("O1", "shipped", "2025-11-10 13:40", total=20, quantity=2, product_id="P1"),
    # O2: shipped twice; the earliest (13:10) is the event
    row(
        "O2",
        "pending",
        "2025-11-10 09:50",
        total=30,
        product_id="P2",
        customer_id="C2",
        payment="paypal",
        state="NY",
    ),
    row(
        "O2",
        "shipped",
        "2025-11-10 13:10",
        total=30,
        product_id="P2",
        customer_id="C2",
        payment="paypal",
        state="NY",
    ),
    row(
        "O2",
        "shipped",
        "2025-11-10 16:00",
        total=31,
        product_id="P2",
        customer_id="C2",
        payment="paypal",
        state="NY",
        offset=5,
    ),
    # O3: created 10:00, cancelled 11:00
    row("O3", "pending", "2025-11-10 10:00", total=12, product_id="P1"),
    row("O3", "cancelled", "2025-11-10 11:00", total=12, product_id="P1"),
    # O4: no pending event; shipped 13:30; its product name is the latest of P2 on D
    row(
        "O4",
        "shipped",
        "2025-11-10 13:30",
        total=30,
        price=10,
        quantity=3,
        product_id="P2",
        product_name="P2 renamed",
        customer_id="C3",
        payment=None,
        state=None,
    ),
    # O5: shipped (14:00) before pending (15:00): no processing time
    row(
        "O5",
        "shipped",
        "2025-11-10 14:00",
        total=50,
        price=10,
        quantity=5,
        product_id="P3",
        customer_id="C2",
        payment=None,
    ),
    row(
        "O5",
        "pending",
        "2025-11-10 15:00",
        total=50,
        price=10,
        quantity=5,
        product_id="P3",
        customer_id="C2",
        payment=None,
    ),
    # O6: created the day before (late-arriving shipment counts on its own date)
    row("O6", "pending", "2025-11-09 23:00", total=40, price=10, quantity=4, product_id="P3"),
    row("O6", "shipped", "2025-11-10 10:00", total=40, price=10, quantity=4, product_id="P3"),
    # O8: processing and cancelled at the same instant: cancelled is the later stage
    row("O8", "pending", "2025-11-10 17:00", total=5, product_id="P1", customer_id="C4"),
    row("O8", "processing", "2025-11-10 18:00", total=5, product_id="P1", customer_id="C4"),
    row("O8", "cancelled", "2025-11-10 18:00", total=5, product_id="P1", customer_id="C4"),
    # an invalid row never counts
    row("O7", "shipped", "2025-11-10 19:00", total=999, product_id="P9", valid=False),
]


@pytest.fixture
def day(frames):
    return frames(DAY)


def test_daily_product_revenue(day):
    events, _ = day
    rows = collect(sp.daily_product_revenue(events, [D]), "product_id")
    assert rows == [
        {
            "date": D,
            "product_id": "P1",
            "product_name": "name of P1",
            "total_revenue": 20.0,
            "total_orders": 1,
            "total_quantity_sold": 2,
            "avg_order_value": 20.0,
            "min_price": 10.0,
            "max_price": 10.0,
        },
        {
            "date": D,
            "product_id": "P2",
            "product_name": "P2 renamed",
            "total_revenue": 60.0,
            "total_orders": 2,
            "total_quantity_sold": 4,
            "avg_order_value": 30.0,
            "min_price": 10.0,
            "max_price": 30.0,
        },
        {
            "date": D,
            "product_id": "P3",
            "product_name": "name of P3",
            "total_revenue": 90.0,
            "total_orders": 2,
            "total_quantity_sold": 9,
            "avg_order_value": 45.0,
            "min_price": 10.0,
            "max_price": 10.0,
        },
    ]


def test_hourly_order_trends(day):
    events, facts = day
    rows = collect(sp.hourly_order_trends(events, facts, [D]), "hour")
    got = [
        (
            r["hour"],
            r["orders_created_count"],
            r["orders_completed_count"],
            r["revenue_per_hour"],
            r["avg_processing_time_minutes"],
        )
        for r in rows
    ]
    assert got == [
        (9, 2, 0, 0.0, None),
        (10, 1, 1, 40.0, approx(660.0)),
        (11, 0, 0, 0.0, None),
        (13, 0, 3, 80.0, approx(235.0)),  # O1 270, O2 200, O4 has no pending
        (14, 0, 1, 50.0, None),  # O5 shipped before pending
        (15, 1, 0, 0.0, None),
        (17, 1, 0, 0.0, None),
        (18, 0, 0, 0.0, None),
    ]


def test_order_status_distribution_always_five_statuses(day):
    events, _ = day
    rows = {
        r["status"]: r
        for r in collect(sp.order_status_distribution(events, [D, D2]), "status")
        if r["date"] == D
    }
    got = {
        s: (r["status_count"], r["status_percentage"], r["total_revenue_by_status"])
        for s, r in rows.items()
    }
    assert got == {
        "pending": (1, approx(100 / 7), 50.0),  # O5's latest event on D is pending
        "confirmed": (0, 0.0, 0.0),
        "processing": (0, 0.0, 0.0),
        "shipped": (4, approx(400 / 7), 120.0),  # O1 20, O2 30, O4 30, O6 40
        "cancelled": (2, approx(200 / 7), 17.0),  # O3 12, O8 5 (tie goes to cancelled)
    }
    empty = [r for r in collect(sp.order_status_distribution(events, [D2]), "status")]
    assert [
        (r["status_count"], r["status_percentage"], r["total_revenue_by_status"]) for r in empty
    ] == [(0, None, 0.0)] * 5


def test_conversion_metrics(day):
    _, facts = day
    rows = collect(sp.conversion_metrics(facts, [D0, D, D2]), "date")
    assert [
        (
            r["date"],
            r["total_orders_created"],
            r["total_orders_shipped"],
            r["total_orders_cancelled"],
            r["conversion_rate"],
            r["cancellation_rate"],
        )
        for r in rows
    ] == [
        (D0, 1, 1, 0, 100.0, 0.0),
        (D, 5, 3, 2, 60.0, 40.0),  # O1 O2 O3 O5 O8; shipped O1 O2 O5; cancelled O3 O8
        (D2, 0, 0, 0, None, None),
    ]


def test_payment_method_revenue(day):
    _, facts = day
    rows = collect(sp.payment_method_revenue(facts, [D]), "payment_method")
    assert [
        (
            r["payment_method"],
            r["total_revenue"],
            r["order_count"],
            r["avg_order_value"],
            r["payment_method_percentage"],
        )
        for r in rows
    ] == [
        (None, 50.0, 1, 50.0, 20.0),
        ("credit_card", 37.0, 3, approx(37 / 3), 60.0),
        ("paypal", 30.0, 1, 30.0, 20.0),
    ]


def test_top_products_by_revenue_and_quantity(day):
    events, _ = day
    rows = collect(sp.top_products(events, [D]), "ranking", "rank")
    assert [
        (r["ranking"], r["rank"], r["product_id"], r["total_revenue"], r["quantity_sold"])
        for r in rows
    ] == [
        ("quantity", 1, "P3", 90.0, 9),
        ("quantity", 2, "P2", 60.0, 4),
        ("quantity", 3, "P1", 20.0, 2),
        ("revenue", 1, "P3", 90.0, 9),
        ("revenue", 2, "P2", 60.0, 4),
        ("revenue", 3, "P1", 20.0, 2),
    ]


def test_top_products_ties_use_cents_then_smaller_id_nulls_last(frames):
    events, _ = frames(
        [
            row("A", "shipped", "2025-11-10 10:00", total=10.004, product_id="PB"),
            row("B", "shipped", "2025-11-10 10:00", total=10.001, product_id="PA"),
            row("C", "shipped", "2025-11-10 10:00", total=10.0, product_id=None),
            row("D", "shipped", "2025-11-10 10:00", total=10.02, product_id="PZ"),
        ]
    )
    rows = collect(sp.top_products(events, [D]).where("ranking = 'revenue'"), "rank")
    assert [(r["rank"], r["product_id"]) for r in rows] == [
        (1, "PZ"),
        (2, "PA"),
        (3, "PB"),
        (4, None),
    ]
    assert rows[2]["total_revenue"] == 10.004  # reported money is not rounded
