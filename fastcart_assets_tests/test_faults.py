"""Fault injection (`pytest -m faults`): kills, a silent or vanished broker, concurrent runs.

Every Bronze run here is a real ingestion in its own process (`bronze.ingest_worker`) against
the embedded broker and a Delta table in tmp_path; the assertions read the table back.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pytest

from fastcart_assets.bronze.parse import KafkaRecord, to_bronze_batch
from fastcart_assets.bronze.table import append_batch
from fastcart_assets.definitions import build_definitions
from fastcart_assets.generator.orders import GeneratorConfig
from fastcart_assets.generator.producer import generate
from fastcart_assets.gold.registry import CUSTOMERS, GOLD_TABLES, SALES
from fastcart_assets.kafka import broker as embedded_broker
from fastcart_assets.pipeline import execute
from fastcart_assets.resources.kafka import KafkaResource
from fastcart_assets.silver.assets import REJECTED_KEY, SILVER_KEY
from fastcart_assets.tables import (
    BRONZE,
    SILVER,
    gold_asset_keys,
)
from fastcart_assets_tests.bronze.ingest_worker import KILL_POINTS
from fastcart_assets_tests.helpers import clean_values, produce

pytestmark = pytest.mark.faults

N = 4_000


def _worker(address: str, topic: str, table: str, **env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "fastcart_assets_tests.bronze.ingest_worker", address, topic, table],
        env={**os.environ, **{k: str(v) for k, v in env.items()}},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen, timeout: float = 120) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise AssertionError(f"the run did not end within {timeout:.0f} s") from None
    return process.returncode, out, err


def _bronze(spark, table: str):
    return spark.read.format("delta").load(table)


def _assert_exactly_once(spark, table: str, values: list[bytes]) -> None:
    """One row per message: the coordinates are unique and every payload is there once."""
    rows = _bronze(spark, table).select("kafka_partition", "kafka_offset", "_raw").collect()
    assert len({(r.kafka_partition, r.kafka_offset) for r in rows}) == len(rows)
    assert sorted(r._raw for r in rows) == sorted(v.decode() for v in values)


@pytest.fixture
def table(tmp_path) -> str:
    return str(tmp_path / "lakehouse" / BRONZE.path)


@contextmanager
def own_broker(tmp_path):
    """A broker of the test's own, to pause or kill without disturbing the others."""
    state_dir = tmp_path / "own-broker"
    state, _ = embedded_broker.start(embedded_broker.free_port(), state_dir)
    try:
        yield state
    finally:
        os.kill(state.pid, signal.SIGCONT)  # a paused broker cannot stop
        embedded_broker.stop(state_dir)


def test_killed_at_every_point_of_a_run_then_rerun_gives_each_message_once(
    spark, broker, kafka, topic, table
):
    values = clean_values(N)
    produce(kafka, values)
    points = [
        "positions_read",
        "consumer_ready",
        "reading",
        "message_read:700",
        "before_parse:2",
        "before_commit:2",
        "during_commit_early:3",
        "during_commit_late:3",
        "after_commit:1",
        "after_commit:4",
        "before_group_commit",
        "after_group_commit",
    ]
    assert {p.partition(":")[0] for p in points} == set(KILL_POINTS)
    for point in points:
        # Keep a backlog of several batches, so that every point is reached before the end.
        more = clean_values(1_500, start=len(values))
        produce(kafka, more)
        values += more
        code, _, err = _finish(_worker(broker.address, topic, table, KILL_AT=point))
        assert code == -signal.SIGKILL, f"{point}: exited {code} instead of being killed\n{err}"
    rng = random.Random(7)
    for _ in range(3):  # and at random moments, wherever the run is
        process = _worker(broker.address, topic, table, BATCH_SIZE=200)
        time.sleep(rng.uniform(3.0, 7.0))
        process.kill()
        process.wait(60)
    code, out, err = _finish(_worker(broker.address, topic, table))
    assert code == 0, err
    _assert_exactly_once(spark, table, values)
    code, out, _ = _finish(_worker(broker.address, topic, table))  # nothing left: adds nothing
    assert (code, out.strip()) == (0, "rows_written=0")


