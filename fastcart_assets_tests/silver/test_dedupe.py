"""One row per (order_id, timestamp) over the whole table, in any processing order; re-runs
change nothing; touched dates."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from fastcart_assets_tests.helpers import order_event
from fastcart_assets_tests.silver.conftest import D1, D2, T1, T2, Lake

LATER = datetime(2025, 12, 1, tzinfo=UTC)
SHIPPED_AT = "2025-11-11T08:00:00Z"
NOV_9, NOV_11 = date(2025, 11, 9), date(2025, 11, 11)


def _load_two_days(lake: Lake) -> None:
    """D1: ORD-1 twice (same key), ORD-2, junk. D2: ORD-1 again (same key, confirmed), ORD-3's
    pending and shipped events, ORD-4 with a zero total."""
    lake.add_bronze(
        [
            order_event(1, product_name="first"),
            order_event(1, product_name="second"),
            order_event(2),
            b"junk",
        ],
        D1,
        T1,
    )
    lake.add_bronze(
        [
            order_event(1, status="confirmed"),
            order_event(3),
            order_event(3, status="shipped", timestamp=SHIPPED_AT),
            order_event(4, total=0),
        ],
        D2,
        T2,
        partition=1,
    )


def _content(lake: Lake) -> list[tuple]:
    """Silver rows without the write time (which depends on when each run happened)."""
    return _sorted(
        tuple(v for k, v in row.asDict().items() if k != "silver_ingestion_timestamp")
        for row in lake.silver_rows()
    )


def _sorted(rows) -> list[tuple]:
    """Rows as tuples in a fixed order (nulls make tuples incomparable, their reprs are not)."""
    return sorted((tuple(r) for r in rows), key=repr)


def _summary(lake: Lake) -> list[tuple]:
    rows = lake.silver_rows()
    return sorted(
        (r.order_id, str(r.timestamp), r.status, r.silver_ingestion_date, r.kafka_partition)
        + (r.kafka_offset,)
        for r in rows
    )


EXPECTED = [
    ("ORD-00000001", "2025-11-09 15:55:40.669190", "confirmed", D2, 1, 0),  # later ingested wins
    ("ORD-00000002", "2025-11-09 15:55:40.669190", "pending", D1, 0, 2),
    ("ORD-00000003", "2025-11-09 15:55:40.669190", "pending", D2, 1, 1),
    ("ORD-00000003", "2025-11-11 08:00:00", "shipped", D2, 1, 2),
]


def test_duplicates_inside_one_partition_keep_the_higher_offset(lake):
    lake.add_bronze(
        [
            order_event(1, product_name="first"),
            order_event(1, product_name="second"),
            order_event(1, product_name="third", timestamp="2025-11-09T15:55:40.669191Z"),
        ],
        D1,
        T1,
    )
    result = lake.process(D1)
    rows = sorted(lake.silver_rows(), key=lambda r: r.kafka_offset)
    assert [(r.kafka_offset, r.product_name) for r in rows] == [(1, "second"), (2, "third")]
    assert (result.duplicates_in_batch, result.duplicates_dropped, result.inserted) == (1, 1, 2)


def test_ties_on_ingestion_time_go_to_the_higher_partition_then_offset(lake):
    lake.add_bronze([order_event(1, product_name="p0")], D1, T1, partition=0, first_offset=9)
    lake.add_bronze([order_event(1, product_name="p2")], D1, T1, partition=2, first_offset=0)
    lake.add_bronze([order_event(1, product_name="p1")], D1, T1, partition=1, first_offset=50)
    lake.process(D1)
    [row] = lake.silver_rows()
    assert (row.kafka_partition, row.kafka_offset, row.product_name) == (2, 0, "p2")


@pytest.mark.slow
def test_processing_order_does_not_matter(spark, tmp_path):
    forward, backward, ranged = (Lake(spark, str(tmp_path / n)) for n in ("f", "b", "r"))
    for lake in (forward, backward, ranged):
        _load_two_days(lake)

    first, second = forward.process(D1), forward.process(D2)
    assert (first.inserted, first.replaced, first.duplicates_in_batch) == (2, 0, 1)
    assert (second.inserted, second.replaced, second.duplicates_dropped) == (2, 1, 0)
    assert first.touched_dates == [NOV_9]
    assert second.touched_dates == [NOV_9, NOV_11]

    second, first = backward.process(D2), backward.process(D1)
    assert (second.inserted, second.replaced) == (3, 0)
    # D1's ORD-1 rows: one beaten inside the batch, one by the later-ingested row in Silver.
    assert (first.inserted, first.duplicates_in_batch, first.duplicates_dropped) == (1, 1, 2)
    assert first.touched_dates == [NOV_9]

    both = ranged.process(D1, D2)
    assert (both.rows_in, both.rejected, both.inserted, both.duplicates_dropped) == (8, 2, 4, 2)
    assert both.touched_dates == [NOV_9, NOV_11]

    assert _summary(forward) == EXPECTED
    assert _content(forward) == _content(backward) == _content(ranged)
    assert len(forward.rejected_rows()) == len(backward.rejected_rows()) == 2


def test_an_update_moves_the_row_to_its_new_partition(lake, spark):
    _load_two_days(lake)
    lake.process(D1)
    lake.process(D2)
    table = spark.read.format("delta").load(lake.silver)
    pending_d1 = table.where("silver_ingestion_date = DATE'2025-11-10' AND status = 'pending'")
    assert [r.order_id for r in pending_d1.collect()] == ["ORD-00000002"]
    assert table.where("order_id = 'ORD-00000001'").count() == 1


@pytest.mark.slow
def test_reprocessing_changes_nothing(lake):
    _load_two_days(lake)
    lake.process(D1)
    lake.process(D2)
    versions = lake.versions()
    silver = _sorted(lake.silver_rows())
    rejected = _sorted(lake.rejected_rows())

    again_d1 = lake.process(D1, now=LATER)
    again_d2 = lake.process(D2, now=LATER)
    again_both = lake.process(D1, D2, now=LATER)

    assert lake.versions() == versions  # nothing committed
    assert _sorted(lake.silver_rows()) == silver
    assert _sorted(lake.rejected_rows()) == rejected
    assert (again_d1.rows_kept, again_d1.unchanged, again_d1.duplicates_dropped) == (0, 1, 2)
    assert (again_d2.rows_kept, again_d2.unchanged, again_d2.duplicates_dropped) == (0, 3, 0)
    assert (again_both.rows_kept, again_both.unchanged, again_both.rejected) == (0, 4, 2)
    assert again_d1.touched_dates == again_d2.touched_dates == again_both.touched_dates == []


def test_reprocessing_repairs_a_row_whose_content_differs(lake, spark):
    _load_two_days(lake)
    lake.process(D1)
    spark.sql(
        f"UPDATE delta.`{lake.silver}` SET product_name = 'tampered', data_quality_score = false "
        "WHERE order_id = 'ORD-00000002'"
    )
    spark.sql(f"DELETE FROM delta.`{lake.rejected}` WHERE kafka_offset = 3")
    result = lake.process(D1, now=LATER)
    assert (result.replaced, result.inserted) == (1, 0)
    assert result.touched_dates == [NOV_9]
    [row] = [r for r in lake.silver_rows() if r.order_id == "ORD-00000002"]
    assert (row.product_name, row.data_quality_score) == ("USB-C Cable", True)
    assert row.silver_ingestion_timestamp == datetime(2025, 12, 1)
    [junk] = lake.rejected_rows()
    assert (junk._raw, junk.rejected_at) == ("junk", datetime(2025, 12, 1))


def test_rejected_at_is_kept_when_the_partition_is_rewritten(lake):
    lake.add_bronze([b"junk"], D1, T1)
    lake.process(D1)
    lake.add_bronze([b"more junk"], D1, T1, first_offset=1)  # Bronze D1 grew meanwhile
    lake.process(D1, now=LATER)
    rows = sorted(lake.rejected_rows(), key=lambda r: r.kafka_offset)
    assert [(r._raw, r.rejected_at) for r in rows] == [
        ("junk", datetime(2025, 11, 12, 6, 0)),
        ("more junk", datetime(2025, 12, 1)),
    ]


def test_touched_dates_are_event_dates_and_creation_dates(lake):
    # ORD-1 is created on Nov 9 (pending); its shipped event dated Nov 11 arrives on D2.
    lake.add_bronze([order_event(1), order_event(2, status="shipped")], D1, T1)
    assert lake.process(D1).touched_dates == [NOV_9]
    lake.add_bronze([order_event(1, status="shipped", timestamp=SHIPPED_AT)], D2, T2)
    assert lake.process(D2).touched_dates == [NOV_9, NOV_11]


def test_a_date_without_bronze_rows_creates_the_tables_and_writes_nothing(lake, spark):
    lake.add_bronze([order_event(1)], D1, T1)
    result = lake.process(D2)
    assert (result.rows_in, result.rows_kept, result.rejected, result.touched_dates) == (
        0,
        0,
        0,
        [],
    )
    assert lake.versions() == (0, 0)  # created empty, nothing committed after
    assert lake.silver_rows() == [] and lake.rejected_rows() == []
