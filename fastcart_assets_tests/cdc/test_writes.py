"""The CDC Silver step on hand-built scenarios: late, early, repeated and conflicting changes."""

from __future__ import annotations

from pyspark.sql import functions as F

from fastcart_assets_tests.cdc.changes import TS0, Delivered, encode, envelope, key, order_row
from fastcart_assets_tests.cdc.conftest import D1, D2, D3

A, B = "ORD-10000001", "ORD-10000002"


def _change(op: str, order_id: str, lsn: int, status: str = "pending", **row) -> dict:
    ts_ms = TS0 + lsn * 1_000
    return envelope(op, order_row(order_id, status, ts_ms, **row), lsn, ts_ms)


def _at(partition: int, offset: int, change: dict | None, order_id: str = A) -> Delivered:
    return Delivered(partition, offset, key(order_id), encode(change), change)


def _history(lake) -> list[tuple]:
    frame = lake.spark.read.format("delta").load(lake.history)
    rows = frame.select(
        "order_id",
        "lsn",
        "op",
        "status",
        F.unix_millis("valid_from"),
        F.unix_millis("valid_to"),
        "is_current",
    )
    return sorted(tuple(r) for r in rows.collect())


def _current(lake) -> list[tuple]:
    frame = lake.spark.read.format("delta").load(lake.current)
    return sorted(tuple(r) for r in frame.select("order_id", "lsn", "op", "status").collect())


def ms(lsn: int) -> int:
    return TS0 + lsn * 1_000


def test_a_late_older_change_slots_into_history_and_leaves_current_alone(cdc_lake):
    cdc_lake.add_bronze(
        [_at(0, 0, _change("c", A, 10)), _at(0, 1, _change("u", A, 30, "shipped"))], D1
    )
    first = cdc_lake.process(D1)
    assert (first.applied, first.stale) == (2, 0)
    cdc_lake.add_bronze([_at(1, 0, _change("u", A, 20, "confirmed"))], D2)
    late = cdc_lake.process(D2)
    assert (late.applied, late.stale, late.current_updated) == (0, 1, 0)
    assert (late.history_inserted, late.history_updated) == (1, 1)  # lsn 10 now ends at 20
    assert _history(cdc_lake) == [
        (A, 10, "c", "pending", ms(10), ms(20), False),
        (A, 20, "u", "confirmed", ms(20), ms(30), False),
        (A, 30, "u", "shipped", ms(30), None, True),
    ]
    assert _current(cdc_lake) == [(A, 30, "u", "shipped")]


def test_a_delete_processed_before_its_create_still_closes_it(cdc_lake):
    cdc_lake.add_bronze([_at(0, 5, _change("d", A, 40)), _at(0, 6, None)], D2)
    cdc_lake.add_bronze([_at(0, 0, _change("c", A, 10)), _at(0, 1, _change("u", B, 11), B)], D1)
    early = cdc_lake.process(D2)
    assert (early.applied, early.tombstones, early.current_deleted) == (1, 1, 0)
    assert _current(cdc_lake) == []
    cdc_lake.process(D1)
    assert _history(cdc_lake) == [
        (A, 10, "c", "pending", ms(10), ms(40), False),
        (A, 40, "d", "pending", ms(40), ms(40), False),
        (B, 11, "u", "pending", ms(11), None, True),
    ]
    assert _current(cdc_lake) == [(B, 11, "u", "pending")]


def test_a_delete_removes_the_row_and_a_later_create_brings_it_back(cdc_lake):
    cdc_lake.add_bronze([_at(0, 0, _change("r", A, 10)), _at(0, 1, _change("r", B, 10), B)], D1)
    cdc_lake.process(D1)
    cdc_lake.add_bronze([_at(0, 2, _change("d", A, 20)), _at(0, 3, None)], D2)
    deleted = cdc_lake.process(D2)
    assert deleted.current_deleted == 1
    assert _current(cdc_lake) == [(B, 10, "r", "pending")]
    cdc_lake.add_bronze([_at(0, 4, _change("c", A, 30, "confirmed"))], D3)
    cdc_lake.process(D3)
    assert _current(cdc_lake) == [(A, 30, "c", "confirmed"), (B, 10, "r", "pending")]
    assert [row[:3] for row in _history(cdc_lake) if row[0] == A] == [
        (A, 10, "r"),
        (A, 20, "d"),
        (A, 30, "c"),
    ]


def test_redelivery_changes_nothing_in_current_whichever_copy_wins(cdc_lake):
    change = _change("c", A, 10)
    cdc_lake.add_bronze([_at(0, 7, change)], D1)
    cdc_lake.process(D1)
    versions = cdc_lake.versions()
    cdc_lake.add_bronze([_at(0, 3, change), _at(2, 1, change)], D2)  # lower offsets lose
    lower = cdc_lake.process(D2)
    assert (lower.duplicates, lower.applied) == (2, 0)
    assert cdc_lake.versions() == versions
    cdc_lake.add_bronze([_at(0, 9, change)], D3)  # a higher offset wins the version's record
    higher = cdc_lake.process(D3)
    assert (higher.duplicates, higher.history_updated, higher.current_updated) == (1, 1, 0)
    history_version, current_version = cdc_lake.versions()
    assert current_version == versions[1]
    assert history_version == versions[0] + 1
    frame = cdc_lake.spark.read.format("delta").load(cdc_lake.history)
    assert [tuple(r) for r in frame.select("kafka_partition", "kafka_offset").collect()] == [(0, 9)]


def test_the_same_lsn_with_other_content_is_decided_by_the_higher_offset(cdc_lake):
    cdc_lake.add_bronze([_at(1, 8, _change("u", A, 10, "shipped"))], D1)
    cdc_lake.add_bronze([_at(0, 2, _change("u", A, 10, "confirmed"))], D2)
    cdc_lake.process(D2)
    assert _current(cdc_lake) == [(A, 10, "u", "confirmed")]
    cdc_lake.process(D1)
    assert _current(cdc_lake) == [(A, 10, "u", "shipped")]
    cdc_lake.process(D2)  # the losing record again: nothing changes
    assert _current(cdc_lake) == [(A, 10, "u", "shipped")]


def test_a_rerun_commits_nothing_and_completes_a_current_table_left_behind(cdc_lake, spark):
    cdc_lake.add_bronze(
        [
            _at(0, 0, _change("c", A, 10)),
            _at(0, 1, _change("c", B, 11), B),
            Delivered(0, 2, key(A), b"x"),
        ],
        D1,
    )
    cdc_lake.process(D1)
    versions = cdc_lake.versions()
    again = cdc_lake.process(D1)
    assert (again.rows_in, again.duplicates, again.rejected) == (3, 2, 1)
    assert cdc_lake.versions() == versions
    # As if a run stopped between the history MERGE and the current MERGE.
    spark.sql(f"DELETE FROM delta.`{cdc_lake.current}` WHERE order_id = '{B}'")
    repaired = cdc_lake.process(D1)
    assert (repaired.history_inserted, repaired.history_updated) == (0, 0)
    assert repaired.current_inserted == 1
    assert _current(cdc_lake) == [(A, 10, "c", "pending"), (B, 11, "c", "pending")]
    assert cdc_lake.versions()[0] == versions[0]


def test_processing_dates_without_bronze_rows_creates_empty_tables(cdc_lake):
    result = cdc_lake.process(D1)
    assert result.rows_in == result.accounted == 0
    assert _history(cdc_lake) == [] and _current(cdc_lake) == []
