"""Freshness as data lag (docs/SPEC.md §8): each Kafka topic as an observed external asset.

Dagster 1.13's time-window freshness policy judges an asset by the timestamp of its latest
*materialization* only; observations are not read, and an asset with observations only is
UNKNOWN (dagster/_core/definitions/freshness_evaluator.py). So each topic's Kafka sensor, on
every tick:

- records an observation of the topic's asset (`["kafka", "ecommerce_sales"]` for the order
  events, `["kafka", "orders_cdc"]` for the orders table's change events): end offsets,
  Bronze's position, the lag in messages and the age of the oldest message Bronze lacks;
- when Bronze holds every message of the topic, records a *caught-up* materialization of
  Bronze without a partition: no rows are written, it states that Bronze is complete as of
  now. Partition-keyed automation (Silver's condition, the catch-up's stale partitions) never
  sees it, and Bronze's 15-minute window then measures data lag: an idle topic stays fresh,
  and Bronze turns stale once a message it lacks has waited a window (to within one tick).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg
from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, TopicPartition

from fastcart_assets.bronze.position import bronze_next_offsets
from fastcart_assets.kafka.topics import closing_consumer, partitions_of, watermarks
from fastcart_assets.resources.kafka import KafkaResource
from fastcart_assets.resources.lake import LakeResource
from fastcart_assets.tables import BRONZE, TableInfo

KAFKA_TOPIC_KEY = dg.AssetKey(["kafka", "ecommerce_sales"])
KAFKA_CDC_TOPIC_KEY = dg.AssetKey(["kafka", "orders_cdc"])
CAUGHT_UP_TAG = "fastcart/caught_up"
# Reading the oldest unread message of each partition must stay well inside a sensor tick.
PEEK_TIMEOUT_S = 2.0

kafka_topic = dg.AssetSpec(
    KAFKA_TOPIC_KEY,
    group_name="kafka",
    kinds={"kafka"},
    description="The Kafka topic of order events (FASTCART_KAFKA_TOPIC), observed by the Kafka "
    "sensor every tick: end offsets, lag behind it in messages, age of the oldest message "
    "Bronze lacks.",
)
kafka_cdc_topic = dg.AssetSpec(
    KAFKA_CDC_TOPIC_KEY,
    group_name="kafka",
    kinds={"kafka"},
    description="The Kafka topic of the orders table's change events (FASTCART_CDC_TOPIC), "
    "observed by the CDC Kafka sensor every tick: end offsets, lag behind it in messages, age "
    "of the oldest message Bronze CDC lacks.",
)


@dataclass(frozen=True)
class KafkaLag:
    """Where the topic ends, where Bronze is, and how old the oldest message Bronze lacks is."""

    topic: str
    ends: dict[int, int]  # next offset per Kafka partition (high watermark)
    position: dict[int, int]  # next offset Bronze lacks per Kafka partition
    oldest_unread_ms: int | None  # Kafka timestamp of the oldest message Bronze lacks
    observed_at: datetime

    @property
    def behind(self) -> dict[int, int]:
        """Messages Bronze lacks, per partition (only partitions that lag)."""
        return {
            p: end - self.position.get(p, 0)
            for p, end in sorted(self.ends.items())
            if end > self.position.get(p, 0)
        }

    @property
    def lag_messages(self) -> int:
        return sum(self.behind.values())

    @property
    def caught_up(self) -> bool:
        return not self.behind

    @property
    def oldest_unread_age_s(self) -> float:
        """Seconds since the oldest message Bronze lacks was written (0 when caught up or
        when its timestamp is unknown or in the future)."""
        if self.oldest_unread_ms is None:
            return 0.0
        return max(0.0, self.observed_at.timestamp() - self.oldest_unread_ms / 1000)


def read_kafka_lag(
    kafka: KafkaResource,
    lake: LakeResource,
    now: datetime | None = None,
    table: TableInfo = BRONZE,
    peek: bool = True,
) -> KafkaLag:
    """Ask the topic for its end offsets, the Bronze `table`'s Delta log for its position, and
    (`peek`) the topic for the timestamp of the first message Bronze lacks in each lagging
    partition.

    Raises KafkaUnavailable or TopicError (from `kafka.topics`) when the topic cannot be read.
    """
    partitions = partitions_of(kafka, kafka.topic)
    position = bronze_next_offsets(lake.table_path(table.path), kafka.topic)
    with closing_consumer(kafka.consumer("fastcart-sensor")) as consumer:
        marks = watermarks(consumer, kafka, kafka.topic, partitions)
        ends = {p: m.high for p, m in marks.items()}
        # The first message Bronze lacks, at least the first the topic still holds.
        unread = {
            p: max(position.get(p, 0), m.low)
            for p, m in marks.items()
            if m.high > position.get(p, 0)
        }
        oldest = _oldest_timestamp_ms(consumer, kafka.topic, unread) if peek else None
    return KafkaLag(kafka.topic, ends, position, oldest, now or datetime.now(UTC))


def _oldest_timestamp_ms(consumer, topic: str, offsets: dict[int, int]) -> int | None:
    """The smallest Kafka timestamp of the messages at `offsets` (partition -> offset), reading
    one message per partition for at most PEEK_TIMEOUT_S seconds."""
    if not offsets:
        return None
    consumer.assign([TopicPartition(topic, p, offset) for p, offset in offsets.items()])
    waiting, found = set(offsets), []
    deadline = time.monotonic() + PEEK_TIMEOUT_S
    while waiting and (left := deadline - time.monotonic()) > 0:
        for message in consumer.consume(len(waiting), timeout=left):
            if message.error() or message.partition() not in waiting:
                continue
            waiting.discard(message.partition())
            consumer.pause([TopicPartition(topic, message.partition())])
            kind, stamp = message.timestamp()
            if kind != TIMESTAMP_NOT_AVAILABLE and stamp > 0:
                found.append(stamp)
    return min(found) if found else None


def kafka_observation(
    lag: KafkaLag, topic_key: dg.AssetKey = KAFKA_TOPIC_KEY
) -> dg.AssetObservation:
    """The topic as the sensor saw it (numbers the UI plots over time), on its asset."""
    return dg.AssetObservation(
        asset_key=topic_key,
        description=f"{lag.lag_messages:,} messages Bronze lacks in {lag.topic}",
        metadata={
            "topic": dg.MetadataValue.text(lag.topic),
            "end_offsets": dg.MetadataValue.json({str(p): e for p, e in sorted(lag.ends.items())}),
            "bronze_offsets": dg.MetadataValue.json(
                {str(p): lag.position.get(p, 0) for p in sorted(lag.ends)}
            ),
            "messages": dg.MetadataValue.int(sum(lag.ends.values())),
            "lag_messages": dg.MetadataValue.int(lag.lag_messages),
            "oldest_unread_age_s": dg.MetadataValue.float(round(lag.oldest_unread_age_s, 3)),
        },
    )


def caught_up_materialization(lag: KafkaLag, bronze_key: dg.AssetKey) -> dg.AssetMaterialization:
    """Bronze holds every message of the topic as of now (no partition, no rows written)."""
    return dg.AssetMaterialization(
        asset_key=bronze_key,
        description="Bronze holds every message of the topic (checked by the Kafka sensor; "
        "nothing written)",
        metadata={
            "caught_up": dg.MetadataValue.bool(True),
            "end_offsets": dg.MetadataValue.json({str(p): e for p, e in sorted(lag.ends.items())}),
            "lag_messages": dg.MetadataValue.int(0),
        },
        tags={CAUGHT_UP_TAG: "true"},
    )
