"""Exactly-once Kafka -> Bronze ingestion of new messages: the Bronze table is the checkpoint.

Each batch is one Delta append holding, per Kafka partition, the offsets right after the
highest offset already in Bronze (in the topic's current incarnation). A crash before the
commit writes nothing; a crash after it leaves rows whose offsets the next run starts after.
Consumer-group commits are made after the run for lag monitoring only and are never read back.

The machinery serves any Bronze table of one topic; a table is a `BronzeTable` (bronze.table).
The order events are `bronze.parse.ORDER_EVENTS`; the orders table's change events
(`bronze/orders_cdc`, topic FASTCART_CDC_TOPIC) are `cdc.parse.ORDER_CHANGES`:

    ORDER_CHANGES = BronzeTable(
        schema=BRONZE_CDC_SCHEMA, parse=order_change_columns, consumer_group="fastcart-bronze-cdc"
    )
    ingest_new_messages(spark, kafka_cdc, cdc_path, today, table=ORDER_CHANGES)  # new records
    replay_partition(spark, kafka_cdc, cdc_path, day, table=ORDER_CHANGES)       # a past day

where the schema is the payload columns and `_raw` (the value as text: a run re-reads the last
record it holds and compares) followed by `KAFKA_COLUMNS` and `INGESTION_COLUMNS` (schemas.py),
and the parser `(records, known_extra_columns) -> PayloadColumns` is a pure function building
those payload columns and `_raw`, one row per record (a tombstone's value is None;
`bronze.records.build_batch(records, parser, schema, ...)` tests it without Kafka). The Kafka
columns, resume positions, incarnations, offset resets, byte-bounded batches, schema evolution
and the monitoring commit come from here. The asset body is shared as well
(`bronze.assets.materialize_bronze`: `check_specs=offset_check_specs(key)`, standard metadata,
`ingestion_metadata`, `offset_evaluations`). Each table keeps its own incarnation state (a
property of that table).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

from confluent_kafka import Consumer, KafkaException, TopicPartition
from pyspark.sql import SparkSession

from fastcart_assets.bronze.offsets import OFFSET_RESETS, PositionPlan, TopicState, plan_positions
from fastcart_assets.bronze.parse import ORDER_EVENTS
from fastcart_assets.bronze.reader import (
    BatchLimits,
    IngestStalled,
    PartitionProgress,
    read_batches,
)
from fastcart_assets.bronze.records import BronzeBatch, KafkaRecord, build_batch
from fastcart_assets.bronze.table import (
    BronzeTable,
    StoredPosition,
    append_batch,
    extra_columns_of,
    read_topic_state,
    stored_positions,
    write_topic_state,
)
from fastcart_assets.delta import table_exists
from fastcart_assets.kafka.topics import closing_consumer, partitions_of, topic_id, watermarks
from fastcart_assets.locks import writes_table
from fastcart_assets.resources.kafka import KafkaResource

log = logging.getLogger(__name__)

# How long to wait for Bronze's last message when checking it still exists in the topic; the
# embedded broker answers a fetch past the end with silence, not with an error.
VERIFY_TIMEOUT_S = 5.0
GROUP_COMMIT_TIMEOUT_S = 10.0  # the monitoring commit may not hold a run up longer


class OffsetsOutOfRange(RuntimeError):
    """Bronze's stored position does not exist in the topic (recreated, or retention passed)."""


@dataclass
class IngestResult:
    """A Bronze run's outcome, reported as materialization metadata."""

    topic: str
    incarnation: int = 1
    partitions: dict[int, PartitionProgress] = field(default_factory=dict)
    rows_written: int = 0
    malformed: int = 0
    batches: int = 0
    bytes_read: int = 0
    kafka_seconds: float = 0.0
    write_seconds: float = 0.0
    extra_columns: list[str] = field(default_factory=list)
    reset: dict | None = None  # what an offset reset did (Reset.as_metadata)

    @property
    def messages_read(self) -> int:
        return sum(p.messages for p in self.partitions.values())


