"""Kafka messages -> typed Bronze rows (as an Arrow table), keeping every message.

Pure functions, no Spark and no Kafka: a payload that is not a JSON object, a value of the
wrong type or an unknown field never fails a batch. Fields keep the seed's types; a value of
another type is null in its column and stays in `_raw`; an unknown top-level field becomes a
string column at the end of the table (its JSON text when it is not a string).

Most batches are parsed in bulk by Arrow's JSON reader; a message it might read differently
from Python's `json` (see `_bulk_candidates` and `_BulkUnit`) goes through `parse_payload`, so
the table is the same whichever way a row went.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from fastcart_assets.schemas import ADDRESS_FIELDS, BRONZE_METADATA_COLUMNS, EVENT_SCHEMA

TIMESTAMP_UTC = pa.timestamp("us", tz="UTC")
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
# A new column must be a plain identifier, so any Delta table and SQL engine can hold it.
EXTRA_COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_EXTRA_COLUMNS = 64

_KNOWN_FIELDS = frozenset(EVENT_SCHEMA.fieldNames())
_RESERVED = {name.lower() for name in (*EVENT_SCHEMA.fieldNames(), *BRONZE_METADATA_COLUMNS)}


class KafkaRecord(NamedTuple):
    """One consumed message: its coordinates, key and value bytes (None = tombstone).

    A NamedTuple: a run builds one per message, and a frozen dataclass costs 3x more to make.
    """

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None
    key: bytes | None
    value: bytes | None


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


def _as_text(value: Any) -> str | None:
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
    size = len(records)
    values = [r.value for r in records]
    raw, all_utf8 = _strings(values)
    extras = list(known_extra_columns)
    units, slow_rows = _bulk_parse(values, all_utf8, extras)

    known = {name.lower() for name in extras}
    payloads = []
    malformed = 0
    for row in slow_rows:
        payload = parse_payload(values[row])
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

    # Every part holds the payload columns of some rows: the bulk units, then the slow rows.
    parts = [unit.columns(extras) for unit in units]
    objects = [{} if p is None else p for p in payloads]
    slow: dict[str, pa.Array] = {}
    for name in EVENT_SCHEMA.fieldNames():
        slow[name] = _typed_column([o.get(name) for o in objects], name)
    for name in extras:
        slow[name] = pa.array([_as_text(o.get(name)) for o in objects], type=pa.string())
    parts.append(slow)
    columns = _in_row_order(parts, [unit.rows for unit in units] + [slow_rows], size)

    columns["_raw"] = raw
    topics = {r.topic for r in records}
    columns["kafka_topic"] = (
        _repeat(topics.pop(), pa.string(), size)
        if len(topics) == 1
        else pa.array([r.topic for r in records], type=pa.string())
    )
    columns["kafka_partition"] = pa.array([r.partition for r in records], type=pa.int32())
    columns["kafka_offset"] = pa.array([r.offset for r in records], type=pa.int64())
    columns["kafka_timestamp"] = pc.multiply_checked(
        pa.array([r.timestamp_ms for r in records], type=pa.int64()), 1000
    ).cast(TIMESTAMP_UTC)
    columns["kafka_key"] = _strings([r.key for r in records])[0]
    if ingestion_timestamps:
        columns["ingestion_timestamp"] = pa.array(
            [
                ingestion_timestamps.get((r.partition, r.offset), ingestion_timestamp)
                for r in records
            ],
            type=TIMESTAMP_UTC,
        )
    else:
        columns["ingestion_timestamp"] = _repeat(ingestion_timestamp, TIMESTAMP_UTC, size)
    columns["ingestion_date"] = _repeat(ingestion_date, pa.date32(), size)

    schema = arrow_schema(extras)
    arrays = [columns[field.name] for field in schema]
    return BronzeBatch(pa.Table.from_arrays(arrays, schema=schema), malformed, extras)


def _strings(values: list[bytes | None]) -> tuple[pa.Array, bool]:
    """Bytes as a string column, and whether all were UTF-8 (else each is decoded on its own)."""
    try:
        return pa.array(values, type=pa.binary()).cast(pa.string()), True
    except pa.ArrowInvalid:
        return pa.array([_decode(v) for v in values], type=pa.string()), False


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _chunks(column: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    return column.chunks if isinstance(column, pa.ChunkedArray) else [column]


def _in_row_order(
    parts: list[dict[str, pa.Array | pa.ChunkedArray]], rows: list[list[int]], size: int
) -> dict[str, pa.Array | pa.ChunkedArray]:
    """The columns of `parts` put together in table order: row j of part i is table row
    `rows[i][j]` (-1: a row of no use, another part holds it)."""
    if list(itertools.chain.from_iterable(rows)) == list(range(size)):
        return {  # already in order, every row used
            name: pa.chunked_array(
                [chunk for part in parts for chunk in _chunks(part[name])], type=column.type
            )
            for name, column in parts[0].items()
        }
    order = [0] * size
    offset = 0
    for part_rows in rows:
        for local, row in enumerate(part_rows):
            if row >= 0:
                order[row] = offset + local
        offset += len(part_rows)
    indices = pa.array(order, type=pa.int64())
    return {
        name: pa.chunked_array(
            [chunk for part in parts for chunk in _chunks(part[name])], type=column.type
        ).take(indices)
        for name, column in parts[0].items()
    }


# --- Bulk parsing -------------------------------------------------------------------------------
#
# Arrow's JSON reader parses many messages per call (in C++, without the GIL). It is used only
# where it reads a message exactly as `parse_payload` and the converters would:
# - candidates (`_bulk_candidates`) are valid UTF-8, start with `{` and end with `}`, contain no
#   newline (one message = one line) and are short or hold few brackets (Arrow's reader
#   recurses: very deep nesting would crash it);
# - the payload fields have their Bronze types in the reader's schema, so a value of another type
#   is an error naming its row, which then goes the slow way (so do duplicate keys, lone
#   surrogates, numbers beyond a double and anything else Arrow refuses); any other error or a
#   row count that does not match splits the range, down to the slow way;
# - after a read (`_BulkUnit`), rows whose value Arrow cannot represent as Python would (a
#   non-finite double, a quantity read as a double, an extra column that is not a string) go
#   the slow way, and so does the whole range when it holds a field that could become a new
#   column (the order of new columns is the order in which rows name them). Arrow accepts the
#   NaN/Infinity literals, which are not JSON: in a field Bronze keeps they show as one of the
#   cases above, and a range with fields it drops has its rows holding `NaN`/`Inf` go slow.

MAX_BULK_BRACKETS = 64
MAX_UNCHECKED_LENGTH = 1024  # nesting depth <= 512: far from what would exhaust a thread's stack
BULK_ROWS = 4096  # messages per Arrow call
BULK_ROUNDS = 4
BULK_BYTES = 32 << 20
_BULK_SCHEMA = pa.schema(
    [
        pa.field(name, _FAST_TYPES.get(name, _STRING)[0])
        for name in EVENT_SCHEMA.fieldNames()
        if name != "quantity"  # inferred: Arrow's int32 reading cannot say which row failed
    ]
)
_BULK_PARSE = pa_json.ParseOptions(explicit_schema=_BULK_SCHEMA, unexpected_field_behavior="infer")
_BULK_FIELDS = frozenset(_BULK_SCHEMA.names)
_ERROR_ROW = re.compile(r"\bin row (\d+)\b")
_SPLIT_BELOW = 16  # a failing range smaller than this goes the slow way


def _bulk_candidates(values: list[bytes | None], all_utf8: bool) -> list[int]:
    """The rows Arrow may parse (see above): newlines are checked by the caller, NaN and
    Infinity after the read."""
    binary = pa.array(values, type=pa.binary())
    mask = pc.fill_null(pc.and_(pc.starts_with(binary, "{"), pc.ends_with(binary, "}")), False)
    long = pc.and_(mask, pc.greater(pc.binary_length(binary), MAX_UNCHECKED_LENGTH))
    rows = pc.indices_nonzero(mask).to_pylist()
    if pc.any(long).as_py():  # depth <= length / 2 for the others
        deep = {
            row
            for row in pc.indices_nonzero(long).to_pylist()
            if values[row].count(b"{") + values[row].count(b"[") > MAX_BULK_BRACKETS
        }
        rows = [row for row in rows if row not in deep]
    return rows if all_utf8 else [row for row in rows if _is_utf8(values[row])]


def _read_lines(data: memoryview) -> pa.Table:
    return pa_json.read_json(
        pa.BufferReader(pa.py_buffer(data)),
        read_options=pa_json.ReadOptions(use_threads=False, block_size=len(data) + 1),
        parse_options=_BULK_PARSE,
    )


def _bulk_parse(
    values: list[bytes | None], all_utf8: bool, known_extra_columns: list[str]
) -> tuple[list[_BulkUnit], list[int]]:
    """Parse what Arrow can: the units read in bulk, and the rows left to `parse_payload`.

    A read that fails on a row sends that row the slow way and goes on after it; the rows
    before it are read again in the next round, together (one read per few thousand rows
    whatever the number of bad rows). After `BULK_ROUNDS` rounds, what is left goes slow.
    """
    candidates = _bulk_candidates(values, all_utf8)
    slow = set(range(len(values))) - set(candidates)
    units: list[_BulkUnit] = []
    pending = candidates
    for _ in range(BULK_ROUNDS):
        if not pending:
            break
        pending = _bulk_round(values, pending, known_extra_columns, units, slow)
    slow.update(pending)
    return units, sorted(slow)


def _bulk_round(
    values: list[bytes | None],
    rows: list[int],
    known_extra_columns: list[str],
    units: list[_BulkUnit],
    slow: set[int],
) -> list[int]:
    """Read `rows` in ranges, adding to `units` and `slow`; the rows to read again."""
    lines = [values[row] for row in rows]
    joined = b"\n".join(lines)
    if joined.count(b"\n") != max(len(lines) - 1, 0):  # some message holds a newline
        slow.update(row for row in rows if b"\n" in values[row])
        rows = [row for row in rows if b"\n" not in values[row]]
        lines = [values[row] for row in rows]
        joined = b"\n".join(lines)
    buffer = memoryview(joined + b"\n")
    starts = [0, *itertools.accumulate(len(line) + 1 for line in lines)]

    todo = []
    hi = len(lines)
    while hi > 0:  # ranges of at most BULK_ROWS rows and about BULK_BYTES, last first
        lo = max(hi - BULK_ROWS, 0)
        while hi - lo > 1 and starts[hi] - starts[lo] > BULK_BYTES:
            lo = (lo + hi + 1) // 2
        todo.append((lo, hi))
        hi = lo
    again: list[int] = []

    def split(lo: int, hi: int) -> None:
        """A range that failed as a whole: read its halves, or send it the slow way if small."""
        if hi - lo < _SPLIT_BELOW:
            slow.update(rows[lo:hi])
        else:
            middle = (lo + hi) // 2
            todo.extend([(middle, hi), (lo, middle)])

    while todo:
        lo, hi = todo.pop()
        if lo >= hi:
            continue
        try:
            table = _read_lines(buffer[starts[lo] : starts[hi]])
        except (pa.ArrowException, ValueError) as exc:
            match = _ERROR_ROW.search(str(exc))
            bad = int(match.group(1)) if match else -1
            if 0 <= bad < hi - lo:
                slow.add(rows[lo + bad])
                again += rows[lo : lo + bad]
                todo.append((lo + bad + 1, hi))
            else:
                split(lo, hi)
            continue
        if table.num_rows != hi - lo:  # a line held more than one object
            split(lo, hi)
            continue
        unit = _BulkUnit(table, rows[lo:hi], lines[lo:hi], known_extra_columns)
        slow.update(unit.demoted)
        if len(unit.demoted) < hi - lo:
            units.append(unit)
    return again


class _BulkUnit:
    """Candidates as one Arrow read returned them, and which of them must go the slow way."""

    def __init__(
        self, table: pa.Table, rows: list[int], lines: list[bytes], known_extra_columns: list[str]
    ):
        self.table = table
        self.rows = rows
        size = len(rows)
        names = table.schema.names
        known_lower = {name.lower() for name in known_extra_columns}
        may_grow = len(known_extra_columns) < MAX_EXTRA_COLUMNS
        if may_grow and any(
            name not in _BULK_FIELDS
            and name.lower() not in _RESERVED
            and name.lower() not in known_lower
            and EXTRA_COLUMN_NAME.match(name)
            for name in names
        ):
            self.demoted = list(rows)  # a new column: its place depends on every row's keys
            return
        self.extra_columns = [name for name in known_extra_columns if name in names]
        slow = pa.repeat(pa.scalar(False), size)
        for name in ("price", "total"):
            slow = pc.or_(slow, pc.invert(pc.fill_null(pc.is_finite(table.column(name)), True)))
        quantity = table.schema.field("quantity").type if "quantity" in names else pa.null()
        if pa.types.is_floating(quantity):
            slow = pc.or_(slow, pc.is_valid(table.column("quantity")))  # 3 or 3.0?
        for name in self.extra_columns:
            if table.schema.field(name).type not in (pa.string(), pa.null()):
                slow = pc.or_(slow, pc.is_valid(table.column(name)))  # JSON text needed
        local = pc.indices_nonzero(slow).to_pylist() if pc.any(slow).as_py() else []
        # Where a value is dropped unseen (an address's or the payload's other fields, a nested
        # quantity), a NaN or Infinity would go unnoticed, though it makes the message malformed.
        unseen = pa.types.is_nested(quantity) or any(
            name not in _BULK_FIELDS and name != "quantity" and name not in self.extra_columns
            for name in names
        )
        if (
            unseen
            or table.schema.field("shipping_address").type != _FAST_TYPES["shipping_address"][0]
        ):
            local = sorted(
                {*local} | {i for i, line in enumerate(lines) if b"NaN" in line or b"Inf" in line}
            )
        self.demoted = [rows[i] for i in local]
        if local:
            self.rows = list(rows)
            for i in local:
                self.rows[i] = -1

    def columns(self, extra_columns: list[str]) -> dict[str, pa.ChunkedArray]:
        """The payload columns of every row of the unit (demoted rows hold anything)."""
        table = self.table
        size = table.num_rows
        columns = {}
        for name in EVENT_SCHEMA.fieldNames():
            arrow_type = _FAST_TYPES.get(name, _STRING)[0]
            if name == "quantity":
                columns[name] = _quantity(table, size)
            elif table.schema.field(name).type == arrow_type:
                columns[name] = table.column(name)
            else:  # an address with more fields than Bronze keeps
                columns[name] = pa.chunked_array(
                    [_address(chunk, arrow_type) for chunk in table.column(name).chunks],
                    type=arrow_type,
                )
        for name in extra_columns:
            if name in self.extra_columns and table.schema.field(name).type == pa.string():
                columns[name] = table.column(name)
            else:
                columns[name] = pa.chunked_array([pa.nulls(size, pa.string())])
        return columns


def _quantity(table: pa.Table, size: int) -> pa.ChunkedArray:
    """Quantities in int32 range as they are; other integers and non-numbers null (a quantity
    read as a double went the slow way)."""
    if "quantity" not in table.schema.names:
        return pa.chunked_array([pa.nulls(size, pa.int32())])
    column = table.column("quantity")
    if not pa.types.is_integer(column.type):
        return pa.chunked_array([pa.nulls(size, pa.int32())])
    in_range = pc.and_(pc.greater_equal(column, INT32_MIN), pc.less_equal(column, INT32_MAX))
    return pc.if_else(in_range, column, pa.scalar(None, column.type)).cast(pa.int32())


def _address(chunk: pa.StructArray, arrow_type: pa.StructType) -> pa.StructArray:
    children = [pc.struct_field(chunk, [chunk.type.get_field_index(f.name)]) for f in arrow_type]
    return pa.StructArray.from_arrays(children, fields=list(arrow_type), mask=chunk.is_null())
