"""Kafka records -> Bronze rows (Arrow), for any Bronze table: the columns every table shares.

A Bronze table is its payload columns (a table's own `PayloadParser`) plus the columns this
module builds from the record itself, whatever its content or metadata:

- `kafka_topic`, `kafka_partition`, `kafka_offset`, `kafka_incarnation`: the record's identity;
- `kafka_timestamp`: the record timestamp, null when it is not a positive instant that a
  calendar can hold (negative, zero, beyond year 9999: a producer bug or a clock in ns);
- `kafka_key` (readable: invalid UTF-8 as U+FFFD) and `kafka_key_bytes` (exact);
- `kafka_headers`: every header in order, duplicates and null values kept; null when the
  client could not decode a header key (see `from_message`);
- `ingestion_timestamp`, `ingestion_date`.

The Arrow schema is derived from the table's Spark schema (`arrow_schema`), never written twice.
Pure functions: no Spark, no Kafka connection.
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc
from confluent_kafka import Message
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.types import StructType

from fastcart_assets.schemas import INGESTION_COLUMNS, KAFKA_COLUMNS

log = logging.getLogger(__name__)

# Record timestamps a TIMESTAMP column (and Python's datetime) can hold: 1 ms after the epoch
# through 9999-12-31T23:59:59.999Z. Kafka's "no timestamp" is -1; 0 and negatives are bogus.
MAX_TIMESTAMP_MS = 253_402_300_799_999
RECORD_OVERHEAD_BYTES = 128  # per message, beyond key, value and headers, for batch accounting

Header = tuple[str, bytes | None]
# `Message.headers()` fails on a key that is not UTF-8 by returning a value with an exception
# set. Called from hot code, CPython's specialised call skips the check for that, and the
# error surfaces at some later call; through `methodcaller` (PyObject_Call) it is raised here.
_read_headers = operator.methodcaller("headers")


class KafkaRecord(NamedTuple):
    """One consumed message: coordinates, timestamp, key, value (None = tombstone), headers.

    A NamedTuple: a run builds one per message, and a frozen dataclass costs 3x more to make.
    `headers` is None when the client could not read them (see `from_message`).
    """

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None
    key: bytes | None
    value: bytes | None
    headers: tuple[Header, ...] | None = ()

    @property
    def size(self) -> int:
        """Bytes the record holds in memory, roughly (for byte-bounded batches)."""
        size = RECORD_OVERHEAD_BYTES + len(self.value or b"") + len(self.key or b"")
        if self.headers:
            for key, value in self.headers:
                size += len(key) + len(value or b"")
        return size


def from_message(message: Message) -> KafkaRecord:
    """The record of a consumed message; never fails on the record's content or metadata.

    confluent-kafka cannot return headers whose key is not UTF-8 (Kafka clients in Java always
    write UTF-8, but the protocol allows any bytes): then `headers` is None and a warning names
    the record. A header key holding a NUL byte comes back cut at it (a client limitation).
    """
    try:
        headers = _read_headers(message)
        headers = tuple(headers) if headers else ()
    except (SystemError, UnicodeDecodeError):
        log.warning(
            "partition %s offset %s: headers unreadable (a key is not UTF-8); stored as null",
            message.partition(),
            message.offset(),
        )
        headers = None
    # Positional: a run makes one per message, and keywords cost a third more.
    return KafkaRecord(
        message.topic(),
        message.partition(),
        message.offset(),
        message.timestamp()[1],
        message.key(),
        message.value(),
        headers,
    )


def arrow_schema(schema: StructType, extra_columns: Iterable[str] = ()) -> pa.Schema:
    """The Arrow schema of a batch for a table of Spark schema `schema`; extra (evolved)
    columns are strings at the end, as schema evolution adds them to the table."""
    fields = list(to_arrow_schema(schema, timezone="UTC"))
    fields += [pa.field(name, pa.string()) for name in extra_columns]
    return pa.schema(fields)


_ARROW_KAFKA = arrow_schema(KAFKA_COLUMNS)
_ARROW_INGESTION = arrow_schema(INGESTION_COLUMNS)
TIMESTAMP_UTC = _ARROW_KAFKA.field("kafka_timestamp").type
_HEADERS = _ARROW_KAFKA.field("kafka_headers").type


def decode_utf8(values: list[bytes | None]) -> tuple[pa.Array, bool]:
    """Bytes as a string column (invalid UTF-8 as U+FFFD), and whether all were valid."""
    try:
        return pa.array(values, type=pa.binary()).cast(pa.string()), True
    except pa.ArrowInvalid:
        decoded = [None if v is None else v.decode("utf-8", errors="replace") for v in values]
        return pa.array(decoded, type=pa.string()), False


def record_timestamps(timestamps_ms: list[int | None]) -> pa.Array:
    """Record timestamps as a TIMESTAMP column, null outside (0, MAX_TIMESTAMP_MS]."""
    millis = pa.array(timestamps_ms, type=pa.int64())
    valid = pc.and_(pc.greater(millis, 0), pc.less_equal(millis, MAX_TIMESTAMP_MS))
    kept = pc.if_else(valid, millis, pa.scalar(None, pa.int64()))
    return pc.multiply(kept, 1000).cast(TIMESTAMP_UTC)


def _headers(records: list[KafkaRecord]) -> pa.Array:
    if all(r.headers == () for r in records):  # the common case: no headers at all
        offsets = pa.array([0] * (len(records) + 1), type=pa.int32())
        return pa.ListArray.from_arrays(offsets, pa.array([], type=_HEADERS.value_type))
    rows = [
        None if r.headers is None else [{"key": k, "value": v} for k, v in r.headers]
        for r in records
    ]
    return pa.array(rows, type=_HEADERS)


def _repeat(value: Any, arrow_type: pa.DataType, size: int) -> pa.Array:
    return pa.repeat(pa.scalar(value, type=arrow_type), size)


def kafka_columns(records: list[KafkaRecord], incarnation: int) -> dict[str, pa.Array]:
    """The `KAFKA_COLUMNS` of `records`, built from any record without failing."""
    size = len(records)
    topics = {r.topic for r in records}
    keys = [r.key for r in records]
    return {
        "kafka_topic": _repeat(topics.pop(), pa.string(), size)
        if len(topics) == 1
        else pa.array([r.topic for r in records], type=pa.string()),
        "kafka_partition": pa.array([r.partition for r in records], type=pa.int32()),
        "kafka_offset": pa.array([r.offset for r in records], type=pa.int64()),
        "kafka_timestamp": record_timestamps([r.timestamp_ms for r in records]),
        "kafka_key": decode_utf8(keys)[0],
        "kafka_key_bytes": pa.array(keys, type=pa.binary()),
        "kafka_headers": _headers(records),
        "kafka_incarnation": _repeat(incarnation, pa.int32(), size),
    }


class PayloadColumns(NamedTuple):
    """What a table's payload parser returns for a batch of records."""

    columns: dict[str, pa.Array | pa.ChunkedArray]  # every payload column, rows in order
    malformed: int  # values that are not a payload (kept with null payload fields)
    extra_columns: list[str]  # evolved string columns, known ones first (table order)


