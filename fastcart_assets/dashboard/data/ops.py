"""Operational figures outside the lake: the topic's offsets against Bronze's position, and the
last materialization of each asset in the Dagster instance. Both fail soft: a broker that is
down or an instance that does not exist is reported, never raised."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from confluent_kafka import TopicPartition

from fastcart_assets.bronze.position import bronze_next_offsets
from fastcart_assets.dashboard.data.lake import LakeReader
from fastcart_assets.kafka.topics import (
    KafkaUnavailable,
    TopicError,
    closing_consumer,
    partitions_of,
    watermarks,
)
from fastcart_assets.resources.kafka import KafkaResource
from fastcart_assets.settings import Settings
from fastcart_assets.tables import BRONZE

LAG_COLUMNS = ["partition", "end_offset", "bronze_offset", "lag", "oldest_unread"]


@dataclass
class KafkaStatus:
    """The topic's end offsets and Bronze's position per partition, or why they are unknown."""

    bootstrap: str
    topic: str
    up: bool
    error: str | None = None
    partitions: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=LAG_COLUMNS))

    @property
    def lag(self) -> int:
        return int(self.partitions["lag"].sum()) if len(self.partitions) else 0

    @property
    def oldest_unread(self) -> datetime | None:
        """Record time of the oldest message Bronze lacks (None: caught up, or unknown)."""
        times = self.partitions["oldest_unread"].dropna()
        return min(times) if len(times) else None


def kafka_status(
    settings: Settings, lake: LakeReader | None = None, timeout_s: float = 2.0
) -> KafkaStatus:
    """End offsets of the topic, Bronze's next offsets and the lag, per Kafka partition.

    With a `lake` reader, Bronze's position is computed once per Bronze version.
    """
    kafka = KafkaResource(
        bootstrap_servers=settings.kafka_bootstrap,
        topic=settings.kafka_topic,
        request_timeout_s=timeout_s,
    )
    status = KafkaStatus(settings.kafka_bootstrap, settings.kafka_topic, up=False)
    try:
        partitions = partitions_of(kafka, kafka.topic)
        with closing_consumer(kafka.consumer("fastcart-monitor")) as consumer:
            marks = watermarks(consumer, kafka, kafka.topic, partitions)
            ends = {p: mark.high for p, mark in marks.items()}
            position = _bronze_position(settings, lake)
            oldest = _unread_record_times(consumer, kafka.topic, ends, position, timeout_s)
    except TopicError as exc:
        status.up, status.error = True, str(exc)
        return status
    except (KafkaUnavailable, OSError) as exc:
        status.error = str(exc)
        return status
    rows = [
        (p, end, position.get(p, 0), max(end - position.get(p, 0), 0), oldest.get(p))
        for p, end in sorted(ends.items())
    ]
    status.up = True
    status.partitions = pd.DataFrame(rows, columns=LAG_COLUMNS)
    return status


def _bronze_position(settings: Settings, lake: LakeReader | None) -> dict[int, int]:
    def read() -> dict[int, int]:
        return bronze_next_offsets(settings.table_path(BRONZE.path), settings.kafka_topic)

    if lake is None:
        return read()
    return lake.memo(f"bronze_next_offsets:{settings.kafka_topic}", [BRONZE.path], read)


def _unread_record_times(
    consumer, topic: str, ends: dict[int, int], position: dict[int, int], timeout_s: float
) -> dict[int, datetime]:
    """The record time of the first message Bronze lacks, per partition that has one."""
    behind = {p: position.get(p, 0) for p, end in ends.items() if end > position.get(p, 0)}
    if not behind:
        return {}
    consumer.assign([TopicPartition(topic, p, offset) for p, offset in behind.items()])
    found: dict[int, datetime] = {}
    deadline = time.monotonic() + timeout_s
    while len(found) < len(behind) and time.monotonic() < deadline:
        for message in consumer.consume(100, timeout=0.2):
            partition = message.partition()
            if message.error() is not None or partition in found:
                continue
            if message.offset() == behind[partition]:
                kind, millis = message.timestamp()
                found[partition] = (
                    datetime.fromtimestamp(millis / 1000, UTC) if kind and millis > 0 else None
                )
    return {p: when for p, when in found.items() if when is not None}


def open_instance(home: Path):
    """The Dagster instance in `home` (a `dg.DagsterInstance`), None when there is none."""
    if not (home / "dagster.yaml").exists() and not (home / "history").exists():
        return None
    import dagster as dg

    return dg.DagsterInstance.from_config(str(home))


def asset_states(instance) -> pd.DataFrame:
    """Per asset key (`bronze/ecommerce_sales`): when it last materialized, and its freshness
    state (PASS, WARN, FAIL, UNKNOWN; None when nothing evaluated it, e.g. no daemon ran)."""
    records = instance.get_asset_records()
    keys = [record.asset_entry.asset_key for record in records]
    try:
        freshness = instance.event_log_storage.get_freshness_state_records(keys)
    except Exception:  # a storage without freshness records: report no state
        freshness = {}
    rows = []
    for record in records:
        key = record.asset_entry.asset_key
        event = record.asset_entry.last_materialization
        state = freshness.get(key)
        rows.append(
            (
                "/".join(key.path),
                None if event is None else datetime.fromtimestamp(event.timestamp, UTC),
                None if state is None else state.freshness_state.value,
            )
        )
    frame = pd.DataFrame(rows, columns=["asset", "last_materialization", "freshness"])
    return frame.sort_values("asset").reset_index(drop=True)
