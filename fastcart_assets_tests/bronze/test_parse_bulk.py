"""The bulk (Arrow) parse gives the same table as parsing each message on its own.

`reference_batch` is the straightforward per-message parse (what `to_bronze_batch` did before
the bulk path): one `parse_payload` and one dict per message, one converter call per value.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from fastcart_assets.bronze import bulk
from fastcart_assets.bronze import payload as per_message
from fastcart_assets.bronze.bulk import bulk_parse
from fastcart_assets.bronze.parse import to_bronze_batch
from fastcart_assets.bronze.payload import parse_payload
from fastcart_assets.bronze.records import KafkaRecord, arrow_schema
from fastcart_assets.schemas import BRONZE_SCHEMA, EVENT_SCHEMA
from fastcart_assets_tests.helpers import order_event

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
DAY = date(2026, 1, 2)


def reference_batch(records, known_extra_columns=()):
    extras = list(known_extra_columns)
    known = {name.lower() for name in extras}
    payloads = [parse_payload(r.value) for r in records]
    for payload in payloads:
        for name in per_message.extra_fields(payload or {}):
            if name.lower() not in known and len(extras) < per_message.MAX_EXTRA_COLUMNS:
                extras.append(name)
                known.add(name.lower())
    converters = {
        "quantity": per_message._as_int32,
        "price": per_message._as_double,
        "total": per_message._as_double,
        "shipping_address": per_message._as_address,
    }
    objects = [p or {} for p in payloads]
    columns = {
        name: [converters.get(name, per_message._as_string)(o.get(name)) for o in objects]
        for name in EVENT_SCHEMA.fieldNames()
    }
    columns |= {name: [per_message.as_text(o.get(name)) for o in objects] for name in extras}
    columns["_raw"] = [
        None if r.value is None else r.value.decode("utf-8", "replace") for r in records
    ]
    columns["kafka_topic"] = [r.topic for r in records]
    columns["kafka_partition"] = [r.partition for r in records]
    columns["kafka_offset"] = [r.offset for r in records]
    columns["kafka_timestamp"] = [
        None if r.timestamp_ms is None else datetime.fromtimestamp(r.timestamp_ms / 1000, UTC)
        for r in records
    ]
    columns["kafka_key"] = [
        None if r.key is None else r.key.decode("utf-8", "replace") for r in records
    ]
    columns["kafka_key_bytes"] = [r.key for r in records]
    columns["kafka_headers"] = [[] for _ in records]
    columns["kafka_incarnation"] = [1] * len(records)
    columns["ingestion_timestamp"] = [NOW] * len(records)
    columns["ingestion_date"] = [DAY] * len(records)
    schema = arrow_schema(BRONZE_SCHEMA, extras)
    table = pa.Table.from_arrays(
        [pa.array(columns[f.name], type=f.type) for f in schema], schema=schema
    )
    return table, sum(p is None for p in payloads), extras


def _clean(i: int, **overrides) -> bytes:
    return json.dumps(order_event(i, **overrides)).encode()


def _with(raw_field: bytes, i: int = 0) -> bytes:
    """A clean event with `raw_field` (raw JSON text `"name": value`) added at the end."""
    return _clean(i)[:-1] + b", " + raw_field + b"}"


TRICKY: list[bytes | None] = [
    # wrong types
    _clean(1, order_id=123),
    _clean(2, quantity="3"),
    _clean(3, quantity=3.0),
    _clean(4, quantity=True),
    _clean(5, quantity=2**31),
    _clean(6, quantity=-(2**31) - 1),
    _clean(7, quantity=-(2**31)),
    _clean(8, quantity=2**63),
    _clean(9, quantity=10**30),
    _clean(10, quantity=None),
    _clean(11, price=True),
    _clean(12, price="1.5"),
    _clean(13, price=10**30),
    _clean(14, price=2**64 - 1),
    _clean(15, price=-(2**63) - 1),
    _clean(16, price=1.7976931348623157e308),
    _clean(17, total=-0.0),
    _clean(18, total=0.1 + 0.2),
    _clean(19, total=[1, 2]),
    _clean(20, total={"a": 1}),
    _clean(21, customer_id=["x"]),
    _clean(22, status=False),
    _clean(23, cancellation_reason="late"),
    _clean(24, shipping_address="Main St"),
    _clean(25, shipping_address=None),
    _clean(26, shipping_address={}),
    _clean(27, shipping_address={"city": 5, "street": "x"}),
    _clean(28, shipping_address={"city": "X", "geo": {"lat": 1.5}, "tags": ["a"]}),
    _clean(29, shipping_address=[1]),
    b'{"quantity": -0, "price": 1e2, "total": 1E-400}',
    b'{"quantity": 1e2}',
    b'{"price": 1e400}',
    b'{"price": 1' + b"0" * 400 + b"}",
    b'{"quantity": 123456789012345678901234567890}',
    # not JSON for Python, but Arrow would take them
    b'{"price": NaN}',
    b'{"total": Infinity}',
    b'{"total": -Infinity}',
    b'{"price": Inf}',
    _with(b'"Order_ID": NaN'),
    _with(b'"bad name": [Infinity]'),
    _clean(30, shipping_address={"city": "X"})[:-2] + b', "geo": NaN}}',
    _with(b'"quantity_note": "NaN is fine in a string"'),
    b'{"order_id": "a"} {"order_id": "b"}',
    b'{"order_id": "a"} null {"order_id": "b"}',
    b'{"order_id": "a"}, {"order_id": "b"}',
    b'{"a": 1,}',
    b"{'order_id': 'a'}",
    b'{"order_id": "a" /* c */}',
    # not objects, not JSON
    b"[]",
    b"[1, 2]",
    b"42",
    b'"text"',
    b"null",
    b"",
    None,
    b"garbage",
    _clean(31)[:50],
    _clean(32)[: _clean(32).rindex(b"}")] + b"}",
    b'  {"order_id": "padded"}  ',
    b'\xef\xbb\xbf{"order_id": "bom"}',
    json.dumps(order_event(33)).encode("utf-16"),
    # encodings and escapes
    _clean(34, product_name="caf\xe9 \u20ac \U0001f600"),
    json.dumps(order_event(35, product_name="caf\xe9 \U0001f600"), ensure_ascii=False).encode(),
    b'{"order_id": "bad \xff utf8"}',
    b'{"order_id": "ok", "note": "bad \xc0\x80 overlong"}',
    b'{"order_id": "\xed\xa0\x80 utf8 surrogate"}',
    rb'{"order_id": "\ud800 lone"}',
    rb'{"order_id": "\udc00\ud800 reversed"}',
    rb'{"order_id": "\ud83d\ude00 pair"}',
    rb'{"order_id": "nul \u0000 inside", "status": "\/slash\\"}',
    rb'{"coupon": "\ud800", "meta": {"\ud800": ["\udfff"]}}',
    b'{"order_id": "tab\tinside"}',
    b'{"order_id": "x",\r\n  "status": "pretty"\n}',
    b'{\r"order_id": "cr"\r}',
    # duplicate keys: the last wins
    b'{"order_id": "a", "order_id": "b"}',
    rb'{"order_id": "a", "order\u005fid": "b"}',
    b'{"order_id": "a", "order_id": 5}',
    b'{"shipping_address": {"city": "a", "city": "b"}}',
    b'{"coupon": "a", "coupon": {"x": 1}}',
    # unknown fields
    _with(b'"coupon": "X1"'),
    _with(b'"gift_wrap": true'),
    _with(b'"meta": {"b": [1, 2.5, "x", null], "a": {}}'),
    _with(b'"promo": null'),
    _with(b'"Coupon": "upper"'),
    _with(b'"kafka_offset": 9'),
    _with(b'"Order_ID": "dup"'),
    _with(b'"bad name": 1'),
    _with(b'"' + b"n" * 65 + b'": "too long"'),
    _with(b'"delivered_at": "2026-01-01T00:00:00Z"'),
    _with(b'"delivered_day": "2026-01-01"'),
    _with(b'"rating": 4.5'),
    _with(b'"big": 123456789012345678901234567890'),
    _with(b'"huge": 1e400'),
    _with(b'"text_json": "{\\"a\\": 1}"'),
    _with(b'"unicode_extra": "caf\\u00e9"'),
    rb'{"\u0063oupon_escaped": "c"}',
    b'{"": "empty name", "_": "underscore"}',
    # nesting
    _with(b'"deep": ' + b"[" * 100_000 + b"]" * 100_000),
    _with(b'"deep": ' + b"[" * 600 + b"]" * 600),
    _with(b'"deep": ' + b"[" * 300 + b"]" * 300),
    _with(b'"deep": ' + b'{"a":' * 200 + b"1" + b"}" * 200),
    b'{"order_id": ' + b"[" * 5000 + b"]" * 5000 + b"}",
]


def _records(values, start=0):
    return [
        KafkaRecord("t", i % 3, start + i, 1_700_000_000_000 + i, f"k{i}".encode(), v)
        for i, v in enumerate(values)
    ]


def assert_same_as_reference(values, known_extra_columns=()):
    records = _records(values)
    batch = to_bronze_batch(records, NOW, DAY, known_extra_columns)
    expected, malformed, extras = reference_batch(records, known_extra_columns)
    assert batch.extra_columns == extras
    assert batch.malformed == malformed
    assert batch.table.schema == expected.schema
    actual = batch.table.combine_chunks()
    for name in expected.column_names:
        assert actual.column(name).to_pylist() == expected.column(name).to_pylist(), name
    assert actual.equals(expected.combine_chunks())


@pytest.mark.parametrize("index", range(len(TRICKY)))
def test_each_tricky_message_alone_and_among_clean_ones(index):
    tricky = TRICKY[index]
    assert_same_as_reference([tricky])
    clean = [_clean(i) for i in range(40)]
    assert_same_as_reference([*clean[:25], tricky, *clean[25:]])
    assert_same_as_reference([tricky, *clean, tricky])


@pytest.mark.parametrize(
    "known", [(), ("coupon",), ("Coupon", "meta", "gift_wrap"), tuple(f"c{i}" for i in range(64))]
)
@pytest.mark.parametrize("seed", range(4))
def test_mixed_batches_match_the_per_message_parse(seed, known, monkeypatch):
    rng = random.Random(seed)
    # small Arrow reads, so bad rows fall at range edges and rounds are exercised
    monkeypatch.setattr(bulk, "BULK_ROWS", rng.choice([7, 64, 4096]))
    values = [_clean(i) for i in range(600)]
    for _ in range(rng.randint(1, 60)):
        values.insert(rng.randrange(len(values) + 1), rng.choice(TRICKY))
    assert_same_as_reference(values, known)


def test_a_clean_batch_is_read_in_bulk_only():
    values = [_clean(i) for i in range(1000)]
    units, slow = bulk_parse(values, True, [])
    assert slow == []
    assert sum(len(u.rows) for u in units) == 1000
    assert_same_as_reference(values)


def test_a_few_bad_rows_do_not_send_their_neighbours_the_slow_way():
    values = [_clean(i) for i in range(1000)]
    for i in (0, 10, 500, 999):
        values[i] = _clean(i, total="not-a-number")
    units, slow = bulk_parse(values, True, [])
    assert slow == [0, 10, 500, 999]
    assert_same_as_reference(values)


def test_lone_surrogates_become_replacement_characters_instead_of_failing_the_batch():
    values = [rb'{"order_id": "a\ud800b", "coupon": ["\udfff"]}', b'{"order_id": "\xed\xa0\x80"}']
    batch = to_bronze_batch(_records(values), NOW, DAY)
    rows = batch.table.to_pylist()
    assert rows[0]["order_id"] == "a\ufffdb"
    assert rows[0]["coupon"] == '["\ufffd"]'
    # Encoded surrogate bytes are invalid UTF-8: the field reads as `_raw` does, byte by byte.
    assert rows[1]["order_id"] == "\ufffd\ufffd\ufffd"
    assert rows[1]["_raw"] == '{"order_id": "\ufffd\ufffd\ufffd"}'
    assert batch.malformed == 0
