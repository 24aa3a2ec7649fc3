"""FastCart's orders table as Debezium's PostgreSQL connector would publish its changes (SPEC §10).

The order events of `generator.orders` are replayed as transactions on an orders table: a
pending event inserts the order's row (`c`), each later status an update (`u`); a few finished
orders (shipped or cancelled) are deleted some time later (`d`, then a tombstone: same key, null
value). Orders created before the connector starts exist when it takes its initial snapshot:
each is read once (`r`), all at the snapshot's LSN, before any streamed change.

Each streamed change is its own transaction: LSNs and transaction ids strictly increase in
commit order, and `source.ts_ms` is the commit time. Rows carry timestamps as ISO-8601 strings
(Debezium's `timestamptz`), `total` as a number (`decimal.handling.mode=double`), and `before`
on updates and deletes (the table has REPLICA IDENTITY FULL). Keys and values are JSON without
schemas (`key.converter.schemas.enable=false`, likewise for values): the key is
`{"order_id": "ORD-…"}`.
"""

from __future__ import annotations

import heapq
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastcart_assets.generator.orders import GeneratorConfig, OrderStream, format_timestamp

DEBEZIUM_VERSION = "2.7.3.Final"
SERVER_NAME = "fastcart"  # topic prefix: fastcart.public.orders
DATABASE, SCHEMA, TABLE = "fastcart", "public", "orders"
FINAL_STATUSES = ("shipped", "cancelled")
DELETE_AFTER_MINUTES = (30, 720)
FIRST_LSN = 0x1_6B37_4800
WAL_BYTES_PER_CHANGE = (120, 900)  # how far each change moves the LSN
CONNECTOR_LAG_MS = (2, 250)  # from commit to the connector's processing (envelope ts_ms)


@dataclass(frozen=True)
class CdcConfig:
    """What the connector sees besides the event stream."""

    snapshot_orders: int = 10  # orders created before the connector starts (read as `r`)
    delete_share: float = 0.05  # share of finished orders deleted later


@dataclass(frozen=True)
class Change:
    """One row change as the connector reports it."""

    op: str
    order_id: str
    before: dict | None
    after: dict | None
    lsn: int
    tx_id: int
    ts_ms: int
    snapshot: str  # "true", "last" (the snapshot's last record) or "false"


@dataclass(frozen=True)
class CdcMessage:
    """A Kafka record: `value` None is a tombstone; `partition` None lets the key decide."""

    key: bytes
    value: bytes | None
    partition: int | None = None


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def record_key(order_id: str) -> bytes:
    """Debezium's JSON key of a row of the orders table."""
    return json.dumps({"order_id": order_id}).encode()


def envelope(change: Change, connector_ts_ms: int) -> dict:
    """The change as Debezium's envelope (the value of its Kafka record)."""
    return {
        "before": change.before,
        "after": change.after,
        "source": {
            "version": DEBEZIUM_VERSION,
            "connector": "postgresql",
            "name": SERVER_NAME,
            "ts_ms": change.ts_ms,
            "snapshot": change.snapshot,
            "db": DATABASE,
            "sequence": json.dumps([None, str(change.lsn)]),
            "schema": SCHEMA,
            "table": TABLE,
            "txId": change.tx_id,
            "lsn": change.lsn,
            "xmin": None,
        },
        "op": change.op,
        "ts_ms": connector_ts_ms,
        "transaction": None,
    }


def messages(change: Change) -> list[CdcMessage]:
    """The records of one change: its envelope, and a tombstone after a delete."""
    key = record_key(change.order_id)
    low, high = CONNECTOR_LAG_MS
    lag = low + change.lsn % (high - low)  # varies, and keeps the change stream's draws its own
    value = json.dumps(envelope(change, change.ts_ms + lag)).encode()
    out = [CdcMessage(key, value)]
    if change.op == "d":
        out.append(CdcMessage(key, None))
    return out


