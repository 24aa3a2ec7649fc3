"""Runs whose process died (kill -9, OOM, reboot): find them, fail them, free their pool slots.

Every run records the process executing it in its tags (`fastcart/host`, `fastcart/pid`,
`fastcart/pid_started`): `fastcart run` sets them when it starts a run, and the lake resource
sets them when a run launched by the daemon starts. A run still marked as going whose process
no longer exists on this host is *abandoned*: it can never release the pool slots it holds, so
it is marked failed with a message saying why, and its slots are freed. `fastcart run` does
this before it waits for a slot, and the `abandoned_runs_sensor` does it under `dagster dev`.

Dagster's own run monitoring cannot do this with the default run launcher (it has no way to
check a run worker's health), and a step waiting for a slot held by a dead run waits forever.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from fastcart_assets.errors import FastcartError

log = logging.getLogger(__name__)

HOST_TAG = "fastcart/host"
PID_TAG = "fastcart/pid"
PID_STARTED_TAG = "fastcart/pid_started"
STAGE_TAG = "fastcart/stage"
ACTIVE_STATUSES = [
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
# How long `fastcart run` waits for a pool slot held by a live run before giving up.
POOL_WAIT_S = 900.0


def _process_started(pid: int) -> str:
    """When process `pid` started (clock ticks since boot), '' when unknown: a pid that is alive
    but started at another time is another process (the pid was reused)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]  # field 22, after the parenthesised name


def process_tags(pid: int | None = None) -> dict[str, str]:
    """Tags naming the process (this one by default) that executes a run."""
    pid = pid or os.getpid()
    tags = {HOST_TAG: socket.gethostname(), PID_TAG: str(pid)}
    if started := _process_started(pid):
        tags[PID_STARTED_TAG] = started
    return tags


def process_alive(tags: dict[str, str]) -> bool | None:
    """Whether the process named by a run's tags still exists; None when it cannot be told (no
    tags, or another host)."""
    if PID_TAG not in tags or tags.get(HOST_TAG) != socket.gethostname():
        return None
    pid = int(tags[PID_TAG])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's
    started = tags.get(PID_STARTED_TAG)
    return not started or _process_started(pid) in ("", started)


def tag_run_with_process(instance: dg.DagsterInstance | None, run_id: str | None) -> None:
    """Record this process on run `run_id` (called when a daemon-launched run starts)."""
    if instance is None or not run_id:
        return
    run = instance.get_run_by_id(run_id)
    if run is not None and PID_TAG not in run.tags:
        instance.add_run_tags(run_id, process_tags())


@dataclass(frozen=True)
class Abandoned:
    run_id: str
    stage: str
    pid: str


def release_abandoned_runs(instance: dg.DagsterInstance) -> list[Abandoned]:
    """Fail the runs whose process is gone and free their slots; free slots of finished runs."""
    released = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=ACTIVE_STATUSES)):
        if process_alive(run.tags) is not False:
            continue
        pid, host = run.tags[PID_TAG], run.tags[HOST_TAG]
        instance.report_run_failed(
            run,
            message=f"The process that ran this run (pid {pid} on {host}) no longer exists: it "
            "was killed (kill -9, out of memory, reboot?). FastCart marked the run failed and "
            "released its pool slots; the next run carries on from the data already committed.",
        )
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        released.append(Abandoned(run.run_id, run.tags.get(STAGE_TAG, run.job_name), pid))
        log.info("run %s (pid %s) was abandoned: marked failed, slots released", run.run_id, pid)
    for run_id in _slot_holders(instance, _pools(instance)):
        run = instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            instance.event_log_storage.free_concurrency_slots_for_run(run_id)
    return released


def _pools(instance: dg.DagsterInstance) -> list[str]:
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    return sorted(storage.get_concurrency_keys())


def _slot_holders(instance: dg.DagsterInstance, pools: Iterable[str]) -> set[str]:
    holders = set()
    for pool in pools:
        holders |= {slot.run_id for slot in _info(instance, pool).claimed_slots}
    return holders


def _info(instance: dg.DagsterInstance, pool: str):
    return instance.event_log_storage.get_concurrency_info(pool)


class PoolBusy(FastcartError, RuntimeError):
    """A pool's slots stayed held by live runs past the deadline."""


def _holders_text(instance: dg.DagsterInstance, pool: str) -> str:
    parts = []
    for run_id in sorted({slot.run_id for slot in _info(instance, pool).claimed_slots}):
        run = instance.get_run_by_id(run_id)
        if run is None:
            continue
        what = run.tags.get(STAGE_TAG) or run.job_name
        where = f", pid {run.tags[PID_TAG]}" if PID_TAG in run.tags else ""
        parts.append(f"run {run_id[:8]} ({what}{where}, {run.status.value.lower()})")
    return ", ".join(parts) or "a run that has just finished"


def wait_for_pools(
    instance: dg.DagsterInstance,
    pools: Iterable[str],
    timeout_s: float = POOL_WAIT_S,
    on_wait: Callable[[str], None] | None = None,
    poll_s: float = 1.0,
) -> None:
    """Return once every pool in `pools` has a free slot, releasing abandoned runs on the way.

    Raises:
        PoolBusy: after `timeout_s`, naming the runs that hold the busy pools.
    """
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return
    deadline = time.monotonic() + timeout_s
    announced = set()
    while True:
        release_abandoned_runs(instance)
        busy = [
            pool
            for pool in pools
            if (info := _info(instance, pool)).limit is not None
            and len(info.claimed_slots) >= info.limit
        ]
        if not busy:
            return
        text = "; ".join(f"pool {p} is held by {_holders_text(instance, p)}" for p in busy)
        if time.monotonic() >= deadline:
            raise PoolBusy(
                f"gave up after waiting {timeout_s:.0f} s: {text}. Wait for it to finish, or "
                "stop it (Dagster UI → Runs → Terminate)."
            )
        if on_wait and text not in announced:
            on_wait(f"waiting: {text}")
            announced.add(text)
        time.sleep(poll_s)


def abandoned_runs_sensor(interval_s: int) -> dg.SensorDefinition:
    """The sensor that releases abandoned runs, every `interval_s` seconds (the Kafka sensors'
    interval: a killed run holds up ingestion for about that long, and the check is one query)."""

    @dg.sensor(
        name="abandoned_runs_sensor",
        minimum_interval_seconds=interval_s,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Marks failed the runs whose process was killed and frees their pool "
        "slots, so a killed run never blocks the layers' pools.",
    )
    def _sensor(context: dg.SensorEvaluationContext):
        """Release runs whose process no longer exists (their slots would be held forever)."""
        released = release_abandoned_runs(context.instance)
        if not released:
            return dg.SkipReason("no abandoned run")
        return dg.SkipReason(
            "released "
            + ", ".join(f"run {r.run_id[:8]} ({r.stage}, pid {r.pid})" for r in released)
        )

    return _sensor
