"""The six customer-analytics tables on hand-built snapshots, expected values written out."""

from __future__ import annotations

from datetime import date

import pytest
from pytest import approx

from fastcart_assets.gold import customer_analytics as ca
from fastcart_assets.gold import schemas
from fastcart_assets_tests.gold.conftest import D0, EMPTY, D, collect, columns, row

SNAPSHOTS = [EMPTY, D0, D]
REVENUE_D = 1989.996  # every completed order shipped on or before D


def shipped(order_id: str, customer_id: str, total: float, **fields) -> tuple:
    """A completed order with no pending event, shipped on D at 10:00."""
    return row(
        order_id, "shipped", "2025-11-10 10:00", total=total, customer_id=customer_id, **fields
    )


ORDERS = [
    # C1: two orders; the customer, payment and state are the shipped event's
    row("A1", "pending", "2025-11-08 10:00", total=20, customer_id="CX", state="WA"),
    row("A1", "shipped", "2025-11-09 12:00", total=20, payment="paypal", email="old@example.org"),
    row("A2", "pending", "2025-11-10 08:00", total=40),
    row("A2", "shipped", "2025-11-10 09:00", total=40, email="new@example.org"),
    # segment bounds on the total rounded to cents
    shipped("B1", "C100", 100.0, state="NY"),  # medium
    shipped("B2", "C500", 500.0, state="NY"),  # medium
    shipped("B3", "C100004", 100.004, state="TX"),  # 100.00: medium
    shipped("B4", "C499996", 499.996, state="TX"),  # 500.00: medium
    shipped("B5", "C500006", 500.006, state="TX", payment=None),  # 500.01: high
    shipped("B6", "C99996", 99.996, state=None),  # 100.00: medium
    shipped("B7", "C99994", 99.994, state=None),  # 99.99: low
    # a late event: shipped on D0, ingested on D+1, belongs to snapshot D0 onwards
    row(
        "L1", "shipped", "2025-11-09 20:00", total=30, customer_id="CL", ingested="2025-11-11 08:00"
    ),
    # not completed by D: pending only; shipped after D; an invalid shipment
    row("X1", "pending", "2025-11-10 11:00", total=70, customer_id="C7"),
    row("X2", "shipped", "2025-11-11 11:00", total=80, customer_id="C8"),
    shipped("X3", "C9", 900.0, valid=False),
]


@pytest.fixture
def snapshot(frames):
    _, facts = frames(ORDERS)
    completed = ca.completed_by_snapshot(facts, SNAPSHOTS)
    return completed, ca.customers(completed)


def test_top_customers(snapshot):
    _, totals = snapshot
    table = ca.top_customers(totals)
    assert columns(table.schema) == columns(schemas.TOP_CUSTOMERS)
    rows = collect(table, "snapshot_date", "rank")
    assert [(r["snapshot_date"], r["rank"], r["customer_id"], r["total_spent"]) for r in rows] == [
        (D0, 1, "CL", 30.0),
        (D0, 2, "C1", 20.0),
        (D, 1, "C500006", 500.006),
        (D, 2, "C499996", 499.996),  # 500.00 to the cent, level with C500: smaller id first
        (D, 3, "C500", 500.0),
        (D, 4, "C100", 100.0),  # C100, C100004, C99996 are all 100.00
        (D, 5, "C100004", 100.004),
        (D, 6, "C99996", 99.996),
        (D, 7, "C99994", 99.994),
        (D, 8, "C1", 60.0),
        (D, 9, "CL", 30.0),
    ]
    c1 = {r["snapshot_date"]: r for r in rows if r["customer_id"] == "C1"}
    columns_of_c1 = [
        "customer_email",
        "order_count",
        "avg_order_value",
        "first_order_date",
        "last_order_date",
        "customer_tenure_days",
    ]
    assert [c1[D][c] for c in columns_of_c1] == [
        "new@example.org",
        2,
        30.0,
        date(2025, 11, 8),  # A1's order date is its pending event's
        D,
        2,
    ]
    assert [c1[D0][c] for c in columns_of_c1] == [
        "old@example.org",
        1,
        20.0,
        date(2025, 11, 8),
        date(2025, 11, 8),
        1,
    ]


