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
import pyarrow.compute as pc

from fastcart_assets.schemas import ADDRESS_FIELDS, BRONZE_METADATA_COLUMNS, EVENT_SCHEMA

TIMESTAMP_UTC = pa.timestamp("us", tz="UTC")
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
# A new column must be a plain identifier, so any Delta table and SQL engine can hold it.
EXTRA_COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_EXTRA_COLUMNS = 64

_KNOWN_FIELDS = frozenset(EVENT_SCHEMA.fieldNames())
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


_NONE = type(None)
_FAST_TYPES = {
    "quantity": (pa.int32(), {int, _NONE}),
    "price": (pa.float64(), {int, float, _NONE}),
    "total": (pa.float64(), {int, float, _NONE}),
    "shipping_address": (pa.struct([(n, pa.string()) for n in ADDRESS_FIELDS]), {dict, _NONE}),
}
_STRING = (pa.string(), {str, _NONE})


def _typed_column(values: list[Any], name: str) -> pa.Array:
    """`values` as the Arrow column of field `name`, wrong-typed values null.

    The common case (every value already of the right type) converts in one Arrow call; a column
    holding anything else goes value by value through the field's converter.
    """
    arrow_type, allowed = _FAST_TYPES.get(name, _STRING)
    if set(map(type, values)) <= allowed:  # exact types: bool is not int, for instance
        try:
            column = pa.array(values, type=arrow_type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            pass  # out of range, or a struct holding non-strings
        else:
            if pa.types.is_floating(arrow_type):
                finite = pc.is_finite(column)
                if not pc.all(finite).as_py():
                    column = pc.if_else(finite, column, pa.scalar(None, arrow_type))
            return column
    convert = _CONVERTERS.get(name, _as_string)
    return pa.array([convert(v) for v in values], type=arrow_type)


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
        pa.field("kafka_timestamp", TIMESTAMP_UTC),
        pa.field("kafka_key", pa.string()),
        pa.field("ingestion_timestamp", TIMESTAMP_UTC, nullable=False),
        pa.field("ingestion_date", pa.date32(), nullable=False),
    ]
    # Schema evolution appends new columns at the end of the table: keep that order here.
    fields += [pa.field(name, pa.string()) for name in extra_columns]
    return pa.schema(fields)


def _repeat(value: Any, arrow_type: pa.DataType, size: int) -> pa.Array:
    return pa.repeat(pa.scalar(value, type=arrow_type), size)


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
        if payload.keys() <= _KNOWN_FIELDS:
            continue
        for name in extra_fields(payload):
            if name.lower() not in known and len(extras) < MAX_EXTRA_COLUMNS:
                extras.append(name)
                known.add(name.lower())

    objects = [{} if p is None else p for p in payloads]
    columns: dict[str, pa.Array | list[Any]] = {}
    for name in EVENT_SCHEMA.fieldNames():
        columns[name] = _typed_column([o.get(name) for o in objects], name)
    for name in extras:
        columns[name] = [_as_text(o.get(name)) for o in objects]
    columns["_raw"] = [_decode(r.value) for r in records]
    topics = {r.topic for r in records}
    columns["kafka_topic"] = (
        _repeat(topics.pop(), pa.string(), len(records))
        if len(topics) == 1
        else [r.topic for r in records]
    )
    columns["kafka_partition"] = [r.partition for r in records]
    columns["kafka_offset"] = [r.offset for r in records]
    columns["kafka_timestamp"] = [
        None if r.timestamp_ms is None else r.timestamp_ms * 1000 for r in records
    ]
    columns["kafka_key"] = [_decode(r.key) for r in records]
    if ingestion_timestamps:
        columns["ingestion_timestamp"] = [
            ingestion_timestamps.get((r.partition, r.offset), ingestion_timestamp) for r in records
        ]
    else:
        columns["ingestion_timestamp"] = _repeat(ingestion_timestamp, TIMESTAMP_UTC, len(records))
    columns["ingestion_date"] = _repeat(ingestion_date, pa.date32(), len(records))

    schema = arrow_schema(extras)
    arrays = [
        column
        if isinstance(column := columns[field.name], pa.Array)
        else pa.array(column, type=field.type)
        for field in schema
    ]
    return BronzeBatch(pa.Table.from_arrays(arrays, schema=schema), malformed, extras)