# (records, extra columns the table already has) -> payload columns. Most parsers read only the
# values; a table whose payload names the key (Debezium's change events) reads the keys too.
PayloadParser = Callable[[list[KafkaRecord], list[str]], PayloadColumns]


@dataclass
class BronzeBatch:
    """A batch ready to append: the rows plus what the run reports about them."""

    table: pa.Table
    malformed: int
    extra_columns: list[str]


def build_batch(
    records: list[KafkaRecord],
    parse: PayloadParser,
    schema: StructType,
    ingestion_timestamp: datetime,
    ingestion_date: date,
    *,
    incarnation: int = 1,
    known_extra_columns: Iterable[str] = (),
    ingestion_timestamps: dict[tuple[int, int], datetime] | None = None,
) -> BronzeBatch:
    """One row per record: the parser's payload columns plus the shared Kafka and ingestion
    columns, as an Arrow table of `schema` (+ extra columns).

    Args:
        records: the messages, any order.
        parse: the table's payload parser.
        schema: the table's Spark schema (payload, Kafka and ingestion columns).
        ingestion_timestamp: when the batch is written.
        ingestion_date: the Bronze partition the rows belong to.
        incarnation: the topic incarnation the records were read from.
        known_extra_columns: evolved columns the table already has (kept in every batch).
        ingestion_timestamps: per (partition, offset), a timestamp to keep instead of
            `ingestion_timestamp` (a replayed partition keeps its original write times).
    """
    payload = parse(records, list(known_extra_columns))
    columns = {**payload.columns, **kafka_columns(records, incarnation)}
    size = len(records)
    if ingestion_timestamps:
        kept = ingestion_timestamps
        written = [kept.get((r.partition, r.offset), ingestion_timestamp) for r in records]
        columns["ingestion_timestamp"] = pa.array(written, type=TIMESTAMP_UTC)
    else:
        columns["ingestion_timestamp"] = _repeat(ingestion_timestamp, TIMESTAMP_UTC, size)
    columns["ingestion_date"] = _repeat(ingestion_date, _ARROW_INGESTION.field(1).type, size)
    arrow = arrow_schema(schema, payload.extra_columns)
    table = pa.Table.from_arrays([columns[f.name] for f in arrow], schema=arrow)
    return BronzeBatch(table, payload.malformed, payload.extra_columns)
