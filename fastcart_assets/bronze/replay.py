"""Replay one past Bronze partition from Kafka, replacing exactly that partition.

Bronze is append-only in offset order, so the offsets of day D in each Kafka partition are the
ones after the last offset of earlier days (or from the topic's first offset, for the earliest
day) and before the first offset of later days — known even when D's own rows were damaged or
deleted. Replayed rows keep their original ingestion
timestamps, so Silver's "latest ingested" choice does not change.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime

from confluent_kafka import KafkaError, KafkaException, TopicPartition
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from fastcart_assets.bronze.ingest import (
    IngestResult,
    IngestStalled,
    OffsetsOutOfRange,
    PartitionProgress,
    add_new_columns,
    extra_columns_of,
    kafka_record,
)
from fastcart_assets.bronze.parse import KafkaRecord, to_bronze_batch
from fastcart_assets.delta import table_exists
from fastcart_assets.kafka.topics import closing_consumer, watermarks
from fastcart_assets.locks import writes_table
from fastcart_assets.resources.kafka import KafkaResource

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _day_ranges(spark: SparkSession, table_path: str, topic: str, day: date):
    """Per Kafka partition: (first, last) offset of `day`, and the kept ingestion timestamps."""
    bronze = spark.read.format("delta").load(table_path).where(F.col("kafka_topic") == topic)
    day_col = F.col("ingestion_date")
    bounds = bronze.groupBy("kafka_partition").agg(
        F.max(F.when(day_col < F.lit(day), F.col("kafka_offset"))).alias("before"),
        F.min(F.when(day_col == F.lit(day), F.col("kafka_offset"))).alias("first"),
        F.max(F.when(day_col == F.lit(day), F.col("kafka_offset"))).alias("last"),
        F.min(F.when(day_col > F.lit(day), F.col("kafka_offset"))).alias("after"),
    )
    ranges = {}
    for row in bounds.collect():
        # With no earlier day, D starts at the topic's first offset (see `replay_partition`).
        first = row.before + 1 if row.before is not None else -1
        last = row.after - 1 if row.after is not None else row.last
        if last is not None and last >= first:
            ranges[row.kafka_partition] = (first, last)
    kept = {
        (r.kafka_partition, r.kafka_offset): EPOCH + timedelta(microseconds=r.written_us)
        for r in bronze.where(day_col == F.lit(day))
        .select(
            "kafka_partition",
            "kafka_offset",
            F.unix_micros("ingestion_timestamp").alias("written_us"),
        )
        .collect()
    }
    return ranges, kept


@writes_table
def replay_partition(
    spark: SparkSession,
    kafka: KafkaResource,
    table_path: str,
    day: date,
    stall_timeout_s: float = 30.0,
) -> IngestResult:
    """Re-read day `day`'s offsets from Kafka and overwrite that Bronze partition in one commit."""
    topic = kafka.topic
    result = IngestResult(topic=topic)
    if not table_exists(table_path):
        return result
    ranges, kept = _day_ranges(spark, table_path, topic, day)
    if not ranges:
        return result
    records: list[KafkaRecord] = []
    with closing_consumer(kafka.consumer("fastcart-bronze-replay")) as consumer:
        marks = watermarks(consumer, kafka, topic, sorted(ranges))
        ranges = {p: (marks[p].low if r[0] < 0 else r[0], r[1]) for p, r in ranges.items()}
        gone = {p: r for p, r in ranges.items() if r[0] < marks[p].low}
        if gone:
            details = "; ".join(
                f"partition {p}: offsets {r[0]}..{r[1]}, topic starts at {marks[p].low}"
                for p, r in sorted(gone.items())
            )
            raise OffsetsOutOfRange(
                f"cannot replay {day}: the topic no longer holds its messages ({details})"
            )
        for partition, (first, last) in ranges.items():
            result.partitions[partition] = PartitionProgress(
                partition, start=first, end_at_start=last + 1, next_offset=first
            )
        consumer.assign([TopicPartition(topic, p, r[0]) for p, r in ranges.items()])
        pending = set(ranges)
        started = last_message_at = time.monotonic()
        while pending:
            messages = consumer.consume(10_000, timeout=1.0)
            if messages:
                last_message_at = time.monotonic()
            elif time.monotonic() - last_message_at > stall_timeout_s:
                raise IngestStalled(f"replay of {day} stalled; partitions {sorted(pending)}")
            for message in messages:
                partition = message.partition()
                if partition not in pending:
                    continue
                if message.error() is not None:
                    if message.error().code() == KafkaError._PARTITION_EOF:
                        continue
                    raise KafkaException(message.error())
                state = result.partitions[partition]
                if message.offset() > ranges[partition][1]:
                    pending.discard(partition)
                    continue
                if not state.advance(message.offset()):
                    continue
                records.append(kafka_record(message))
                if state.next_offset > ranges[partition][1]:
                    pending.discard(partition)
        result.kafka_seconds = time.monotonic() - started

    started = time.monotonic()
    # Rows missing from the damaged partition get the day's last known write time.
    fallback = max(kept.values(), default=datetime.combine(day, dtime.max, tzinfo=UTC))
    batch = to_bronze_batch(
        records, fallback, day, extra_columns_of(spark, table_path), ingestion_timestamps=kept
    )
    frame = spark.createDataFrame(batch.table)
    add_new_columns(table_path, frame)
    (
        frame.write.format("delta")
        .mode("overwrite")
        .option("replaceWhere", f"ingestion_date = DATE'{day.isoformat()}'")
        .option("mergeSchema", "true")
        .partitionBy("ingestion_date")
        .save(table_path)
    )
    result.rows_written = len(records)
    result.malformed = batch.malformed
    result.batches = 1
    result.extra_columns = batch.extra_columns
    result.write_seconds = time.monotonic() - started
    return result
