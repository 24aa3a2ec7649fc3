"""Kafka records of the CDC topic -> one Bronze CDC row each (an Arrow table), keeping every record.

Pure functions, no Spark and no Kafka, the counterpart of `bronze.parse` for BRONZE_CDC_SCHEMA:
a tombstone (null value) is a row with a null `_raw`; a value that is not a JSON object keeps
null envelope columns and its `_raw` text; a field of the wrong type is null in its column and
stays in `_raw`; fields the schema does not name stay only in `_raw` (the envelope's shape is
Debezium's, so Bronze CDC has no schema evolution). The key is kept byte for byte; its order_id
is read when it is Debezium's JSON key. A value or key wrapped by Kafka Connect's JSON converter
with schemas enabled (`{"schema": …, "payload": …}`) is read through its payload.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
from pyspark.sql.types import (
    ArrayType,
    BinaryType,
    BooleanType,
    DataType,
    DateType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructType,
    TimestampType,
)

from fastcart_assets.bronze.parse import BronzeBatch, KafkaRecord, parse_payload
from fastcart_assets.cdc.schemas import BRONZE_CDC_SCHEMA, CDC_SOURCE, ORDER_ROW

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
# Kafka record timestamps a timestamp column can hold (after year 1970, before year 10000).
MAX_TIMESTAMP_MS = 253_402_300_799_999


def arrow_type(data_type: DataType) -> pa.DataType:
    """The Arrow type of a Spark type (the types the CDC schemas use)."""
    simple = {
        StringType: pa.string(),
        IntegerType: pa.int32(),
        LongType: pa.int64(),
        DoubleType: pa.float64(),
        BooleanType: pa.bool_(),
        BinaryType: pa.binary(),
        DateType: pa.date32(),
        TimestampType: pa.timestamp("us", tz="UTC"),
    }
    if isinstance(data_type, StructType):
        return pa.struct([pa.field(f.name, arrow_type(f.dataType)) for f in data_type.fields])
    if isinstance(data_type, ArrayType):
        return pa.list_(arrow_type(data_type.elementType))
    return simple[type(data_type)]


def arrow_schema(schema: StructType) -> pa.Schema:
    """The Arrow schema of a Spark schema, nullability of top-level fields kept."""
    return pa.schema([pa.field(f.name, arrow_type(f.dataType), f.nullable) for f in schema.fields])


BRONZE_CDC_ARROW_SCHEMA = arrow_schema(BRONZE_CDC_SCHEMA)


def _typed(value: Any, data_type: DataType) -> Any:
    """`value` if it has the JSON type `data_type` stands for (integers in range), else None."""
    if isinstance(data_type, StringType):
        return value if isinstance(value, str) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(data_type, DoubleType):
        try:
            number = float(value)
        except OverflowError:
            return None
        return number if math.isfinite(number) else None
    low, high = INT32 if isinstance(data_type, IntegerType) else INT64
    return value if isinstance(value, int) and low <= value <= high else None


def _struct(value: Any, schema: StructType) -> dict[str, Any] | None:
    """A JSON object as a dict of the schema's fields, typed; None when it is not an object."""
    if not isinstance(value, dict):
        return None
    return {f.name: _typed(value.get(f.name), f.dataType) for f in schema.fields}


def _unwrapped(parsed: dict[str, Any] | None) -> dict[str, Any] | None:
    """The payload of a `{"schema": …, "payload": {…}}` value, else the value itself."""
    if parsed is not None and parsed.keys() == {"schema", "payload"}:
        payload = parsed["payload"]
        return payload if isinstance(payload, dict) else None
    return parsed


def key_order_id(key: bytes | None) -> str | None:
    """The order_id of Debezium's JSON key `{"order_id": "…"}`, else None."""
    parsed = _unwrapped(parse_payload(key))
    return _typed(parsed.get("order_id"), StringType()) if parsed else None


