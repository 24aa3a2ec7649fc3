"""`fastcart run`, `fastcart validate` and `fastcart demo`: the pipeline from the command line."""

from __future__ import annotations

import signal
import sys
from datetime import UTC, datetime, timedelta

import click

from fastcart_assets.cli.options import SEED, Finite
from fastcart_assets.settings import Settings


def _echo_stage(stage) -> None:
    status = "ok" if stage.success else "FAILED"
    partitions = "..".join(stage.partitions)
    rows = ", ".join(f"{k} {v:,}" for k, v in stage.rows.items()) or "no rows"
    click.echo(
        f"  {stage.name:<30} {status:<6} {partitions:<23} {stage.seconds:5.1f} s  "
        f"rows written: {rows}"
    )
    for warning in stage.warnings:
        click.echo(f"    warning: {warning}")
    for error in stage.errors:
        click.echo(f"    error: {error}")
    for failed in stage.checks_failed:
        click.echo(f"    check failed: {failed}")


def _check_kafka(settings: Settings) -> dict[str, int]:
    """Answer in one line, within seconds, when Kafka or the topic is not there; returns the
    cluster's topics (the catch-up learns from them whether the CDC topic exists)."""
    from fastcart_assets.kafka.topics import KafkaUnavailable, list_topics
    from fastcart_assets.resources.kafka import KafkaResource

    kafka = KafkaResource.from_settings(settings)
    try:
        topics = list_topics(kafka)
    except KafkaUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    if settings.kafka_topic not in topics:
        raise click.ClickException(
            f"topic {settings.kafka_topic!r} does not exist on {kafka.bootstrap_servers}"
        )
    return topics


def run_pipeline(offset_reset: str, batch_size: int | None, batch_bytes: int | None = None):
    """The catch-up through Dagster in DAGSTER_HOME; returns the outcome."""
    from fastcart_assets.cli.interrupt import stop_on_signals
    from fastcart_assets.definitions import build_definitions
    from fastcart_assets.instance import get_instance
    from fastcart_assets.pipeline import run_catch_up
    from fastcart_assets.runs import PoolBusy

    settings = Settings.from_env()
    topics = _check_kafka(settings)
    config = {"offset_reset": offset_reset}
    if batch_size:
        config["batch_size"] = batch_size
    if batch_bytes:
        config["batch_bytes"] = batch_bytes
    instance = get_instance(settings)
    click.echo(
        "fastcart run: Bronze ← Kafka, Silver, Gold as planned (touched dates, snapshots); "
        "Bronze CDC ← the CDC topic if it exists, Silver CDC"
    )
    defs = build_definitions(settings)
    try:
        with stop_on_signals(instance) as interruption:
            outcome = run_catch_up(
                defs,
                instance,
                bronze_config=config,
                on_stage=_echo_stage,
                on_wait=lambda text: click.echo(f"  {text}"),
                cdc_topic=settings.cdc_topic in topics,
            )
    except PoolBusy as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        interruption.signum = interruption.signum or signal.SIGINT
        outcome = None
    if interruption.signum is not None:
        click.echo(
            f"stopped by {interruption.name}: the interrupted run is recorded as failed and "
            "holds nothing; the next `fastcart run` carries on from what was committed"
        )
        sys.exit(interruption.exit_code)
    for blocked in outcome.blocked:
        click.echo(
            f"  Gold waits for Silver partition {blocked.partition}: {blocked.reason} "
            "(see its checks in the UI; other partitions proceed)"
        )
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
    help="when a Bronze table's stored offsets are not in its topic (recreated, retention)",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 1_000_000),
    default=None,
    help="messages per Bronze commit at most [default: 50000]",
)
@click.option(
    "--batch-bytes",
    type=click.IntRange(1024, 1 << 31),
    default=None,
    help="bytes of messages per Bronze commit at most [default: 67108864 (64 MB)]",
)
def run(offset_reset: str, batch_size: int | None, batch_bytes: int | None) -> None:
    """Catch up once: new Kafka data to Bronze, Silver, touched Gold partitions, snapshots;
    then Bronze CDC (when the CDC topic exists) and Silver CDC."""
    outcome = run_pipeline(offset_reset, batch_size, batch_bytes)
    if not outcome.success:
        sys.exit(1)


def money(value: float) -> str:
    """An amount for the report: to the cent, or in scientific notation beyond 1e15 (amounts
    no real order reaches, kept by Gold as they are)."""
    return f"{value:,.2f}" if abs(value) < 1e15 else f"{value:.6g}"


