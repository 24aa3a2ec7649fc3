"""Bronze CDC rows from Kafka records: every record one row, nothing refused, the key kept."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from fastcart_assets.bronze.parse import KafkaRecord
from fastcart_assets.cdc.parse import key_order_id, to_bronze_cdc_batch
from fastcart_assets.cdc.schemas import BRONZE_CDC_SCHEMA
from fastcart_assets_tests.cdc.changes import encode, envelope, key, order_row

WRITTEN = datetime(2025, 11, 10, 12, tzinfo=UTC)
DAY = date(2025, 11, 10)


def _rows(*records: KafkaRecord, **kwargs) -> tuple[list[dict], int]:
    batch = to_bronze_cdc_batch(list(records), WRITTEN, DAY, **kwargs)
    assert batch.extra_columns == []
    return batch.table.to_pylist(), batch.malformed


def _record(value: bytes | None, record_key: bytes | None = None, offset: int = 0, **kw):
    return KafkaRecord(
        kw.get("topic", "fastcart.public.orders"),
        kw.get("partition", 0),
        offset,
        kw.get("timestamp_ms", 1_762_700_000_000),
        key("ORD-10000001") if record_key is None else record_key,
        value,
    )


def test_a_change_is_typed_and_keeps_its_text_and_coordinates():
    change = envelope("u", order_row("ORD-10000001", "shipped"), 4711, 1_762_700_000_000)
    value = encode(change)
    (row,), malformed = _rows(_record(value, offset=9, partition=2))
    assert malformed == 0
    assert row["op"] == "u" and row["ts_ms"] == 1_762_700_000_007
    assert row["after"]["status"] == "shipped" and row["after"]["quantity"] == 3
    assert row["before"] is None
    assert row["source"] == {
        "lsn": 4711,
        "txId": 5411,
        "ts_ms": 1_762_700_000_000,
        "db": "fastcart",
        "schema": "public",
        "table": "orders",
        "snapshot": "false",
    }
    assert row["_raw"] == value.decode()
    assert (row["kafka_partition"], row["kafka_offset"]) == (2, 9)
    assert row["kafka_key_bytes"] == key("ORD-10000001")
    assert row["kafka_key"] == key("ORD-10000001").decode()
    assert row["key_order_id"] == "ORD-10000001"
    assert (row["kafka_headers"], row["kafka_incarnation"]) == ([], 1)
    assert row["kafka_timestamp"] == datetime(2025, 11, 9, 14, 53, 20, tzinfo=UTC)
    assert (row["ingestion_timestamp"], row["ingestion_date"]) == (WRITTEN, DAY)


def test_tombstones_and_values_that_are_not_objects_land_as_rows():
    records = [
        _record(None, offset=0),
        _record(b"not json", offset=1),
        _record(b"[1, 2]", offset=2),
        _record(b"", offset=3),
        _record(b"\xff\xfe{", offset=4),
    ]
    rows, malformed = _rows(*records)
    assert [r["kafka_offset"] for r in rows] == [0, 1, 2, 3, 4]
    assert malformed == 4  # a tombstone is not malformed
    assert rows[0]["_raw"] is None
    assert [r["_raw"] for r in rows[1:4]] == ["not json", "[1, 2]", ""]
    assert rows[4]["_raw"] == "\ufffd\ufffd{"
    for row in rows:
        assert all(row[name] is None for name in ("before", "after", "source", "op", "ts_ms"))


def test_a_value_of_the_wrong_type_is_null_and_stays_in_raw():
    change = envelope("c", order_row("ORD-10000001", quantity="3", total="DOs="), 7, 1)
    change["source"]["lsn"] = "0/16B3748"  # PostgreSQL's text form, not Debezium's number
    change["op"] = 1
    (row,), malformed = _rows(_record(encode(change)))
    assert malformed == 0
    assert row["after"]["quantity"] is None and row["after"]["total"] is None
    assert row["after"]["status"] == "pending"
    assert row["source"]["lsn"] is None and row["op"] is None
    assert '"total": "DOs="' in row["_raw"]


def test_out_of_range_numbers_and_timestamps_are_null():
    change = envelope("c", order_row("ORD-10000001", quantity=2**31), 2**63, 1)
    records = [
        _record(encode(change), offset=0, timestamp_ms=None),
        _record(encode(change), offset=1, timestamp_ms=-5),
        _record(encode(change), offset=2, timestamp_ms=10**15),
    ]
    rows, _ = _rows(*records)
    assert rows[0]["after"]["quantity"] is None
    assert rows[0]["source"]["lsn"] is None
    assert [r["kafka_timestamp"] for r in rows] == [None, None, None]


def test_keys_are_kept_byte_for_byte_and_read_when_they_are_debezium_keys():
    wrapped = json.dumps({"schema": {"type": "struct"}, "payload": {"order_id": "ORD-2"}})
    assert key_order_id(key("ORD-1")) == "ORD-1"
    assert key_order_id(wrapped.encode()) == "ORD-2"
    for other in (b"ORD-1", b"\x00\xff", b'{"order_id": 5}', b"[]", None, b""):
        assert key_order_id(other) is None
    rows, _ = _rows(_record(None, record_key=b"\x00\xff"), _record(None, record_key=b""))
    assert [r["kafka_key_bytes"] for r in rows] == [b"\x00\xff", b""]
    assert [r["kafka_key"] for r in rows] == ["\x00\ufffd", ""]


def test_a_value_wrapped_with_its_schema_is_read_through_its_payload():
    change = envelope("r", order_row("ORD-10000001"), 3, 1)
    wrapped = encode({"schema": {"type": "struct", "fields": []}, "payload": change})
    (row,), malformed = _rows(_record(wrapped))
    assert malformed == 0 and row["op"] == "r" and row["source"]["lsn"] == 3


def test_a_replay_keeps_the_original_ingestion_timestamps():
    earlier = datetime(2025, 11, 10, 8, tzinfo=UTC)
    rows, _ = _rows(
        _record(None, offset=0), _record(None, offset=1), ingestion_timestamps={(0, 1): earlier}
    )
    assert [r["ingestion_timestamp"] for r in rows] == [WRITTEN, earlier]


def test_the_batch_has_the_bronze_cdc_schema(spark):
    batch = to_bronze_cdc_batch([_record(None)], WRITTEN, DAY)
    frame = spark.createDataFrame(batch.table)
    assert [(f.name, f.dataType) for f in frame.schema.fields] == [
        (f.name, f.dataType) for f in BRONZE_CDC_SCHEMA.fields
    ]
