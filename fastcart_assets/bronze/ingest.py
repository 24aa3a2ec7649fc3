"""Exactly-once Kafka -> Bronze ingestion: the Bronze table is the checkpoint.

Each batch is one Delta append holding, per Kafka partition, the offsets right after the
highest offset already in Bronze. A crash before the commit writes nothing; a crash after it
leaves rows whose offsets the next run starts after. Consumer-group commits are made after the
run for lag monitoring only and are never read back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from deltalake import DeltaTable, Field
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fastcart_assets.bronze.parse import KafkaRecord, to_bronze_batch
from fastcart_assets.delta import table_exists
from fastcart_assets.kafka.topics import closing_consumer, partitions_of, watermarks
from fastcart_assets.locks import writes_table
from fastcart_assets.resources.kafka import KafkaResource
from fastcart_assets.schemas import BRONZE_SCHEMA

log = logging.getLogger(__name__)

CONSUMER_GROUP = "fastcart-bronze"
OFFSET_RESETS = ("fail", "earliest", "latest")
# How long to wait for Bronze's last message when checking it still exists in the topic; the
# embedded broker answers a fetch past the end with silence, not with an error.
VERIFY_TIMEOUT_S = 5.0
GROUP_COMMIT_TIMEOUT_S = 10.0  # the monitoring commit may not hold a run up longer


class OffsetsOutOfRange(RuntimeError):
    """Bronze's stored position does not exist in the topic (recreated, or retention passed)."""


class IngestStalled(RuntimeError):
    """Kafka stopped delivering before the run reached the data that existed when it began."""


@dataclass
class PartitionProgress:
    """What one run read from one Kafka partition."""

    partition: int
    start: int
    end_at_start: int
    next_offset: int
    messages: int = 0
    gaps: int = 0

    def advance(self, offset: int) -> bool:
        """Record the message at `offset`; False when it was already read (to skip)."""
        if offset < self.next_offset:
            return False
        self.gaps += offset - self.next_offset
        self.next_offset = offset + 1
        self.messages += 1
        return True

    @property
    def lag(self) -> int:
        """Messages known to exist beyond what this run read (0 when it caught up)."""
        return max(0, self.end_at_start - self.next_offset)


@dataclass
class IngestResult:
    """A Bronze run's outcome, reported as materialization metadata."""

    topic: str
    partitions: dict[int, PartitionProgress] = field(default_factory=dict)
    rows_written: int = 0
    malformed: int = 0
    batches: int = 0
    bytes_read: int = 0
    kafka_seconds: float = 0.0
    write_seconds: float = 0.0
    extra_columns: list[str] = field(default_factory=list)

    @property
    def messages_read(self) -> int:
        return sum(p.messages for p in self.partitions.values())


@dataclass(frozen=True)
class StoredPosition:
    """The last message of a Kafka partition that Bronze holds."""

    offset: int
    raw: str | None
    key: str | None


def stored_positions(spark: SparkSession, table_path: str, topic: str) -> dict[int, StoredPosition]:
    """The highest offset Bronze holds per Kafka partition of `topic`, with that message."""
    if not table_exists(table_path):
        return {}
    bronze = spark.read.format("delta").load(table_path).where(F.col("kafka_topic") == topic)
    last = bronze.groupBy("kafka_partition").agg(F.max("kafka_offset").alias("kafka_offset"))
    rows = (
        bronze.join(last, ["kafka_partition", "kafka_offset"])
        .select("kafka_partition", "kafka_offset", "_raw", "kafka_key")
        .collect()
    )
    return {
        row.kafka_partition: StoredPosition(row.kafka_offset, row._raw, row.kafka_key)
        for row in rows
    }


def extra_columns_of(spark: SparkSession, table_path: str) -> list[str]:
    """Columns the Bronze table gained through schema evolution, in table order."""
    if not table_exists(table_path):
        return []
    known = set(BRONZE_SCHEMA.fieldNames())
    return [c for c in spark.read.format("delta").load(table_path).columns if c not in known]


def kafka_record(message: Message) -> KafkaRecord:
    _, timestamp_ms = message.timestamp()
    return KafkaRecord(
        topic=message.topic(),
        partition=message.partition(),
        offset=message.offset(),
        timestamp_ms=timestamp_ms if timestamp_ms and timestamp_ms > 0 else None,
        key=message.key(),
        value=message.value(),
    )