def _envelope(value: bytes | None) -> dict[str, Any] | None:
    """The envelope fields of a value, typed; None for a tombstone or a value that is not an
    object."""
    parsed = _unwrapped(parse_payload(value))
    if parsed is None:
        return None
    return {
        "before": _struct(parsed.get("before"), ORDER_ROW),
        "after": _struct(parsed.get("after"), ORDER_ROW),
        "source": _struct(parsed.get("source"), CDC_SOURCE),
        "op": _typed(parsed.get("op"), StringType()),
        "ts_ms": _typed(parsed.get("ts_ms"), LongType()),
    }


def _kafka_timestamp(timestamp_ms: int | None) -> datetime | None:
    if timestamp_ms is None or not 0 < timestamp_ms <= MAX_TIMESTAMP_MS:
        return None
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC)


def to_bronze_cdc_batch(
    records: list[KafkaRecord],
    ingestion_timestamp: datetime,
    ingestion_date: date,
    known_extra_columns: Iterable[str] = (),
    ingestion_timestamps: dict[tuple[int, int], datetime] | None = None,
) -> BronzeBatch:
    """Turn consumed CDC records into one Bronze CDC row each.

    The signature is `bronze.parse.to_bronze_batch`'s, so the shared ingestion can use either.

    Args:
        records: the records, any order; a null value is a tombstone.
        ingestion_timestamp: when the batch is written.
        ingestion_date: the Bronze partition the rows belong to.
        known_extra_columns: ignored: the envelope's columns are fixed (no schema evolution).
        ingestion_timestamps: per (partition, offset), a timestamp to keep instead of
            `ingestion_timestamp` (a replayed partition keeps its original write times).

    Returns:
        The rows as BRONZE_CDC_SCHEMA; `malformed` counts values that are not JSON objects
        (tombstones are not malformed); `extra_columns` is always empty.
    """
    del known_extra_columns
    kept = ingestion_timestamps or {}
    columns: dict[str, list[Any]] = {name: [] for name in BRONZE_CDC_ARROW_SCHEMA.names}
    malformed = 0
    empty = dict.fromkeys(("before", "after", "source", "op", "ts_ms"))
    for record in records:
        envelope = _envelope(record.value)
        if envelope is None and record.value is not None:
            malformed += 1
        for name, value in (envelope or empty).items():
            columns[name].append(value)
        raw = None if record.value is None else record.value.decode("utf-8", errors="replace")
        columns["_raw"].append(raw)
        columns["kafka_topic"].append(record.topic)
        columns["kafka_partition"].append(record.partition)
        columns["kafka_offset"].append(record.offset)
        columns["kafka_timestamp"].append(_kafka_timestamp(record.timestamp_ms))
        columns["kafka_key"].append(record.key)
        columns["key_order_id"].append(key_order_id(record.key))
        written = kept.get((record.partition, record.offset), ingestion_timestamp)
        columns["ingestion_timestamp"].append(written)
        columns["ingestion_date"].append(ingestion_date)
    arrays = [
        _struct_array(columns[f.name], f.type)
        if pa.types.is_struct(f.type)
        else pa.array(columns[f.name], type=f.type)
        for f in BRONZE_CDC_ARROW_SCHEMA
    ]
    table = pa.Table.from_arrays(arrays, schema=BRONZE_CDC_ARROW_SCHEMA)
    return BronzeBatch(table=table, malformed=malformed, extra_columns=[])


def _struct_array(values: list[dict[str, Any] | None], struct: pa.StructType) -> pa.StructArray:
    """A struct column whose fields are null wherever the struct is: Sail reads a field of a
    null struct from the child array alone (pyarrow may leave a value there)."""
    children = [
        pa.array([None if v is None else v[f.name] for v in values], type=f.type) for f in struct
    ]
    mask = pa.array([v is None for v in values], type=pa.bool_())
    return pa.StructArray.from_arrays(children, fields=list(struct), mask=mask)
