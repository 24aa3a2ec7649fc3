"""Envelope classification: each rule rejects what it describes, with every reason, and a
rejected envelope never stops the rest of the batch."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pyspark.sql import functions as F

from fastcart_assets.bronze.parse import KafkaRecord
from fastcart_assets.cdc.parse import to_bronze_cdc_batch
from fastcart_assets.cdc.rules import RULE_NAMES
from fastcart_assets.cdc.transforms import classify
from fastcart_assets.erasures import ERASED
from fastcart_assets_tests.cdc.changes import encode, envelope, key, order_row

OID = "ORD-10000001"


def _change(op="u", **row):
    return envelope(op, order_row(OID, "confirmed", **row), 50, 1_762_700_000_000)


def _without(change: dict, *path: str) -> dict:
    target = change
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]
    return change


def _set(change: dict, value, *path: str) -> dict:
    target = change
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return change


CASES = [
    ("clean", key(OID), encode(_change()), []),
    ("snapshot read", key(OID), encode(_change("r")), []),
    ("delete with the key only", key(OID), encode(envelope("d", {"order_id": OID}, 9, 1)), []),
    ("tombstone", key(OID), None, []),
    ("not json", key(OID), b"{oops", ["malformed_json"]),
    ("json array", key(OID), b"[1]", ["malformed_json"]),
    ("empty", key(OID), b"", ["malformed_json"]),
    ("no op", key(OID), encode(_without(_change(), "op")), ["unknown_op"]),
    ("unknown op", key(OID), encode(_set(_change(), "t", "op")), ["unknown_op"]),
    ("no lsn", key(OID), encode(_without(_change(), "source", "lsn")), ["missing_lsn"]),
    ("negative lsn", key(OID), encode(_set(_change(), -1, "source", "lsn")), ["missing_lsn"]),
    (
        "no source",
        key(OID),
        encode(_set(_change(), None, "source")),
        ["missing_lsn", "missing_ts_ms"],
    ),
    ("no ts_ms", key(OID), encode(_without(_change(), "source", "ts_ms")), ["missing_ts_ms"]),
    (
        "ts_ms beyond 9999",
        key(OID),
        encode(_set(_change(), 10**15, "source", "ts_ms")),
        ["missing_ts_ms"],
    ),
    ("update without after", key(OID), encode(_set(_change(), None, "after")), ["missing_row"]),
    ("delete without before", key(OID), encode(envelope("d", None, 9, 1)), ["missing_row"]),
    (
        "blank order_id",
        key(OID),
        encode(_set(_change(), " ", "after", "order_id")),
        ["missing_order_id"],
    ),
    ("other key", key("ORD-2"), encode(_change()), ["key_mismatch"]),
    ("key not json", b"ORD-10000001", encode(_change()), ["key_mismatch"]),
    ("no key", b"", encode(_change()), ["key_mismatch"]),
    ("total as base64", key(OID), encode(_change(total="DOs=")), ["invalid_field"]),
    (
        "lsn as text",
        key(OID),
        encode(_set(_change(), "0/16B3748", "source", "lsn")),
        ["missing_lsn", "invalid_field"],
    ),
    ("unparseable time", key(OID), encode(_change(updated_at="yesterday")), ["invalid_field"]),
    ("date without time", key(OID), encode(_change(created_at="2025-11-09")), ["invalid_field"]),
]


@pytest.fixture(scope="module")
def classified(spark):
    records = [
        KafkaRecord("fastcart.public.orders", 0, offset, None, record_key, value)
        for offset, (_, record_key, value, _) in enumerate(CASES)
    ]
    batch = to_bronze_cdc_batch(records, datetime(2025, 11, 10, tzinfo=UTC), date(2025, 11, 10))
    frame = classify(spark.createDataFrame(batch.table))
    rows = frame.select("kafka_offset", "is_tombstone", "rejection_reasons").collect()
    return {row.kafka_offset: row for row in rows}


@pytest.mark.parametrize("offset", range(len(CASES)), ids=[case[0] for case in CASES])
def test_each_envelope_gets_exactly_its_reasons(classified, offset):
    name, _, value, reasons = CASES[offset]
    row = classified[offset]
    assert row.is_tombstone == (value is None)
    assert list(row.rejection_reasons) == reasons


def test_every_rule_is_exercised():
    used = {reason for *_, reasons in CASES for reason in reasons}
    assert used | {"erased"} == set(RULE_NAMES)  # `erased`: the test below


def test_an_erased_envelope_is_rejected_for_erased_alone_and_is_no_tombstone(spark):
    """`fastcart forget` blanks `_raw` (null, like a tombstone's) and personal fields; the
    erasure record flags it (ERASED), and it is rejected for that one reason."""
    records = [
        KafkaRecord("fastcart.public.orders", 0, 0, None, key(OID), encode(_change())),
        KafkaRecord("fastcart.public.orders", 0, 1, None, key(OID), None),
    ]
    batch = to_bronze_cdc_batch(records, datetime(2025, 11, 10, tzinfo=UTC), date(2025, 11, 10))
    frame = spark.createDataFrame(batch.table)
    erased = (F.col("kafka_offset") == 0) | F.lit(False)
    frame = frame.withColumns({"_raw": F.when(~erased, F.col("_raw")), ERASED: erased})
    rows = {r.kafka_offset: r for r in classify(frame).collect()}
    assert (rows[0].is_tombstone, list(rows[0].rejection_reasons)) == (False, ["erased"])
    assert (rows[1].is_tombstone, list(rows[1].rejection_reasons)) == (True, [])
