"""Kafka records of the CDC topic -> Bronze CDC rows: the payload parser of `bronze/orders_cdc`.

`order_change_columns` is the table's `PayloadParser` (bronze.records) and `ORDER_CHANGES` the
table for the shared Bronze ingestion (bronze.ingest, bronze.replay), which adds the Kafka and
ingestion columns every Bronze table has. Pure functions, no Spark and no Kafka: a tombstone
(null value) is a row with a null `_raw`; a value that is not a JSON object keeps null envelope
columns and its `_raw` text; a field of the wrong type is null in its column and stays in
`_raw`; fields the schema does not name stay only in `_raw` (the envelope's shape is Debezium's,
so Bronze CDC has no schema evolution). The key's order_id is read when the key is Debezium's
JSON key. A value or key wrapped by Kafka Connect's JSON converter with schemas enabled
(`{"schema": …, "payload": …}`) is read through its payload.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import pyarrow as pa
from pyspark.sql.types import DataType, DoubleType, IntegerType, LongType, StringType, StructType

from fastcart_assets.bronze.payload import parse_payload
from fastcart_assets.bronze.records import (
    BronzeBatch,
    KafkaRecord,
    PayloadColumns,
    arrow_schema,
    build_batch,
    decode_utf8,
)
from fastcart_assets.bronze.table import BronzeTable
from fastcart_assets.cdc.schemas import BRONZE_CDC_SCHEMA, CDC_SOURCE, ENVELOPE, ORDER_ROW

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
_ARROW = arrow_schema(BRONZE_CDC_SCHEMA)


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


def order_change_columns(
    records: list[KafkaRecord], known_extra_columns: list[str]
) -> PayloadColumns:
    """The envelope columns, `key_order_id` and `_raw` of change records, one row per record.

    Args:
        records: the records, any order; a null value is a tombstone.
        known_extra_columns: ignored: the envelope's columns are fixed (no schema evolution).

    Returns:
        The payload columns; `malformed` counts values that are not JSON objects (tombstones are
        not malformed); no extra columns.
    """
    del known_extra_columns
    envelopes = [_envelope(record.value) for record in records]
    malformed = sum(
        e is None and r.value is not None for e, r in zip(envelopes, records, strict=True)
    )
    columns: dict[str, pa.Array] = {}
    for field in ENVELOPE.fields:
        arrow = _ARROW.field(field.name).type
        values = [None if e is None else e[field.name] for e in envelopes]
        columns[field.name] = (
            _struct_array(values, arrow) if pa.types.is_struct(arrow) else pa.array(values, arrow)
        )
    columns["key_order_id"] = pa.array([key_order_id(r.key) for r in records], pa.string())
    columns["_raw"] = decode_utf8([r.value for r in records])[0]
    return PayloadColumns(columns, malformed, [])


ORDER_CHANGES = BronzeTable(
    schema=BRONZE_CDC_SCHEMA, parse=order_change_columns, consumer_group="fastcart-bronze-cdc"
)


def to_bronze_cdc_batch(
    records: list[KafkaRecord],
    ingestion_timestamp: datetime,
    ingestion_date: date,
    known_extra_columns: Iterable[str] = (),
    ingestion_timestamps: dict[tuple[int, int], datetime] | None = None,
    *,
    incarnation: int = 1,
) -> BronzeBatch:
    """Turn consumed change records into one `bronze/orders_cdc` row each, as the shared Bronze
    ingestion writes them. See `bronze.records.build_batch` for the arguments."""
    return build_batch(
        records,
        order_change_columns,
        BRONZE_CDC_SCHEMA,
        ingestion_timestamp,
        ingestion_date,
        incarnation=incarnation,
        known_extra_columns=known_extra_columns,
        ingestion_timestamps=ingestion_timestamps,
    )


def _struct_array(values: list[dict[str, Any] | None], struct: pa.StructType) -> pa.StructArray:
    """A struct column whose fields are null wherever the struct is: Sail reads a field of a
    null struct from the child array alone (pyarrow may leave a value there)."""
    children = [
        pa.array([None if v is None else v[f.name] for v in values], type=f.type) for f in struct
    ]
    mask = pa.array([v is None for v in values], type=pa.bool_())
    return pa.StructArray.from_arrays(children, fields=list(struct), mask=mask)
