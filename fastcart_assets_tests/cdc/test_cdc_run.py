"""`fastcart run` with change data capture, on the real broker: a dirty change stream lands in
Bronze CDC exactly once and folds into the generator's orders table; a re-run commits nothing;
a run killed in the CDC stages is completed by the next (`-m faults`)."""

from __future__ import annotations

import os
import re
import signal
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from deltalake import DeltaTable

from fastcart_assets.cli.main import cli
from fastcart_assets.generator.cdc import CdcConfig
from fastcart_assets.generator.cdc_producer import generate_cdc
from fastcart_assets.generator.orders import GeneratorConfig
from fastcart_assets.generator.producer import KafkaSink
from fastcart_assets.instance import get_instance
from fastcart_assets.kafka.broker import free_port
from fastcart_assets.kafka.topics import create_topic
from fastcart_assets.tables import BRONZE_CDC
from fastcart_assets_tests.cdc.changes import CollectedRecords, generated
from fastcart_assets_tests.cdc.conftest import CdcLake
from fastcart_assets_tests.cdc.test_bronze_cdc import bronze_records, topic_records
from fastcart_assets_tests.helpers import produce
from fastcart_assets_tests.test_demo import DEMO, _fastcart
from fastcart_assets_tests.test_run_faults import (
    _assert_nothing_held,
    _finish,
    _start_run,
    _wait_until_held,
    clean_values,
)

pytestmark = pytest.mark.slow

CONFIG = GeneratorConfig(
    start=datetime(2025, 11, 9, tzinfo=UTC), duration=None, orders=200, seed=21
)
CDC = CdcConfig(snapshot_orders=40, delete_share=0.3)


def _dirty_stream() -> list[tuple[bytes, bytes | None, int | None]]:
    sink = CollectedRecords()
    summary = generate_cdc(CONFIG, CDC, dirty_rate=0.15, speed=0, sink=sink, partitions=3)
    assert summary.tombstones > 0 and all(summary.defects[k] > 0 for k in summary.defects)
    return sink.records


def _send(kafka, records) -> None:
    sink = KafkaSink(kafka.producer(), kafka.topic)
    for key, value, partition in records:
        sink.send(key, value, partition)
    sink.close()


def _run():
    return CliRunner().invoke(cli, ["run"], catch_exceptions=False)


def _assert_cdc_tables(spark, settings, kafka) -> None:
    """Bronze CDC holds the topic's records exactly once; Silver CDC is the fold of the
    generated changes and holds the generator's orders table."""
    landed = bronze_records(spark, settings)
    expected = topic_records(kafka)
    assert len(landed) == len(expected) and dict(landed) == expected
    assert sum(raw is None for _, (_, raw) in landed) > 0  # tombstones landed too
    lake = CdcLake(spark, settings.lake_root)
    want = generated(CONFIG, CDC)
    assert lake.current_rows() == want.current
    assert sorted((row[:-2] for row in lake.history_rows()), key=repr) == want.history
    statuses = {row[0]: row[7] for row in lake.current_rows()}
    assert statuses == {order: row["status"] for order, row in want.table.items()}


def _versions(settings, lake: CdcLake) -> tuple[int, ...]:
    return (DeltaTable(settings.table_path(BRONZE_CDC.path)).version(), *lake.versions())


def test_run_lands_a_dirty_cdc_stream_once_and_folds_it_and_a_rerun_commits_nothing(
    spark, cdc_settings, kafka, cdc_kafka
):
    produce(kafka, clean_values(20))  # a few order events of today beside the changes
    no_topic = _run()
    assert no_topic.exit_code == 0, no_topic.output
    assert f"no CDC topic {cdc_kafka.topic}: Bronze CDC skipped" in no_topic.output
    assert "bronze cdc" not in no_topic.output and "silver cdc" not in no_topic.output

    create_topic(cdc_kafka, cdc_kafka.topic, 3)
    _send(cdc_kafka, _dirty_stream())
    first = _run()
    assert first.exit_code == 0, first.output
    assert "bronze cdc" in first.output and "silver cdc" in first.output
    assert "check failed" not in first.output, first.output
    _assert_cdc_tables(spark, cdc_settings, cdc_kafka)

    lake = CdcLake(spark, cdc_settings.lake_root)
    versions = _versions(cdc_settings, lake)
    again = _run()
    assert again.exit_code == 0, again.output
    assert _versions(cdc_settings, lake) == versions  # nothing new: no commit anywhere


