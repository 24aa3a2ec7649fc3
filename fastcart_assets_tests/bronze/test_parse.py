"""Payload parsing: every message one row, wrong types null, unknown fields kept."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from fastcart_assets.bronze.parse import KafkaRecord, parse_payload, to_bronze_batch
from fastcart_assets_tests.helpers import order_event

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _records(values):
    return [KafkaRecord("t", 0, i, 1_700_000_000_000, b"k", v) for i, v in enumerate(values)]


def test_parse_payload_accepts_only_json_objects():
    assert parse_payload(b'{"a": 1}') == {"a": 1}
    assert parse_payload(b"[1, 2]") is None
    assert parse_payload(b"42") is None
    assert parse_payload(b"not json") is None
    assert parse_payload(b'{"a": ') is None
    assert parse_payload(b"") is None
    assert parse_payload(None) is None
    assert parse_payload(b'{"total": NaN}') is None
    # valid JSON that orjson refuses (an integer beyond 64 bits) is still a JSON object
    assert parse_payload(b'{"total": 123456789012345678901234567890}') is not None


def test_wrong_types_become_null_and_raw_is_exact():
    payload = {
        "order_id": 123,
        "quantity": "3",
        "price": True,
        "total": "abc",
        "shipping_address": "Main St",
        "status": "pending",
    }
    raw = json.dumps(payload).encode()
    batch = to_bronze_batch(_records([raw]), NOW, date(2026, 1, 2))
    row = batch.table.to_pylist()[0]
    assert row["order_id"] is None
    assert row["quantity"] is None
    assert row["price"] is None
    assert row["total"] is None
    assert row["shipping_address"] is None
    assert row["status"] == "pending"
    assert row["_raw"] == raw.decode()
    assert batch.malformed == 0


def test_every_message_is_one_row_including_malformed_and_tombstones():
    values = [b'{"order_id": "ORD-1"}', b"garbage", b"", None, b"[]", b'"text"']
    batch = to_bronze_batch(_records(values), NOW, date(2026, 1, 2))
    rows = batch.table.to_pylist()
    assert [r["kafka_offset"] for r in rows] == [0, 1, 2, 3, 4, 5]
    assert [r["_raw"] for r in rows] == [
        '{"order_id": "ORD-1"}',
        "garbage",
        "",
        None,
        "[]",
        '"text"',
    ]
    assert [r["order_id"] for r in rows] == ["ORD-1", None, None, None, None, None]
    assert batch.malformed == 5


def test_unknown_fields_become_string_columns_reserved_names_do_not():
    values = [
        json.dumps({"order_id": "A", "gift_wrap": True, "coupon": "X1"}).encode(),
        json.dumps({"order_id": "B", "Order_ID": "dup", "kafka_offset": 9, "bad name": 1}).encode(),
    ]
    batch = to_bronze_batch(_records(values), NOW, date(2026, 1, 2), known_extra_columns=["old"])
    assert batch.extra_columns == ["old", "gift_wrap", "coupon"]
    rows = batch.table.to_pylist()
    assert rows[0]["gift_wrap"] == "true"
    assert rows[0]["coupon"] == "X1"
    assert rows[1]["gift_wrap"] is None
    assert rows[1]["kafka_offset"] == 1
    assert "bad name" not in batch.table.column_names


def test_kept_ingestion_timestamps_override_the_batch_time():
    earlier = datetime(2025, 12, 31, 23, 0, tzinfo=UTC)
    batch = to_bronze_batch(
        _records([b"{}", b"{}"]), NOW, date(2025, 12, 31), ingestion_timestamps={(0, 1): earlier}
    )
    stamps = batch.table.column("ingestion_timestamp").to_pylist()
    assert stamps == [NOW, earlier]


def test_a_payload_is_read_as_its_raw_text():
    """Silver sees only `_raw`: Bronze decides "JSON object" on that same text."""
    event = json.dumps(order_event(1, product_name="café"), ensure_ascii=False)
    values = [
        event.encode("latin-1"),  # one invalid byte: U+FFFD in _raw and in the field
        b"\xef\xbb\xbf" + event.encode(),  # a byte-order mark: not a JSON text
        event.encode("utf-16"),
    ]
    batch = to_bronze_batch(
        [KafkaRecord("t", 0, i, None, None, v) for i, v in enumerate(values)],
        datetime(2026, 1, 1, tzinfo=UTC),
        date(2026, 1, 1),
    )
    rows = batch.table.to_pylist()
    assert rows[0]["product_name"] == "caf\ufffd" and rows[0]["order_id"] == "ORD-00000001"
    assert rows[1]["order_id"] is None and rows[2]["order_id"] is None
    assert batch.malformed == 2
