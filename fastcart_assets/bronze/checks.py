"""Bronze's data-quality queries: coordinates unique and contiguous, rows = messages read.

A record's coordinates are (incarnation, partition, offset): offsets restart when the topic is
recreated (bronze.offsets), so uniqueness is per incarnation and contiguity is checked within
the incarnation a run read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from fastcart_assets.bronze.ingest import IngestResult
from fastcart_assets.bronze.table import incarnation_of


@dataclass(frozen=True)
class OffsetAudit:
    """Per incarnation and Kafka partition: rows, distinct offsets and the offset span."""

    incarnation: int
    partition: int
    rows: int
    distinct_offsets: int
    first: int
    last: int

    @property
    def duplicates(self) -> int:
        return self.rows - self.distinct_offsets

    @property
    def missing(self) -> int:
        return (self.last - self.first + 1) - self.distinct_offsets


def audit_offsets(
    spark: SparkSession,
    table_path: str,
    topic: str,
    incarnation: int | None,
    ranges: dict[int, tuple[int, int]] | None,
) -> list[OffsetAudit]:
    """Audit Bronze's offsets of `topic`: of every incarnation (`incarnation` None) or of one,
    within `ranges` (partition -> [first, last]) if given."""
    bronze = spark.read.format("delta").load(table_path).where(F.col("kafka_topic") == topic)
    bronze = bronze.withColumn("_incarnation", incarnation_of(bronze))
    if incarnation is not None:
        bronze = bronze.where(F.col("_incarnation") == incarnation)
    if ranges is not None:
        if not ranges:
            return []
        in_range = None
        for partition, (first, last) in ranges.items():
            cond = (F.col("kafka_partition") == partition) & F.col("kafka_offset").between(
                first, last
            )
            in_range = cond if in_range is None else in_range | cond
        bronze = bronze.where(in_range)
    rows = (
        bronze.groupBy("_incarnation", "kafka_partition")
        .agg(
            F.count(F.lit(1)).alias("rows"),
            F.countDistinct("kafka_offset").alias("distinct_offsets"),
            F.min("kafka_offset").alias("first"),
            F.max("kafka_offset").alias("last"),
        )
        .orderBy("_incarnation", "kafka_partition")
        .collect()
    )
    return [
        OffsetAudit(r._incarnation, r.kafka_partition, r.rows, r.distinct_offsets, r.first, r.last)
        for r in rows
    ]


def run_ranges(result: IngestResult) -> dict[int, tuple[int, int]]:
    """The offsets a run read, per partition, as inclusive ranges."""
    return {
        p.partition: (p.start, p.next_offset - 1) for p in result.partitions.values() if p.messages
    }


def duplicates_by_date(
    spark: SparkSession, table_path: str, topic: str, days: list[date]
) -> dict[date, tuple[int, int]]:
    """Per ingestion date of `days`: (rows, rows whose Kafka coordinate of `topic` — incarnation,
    partition, offset — occurs more than once in the whole table)."""
    bronze = spark.read.format("delta").load(table_path).where(F.col("kafka_topic") == topic)
    bronze = bronze.withColumn("_incarnation", incarnation_of(bronze))
    coordinates = ["_incarnation", "kafka_partition", "kafka_offset"]
    repeated = (
        bronze.groupBy(*coordinates)
        .count()
        .where(F.col("count") > 1)
        .select(*coordinates, F.lit(True).alias("_repeated"))
    )
    rows = (
        bronze.where(F.col("ingestion_date").isin([F.lit(d) for d in days]))
        .join(repeated, coordinates, "left")
        .groupBy("ingestion_date")
        .agg(
            F.count(F.lit(1)).alias("rows"),
            F.sum(F.when(F.col("_repeated"), 1).otherwise(0)).alias("repeated"),
        )
        .collect()
    )
    found = {r.ingestion_date: (int(r.rows), int(r.repeated or 0)) for r in rows}
    return {day: found.get(day, (0, 0)) for day in days}
