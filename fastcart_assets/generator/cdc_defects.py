"""Delivery defects of a change stream, injected by `fastcart generate --cdc --dirty-rate R`.

A share R of the change records (tombstones excepted) is given one defect:
- `redelivery`: the record is sent again a few records later (a connector restarted before
  Kafka Connect committed its offsets re-sends what it had sent);
- `out_of_order`: the record is held back a few records and sent to another partition than
  its key's, so a consumer can read it after later changes of the same order;
- `malformed`: a damaged copy is sent right after the record (not JSON, not an object, an
  unknown or missing op, a missing or textual LSN, no row, another order's key, a total
  encoded as Debezium's `precise` decimal bytes).
Every clean record is still delivered, so the tables built from the stream equal the database.
"""

from __future__ import annotations

import json
import random
from collections import Counter

from fastcart_assets.generator.cdc import CdcMessage, record_key

CDC_DEFECT_TYPES = ("redelivery", "out_of_order", "malformed")
MALFORMED_KINDS = (
    "truncated",
    "not_an_object",
    "missing_op",
    "unknown_op",
    "missing_lsn",
    "text_lsn",
    "missing_row",
    "other_key",
    "precise_decimal",
)
MAX_DELAY = 20  # records a redelivered or held-back record comes after


class CdcDefectInjector:
    """Turns each record into what is sent now; a delayed record is sent after `delay` later
    records, or by `drain` at the end."""

    def __init__(self, rate: float, rng: random.Random, partitions: int | None):
        if not 0.0 <= rate <= 1.0:
            raise ValueError("the dirty rate must be between 0 and 1")
        self.rate = rate
        self.rng = rng
        self.partitions = partitions
        self.counts: Counter[str] = Counter()  # by defect type
        self.malformed_kinds: Counter[str] = Counter()
        self._later: list[tuple[int, CdcMessage]] = []  # (records still to pass, record)

    def messages(self, message: CdcMessage) -> list[CdcMessage]:
        """What to send for `message` now, followed by the delayed records now due."""
        due = self._due()
        if message.value is None or self.rate == 0.0 or self.rng.random() >= self.rate:
            return [message, *due]
        kind = self.rng.choice(CDC_DEFECT_TYPES)
        self.counts[kind] += 1
        delay = self.rng.randint(1, MAX_DELAY)
        if kind == "redelivery":
            self._later.append((delay, message))
            return [message, *due]
        if kind == "out_of_order":
            self._later.append((delay, CdcMessage(message.key, message.value, self._other())))
            return due
        return [message, self._damaged(message), *due]

    def drain(self) -> list[CdcMessage]:
        """Every record still held back (the stream ended)."""
        out = [message for _, message in self._later]
        self._later = []
        return out

    def _due(self) -> list[CdcMessage]:
        due = [message for left, message in self._later if left <= 1]
        self._later = [(left - 1, message) for left, message in self._later if left > 1]
        return due

    def _other(self) -> int | None:
        return None if not self.partitions else self.rng.randrange(self.partitions)

    def _damaged(self, message: CdcMessage) -> CdcMessage:
        kind = self.rng.choice(MALFORMED_KINDS)
        self.malformed_kinds[kind] += 1
        value = message.value or b""
        if kind == "truncated":
            return CdcMessage(message.key, value[: len(value) // 2])
        if kind == "not_an_object":
            return CdcMessage(message.key, self.rng.choice((b"[1, 2, 3]", b"null", b"42")))
        envelope = json.loads(value)
        key = message.key
        row = envelope["before"] if envelope["op"] == "d" else envelope["after"]
        if kind == "missing_op":
            del envelope["op"]
        elif kind == "unknown_op":
            envelope["op"] = self.rng.choice(("t", "m", "x", "U"))
        elif kind == "missing_lsn":
            del envelope["source"]["lsn"]
        elif kind == "text_lsn":  # PostgreSQL's own notation instead of Debezium's number
            lsn = envelope["source"]["lsn"]
            envelope["source"]["lsn"] = f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"
        elif kind == "missing_row":
            envelope["before" if envelope["op"] == "d" else "after"] = None
        elif kind == "other_key":
            key = record_key(f"ORD-{self.rng.randrange(10_000_000, 100_000_000)}")
        else:  # precise_decimal: what the connector sends without decimal.handling.mode=double
            row["total"] = self.rng.choice(("DOs=", "AQID", "Cg=="))
        return CdcMessage(key, json.dumps(envelope).encode())
