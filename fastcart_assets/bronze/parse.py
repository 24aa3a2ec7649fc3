"""Order events -> Bronze rows: the payload parser of `bronze/ecommerce_sales`.

`order_event_columns` is the table's `PayloadParser` (see `bronze.records`): most messages are
parsed in bulk by Arrow (`bronze.bulk`), the rest one by one (`bronze.payload`), and both
halves are put back in message order. `ORDER_EVENTS` is the table for the shared ingestion
(`bronze.ingest`); `to_bronze_batch` builds a whole batch (payload, Kafka, ingestion columns).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import date, datetime

import pyarrow as pa

from fastcart_assets.bronze.bulk import bulk_parse
from fastcart_assets.bronze.payload import (
    KNOWN_FIELDS,
    MAX_EXTRA_COLUMNS,
    as_text,
    extra_fields,
    parse_payload,
    typed_column,
)
from fastcart_assets.bronze.records import (
    BronzeBatch,
    KafkaRecord,
    PayloadColumns,
    build_batch,
    decode_utf8,
)
from fastcart_assets.bronze.table import BronzeTable
from fastcart_assets.schemas import BRONZE_KEPT_ON_ERASURE, BRONZE_SCHEMA, EVENT_SCHEMA


def order_event_columns(
    records: list[KafkaRecord], known_extra_columns: list[str]
) -> PayloadColumns:
    """The payload columns and `_raw` of order-event messages, one row per record (read from
    its value; None = tombstone).

    Args:
        records: the messages, in row order.
        known_extra_columns: unknown-field columns the table already has, in table order.
    """
    values = [r.value for r in records]
    raw, all_utf8 = decode_utf8(values)
    extras = list(known_extra_columns)
    units, slow_rows = bulk_parse(values, all_utf8, extras)
    payloads, malformed = _parse_slow_rows(values, slow_rows, extras)

    # Every part holds the payload columns of some rows: the bulk units, then the slow rows.
    parts = [unit.columns(extras) for unit in units]
    objects = [{} if p is None else p for p in payloads]
    slow: dict[str, pa.Array] = {}
    for name in EVENT_SCHEMA.fieldNames():
        slow[name] = typed_column([o.get(name) for o in objects], name)
    for name in extras:
        slow[name] = pa.array([as_text(o.get(name)) for o in objects], type=pa.string())
    parts.append(slow)
    columns = _in_row_order(parts, [unit.rows for unit in units] + [slow_rows], len(values))
    columns["_raw"] = raw
    return PayloadColumns(columns, malformed, extras)


def _parse_slow_rows(
    values: list[bytes | None], rows: list[int], extras: list[str]
) -> tuple[list[dict | None], int]:
    """Parse `rows` one by one; adds the new extra columns they name to `extras` (in the order
    rows name them). Returns the payloads (None: malformed) and how many were malformed."""
    known = {name.lower() for name in extras}
    payloads = []
    malformed = 0
    for row in rows:
        payload = parse_payload(values[row])
        payloads.append(payload)
        if payload is None:
            malformed += 1
            continue
        if payload.keys() <= KNOWN_FIELDS:
            continue
        for name in extra_fields(payload):
            if name.lower() not in known and len(extras) < MAX_EXTRA_COLUMNS:
                extras.append(name)
                known.add(name.lower())
    return payloads, malformed


ORDER_EVENTS = BronzeTable(
    schema=BRONZE_SCHEMA,
    parse=order_event_columns,
    consumer_group="fastcart-bronze",
    kept_on_erasure=BRONZE_KEPT_ON_ERASURE,
)


def to_bronze_batch(
    records: list[KafkaRecord],
    ingestion_timestamp: datetime,
    ingestion_date: date,
    known_extra_columns: Iterable[str] = (),
    ingestion_timestamps: dict[tuple[int, int], datetime] | None = None,
    *,
    incarnation: int = 1,
) -> BronzeBatch:
    """Turn consumed order-event messages into one `bronze/ecommerce_sales` row each.

    See `bronze.records.build_batch` for the arguments.
    """
    return build_batch(
        records,
        order_event_columns,
        BRONZE_SCHEMA,
        ingestion_timestamp,
        ingestion_date,
        incarnation=incarnation,
        known_extra_columns=known_extra_columns,
        ingestion_timestamps=ingestion_timestamps,
    )


def _chunks(column: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    return column.chunks if isinstance(column, pa.ChunkedArray) else [column]


def _in_row_order(
    parts: list[dict[str, pa.Array | pa.ChunkedArray]], rows: list[list[int]], size: int
) -> dict[str, pa.Array | pa.ChunkedArray]:
    """The columns of `parts` put together in table order: row j of part i is table row
    `rows[i][j]` (-1: a row of no use, another part holds it)."""

    def joined(name: str, column: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
        chunks = [chunk for part in parts for chunk in _chunks(part[name])]
        return pa.chunked_array(chunks, type=column.type)

    if list(itertools.chain.from_iterable(rows)) == list(range(size)):
        return {name: joined(name, column) for name, column in parts[0].items()}
    order = [0] * size
    offset = 0
    for part_rows in rows:
        for local, row in enumerate(part_rows):
            if row >= 0:
                order[row] = offset + local
        offset += len(part_rows)
    indices = pa.array(order, type=pa.int64())
    return {name: joined(name, column).take(indices) for name, column in parts[0].items()}
