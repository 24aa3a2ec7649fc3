"""The six sales-performance tables on hand-built days, expected values written out."""

from __future__ import annotations

import pytest
from pytest import approx

from fastcart_assets.gold import sales_performance as sp
from fastcart_assets.gold import schemas
from fastcart_assets_tests.gold.conftest import D0, D2, D, collect, columns, row

P2 = {"product_id": "P2", "customer_id": "C2", "payment": "paypal", "state": "NY"}
O5 = {"total": 50, "price": 10, "quantity": 5, "product_id": "P3", "payment": None}
O6 = {"total": 40, "price": 10, "quantity": 4, "product_id": "P3"}
O8 = {"total": 5, "customer_id": "C4"}

DAY = [
    # O1: created 09:10, shipped 13:40 (270 min)
    row("O1", "pending", "2025-11-10 09:10", total=20, quantity=2),
    row("O1", "confirmed", "2025-11-10 09:20", total=20, quantity=2),
    row("O1", "shipped", "2025-11-10 13:40", total=20, quantity=2),
    # O2: shipped twice; the earliest (13:10) is the event though it arrived last
    row("O2", "pending", "2025-11-10 09:50", total=30, **P2),
    row("O2", "shipped", "2025-11-10 13:10", total=30, ingested="2025-11-11 06:00", **P2),
    row("O2", "shipped", "2025-11-10 16:00", total=31, **P2),
    # O3: created 10:00, cancelled 11:00
    row("O3", "pending", "2025-11-10 10:00", total=12),
    row("O3", "cancelled", "2025-11-10 11:00", total=12),
    # O4: no pending event; shipped 13:30, the latest P2 shipment, so P2's name is its name
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
    # O5: shipped (14:00) before pending (15:00): no processing time; null payment method
    row("O5", "shipped", "2025-11-10 14:00", **O5),
    row("O5", "pending", "2025-11-10 15:00", **O5),
    # O6: created the day before, shipped on D (660 min)
    row("O6", "pending", "2025-11-09 23:00", **O6),
    row("O6", "shipped", "2025-11-10 10:00", **O6),
    # O8: processing and cancelled at the same instant: cancelled is the later stage
    row("O8", "pending", "2025-11-10 17:00", **O8),
    row("O8", "processing", "2025-11-10 18:00", **O8),
    row("O8", "cancelled", "2025-11-10 18:00", **O8),
    # an invalid row never counts
    row("O7", "shipped", "2025-11-10 19:00", total=999, product_id="P9", valid=False),
    # a late event: shipped on D0, ingested two days later, counts on D0
    row("O9", "shipped", "2025-11-09 21:00", total=15, ingested="2025-11-11 08:00"),
]


@pytest.fixture
def day(frames):
    return frames(DAY)


def test_daily_product_revenue(day):
    events, _ = day
    table = sp.daily_product_revenue(events, [D0, D])
    assert columns(table.schema) == columns(schemas.DAILY_PRODUCT_REVENUE)
    got = [tuple(r.values()) for r in collect(table, "date", "product_id")]
    assert got == [
        (D0, "P1", "name of P1", 15.0, 1, 1, 15.0, 15.0, 15.0),
        (D, "P1", "name of P1", 20.0, 1, 2, 20.0, 10.0, 10.0),
        (D, "P2", "P2 renamed", 60.0, 2, 4, 30.0, 10.0, 30.0),
        (D, "P3", "name of P3", 90.0, 2, 9, 45.0, 10.0, 10.0),
    ]


def test_daily_product_revenue_names_from_the_latest_shipment_ties_to_higher_order(frames):
    events, _ = frames(
        [
            row("A", "shipped", "2025-11-10 12:00", product_id="PX", product_name="from A"),
            row("B", "shipped", "2025-11-10 12:00", product_id="PX", product_name="from B"),
            row("C", "shipped", "2025-11-10 11:00", product_id="PX", product_name="from C"),
            row("D", "shipped", "2025-11-10 12:00", product_id="PY", product_name=None),
            row("E", "shipped", "2025-11-10 09:00", product_id="PY", product_name="older"),
            row("F", "shipped", "2025-11-10 09:00", product_id=None, total=3.0),
        ]
    )
    rows = collect(sp.daily_product_revenue(events, [D]), "product_id")
    assert [(r["product_id"], r["product_name"], r["total_revenue"]) for r in rows] == [
        (None, "name of None", 3.0),  # a null product is a group of its own
        ("PX", "from B", 30.0),
        ("PY", None, 20.0),  # the latest event's null name stays null
    ]