def test_top_customers_keeps_twenty_and_email_ties_go_to_higher_order(frames):
    rows = [shipped(f"O{i:02d}", f"C{i:02d}", float(i)) for i in range(1, 23)]
    rows += [
        # C22: two shipments at the same instant; the higher order_id's email wins
        shipped("Z1", "C22", 1.0, email="z1@example.org"),
        shipped("Z2", "C22", 1.0, email="z2@example.org"),
        # C21: the latest shipment has no email: it stays null
        row("Y1", "shipped", "2025-11-10 11:00", total=1.0, customer_id="C21", email=None),
    ]
    _, facts = frames(rows)
    totals = ca.customers(ca.completed_by_snapshot(facts, [D]))
    top = collect(ca.top_customers(totals), "rank")
    assert [(r["rank"], r["customer_id"]) for r in top[:3]] == [(1, "C22"), (2, "C21"), (3, "C20")]
    assert [(r["rank"], r["customer_id"]) for r in top[-1:]] == [(20, "C03")]
    assert (top[0]["customer_email"], top[0]["total_spent"], top[0]["order_count"]) == (
        "z2@example.org",
        24.0,
        3,
    )
    assert top[1]["customer_email"] is None


def test_customer_segments_bounds_and_always_three(snapshot):
    _, totals = snapshot
    table = ca.customer_segments(totals, SNAPSHOTS)
    assert columns(table.schema) == columns(schemas.CUSTOMER_SEGMENTS)
    rows = {(r["snapshot_date"], r["segment"]): r for r in collect(table)}
    got = {
        key: (r["customer_count"], r["total_revenue"], r["avg_customer_value"])
        for key, r in rows.items()
    }
    assert got == {
        (EMPTY, "high_value"): (0, 0.0, None),
        (EMPTY, "medium_value"): (0, 0.0, None),
        (EMPTY, "low_value"): (0, 0.0, None),
        (D0, "high_value"): (0, 0.0, None),
        (D0, "medium_value"): (0, 0.0, None),
        (D0, "low_value"): (2, 50.0, 25.0),  # C1 20, CL 30
        (D, "high_value"): (1, 500.006, 500.006),
        # C100, C500, C100004, C499996, C99996
        (D, "medium_value"): (5, approx(1299.996), approx(259.9992)),
        (D, "low_value"): (3, approx(189.994), approx(189.994 / 3)),  # C1 60, C99994, CL 30
    }
    share = {key: r["segment_percentage"] for key, r in rows.items()}
    assert [share[(D, s)] for s in ca.SEGMENTS] == [
        approx(100 / 9),
        approx(500 / 9),
        approx(300 / 9),
    ]
    assert [share[(D0, s)] for s in ca.SEGMENTS] == [0.0, 0.0, 100.0]
    assert [share[(EMPTY, s)] for s in ca.SEGMENTS] == [None, None, None]


def test_payment_method_preferences(snapshot):
    completed, _ = snapshot
    table = ca.payment_method_preferences(completed)
    assert columns(table.schema) == columns(schemas.PAYMENT_METHOD_PREFERENCES)
    got = [tuple(r.values()) for r in collect(table, "snapshot_date", "payment_method")]
    assert got == [
        (D0, "credit_card", 1, 50.0, 30.0, 30.0),  # L1
        (D0, "paypal", 1, 50.0, 20.0, 20.0),  # A1, whose pending event was credit_card
        (D, None, 1, 10.0, 500.006, 500.006),  # B5
        (D, "credit_card", 8, 80.0, approx(183.74875), approx(1469.99)),
        (D, "paypal", 1, 10.0, 20.0, 20.0),
    ]


def test_geographic_analysis(snapshot):
    completed, _ = snapshot
    table = ca.geographic_analysis(completed)
    assert columns(table.schema) == columns(schemas.GEOGRAPHIC_ANALYSIS)
    got = [tuple(r.values()) for r in collect(table, "snapshot_date", "rank")]
    assert got == [
        (D0, 1, "CA", 2, 50.0, 25.0, 2),  # A1 shipped to CA (its pending said WA), L1
        (D, 1, "CA", 3, 90.0, 30.0, 2),  # A1, A2 (C1), L1 (CL)
        (D, 2, "TX", 3, approx(1100.006), approx(1100.006 / 3), 3),
        (D, 3, "NY", 2, 600.0, 300.0, 2),
        (D, 4, None, 2, approx(199.99), approx(99.995), 2),  # a null state ranks last
    ]