@pytest.mark.faults
def test_a_run_killed_in_the_cdc_stages_is_completed_by_a_plain_run(
    spark, cdc_settings, kafka, cdc_kafka, tmp_path
):
    produce(kafka, clean_values(20))
    create_topic(cdc_kafka, cdc_kafka.topic, 3)
    records = _dirty_stream()
    half = len(records) // 2
    instance = get_instance(cdc_settings)
    for part, pool in ((records[:half], "delta_bronze_cdc"), (records[half:], "delta_silver_cdc")):
        _send(cdc_kafka, part)
        killed = _start_run(tmp_path)
        _wait_until_held(instance, pool, killed)
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait()
        assert instance.event_log_storage.get_concurrency_info(pool).claimed_slots, (
            "the killed run left its slot claimed (the next run must release it)"
        )
        code, output = _finish(_start_run(tmp_path))
        assert code == 0, output
        assert "released run" in output, output
        _assert_nothing_held(instance)
    _assert_cdc_tables(spark, cdc_settings, cdc_kafka)


def test_demo_with_cdc_shows_the_scd_tables_and_sql_reads_them(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FASTCART_", "DAGSTER_"))}
    env["FASTCART_KAFKA_BOOTSTRAP"] = f"127.0.0.1:{free_port()}"
    try:
        demo = _fastcart(tmp_path, env, *DEMO, "--cdc")
        output = demo.stdout + demo.stderr
        assert demo.returncode == 0, output[-4000:]
        assert "Traceback" not in output
        assert "changes of the orders table on topic fastcart.public.orders" in demo.stdout
        assert re.search(r"bronze cdc\s+ok", demo.stdout), demo.stdout[-4000:]
        assert re.search(r"silver cdc\s+ok", demo.stdout), demo.stdout[-4000:]
        live = int(
            re.search(r"silver_orders_current\s+([\d,]+) live", demo.stdout)[1].replace(",", "")
        )
        outcomes = re.search(
            r"envelopes this run: applied ([\d,]+), stale ([\d,]+), duplicates ([\d,]+), "
            r"tombstones ([\d,]+), rejected ([\d,]+)",
            demo.stdout,
        )
        applied, _, _, tombstones, _ = (int(n.replace(",", "")) for n in outcomes.groups())
        assert live > 0 and applied >= live and tombstones > 0
        counted = _fastcart(tmp_path, env, "sql", "SELECT count(*) AS n FROM silver_orders_current")
        assert counted.returncode == 0, counted.stderr
        assert counted.stdout.splitlines()[1] == str(live)
        history = _fastcart(
            tmp_path, env, "sql", "SELECT count(*) AS n FROM silver_orders_history WHERE is_current"
        )
        assert history.returncode == 0 and history.stdout.splitlines()[1] == str(live)
    finally:
        _fastcart(tmp_path, env, "kafka", "stop")


@pytest.mark.faults
def test_sigterm_in_the_event_stages_starts_no_cdc_stage(
    spark, cdc_settings, kafka, cdc_kafka, tmp_path
):
    produce(kafka, clean_values(2_000))
    create_topic(cdc_kafka, cdc_kafka.topic, 3)
    _send(cdc_kafka, _dirty_stream()[:200])
    instance = get_instance(cdc_settings)
    running = _start_run(tmp_path)
    _wait_until_held(instance, "delta_bronze", running)
    os.kill(running.pid, signal.SIGTERM)
    code, output = _finish(running, timeout=60)
    assert code in (130, 143), output
    assert "bronze cdc" not in output and "silver cdc" not in output, output
    assert not DeltaTable.is_deltatable(cdc_settings.table_path(BRONZE_CDC.path))
    _assert_nothing_held(instance)
