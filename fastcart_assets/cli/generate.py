"""`fastcart generate`: FastCart's order-event generator (the seed's options, and more)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

import click

from fastcart_assets.cli.options import BOOTSTRAP, SEED, Finite
from fastcart_assets.settings import Settings


def _parse_start(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise click.BadParameter(
            f"{value!r} is not a date or ISO datetime (e.g. 2025-11-09 or 2025-11-09T08:00:00Z)",
            param_hint="--start",
        ) from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@click.command()
@click.option(
    "--duration",
    type=Finite(min=0, max=525_600, min_open=True),
    default=None,
    help="minutes of event time to generate [default: 5, or unlimited with --orders]",
)
@click.option(
    "--min-delay",
    type=Finite(min=0, max=86_400),
    default=1.0,
    show_default=True,
    help="minimum seconds between two new orders",
)
@click.option(
    "--max-delay",
    type=Finite(min=0, max=86_400),
    default=60.0,
    show_default=True,
    help="maximum seconds between two new orders",
)
@click.option(
    "--kafka-bootstrap-servers",
    type=BOOTSTRAP,
    default=None,
    help="send to this Kafka cluster (without it, events go to the console)",
)
@click.option("--kafka-topic", default=None, help="[default: FASTCART_KAFKA_TOPIC]")
@click.option("--output-console", is_flag=True, help="also print events when sending to Kafka")
@click.option("--no-console", is_flag=True, help="never print events")
@click.option(
    "--orders",
    type=click.IntRange(min=1, max=100_000_000),
    default=None,
    help="stop creating orders after N (their later steps still follow)",
)
@click.option(
    "--speed",
    type=Finite(min=0, max=1_000_000),
    default=1.0,
    show_default=True,
    help="time compression: 60 = an hour per minute, 0 = as fast as possible",
)
@click.option(
    "--seed",
    type=SEED,
    default=None,
    help="reproducible stream; with the same --start the bytes are identical",
)
@click.option("--start", default=None, help="time of the first event [default: now, UTC]")
@click.option(
    "--dirty-rate",
    type=Finite(0, 1),
    default=0.0,
    show_default=True,
    help="share of events with a defect: duplicates, nulls, bad totals, unknown "
    "statuses, future timestamps, malformed JSON (with --cdc: of change records, redelivered, "
    "delivered out of order on another partition, or followed by a malformed copy)",
)
@click.option(
    "--cdc",
    is_flag=True,
    help="publish the orders table's row changes as Debezium's PostgreSQL connector would "
    "(snapshot `r`, then c/u/d and tombstones) instead of order events "
    "[topic: FASTCART_CDC_TOPIC, default fastcart.public.orders]",
)
@click.option(
    "--snapshot-orders",
    type=click.IntRange(min=0),
    default=None,
    help="with --cdc: orders created before the connector starts, read by its initial "
    "snapshot [default: a fifth of --orders, else 10]",
)
def generate(
    duration,
    min_delay,
    max_delay,
    kafka_bootstrap_servers,
    kafka_topic,
    output_console,
    no_console,
    orders,
    speed,
    seed,
    start,
    dirty_rate,
    cdc,
    snapshot_orders,
) -> None:
    """Generate FastCart order events (pending → confirmed → processing → shipped), or with
    --cdc the change events of the orders table."""
    from fastcart_assets.generator.orders import GeneratorConfig
    from fastcart_assets.generator.producer import DeliveryFailed
    from fastcart_assets.generator.producer import generate as run

    if min_delay > max_delay:
        raise click.BadParameter("--min-delay must not exceed --max-delay")
    if max_delay == 0:
        raise click.BadParameter("--max-delay must be above 0", param_hint="--max-delay")
    if snapshot_orders is not None and not cdc:
        raise click.BadParameter("only with --cdc", param_hint="--snapshot-orders")
    if duration is None and orders is None:
        duration = 5.0
    config = GeneratorConfig(
        start=_parse_start(start),
        duration=timedelta(minutes=duration) if duration is not None else None,
        orders=orders,
        min_delay_s=min_delay,
        max_delay_s=max_delay,
        seed=seed,
    )
    sink, partitions = None, None
    if kafka_bootstrap_servers:
        settings = Settings.from_env()
        topic = kafka_topic or (settings.cdc_topic if cdc else settings.kafka_topic)
        sink, partitions = _kafka_sink(kafka_bootstrap_servers, topic)
    to_console = not no_console and (sink is None or output_console)
    console = (lambda message: click.echo(message.decode(errors="replace"))) if to_console else None
    if cdc:
        if snapshot_orders is None:
            snapshot_orders = orders // 5 if orders is not None else 10
        _generate_cdc(config, snapshot_orders, dirty_rate, speed, sink, console, partitions)
        return

    with _progress(orders, enabled=not to_console) as progress:
        try:
            summary = run(
                config,
                dirty_rate=dirty_rate,
                speed=speed,
                sink=sink,
                console=console,
                progress=progress,
            )
        except DeliveryFailed as exc:
            raise click.ClickException(str(exc)) from exc
    _print_summary(summary, sink)


def _kafka_sink(bootstrap_servers: str, topic: str):
    """A sink on an existing topic, and the topic's partition count."""
    from fastcart_assets.generator.producer import KafkaSink
    from fastcart_assets.kafka.topics import KafkaUnavailable, TopicError, list_topics
    from fastcart_assets.resources.kafka import KafkaResource

    kafka = KafkaResource.from_settings(Settings.from_env(), topic).model_copy(
        update={"bootstrap_servers": bootstrap_servers}
    )
    try:
        topics = list_topics(kafka)
        if topic not in topics:
            raise TopicError(
                f"topic {topic!r} does not exist; create it with "
                f"`fastcart kafka create-topic {topic}`"
            )
    except (KafkaUnavailable, TopicError) as exc:
        raise click.ClickException(str(exc)) from exc
    return KafkaSink(kafka.producer(), topic), topics[topic]


