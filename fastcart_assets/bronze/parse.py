"""Kafka messages -> typed Bronze rows (as an Arrow table), keeping every message.

Pure functions, no Spark and no Kafka: a payload that is not a JSON object, a value of the
wrong type or an unknown field never fails a batch. Fields keep the seed's types; a value of
another type is null in its column and stays in `_raw`; an unknown top-level field becomes a
string column at the end of the table (its JSON text when it is not a string).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
import pyarrow as pa

from fastcart_assets.schemas import ADDRESS_FIELDS, BRONZE_METADATA_COLUMNS, EVENT_SCHEMA

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
# A new column must be a plain identifier, so any Delta table and SQL engine can hold it.
EXTRA_COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_EXTRA_COLUMNS = 64

_RESERVED = {name.lower() for name in (*EVENT_SCHEMA.fieldNames(), *BRONZE_METADATA_COLUMNS)}


@dataclass(frozen=True)
class KafkaRecord:
    """One consumed message: its coordinates, key and value bytes (None = tombstone)."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None
    key: bytes | None
    value: bytes | None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_payload(value: bytes | None) -> dict[str, Any] | None:
    """The payload as a dict, or None when it is null, empty, not JSON or not a JSON object."""
    if not value:
        return None
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError:
        # orjson refuses some valid JSON (integers beyond 64 bits); the stdlib decides then,
        # with NaN/Infinity refused since they are not JSON.
        try:
            parsed = json.loads(value, parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None
    return parsed if isinstance(parsed, dict) else None


def _as_string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _as_int32(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and INT32_MIN <= value <= INT32_MAX:
        return value
    return None


def _as_double(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _as_address(value: Any) -> dict[str, str | None] | None:
    if not isinstance(value, dict):
        return None
    return {name: _as_string(value.get(name)) for name in ADDRESS_FIELDS}


def _as_text(value: Any) -> str | None:
    """An unknown field's value as text: strings as they are, anything else as JSON."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


_CONVERTERS = {
    "quantity": _as_int32,
    "price": _as_double,
    "total": _as_double,
    "shipping_address": _as_address,
}


def extra_fields(payload: dict[str, Any]) -> list[str]:
    """Top-level fields of a payload that are not part of the Bronze schema and may be columns."""
    return [
        name for name in payload if name.lower() not in _RESERVED and EXTRA_COLUMN_NAME.match(name)
    ]


def arrow_schema(extra_columns: Iterable[str] = ()) -> pa.Schema:
    """The Arrow schema of a Bronze batch; extra columns are strings after the payload fields."""
    address = pa.struct([(name, pa.string()) for name in ADDRESS_FIELDS])
    payload_types = {
        "quantity": pa.int32(),
        "price": pa.float64(),
        "total": pa.float64(),
        "shipping_address": address,
    }
    fields = [
        pa.field(name, payload_types.get(name, pa.string())) for name in EVENT_SCHEMA.fieldNames()
    ]
    fields += [
        pa.field("_raw", pa.string()),
        pa.field("kafka_topic", pa.string(), nullable=False),
        pa.field("kafka_partition", pa.int32(), nullable=False),
        pa.field("kafka_offset", pa.int64(), nullable=False),
        pa.field("kafka_timestamp", pa.timestamp("us", tz="UTC")),
        pa.field("kafka_key", pa.string()),
        pa.field("ingestion_timestamp", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("ingestion_date", pa.date32(), nullable=False),
    ]
    # Schema evolution appends new columns at the end of the table: keep that order here.
    fields += [pa.field(name, pa.string()) for name in extra_columns]
    return pa.schema(fields)


def _decode(data: bytes | None) -> str | None:
    # Invalid UTF-8 cannot live in a string column: such bytes become U+FFFD in `_raw`.
    return None if data is None else data.decode("utf-8", errors="replace")


@dataclass
class BronzeBatch:
    """A batch ready to append: the rows plus what the run reports about them."""

    table: pa.Table
    malformed: int
    extra_columns: list[str]


def to_bronze_batch(
    records: list[KafkaRecord],
    ingestion_timestamp: datetime,
    ingestion_date: date,
    known_extra_columns: Iterable[str] = (),
    ingestion_timestamps: dict[tuple[int, int], datetime] | None = None,
) -> BronzeBatch:
    """Turn consumed messages into one Bronze row each.

    Args:
        records: the messages, any order.
        ingestion_timestamp: when the batch is written.
        ingestion_date: the Bronze partition the rows belong to.
        known_extra_columns: unknown-field columns the table already has (kept in every batch,
            so a batch without them still lines up with the table).
        ingestion_timestamps: per (partition, offset), a timestamp to keep instead of
            `ingestion_timestamp` (a replayed partition keeps its original write times).
    """
    extras = list(known_extra_columns)
    known = {name.lower() for name in extras}
    payloads = []
    malformed = 0
    for record in records:
        payload = parse_payload(record.value)
        payloads.append(payload)
        if payload is None:
            malformed += 1
            continue
        for name in extra_fields(payload):
            if name.lower() not in known and len(extras) < MAX_EXTRA_COLUMNS:
                extras.append(name)
                known.add(name.lower())

    columns: dict[str, list[Any]] = {}
    for name in EVENT_SCHEMA.fieldNames():
        convert = _CONVERTERS.get(name, _as_string)
        columns[name] = [None if p is None else convert(p.get(name)) for p in payloads]
    for name in extras:
        columns[name] = [None if p is None else _as_text(p.get(name)) for p in payloads]
    columns["_raw"] = [_decode(r.value) for r in records]
    columns["kafka_topic"] = [r.topic for r in records]
    columns["kafka_partition"] = [r.partition for r in records]
    columns["kafka_offset"] = [r.offset for r in records]
    columns["kafka_timestamp"] = [
        None if r.timestamp_ms is None else r.timestamp_ms * 1000 for r in records
    ]
    columns["kafka_key"] = [_decode(r.key) for r in records]
    kept = ingestion_timestamps or {}
    columns["ingestion_timestamp"] = [
        kept.get((r.partition, r.offset), ingestion_timestamp) for r in records
    ]
    columns["ingestion_date"] = [ingestion_date] * len(records)

    schema = arrow_schema(extras)
    arrays = [pa.array(columns[field.name], type=field.type) for field in schema]
    return BronzeBatch(pa.Table.from_arrays(arrays, schema=schema), malformed, extras)
