"""Replay one past Bronze partition from Kafka, replacing exactly that partition.

Bronze is append-only in offset order, so within the topic's current incarnation the offsets
of day D in each Kafka partition are the ones after the last offset of earlier days (or from
the incarnation's first offset, for its earliest day) and before the first offset of later
days — known even when D's own rows were damaged or deleted. Replayed rows keep their
original ingestion timestamps, so Silver's "latest ingested" choice does not change. Rows of
D from an earlier incarnation of the topic (which Kafka no longer holds) are kept as they are.
Records `fastcart forget` erased are blanked again before the write (`reblank_erased`).
"""

from __future__ import annotations

import posixpath
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from confluent_kafka import TopicPartition
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

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
from fastcart_assets.erasures import ERASED, blanked, erased_records, with_erased_flag
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

    Records are parsed a batch (`batch_bytes`) at a time and staged as scratch Parquet, so
    memory holds one batch whatever the size of the day; the commit writes the whole day.
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
    extras = extra_columns_of(table_path, table.schema)
    with scratch_dir(posixpath.dirname(table_path.rstrip("/")), "bronze-replay") as scratch:
        stage = _Stage(f"{scratch}/replayed", table, day, state.incarnation, kept, extras)
        limits = BatchLimits(bytes=batch_bytes)
        with closing_consumer(bronze_consumer(kafka, REPLAY_GROUP, limits)) as consumer:
            _check_incarnation(kafka, state, day)
            ranges = _check_ranges(ranges, watermarks(consumer, kafka, topic, sorted(ranges)), day)
            _assign(consumer, topic, ranges, result)
            try:
                stats = read_batches(
                    consumer,
                    result.partitions,
                    stage.add,
                    limits=limits,
                    stall_timeout_s=stall_timeout_s,
                )
            except IngestStalled as exc:
                raise IngestStalled(f"replay of {day}: {exc} Nothing was written.") from exc
            result.bytes_read, result.kafka_seconds = stats.bytes_read, stats.kafka_seconds
        started = time.monotonic()
        replayed = reblank_erased(spark, table_path, stage.frame(spark), day, state, table)
        _overwrite_day(spark, table_path, day, replayed, bronze, state, f"{scratch}/others")
    result.rows_written = result.messages_read
    result.malformed = stage.malformed
    result.batches = 1
    result.extra_columns = list(stage.extras)
    result.write_seconds = time.monotonic() - started
    return result


def _assign(consumer, topic: str, ranges, result: IngestResult) -> None:
    """Read exactly the day's offsets of each partition: `stop_at` ends each range."""
    for partition, (first, last) in ranges.items():
        result.partitions[partition] = PartitionProgress(
            partition, first, end_at_start=last + 1, next_offset=first, stop_at=last + 1
        )
    consumer.assign([TopicPartition(topic, p, r[0]) for p, r in ranges.items()])


class _Stage:
    """Replayed rows as scratch Parquet files, one per batch, written with pyarrow (no
    Spark Connect message limit); read back by Spark for the one overwrite."""

    def __init__(self, path: str, table: BronzeTable, day: date, incarnation, kept, extras):
        self.path = path
        self.filesystem, self.root = pafs.FileSystem.from_uri(
            path if "://" in path else f"file://{path}"
        )
        self.filesystem.create_dir(self.root, recursive=True)
        self.table, self.day, self.incarnation = table, day, incarnation
        self.kept = kept
        # Rows missing from the damaged partition get the day's last known write time.
        self.fallback = max(kept.values(), default=datetime.combine(day, dtime.max, tzinfo=UTC))
        self.extras = list(extras)
        self.parts = 0
        self.malformed = 0

    def add(self, records) -> None:
        batch = build_batch(
            records,
            self.table.parse,
            self.table.schema,
            self.fallback,
            self.day,
            incarnation=self.incarnation,
            known_extra_columns=self.extras,
            ingestion_timestamps=self.kept,
        )
        self.extras = batch.extra_columns
        self.malformed += batch.malformed
        self._write(batch.table)

    def _write(self, arrow: pa.Table) -> None:
        name = f"{self.root}/part-{self.parts:05d}.parquet"
        pq.write_table(arrow, name, filesystem=self.filesystem)
        self.parts += 1

    def frame(self, spark: SparkSession) -> DataFrame:
        """Every staged row, with the extra columns any batch added (null where absent)."""
        if not self.parts:
            self._write(arrow_schema(self.table.schema, self.extras).empty_table())
        schema = StructType(
            [*self.table.schema.fields, *[StructField(e, StringType()) for e in self.extras]]
        )
        return spark.read.schema(schema).parquet(self.path)


def reblank_erased(
    spark: SparkSession,
    table_path: str,
    frame: DataFrame,
    day: date,
    state: TopicState,
    table: BronzeTable,
) -> DataFrame:
    """`frame` (replayed rows of `day`) with the records `fastcart forget` erased blanked again:
    the topic may still hold the messages (docs/ARCHITECTURE.md "Forgetting a customer").
    Matched by (topic, partition, offset) within the incarnation replayed, so a row that was
    missing from the damaged partition is blanked too."""
    erased = erased_records(spark, table_path).where(
        (F.col("ingestion_date") == F.lit(day))
        & (F.coalesce(F.col("kafka_incarnation"), F.lit(1)) == F.lit(state.incarnation))
    )
    key = ("kafka_topic", "kafka_partition", "kafka_offset")
    flagged = with_erased_flag(frame, erased, key)
    return blanked(flagged, F.col(ERASED), table.kept_on_erasure).drop(ERASED)


def _overwrite_day(spark, table_path, day, frame: DataFrame, bronze, state, scratch) -> None:
    """Replace partition `day` with the replayed rows plus the day's rows of other
    incarnations (staged in scratch Parquet first: a write must not read its own target)."""
    others = bronze.where(
        (F.col(PARTITION_COLUMN) == F.lit(day)) & (incarnation_of(bronze) != state.incarnation)
    )
    add_new_columns(table_path, frame.schema)
    if others.limit(1).count():
        kept = stored(others, scratch)
        absent = [c for c in frame.columns if c not in kept.columns]  # new extra columns
        if absent:
            kept = kept.withColumns({c: F.lit(None).cast("string") for c in absent})
        frame = frame.unionByName(kept.select(*frame.columns))
    (
        frame.write.format("delta")
        .mode("overwrite")
        .option("replaceWhere", f"{PARTITION_COLUMN} = DATE'{day.isoformat()}'")
        .option("mergeSchema", "true")
        .partitionBy(PARTITION_COLUMN)
        .save(table_path)
    )
