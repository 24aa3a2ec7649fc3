"""A Bronze table on Delta: what it is (`BronzeTable`) and what ingestion reads and writes there.

- `append_batch`: one Delta commit of a batch, written with delta-rs from the run's Arrow
  table; columns the table lacks are added first.
- `stored_positions`: per Kafka partition, the last record the table holds of the topic's
  current incarnation (the resume point); `last_offsets` its offset alone. Both read the table
  with delta-rs, so a run resumes without waiting for the engine to start.
- `read_topic_state` / `write_topic_state`: the topic's incarnation and reset decisions, kept as
  a table property (`fastcart.kafka.<topic>`) so that they travel with the table and commit
  atomically. Sail and delta-rs keep table properties on append and overwrite.
"""

from __future__ import annotations

import functools
import json
import logging
import operator
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable, Field, write_deltalake
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema
from pyspark.sql.types import StructType

from fastcart_assets.bronze.offsets import TopicState
from fastcart_assets.bronze.records import PayloadParser
from fastcart_assets.delta import ensure_table, table_exists
from fastcart_assets.erasures import RECORD_KEY, erased_keys
from fastcart_assets.schemas import INGESTION_COLUMNS, KAFKA_COORDINATES

log = logging.getLogger(__name__)

PARTITION_COLUMN = "ingestion_date"


@dataclass(frozen=True)
class BronzeTable:
    """What the shared ingestion needs to know about one Bronze table.

    Attributes:
        schema: the table's Spark schema: payload columns, then `KAFKA_COLUMNS` and
            `INGESTION_COLUMNS` (schemas.py); evolved string columns may follow.
        parse: (message values, known extra columns) -> payload columns (`PayloadParser`).
        consumer_group: the group the run's position is committed to, for lag monitoring.
        kept_on_erasure: the columns a row keeps when `fastcart forget` erases it (the rest,
            evolved columns included, is blanked); by default the record's identity only.
    """

    schema: StructType
    parse: PayloadParser
    consumer_group: str
    kept_on_erasure: tuple[str, ...] = (
        *KAFKA_COORDINATES.fieldNames(),
        "kafka_key_bytes",
        "kafka_incarnation",
        *INGESTION_COLUMNS.fieldNames(),
    )


def incarnation_of(frame: DataFrame) -> F.Column:
    """A row's topic incarnation: rows written before the column existed (null, or a table
    that does not have it yet) belong to the first."""
    if "kafka_incarnation" not in frame.columns:
        return F.lit(1)
    return F.coalesce(F.col("kafka_incarnation"), F.lit(1))


@dataclass(frozen=True)
class StoredPosition:
    """The last record of a Kafka partition that Bronze holds (current incarnation)."""

    offset: int
    raw: str | None
    key: str | None
    erased: bool = False  # blanked by `fastcart forget`: `raw` says nothing about the message


def _column_names(table: DeltaTable) -> list[str]:
    return [field.name for field in table.schema().fields]


def _rows_of_incarnation(
    table: DeltaTable, topic: str, incarnation: int, columns: list[str], where=None
) -> pa.Table:
    """`columns` of the rows of `topic` in `incarnation` matching `where`, read with delta-rs
    (the Arrow form of `incarnation_of`: rows written before `kafka_incarnation` existed
    belong to the first)."""
    has_incarnation = "kafka_incarnation" in _column_names(table)
    selected = pc.field("kafka_topic") == topic
    rows = table.to_pyarrow_dataset().to_table(
        columns=columns + (["kafka_incarnation"] if has_incarnation else []),
        filter=selected if where is None else selected & where,
    )
    if has_incarnation:
        rows = rows.filter(pc.equal(pc.fill_null(rows["kafka_incarnation"], 1), incarnation))
    elif incarnation != 1:
        rows = rows.slice(0, 0)
    return rows.select(columns)


def last_offsets(table_path: str, topic: str, incarnation: int) -> dict[int, int]:
    """The highest offset the table holds per Kafka partition of `topic` in `incarnation`,
    read with delta-rs from three columns: no engine needed."""
    return _last_offsets(DeltaTable(table_path), topic, incarnation)


def _last_offsets(table: DeltaTable, topic: str, incarnation: int) -> dict[int, int]:
    offsets = _rows_of_incarnation(table, topic, incarnation, ["kafka_partition", "kafka_offset"])
    grouped = offsets.group_by("kafka_partition").aggregate([("kafka_offset", "max")])
    partitions, highest = grouped["kafka_partition"], grouped["kafka_offset_max"]
    return dict(zip(partitions.to_pylist(), highest.to_pylist(), strict=True))