def test_hourly_order_trends(day):
    events, facts = day
    table = sp.hourly_order_trends(events, facts, [D0, D])
    assert columns(table.schema) == columns(schemas.HOURLY_ORDER_TRENDS)
    got = [tuple(r.values()) for r in collect(table, "date", "hour")]
    assert got == [
        (D0, 21, 0, 1, 15.0, None),  # the late O9: no pending event
        (D0, 23, 1, 0, 0.0, None),
        (D, 9, 2, 0, 0.0, None),
        (D, 10, 1, 1, 40.0, 660.0),
        (D, 11, 0, 0, 0.0, None),
        (D, 13, 0, 3, 80.0, 235.0),  # O1 270, O2 200, O4 has no pending
        (D, 14, 0, 1, 50.0, None),  # O5 shipped before pending
        (D, 15, 1, 0, 0.0, None),
        # no 16:00: O2's second shipment is not its event; no 19:00: O7 is invalid
        (D, 17, 1, 0, 0.0, None),
        (D, 18, 0, 0, 0.0, None),
    ]


def test_order_status_distribution_always_five_statuses(day):
    events, _ = day
    table = sp.order_status_distribution(events, [D0, D, D2])
    assert columns(table.schema) == columns(schemas.ORDER_STATUS_DISTRIBUTION)
    rows = collect(table, "date", "status")
    got = {
        (r["date"], r["status"]): (r["status_count"], r["total_revenue_by_status"]) for r in rows
    }
    assert got == {
        (D0, "cancelled"): (0, 0.0),
        (D0, "confirmed"): (0, 0.0),
        (D0, "pending"): (1, 40.0),  # O6
        (D0, "processing"): (0, 0.0),
        (D0, "shipped"): (1, 15.0),  # O9
        (D, "cancelled"): (2, 17.0),  # O3 12, O8 5 (the 18:00 tie goes to cancelled)
        (D, "confirmed"): (0, 0.0),
        (D, "pending"): (1, 50.0),  # O5's latest event on D is its pending
        (D, "processing"): (0, 0.0),
        (D, "shipped"): (4, 120.0),  # O1 20, O2 30, O4 30, O6 40
        (D2, "cancelled"): (0, 0.0),
        (D2, "confirmed"): (0, 0.0),
        (D2, "pending"): (0, 0.0),
        (D2, "processing"): (0, 0.0),
        (D2, "shipped"): (0, 0.0),
    }
    share = {(r["date"], r["status"]): r["status_percentage"] for r in rows}
    assert [share[(D, s)] for s in ("pending", "confirmed", "processing", "shipped")] == [
        approx(100 / 7),
        0.0,
        0.0,
        approx(400 / 7),
    ]
    assert share[(D, "cancelled")] == approx(200 / 7)
    assert sum(v for (d, _), v in share.items() if d == D) == approx(100.0)
    assert (share[(D0, "pending")], share[(D0, "shipped")]) == (50.0, 50.0)
    assert [v for (d, _), v in share.items() if d == D2] == [None] * 5


def test_conversion_metrics(day):
    _, facts = day
    table = sp.conversion_metrics(facts, [D0, D, D2])
    assert columns(table.schema) == columns(schemas.CONVERSION_METRICS)
    assert [tuple(r.values()) for r in collect(table, "date")] == [
        (D0, 1, 1, 0, 100.0, 0.0),  # O6 (O9 has no pending event)
        (D, 5, 3, 2, 60.0, 40.0),  # O1 O2 O3 O5 O8; shipped O1 O2 O5; cancelled O3 O8
        (D2, 0, 0, 0, None, None),
    ]


