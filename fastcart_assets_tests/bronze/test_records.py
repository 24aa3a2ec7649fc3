"""The columns every Bronze table builds from the Kafka record itself (`bronze.records`), pure."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from fastcart_assets.bronze.parse import to_bronze_batch
from fastcart_assets.bronze.reader import BatchLimits
from fastcart_assets.bronze.records import MAX_TIMESTAMP_MS, KafkaRecord, kafka_columns
from fastcart_assets.schemas import BRONZE_SCHEMA

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
DAY = date(2026, 1, 2)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def record(offset=0, timestamp_ms=1_700_000_000_000, key=b"k", value=b"{}", headers=()):
    return KafkaRecord("t", 0, offset, timestamp_ms, key, value, headers)


@pytest.mark.parametrize(
    ("timestamp_ms", "expected"),
    [
        pytest.param(
            1_700_000_000_000, EPOCH + timedelta(milliseconds=1_700_000_000_000), id="now"
        ),
        pytest.param(1, EPOCH + timedelta(milliseconds=1), id="first-ms"),
        pytest.param(MAX_TIMESTAMP_MS, datetime(9999, 12, 31, 23, 59, 59, 999000, UTC), id="9999"),
        pytest.param(MAX_TIMESTAMP_MS + 1, None, id="year-10000"),
        pytest.param(0, None, id="zero"),
        pytest.param(-1, None, id="no-timestamp"),
        pytest.param(-5, None, id="negative"),
        pytest.param(2**63 - 1, None, id="int64-max"),
        pytest.param(-(2**63), None, id="int64-min"),
        pytest.param(1_700_000_000_000_000_000, None, id="nanoseconds"),
        pytest.param(None, None, id="absent"),
    ],
)
def test_record_timestamps_a_calendar_cannot_hold_are_null(timestamp_ms, expected):
    column = kafka_columns([record(timestamp_ms=timestamp_ms)], 1)["kafka_timestamp"]
    assert column.to_pylist() == [expected]


def test_keys_are_kept_exactly_and_readably():
    keys = [b"ORD-1", b"\xff\x00\xfe", b"", None, "é".encode()]
    columns = kafka_columns([record(i, key=k) for i, k in enumerate(keys)], 1)
    assert columns["kafka_key_bytes"].to_pylist() == keys
    assert columns["kafka_key"].to_pylist() == ["ORD-1", "\ufffd\x00\ufffd", "", None, "é"]


def test_headers_keep_order_duplicates_and_null_values():
    headers = [
        (("trace", b"\x00\x01"), ("trace", None), ("", b"")),
        (),
        None,  # the client could not read them
    ]
    columns = kafka_columns([record(i, headers=h) for i, h in enumerate(headers)], 7)
    assert columns["kafka_headers"].to_pylist() == [
        [
            {"key": "trace", "value": b"\x00\x01"},
            {"key": "trace", "value": None},
            {"key": "", "value": b""},
        ],
        [],
        None,
    ]
    assert columns["kafka_incarnation"].to_pylist() == [7, 7, 7]


def test_tombstones_empty_values_and_any_metadata_make_one_row_each():
    records = [
        record(0, value=None, key=None, timestamp_ms=-1),
        record(1, value=b"", key=b"\x80", timestamp_ms=2**63 - 1, headers=(("h", None),)),
        record(2, value=b"\xff\xfe{", timestamp_ms=0),
    ]
    batch = to_bronze_batch(records, NOW, DAY, incarnation=2)
    rows = batch.table.to_pylist()
    assert [r["kafka_offset"] for r in rows] == [0, 1, 2]
    assert [r["_raw"] for r in rows] == [None, "", "\ufffd\ufffd{"]
    assert [r["kafka_timestamp"] for r in rows] == [None, None, None]
    assert [r["kafka_incarnation"] for r in rows] == [2, 2, 2]
    assert batch.malformed == 3
    assert batch.table.schema.names == BRONZE_SCHEMA.fieldNames()


def test_a_record_counts_its_key_value_and_headers():
    small = record(value=b"x" * 10, key=b"kk", headers=(("ab", b"cde"),))
    assert small.size - record(value=b"", key=b"", headers=()).size == 10 + 2 + 2 + 3


def test_a_poll_asks_for_no_more_than_fits_in_the_batch():
    limits = BatchLimits(messages=1_000, bytes=64 << 20)
    assert limits.poll_size(0, 0, 1 << 20) == 64  # 1 MB messages: 64 fill the batch
    assert limits.poll_size(0, 60 << 20, 1 << 20) == 4
    assert limits.poll_size(990, 0, 100) == 10  # the message count binds
    assert limits.poll_size(0, 64 << 20, 1 << 20) == 1  # always at least one
    assert BatchLimits(messages=10**6).poll_size(0, 0, 10) == 2_000  # one poll's cap
