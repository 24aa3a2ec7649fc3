"""Replay one past Bronze partition from Kafka, replacing exactly that partition.

Bronze is append-only in offset order, so within the topic's current incarnation the offsets
of day D in each Kafka partition are the ones after the last offset of earlier days (or from
the incarnation's first offset, for its earliest day) and before the first offset of later
days — known even when D's own rows were damaged or deleted. Replayed rows keep their
original ingestion timestamps, so Silver's "latest ingested" choice does not change. Rows of
D from an earlier incarnation of the topic (which Kafka no longer holds) are kept as they are.
"""

from __future__ import annotations

import posixpath
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime

import pyarrow as pa
from confluent_kafka import TopicPartition
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fastcart_assets.bronze.ingest import IngestResult, OffsetsOutOfRange, bronze_consumer
from fastcart_assets.bronze.offsets import TopicState
from fastcart_assets.bronze.parse import ORDER_EVENTS
from fastcart_assets.bronze.reader import (
    BatchLimits,
    IngestStalled,
    PartitionProgress,
    read_batches,
)
from fastcart_assets.bronze.records import arrow_schema, build_batch
from fastcart_assets.bronze.table import (
    PARTITION_COLUMN,
    BronzeTable,
    add_new_columns,
    extra_columns_of,
    incarnation_of,
    read_topic_state,
)
from fastcart_assets.delta import table_exists
from fastcart_assets.kafka.topics import closing_consumer, topic_id, watermarks
from fastcart_assets.locks import writes_table
from fastcart_assets.resources.kafka import KafkaResource
from fastcart_assets.scratch import scratch_dir, stored

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
REPLAY_GROUP = "fastcart-bronze-replay"


def _day_ranges(bronze: DataFrame, day: date, state: TopicState) -> dict[int, tuple[int, int]]:
    """Per Kafka partition: the (first, last) offsets of `day` in the current incarnation;
    first is -1 when it starts at the topic's first offset."""
    day_col = F.col(PARTITION_COLUMN)
    bounds = bronze.groupBy("kafka_partition").agg(
        F.max(F.when(day_col < F.lit(day), F.col("kafka_offset"))).alias("before"),
        F.max(F.when(day_col == F.lit(day), F.col("kafka_offset"))).alias("last"),
        F.min(F.when(day_col > F.lit(day), F.col("kafka_offset"))).alias("after"),
    )
    ranges = {}
    for row in bounds.collect():
        floor = state.floors.get(row.kafka_partition, -1)
        first = row.before + 1 if row.before is not None else floor
        last = row.after - 1 if row.after is not None else row.last
        if last is not None and last >= first:
            ranges[row.kafka_partition] = (first, last)
    return ranges


def _kept_timestamps(bronze: DataFrame, day: date) -> dict[tuple[int, int], datetime]:
    """The ingestion timestamp of each row of `day`, by (partition, offset)."""
    rows = (
        bronze.where(F.col(PARTITION_COLUMN) == F.lit(day))
        .select("kafka_partition", "kafka_offset", F.unix_micros("ingestion_timestamp").alias("us"))
        .collect()
    )
    return {(r.kafka_partition, r.kafka_offset): EPOCH + timedelta(microseconds=r.us) for r in rows}


def _check_ranges(ranges, marks, day: date) -> dict[int, tuple[int, int]]:
    """Ranges with "the topic's first offset" resolved; fails when Kafka no longer holds them."""
    ranges = {p: (max(r[0], marks[p].low) if r[0] < 0 else r[0], r[1]) for p, r in ranges.items()}
    gone = {p: r for p, r in ranges.items() if r[0] < marks[p].low}
    if gone:
        details = "; ".join(
            f"partition {p}: offsets {r[0]}..{r[1]}, topic starts at {marks[p].low}"
            for p, r in sorted(gone.items())
        )
        raise OffsetsOutOfRange(
            f"cannot replay {day}: the topic no longer holds its messages ({details})"
        )
    return ranges


def _check_incarnation(kafka: KafkaResource, state: TopicState, day: date) -> None:
    current = topic_id(kafka, kafka.topic)
    if state.topic_id and current and current != state.topic_id:
        raise OffsetsOutOfRange(
            f"cannot replay {day}: topic {kafka.topic!r} was recreated since Bronze read it "
            f"(topic id {state.topic_id} is now {current}); its messages are gone. Run "
            "`fastcart run --offset-reset earliest` to ingest the new topic first."
        )


