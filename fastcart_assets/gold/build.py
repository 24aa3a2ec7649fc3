"""Build and write Gold tables: shared frames once per step, then each table's partitions
(the tables themselves are the entries of gold.registry).

The shared frames (reduced events, order facts) are written once to a scratch Parquet
location under the lake and read back by every table, so a step computes the whole-table
reduction of Silver once, however many tables it writes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from fastcart_assets.delta import dates_predicate, ensure_table
from fastcart_assets.gold.events import OrderSelector, order_facts, order_status_events
from fastcart_assets.locks import WRITER_WAIT_S, table_lock
from fastcart_assets.scratch import scratch_dir, stored

if TYPE_CHECKING:
    from fastcart_assets.gold.registry import GoldTable


@dataclass(frozen=True)
class SharedFrames:
    events: DataFrame
    facts: DataFrame


@contextmanager
def shared_frames(
    spark: SparkSession,
    silver_path: str,
    scratch_root: str,
    orders: OrderSelector | None = None,
    dates: Sequence[date] = (),
    store_events: bool = True,
) -> Iterator[SharedFrames]:
    """The reduced events and order facts, computed once.

    `orders(silver, dates)` picks the orders a step needs (gold.events: those dated in the
    dates, those shipped by them); each picked order keeps all its events, so its facts are
    exact, and the cost follows what the dates need rather than Silver's whole history.
    None: every order. `store_events=False` stores only the facts (events stay lazy).
    """
    with scratch_dir(scratch_root, "gold") as scratch:
        silver = spark.read.format("delta").load(silver_path)
        if orders is not None:
            silver = silver.join(orders(silver, dates), "order_id", "left_semi")
        events = order_status_events(silver)
        if store_events:
            events = stored(events, f"{scratch}/events")
        yield SharedFrames(events, stored(order_facts(events), f"{scratch}/facts"))


def write_partitions(frame: DataFrame, path: str, table: GoldTable, dates: Sequence[date]) -> None:
    """Replace exactly the partitions `dates` of a Gold table (created on first write).

    Two replaceWhere commits of the same partitions racing would both add their files; the
    writer lock makes a second run wait and then replace the first one's rows.
    """
    if not dates:
        return
    column = table.partition_column
    with table_lock(path, wait_s=WRITER_WAIT_S):
        ensure_table(frame.sparkSession, path, table.schema, [column])
        (
            frame.write.format("delta")
            .mode("overwrite")
            .option("replaceWhere", dates_predicate(column, dates))
            .save(path)
        )


@dataclass(frozen=True)
class PartitionRows:
    """One written partition: its row count and its first rows (in column order)."""

    rows: int
    first: list[tuple]


def written_partitions(
    spark: SparkSession, path: str, table: GoldTable, dates: Sequence[date], first: int
) -> dict[date, PartitionRows]:
    """Row count and the first `first` rows (sorted by every column) of each partition `dates`,
    read back from the table in one query; a partition without rows is absent."""
    column = table.partition_column
    frame = spark.read.format("delta").load(path).where(F.col(column).isin(list(dates)))
    names = table.schema.fieldNames()
    in_partition = Window.partitionBy(column)
    numbered = frame.select(
        *names,
        F.count(F.lit(1)).over(in_partition).alias("_rows"),
        F.row_number()
        .over(in_partition.orderBy(*[F.col(n).asc_nulls_last() for n in names]))
        .alias("_n"),
    ).where(F.col("_n") <= first)
    partitions: dict[date, PartitionRows] = {}
    for row in numbered.orderBy(column, "_n").collect():
        day = row[column]
        kept = partitions.setdefault(day, PartitionRows(row["_rows"], []))
        kept.first.append(tuple(row[n] for n in names))
    return partitions
