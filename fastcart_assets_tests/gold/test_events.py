"""The shared frames: reduced events (earliest per order and status) and per-order facts."""

from __future__ import annotations

from fastcart_assets.gold.events import order_status_events
from fastcart_assets_tests.gold.conftest import D0, D, collect, returned, row


def test_order_status_events_keep_the_earliest_valid_event_ties_to_the_later_ingested(silver):
    rows = [
        # the earliest shipped event wins, though it arrived a day later
        row("O1", "shipped", "2025-11-10 12:00", total=1.0, ingested="2025-11-10 12:01"),
        row("O1", "shipped", "2025-11-10 11:00", total=2.0, ingested="2025-11-11 08:00"),
        # same timestamp: the later ingestion_timestamp wins, whatever the offsets
        row("O2", "pending", "2025-11-10 09:00", total=3.0, ingested="2025-11-10 10:00", offset=9),
        row("O2", "pending", "2025-11-10 09:00", total=4.0, ingested="2025-11-10 11:00", offset=1),
        # same timestamp and ingestion: the higher partition, then the higher offset
        row(
            "O3", "pending", "2025-11-10 09:00", total=5.0, ingested="2025-11-10 10:00", partition=2
        ),
        row(
            "O3", "pending", "2025-11-10 09:00", total=6.0, ingested="2025-11-10 10:00", partition=1
        ),
        row("O4", "pending", "2025-11-10 09:00", total=7.0, ingested="2025-11-10 10:00", offset=3),
        row("O4", "pending", "2025-11-10 09:00", total=8.0, ingested="2025-11-10 10:00", offset=4),
        # an invalid row never counts, even when it is the earliest
        row("O5", "shipped", "2025-11-10 08:00", total=9.0, valid=False),
        row("O5", "shipped", "2025-11-10 23:59:59", total=10.0),
        row("O6", "cancelled", "2025-11-09 00:00", total=11.0),
        row("O7", "confirmed", "2025-11-10 07:00", total=12.0, valid=False),
    ]
    got = [
        (r["order_id"], r["status"], r["timestamp"], r["total"], r["event_date"], r["event_hour"])
        + (r["status_rank"],)
        for r in collect(order_status_events(silver(rows)), "order_id", "status")
    ]
    assert got == [
        ("O1", "shipped", returned("2025-11-10 11:00"), 2.0, D, 11, 4),
        ("O2", "pending", returned("2025-11-10 09:00"), 4.0, D, 9, 1),
        ("O3", "pending", returned("2025-11-10 09:00"), 5.0, D, 9, 1),
        ("O4", "pending", returned("2025-11-10 09:00"), 8.0, D, 9, 1),
        ("O5", "shipped", returned("2025-11-10 23:59:59"), 10.0, D, 23, 4),
        ("O6", "cancelled", returned("2025-11-09 00:00"), 11.0, D0, 0, 5),
    ]


def test_order_facts(frames):
    _, facts = frames(
        [
            # created the day before it shipped; customer, payment and state of the shipped event
            row("O1", "pending", "2025-11-09 23:00", total=5.0, customer_id="CP", payment="paypal"),
            row("O1", "confirmed", "2025-11-09 23:30", total=5.0, customer_id="CP"),
            row("O1", "shipped", "2025-11-10 01:30", total=6.0, customer_id="CS", state="NY"),
            # no pending event: never created, no processing time
            row("O2", "shipped", "2025-11-10 10:00", total=7.0, payment=None, state=None),
            # shipped before pending: completed, processing time excluded
            row("O3", "shipped", "2025-11-10 09:00", total=8.0),
            row("O3", "pending", "2025-11-10 10:00", total=8.0),
            # cancelled, never shipped
            row("O4", "pending", "2025-11-10 11:00", total=9.0),
            row("O4", "cancelled", "2025-11-10 12:00", total=9.0),
            # half a minute
            row("O5", "pending", "2025-11-10 13:00:00", total=1.0),
            row("O5", "shipped", "2025-11-10 13:00:30", total=1.0),
            # shipped at the very instant of pending: zero minutes
            row("O6", "pending", "2025-11-10 14:00", total=2.0),
            row("O6", "shipped", "2025-11-10 14:00", total=2.0),
        ]
    )
    got = [
        (
            r["order_id"],
            r["order_date"],
            r["created_date"],
            r["pending_total"],
            r["pending_payment_method"],
            r["shipped_date"],
            r["shipped_hour"],
            r["amount"],
            r["customer_id"],
            r["payment_method"],
            r["shipping_state"],
            r["is_cancelled"],
            r["processing_minutes"],
        )
        for r in collect(facts, "order_id")
    ]
    cc = "credit_card"
    assert got == [
        ("O1", D0, D0, 5.0, "paypal", D, 1, 6.0, "CS", cc, "NY", False, 150.0),
        ("O2", D, None, None, None, D, 10, 7.0, "C1", None, None, False, None),
        ("O3", D, D, 8.0, cc, D, 9, 8.0, "C1", cc, "CA", False, None),
        ("O4", D, D, 9.0, cc, None, None, None, None, None, None, True, None),
        ("O5", D, D, 1.0, cc, D, 13, 1.0, "C1", cc, "CA", False, 0.5),
        ("O6", D, D, 2.0, cc, D, 14, 2.0, "C1", cc, "CA", False, 0.0),
    ]
    first = collect(facts.where("order_id = 'O1'"))[0]
    assert (first["created_at"], first["shipped_at"], first["customer_email"]) == (
        returned("2025-11-09 23:00"),
        returned("2025-11-10 01:30"),
        "cs@example.org",
    )
