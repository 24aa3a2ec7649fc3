"""Drive the change stream: pace by `--speed`, send to Kafka and/or a console, count it all."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from confluent_kafka import KafkaException

from fastcart_assets.generator.cdc import CdcConfig, CdcMessage, ChangeStream, messages
from fastcart_assets.generator.cdc_defects import CdcDefectInjector
from fastcart_assets.generator.orders import GeneratorConfig
from fastcart_assets.generator.producer import DeliveryFailed, KafkaSink


@dataclass
class CdcSummary:
    """What a CDC generation produced."""

    orders: int = 0
    changes: int = 0
    by_op: Counter[str] = field(default_factory=Counter)
    tombstones: int = 0
    messages: int = 0
    snapshot_rows: int = 0
    rows_at_end: int = 0  # rows of the orders table when generation stopped
    defects: Counter[str] = field(default_factory=Counter)
    malformed_kinds: Counter[str] = field(default_factory=Counter)
    first_lsn: int | None = None
    last_lsn: int | None = None
    first_change: datetime | None = None
    last_change: datetime | None = None
    seconds: float = 0.0


def console_line(message: CdcMessage) -> bytes:
    """A record as `kafka-console-consumer --property print.key=true` shows it: key TAB value,
    `null` for a tombstone."""
    return message.key + b"\t" + (b"null" if message.value is None else message.value)


def cdc_rng(seed: int | None, purpose: str) -> random.Random:
    """A generator of its own for `purpose` ("changes", "defects"): the order events keep the
    stream of `seed`, and the changes are the same whatever the dirty rate."""
    return random.Random(None if seed is None else f"cdc-{purpose}-{seed}")


def generate_cdc(
    config: GeneratorConfig,
    cdc: CdcConfig,
    dirty_rate: float = 0.0,
    speed: float = 1.0,
    sink: KafkaSink | None = None,
    console: Callable[[bytes], None] | None = None,
    progress: Callable[[CdcSummary], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    partitions: int | None = None,
) -> CdcSummary:
    """Publish the orders table's changes for the order stream of `config`.

    Args:
        config: the window, pacing between orders and seed of the order events.
        cdc: the snapshot's size and the share of finished orders deleted.
        dirty_rate: share of change records given a delivery defect (cdc_defects).
        speed: time compression; 1 = real time, 60 = an hour per minute, 0 = no waiting.
        sink: where records go (Kafka), or None.
        console: called with each record's console line, or None.
        progress: called every 1,000 changes with the summary so far.
        sleep: the pause function (tests pass a fake clock).
        partitions: the topic's partition count (where misrouted records may go).
    """
    stream = ChangeStream(config, cdc, cdc_rng(config.seed, "changes"))
    injector = CdcDefectInjector(dirty_rate, cdc_rng(config.seed, "defects"), partitions)
    summary = CdcSummary()
    started = time.monotonic()

    def send(batch: list[CdcMessage]) -> None:
        for message in batch:
            if sink is not None:
                sink.send(message.key, message.value, message.partition)
            if console is not None:
                console(console_line(message))
            summary.messages += 1

    for moment, change in stream:
        if speed > 0:
            wait = (moment - config.start).total_seconds() / speed - (time.monotonic() - started)
            if wait > 0:
                sleep(wait)
        for message in messages(change):
            send(injector.messages(message))
            summary.tombstones += message.value is None
        summary.changes += 1
        summary.by_op[change.op] += 1
        summary.first_lsn = summary.first_lsn or change.lsn
        summary.last_lsn = change.lsn
        summary.first_change = summary.first_change or moment
        summary.last_change = moment
        if progress is not None and summary.changes % 1_000 == 0:
            summary.orders = stream.orders.created
            progress(summary)
    send(injector.drain())
    if sink is not None:
        try:
            sink.close()
        except KafkaException as exc:
            raise DeliveryFailed(str(exc)) from exc
    summary.orders = stream.orders.created
    summary.snapshot_rows = stream.snapshot_rows
    summary.rows_at_end = len(stream.table.rows)
    summary.defects = injector.counts
    summary.malformed_kinds = injector.malformed_kinds
    summary.seconds = time.monotonic() - started
    return summary
