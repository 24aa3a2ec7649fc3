"""`fastcart kafka …`: the embedded broker and topic administration."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from fastcart_assets.cli.options import BOOTSTRAP
from fastcart_assets.kafka import broker as embedded
from fastcart_assets.kafka.topics import (
    KafkaUnavailable,
    TopicError,
    create_topic,
    list_topics,
    read_messages,
)
from fastcart_assets.resources.kafka import KafkaResource
from fastcart_assets.settings import DEFAULT_KAFKA_BOOTSTRAP, Settings


def _default_port() -> int:
    bootstrap = Settings.from_env().kafka_bootstrap.split(",")[0]
    return int(bootstrap.rsplit(":", 1)[1]) if ":" in bootstrap else 9092


def _kafka(bootstrap: str | None) -> KafkaResource:
    settings = Settings.from_env()
    if bootstrap is None:
        running = embedded.read_state()
        # A broker started from this directory on another port wins over the default address.
        if running is not None and settings.kafka_bootstrap == DEFAULT_KAFKA_BOOTSTRAP:
            bootstrap = running.address
    kafka = KafkaResource.from_settings(settings)
    return kafka.model_copy(update={"bootstrap_servers": bootstrap or settings.kafka_bootstrap})


bootstrap_option = click.option(
    "--bootstrap",
    type=BOOTSTRAP,
    default=None,
    help="Kafka bootstrap servers [default: FASTCART_KAFKA_BOOTSTRAP or the embedded broker]",
)


@click.group()
def kafka() -> None:
    """Run the embedded Kafka broker and manage topics (state in ./.fastcart/)."""


@kafka.command()
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="[default: 9092]")
def start(port: int | None) -> None:
    """Start the embedded broker; returns once it accepts connections."""
    port = port or _default_port()
    try:
        state, started = embedded.start(port)
    except embedded.BrokerError as exc:
        raise click.ClickException(str(exc)) from exc
    verb = "started" if started else "already running"
    click.echo(f"Kafka broker {verb} at {state.address} (pid {state.pid}, log {state.log_path})")
    if port != _default_port():
        click.echo(f"  export FASTCART_KAFKA_BOOTSTRAP={state.address}")


@kafka.command()
def stop() -> None:
    """Stop the embedded broker started from this directory (its topics are lost)."""
    state = embedded.stop()
    if state is None:
        click.echo("Kafka broker not running (nothing to stop)")
    else:
        click.echo(f"Kafka broker at {state.address} stopped")


@kafka.command()
def status() -> None:
    """Say whether the embedded broker runs, and where."""
    state = embedded.read_state()
    if state is None:
        click.echo("Kafka broker: not running")
        sys.exit(1)
    reachable = embedded.port_accepts_connections(state.port)
    health = "accepting connections" if reachable else "NOT accepting connections"
    click.echo(f"Kafka broker: running at {state.address} (pid {state.pid}), {health}")


@kafka.command("create-topic")
@click.argument("name")
@click.option("--partitions", type=click.IntRange(1, 10_000), default=3, show_default=True)
@bootstrap_option
def create_topic_cmd(name: str, partitions: int, bootstrap: str | None) -> None:
    """Create topic NAME."""
    resource = _kafka(bootstrap)
    try:
        create_topic(resource, name, partitions)
    except (TopicError, KafkaUnavailable) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"created topic {name} with {partitions} partitions on {resource.bootstrap_servers}")


@kafka.command("list-topics")
@bootstrap_option
def list_topics_cmd(bootstrap: str | None) -> None:
    """List topics and their partition counts."""
    try:
        topics = list_topics(_kafka(bootstrap))
    except KafkaUnavailable as exc:
        raise click.ClickException(str(exc)) from exc
    if not topics:
        click.echo("no topics")
    for name, partitions in topics.items():
        click.echo(f"{name}\t{partitions} partitions")


@kafka.command()
@click.argument("topic")
@click.option("--max-messages", type=click.IntRange(1, 100_000_000), default=None)
@bootstrap_option
def consume(topic: str, max_messages: int | None, bootstrap: str | None) -> None:
    """Print TOPIC's messages from the beginning, one JSON line each, and stop at the end."""
    count = 0
    try:
        for message in read_messages(_kafka(bootstrap), topic, max_messages):
            value = message.value()
            record = {
                "partition": message.partition(),
                "offset": message.offset(),
                "key": message.key().decode(errors="replace") if message.key() else None,
                "value": value.decode(errors="replace") if value is not None else None,
            }
            click.echo(json.dumps(record, ensure_ascii=False))
            count += 1
    except (TopicError, KafkaUnavailable) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{count} messages", err=True)


@kafka.command()
@click.option("--lines", "-n", type=click.IntRange(min=1), default=50, show_default=True)
def logs(lines: int) -> None:
    """Show the last lines of the embedded broker's log."""
    path = embedded.log_file(embedded.default_state_dir())
    if not Path(path).exists():
        raise click.ClickException(f"no broker log at {path}: the broker was never started here")
    for line in Path(path).read_text(errors="replace").splitlines()[-lines:]:
        click.echo(line)
