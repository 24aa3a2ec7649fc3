"""Order-event payloads parsed in bulk by Arrow's JSON reader (about 3x faster per batch).

Arrow's JSON reader parses many messages per call (in C++, without the GIL). It is used only
where it reads a message exactly as `payload.parse_payload` and the converters would (every
other message is returned as a slow row, for that per-message path):
- candidates (`_bulk_candidates`) are valid UTF-8, start with `{` and end with `}`, contain no
  newline (one message = one line) and are short or hold few brackets (Arrow's reader
  recurses: very deep nesting would crash it);
- the payload fields have their Bronze types in the reader's schema, so a value of another type
  is an error naming its row, which then goes the slow way (so do duplicate keys, lone
  surrogates, numbers beyond a double and anything else Arrow refuses); any other error or a
  row count that does not match splits the range, down to the slow way;
- after a read (`BulkUnit`), rows whose value Arrow cannot represent as Python would (a
  non-finite double, a quantity read as a double, an extra column that is not a string) go
  the slow way, and so does the whole range when it holds a field that could become a new
  column (the order of new columns is the order in which rows name them). Arrow accepts the
  NaN/Infinity literals, which are not JSON: in a field Bronze keeps they show as one of the
  cases above, and a range with fields it drops has its rows holding `NaN`/`Inf` go slow.
"""

from __future__ import annotations

import itertools
import re

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from fastcart_assets.bronze.payload import (
    EVENT_TYPES,
    EXTRA_COLUMN_NAME,
    INT32_MAX,
    INT32_MIN,
    MAX_EXTRA_COLUMNS,
    RESERVED,
)
from fastcart_assets.schemas import EVENT_SCHEMA

MAX_BULK_BRACKETS = 64
MAX_UNCHECKED_LENGTH = 1024  # nesting depth <= 512: far from what would exhaust a thread's stack
BULK_ROWS = 4096  # messages per Arrow call
BULK_ROUNDS = 4
BULK_BYTES = 32 << 20
_BULK_SCHEMA = pa.schema(
    [
        pa.field(name, EVENT_TYPES[name])
        for name in EVENT_SCHEMA.fieldNames()
        if name != "quantity"  # inferred: Arrow's int32 reading cannot say which row failed
    ]
)
_BULK_PARSE = pa_json.ParseOptions(explicit_schema=_BULK_SCHEMA, unexpected_field_behavior="infer")
_BULK_FIELDS = frozenset(_BULK_SCHEMA.names)
_ERROR_ROW = re.compile(r"\bin row (\d+)\b")
_SPLIT_BELOW = 16  # a failing range smaller than this goes the slow way


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


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


def bulk_parse(
    values: list[bytes | None], all_utf8: bool, known_extra_columns: list[str]
) -> tuple[list[BulkUnit], list[int]]:
    """Parse what Arrow can: the units read in bulk, and the rows left to `parse_payload`.

    A read that fails on a row sends that row the slow way and goes on after it; the rows
    before it are read again in the next round, together (one read per few thousand rows
    whatever the number of bad rows). After `BULK_ROUNDS` rounds, what is left goes slow.
    """
    candidates = _bulk_candidates(values, all_utf8)
    slow = set(range(len(values))) - set(candidates)
    units: list[BulkUnit] = []
    pending = candidates
    for _ in range(BULK_ROUNDS):
        if not pending:
            break
        pending = _bulk_round(values, pending, known_extra_columns, units, slow)
    slow.update(pending)
    return units, sorted(slow)


def _one_per_line(
    values: list[bytes | None], rows: list[int], slow: set[int]
) -> tuple[list[int], list[bytes], bytes]:
    """The rows without a newline (the others go to `slow`), their values, and the values
    joined one per line (each line ended by a newline, without copying them twice)."""
    lines = [values[row] for row in rows]
    joined = b"\n".join([*lines, b""])
    if joined.count(b"\n") != len(lines):  # some message holds a newline
        slow.update(row for row in rows if b"\n" in values[row])
        rows = [row for row in rows if b"\n" not in values[row]]
        lines = [values[row] for row in rows]
        joined = b"\n".join([*lines, b""])
    return rows, lines, joined


def _ranges(starts: list[int]) -> list[tuple[int, int]]:
    """Line ranges of at most BULK_ROWS rows and about BULK_BYTES, the last one first."""
    todo = []
    hi = len(starts) - 1
    while hi > 0:
        lo = max(hi - BULK_ROWS, 0)
        while hi - lo > 1 and starts[hi] - starts[lo] > BULK_BYTES:
            lo = (lo + hi + 1) // 2
        todo.append((lo, hi))
        hi = lo
    return todo


def _bulk_round(
    values: list[bytes | None],
    rows: list[int],
    known_extra_columns: list[str],
    units: list[BulkUnit],
    slow: set[int],
) -> list[int]:
    """Read `rows` in ranges, adding to `units` and `slow`; the rows to read again."""
    rows, lines, joined = _one_per_line(values, rows, slow)
    buffer = memoryview(joined)
    starts = [0, *itertools.accumulate(len(line) + 1 for line in lines)]
    todo = _ranges(starts)
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
        unit = BulkUnit(table, rows[lo:hi], lines[lo:hi], known_extra_columns)
        slow.update(unit.demoted)
        if len(unit.demoted) < hi - lo:
            units.append(unit)
    return again


class BulkUnit:
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
            and name.lower() not in RESERVED
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
        if unseen or table.schema.field("shipping_address").type != EVENT_TYPES["shipping_address"]:
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
            arrow_type = EVENT_TYPES[name]
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
