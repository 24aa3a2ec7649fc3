"""Build and write Gold tables: shared frames once per step, then each table's partitions.

The shared frames (reduced events, order facts) are written once to a scratch Parquet
location under the lake and read back by every table, so a step computes the whole-table
reduction of Silver once, however many tables it writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fastcart_assets.delta import dates_predicate, ensure_table
from fastcart_assets.gold import customer_analytics as ca
from fastcart_assets.gold import sales_performance as sp
from fastcart_assets.gold.events import order_facts, order_status_events
from fastcart_assets.gold.schemas import GOLD_SCHEMAS, partition_column
from fastcart_assets.locks import WRITER_WAIT_S, table_lock
from fastcart_assets.scratch import scratch_dir, stored


@dataclass(frozen=True)
class SharedFrames:
    events: DataFrame
    facts: DataFrame


@contextmanager
def shared_frames(
    spark: SparkSession, silver_path: str, scratch_root: str
) -> Iterator[SharedFrames]:
    """The reduced events and order facts of the whole Silver table, computed once."""
    with scratch_dir(scratch_root, "gold") as scratch:
        silver = spark.read.format("delta").load(silver_path)
        events = stored(order_status_events(silver), f"{scratch}/events")
        yield SharedFrames(events, stored(order_facts(events), f"{scratch}/facts"))


SALES_BUILDERS: dict[str, Callable[[SharedFrames, Sequence[date]], DataFrame]] = {
    "daily_product_revenue": lambda s, d: sp.daily_product_revenue(s.events, d),
    "hourly_order_trends": lambda s, d: sp.hourly_order_trends(s.events, s.facts, d),
    "order_status_distribution": lambda s, d: sp.order_status_distribution(s.events, d),
    "conversion_metrics": lambda s, d: sp.conversion_metrics(s.facts, d),
    "payment_method_revenue": lambda s, d: sp.payment_method_revenue(s.facts, d),
    "top_products": lambda s, d: sp.top_products(s.events, d),
}


def customer_builders(shared: SharedFrames, snapshots: Sequence[date]):
    """Table name -> a function building it, over one completed-orders frame per step."""
    completed = ca.completed_by_snapshot(shared.facts, snapshots)
    totals = ca.customers(completed)
    return {
        "top_customers": lambda: ca.top_customers(totals),
        "customer_segments": lambda: ca.customer_segments(totals, snapshots),
        "payment_method_preferences": lambda: ca.payment_method_preferences(completed),
        "geographic_analysis": lambda: ca.geographic_analysis(completed),
        "customer_retention": lambda: ca.customer_retention(totals, snapshots),
        "processing_time_by_segment": lambda: ca.processing_time_by_segment(
            completed, totals, snapshots
        ),
    }


def write_partitions(frame: DataFrame, path: str, table: str, dates: Sequence[date]) -> None:
    """Replace exactly the partitions `dates` of a Gold table (created on first write).

    Two replaceWhere commits of the same partitions racing would both add their files; the
    writer lock makes a second run wait and then replace the first one's rows.
    """
    if not dates:
        return
    column = partition_column(table)
    with table_lock(path, wait_s=WRITER_WAIT_S):
        ensure_table(frame.sparkSession, path, GOLD_SCHEMAS[table], [column])
        (
            frame.write.format("delta")
            .mode("overwrite")
            .option("replaceWhere", dates_predicate(column, dates))
            .save(path)
        )


def row_count(spark: SparkSession, path: str, table: str, dates: Sequence[date]) -> int:
    column = partition_column(table)
    frame = spark.read.format("delta").load(path)
    return frame.where(F.col(column).isin(list(dates))).count()
