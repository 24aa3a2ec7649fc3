"""Topic administration and offset look-ups that work on the embedded broker and real Kafka."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from confluent_kafka import (
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicCollection,
    TopicPartition,
)
from confluent_kafka.admin import NewTopic

from fastcart_assets.errors import FastcartError
from fastcart_assets.resources.kafka import KafkaResource


class KafkaUnavailable(FastcartError, RuntimeError):
    """The cluster could not be reached within the request timeout."""


class TopicError(FastcartError, RuntimeError):
    """A user-facing topic problem: already exists, does not exist."""


@contextmanager
def closing_consumer(consumer: Consumer) -> Iterator[Consumer]:
    try:
        yield consumer
    finally:
        consumer.close()  # an unclosed librdkafka consumer can crash the interpreter at exit


def _unavailable(kafka: KafkaResource, exc: Exception) -> KafkaUnavailable:
    return KafkaUnavailable(f"cannot reach Kafka at {kafka.bootstrap_servers}: {exc}")


def ensure_reachable(kafka: KafkaResource, timeout_s: float = 3.0) -> None:
    """Fail fast with a clear message when no bootstrap server accepts TCP connections."""
    errors = []
    for server in kafka.bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            socket.create_connection(
                (host.strip("[]") or "127.0.0.1", int(port)), timeout_s
            ).close()
            return
        except (OSError, ValueError) as exc:
            errors.append(f"{server}: {exc}")
    raise KafkaUnavailable(
        f"cannot reach Kafka at {kafka.bootstrap_servers} ({'; '.join(errors)}); "
        "is the broker running? (`fastcart kafka start`)"
    )


def list_topics(kafka: KafkaResource) -> dict[str, int]:
    """Topic name -> partition count, internal topics left out."""
    ensure_reachable(kafka)
    try:
        metadata = kafka.admin().list_topics(timeout=kafka.request_timeout_s)
    except KafkaException as exc:
        raise _unavailable(kafka, exc) from exc
    return {
        name: len(topic.partitions)
        for name, topic in sorted(metadata.topics.items())
        if not name.startswith("__")
    }


def create_topic(kafka: KafkaResource, name: str, partitions: int = 3, exist_ok: bool = False):
    """Create `name`; raises TopicError if it exists (unless `exist_ok`)."""
    if partitions < 1:
        raise TopicError("--partitions must be at least 1")
    ensure_reachable(kafka)
    admin = kafka.admin()  # keep a reference: the futures fail if the client is collected
    futures = admin.create_topics(
        [NewTopic(name, num_partitions=partitions, replication_factor=1)],
        request_timeout=kafka.request_timeout_s,
    )
    try:
        futures[name].result(timeout=kafka.request_timeout_s)
    except KafkaException as exc:
        error = exc.args[0] if exc.args else None
        if isinstance(error, KafkaError) and error.code() == KafkaError.TOPIC_ALREADY_EXISTS:
            if exist_ok:
                return
            raise TopicError(f"topic {name!r} already exists") from exc
        raise _unavailable(kafka, exc) from exc
    except TimeoutError as exc:
        raise _unavailable(kafka, exc) from exc


def partitions_of(kafka: KafkaResource, topic: str) -> list[int]:
    """Partition ids of `topic`, read fresh from the cluster (partitions can be added)."""
    topics = list_topics(kafka)
    if topic not in topics:
        raise TopicError(f"topic {topic!r} does not exist on {kafka.bootstrap_servers}")
    return list(range(topics[topic]))


_NO_TOPIC_ID = "AAAAAAAAAAAAAAAAAAAAAA"  # the all-zero UUID: the broker has no topic ids
_UNREACHABLE = {
    KafkaError._TRANSPORT,
    KafkaError._TIMED_OUT,
    KafkaError._ALL_BROKERS_DOWN,
    KafkaError.REQUEST_TIMED_OUT,
}


def topic_id(kafka: KafkaResource, topic: str) -> str | None:
    """The topic's id (a UUID that changes when the topic is recreated), or None when the
    broker has no topic ids. Raises KafkaUnavailable when the broker does not answer."""
    admin = kafka.admin()
    future = admin.describe_topics(
        TopicCollection([topic]), request_timeout=kafka.request_timeout_s
    )[topic]
    try:
        description = future.result(timeout=kafka.request_timeout_s + 1)
    except KafkaException as exc:
        error = exc.args[0] if exc.args else None
        if isinstance(error, KafkaError) and error.code() in _UNREACHABLE:
            raise _unavailable(kafka, exc) from exc
        return None  # an old broker, or no permission to describe: positions are still read
    except TimeoutError as exc:
        raise _unavailable(kafka, exc) from exc
    uuid = str(description.topic_id) if description.topic_id is not None else ""
    return None if uuid in ("", _NO_TOPIC_ID) else uuid


@dataclass(frozen=True)
class Watermarks:
    low: int
    high: int


def watermarks(consumer: Consumer, kafka: KafkaResource, topic: str, partitions: list[int]):
    """Low/high watermark per partition, asked of the broker (not cached)."""
    result: dict[int, Watermarks] = {}
    for partition in partitions:
        try:
            low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=kafka.request_timeout_s, cached=False
            )
        except KafkaException as exc:
            raise _unavailable(kafka, exc) from exc
        result[partition] = Watermarks(low=low, high=high)
    return result


def read_messages(
    kafka: KafkaResource, topic: str, max_messages: int | None = None, idle_timeout_s: float = 2.0
) -> Iterator[Message]:
    """Every message of `topic` from the beginning, stopping after an idle poll at the end."""
    partitions = partitions_of(kafka, topic)
    with closing_consumer(kafka.consumer(group_id="fastcart-cli-consume")) as consumer:
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        seen = 0
        while max_messages is None or seen < max_messages:
            batch = consumer.consume(500, timeout=idle_timeout_s)
            if not batch:
                return  # idle: the end of every partition was reached
            for message in batch:
                if message.error():
                    if message.error().code() == KafkaError._PARTITION_EOF:
                        continue
                    raise KafkaException(message.error())
                yield message
                seen += 1
                if max_messages is not None and seen >= max_messages:
                    return
