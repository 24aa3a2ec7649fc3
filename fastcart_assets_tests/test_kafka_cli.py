"""`fastcart kafka …` against a real embedded broker, started and stopped by the test."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from fastcart_assets.cli.main import cli
from fastcart_assets.kafka import broker as embedded


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FASTCART_KAFKA_BOOTSTRAP", raising=False)
    yield tmp_path
    embedded.stop(tmp_path / ".fastcart")  # never leave a broker behind


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.slow
def test_broker_lifecycle_topics_and_round_trip(workdir):
    port = embedded.free_port()
    assert run("kafka", "status").exit_code == 1

    started = run("kafka", "start", "--port", str(port))
    assert started.exit_code == 0, started.output
    assert f"127.0.0.1:{port}" in started.output
    again = run("kafka", "start", "--port", str(port))
    assert again.exit_code == 0 and "already running" in again.output
    status = run("kafka", "status")
    assert status.exit_code == 0 and "running at" in status.output

    assert run("kafka", "create-topic", "orders", "--partitions", "2").exit_code == 0
    duplicate = run("kafka", "create-topic", "orders")
    assert duplicate.exit_code == 1 and "already exists" in duplicate.output
    listed = run("kafka", "list-topics")
    assert "orders\t2 partitions" in listed.output

    from fastcart_assets.resources.kafka import KafkaResource

    producer = KafkaResource(bootstrap_servers=f"127.0.0.1:{port}", topic="orders").producer()
    for i in range(5):
        producer.produce("orders", key=b"k%d" % i, value=b'{"n": %d}' % i)
    assert producer.flush(10) == 0
    consumed = run("kafka", "consume", "orders", "--max-messages", "3")
    lines = [json.loads(line) for line in consumed.stdout.splitlines()]
    assert len(lines) == 3 and all(line["value"].startswith('{"n"') for line in lines)
    assert "tansu" in run("kafka", "logs").output or run("kafka", "logs").exit_code == 0

    stopped = run("kafka", "stop")
    assert "stopped" in stopped.output
    assert not embedded.port_accepts_connections(port)
    assert "not running" in run("kafka", "stop").output


def test_clear_errors_for_taken_port_and_missing_broker(workdir):
    import socket

    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        taken = run("kafka", "start", "--port", str(port))
        assert taken.exit_code == 1
        assert "already in use" in taken.output
    dead = embedded.free_port()
    unreachable = run("kafka", "list-topics", "--bootstrap", f"127.0.0.1:{dead}")
    assert unreachable.exit_code == 1
    assert "cannot reach Kafka" in unreachable.output and "Traceback" not in unreachable.output
