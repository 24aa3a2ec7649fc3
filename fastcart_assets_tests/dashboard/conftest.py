"""A small lake built the way a user builds one: generated orders on the embedded broker, then
`fastcart run`; plus `fastcart query`/`fastcart sql` read back through the CLI (Spark)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from fastcart_assets.cli.main import cli
from fastcart_assets.generator.orders import GeneratorConfig
from fastcart_assets.generator.producer import KafkaSink, generate
from fastcart_assets.kafka.broker import free_port
from fastcart_assets.kafka.topics import create_topic
from fastcart_assets.resources.kafka import KafkaResource
from fastcart_assets.settings import Settings
from fastcart_assets_tests.helpers import order_event

UNREAD = 3  # messages produced after the last run: the lag every reader must report


@dataclass(frozen=True)
class Lake:
    root: Path
    settings: Settings
    kafka: KafkaResource
    env: dict[str, str]


def lake_env(root: Path, bootstrap: str, topic: str) -> dict[str, str]:
    return {
        "FASTCART_LAKE_ROOT": str(root / "lakehouse"),
        "FASTCART_KAFKA_BOOTSTRAP": bootstrap,
        "FASTCART_KAFKA_TOPIC": topic,
        "DAGSTER_HOME": str(root / "dagster_home"),
    }


def catch_up() -> None:
    """`fastcart run` in this process (with the environment of the lake in use)."""
    result = CliRunner().invoke(cli, ["run"], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def fill(kafka: KafkaResource, hours: int, seed: int) -> None:
    """`hours` of generated orders ending now (10% of events with defects), produced."""
    create_topic(kafka, kafka.topic, 3, exist_ok=True)
    now = datetime.now(UTC).replace(microsecond=0)
    config = GeneratorConfig(
        start=now - timedelta(hours=hours),
        duration=timedelta(hours=hours),
        min_delay_s=240,
        max_delay_s=480,
        seed=seed,
    )
    generate(config, dirty_rate=0.1, speed=0, sink=KafkaSink(kafka.producer(), kafka.topic))


def produce_singly(kafka: KafkaResource, events: list[dict]) -> None:
    """Send each event in its own batch (so every broker reports the exact end offset)."""
    producer = kafka.producer(**{"linger.ms": 0})
    for event in events:
        producer.produce(kafka.topic, key=event["order_id"].encode(), value=json.dumps(event))
        assert producer.flush(10) == 0


def new_orders(first: int, count: int, when: datetime, shipped: bool) -> list[dict]:
    """`count` orders of $100 created at `when` (and shipped a minute later when `shipped`)."""
    money = {"total": 100.0, "price": 50.0, "quantity": 2}
    events = []
    for i in range(first, first + count):
        events.append(order_event(i, timestamp=_iso(when), **money))
        if shipped:
            later = _iso(when + timedelta(minutes=1))
            events.append(order_event(i, status="shipped", timestamp=later, **money))
    return events


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.fixture(scope="package")
def small_lake(broker, tmp_path_factory) -> Iterator[Lake]:
    """A day and a half of orders through `fastcart run`, then UNREAD messages Bronze lacks."""
    root = tmp_path_factory.mktemp("dashboard-lake")
    topic = f"dash-{uuid.uuid4().hex[:8]}"
    env = lake_env(root, broker.address, topic)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        kafka = KafkaResource(bootstrap_servers=broker.address, topic=topic)
        fill(kafka, hours=36, seed=16)
        catch_up()
        late = datetime.now(UTC) - timedelta(minutes=2)
        produce_singly(kafka, new_orders(90_000_000, UNREAD, late, shipped=False))
        yield Lake(root, Settings.from_env(), kafka, env)


def cli_rows(*args: str) -> list[dict[str, str]]:
    """Rows printed by a `fastcart` read command (`query`, `sql`), as text by column."""
    result = CliRunner().invoke(cli, [*args, "--limit", "1000"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if not line.startswith("(")]
    if args[0] == "query":
        lines = lines[1:]  # the table name line
    return list(csv.DictReader(io.StringIO("\n".join(lines)), delimiter="\t"))


def query(table: str, day) -> list[dict[str, str]]:
    """`fastcart query TABLE --date DAY`."""
    return cli_rows("query", table, "--date", day.isoformat())


def sql_value(statement: str) -> str:
    [row] = cli_rows("sql", statement)
    return next(iter(row.values()))


@pytest.fixture
def server_process():
    """Start `fastcart <command> --port P` with an environment; stopped after the test."""
    started: list[subprocess.Popen] = []

    def start(command: str, env: dict[str, str], ready_path: str, *extra: str) -> str:
        port = free_port()
        binary = Path(sys.executable).with_name("fastcart")
        process = subprocess.Popen(
            [str(binary), command, "--port", str(port), *extra],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        started.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(url + ready_path, timeout=2)
                return url
            except OSError:
                if process.poll() is not None:
                    error = process.stderr.read()
                    raise RuntimeError(f"fastcart {command} exited: {error}") from None
                time.sleep(0.3)
        raise TimeoutError(f"fastcart {command} did not answer on {url}{ready_path}")

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
