"""The production instance for real: Dagster on PostgreSQL, configured by docker/dagster.yaml.

A throwaway Debian PostgreSQL holds the instance. `fastcart run` catches up through it, then
the real `dagster-daemon` drives Bronze -> Silver -> Gold from the sensors alone: the run queue
lets the two Gold runs (different pools) be in flight together, while no two steps of one pool
ever overlap. Everything asserted is read back from what the instance recorded in PostgreSQL.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import psycopg2
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable

from fastcart_assets.definitions import build_definitions
from fastcart_assets.generator.orders import GeneratorConfig
from fastcart_assets.generator.producer import KafkaSink, generate
from fastcart_assets.kafka.topics import create_topic
from fastcart_assets.partitions import partition_key, today_utc
from fastcart_assets_tests.helpers import order_event
from fastcart_assets_tests.postgres import postgres_bin_dir, postgres_server
from fastcart_assets_tests.processes import background

PROJECT = Path(__file__).resolve().parents[1]
DEPLOYED_CONFIG = PROJECT / "docker" / "dagster.yaml"
BIN = Path(sys.executable).parent
MARKER = "PROD-PGCYCLE"
REVENUE = dg.AssetKey(["gold", "sales_performance", "daily_product_revenue"])
SEGMENTS = dg.AssetKey(["gold", "customer_analytics", "customer_segments"])
SILVER = dg.AssetKey(["silver", "ecommerce_sales"])
MATERIALIZED = {
    dg.AssetKey(["bronze", "ecommerce_sales"]),
    SILVER,
    REVENUE,
    SEGMENTS,
}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        postgres_bin_dir() is None, reason="Debian postgresql missing (.ci/run installs it)"
    ),
]


@pytest.fixture
def postgres_home(settings, monkeypatch):
    """DAGSTER_HOME holding docker/dagster.yaml, its PostgreSQL reachable through env vars."""
    password = secrets.token_urlsafe(18)
    with postgres_server() as server:
        server.create_database("dagster", "dagster", "DAGSTER_POSTGRES_PASSWORD", password)
        for name, value in {
            "DAGSTER_POSTGRES_HOST": "127.0.0.1",
            "DAGSTER_POSTGRES_PORT": str(server.port),
            "DAGSTER_POSTGRES_USER": "dagster",
            "DAGSTER_POSTGRES_PASSWORD": password,
            "DAGSTER_POSTGRES_DB": "dagster",
        }.items():
            monkeypatch.setenv(name, value)
        home = Path(os.environ["DAGSTER_HOME"])
        shutil.copy(DEPLOYED_CONFIG, home / "dagster.yaml")
        yield home, server


def _instance(home: Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(home))


def _late_order(day) -> list[dict]:
    """A marked order created and shipped on `day` (days ago), arriving only now."""
    fields = {"product_id": MARKER, "total": 1000.0, "price": 500.0, "quantity": 2}
    return [
        order_event(99_000_001, status="pending", timestamp=f"{day}T08:00:00Z", **fields),
        order_event(99_000_001, status="shipped", timestamp=f"{day}T10:00:00Z", **fields),
    ]


def _marker_revenue(settings, day) -> list[float]:
    table = DeltaTable(settings.table_path("gold/sales_performance/daily_product_revenue"))
    rows = table.to_pyarrow_dataset().to_table(
        filter=(pc.field("product_id") == MARKER) & (pc.field("date") == day)
    )
    return [float(v) for v in rows.column("total_revenue").to_pylist()]


def _wait_for_cycle(instance, process, late_day, after_storage_id, timeout_s=420.0) -> None:
    """Until a Silver run of the cycle is followed by Gold for the late date and today's
    snapshot, and every run the sensors started has finished."""
    deadline = time.monotonic() + timeout_s
    wanted = {REVENUE: partition_key(late_day), SEGMENTS: partition_key(today_utc())}
    while time.monotonic() < deadline:
        assert process.poll() is None, "dagster-daemon exited"
        silver = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=SILVER, after_storage_id=after_storage_id), limit=1
        ).records
        done = bool(silver) and all(
            instance.fetch_materializations(
                dg.AssetRecordsFilter(
                    asset_key=key,
                    asset_partitions=[partition],
                    after_storage_id=silver[0].storage_id,
                ),
                limit=1,
            ).records
            for key, partition in wanted.items()
        )
        unfinished = instance.get_runs(
            filters=dg.RunsFilter(statuses=[s for s in dg.DagsterRunStatus if not _finished(s)])
        )
        if done and not unfinished:
            return
        time.sleep(3)
    runs = [(r.dagster_run.tags, r.dagster_run.status) for r in instance.get_run_records()]
    raise AssertionError(f"Gold did not catch up within {timeout_s:.0f} s: {runs}")


def _finished(status: dg.DagsterRunStatus) -> bool:
    return status in (
        dg.DagsterRunStatus.SUCCESS,
        dg.DagsterRunStatus.FAILURE,
        dg.DagsterRunStatus.CANCELED,
    )


def _pools_by_step(settings) -> dict[str, str]:
    job = build_definitions(settings).resolve_implicit_global_asset_job_def()
    return {node.name: node.definition.pool for node in job.graph.nodes}


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def test_catch_up_then_sensor_cycle_on_the_postgres_instance(postgres_home, settings, kafka):
    home, server = postgres_home
    create_topic(kafka, kafka.topic, 3)
    # Four days back: the late order's sales date and its snapshots through today are too far
    # apart to share a run (planner.MAX_GAP_DAYS), so Gold is two runs on different pools.
    late_day = today_utc() - timedelta(days=4)
    start = datetime.combine(late_day, datetime.min.time(), UTC)
    config = GeneratorConfig(
        start=start, duration=timedelta(hours=10), min_delay_s=60, max_delay_s=240, seed=15
    )
    generate(config, dirty_rate=0.05, speed=0, sink=KafkaSink(kafka.producer(), kafka.topic))

    # (a) a catch-up through the CLI, recorded in PostgreSQL
    catch_up = subprocess.run(
        [str(BIN / "fastcart"), "run"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert catch_up.returncode == 0, catch_up.stdout + catch_up.stderr
    instance = _instance(home)
    try:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        records = instance.get_run_records()
        assert len(records) >= 2  # Bronze with Silver, then Gold (its groups together or apart)
        assert {r.dagster_run.status for r in records} == {dg.DagsterRunStatus.SUCCESS}
        with (
            psycopg2.connect(
                host="127.0.0.1",
                port=server.port,
                user="dagster",
                password=os.environ["DAGSTER_POSTGRES_PASSWORD"],
                dbname="dagster",
            ) as connection,
            connection.cursor() as cursor,
        ):
            cursor.execute("SELECT run_id FROM runs")
            assert {row[0] for row in cursor.fetchall()} == {r.dagster_run.run_id for r in records}
        for key in MATERIALIZED:
            assert instance.fetch_materializations(key, limit=1).records, key
        high_water = max(
            instance.fetch_materializations(key, limit=1).records[0].storage_id
            for key in MATERIALIZED
        )
        catch_up_runs = {r.dagster_run.run_id for r in records}
        assert _marker_revenue(settings, late_day) == []

        # (b) late data, then only the daemon: sensors and automation do the rest
        producer = kafka.producer()
        for event in _late_order(late_day):
            producer.produce(
                kafka.topic, key=event["order_id"].encode(), value=json.dumps(event).encode()
            )
        assert producer.flush(10) == 0
        daemon_env = {**os.environ, "FASTCART_SENSOR_INTERVAL_S": "5"}
        with background(
            [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
            home / "daemon.log",
            cwd=PROJECT,
            env=daemon_env,
        ) as daemon:
            _wait_for_cycle(instance, daemon, late_day, high_water)

        assert _marker_revenue(settings, late_day) == [1000.0]
        cycle = [r for r in instance.get_run_records() if r.dagster_run.run_id not in catch_up_runs]
        statuses = {r.dagster_run.run_id: r.dagster_run.status for r in cycle}
        assert set(statuses.values()) == {dg.DagsterRunStatus.SUCCESS}, statuses
        # every run of the cycle was started by a sensor (Kafka, Silver automation, touched dates)
        assert all("dagster/sensor_name" in r.dagster_run.tags for r in cycle)
        _assert_pools_held(instance, settings, cycle)
    finally:
        instance.dispose()


def _launched_at(instance, run_id: str) -> float:
    """When the daemon dequeued the run and launched it (RUN_STARTING)."""
    [starting] = [
        entry.timestamp
        for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_STARTING)
    ]
    return starting


def _assert_pools_held(instance, settings, cycle) -> None:
    """No two steps of one pool ever overlapped, while the run queue let runs on different
    pools be in flight (launched, not yet finished) at the same time."""
    pools = _pools_by_step(settings)
    steps: dict[str, list[tuple[float, float, str]]] = {}
    in_flight: list[tuple[set[str], tuple[float, float]]] = []
    cycle_ids = {r.dagster_run.run_id for r in cycle}
    for record in instance.get_run_records():
        run_id = record.dagster_run.run_id
        used = set()
        for stat in instance.get_run_step_stats(run_id):
            pool = pools[stat.step_key]
            used.add(pool)
            steps.setdefault(pool, []).append((stat.start_time, stat.end_time, run_id))
        if run_id in cycle_ids:
            in_flight.append((used, (_launched_at(instance, run_id), record.end_time)))
    for pool, spans in steps.items():
        spans.sort()
        for first, second in zip(spans, spans[1:], strict=False):
            assert first[1] <= second[0], f"two steps held pool {pool} at once: {first} {second}"
    # The two Gold runs a Silver run triggers (different pools) are launched together. Their
    # steps overlap too unless starting a run worker takes longer than a Gold step (a loaded
    # machine), so the in-flight spans are what the queue is judged on.
    assert any(
        not (a_pools & b_pools) and _overlap(a_span, b_span)
        for i, (a_pools, a_span) in enumerate(in_flight)
        for b_pools, b_span in in_flight[i + 1 :]
    ), f"the run queue never had runs on different pools in flight at once: {sorted(in_flight)}"
    # a pool gets its row when a step first claims it: the pools this instance has used
    assert set(steps) <= instance.event_log_storage.get_concurrency_keys()
    assert all(
        instance.event_log_storage.get_concurrency_info(pool).slot_count == 1 for pool in steps
    )
