"""`fastcart run` killed at the worst moments (`pytest -m faults`): while it holds each layer's
pool, by SIGTERM, and ten times at random on a live topic. The next plain `fastcart run`
carries on by itself, and every message is in Bronze exactly once."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from fastcart_assets.instance import get_instance
from fastcart_assets.tables import BRONZE
from fastcart_assets_tests.helpers import order_event, produce

pytestmark = [pytest.mark.faults, pytest.mark.slow]

FASTCART = str(Path(sys.executable).with_name("fastcart"))
POOLS = ("delta_bronze", "delta_silver", "delta_gold_sales_performance")


def clean_values(n: int, start: int = 0) -> list[bytes]:
    """Clean events dated now: Gold recomputes today only (no year of customer snapshots)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return [json.dumps(order_event(i, timestamp=now)).encode() for i in range(start, start + n)]


def _start_run(cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [FASTCART, "run"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _finish(process: subprocess.Popen, timeout: float = 300) -> tuple[int, str]:
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        raise AssertionError(
            f"fastcart run did not end within {timeout:.0f} s:\n{output}"
        ) from None
    return process.returncode, output


def _instance(settings) -> dg.DagsterInstance:
    """The runs' instance, created before any run (as a first `fastcart run` leaves it)."""
    return get_instance(settings)


def _wait_until_held(instance, pool: str, process: subprocess.Popen, timeout: float = 180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if instance.event_log_storage.get_concurrency_info(pool).claimed_slots:
            return
        if process.poll() is not None:
            raise AssertionError(f"the run ended before holding {pool}:\n{process.stdout.read()}")
        time.sleep(0.05)
    raise AssertionError(f"the run never held pool {pool}")


def _assert_nothing_held(instance) -> None:
    for pool in instance.event_log_storage.get_concurrency_keys():
        assert not instance.event_log_storage.get_concurrency_info(pool).claimed_slots, pool
    active = instance.get_runs(
        filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING])
    )
    assert not active


def _assert_bronze_exactly_once(spark, settings, produced: int) -> None:
    bronze = spark.read.format("delta").load(settings.table_path(BRONZE.path))
    rows = bronze.select("kafka_partition", "kafka_offset").collect()
    assert len(rows) == produced
    assert len({(r.kafka_partition, r.kafka_offset) for r in rows}) == produced


def test_a_run_killed_while_holding_each_pool_is_released_by_the_next(
    settings, kafka, spark, tmp_path
):
    produced = 0
    for round_number, pool in enumerate(POOLS):
        produce(kafka, clean_values(300, start=produced))
        produced += 300
        instance = _instance(settings)
        killed = _start_run(tmp_path)
        _wait_until_held(instance, pool, killed)
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait()
        assert instance.event_log_storage.get_concurrency_info(pool).claimed_slots, (
            "a killed run leaves its slot claimed (this is what the next run must release)"
        )
        code, output = _finish(_start_run(tmp_path))
        assert code == 0, output
        assert "released run" in output and "process" in output, output
        _assert_nothing_held(instance)
        _assert_bronze_exactly_once(spark, settings, produced)
        failed = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
        assert len(failed) == round_number + 1


def test_sigterm_stops_a_run_within_seconds_and_leaves_nothing_claimed(
    settings, kafka, spark, tmp_path
):
    produce(kafka, clean_values(2_000))
    instance = _instance(settings)
    running = _start_run(tmp_path)
    _wait_until_held(instance, "delta_bronze", running)
    started = time.monotonic()
    os.kill(running.pid, signal.SIGTERM)
    code, output = _finish(running, timeout=60)
    assert time.monotonic() - started < 20
    assert code in (130, 143), output
    assert "SIGTERM received" in output
    assert "Traceback" not in output
    _assert_nothing_held(instance)
    code, output = _finish(_start_run(tmp_path))
    assert code == 0, output
    _assert_bronze_exactly_once(spark, settings, 2_000)


def test_ten_runs_killed_at_random_on_a_live_topic_then_one_completes(
    settings, kafka, spark, tmp_path
):
    produce(kafka, clean_values(500))
    produced = [500]
    stop = threading.Event()

    def live_topic() -> None:
        while not stop.is_set():
            produce(kafka, clean_values(200, start=produced[0]))
            produced[0] += 200
            time.sleep(0.5)

    _instance(settings)
    producer = threading.Thread(target=live_topic, daemon=True)
    producer.start()
    rng = random.Random(11)
    try:
        for _ in range(10):
            run = _start_run(tmp_path)
            time.sleep(rng.uniform(0.5, 12.0))
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    finally:
        stop.set()
        producer.join()
    code, output = _finish(_start_run(tmp_path))
    assert code == 0, output
    _assert_bronze_exactly_once(spark, settings, produced[0])
    _assert_nothing_held(_instance(settings))