def _verify_positions(
    consumer: Consumer,
    kafka: KafkaResource,
    topic: str,
    positions: dict[int, StoredPosition],
    lows: dict[int, int],
    timeout_s: float,
) -> dict[int, str]:
    """Re-read Bronze's last message of each partition; name the partitions where it is gone.

    Watermarks alone cannot tell (the embedded broker's high watermark lags), so the check is
    whether the message at the stored offset still exists and is the same message.
    """
    problems: dict[int, str] = {}
    to_check = {}
    for partition, stored in positions.items():
        if stored.offset < lows.get(partition, 0):
            if stored.offset + 1 < lows.get(partition, 0):
                problems[partition] = (
                    f"Bronze ends at offset {stored.offset} but the topic starts at "
                    f"{lows[partition]}: offsets {stored.offset + 1}..{lows[partition] - 1} "
                    "were deleted before ingestion (retention passed)"
                )
            continue
        to_check[partition] = stored
    if not to_check:
        return problems
    consumer.assign([TopicPartition(topic, p, s.offset) for p, s in to_check.items()])
    deadline = time.monotonic() + timeout_s
    pending = dict(to_check)
    while pending and time.monotonic() < deadline:
        for message in consumer.consume(len(pending), timeout=0.5):
            partition = message.partition()
            if partition not in pending:
                continue
            stored = pending.pop(partition)
            if message.error():
                problems[partition] = (
                    f"offset {stored.offset} is beyond the topic's end ({message.error().str()})"
                )
            elif message.offset() != stored.offset or (
                (message.value() or b"").decode("utf-8", "replace") != (stored.raw or "")
            ):
                problems[partition] = (
                    f"the message at offset {stored.offset} differs from the one in Bronze "
                    "(was the topic deleted and recreated?)"
                )
    if pending:
        # The embedded broker answers a fetch past the end with silence, but so does a broker
        # that stopped: ask for something it must answer (KafkaUnavailable if it does not).
        watermarks(consumer, kafka, topic, [min(pending)])
    for partition, stored in pending.items():
        problems[partition] = f"offset {stored.offset} is beyond the topic's end"
    consumer.unassign()
    return problems


@writes_table
def ingest_new_messages(
    spark: SparkSession,
    kafka: KafkaResource,
    table_path: str,
    ingestion_date: date,
    *,
    batch_size: int = 50_000,
    idle_timeout_s: float = 1.0,
    stall_timeout_s: float = 30.0,
    offset_reset: str = "fail",
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    on_batch: Callable[[IngestResult], None] | None = None,
) -> IngestResult:
    """Append every message not yet in Bronze that existed when the run began.

    Args:
        spark: the session from the Spark resource.
        kafka: the cluster and topic.
        table_path: the Bronze table.
        ingestion_date: the Bronze partition the rows go to (today's, for new data).
        batch_size: messages per Delta commit; memory stays bounded by one batch.
        idle_timeout_s: a poll this long without messages ends partitions already past the
            end offsets seen at the start (the embedded broker under-reports them).
        stall_timeout_s: fail when no message arrives this long while data is still missing.
        offset_reset: what to do when Bronze's position is not in the topic: "fail" (default),
            "earliest" or "latest".
        now: the clock, for the ingestion timestamp of each batch.
        on_batch: called after each commit with the progress so far.
    """
    if offset_reset not in OFFSET_RESETS:
        raise ValueError(f"offset_reset must be one of {OFFSET_RESETS}, not {offset_reset!r}")
    topic = kafka.topic
    result = IngestResult(topic=topic)
    extra_columns = extra_columns_of(spark, table_path)
    positions = stored_positions(spark, table_path, topic)
    partitions = partitions_of(kafka, topic)

    with closing_consumer(kafka.consumer(CONSUMER_GROUP)) as consumer:
        marks = watermarks(consumer, kafka, topic, partitions)
        lows = {p: m.low for p, m in marks.items()}
        problems = _verify_positions(consumer, kafka, topic, positions, lows, VERIFY_TIMEOUT_S)
        starts = {}
        for partition in partitions:
            stored = positions.get(partition)
            start = marks[partition].low if stored is None else stored.offset + 1
            if partition in problems:
                if offset_reset == "fail":
                    continue
                reset_to = marks[partition]
                start = reset_to.low if offset_reset == "earliest" else reset_to.high
                log.warning(
                    "partition %s: %s; resetting to %s offset %s",
                    partition,
                    problems[partition],
                    offset_reset,
                    start,
                )
            starts[partition] = max(start, marks[partition].low)
        if problems and offset_reset == "fail":
            details = "; ".join(f"partition {p}: {text}" for p, text in sorted(problems.items()))
            raise OffsetsOutOfRange(
                f"topic {topic!r}: Bronze's stored offsets are not in the topic — {details}. "
                "Nothing was written. Re-run with offset_reset='earliest' or 'latest' "
                "(`fastcart run --offset-reset earliest`) to skip ahead deliberately."
            )
        for partition, start in starts.items():
            result.partitions[partition] = PartitionProgress(
                partition, start=start, end_at_start=marks[partition].high, next_offset=start
            )
        consumer.assign([TopicPartition(topic, p, offset) for p, offset in starts.items()])
        batches = _BatchWriter(spark, table_path, ingestion_date, extra_columns, result, now)
        _consume_until_caught_up(
            consumer, result, batch_size, idle_timeout_s, stall_timeout_s, batches, on_batch
        )
    _commit_for_monitoring(kafka, topic, result)
    return result