def _wait_for_first_commit(process: subprocess.Popen, table: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not os.path.isdir(os.path.join(table, "_delta_log")):
        if process.poll() is not None:
            raise AssertionError(f"the run ended early: {process.communicate()[1][-2000:]}")
        assert time.monotonic() < deadline, f"no Bronze commit within {timeout_s:.0f} s"
        time.sleep(0.02)


def _two_batches_in_bronze(state, table: str) -> list[bytes]:
    """4,000 messages in topic `orders`, of which a run killed after its 2nd commit took 1,000."""
    values = clean_values(4_000)
    produce(KafkaResource(bootstrap_servers=state.address, topic="orders"), values)
    code, _, _ = _finish(_worker(state.address, "orders", table, KILL_AT="after_commit:2"))
    assert code == -signal.SIGKILL
    return values


def _run_signalling_broker(state, table: str, name: str, point: str) -> subprocess.Popen:
    """A run (5 s stall timeout) that sends SIG`name` to the broker when it reaches `point`."""
    signalling = {"SIGNAL_BROKER_AT": point, "BROKER_PID": state.pid, "BROKER_SIGNAL": name}
    return _worker(state.address, "orders", table, STALL_TIMEOUT=5, **signalling)


def test_a_broker_paused_mid_read_fails_the_run_clearly_and_a_later_run_completes(
    spark, tmp_path, table
):
    with own_broker(tmp_path) as state:
        values = _two_batches_in_bronze(state, table)
        # The next run checks its positions, then the broker goes silent as it starts to read
        # (SIGSTOP: no answers, its connections stay open).
        process = _run_signalling_broker(state, table, "STOP", "reading")
        try:
            code, _, err = _finish(process, timeout=60)
        finally:
            os.kill(state.pid, signal.SIGCONT)
        assert code != 0
        assert "Kafka delivered nothing for 5 s while data was missing" in err
        assert "0 rows were committed; a re-run resumes after them" in err
        assert _bronze(spark, table).count() == 1_000
        code, _, err = _finish(_worker(state.address, "orders", table))
        assert code == 0, err
        _assert_exactly_once(spark, table, values)


def test_a_broker_paused_after_the_read_does_not_hold_the_run(spark, tmp_path, table):
    """Only the monitoring commit needs the broker then: the run ends, with a warning."""
    with own_broker(tmp_path) as state:
        values = clean_values(2_000)
        produce(KafkaResource(bootstrap_servers=state.address, topic="orders"), values)
        process = _worker(state.address, "orders", table, BATCH_SIZE=500, KILL_AT="")
        _wait_for_first_commit(process, table)
        os.kill(state.pid, signal.SIGSTOP)  # 2,000 small messages were fetched at once
        try:
            code, out, err = _finish(process, timeout=60)
        finally:
            os.kill(state.pid, signal.SIGCONT)
        assert code == 0, err
        assert out.strip() == f"rows_written={len(values)}"
        assert "consumer-group commit for monitoring got no answer" in err
        _assert_exactly_once(spark, table, values)


def test_a_broker_that_exits_mid_run_fails_it_and_an_empty_new_one_is_refused(
    spark, tmp_path, table
):
    with own_broker(tmp_path) as state:
        _two_batches_in_bronze(state, table)
        # The next run gets the topic's ends, then the broker exits while the run checks that
        # Bronze's last messages are still in the topic.
        process = _run_signalling_broker(state, table, "KILL", "consumer_ready")
        code, _, err = _finish(process, timeout=60)
        assert code != 0 and f"cannot reach Kafka at {state.address}" in err
    committed = _bronze(spark, table).count()
    assert committed == 1_000
    # The embedded broker keeps nothing: a new one starts empty, with offsets from 0 again.
    with own_broker(tmp_path) as state:
        produce(KafkaResource(bootstrap_servers=state.address, topic="orders"), clean_values(10))
        code, _, err = _finish(_worker(state.address, "orders", table))
        assert code != 0 and "stored offsets are not in the topic" in err
    assert _bronze(spark, table).count() == committed


def test_two_runs_at_once_never_double_the_data(spark, broker, kafka, topic, table):
    values = clean_values(3_000)
    produce(kafka, values)
    first, second = (_worker(broker.address, topic, table, BATCH_SIZE=500) for _ in range(2))
    outcomes = [_finish(process) for process in (first, second)]
    assert 0 in [code for code, _, _ in outcomes]
    for code, _, err in outcomes:
        if code != 0:  # the loser fails cleanly, naming the reason
            assert "another run is writing" in err
    _assert_exactly_once(spark, table, values)


# --- Silver and Gold partitions reprocessed in any order give the same Gold -------------------

BRONZE_DAYS = [date(2025, 11, 4) + timedelta(days=i) for i in range(4)]
GOLD_DAYS = [date(2025, 11, 1) + timedelta(days=i) for i in range(7)]


def _dirty_stream() -> list[tuple[str, bytes]]:
    """Two days of orders with every defect, late events and duplicates: (key, message)."""
    config = GeneratorConfig(
        start=datetime(2025, 11, 1, tzinfo=UTC),
        duration=timedelta(days=2),
        min_delay_s=60,
        max_delay_s=300,
        seed=11,
    )
    messages: list[bytes] = []
    generate(config, dirty_rate=0.2, speed=0, console=messages.append)
    return [(f"k{i % 7}", message) for i, message in enumerate(messages)]


def _write_bronze(spark, settings, stream) -> None:
    """The stream as four Bronze days (consecutive chunks, so duplicates span days)."""
    offsets = dict.fromkeys(range(3), 0)
    chunk = -(-len(stream) // len(BRONZE_DAYS))
    for index, day in enumerate(BRONZE_DAYS):
        records = []
        for key, value in stream[index * chunk : (index + 1) * chunk]:
            partition = int(key[1:]) % 3
            records.append(KafkaRecord("orders", partition, offsets[partition], None, b"k", value))
            offsets[partition] += 1
        written = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=6)
        batch = to_bronze_batch(records, written, day)
        append_batch(spark, batch.table, settings.table_path(BRONZE.path))


def _process(settings, silver_days, gold_days) -> None:
    """One Silver run per day, then one Gold run (both groups) per day, in the order given."""
    defs = build_definitions(settings)
    gold = gold_asset_keys(SALES.name) + gold_asset_keys(CUSTOMERS.name)
    with dg.instance_for_test() as instance:
        for day in silver_days:
            stage = execute(defs, instance, "silver", [SILVER_KEY, REJECTED_KEY], day, day)
            assert stage.success, stage
        for day in gold_days:
            stage = execute(defs, instance, "gold", gold, day, day)
            assert stage.success, stage


def _process_in_order(settings) -> None:
    """Silver for every Bronze day in one run, then Gold for every date in one run."""
    defs = build_definitions(settings)
    gold = gold_asset_keys(SALES.name) + gold_asset_keys(CUSTOMERS.name)
    with dg.instance_for_test() as instance:
        for name, keys, days in (
            ("silver", [SILVER_KEY, REJECTED_KEY], BRONZE_DAYS),
            ("gold", gold, GOLD_DAYS),
        ):
            stage = execute(defs, instance, name, keys, days[0], days[-1])
            assert stage.success, stage


def _gold_tables(spark, settings) -> dict[str, list[tuple]]:
    tables = {}
    for table in GOLD_TABLES:
        frame = spark.read.format("delta").load(settings.table_path(table.path))
        tables[table.name] = sorted(tuple(row) for row in frame.collect())
    return tables


def test_silver_and_gold_reprocessed_in_shuffled_order_give_identical_gold(
    spark, tmp_path, settings, monkeypatch
):
    stream = _dirty_stream()
    _write_bronze(spark, settings, stream)
    _process_in_order(settings)
    in_order = _gold_tables(spark, settings)
    assert all(in_order.values()), "every Gold table has rows"

    shuffled = replace(settings, lake_root=str(tmp_path / "shuffled"))
    monkeypatch.setenv("FASTCART_LAKE_ROOT", shuffled.lake_root)
    _write_bronze(spark, shuffled, stream)
    rng = random.Random(3)
    silver_days = rng.sample(BRONZE_DAYS, len(BRONZE_DAYS)) + rng.sample(BRONZE_DAYS, 2)
    gold_days = rng.sample(GOLD_DAYS, len(GOLD_DAYS)) + rng.sample(GOLD_DAYS, 3)
    # Gold first for a few days (Silver still partial), then everything in shuffled order.
    _process(shuffled, silver_days[:2], gold_days[:3])
    _process(shuffled, silver_days[2:], gold_days)
    assert _gold_tables(spark, shuffled) == in_order  # exactly: no float-order noise


def test_two_silver_and_gold_runs_at_once_write_one_after_the_other(spark, settings):
    _write_bronze(spark, settings, _dirty_stream())
    days = [d.isoformat() for d in BRONZE_DAYS]
    command = [sys.executable, "-m", "fastcart_assets_tests.silver_worker", settings.lake_root]
    runs = [
        subprocess.Popen(
            [*command, *days], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outcomes = [_finish(run, timeout=300) for run in runs]
    assert all(code == 0 for code, _, _ in outcomes), [err[-2000:] for _, _, err in outcomes]
    inserted = sorted(int(out.strip().split("=")[1]) for _, out, _ in outcomes)
    assert inserted[0] == 0 < inserted[1]  # the second run found everything in place
    silver = spark.read.format("delta").load(settings.table_path(SILVER.path))
    assert silver.count() == silver.select("order_id", "timestamp").distinct().count()
    assert silver.count() == inserted[1]
    gold = spark.read.format("delta").load(
        settings.table_path("gold/sales_performance/daily_product_revenue")
    )
    assert gold.count() == gold.select("date", "product_id").distinct().count()