def bronze_consumer(kafka: KafkaResource, group_id: str, limits: BatchLimits) -> Consumer:
    """A consumer whose prefetch is bounded next to the batch (librdkafka queues up to 64 MB
    and fetches up to 50 MB by default) and that accepts a record of any size.

    When its queue is full, librdkafka waits `fetch.queue.backoff.ms` (1 s by default) before
    fetching again: with a queue smaller than the default, a day's read took 3.2 s instead of
    1.3 s. At 10 ms the fetches keep up with the read loop.
    """
    queue_kb = min(max(limits.bytes // 4 // 1024, 1024), 65_536)
    return kafka.consumer(
        group_id,
        **{
            "fetch.queue.backoff.ms": 10,
            "queued.max.messages.kbytes": queue_kb,
            "fetch.max.bytes": min(queue_kb * 1024, 52_428_800),
            "max.partition.fetch.bytes": min(queue_kb * 1024, 10_485_760),
            "receive.message.max.bytes": 2_147_483_647,
        },
    )


def _text(data: bytes | None, default: str | None = "") -> str | None:
    """Bytes as Bronze stores them as text (`_raw`, `kafka_key`)."""
    return default if data is None else data.decode("utf-8", "replace")


def _verify_positions(
    consumer: Consumer,
    kafka: KafkaResource,
    topic: str,
    positions: dict[int, StoredPosition],
    lows: dict[int, int],
    timeout_s: float,
) -> dict[int, str]:
    """Re-read Bronze's last message of each partition; name the partitions where it is gone
    or different (the topic was recreated). Messages deleted by retention are not checked.

    Watermarks alone cannot tell (the embedded broker's high watermark lags), so the check is
    whether the message at the stored offset still exists and is the same message (by its key
    alone when `fastcart forget` blanked the row's value).
    """
    to_check = {p: s for p, s in positions.items() if s.offset >= lows.get(p, 0)}
    if not to_check:
        return {}
    problems: dict[int, str] = {}
    consumer.assign([TopicPartition(topic, p, s.offset) for p, s in to_check.items()])
    deadline = time.monotonic() + timeout_s
    pending = dict(to_check)
    while pending and time.monotonic() < deadline:
        for message in consumer.consume(len(pending), timeout=0.5):
            stored = pending.pop(message.partition(), None)
            if stored is None:
                continue
            if message.error():
                problems[message.partition()] = (
                    f"offset {stored.offset} is beyond the topic's end ({message.error().str()})"
                )
            elif (
                message.offset() != stored.offset
                or (not stored.erased and _text(message.value()) != (stored.raw or ""))
                or _text(message.key(), None) != stored.key
            ):
                problems[message.partition()] = (
                    f"the message at offset {stored.offset} differs from the one in Bronze"
                )
    if pending:
        # The embedded broker answers a fetch past the end with silence, but so does a broker
        # that stopped: ask for something it must answer (KafkaUnavailable if it does not).
        watermarks(consumer, kafka, topic, [min(pending)])
    for partition, stored in pending.items():
        problems[partition] = f"offset {stored.offset} is beyond the topic's end"
    consumer.unassign()
    return problems


def _plan(consumer, kafka, table_path, offset_reset) -> tuple[PositionPlan, dict]:
    """Decide the start offsets (see bronze.offsets); returns the plan and the watermarks."""
    topic = kafka.topic
    state = read_topic_state(table_path, topic)
    positions = stored_positions(table_path, topic, state.incarnation)
    marks = watermarks(consumer, kafka, topic, partitions_of(kafka, topic))
    current_id = topic_id(kafka, topic)
    mismatches = {}
    if not (state.topic_id and current_id and state.topic_id != current_id):  # else: recreated
        lows = {p: m.low for p, m in marks.items()}
        mismatches = _verify_positions(consumer, kafka, topic, positions, lows, VERIFY_TIMEOUT_S)
    stored_next = {p: s.offset + 1 for p, s in positions.items()}
    plan = plan_positions(topic, marks, state, stored_next, mismatches, current_id, offset_reset)
    return plan, marks


def _begin(consumer, topic, table_path, plan: PositionPlan, marks, at: datetime):
    """Record the plan's state (a reset before reading, so it is decided once), assign the
    start offsets; returns the run's result, the state and whether it was recorded."""
    result = IngestResult(topic=topic, incarnation=plan.incarnation)
    state = plan.state
    if plan.reset is not None:
        result.reset = plan.reset.as_metadata(at)
        state = replace(state, last_reset=result.reset)
        log.info("topic %s: %s", topic, plan.reset.describe())
    persisted = _persist(table_path, topic, state)
    for partition, start in plan.starts.items():
        result.partitions[partition] = PartitionProgress(
            partition, start=start, end_at_start=marks[partition].high, next_offset=start
        )
    consumer.assign([TopicPartition(topic, p, o) for p, o in plan.starts.items()])
    return result, state, persisted


def _persist(table_path: str, topic: str, state: TopicState | None) -> bool:
    """Record `state` in the table, if there is one to record and a table to hold it."""
    if state is None or not table_exists(table_path):
        return False
    write_topic_state(table_path, topic, state)
    return True


@writes_table
def ingest_new_messages(
    spark: SparkSession | Callable[[], SparkSession],
    kafka: KafkaResource,
    table_path: str,
    ingestion_date: date,
    *,
    table: BronzeTable = ORDER_EVENTS,
    batch_size: int = 50_000,
    batch_bytes: int = 64 << 20,
    idle_timeout_s: float = 1.0,
    stall_timeout_s: float = 30.0,
    offset_reset: str = "fail",
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    on_batch: Callable[[IngestResult], None] | None = None,
) -> IngestResult:
    """Append every message not yet in Bronze that existed when the run began.

    Args:
        spark: the session from the Spark resource, or a function returning it: Bronze needs
            the engine only to create its table, so a run can read Kafka while it starts.
        kafka: the cluster and topic.
        table_path: the Bronze table.
        ingestion_date: the Bronze partition the rows go to (today's, for new data).
        table: what the table is (schema, payload parser, consumer group).
        batch_size: messages per Delta commit at most.
        batch_bytes: bytes of messages per Delta commit at most (memory holds three batches:
            one being appended, one being parsed, one being read).
        idle_timeout_s: this long without a message ends partitions already past the
            end offsets seen at the start (the embedded broker under-reports them).
        stall_timeout_s: fail when no message arrives this long while data is still missing.
        offset_reset: what to do when Bronze's position is not in the topic: "fail" (default),
            "earliest" or "latest" (see bronze.offsets).
        now: the clock, for the ingestion timestamp of each batch.
        on_batch: called after each commit with the progress so far.
    """
    if offset_reset not in OFFSET_RESETS:
        raise ValueError(f"offset_reset must be one of {OFFSET_RESETS}, not {offset_reset!r}")
    topic = kafka.topic
    limits = BatchLimits(batch_size, batch_bytes)
    extra_columns = extra_columns_of(table_path, table.schema)
    with closing_consumer(bronze_consumer(kafka, table.consumer_group, limits)) as consumer:
        plan, marks = _plan(consumer, kafka, table_path, offset_reset)
        if plan.error:
            raise OffsetsOutOfRange(plan.error)
        result, state, persisted = _begin(consumer, topic, table_path, plan, marks, now())
        writer = _BatchWriter(spark, table_path, table, ingestion_date, extra_columns, result, now)
        try:
            with _WritesBehind(writer, on_batch) as writes:
                stats = read_batches(
                    consumer,
                    result.partitions,
                    writes.hand_over,
                    limits=limits,
                    idle_timeout_s=idle_timeout_s,
                    stall_timeout_s=stall_timeout_s,
                )
        except IngestStalled as exc:
            raise IngestStalled(
                f"{exc} {result.rows_written} rows were committed; a re-run resumes after them."
            ) from exc
        result.bytes_read, result.kafka_seconds = stats.bytes_read, stats.kafka_seconds
    if not persisted:  # the first run: its first batch created the table
        _persist(table_path, topic, state)
    _commit_for_monitoring(kafka, table.consumer_group, topic, result)
    return result


class _WritesBehind:
    """Builds and appends each batch behind the read loop, in two stages on two threads.

    While the read loop fills batch n+2, batch n+1 is parsed into Arrow (the builder thread)
    and batch n is appended (the appender thread; delta-rs and Arrow's JSON reader release the
    GIL, so the stages overlap on two cores). Appends run one at a time in the order batches
    were read, and batch n+1's append starts only after batch n's succeeded, so commits keep
    their offsets contiguous and a crash anywhere leaves what a crash between two batches
    leaves. At most three batches are in memory. A failed build or append is raised in the
    read loop at its next batch, or when the block ends; the block waits for the work in
    flight even when the read loop failed, so that the rows committed are known. `on_batch`
    runs on the caller's thread, after each commit it observes.
    """

    def __init__(self, writer: _BatchWriter, on_batch: Callable[[IngestResult], None] | None):
        self.writer, self.on_batch = writer, on_batch
        self.builder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bronze-build")
        self.appender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bronze-append")
        self.building: Future | None = None  # its result: the Future of its append
        self.appends: list[Future] = []  # submitted, not yet reported to `on_batch`

    def hand_over(self, records: list[KafkaRecord]) -> None:
        self._wait_for_build()
        previous = self.appends[-1] if self.appends else None
        self._report_commits()
        self.building = self.builder.submit(self._build_then_append, records, previous)

    def _build_then_append(self, records: list[KafkaRecord], previous: Future | None) -> Future:
        """Parse `records`, wait for the previous append, then start this batch's append."""
        started = time.monotonic()
        batch = self.writer.build(records)
        built_in = time.monotonic() - started
        if previous is not None:
            previous.result()  # a failed append stops every later one
        return self.appender.submit(self.writer.append, batch, len(records), built_in)

    def _wait_for_build(self) -> None:
        if self.building is not None:
            building, self.building = self.building, None
            self.appends.append(building.result())

    def _report_commits(self, wait: bool = False) -> None:
        """Raise a failed append; call `on_batch` for each finished one, in order."""
        while self.appends and (wait or self.appends[0].done()):
            progress = self.appends.pop(0).result()
            if self.on_batch:
                self.on_batch(progress)

    def __enter__(self) -> _WritesBehind:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            try:
                self._wait_for_build()
            finally:  # a failed build still leaves the appends before it to finish
                futures_wait(self.appends)
            self._report_commits(wait=True)
        except Exception:
            if exc is None:
                raise
            log.exception("a Bronze write failed while the read loop was failing")
        finally:
            self.builder.shutdown(wait=True)
            self.appender.shutdown(wait=True)


class _BatchWriter:
    """Turns a buffer of messages into an Arrow batch (`build`) and that into one Delta append
    on the Bronze table (`append`)."""

    def __init__(self, spark, table_path, table, ingestion_date, extra_columns, result, now):
        self.spark = spark
        self.table_path = table_path
        self.table = table
        self.ingestion_date = ingestion_date
        self.extra_columns = extra_columns
        self.result = result
        self.now = now

    def build(self, records: list[KafkaRecord]) -> BronzeBatch:
        batch = build_batch(
            records,
            self.table.parse,
            self.table.schema,
            self.now(),
            self.ingestion_date,
            incarnation=self.result.incarnation,
            known_extra_columns=self.extra_columns,
        )
        self.extra_columns = batch.extra_columns  # the next batch keeps them
        return batch

    def append(self, batch: BronzeBatch, rows: int, built_in: float = 0.0) -> IngestResult:
        """Commit `batch` (`rows` messages, parsed in `built_in` seconds); returns the progress
        as of this commit."""
        started = time.monotonic()
        append_batch(self.spark, batch.table, self.table_path)
        result = self.result
        result.extra_columns = batch.extra_columns
        result.rows_written += rows
        result.malformed += batch.malformed
        result.batches += 1
        result.write_seconds += built_in + time.monotonic() - started
        log.info(
            "Bronze batch %d: %d rows committed (%d so far)",
            result.batches,
            rows,
            result.rows_written,
        )
        return replace(result)


def _commit_for_monitoring(
    kafka: KafkaResource,
    group_id: str,
    topic: str,
    result: IngestResult,
    timeout_s: float = GROUP_COMMIT_TIMEOUT_S,
) -> None:
    """Record the position in the consumer group so lag tools see it; never read back.

    It runs on its own consumer and thread, and the run waits at most `timeout_s`: a broker
    that stops answering would block a commit, and the close of a consumer with a commit in
    flight, for minutes, while the data is already safe in Bronze. The reading consumer
    never commits, so it always closes at once.
    """
    offsets = [
        TopicPartition(topic, p.partition, p.next_offset)
        for p in result.partitions.values()
        if p.messages
    ]
    if not offsets:
        return

    def commit() -> None:
        consumer = kafka.consumer(group_id)
        try:
            consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            log.warning("consumer-group commit for monitoring failed (harmless): %s", exc)
        finally:
            consumer.close()

    committer = threading.Thread(target=commit, name="bronze-group-commit", daemon=True)
    committer.start()
    committer.join(timeout_s)
    if committer.is_alive():
        log.warning(
            "consumer-group commit for monitoring got no answer within %.0f s; Bronze is "
            "complete, only the group's lag figure is behind",
            timeout_s,
        )