class _BatchWriter:
    """Turns a buffer of messages into one Delta append on the Bronze table."""

    def __init__(self, spark, table_path, ingestion_date, extra_columns, result, now):
        self.spark = spark
        self.table_path = table_path
        self.ingestion_date = ingestion_date
        self.extra_columns = extra_columns
        self.result = result
        self.now = now

    def write(self, records: list[KafkaRecord]) -> None:
        started = time.monotonic()
        batch = to_bronze_batch(records, self.now(), self.ingestion_date, self.extra_columns)
        append_to_bronze(self.spark.createDataFrame(batch.table), self.table_path)
        self.extra_columns = batch.extra_columns
        self.result.extra_columns = batch.extra_columns
        self.result.rows_written += len(records)
        self.result.malformed += batch.malformed
        self.result.batches += 1
        self.result.write_seconds += time.monotonic() - started
        log.info(
            "Bronze batch %d: %d rows committed (%d so far)",
            self.result.batches,
            len(records),
            self.result.rows_written,
        )


def _consume_until_caught_up(
    consumer: Consumer,
    result: IngestResult,
    batch_size: int,
    idle_timeout_s: float,
    stall_timeout_s: float,
    writer: _BatchWriter,
    on_batch: Callable[[IngestResult], None] | None,
) -> None:
    """Read every assigned partition up to (at least) its end offset at the start of the run.

    A partition is done at end-of-partition past that offset, or after an idle poll once past
    it. Messages of a finished partition that were already fetched are left for the next run,
    so each commit holds contiguous offsets per partition.
    """
    progress = result.partitions
    pending = set(progress)
    buffer: list[KafkaRecord] = []
    last_message_at = time.monotonic()
    while pending:
        polled_at = time.monotonic()
        messages = consumer.consume(min(batch_size, 10_000), timeout=idle_timeout_s)
        result.kafka_seconds += time.monotonic() - polled_at
        if not messages:
            pending -= {p for p in pending if progress[p].next_offset >= progress[p].end_at_start}
            if pending and time.monotonic() - last_message_at > stall_timeout_s:
                missing = ", ".join(
                    f"partition {p} at offset {progress[p].next_offset} "
                    f"(end was {progress[p].end_at_start})"
                    for p in sorted(pending)
                )
                raise IngestStalled(
                    f"Kafka delivered nothing for {stall_timeout_s:.0f} s while data was missing: "
                    f"{missing}. Is the broker up? {result.rows_written} rows were committed; "
                    "a re-run resumes after them."
                )
            continue
        last_message_at = time.monotonic()
        for message in messages:
            partition = message.partition()
            if partition not in pending:
                continue
            state = progress[partition]
            error = message.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    raise KafkaException(error)
                if message.offset() >= state.end_at_start:  # EOF carries the next offset
                    pending.discard(partition)
                continue
            if not state.advance(message.offset()):
                continue
            result.bytes_read += len(message.value() or b"")
            buffer.append(kafka_record(message))
            if len(buffer) >= batch_size:
                writer.write(buffer)
                buffer = []
                if on_batch:
                    on_batch(result)
    if buffer:
        writer.write(buffer)
        if on_batch:
            on_batch(result)


def append_to_bronze(frame: DataFrame, table_path: str) -> None:
    """One Delta commit: append `frame` to Bronze (new columns are added to the table first)."""
    add_new_columns(table_path, frame)
    (
        frame.write.format("delta")
        .mode("append")
        .option("mergeSchema", "true")
        .partitionBy("ingestion_date")
        .save(table_path)
    )


def add_new_columns(table_path: str, frame: DataFrame) -> None:
    """Add to the table, at its end, the columns of `frame` it does not have yet (nullable).

    `mergeSchema` alone is not enough: Sail 0.7 ignores it on a Delta append and silently
    drops the new columns. delta-rs adds them in a commit of their own; a run killed right
    after it leaves an empty column, which the next run fills like any other.
    """
    if not table_exists(table_path):
        return  # the first append creates the table with every column
    table = DeltaTable(table_path)
    existing = {field.name for field in table.schema().fields}
    new = [field for field in frame.schema.fields if field.name not in existing]
    if new:
        table.alter.add_columns(
            [Field(field.name, field.dataType.simpleString(), nullable=True) for field in new]
        )
        log.info("Bronze gained columns: %s", ", ".join(field.name for field in new))


def _commit_for_monitoring(
    kafka: KafkaResource,
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
        consumer = kafka.consumer(CONSUMER_GROUP)
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
