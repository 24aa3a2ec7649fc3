"""Defects injected by `--dirty-rate`: every kind SPEC.md §3 names, counted by type.

A defective event is sent instead of the clean one (a duplicate is sent in addition to it),
as raw bytes, so payloads that are not JSON at all are possible.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import datetime, timedelta

from fastcart_assets.generator.orders import format_timestamp

DEFECT_TYPES = (
    "duplicate",
    "null_field",
    "bad_total",
    "unknown_status",
    "future_timestamp",
    "malformed_json",
)
FUTURE_SHIFT = timedelta(days=3653)  # ten years: future whatever --start and ingestion time


def encode(event: dict) -> bytes:
    return json.dumps(event).encode()


class DefectInjector:
    """Turns each clean event into the messages to send: itself, or a defective version."""

    def __init__(self, rate: float, rng: random.Random):
        if not 0.0 <= rate <= 1.0:
            raise ValueError("the dirty rate must be between 0 and 1")
        self.rate = rate
        self.rng = rng
        self.counts: Counter[str] = Counter()

    def messages(self, event: dict, moment: datetime) -> list[bytes]:
        if self.rate == 0.0 or self.rng.random() >= self.rate:
            return [encode(event)]
        kind = self.rng.choice(DEFECT_TYPES)
        self.counts[kind] += 1
        return getattr(self, f"_{kind}")(dict(event), moment)

    def _duplicate(self, event: dict, moment: datetime) -> list[bytes]:
        payload = encode(event)
        return [payload, payload]

    def _null_field(self, event: dict, moment: datetime) -> list[bytes]:
        name = self.rng.choice(("order_id", "customer_id", "total"))
        how = self.rng.choice(("null", "empty", "missing"))
        if how == "missing":
            del event[name]
        else:
            event[name] = None if how == "null" or name == "total" else "  "
        return [encode(event)]

    def _bad_total(self, event: dict, moment: datetime) -> list[bytes]:
        total = event["total"]
        event["total"] = self.rng.choice(
            (round(total + self.rng.uniform(1, 50), 2), 0, -total, "not-a-number")
        )
        return [encode(event)]

    def _unknown_status(self, event: dict, moment: datetime) -> list[bytes]:
        event["status"] = self.rng.choice(("SHIPPED", "returned", "", "in_transit"))
        return [encode(event)]

    def _future_timestamp(self, event: dict, moment: datetime) -> list[bytes]:
        event["timestamp"] = format_timestamp(moment + FUTURE_SHIFT)
        return [encode(event)]

    def _malformed_json(self, event: dict, moment: datetime) -> list[bytes]:
        payload = encode(event)
        return [
            self.rng.choice(
                (payload[: len(payload) // 2], b"not json at all", b"[1, 2, 3]", b"", b"null")
            )
        ]