def test_payment_method_revenue(day):
    _, facts = day
    table = sp.payment_method_revenue(facts, [D, D2])
    assert columns(table.schema) == columns(schemas.PAYMENT_METHOD_REVENUE)
    got = [tuple(r.values()) for r in collect(table, "date", "payment_method")]
    assert got == [
        (D, None, 50.0, 1, 50.0, 20.0),  # O5: a null payment method is its own group
        (D, "credit_card", 37.0, 3, approx(37 / 3), 60.0),  # O1 20, O3 12, O8 5
        (D, "paypal", 30.0, 1, 30.0, 20.0),
    ]


def test_top_products_by_revenue_and_quantity(day):
    events, _ = day
    table = sp.top_products(events, [D])
    assert columns(table.schema) == columns(schemas.TOP_PRODUCTS)
    got = [tuple(r.values()) for r in collect(table, "ranking", "rank")]
    assert got == [
        (D, "quantity", 1, "P3", "name of P3", 90.0, 9),
        (D, "quantity", 2, "P2", "P2 renamed", 60.0, 4),
        (D, "quantity", 3, "P1", "name of P1", 20.0, 2),
        (D, "revenue", 1, "P3", "name of P3", 90.0, 9),
        (D, "revenue", 2, "P2", "P2 renamed", 60.0, 4),
        (D, "revenue", 3, "P1", "name of P1", 20.0, 2),
    ]


def test_top_products_ties_use_cents_then_smaller_id_nulls_last(frames):
    events, _ = frames(
        [
            row("A", "shipped", "2025-11-10 10:00", total=10.004, quantity=2, product_id="PB"),
            row("B", "shipped", "2025-11-10 10:00", total=10.001, quantity=2, product_id="PA"),
            row("C", "shipped", "2025-11-10 10:00", total=10.0, quantity=2, product_id=None),
            row("D", "shipped", "2025-11-10 10:00", total=10.02, quantity=1, product_id="PZ"),
            # 1.005 is 1.01 to the cent (half up), level with PD's 1.01
            row("E", "shipped", "2025-11-10 10:00", total=1.01, quantity=1, product_id="PD"),
            row("F", "shipped", "2025-11-10 10:00", total=1.005, quantity=1, product_id="PC"),
        ]
    )
    rows = collect(sp.top_products(events, [D]), "ranking", "rank")
    got = [(r["ranking"], r["rank"], r["product_id"], r["total_revenue"]) for r in rows]
    assert got == [
        ("quantity", 1, "PA", 10.001),
        ("quantity", 2, "PB", 10.004),
        ("quantity", 3, None, 10.0),
        ("quantity", 4, "PC", 1.005),
        ("quantity", 5, "PD", 1.01),
        ("quantity", 6, "PZ", 10.02),
        ("revenue", 1, "PZ", 10.02),
        ("revenue", 2, "PA", 10.001),
        ("revenue", 3, "PB", 10.004),  # reported money is not rounded
        ("revenue", 4, None, 10.0),
        ("revenue", 5, "PC", 1.005),
        ("revenue", 6, "PD", 1.01),
    ]


def test_top_products_keeps_ten_per_ranking_and_day(frames):
    events, _ = frames(
        [
            row(f"O{i}-{day}", "shipped", f"2025-11-{day} 10:00", total=i, product_id=f"P{i:02d}")
            for i in range(1, 13)
            for day in (10, 11)
        ]
    )
    rows = collect(sp.top_products(events, [D, D2]).where("ranking = 'revenue'"), "date", "rank")
    assert [(r["date"], r["rank"], r["product_id"]) for r in rows if r["date"] == D] == [
        (D, 1, "P12"),
        (D, 2, "P11"),
        (D, 3, "P10"),
        (D, 4, "P09"),
        (D, 5, "P08"),
        (D, 6, "P07"),
        (D, 7, "P06"),
        (D, 8, "P05"),
        (D, 9, "P04"),
        (D, 10, "P03"),
    ]
    assert len(rows) == 20
