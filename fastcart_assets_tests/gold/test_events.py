"""The shared frames: reduced events (earliest per order and status) and per-order facts."""

from __future__ import annotations

from datetime import date, timedelta

from fastcart_assets.gold.build import shared_frames
from fastcart_assets.gold.events import (
    order_status_events,
    orders_shipped_by,
    orders_with_an_event_on,
)
from fastcart_assets.gold.registry import GROUPS, tables_of
from fastcart_assets_tests.gold.conftest import D0, D2, D, collect, returned, row


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


# Orders around D: spanning midnight, invalid only, shipped late, shipped invalidly.
AROUND_D = [
    row("A", "pending", "2025-11-09 23:30"),
    row("A", "shipped", "2025-11-10 00:10", customer_id="C2"),
    row("B", "pending", "2025-11-10 23:59:59.999"),
    row("B", "shipped", "2025-11-11 00:00", customer_id="C3"),
    row("C", "pending", "2025-11-10 12:00", valid=False),
    row("C", "shipped", "2025-11-11 09:00"),
    row("E", "pending", "2025-11-08 12:00"),
    row("E", "shipped", "2025-11-09 12:00", valid=False),
    row("E", "shipped", "2025-11-12 12:00"),
    row("F", "pending", "2025-11-07 12:00"),
    row("F", "shipped", "2025-11-07 13:00", customer_id="C4"),
]


def _ids(frame) -> list[str]:
    return sorted(r.order_id for r in frame.collect())


def test_orders_with_an_event_on_a_date_are_those_with_a_valid_event_that_day(silver):
    rows = silver(AROUND_D)
    assert _ids(orders_with_an_event_on(rows, [D])) == ["A", "B"]
    assert _ids(orders_with_an_event_on(rows, [D0, D2])) == ["A", "B", "C"]


def test_orders_shipped_by_a_date_are_those_with_a_valid_shipped_event_by_then(silver):
    rows = silver(AROUND_D)
    assert _ids(orders_shipped_by(rows, [D0])) == ["F"]
    assert _ids(orders_shipped_by(rows, [D0, D])) == ["A", "F"]
    assert _ids(orders_shipped_by(rows, [D2])) == ["A", "B", "C", "F"]


def test_every_gold_table_of_a_date_is_the_same_from_the_orders_its_group_selects(
    spark, silver, tmp_path
):
    """Each date's tables built from only the selected orders equal those built from all."""
    path = str(tmp_path / "silver")
    silver(AROUND_D).write.format("delta").save(path)
    dates = [date(2025, 11, 7) + timedelta(days=n) for n in range(6)]
    for day in dates:
        for group in GROUPS:
            with (
                shared_frames(spark, path, str(tmp_path / "a")) as every,
                shared_frames(spark, path, str(tmp_path / "b"), group.orders, [day]) as some,
            ):
                for table in tables_of(group):
                    built = [sorted(table.build(s, [day]).collect()) for s in (every, some)]
                    assert built[0] == built[1], (table.name, day)
