"""Drive the generator: pace by `--speed`, send to Kafka and/or a console, count what was sent."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from confluent_kafka import KafkaException, Producer

from fastcart_assets.generator.defects import DefectInjector
from fastcart_assets.generator.orders import GeneratorConfig, OrderStream


class DeliveryFailed(RuntimeError):
    """Kafka did not acknowledge some messages."""


@dataclass
class GenerationSummary:
    orders: int = 0
    events: int = 0
    messages: int = 0
    in_flight: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    defects: Counter[str] = field(default_factory=Counter)
    first_event: datetime | None = None
    last_event: datetime | None = None
    seconds: float = 0.0


class KafkaSink:
    """Sends messages keyed by order id; raises DeliveryFailed if any is not acknowledged."""

    def __init__(self, producer: Producer, topic: str):
        self.producer = producer
        self.topic = topic
        self.failures: list[str] = []
        self.sent = 0

    def _on_delivery(self, error, message) -> None:
        if error is not None:
            self.failures.append(str(error))

    def send(self, key: str | bytes, value: bytes | None, partition: int | None = None) -> None:
        """Queue one message; `partition` None lets the producer's partitioner pick by key."""
        where = {} if partition is None else {"partition": partition}
        while True:
            try:
                self.producer.produce(
                    self.topic,
                    key=key.encode() if isinstance(key, str) else key,
                    value=value,
                    on_delivery=self._on_delivery,
                    **where,
                )
                break
            except BufferError:  # local queue full: let librdkafka drain it
                self.producer.poll(0.5)
        self.sent += 1
        if self.sent % 10_000 == 0:
            self.producer.poll(0)

    def close(self, timeout_s: float = 60.0) -> None:
        remaining = self.producer.flush(timeout_s)
        if remaining or self.failures:
            first = self.failures[0] if self.failures else "timed out"
            raise DeliveryFailed(
                f"{remaining + len(self.failures)} messages were not delivered ({first})"
            )


def generate(
    config: GeneratorConfig,
    dirty_rate: float = 0.0,
    speed: float = 1.0,
    sink: KafkaSink | None = None,
    console: Callable[[bytes], None] | None = None,
    progress: Callable[[GenerationSummary], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    max_messages: int | None = None,
) -> GenerationSummary:
    """Generate the stream of `config`, sending each message to `sink` and/or `console`.

    Args:
        config: the window, pacing between orders and seed.
        dirty_rate: share of events given a defect.
        speed: time compression; 1 = real time, 60 = an hour per minute, 0 = no waiting.
        sink: where messages go (Kafka), or None.
        console: called with each message's bytes, or None.
        progress: called every 1,000 events with the summary so far.
        sleep: the pause function (tests pass a fake clock).
        max_messages: stop once this many messages were sent (benchmarks size by messages).
    """
    stream = OrderStream(config)
    injector = DefectInjector(dirty_rate, stream.rng)
    summary = GenerationSummary()
    started = time.monotonic()
    for moment, event in stream:
        if speed > 0:
            due = (moment - config.start).total_seconds() / speed
            wait = due - (time.monotonic() - started)
            if wait > 0:
                sleep(wait)
        for message in injector.messages(event, moment):
            if sink is not None:
                sink.send(event["order_id"], message)
            if console is not None:
                console(message)
            summary.messages += 1
        summary.events += 1
        summary.by_status[event["status"]] += 1
        summary.first_event = summary.first_event or moment
        summary.last_event = moment
        if progress is not None and summary.events % 1_000 == 0:
            summary.orders = stream.created
            progress(summary)
        if max_messages is not None and summary.messages >= max_messages:
            break
    if sink is not None:
        try:
            sink.close()
        except KafkaException as exc:
            raise DeliveryFailed(str(exc)) from exc
    summary.orders = stream.created
    summary.in_flight = stream.in_flight
    summary.defects = injector.counts
    summary.seconds = time.monotonic() - started
    return summary