class OrdersTable:
    """The orders table: rows by order_id, and the WAL position and transaction counter."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.rows: dict[str, dict] = {}
        self.lsn = FIRST_LSN
        self.tx_id = 740

    def _commit(self) -> tuple[int, int]:
        self.lsn += self.rng.randint(*WAL_BYTES_PER_CHANGE)
        self.tx_id += self.rng.randint(1, 3)  # other transactions commit in between
        return self.lsn, self.tx_id

    def apply(self, event: dict, moment: datetime) -> Change:
        """Insert (pending) or update (any later status) the order's row."""
        order_id = event["order_id"]
        before = self.rows.get(order_id)
        stamp = format_timestamp(moment)
        after = {
            "order_id": order_id,
            "customer_id": event["customer_id"],
            "customer_email": event["customer_email"],
            "product_id": event["product_id"],
            "quantity": event["quantity"],
            "total": event["total"],
            "payment_method": event["payment_method"],
            "status": event["status"],
            "shipping_state": event["shipping_address"]["state"],
            "created_at": before["created_at"] if before else stamp,
            "updated_at": stamp,
        }
        self.rows[order_id] = after
        lsn, tx_id = self._commit()
        op = "u" if before else "c"
        return Change(op, order_id, before, after, lsn, tx_id, _millis(moment), "false")

    def delete(self, order_id: str, moment: datetime) -> Change:
        before = self.rows.pop(order_id)
        lsn, tx_id = self._commit()
        return Change("d", order_id, before, None, lsn, tx_id, _millis(moment), "false")

    def snapshot(self, moment: datetime) -> list[Change]:
        """Every row read at one consistent point: the snapshot's LSN, one transaction."""
        self.lsn += self.rng.randint(*WAL_BYTES_PER_CHANGE)
        self.tx_id += 1
        ids = sorted(self.rows)
        return [
            Change(
                "r",
                order_id,
                None,
                dict(self.rows[order_id]),
                self.lsn,
                self.tx_id,
                _millis(moment),
                "last" if i == len(ids) - 1 else "true",
            )
            for i, order_id in enumerate(ids)
        ]


class ChangeStream:
    """Iterates (commit time, change) in commit order: the snapshot, then streamed changes.

    Changes made before the snapshot are applied to the table but not published (the
    connector was not running). With a window (`duration`), deletes due after it stay pending;
    with only a number of orders, every scheduled delete happens.
    """

    def __init__(self, config: GeneratorConfig, cdc: CdcConfig, rng: random.Random):
        self.config = config
        self.cdc = cdc
        self.rng = rng
        self.orders = OrderStream(config)
        self.table = OrdersTable(rng)
        self.snapshot_rows = 0

    def __iter__(self) -> Iterator[tuple[datetime, Change]]:
        deletes: list[tuple[datetime, str]] = []
        created = 0
        streaming = self.cdc.snapshot_orders == 0
        last = self.config.start
        for moment, event in self.orders:
            while deletes and deletes[0][0] <= moment:
                due, order_id = heapq.heappop(deletes)
                change = self.table.delete(order_id, due)
                if streaming:
                    yield due, change
            if event["status"] == "pending":
                created += 1
                if not streaming and created > self.cdc.snapshot_orders:
                    streaming = True
                    yield from self._snapshot(moment)
            change = self.table.apply(event, moment)
            last = moment
            if streaming:
                yield moment, change
            if event["status"] in FINAL_STATUSES and self.rng.random() < self.cdc.delete_share:
                after = timedelta(minutes=self.rng.uniform(*DELETE_AFTER_MINUTES))
                heapq.heappush(deletes, (moment + after, event["order_id"]))
        if not streaming:
            yield from self._snapshot(last)
        end = self.config.start + self.config.duration if self.config.duration else None
        while deletes and (end is None or deletes[0][0] <= end):
            due, order_id = heapq.heappop(deletes)
            yield due, self.table.delete(order_id, due)

    def _snapshot(self, moment: datetime) -> Iterator[tuple[datetime, Change]]:
        changes = self.table.snapshot(moment)
        self.snapshot_rows = len(changes)
        for change in changes:
            yield moment, change
