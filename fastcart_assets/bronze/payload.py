"""One message's payload -> typed Bronze values (the per-message path of the order events).

Pure functions, no Spark and no Kafka: a payload that is not a JSON object, a value of the
wrong type or an unknown field never fails a batch. Fields keep the seed's types; a value of
another type is null in its column and stays in `_raw`; an unknown top-level field becomes a
string column at the end of the table (its JSON text when it is not a string).

`bronze.bulk` parses most messages in bulk with Arrow and sends here every message it might
read differently, so the table is the same whichever way a row went.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from fastcart_assets.bronze.records import arrow_schema
from fastcart_assets.schemas import ADDRESS_FIELDS, BRONZE_METADATA_COLUMNS, EVENT_SCHEMA

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
# A new column must be a plain identifier, so any Delta table and SQL engine can hold it.
EXTRA_COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_EXTRA_COLUMNS = 64

KNOWN_FIELDS = frozenset(EVENT_SCHEMA.fieldNames())
# Names an unknown field cannot take as a column (case-insensitive, like SQL).
RESERVED = {name.lower() for name in (*EVENT_SCHEMA.fieldNames(), *BRONZE_METADATA_COLUMNS)}
EVENT_TYPES = {field.name: field.type for field in arrow_schema(EVENT_SCHEMA)}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_LONG_NUMBER = re.compile(rb"[0-9]{19}")


def parse_payload(value: bytes | None) -> dict[str, Any] | None:
    """The payload as a dict, or None when it is null, empty, not JSON or not a JSON object.

    The payload is read as its `_raw` text (UTF-8, an invalid byte read as U+FFFD), so that
    Bronze and Silver, which only has `_raw`, agree on what is a JSON object: a byte-order mark
    or UTF-16 makes a payload malformed, a stray Latin-1 byte in a string does not.
    """
    if not value:
        return None
    try:
        if _LONG_NUMBER.search(value):  # orjson reads integers beyond 64 bits as floats
            raise orjson.JSONDecodeError("long integer", "", 0)
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError:
        # The stdlib decides what orjson refuses or would read inexactly, with NaN/Infinity
        # refused since they are not JSON.
        try:
            text = value.decode("utf-8", errors="replace")
            parsed = json.loads(text, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            return None
        if isinstance(parsed, dict):
            # The stdlib keeps lone surrogates ("\ud800", or their UTF-8 bytes), which no
            # string column can hold: each becomes U+FFFD instead of failing the batch.
            parsed = _without_surrogates(parsed)
    return parsed if isinstance(parsed, dict) else None


_SURROGATE = re.compile("[\ud800-\udfff]")


def _without_surrogates(parsed: Any) -> Any:
    """A copy of a parsed JSON value with every surrogate code point in its strings (keys too)
    replaced by U+FFFD; iterative, so any depth the parser accepted is fine."""

    def clean(text: str) -> str:
        return _SURROGATE.sub("\ufffd", text)

    todo: list[tuple[Any, Any]] = []

    def shell(value: Any) -> Any:
        if isinstance(value, str):
            return clean(value)
        if isinstance(value, dict | list):
            copy = type(value)()
            todo.append((value, copy))
            return copy
        return value

    root = shell(parsed)
    while todo:
        source, target = todo.pop()
        if isinstance(source, dict):
            for key, value in source.items():
                target[clean(key)] = shell(value)
        else:
            target.extend(shell(value) for value in source)
    return root


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


def as_text(value: Any) -> str | None:
    """An unknown field's value as text: strings as they are, anything else as JSON (null when
    it is nested too deep to serialize; the value stays in `_raw`)."""
    if value is None or isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except RecursionError:
        return None


_CONVERTERS = {
    "quantity": _as_int32,
    "price": _as_double,
    "total": _as_double,
    "shipping_address": _as_address,
}


_NONE = type(None)
# Python types a field's values may have for one Arrow call to convert them exactly.
_FAST_TYPES = {
    "quantity": {int, _NONE},
    "price": {int, float, _NONE},
    "total": {int, float, _NONE},
    "shipping_address": {dict, _NONE},
}


def typed_column(values: list[Any], name: str) -> pa.Array:
    """`values` as the Arrow column of field `name`, wrong-typed values null.

    The common case (every value already of the right type) converts in one Arrow call; a column
    holding anything else goes value by value through the field's converter.
    """
    arrow_type = EVENT_TYPES[name]
    # Exact types: bool is not int, for instance.
    if set(map(type, values)) <= _FAST_TYPES.get(name, {str, _NONE}):
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
        name for name in payload if name.lower() not in RESERVED and EXTRA_COLUMN_NAME.match(name)
    ]
