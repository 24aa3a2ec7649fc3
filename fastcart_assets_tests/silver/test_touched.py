"""Touched dates come from valid rows only, per processed partition, inside the partition range;
an event dated before FASTCART_FIRST_DATE is flagged `stale_timestamp` and touches nothing."""

from __future__ import annotations

from datetime import date

import pytest

import fastcart_assets.partitions
from fastcart_assets.silver.writes import process_partitions
from fastcart_assets_tests.helpers import order_event
from fastcart_assets_tests.silver.conftest import D1, D2, NOW, T1, T2

NOV_9, NOV_11 = date(2025, 11, 9), date(2025, 11, 11)
SHIPPED_AT = "2025-11-11T08:00:00Z"


def test_an_event_dated_2001_is_flagged_and_touches_nothing(lake):
    old = {"timestamp": "2001-06-01T10:00:00Z"}
    lake.add_bronze(
        [
            order_event(1, **old),  # pending, well formed, 2001
            order_event(1, status="shipped", timestamp="2001-06-02T10:00:00Z"),
            order_event(2),  # a clean event of Nov 9, 2025
        ],
        D1,
        T1,
    )
    result = lake.process(D1)
    flags = {(r.order_id, r.status): r.dq_failures for r in lake.silver_rows()}
    assert flags == {
        ("ORD-00000001", "pending"): ["stale_timestamp"],
        ("ORD-00000001", "shipped"): ["stale_timestamp"],
        ("ORD-00000002", "pending"): [],
    }
    assert result.flagged_by_rule["stale_timestamp"] == 2
    assert result.touched_dates == [NOV_9]  # neither 2001 date


def test_a_valid_event_of_a_stale_order_does_not_touch_its_creation_date(lake):
    lake.add_bronze([order_event(1, timestamp="2001-06-01T10:00:00Z")], D1, T1)
    lake.process(D1)
    lake.add_bronze([order_event(1, status="shipped", timestamp=SHIPPED_AT)], D2, T2)
    assert lake.process(D2).touched_dates == [NOV_11]  # the 2001 pending event is not valid


@pytest.mark.slow
def test_flagged_rows_touch_nothing_unless_they_replace_a_row(lake, spark):
    lake.add_bronze([order_event(1, status="lost"), order_event(2, total=99.0)], D1, T1)
    result = lake.process(D1)
    assert (result.flagged, result.touched_dates) == (2, [])
    # A later copy of a valid key arrives flagged: the date of the row it replaces is touched.
    lake.add_bronze([order_event(3)], D1, T1, first_offset=2)
    lake.process(D1)
    lake.add_bronze([order_event(3, total=1.0)], D2, T2)
    assert lake.process(D2).touched_dates == [NOV_9]


def test_touched_dates_are_reported_per_processed_partition(lake):
    lake.add_bronze([order_event(1), order_event(2, status="lost")], D1, T1)
    lake.add_bronze(
        [order_event(1, status="shipped", timestamp=SHIPPED_AT), order_event(5)], D2, T2
    )
    result = lake.process(D1, D2)
    # D2's shipped event touches its own date and the creation date of ORD-1 (Nov 9).
    assert result.touched_by_partition == {D1: [NOV_9], D2: [NOV_9, NOV_11]}
    assert result.touched_dates == [NOV_9, NOV_11]
    assert result.counts_by_partition[D1].flagged_by_rule["invalid_status"] == 1
    assert (result.counts_by_partition[D2].rows_in, result.counts_by_partition[D2].inserted) == (
        2,
        2,
    )


@pytest.mark.parametrize(
    "bounds, touched",
    [
        ({}, [NOV_9, NOV_11]),
        # Nov 9 precedes the first date, Nov 11 follows "today".
        ({"first_date": date(2025, 11, 10), "last_date": date(2025, 11, 10)}, []),
        ({"first_date": date(2025, 11, 10)}, [NOV_11]),
    ],
)
def test_touched_dates_stay_inside_first_date_and_today(lake, bounds, touched):
    lake.add_bronze([order_event(1)], D1, T1)  # Nov 9
    lake.add_bronze([order_event(2, timestamp=SHIPPED_AT)], D2, T2)  # Nov 11
    paths = (lake.bronze, lake.silver, lake.rejected)
    result = process_partitions(lake.spark, *paths, [D1, D2], now=NOW, **bounds)
    assert result.touched_dates == touched


@pytest.fixture
def first_date_nov_10(monkeypatch):
    # As if FASTCART_FIRST_DATE=2025-11-10 when the code location loaded.
    monkeypatch.setattr(fastcart_assets.partitions, "FIRST_DATE", date(2025, 11, 10))


def test_the_rule_follows_the_first_date_of_the_partitions(lake, first_date_nov_10):
    lake.add_bronze([order_event(1), order_event(2, timestamp="2025-11-10T08:00:00Z")], D1, T1)
    result = lake.process(D1)
    flags = {r.order_id: r.dq_failures for r in lake.silver_rows()}
    assert flags == {"ORD-00000001": ["stale_timestamp"], "ORD-00000002": []}
    assert result.flagged_by_rule["stale_timestamp"] == 1
