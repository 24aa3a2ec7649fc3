"""Deduplication over the whole table, in any processing order, and idempotent reprocessing."""

from __future__ import annotations

from datetime import timedelta

from fastcart_assets_tests.helpers import order_event
from fastcart_assets_tests.silver.conftest import D1, D2, T1, T2


def _state(lake):
    return sorted(
        (
            r.order_id,
            str(r.timestamp),
            r.ingestion_date,
            r.kafka_partition,
            r.kafka_offset,
            r.status,
            r.total,
        )
        for r in lake.silver_rows()
    )


def _load_two_days(lake):
    # Day 1: A (twice, offsets 0 and 1), B. Day 2: A again (later ingestion), C.
    lake.add_bronze([order_event(1), order_event(1, total=33.48), order_event(2)], D1, T1)
    lake.add_bronze([order_event(1, status="confirmed"), order_event(3)], D2, T2, partition=1)


def test_duplicates_inside_one_partition_keep_the_higher_offset(lake):
    lake.add_bronze(
        [order_event(1, product_name="first"), order_event(1, product_name="second")], D1, T1
    )
    result = lake.process(D1)
    [row] = lake.silver_rows()
    assert row.kafka_offset == 1 and row.product_name == "second"
    assert result.duplicates_in_batch == 1


def test_ties_on_ingestion_time_go_to_the_higher_partition(lake):
    lake.add_bronze([order_event(1, product_name="p0")], D1, T1, partition=0, first_offset=9)
    lake.add_bronze([order_event(1, product_name="p2")], D1, T1, partition=2, first_offset=0)
    lake.process(D1)
    [row] = lake.silver_rows()
    assert (row.kafka_partition, row.product_name) == (2, "p2")


def test_any_processing_order_gives_the_same_table(lake, tmp_path, spark):
    from fastcart_assets_tests.silver.conftest import Lake

    _load_two_days(lake)
    lake.process(D1)
    lake.process(D2)
    forward = _state(lake)

    other = Lake(spark, str(tmp_path / "other"))
    _load_two_days(other)
    other.process(D2)
    other.process(D1)
    backward = _state(other)

    assert forward == backward
    assert [(r[0], r[2], r[5]) for r in forward] == [
        ("ORD-00000001", D2, "confirmed"),  # the later-ingested row of the key wins
        ("ORD-00000002", D1, "pending"),
        ("ORD-00000003", D2, "pending"),
    ]


def test_reprocessing_any_partition_changes_nothing(lake, spark):
    _load_two_days(lake)
    lake.process(D1)
    lake.process(D2)
    before = sorted(tuple(r) for r in lake.silver_rows())
    rejected_before = sorted(tuple(r) for r in lake.rejected_rows())
    again_d1 = lake.process(D1, now=T2 + timedelta(days=1))
    again_d2 = lake.process(D2, now=T2 + timedelta(days=2))
    assert again_d1.rows_written == 0 and again_d2.rows_written == 0
    assert again_d1.touched_dates == [] and again_d2.touched_dates == []
    assert sorted(tuple(r) for r in lake.silver_rows()) == before
    assert len(lake.rejected_rows()) == len(rejected_before)


def test_touched_dates_are_event_dates_and_creation_dates(lake):
    # Order 1 created on 2025-11-09 (pending); its shipped event dated 2025-11-11 arrives later.
    lake.add_bronze([order_event(1)], D1, T1)
    assert [d.isoformat() for d in lake.process(D1).touched_dates] == ["2025-11-09"]
    shipped = order_event(1, status="shipped", timestamp="2025-11-11T08:00:00Z")
    lake.add_bronze([shipped], D2, T2)
    touched = lake.process(D2).touched_dates
    assert [d.isoformat() for d in touched] == ["2025-11-09", "2025-11-11"]