def _generate_cdc(config, snapshot_orders, dirty_rate, speed, sink, console, partitions) -> None:
    from fastcart_assets.generator.cdc import CdcConfig
    from fastcart_assets.generator.cdc_producer import generate_cdc
    from fastcart_assets.generator.producer import DeliveryFailed

    with _progress(config.orders, enabled=console is None, unit="changes") as progress:
        try:
            summary = generate_cdc(
                config,
                CdcConfig(snapshot_orders=snapshot_orders),
                dirty_rate=dirty_rate,
                speed=speed,
                sink=sink,
                console=console,
                progress=progress,
                partitions=partitions,
            )
        except DeliveryFailed as exc:
            raise click.ClickException(str(exc)) from exc
    where = f"to Kafka topic {sink.topic}" if sink is not None else "to the console"
    click.echo(
        f"Generated {summary.changes} changes of {summary.orders} orders, "
        f"{summary.messages} messages {where} in {summary.seconds:.1f} s",
        err=True,
    )
    if summary.first_change is not None:
        ops = ", ".join(f"{op} {n}" for op, n in sorted(summary.by_op.items()))
        click.echo(
            f"  snapshot rows {summary.snapshot_rows}; changes by op: {ops}; tombstones "
            f"{summary.tombstones}; LSN {summary.first_lsn}..{summary.last_lsn}; "
            f"{summary.rows_at_end} rows in the table at the end",
            err=True,
        )
    defects = ", ".join(f"{k} {v}" for k, v in sorted(summary.defects.items())) or "none"
    click.echo(f"  defects: {defects}", err=True)


class _progress:
    """A rich progress line on stderr (orders created, events sent), off when printing events."""

    def __init__(self, total_orders: int | None, enabled: bool, unit: str = "events"):
        self.total = total_orders
        self.enabled = enabled and sys.stderr.isatty()
        self.unit = unit
        self.bar = None

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn("generating"),
            BarColumn(),
            TextColumn(f"{{task.completed}} orders, {{task.fields[events]}} {self.unit}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.bar.start()
        self.task = self.bar.add_task("orders", total=self.total, events=0)
        return self.update

    def update(self, summary) -> None:
        done = summary.changes if self.unit == "changes" else summary.events
        self.bar.update(self.task, completed=summary.orders, events=done)

    def __exit__(self, *exc_info) -> None:
        if self.bar is not None:
            self.bar.stop()


def _print_summary(summary, sink) -> None:
    def err(text: str) -> None:
        click.echo(text, err=True)

    where = f"to Kafka topic {sink.topic}" if sink is not None else "to the console"
    err(
        f"Generated {summary.orders} orders, {summary.events} events, "
        f"{summary.messages} messages {where} in {summary.seconds:.1f} s"
    )
    if summary.first_event is not None:
        err(
            f"  event time {summary.first_event:%Y-%m-%d %H:%M:%S} .. "
            f"{summary.last_event:%Y-%m-%d %H:%M:%S} UTC; {summary.in_flight} orders in flight"
        )
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(summary.by_status.items()))
    err(f"  events by status: {statuses}")
    defects = ", ".join(f"{k} {v}" for k, v in sorted(summary.defects.items())) or "none"
    err(f"  defects: {defects}")
