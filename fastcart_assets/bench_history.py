"""The history series of `fastcart bench`: how a small catch-up's cost grows with the lake.

For each history length H (days), a fresh lake gets H past days of orders, each day produced
to Kafka and ingested into its own Bronze partition (the ingestion date of that day, after the
last event of its orders), then Silver for all H partitions and Gold for every date their
events cover, built directly with the layer functions (the same code the assets run). Then one
small batch of new orders is produced and
`fastcart run`'s catch-up is timed through Dagster: Bronze for the batch, Silver for today's
partition against a Silver table holding H days, Gold for the dates it touched.

The history days are smaller than a FastCart day (HISTORY_DAY_EVENTS, not 200,000) so that
30 of them build in about a minute; what is measured is how the catch-up's cost grows with
them.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path

HISTORY_DAYS = (0, 7, 30)
HISTORY_DAY_EVENTS = 20_000
BATCH_EVENTS = 1_200
BATCH_SPAN = timedelta(minutes=25)  # the batch's orders start within this
DAY_SPAN = timedelta(hours=12)  # a history day's orders start within this


@dataclass
class HistoryPoint:
    days: int
    history_events: int = 0
    build_s: float = 0.0
    catch_up_s: float = 0.0
    layers_s: dict[str, float] = field(default_factory=dict)
    ratio: float | None = None  # catch_up_s over the empty lake's


def history_series(
    log: Callable[[str], None],
    days_list: Sequence[int] = HISTORY_DAYS,
    day_events: int = HISTORY_DAY_EVENTS,
    batch_events: int = BATCH_EVENTS,
) -> list[HistoryPoint]:
    """One point per history length; the ratio is to the first point (0 days)."""
    points = [_point(days, day_events, batch_events, log) for days in days_list]
    base = points[0].catch_up_s if points else 0.0
    for point in points:
        point.ratio = round(point.catch_up_s / base, 2) if base else None
    return points


def _point(days: int, day_events: int, batch_events: int, log) -> HistoryPoint:

    from fastcart_assets.bench import private_kafka
    from fastcart_assets.definitions import build_definitions
    from fastcart_assets.instance import temporary_instance
    from fastcart_assets.pipeline import run_catch_up
    from fastcart_assets.resources.spark import spark_session
    from fastcart_assets.settings import Settings

    point = HistoryPoint(days)
    with tempfile.TemporaryDirectory(prefix="fastcart-history-") as tmp:
        root = Path(tmp)
        with private_kafka(root, "history-orders") as kafka:
            settings = Settings(
                lake_root=str(root / "lake"),
                kafka_bootstrap=kafka.bootstrap_servers,
                kafka_topic=kafka.topic,
            )
            spark = spark_session()
            log(f"history series: building a lake of {days} days x {day_events:,} events ...")
            started = time.perf_counter()
            point.history_events = _build_history(spark, kafka, settings, days, day_events)
            point.build_s = round(time.perf_counter() - started, 2)

            batch_end = datetime.now(UTC) - timedelta(hours=1)
            _produce(kafka, batch_end, batch_events, seed=10_000, span=BATCH_SPAN)
            with temporary_instance(root / "dagster") as instance:
                started = time.perf_counter()
                outcome = run_catch_up(build_definitions(settings), instance)
                point.catch_up_s = round(time.perf_counter() - started, 2)
            if not outcome.success:
                failed = [s for s in outcome.stages if not s.success or s.error_checks_failed]
                raise RuntimeError(f"the catch-up on {days} days of history failed: {failed}")
            point.layers_s = {s.name: round(s.seconds, 2) for s in outcome.stages}
            log(f"  {days} days: catch-up of {batch_events:,} events in {point.catch_up_s:.2f} s")
    return point


def _produce(kafka, end: datetime, events: int, seed: int, span: timedelta) -> int:
    """`events` generated events of orders starting within `span`, every event before `end`
    (none is `future_timestamp` once ingested after `end`)."""
    from fastcart_assets.generator.orders import EVENTS_PER_ORDER, MAX_ORDER_SPAN, GeneratorConfig
    from fastcart_assets.generator.producer import KafkaSink, generate

    orders = int(events / EVENTS_PER_ORDER * 1.2) + 1  # more than needed: max_messages caps
    mean_gap_s = span.total_seconds() / orders
    config = GeneratorConfig(
        start=end - MAX_ORDER_SPAN - span,
        duration=None,
        orders=orders,
        seed=seed,
        min_delay_s=mean_gap_s * 0.5,
        max_delay_s=mean_gap_s * 1.5,
    )
    sink = KafkaSink(kafka.producer(), kafka.topic)
    return generate(config, speed=0, sink=sink, max_messages=events).messages


def _build_history(spark, kafka, settings, days: int, day_events: int) -> int:
    """Bronze, Silver and Gold of `days` past days, each day ingested on its own date; returns
    the events produced."""
    from pyspark.sql import functions as F

    from fastcart_assets.bronze.ingest import ingest_new_messages
    from fastcart_assets.gold.build import shared_frames, write_partitions
    from fastcart_assets.gold.registry import GOLD_TABLES
    from fastcart_assets.silver.writes import process_partitions
    from fastcart_assets.tables import BRONZE, SILVER, SILVER_REJECTED

    if not days:
        return 0
    today = datetime.now(UTC).date()
    history = [today - timedelta(days=back) for back in range(days, 0, -1)]
    produced = 0
    for n, day in enumerate(history):
        ingested = datetime.combine(day, clock(23, 59), tzinfo=UTC)
        produced += _produce(kafka, ingested - timedelta(hours=1), day_events, n, DAY_SPAN)
        ingest_new_messages(
            spark, kafka, settings.table_path(BRONZE.path), day, now=lambda at=ingested: at
        )
    silver = settings.table_path(SILVER.path)
    process_partitions(
        spark,
        settings.table_path(BRONZE.path),
        silver,
        settings.table_path(SILVER_REJECTED.path),
        history,
        now=datetime.combine(history[-1], clock(23, 59, 30), tzinfo=UTC),
    )
    events = spark.read.format("delta").load(silver)
    first = events.agg(F.min(F.to_date("timestamp"))).first()[0]  # the earliest event's date
    gold_dates = [first + timedelta(days=n) for n in range((history[-1] - first).days + 1)]
    with shared_frames(spark, silver, settings.lake_root) as shared:
        for table in GOLD_TABLES:
            path = settings.table_path(table.path)
            write_partitions(table.build(shared, gold_dates), path, table, gold_dates)
    return produced
