"""The record of erased Kafka records (`quality/forgotten`), read by every layer that could
bring a forgotten customer's data back (docs/SPEC.md §9, docs/ARCHITECTURE.md "Forgetting a
customer").

`fastcart forget` blanks the personal data of a customer's Bronze rows but keeps the rows, so
that every Kafka coordinate is still accounted for. The coordinates it blanked are appended
here, with no personal data (no customer id, no email): the request id and the time only.
Every reader of Bronze that re-derives rows consults it:

- Silver treats an erased row as rejected for the one hard reason `erased` and removes any
  Silver row it had produced (`silver/rules.py`, `silver/writes.py`);
- a Bronze replay of a past partition re-blanks the erased coordinates the topic still holds
  (`bronze/replay.py`), and the resume check does not compare an erased row with Kafka;
- the CDC Silver step rejects an erased change envelope (`cdc/rules.py`).

A record is identified as Silver identifies a Bronze row: topic, partition, offset and the
ingestion time, which a replay keeps and which differs between topic incarnations.
Pure Spark and delta-rs: no Dagster.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence

import pyarrow.compute as pc
from deltalake import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    DateType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from fastcart_assets.delta import ensure_table, table_exists
from fastcart_assets.locks import WRITER_WAIT_S, table_lock
from fastcart_assets.scratch import stored
from fastcart_assets.tables import FORGOTTEN

# The flag column a reader of Bronze adds: TRUE for an erased record.
ERASED = "_erased"
# How a Bronze row is identified across layers (= silver.transforms.COORDINATES).
RECORD_KEY = ("kafka_topic", "kafka_partition", "kafka_offset", "ingestion_timestamp")

FORGOTTEN_SCHEMA = StructType(
    [
        StructField("bronze_table", StringType(), nullable=False),  # e.g. bronze/ecommerce_sales
        StructField("kafka_topic", StringType(), nullable=False),
        StructField("kafka_partition", IntegerType(), nullable=False),
        StructField("kafka_offset", LongType(), nullable=False),
        StructField("ingestion_timestamp", TimestampType(), nullable=False),
        StructField("ingestion_date", DateType(), nullable=False),
        StructField("kafka_incarnation", IntegerType()),  # null: unknown (the row had expired)
        StructField("request_id", StringType(), nullable=False),  # one per `fastcart forget`
        StructField("erased_at", TimestampType(), nullable=False),
    ]
)
FORGOTTEN_PARTITION_COLUMNS: tuple[str, ...] = ()


def forgotten_path(table_path: str) -> str:
    """The record's location, for a table at `<lake root>/<layer>/<name>`."""
    root = posixpath.dirname(posixpath.dirname(table_path.rstrip("/")))
    return posixpath.join(root, FORGOTTEN.path)


def table_name(table_path: str) -> str:
    """`<layer>/<name>` of a table at `<lake root>/<layer>/<name>` (as the record names it)."""
    return "/".join(table_path.rstrip("/").split("/")[-2:])


def erased_records(spark: SparkSession, table_path: str) -> DataFrame:
    """The erased records of the Bronze table at `table_path`: RECORD_KEY, `ingestion_date` and
    `kafka_incarnation`, one row each; an empty frame when nothing was ever erased."""
    columns = [*RECORD_KEY, "ingestion_date", "kafka_incarnation"]
    path = forgotten_path(table_path)
    if not table_exists(path):
        schema = StructType([FORGOTTEN_SCHEMA[c] for c in columns])
        return spark.createDataFrame([], schema)
    log = spark.read.format("delta").load(path)
    mine = log.where(F.col("bronze_table") == F.lit(table_name(table_path)))
    return mine.select(*columns).distinct()


def erased_keys(table_path: str) -> set[tuple]:
    """The RECORD_KEY of every erased record of the Bronze table at `table_path`, read with
    delta-rs (no engine): for the few rows a reader checks one by one."""
    path = forgotten_path(table_path)
    if not table_exists(path):
        return set()
    record = (
        DeltaTable(path)
        .to_pyarrow_dataset()
        .to_table(
            columns=list(RECORD_KEY), filter=pc.field("bronze_table") == table_name(table_path)
        )
    )
    return {tuple(row[c] for c in RECORD_KEY) for row in record.to_pylist()}


def with_erased_flag(
    frame: DataFrame, erased: DataFrame, key: Sequence[str] = RECORD_KEY
) -> DataFrame:
    """`frame` with ERASED: TRUE for its rows whose `key` columns match a record of `erased`."""
    marks = erased.select(*key).distinct().withColumn(ERASED, F.lit(True))
    joined = frame.join(marks, list(key), "left")
    return joined.withColumn(ERASED, F.coalesce(F.col(ERASED), F.lit(False))).select(
        *frame.columns, ERASED
    )


def blanked(frame: DataFrame, erase: F.Column, kept: Sequence[str]) -> DataFrame:
    """`frame` with every column not in `kept` (nor the ERASED flag) set to null where `erase`
    is TRUE (columns keep their order and types; evolved columns, unknown here, are blanked
    too)."""
    return frame.select(
        *[
            F.col(c) if c in kept or c == ERASED else F.when(~erase, F.col(c)).alias(c)
            for c in frame.columns
        ]
    )


def append_erasures(spark: SparkSession, path: str, records: DataFrame, scratch: str) -> int:
    """Append the `records` (FORGOTTEN_SCHEMA) not yet in the table at `path`; returns how many.
    The new rows are staged in `scratch` first (the append must not read its own target)."""
    with table_lock(path, wait_s=WRITER_WAIT_S):
        ensure_table(spark, path, FORGOTTEN_SCHEMA, FORGOTTEN_PARTITION_COLUMNS)
        existing = spark.read.format("delta").load(path).select("bronze_table", *RECORD_KEY)
        new = records.select(*FORGOTTEN_SCHEMA.fieldNames()).join(
            existing, ["bronze_table", *RECORD_KEY], "left_anti"
        )
        new = stored(new.select(*FORGOTTEN_SCHEMA.fieldNames()), scratch)
        count = new.count()
        if count:
            new.write.format("delta").mode("append").save(path)
        return count
