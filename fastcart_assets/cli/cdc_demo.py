"""`fastcart demo --cdc`: the orders table's change events beside the order events.

The change stream is the one `fastcart generate --cdc` publishes for the same generator settings,
so it describes the demo's own orders; `fastcart run` then builds Bronze CDC and the two SCD
tables, and the demo shows what they hold and what became of every envelope.
"""

from __future__ import annotations

import click
import dagster as dg

from fastcart_assets.settings import Settings

OUTCOMES = ("applied", "stale", "duplicates", "tombstones", "rejected")
PARTITIONS = 3


def publish_changes(settings: Settings, address: str, config, dirty_rate: float) -> None:
    """Create the CDC topic on the broker at `address` and publish the change events of the
    orders `config` generates (a fifth of them, or 10, exist before the connector starts)."""
    from fastcart_assets.generator.cdc import CdcConfig
    from fastcart_assets.generator.cdc_producer import generate_cdc
    from fastcart_assets.generator.producer import KafkaSink
    from fastcart_assets.kafka.topics import create_topic
    from fastcart_assets.resources.kafka import KafkaResource

    kafka = KafkaResource.from_settings(settings, topic=settings.cdc_topic).model_copy(
        update={"bootstrap_servers": address}
    )
    create_topic(kafka, kafka.topic, PARTITIONS, exist_ok=True)
    snapshot = config.orders // 5 if config.orders is not None else 10
    summary = generate_cdc(
        config,
        CdcConfig(snapshot_orders=snapshot),
        dirty_rate=dirty_rate,
        speed=0,
        sink=KafkaSink(kafka.producer(), kafka.topic),
        partitions=PARTITIONS,
    )
    ops = ", ".join(f"{op} {n:,}" for op, n in sorted(summary.by_op.items()))
    defects = sum(summary.defects.values())
    click.echo(
        f"   and {summary.changes:,} changes of the orders table on topic {kafka.topic} "
        f"({ops}; {summary.tombstones:,} tombstones; {summary.messages:,} records, "
        f"{defects:,} with delivery defects)"
    )


def envelope_outcomes(instance: dg.DagsterInstance, run_ids: list[str]) -> dict:
    """What the Silver CDC runs `run_ids` did with the envelopes, summed over the runs (a
    range run records the same figures on each partition's materialization: counted once)."""
    from fastcart_assets.cdc.assets import ORDERS_HISTORY_KEY

    totals = dict.fromkeys(OUTCOMES, 0)
    reasons: dict[str, int] = {}
    for run_id in run_ids:
        events = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
        materializations = [
            e.dagster_event.event_specific_data.materialization
            for e in events
            if e.dagster_event.asset_key == ORDERS_HISTORY_KEY
        ]
        if not materializations:
            continue
        metadata = materializations[0].metadata
        for name in OUTCOMES:
            totals[name] += int(metadata[name].value)
        for reason, n in metadata["rejected_by_reason"].value.items():
            reasons[reason] = reasons.get(reason, 0) + n
    return {**totals, "rejected_by_reason": reasons}


def _sizes(current, history) -> dict[str, int]:
    """Rows of the current table; versions, current versions, deletes and orders of history."""
    from pyspark.sql import functions as F

    [row] = history.agg(
        F.count(F.lit(1)).alias("versions"),
        F.sum(F.when(F.col("is_current"), 1).otherwise(0)).alias("current_versions"),
        F.sum(F.when(F.col("op") == "d", 1).otherwise(0)).alias("deletes"),
        F.countDistinct("order_id").alias("orders"),
    ).collect()
    return {"current": current.count(), **{k: int(v or 0) for k, v in row.asDict().items()}}


def show_cdc(settings: Settings, outcome) -> None:
    """Print the SCD tables' sizes and the envelopes' outcomes of this catch-up."""
    from fastcart_assets.instance import get_instance
    from fastcart_assets.query import register_views
    from fastcart_assets.resources.spark import spark_session

    spark = spark_session(settings.spark_remote)
    views = register_views(spark, settings)
    if "silver_orders_history" not in views:
        click.echo("\nchange data capture: no Silver CDC tables (did the CDC stages fail?)")
        return
    row = _sizes(spark.table("silver_orders_current"), spark.table("silver_orders_history"))
    click.echo(
        f"\nchange data capture\n"
        f"  silver_orders_current   {row['current']:>8,} live orders (SCD 1)\n"
        f"  silver_orders_history   {row['versions']:>8,} versions of {row['orders']:,} orders "
        f"(SCD 2; {row['current_versions']:,} current, {row['deletes']:,} deletes)"
    )
    runs = [s.run_id for s in outcome.stages if s.name == "silver cdc"] if outcome else []
    counts = envelope_outcomes(get_instance(settings), runs)
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(counts["rejected_by_reason"].items()))
    click.echo(
        "  envelopes this run: "
        + ", ".join(f"{name} {counts[name]:,}" for name in OUTCOMES)
        + (f" (rejected by reason: {reasons})" if reasons else "")
    )