def stored_positions(table_path: str, topic: str, incarnation: int) -> dict[int, StoredPosition]:
    """The last record Bronze holds per Kafka partition of `topic` in `incarnation`: its offset,
    value and key, and whether `fastcart forget` erased it. Read with delta-rs, so a run starts
    reading Kafka while the engine is still starting."""
    if not table_exists(table_path):
        return {}
    table = DeltaTable(table_path)  # one snapshot for both reads
    last = _last_offsets(table, topic, incarnation)
    if not last:
        return {}
    wanted = functools.reduce(
        operator.or_,
        [
            (pc.field("kafka_partition") == partition) & (pc.field("kafka_offset") == offset)
            for partition, offset in last.items()
        ],
    )
    columns = [*RECORD_KEY, "_raw", "kafka_key"]
    rows = _rows_of_incarnation(table, topic, incarnation, columns, wanted)
    erased = erased_keys(table_path)
    return {
        row["kafka_partition"]: StoredPosition(
            row["kafka_offset"],
            row["_raw"],
            row["kafka_key"],
            tuple(row[c] for c in RECORD_KEY) in erased,
        )
        for row in rows.to_pylist()
    }


def extra_columns_of(table_path: str, schema: StructType) -> list[str]:
    """Columns the table gained through schema evolution (not in `schema`), in table order."""
    if not table_exists(table_path):
        return []
    known = set(schema.fieldNames())
    return [name for name in _column_names(DeltaTable(table_path)) if name not in known]


def append_batch(
    spark: SparkSession | Callable[[], SparkSession], batch: pa.Table, table_path: str
) -> None:
    """One Delta commit: append the Arrow `batch` (in the table's schema, perhaps with new
    columns, which are added to the table first).

    The run already holds the batch in Arrow, so delta-rs writes it where it is: a 50,000-row
    batch of order events commits in ~0.2 s, where sending it to Spark (`createDataFrame`, then
    a Delta append) took 0.7-1.5 s on Sail. Nothing caps the batch either, where a Spark Connect
    message is capped at 128 MB. Spark creates the table (its first, empty commit), so the
    table is what a Spark writer makes (`delta.ensure_table`); delta-rs appends resolve columns
    by name. `spark` may be a function returning the session: it is called only to create the
    table, so an append to an existing table never waits for the engine to start.
    """
    schema = from_arrow_schema(batch.schema)
    if table_exists(table_path):
        add_new_columns(table_path, schema)
    else:
        ensure_table(spark() if callable(spark) else spark, table_path, schema, [PARTITION_COLUMN])
    write_deltalake(
        table_path, batch, mode="append", partition_by=[PARTITION_COLUMN], schema_mode="merge"
    )


def add_new_columns(table_path: str, schema: StructType) -> None:
    """Add to the table, at its end, the columns of `schema` it does not have yet (nullable).

    `mergeSchema` alone is not enough: Sail 0.7 ignores it on a Delta append and silently
    drops the new columns. delta-rs adds them in a commit of their own (any type: the Delta
    schema is Spark's JSON); a run killed right after it leaves an empty column, which the
    next run fills like any other. Older rows read null in a new column.
    """
    if not table_exists(table_path):
        return  # the first append creates the table with every column
    table = DeltaTable(table_path)
    existing = {field.name for field in table.schema().fields}
    new = [field for field in schema.fields if field.name not in existing]
    if new:
        fields = [Field.from_json(json.dumps({**f.jsonValue(), "nullable": True})) for f in new]
        table.alter.add_columns(fields)
        log.info("Bronze gained columns: %s", ", ".join(field.name for field in new))


def _state_key(topic: str) -> str:
    return f"fastcart.kafka.{topic}"


def read_topic_state(table_path: str, topic: str) -> TopicState:
    """The topic's recorded incarnation state; the first incarnation when none is recorded."""
    if not table_exists(table_path):
        return TopicState()
    text = DeltaTable(table_path).metadata().configuration.get(_state_key(topic))
    return TopicState.from_json(text) if text else TopicState()


def write_topic_state(table_path: str, topic: str, state: TopicState) -> None:
    """Record `state` in the table's properties (one commit); the table must exist."""
    DeltaTable(table_path).alter.set_table_properties(
        {_state_key(topic): state.to_json()}, raise_if_not_exists=False
    )
