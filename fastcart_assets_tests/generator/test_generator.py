"""Generator properties: lifecycle order, totals, reproducibility, every defect type."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from fastcart_assets.cli.main import cli
from fastcart_assets.generator.defects import DEFECT_TYPES
from fastcart_assets.generator.orders import GeneratorConfig, OrderStream
from fastcart_assets.generator.producer import KafkaSink, generate
from fastcart_assets.kafka.topics import create_topic, read_messages

START = datetime(2025, 11, 9, tzinfo=UTC)
STAGE = {"pending": 0, "confirmed": 1, "processing": 2, "shipped": 3, "cancelled": 9}


def _events(**config):
    stream = OrderStream(GeneratorConfig(start=START, **config))
    return list(stream), stream


def test_each_order_moves_through_its_lifecycle_in_order():
    events, stream = _events(duration=None, orders=400, seed=3)
    by_order = defaultdict(list)
    for moment, event in events:
        by_order[event["order_id"]].append((moment, event["status"], event))
    assert len(by_order) == 400 == stream.created
    cancelled = 0
    for steps in by_order.values():
        statuses = [status for _, status, _ in steps]
        moments = [moment for moment, _, _ in steps]
        assert statuses[0] == "pending"
        assert moments == sorted(moments) and len(set(moments)) == len(moments)
        assert [STAGE[s] for s in statuses] == sorted(STAGE[s] for s in statuses)
        if statuses[-1] == "cancelled":
            cancelled += 1
            assert 2 <= len(statuses) <= 4
            assert steps[-1][2]["cancellation_reason"]
        else:
            assert statuses == ["pending", "confirmed", "processing", "shipped"]
            assert "cancellation_reason" not in steps[-1][2]
        first = steps[0][2]
        for _, _, event in steps:  # every event repeats the order's fields
            assert {
                k: v
                for k, v in event.items()
                if k not in ("timestamp", "status", "cancellation_reason")
            } == {k: v for k, v in first.items() if k not in ("timestamp", "status")}
    assert 15 <= cancelled <= 70  # about 10% of 400


def test_clean_totals_are_price_times_quantity_and_fields_look_right():
    events, _ = _events(duration=timedelta(hours=3), seed=5)
    assert events
    for _, event in events:
        assert abs(event["total"] - round(event["price"] * event["quantity"], 2)) < 1e-9
        assert event["order_id"].startswith("ORD-") and len(event["order_id"]) == 12
        assert event["product_id"] in {f"PROD-{i:03d}" for i in range(1, 16)}
        assert event["timestamp"].endswith("Z")
        assert set(event["shipping_address"]) == {"street", "city", "state", "zip_code", "country"}


def test_duration_window_leaves_orders_in_flight():
    events, stream = _events(duration=timedelta(hours=2), seed=8)
    assert stream.in_flight > 0
    assert max(moment for moment, _ in events) <= START + timedelta(hours=2)


def test_same_seed_same_bytes_other_seed_other_bytes():
    def stream(seed):
        lines = []
        config = GeneratorConfig(start=START, duration=None, orders=300, seed=seed)
        generate(config, dirty_rate=0.2, speed=0, console=lines.append)
        return b"\n".join(lines)

    assert stream(11) == stream(11)
    assert stream(11) != stream(12)


def test_every_defect_type_appears_and_is_counted():
    lines = []
    config = GeneratorConfig(start=START, duration=None, orders=1_000, seed=2)
    summary = generate(config, dirty_rate=0.3, speed=0, console=lines.append)
    assert set(summary.defects) == set(DEFECT_TYPES)
    assert all(count > 0 for count in summary.defects.values())
    assert summary.messages == len(lines) == summary.events + summary.defects["duplicate"]
    not_objects = 0
    for line in lines:
        try:
            parsed = json.loads(line)
        except ValueError:
            not_objects += 1
            continue
        if not isinstance(parsed, dict):
            not_objects += 1
    assert not_objects == summary.defects["malformed_json"]


def test_speed_paces_events_by_event_time():
    waits = []
    config = GeneratorConfig(
        start=START, duration=None, orders=5, min_delay_s=60, max_delay_s=60, seed=1
    )
    generate(config, speed=60, console=lambda _: None, sleep=waits.append)
    # The fake clock never advances, so each wait is the event's due time: event seconds / 60.
    assert len(waits) >= 4
    assert waits == sorted(waits)
    assert abs(waits[0] - 1.0) < 0.05  # the second order, one event-minute after the first


@pytest.mark.slow
def test_generate_to_kafka_and_read_back(kafka, topic):
    create_topic(kafka, topic, 3)
    config = GeneratorConfig(start=START, duration=None, orders=200, seed=4)
    summary = generate(config, speed=0, sink=KafkaSink(kafka.producer(), topic))
    messages = list(read_messages(kafka, topic))
    assert len(messages) == summary.messages
    for message in messages[:50]:
        assert json.loads(message.value())["order_id"] == message.key().decode()


@pytest.mark.slow
def test_cli_generates_to_kafka_and_reports_a_summary(broker, topic, kafka):
    create_topic(kafka, topic, 2)
    result = CliRunner().invoke(
        cli,
        [
            "generate",
            "--kafka-bootstrap-servers",
            broker.address,
            "--kafka-topic",
            topic,
            "--orders",
            "50",
            "--speed",
            "0",
            "--seed",
            "9",
            "--start",
            "2025-11-09",
            "--dirty-rate",
            "0.2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Generated 50 orders" in result.output
    assert "defects:" in result.output
    assert len(list(read_messages(kafka, topic))) > 150


@pytest.mark.parametrize(
    "args, message",
    [
        (["--min-delay", "9", "--max-delay", "2"], "must not exceed"),
        (["--start", "someday"], "is not a date"),
        (["--dirty-rate", "1.5"], "--dirty-rate"),
        (["--kafka-bootstrap-servers", "127.0.0.1:1", "--orders", "1"], "cannot reach Kafka"),
    ],
)
def test_cli_rejects_bad_input_in_one_line(args, message):
    result = CliRunner().invoke(cli, ["generate", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
