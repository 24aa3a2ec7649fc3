"""The Dagster instance `fastcart` writes: Dagster's SQLite files, written with kept engines."""

from __future__ import annotations

import threading
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef

from fastcart_assets import instance_storage
from fastcart_assets.instance import get_instance
from fastcart_assets.settings import Settings


@dg.asset(partitions_def=dg.StaticPartitionsDefinition(["a", "b"]))
def numbers(context) -> dg.MaterializeResult:
    """A trivial partitioned asset."""
    return dg.MaterializeResult(metadata={"partition": context.partition_key})


@pytest.fixture
def home(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    return tmp_path / "dagster_home"


def dagster_default(home: Path) -> dg.DagsterInstance:
    """The same directory opened with Dagster's own SQLite storage, as a plain dagster.yaml
    would: what an instance written by fastcart must stay readable by."""
    (home / "plain.yaml").write_text("telemetry:\n  enabled: false\n")
    ref = InstanceRef.from_dir(str(home), config_filename="plain.yaml")
    return dg.DagsterInstance.from_ref(ref)


def test_fastcart_instance_is_dagster_sqlite_storage_with_kept_engines(home, tmp_path):
    instance = get_instance(Settings(dagster_home=str(home), lake_root=str(tmp_path / "lake")))
    assert isinstance(instance.event_log_storage, instance_storage.EventLogStorage)
    assert isinstance(instance.run_storage, instance_storage.RunStorage)
    assert isinstance(instance.schedule_storage, instance_storage.ScheduleStorage)

    for partition in ("a", "b"):
        assert dg.materialize([numbers], instance=instance, partition_key=partition).success
    assert set(instance.event_log_storage._engines) >= {"index"}  # kept, one per shard

    plain = dagster_default(home)
    assert len(plain.get_runs()) == 2
    materialized = plain.fetch_materializations(numbers.key, limit=10).records
    assert sorted(r.partition_key for r in materialized) == ["a", "b"]
    assert sorted(plain.get_materialized_partitions(numbers.key)) == ["a", "b"]


def test_a_run_written_through_kept_engines_is_followed_live_by_another_process(home, tmp_path):
    """The Dagster UI follows a run by watching its `.db` file, not by polling: every event
    must reach that file when written (the WAL checkpointed as the connection closes)."""
    writer = get_instance(Settings(dagster_home=str(home), lake_root=str(tmp_path / "lake")))
    run = writer.add_run(dg.DagsterRun(job_name="followed"))
    writer.report_engine_event("first", dagster_run=run)

    watcher = dagster_default(home)
    seen: list[str] = []
    arrived = threading.Event()

    def on_event(event, _cursor) -> None:
        seen.append(event.dagster_event.message)
        if seen[-1] == "third":
            arrived.set()

    watcher.event_log_storage.watch(run.run_id, None, on_event)
    try:
        for message in ("second", "third"):
            writer.report_engine_event(message, dagster_run=run)
        assert arrived.wait(timeout=20), f"the watcher saw only {seen}"
    finally:
        watcher.event_log_storage.end_watch(run.run_id, on_event)
        watcher.dispose()
    assert seen[-2:] == ["second", "third"]
