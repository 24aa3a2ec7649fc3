"""Runs whose process died: found, failed with a message, their pool slots freed; a live holder
is waited for with a deadline and named."""

from __future__ import annotations

import subprocess
import uuid

import dagster as dg
import pytest

from fastcart_assets import runs

POOL = "delta_silver"


@pytest.fixture
def instance():
    overrides = {"concurrency": {"pools": {"default_limit": 1}}}
    with dg.instance_for_test(overrides=overrides) as test_instance:
        test_instance.event_log_storage.set_concurrency_slots(POOL, 1)
        yield test_instance


def _holding_run(instance, tags: dict[str, str]) -> str:
    """A run marked STARTED that holds the pool's slot, as a run mid-step does."""
    run_id = str(uuid.uuid4())
    instance.add_run(
        dg.DagsterRun(
            job_name="__ASSET_JOB",
            run_id=run_id,
            status=dg.DagsterRunStatus.STARTED,
            tags={**tags, runs.STAGE_TAG: "silver"},
        )
    )
    claim = instance.event_log_storage.claim_concurrency_slot(POOL, run_id, "silver_step")
    assert claim.is_claimed
    return run_id


def _dead_pid() -> int:
    process = subprocess.Popen(["sleep", "60"])
    process.kill()
    process.wait()
    return process.pid


def _claimed(instance) -> set[str]:
    return {s.run_id for s in instance.event_log_storage.get_concurrency_info(POOL).claimed_slots}


def test_a_run_whose_process_is_gone_is_failed_and_its_slot_freed(instance):
    run_id = _holding_run(instance, runs.process_tags(_dead_pid()))
    released = runs.release_abandoned_runs(instance)
    assert [(r.run_id, r.stage) for r in released] == [(run_id, "silver")]
    run = instance.get_run_by_id(run_id)
    assert run.status == dg.DagsterRunStatus.FAILURE
    assert _claimed(instance) == set()
    failure = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records[
        0
    ]
    assert "no longer exists" in failure.event_log_entry.dagster_event.message
    runs.wait_for_pools(instance, [POOL], timeout_s=1)  # free again: returns at once


def test_a_live_holder_is_waited_for_then_named_at_the_deadline(instance):
    run_id = _holding_run(instance, runs.process_tags())  # this test process: alive
    heard = []
    with pytest.raises(runs.PoolBusy) as busy:
        runs.wait_for_pools(instance, [POOL], timeout_s=1.5, on_wait=heard.append, poll_s=0.2)
    assert f"run {run_id[:8]} (silver, pid" in str(busy.value)
    assert "gave up after waiting 2 s" in str(busy.value)
    assert len(heard) == 1  # said once, not every poll
    assert heard[0].startswith(f"waiting: pool {POOL} is held by run {run_id[:8]} (silver")
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.STARTED
    assert _claimed(instance) == {run_id}


def test_slots_left_by_finished_or_unknown_runs_are_freed(instance):
    run_id = _holding_run(instance, runs.process_tags())
    instance.report_run_failed(instance.get_run_by_id(run_id))  # finished, slot still held
    runs.release_abandoned_runs(instance)
    assert _claimed(instance) == set()
    assert instance.event_log_storage.claim_concurrency_slot(POOL, "no-such-run", "s").is_claimed
    runs.release_abandoned_runs(instance)
    assert _claimed(instance) == set()


def test_runs_of_another_host_or_without_process_tags_are_left_alone(instance):
    elsewhere = _holding_run(instance, {**runs.process_tags(_dead_pid()), runs.HOST_TAG: "other"})
    assert runs.release_abandoned_runs(instance) == []
    assert instance.get_run_by_id(elsewhere).status == dg.DagsterRunStatus.STARTED


def test_the_sensor_releases_abandoned_runs_under_the_daemon(instance):
    run_id = _holding_run(instance, runs.process_tags(_dead_pid()))
    result = runs.abandoned_runs_sensor(15)(dg.build_sensor_context(instance=instance))
    assert isinstance(result, dg.SkipReason)
    assert f"released run {run_id[:8]} (silver" in result.skip_message
    assert _claimed(instance) == set()
    again = runs.abandoned_runs_sensor(15)(dg.build_sensor_context(instance=instance))
    assert again.skip_message == "no abandoned run"
