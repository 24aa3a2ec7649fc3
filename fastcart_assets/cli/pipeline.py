"""`fastcart run`, `fastcart validate` and `fastcart demo`: the pipeline from the command line."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

import click

from fastcart_assets.settings import Settings


def _echo_stage(stage) -> None:
    status = "ok" if stage.success else "FAILED"
    partitions = "..".join(stage.partitions)
    rows = ", ".join(f"{k} {v}" for k, v in stage.rows.items()) or "no rows"
    click.echo(f"  {stage.name:<24} {status:<6} {partitions:<23} {stage.seconds:5.1f} s  {rows}")
    for warning in stage.warnings:
        click.echo(f"    warning: {warning}")
    for error in stage.errors:
        click.echo(f"    error: {error}")
    for failed in stage.checks_failed:
        click.echo(f"    check failed: {failed}")


def run_pipeline(offset_reset: str, batch_size: int | None, batch_bytes: int | None = None):
    """The catch-up through Dagster in DAGSTER_HOME; returns the outcome."""
    from fastcart_assets.definitions import build_definitions
    from fastcart_assets.instance import get_instance
    from fastcart_assets.pipeline import run_catch_up

    config = {"offset_reset": offset_reset}
    if batch_size:
        config["batch_size"] = batch_size
    if batch_bytes:
        config["batch_bytes"] = batch_bytes
    instance = get_instance()
    click.echo("fastcart run: Bronze ← Kafka, Silver, touched Gold dates, customer snapshots")
    defs = build_definitions(Settings.from_env())
    outcome = run_catch_up(defs, instance, bronze_config=config, on_stage=_echo_stage)
    checks_passed = sum(s.checks_passed for s in outcome.stages)
    checks_failed = sum(len(s.checks_failed) for s in outcome.stages)
    click.echo(
        f"{'done' if outcome.success else 'FAILED'} in {outcome.seconds:.1f} s: "
        f"{len(outcome.stages)} runs, checks {checks_passed} passed / {checks_failed} failed; "
        f"runs recorded in {instance.root_directory}"
    )
    return outcome


@click.command()
@click.option(
    "--offset-reset",
    type=click.Choice(["fail", "earliest", "latest"]),
    default="fail",
    show_default=True,
    help="when Bronze's stored offsets are not in the topic (recreated, retention): fail, "
    "read the topic from its first message, or skip to its end; applied once",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=None,
    help="messages per Bronze commit at most [default: 50000]",
)
@click.option(
    "--batch-bytes",
    type=click.IntRange(min=1),
    default=None,
    help="bytes of messages per Bronze commit at most [default: 67108864 (64 MB)]",
)
def run(offset_reset: str, batch_size: int | None, batch_bytes: int | None) -> None:
    """Catch up once: new Kafka data to Bronze, Silver, touched Gold partitions, snapshots."""
    outcome = run_pipeline(offset_reset, batch_size, batch_bytes)
    if not outcome.success:
        sys.exit(1)


def print_report(report) -> None:
    click.echo("\nValidation report")
    click.echo("  rows per table:")
    for table, count in report.counts.items():
        click.echo(f"    {table:<48} {count:>10,}")
    click.echo("  revenue:")
    for name, value in report.revenue.items():
        click.echo(f"    {name:<56} {value:>16,.2f}")
    reasons = ", ".join(f"{k} {v}" for k, v in report.rejected_by_reason.items())
    click.echo(f"  rejected by reason (a row can have several): {reasons}")
    click.echo(f"  duplicates dropped: {report.duplicates_dropped:,}")
    for title, items in (
        ("reconciliations", report.reconciliations),
        ("spot checks (recomputed from Silver)", report.spot_checks),
    ):
        click.echo(f"  {title}:")
        for c in items:
            mark = "ok " if c.passed else "FAIL"
            click.echo(f"    [{mark}] {c.name}: expected {c.expected:,.2f}, got {c.actual:,.2f}")


@click.command()
def validate() -> None:
    """Print the validation report; exit 1 when a reconciliation or spot check fails."""
    from fastcart_assets.resources.spark import spark_session
    from fastcart_assets.validation import validate as build_report

    settings = Settings.from_env()
    report = build_report(spark_session(settings.spark_remote), settings)
    if not report.counts:
        raise click.ClickException("no tables yet: run `fastcart run` (or `fastcart demo`) first")
    print_report(report)
    if not report.passed:
        sys.exit(1)


@click.command()
@click.option(
    "--days",
    type=click.IntRange(1, 30),
    default=3,
    show_default=True,
    help="days of orders to generate, ending now",
)
@click.option("--dirty-rate", type=click.FloatRange(0, 1), default=0.02, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option(
    "--orders",
    type=click.IntRange(min=1),
    default=None,
    help="stop creating orders after N (a smaller demo) [default: all the days hold]",
)
def demo(days: int, dirty_rate: float, seed: int, orders: int | None) -> None:
    """The whole pipeline on embedded defaults: broker, topic, orders, run, summary, report.

    A broker the demo starts is new and memory-only: its topic is a new incarnation, so Bronze
    reads it from its first message (`--offset-reset earliest`), keeping what it already holds.
    """
    from fastcart_assets.generator.orders import GeneratorConfig
    from fastcart_assets.generator.producer import KafkaSink, generate
    from fastcart_assets.kafka import broker as embedded
    from fastcart_assets.kafka.topics import create_topic
    from fastcart_assets.resources.kafka import KafkaResource

    settings = Settings.from_env()
    port = int(settings.kafka_bootstrap.rsplit(":", 1)[1])
    try:
        state, started = embedded.start(port)
    except embedded.BrokerError as exc:
        raise click.ClickException(f"{exc} (set FASTCART_KAFKA_BOOTSTRAP to another port)") from exc
    click.echo(f"1. Kafka broker {'started' if started else 'running'} at {state.address}")
    # A broker started now holds only what this demo produces: if Bronze holds an earlier
    # broker's topic, ingesting this one from its first message is exactly right.
    offset_reset = "earliest" if started else "fail"
    kafka = KafkaResource(bootstrap_servers=state.address, topic=settings.kafka_topic)
    create_topic(kafka, kafka.topic, 3, exist_ok=True)
    click.echo(f"2. topic {kafka.topic} ready")
    now = datetime.now(UTC).replace(microsecond=0)
    config = GeneratorConfig(
        start=now - timedelta(days=days),
        duration=timedelta(days=days),
        orders=orders,
        min_delay_s=10,
        max_delay_s=50,
        seed=seed,
    )
    summary = generate(
        config, dirty_rate=dirty_rate, speed=0, sink=KafkaSink(kafka.producer(), kafka.topic)
    )
    defects = sum(summary.defects.values())
    click.echo(
        f"3. generated {summary.orders:,} orders, {summary.messages:,} messages over "
        f"{days} days ({defects} with defects, {summary.in_flight} orders in flight)"
    )
    click.echo("4. running the pipeline")
    if started:
        click.echo(
            "   (a new broker: if Bronze holds an earlier broker's topic, it reads this one as a "
            "new incarnation from its first message)"
        )
    outcome = run_pipeline(offset_reset, None)
    _show_gold(settings)
    from fastcart_assets.resources.spark import spark_session
    from fastcart_assets.validation import validate as build_report

    report = build_report(spark_session(settings.spark_remote), settings)
    print_report(report)
    click.echo(
        "\nNext: `.venv/bin/fastcart ui` opens the Dagster UI (http://127.0.0.1:3000);"
        ' `.venv/bin/fastcart sql "SELECT * FROM gold_top_products"` queries the lake;'
        " `.venv/bin/fastcart kafka stop` stops the broker."
    )
    if not (outcome.success and report.passed):
        sys.exit(1)


def _show_gold(settings: Settings) -> None:
    from fastcart_assets.cli.lake import show
    from fastcart_assets.query import register_views
    from fastcart_assets.resources.spark import spark_session

    spark = spark_session(settings.spark_remote)
    views = register_views(spark, settings)
    samples = {
        "gold_conversion_metrics": "SELECT * FROM gold_conversion_metrics ORDER BY date",
        "gold_top_products": "SELECT date, rank, product_id, product_name, total_revenue "
        "FROM gold_top_products WHERE ranking = 'revenue' AND date = "
        "(SELECT max(date) FROM gold_top_products) ORDER BY rank LIMIT 5",
        "gold_customer_segments": "SELECT * FROM gold_customer_segments WHERE snapshot_date = "
        "(SELECT max(snapshot_date) FROM gold_customer_segments)",
    }
    for view, statement in samples.items():
        if view in views:
            click.echo(f"\n{view}")
            show(spark.sql(statement), 20)