def print_report(report) -> None:
    click.echo("\nValidation report")
    click.echo("  rows per table:")
    for table, count in report.counts.items():
        click.echo(f"    {table:<48} {count:>10,}")
    click.echo("  revenue:")
    for name, value in report.revenue.items():
        click.echo(f"    {name:<56} {money(value):>16}")
    reasons = ", ".join(f"{k} {v}" for k, v in report.rejected_by_reason.items())
    click.echo(f"  rejected by reason (a row can have several): {reasons}")
    click.echo(f"  duplicates dropped: {report.duplicates_dropped:,}")
    if report.rules:
        click.echo("  rules (quality/rule_metrics; rate over every partition, worst partition):")
        for rule in report.rules:
            worst = rule.worst.upper()
            if rule.error_dates:
                worst += " on " + ", ".join(d.isoformat() for d in rule.error_dates[:5])
                worst += " …" if len(rule.error_dates) > 5 else ""
            elif rule.warn_partitions:
                worst += f" on {rule.warn_partitions} partition(s)"
            click.echo(
                f"    {rule.rule:<20} {rule.kind:<4} {rule.rate:8.2%} of {rule.rows_checked:>10,} "
                f"rows in {rule.partitions} partition(s)  {worst}"
            )
    for title, items in (
        ("reconciliations", report.reconciliations),
        ("spot checks (recomputed from Silver)", report.spot_checks),
    ):
        click.echo(f"  {title}:")
        for c in items:
            mark = "ok " if c.passed else "FAIL"
            click.echo(
                f"    [{mark}] {c.name}: expected {money(c.expected)}, got {money(c.actual)}"
            )


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
@click.option("--dirty-rate", type=Finite(0, 1), default=0.02, show_default=True)
@click.option("--seed", type=SEED, default=42, show_default=True)
@click.option(
    "--orders",
    type=click.IntRange(1, 10_000_000),
    default=None,
    help="stop creating orders after N (a smaller demo) [default: all the days hold]",
)
@click.option(
    "--cdc",
    is_flag=True,
    help="also publish the orders table's change events (FASTCART_CDC_TOPIC) and build "
    "bronze/orders_cdc, silver/orders_current and silver/orders_history",
)
def demo(days: int, dirty_rate: float, seed: int, orders: int | None, cdc: bool) -> None:
    """The whole pipeline on embedded defaults: broker, topic, orders, run, summary, report.

    A broker the demo starts is new and memory-only: its topic is a new incarnation, so Bronze
    reads it from its first message (`--offset-reset earliest`), keeping what it already holds.
    With --cdc, the change events of the same orders go to the CDC topic as well.
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
    kafka = KafkaResource.from_settings(settings).model_copy(
        update={"bootstrap_servers": state.address}
    )
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
    if cdc:
        from fastcart_assets.cli.cdc_demo import publish_changes

        publish_changes(settings, state.address, config, dirty_rate)
    click.echo("4. running the pipeline")
    if started:
        click.echo(
            "   (a new broker: if Bronze holds an earlier broker's topic, it reads this one as a "
            "new incarnation from its first message)"
        )
    outcome = run_pipeline(offset_reset, None)
    _show_gold(settings)
    if cdc:
        from fastcart_assets.cli.cdc_demo import show_cdc

        show_cdc(settings, outcome)
    from fastcart_assets.resources.spark import spark_session
    from fastcart_assets.validation import validate as build_report

    report = build_report(spark_session(settings.spark_remote), settings)
    print_report(report)
    click.echo(
        "\nNext:\n"
        "  .venv/bin/fastcart dashboard   # KPIs and data quality, http://127.0.0.1:8501\n"
        "  .venv/bin/fastcart ui          # the Dagster UI, http://127.0.0.1:3000\n"
        f"  .venv/bin/fastcart generate --kafka-bootstrap-servers {state.address} --speed 60"
        "   # more orders, which the UI's sensors ingest\n"
        "  .venv/bin/fastcart metrics     # Prometheus metrics, http://127.0.0.1:9108/metrics\n"
        '  .venv/bin/fastcart sql "SELECT * FROM gold_top_products"   # query the lake\n'
        + (
            '  .venv/bin/fastcart sql "SELECT status, count(*) AS orders FROM '
            'silver_orders_current GROUP BY status"   # the orders table now (CDC)\n'
            if cdc
            else ""
        )
        + "  .venv/bin/fastcart kafka stop  # stop the broker"
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
