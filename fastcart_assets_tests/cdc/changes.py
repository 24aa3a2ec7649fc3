"""Test helpers for CDC: Debezium-shaped records built by hand, and a plain-Python fold of them
(the reference the Spark tables are compared with)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from fastcart_assets.generator import cdc as generator
from fastcart_assets.generator.cdc_producer import cdc_rng
from fastcart_assets.generator.orders import GeneratorConfig

TS0 = 1_762_700_000_000  # 2025-11-09T14:53:20Z in epoch milliseconds
ROW_FIELDS = (
    "order_id",
    "customer_id",
    "customer_email",
    "product_id",
    "quantity",
    "total",
    "payment_method",
    "status",
    "shipping_state",
    "created_at",
    "updated_at",
)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def order_row(order_id: str, status: str = "pending", ts_ms: int = TS0, **overrides) -> dict:
    """A row of the orders table as Debezium sends it."""
    row = {
        "order_id": order_id,
        "customer_id": "CUST-100001",
        "customer_email": f"{order_id.lower()}@example.org",
        "product_id": "PROD-004",
        "quantity": 3,
        "total": 33.48,
        "payment_method": "credit_card",
        "status": status,
        "shipping_state": "IL",
        "created_at": iso(TS0),
        "updated_at": iso(ts_ms),
    }
    row.update(overrides)
    return row


def envelope(op: str, row: dict | None, lsn: int, ts_ms: int, before: dict | None = None) -> dict:
    """A Debezium envelope: `row` is `after` (c/u/r) or `before` (d)."""
    return {
        "before": row if op == "d" else before,
        "after": None if op == "d" else row,
        "source": {
            "version": "2.7.3.Final",
            "connector": "postgresql",
            "name": "fastcart",
            "ts_ms": ts_ms,
            "snapshot": "true" if op == "r" else "false",
            "db": "fastcart",
            "schema": "public",
            "table": "orders",
            "txId": 700 + lsn,
            "lsn": lsn,
        },
        "op": op,
        "ts_ms": ts_ms + 7,
    }


def key(order_id: str) -> bytes:
    return json.dumps({"order_id": order_id}).encode()


def encode(value: dict | None) -> bytes | None:
    return None if value is None else json.dumps(value).encode()


@dataclass(frozen=True)
class Delivered:
    """One record as Kafka delivered it; `change` is its envelope when it is a usable change."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    change: dict | None = None
    topic: str = "fastcart.public.orders"


def fold(records: list[Delivered]) -> tuple[list[tuple], list[tuple]]:
    """(history rows, current rows) of the usable changes, folded in plain Python.

    Of several records for one (order_id, lsn) the higher Kafka offset wins (then partition,
    then topic); a key's versions in lsn order each end where the next begins; a delete's
    interval is empty; the last version is current unless it is a delete. Rows are tuples in
    the column order of `history_tuple` / `current_tuple`, times in epoch microseconds.
    """
    winners: dict[tuple[str, int], Delivered] = {}
    for record in records:
        if record.change is None:
            continue
        change = record.change
        image = change["before"] if change["op"] == "d" else change["after"]
        version = (image["order_id"], change["source"]["lsn"])
        rank = (record.offset, record.partition, record.topic)
        held = winners.get(version)
        if held is None or rank > (held.offset, held.partition, held.topic):
            winners[version] = record
    by_key: dict[str, list[tuple[int, Delivered]]] = {}
    for (order_id, lsn), record in winners.items():
        by_key.setdefault(order_id, []).append((lsn, record))
    history, current = [], []
    for chain in by_key.values():
        chain.sort(key=lambda item: item[0])
        for i, (lsn, record) in enumerate(chain):
            change = record.change
            op = change["op"]
            valid_from = change["source"]["ts_ms"] * 1000
            last = i == len(chain) - 1
            if op == "d":
                valid_to = valid_from
            elif last:
                valid_to = None
            else:
                valid_to = chain[i + 1][1].change["source"]["ts_ms"] * 1000
            image = change["before"] if op == "d" else change["after"]
            content = (*_row_tuple(image), op, lsn, change["source"]["txId"], valid_from)
            is_current = last and op != "d"
            history.append((*content, valid_to, is_current, record.partition, record.offset))
            if is_current:
                current.append(content)
    return sorted(history, key=repr), sorted(current, key=repr)


def _micros(text: str | None) -> int | None:
    if text is None:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def _row_tuple(image: dict) -> tuple:
    return tuple(
        _micros(image.get(name)) if name in ("created_at", "updated_at") else image.get(name)
        for name in ROW_FIELDS
    )


@dataclass(frozen=True)
class Generated:
    """What a generated change stream must fold to: history rows (without the winning record's
    Kafka coordinates, which depend on delivery), current rows, and the generator's own orders
    table at the end."""

    history: list[tuple]
    current: list[tuple]
    table: dict[str, dict]


def generated(config: GeneratorConfig, cdc: generator.CdcConfig) -> Generated:
    """Run the generator's change stream again (same seed: the same changes whatever the dirty
    rate) and fold its changes in plain Python."""
    stream = generator.ChangeStream(config, cdc, cdc_rng(config.seed, "changes"))
    records = [
        Delivered(0, i, None, None, generator.envelope(change, change.ts_ms))
        for i, (_, change) in enumerate(stream)
    ]
    history, current = fold(records)
    return Generated(sorted((row[:-2] for row in history), key=repr), current, stream.table.rows)


class CollectedRecords:
    """A sink keeping the records the generator sends, as (key, value, partition)."""

    topic = "collected"

    def __init__(self):
        self.records: list[tuple[bytes, bytes | None, int | None]] = []

    def send(self, key, value, partition=None):
        self.records.append((key, value, partition))

    def close(self):
        """Nothing to flush: the records are in memory."""