@writes_table
def replay_partition(
    spark: SparkSession,
    kafka: KafkaResource,
    table_path: str,
    day: date,
    stall_timeout_s: float = 30.0,
    *,
    table: BronzeTable = ORDER_EVENTS,
    batch_bytes: int = 64 << 20,
) -> IngestResult:
    """Re-read day `day`'s offsets from Kafka and overwrite that Bronze partition in one commit.

    Records are parsed to Arrow a batch at a time (`batch_bytes`), so memory holds the day as
    Arrow rather than as messages; the commit itself is one write of the whole day.
    """
    topic = kafka.topic
    result = IngestResult(topic=topic)
    if not table_exists(table_path):
        return result
    state = read_topic_state(table_path, topic)
    result.incarnation = state.incarnation
    bronze = spark.read.format("delta").load(table_path).where(F.col("kafka_topic") == topic)
    current = bronze.where(incarnation_of(bronze) == state.incarnation)
    ranges = _day_ranges(current, day, state)
    if not ranges:
        return result
    kept = _kept_timestamps(current, day)
    # Rows missing from the damaged partition get the day's last known write time.
    fallback = max(kept.values(), default=datetime.combine(day, dtime.max, tzinfo=UTC))
    extras = extra_columns_of(spark, table_path, table.schema)
    tables: list[pa.Table] = []

    def parse(records) -> None:
        batch = build_batch(
            records,
            table.parse,
            table.schema,
            fallback,
            day,
            incarnation=state.incarnation,
            known_extra_columns=extras,
            ingestion_timestamps=kept,
        )
        extras[:] = batch.extra_columns
        result.malformed += batch.malformed
        tables.append(batch.table)

    limits = BatchLimits(messages=50_000, bytes=batch_bytes)
    with closing_consumer(bronze_consumer(kafka, REPLAY_GROUP, limits)) as consumer:
        _check_incarnation(kafka, state, day)
        ranges = _check_ranges(ranges, watermarks(consumer, kafka, topic, sorted(ranges)), day)
        for partition, (first, last) in ranges.items():
            result.partitions[partition] = PartitionProgress(
                partition, first, end_at_start=last + 1, next_offset=first, stop_at=last + 1
            )
        consumer.assign([TopicPartition(topic, p, r[0]) for p, r in ranges.items()])
        try:
            stats = read_batches(
                consumer, result.partitions, parse, limits=limits, stall_timeout_s=stall_timeout_s
            )
        except IngestStalled as exc:
            raise IngestStalled(f"replay of {day}: {exc} Nothing was written.") from exc
        result.bytes_read, result.kafka_seconds = stats.bytes_read, stats.kafka_seconds

    started = time.monotonic()
    replayed = _concat(tables, arrow_schema(table.schema, extras))
    _overwrite_day(spark, table_path, day, replayed, bronze, state)
    result.rows_written = result.messages_read
    result.batches = 1
    result.extra_columns = list(extras)
    result.write_seconds = time.monotonic() - started
    return result


def _concat(tables: list[pa.Table], schema: pa.Schema) -> pa.Table:
    """The batches as one table of `schema`: earlier ones get the extra columns (at the end)
    that later ones added."""
    padded = []
    for t in tables:
        for name in schema.names[len(t.schema) :]:
            t = t.append_column(pa.field(name, pa.string()), pa.nulls(len(t), pa.string()))
        padded.append(t)
    return pa.concat_tables(padded) if padded else schema.empty_table()


def _overwrite_day(spark, table_path, day, replayed: pa.Table, bronze, state) -> None:
    """Replace partition `day` with the replayed rows plus the day's rows of other
    incarnations (staged in scratch Parquet first: a write must not read its own target)."""
    frame = spark.createDataFrame(replayed)
    others = bronze.where(
        (F.col(PARTITION_COLUMN) == F.lit(day)) & (incarnation_of(bronze) != state.incarnation)
    )
    add_new_columns(table_path, frame)
    with scratch_dir(posixpath.dirname(table_path.rstrip("/")), "bronze-replay") as scratch:
        if others.limit(1).count():
            kept = stored(others, f"{scratch}/others")
            missing = {
                c: F.lit(None).cast("string") for c in frame.columns if c not in kept.columns
            }
            kept = kept.withColumns(missing) if missing else kept
            frame = frame.unionByName(kept.select(*frame.columns))
        (
            frame.write.format("delta")
            .mode("overwrite")
            .option("replaceWhere", f"{PARTITION_COLUMN} = DATE'{day.isoformat()}'")
            .option("mergeSchema", "true")
            .partitionBy(PARTITION_COLUMN)
            .save(table_path)
        )
