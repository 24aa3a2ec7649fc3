"""A run the daemon launched, killed with kill -9 while it holds Bronze's pool, under the real
`dagster dev`: the run is marked failed and the pool freed (by Dagster's own watch of its run
workers, or else by FastCart's abandoned-runs sensor), and the sensors carry on by themselves
until every message is in Bronze exactly once."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from fastcart_assets.instance import DAGSTER_YAML
from fastcart_assets.kafka.broker import free_port
from fastcart_assets.runs import PID_TAG
from fastcart_assets.tables import BRONZE
from fastcart_assets_tests.helpers import order_event, produce
from fastcart_assets_tests.processes import background

pytestmark = [pytest.mark.faults, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
TIMEOUT_S = 300


def _values(start: int, n: int) -> list[bytes]:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return [json.dumps(order_event(i, timestamp=now)).encode() for i in range(start, start + n)]


def _wait(what: str, condition, timeout: float = TIMEOUT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.5)
    raise AssertionError(f"gave up waiting for {what}")


def test_a_daemon_run_killed_holding_its_pool_is_released_and_ingestion_carries_on(
    tmp_path, settings, kafka, spark
):
    home = settings.dagster_home_path
    (home / "dagster.yaml").write_text(DAGSTER_YAML)  # one slot per pool, as fastcart writes it
    produce(kafka, _values(0, 3_000))
    env = {**os.environ, "FASTCART_SENSOR_INTERVAL_S": "5"}
    command = [str(Path(sys.executable).with_name("dagster")), "dev", "-m"]
    command += ["fastcart_assets.definitions", "-h", "127.0.0.1", "-p", str(free_port())]
    # The instance exists before dagster dev starts (two processes must not create it at once).
    with (
        dg.DagsterInstance.from_config(str(home)) as instance,
        background(command, tmp_path / "dagster_dev.log", grace_s=3, cwd=REPO, env=env),
    ):

        def bronze_run_holding_its_pool():
            claimed = instance.event_log_storage.get_concurrency_info("delta_bronze")
            for slot in claimed.claimed_slots:
                run = instance.get_run_by_id(slot.run_id)
                if run is not None and PID_TAG in run.tags:
                    return run
            return None

        victim = _wait("a daemon-launched Bronze run holding its pool", bronze_run_holding_its_pool)
        os.kill(int(victim.tags[PID_TAG]), signal.SIGKILL)

        def released():
            run = instance.get_run_by_id(victim.run_id)
            return run.status == dg.DagsterRunStatus.FAILURE and not any(
                slot.run_id == victim.run_id
                for slot in instance.event_log_storage.get_concurrency_info(
                    "delta_bronze"
                ).claimed_slots
            )

        _wait("the killed run to be marked failed and its slot freed", released)

        produce(kafka, _values(3_000, 500))  # the sensor sees new offsets and runs Bronze again
        path = settings.table_path(BRONZE.path)

        def bronze_complete():
            try:
                rows = spark.read.format("delta").load(path)
                return rows.count() == 3_500
            except Exception:  # not written yet
                return False

        _wait("Bronze to hold every message", bronze_complete)
        rows = spark.read.format("delta").load(path).select("kafka_partition", "kafka_offset")
        assert rows.distinct().count() == 3_500  # exactly once