def test_geographic_analysis_keeps_ten_states(frames):
    rows = [
        shipped(f"O{s}-{n}", f"C{s}", 1.0, state=f"S{s:02d}")
        for s in range(1, 12)
        for n in range(12 - s)
    ]
    _, facts = frames(rows)
    table = ca.geographic_analysis(ca.completed_by_snapshot(facts, [D]))
    got = [
        (r["rank"], r["shipping_state"], r["order_count_by_state"]) for r in collect(table, "rank")
    ]
    assert got == [
        (1, "S01", 11),
        (2, "S02", 10),
        (3, "S03", 9),
        (4, "S04", 8),
        (5, "S05", 7),
        (6, "S06", 6),
        (7, "S07", 5),
        (8, "S08", 4),
        (9, "S09", 3),
        (10, "S10", 2),
    ]


def test_customer_retention(snapshot):
    _, totals = snapshot
    table = ca.customer_retention(totals, SNAPSHOTS)
    assert columns(table.schema) == columns(schemas.CUSTOMER_RETENTION)
    got = [tuple(r.values()) for r in collect(table, "snapshot_date")]
    assert got == [
        (EMPTY, 0, 0, None, 0.0, None),
        (D0, 0, 2, 0.0, 0.0, 0.0),
        (D, 1, 8, approx(100 / 9), 60.0, approx(60 / REVENUE_D * 100)),  # C1 repeats
    ]


def test_processing_time_by_segment(snapshot):
    completed, totals = snapshot
    table = ca.processing_time_by_segment(completed, totals, SNAPSHOTS)
    assert columns(table.schema) == columns(schemas.PROCESSING_TIME_BY_SEGMENT)
    got = [tuple(r.values()) for r in collect(table, "snapshot_date", "customer_segment")]
    # Only C1's orders have a pending event: A1 1560 min (from the 8th), A2 60 min.
    assert got == [
        (EMPTY, "high_value", None, None, None, None),
        (EMPTY, "low_value", None, None, None, None),
        (EMPTY, "medium_value", None, None, None, None),
        (D0, "high_value", None, None, None, None),
        (D0, "low_value", 1560.0, 1560.0, 1560.0, 1560.0),
        (D0, "medium_value", None, None, None, None),
        (D, "high_value", None, None, None, None),
        (D, "low_value", 810.0, 810.0, 60.0, 1560.0),
        (D, "medium_value", None, None, None, None),
    ]


def test_processing_time_median_is_exact(frames):
    orders = []
    # a low-value customer with four timed orders: 10, 20, 40, 100 minutes -> median 30
    for i, minutes in enumerate((10, 20, 40, 100)):
        orders += [
            row(f"L{i}", "pending", "2025-11-10 08:00", total=5, customer_id="CL"),
            row(
                f"L{i}",
                "shipped",
                f"2025-11-10 {8 + minutes // 60:02d}:{minutes % 60:02d}",
                total=5,
                customer_id="CL",
            ),
        ]
    # a high-value customer with three: 1, 2, 6 minutes -> median 2
    for i, minutes in enumerate((6, 1, 2)):
        orders += [
            row(f"H{i}", "pending", "2025-11-10 08:00", total=200, customer_id="CH"),
            row(f"H{i}", "shipped", f"2025-11-10 08:{minutes:02d}", total=200, customer_id="CH"),
        ]
    # shipped before pending: a completed order with no processing time
    orders += [
        row("Q", "shipped", "2025-11-10 07:00", total=5, customer_id="CL"),
        row("Q", "pending", "2025-11-10 09:00", total=5, customer_id="CL"),
    ]
    _, facts = frames(orders)
    completed = ca.completed_by_snapshot(facts, [D])
    table = ca.processing_time_by_segment(completed, ca.customers(completed), [D])
    got = [tuple(r.values())[1:] for r in collect(table, "customer_segment")]
    assert got == [
        ("high_value", 3.0, 2.0, 1.0, 6.0),
        ("low_value", 42.5, 30.0, 10.0, 100.0),
        ("medium_value", None, None, None, None),
    ]
