"""The CDC generator: Debezium's envelope, LSN order, snapshot first, tombstones after deletes,
delivery defects, reproducibility, and a round trip through Kafka into the Silver CDC tables."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime

import pytest
from click.testing import CliRunner

from fastcart_assets.bronze.records import from_message
from fastcart_assets.cli.main import cli
from fastcart_assets.generator.cdc import CdcConfig, ChangeStream
from fastcart_assets.generator.cdc_defects import CDC_DEFECT_TYPES, MALFORMED_KINDS
from fastcart_assets.generator.cdc_producer import cdc_rng, generate_cdc
from fastcart_assets.generator.orders import GeneratorConfig
from fastcart_assets.generator.producer import KafkaSink
from fastcart_assets.kafka.topics import create_topic, read_messages
from fastcart_assets_tests.cdc.changes import CollectedRecords

START = datetime(2025, 11, 9, tzinfo=UTC)
SOURCE_FIELDS = {"lsn", "txId", "ts_ms", "db", "schema", "table", "snapshot"}
ROW_FIELDS = {
    "order_id",
    "customer_id",
    "customer_email",
    "product_id",
    "quantity",
    "total",
    "payment_method",
    "status",
    "shipping_state",
    "created_at",
    "updated_at",
}


def _config(orders: int = 120, seed: int = 5) -> GeneratorConfig:
    return GeneratorConfig(start=START, duration=None, orders=orders, seed=seed)


def _records(orders=120, seed=5, dirty_rate=0.0, snapshot=10, deletes=0.3, partitions=3):
    sink = CollectedRecords()
    summary = generate_cdc(
        _config(orders, seed),
        CdcConfig(snapshot_orders=snapshot, delete_share=deletes),
        dirty_rate=dirty_rate,
        speed=0,
        sink=sink,
        partitions=partitions,
    )
    return sink.records, summary


def _lines(orders=120, seed=5, dirty_rate=0.0, snapshot=10, deletes=0.3, partitions=3):
    lines: list[bytes] = []
    summary = generate_cdc(
        _config(orders, seed),
        CdcConfig(snapshot_orders=snapshot, delete_share=deletes),
        dirty_rate=dirty_rate,
        speed=0,
        console=lines.append,
        partitions=partitions,
    )
    return lines, summary


def _split(line: bytes) -> tuple[dict, dict | None]:
    key, _, value = line.partition(b"\t")
    return json.loads(key), (None if value == b"null" else json.loads(value))


def test_every_record_is_a_debezium_envelope_keyed_by_order_id():
    lines, summary = _lines()
    assert summary.by_op["d"] > 0 and summary.by_op["r"] == 10 == summary.snapshot_rows
    assert summary.messages == len(lines) == summary.changes + summary.tombstones
    previous: dict[str, dict] = {}
    for line in lines:
        key, value = _split(line)
        if value is None:
            continue
        assert {"before", "after", "source", "op", "ts_ms"} <= value.keys()
        assert value["source"].keys() >= SOURCE_FIELDS
        assert (value["source"]["db"], value["source"]["schema"], value["source"]["table"]) == (
            "fastcart",
            "public",
            "orders",
        )
        assert value["ts_ms"] >= value["source"]["ts_ms"]
        op = value["op"]
        row = value["before"] if op == "d" else value["after"]
        assert set(row) == ROW_FIELDS and key == {"order_id": row["order_id"]}
        if op in ("c", "r"):
            assert value["before"] is None and row["order_id"] not in previous
        else:  # REPLICA IDENTITY FULL: updates and deletes carry the row as it was
            assert value["before"] == previous[row["order_id"]]
        if op == "u":
            assert row["status"] != value["before"]["status"]
            assert row["created_at"] == value["before"]["created_at"]
        if op == "d":
            assert value["after"] is None
            del previous[row["order_id"]]
        else:
            previous[row["order_id"]] = row
    assert summary.rows_at_end == len(previous)


def test_the_snapshot_comes_first_then_lsns_and_times_increase_in_commit_order():
    lines, _ = _lines()
    values = [value for _, value in map(_split, lines) if value is not None]
    snapshot = [v for v in values if v["op"] == "r"]
    assert values[: len(snapshot)] == snapshot  # every `r` before any streamed change
    assert len({(v["source"]["lsn"], v["source"]["txId"]) for v in snapshot}) == 1
    assert [v["source"]["snapshot"] for v in snapshot] == ["true"] * 9 + ["last"]
    streamed = values[len(snapshot) :]
    lsns = [v["source"]["lsn"] for v in streamed]
    transactions = [v["source"]["txId"] for v in streamed]
    assert lsns == sorted(set(lsns)) and lsns[0] > snapshot[0]["source"]["lsn"]
    assert transactions == sorted(set(transactions))
    times = [v["source"]["ts_ms"] for v in values]
    assert times == sorted(times)
    assert all(v["source"]["snapshot"] == "false" for v in streamed)


def test_each_delete_is_followed_by_a_tombstone_of_the_same_key():
    lines, summary = _lines(deletes=1.0)
    pairs = list(zip(lines, lines[1:], strict=False))
    deletes = [(a, b) for a, b in pairs if (_split(a)[1] or {}).get("op") == "d"]
    assert len(deletes) == summary.by_op["d"] > 0
    for delete, after in deletes:
        assert _split(after) == (_split(delete)[0], None)
    assert summary.tombstones == summary.by_op["d"]


def test_dirty_streams_hold_every_clean_record_plus_redeliveries_and_damaged_copies():
    clean, _ = _records(orders=300)
    dirty, summary = _records(orders=300, dirty_rate=0.3)
    assert set(summary.defects) == set(CDC_DEFECT_TYPES)
    assert set(summary.malformed_kinds) == set(MALFORMED_KINDS)
    assert sum(summary.malformed_kinds.values()) == summary.defects["malformed"]
    assert all(partition is None for *_, partition in clean)
    misrouted = [record for record in dirty if record[2] is not None]
    assert len(misrouted) == summary.defects["out_of_order"]
    sent = Counter((key, value) for key, value, _ in dirty)
    sent.subtract(Counter((key, value) for key, value, _ in clean))
    assert min(sent.values()) == 0  # every clean record is sent
    extras = list(sent.elements())
    clean_set = {(key, value) for key, value, _ in clean}
    redelivered = [record for record in extras if record in clean_set]
    assert len(redelivered) == summary.defects["redelivery"]
    assert len(extras) - len(redelivered) == summary.defects["malformed"]


def test_out_of_order_records_are_sent_after_later_changes():
    clean, _ = _records(orders=300)
    dirty, summary = _records(orders=300, dirty_rate=0.3)
    place = {record[:2]: i for i, record in enumerate(clean)}
    sent = [place.get(record[:2], -1) for record in dirty]  # -1: a damaged copy
    misrouted = [i for i, record in enumerate(dirty) if record[2] is not None]
    assert len(misrouted) == summary.defects["out_of_order"] > 0
    for i in misrouted:
        assert max(sent[:i]) > sent[i]  # something produced after it went first


def test_same_seed_and_start_give_the_same_bytes():
    assert _lines(dirty_rate=0.2)[0] == _lines(dirty_rate=0.2)[0]
    assert _lines(seed=6)[0] != _lines(seed=5)[0]


@pytest.mark.slow
def test_round_trip_through_kafka_into_silver_equals_the_table(kafka, topic, spark, tmp_path):
    from fastcart_assets.cdc.parse import to_bronze_cdc_batch
    from fastcart_assets_tests.cdc.conftest import CdcLake

    create_topic(kafka, topic, 3)
    cdc = CdcConfig(snapshot_orders=20, delete_share=0.3)
    summary = generate_cdc(
        _config(150, 9),
        cdc,
        dirty_rate=0.25,
        speed=0,
        sink=KafkaSink(kafka.producer(), topic),
        partitions=3,
    )
    messages = list(read_messages(kafka, topic))
    assert len(messages) == summary.messages
    assert {m.partition() for m in messages} == {0, 1, 2}
    assert sum(m.value() is None for m in messages) == summary.tombstones > 0

    lake = CdcLake(spark, str(tmp_path / "lakehouse"))
    day = date(2025, 11, 9)
    batch = to_bronze_cdc_batch([from_message(m) for m in messages], START, day)
    spark.createDataFrame(batch.table).write.format("delta").partitionBy("ingestion_date").save(
        lake.bronze
    )
    result = lake.process(day)
    assert result.rows_in == summary.messages == result.accounted
    assert result.rejected == summary.defects["malformed"]
    assert result.tombstones == summary.tombstones
    table = ChangeStream(_config(150, 9), cdc, cdc_rng(9, "changes"))
    list(table)  # replay every change: the stream's table is then in its final state
    current = spark.read.format("delta").load(lake.current)
    assert sorted(r.order_id for r in current.select("order_id").collect()) == sorted(
        table.table.rows
    )
    statuses = {r.order_id: r.status for r in current.select("order_id", "status").collect()}
    assert statuses == {k: row["status"] for k, row in table.table.rows.items()}


@pytest.mark.slow
def test_cli_publishes_changes_on_the_cdc_topic(broker, kafka, monkeypatch):
    topic = f"{kafka.topic}.public.orders"
    monkeypatch.setenv("FASTCART_CDC_TOPIC", topic)
    create_topic(kafka, topic, 2)
    args = ["generate", "--cdc", "--kafka-bootstrap-servers", broker.address, "--orders", "25"]
    args += ["--speed", "0", "--seed", "4", "--start", "2025-11-09", "--snapshot-orders", "5"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert f"to Kafka topic {topic}" in result.output
    assert "snapshot rows 5" in result.output
    assert "@" not in result.output  # no customer email in the summary
    first = next(iter(read_messages(kafka, topic)))
    assert json.loads(first.value())["op"] in ("r", "c", "u", "d")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--snapshot-orders", "3"], "only with --cdc"),
        (["--cdc", "--snapshot-orders", "-1"], "--snapshot-orders"),
        (["--cdc", "--kafka-bootstrap-servers", "127.0.0.1:1", "--orders", "1"], "cannot reach"),
    ],
)
def test_cli_rejects_bad_cdc_input_in_one_line(args, message):
    result = CliRunner().invoke(cli, ["generate", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
