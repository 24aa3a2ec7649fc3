"""`fastcart run`: one catch-up through Dagster, recorded in the instance so it shows in the UI.

Bronze ingests what is new in Kafka (today's partition); Silver processes every Bronze
partition materialized since Silver last processed it; Gold recomputes the dates Silver
touched and the customer snapshots from the earliest of them through today.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

import dagster as dg
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from fastcart_assets.partitions import partition_key, today_utc

RUN_TAGS = {"fastcart/trigger": "fastcart_run"}


@dataclass
class StageResult:
    """One Dagster run of the catch-up."""

    name: str
    run_id: str
    success: bool
    partitions: list[str]
    checks_passed: int = 0
    checks_failed: list[str] = field(default_factory=list)
    error_checks_failed: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class CatchUpResult:
    stages: list[StageResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def success(self) -> bool:
        return all(s.success and not s.error_checks_failed for s in self.stages)


def execute(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    name: str,
    keys: Sequence[dg.AssetKey],
    days: Sequence[date],
    run_config: dict | None = None,
) -> tuple[StageResult, dg.ExecuteInProcessResult]:
    """Materialize `keys` for the contiguous range covering `days` in one run."""
    first, last = partition_key(min(days)), partition_key(max(days))
    tags = {**RUN_TAGS, "fastcart/stage": name}
    if first == last:
        partition = first
    else:
        partition = None
        tags |= {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}
    job = defs.get_implicit_global_asset_job_def()
    started = time.monotonic()
    result = job.execute_in_process(
        instance=instance,
        asset_selection=list(keys),
        partition_key=partition,
        tags=tags,
        run_config=run_config,
        raise_on_error=False,
    )
    stage = StageResult(
        name=name,
        run_id=result.run_id,
        success=result.success,
        partitions=[first] if first == last else [first, last],
        seconds=time.monotonic() - started,
    )
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            check = event.asset_check_evaluation_data
            label = f"{check.asset_key.to_user_string()}:{check.check_name}"
            if check.passed:
                stage.checks_passed += 1
            else:
                stage.checks_failed.append(label)
                if check.severity == dg.AssetCheckSeverity.ERROR:
                    stage.error_checks_failed.append(label)
        elif event.event_type_value == "ASSET_MATERIALIZATION":
            materialization = event.step_materialization_data.materialization
            rows = materialization.metadata.get("rows")
            if rows is not None:
                key = materialization.asset_key.to_user_string()
                stage.rows[key] = stage.rows.get(key, 0) + int(rows.value)
    return stage, result


def stale_partitions(
    instance: dg.DagsterInstance, upstream: dg.AssetKey, downstream: dg.AssetKey
) -> list[date]:
    """Dates whose upstream materialization is newer than the downstream's (or has none)."""
    storage = instance.event_log_storage
    event = dg.DagsterEventType.ASSET_MATERIALIZATION
    up = storage.get_latest_storage_id_by_partition(upstream, event)
    down = storage.get_latest_storage_id_by_partition(downstream, event)
    return sorted(date.fromisoformat(k) for k, sid in up.items() if sid > down.get(k, -1))


def catch_up(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    stages: Sequence[Callable[[dg.Definitions, dg.DagsterInstance, CatchUpResult], None]],
) -> CatchUpResult:
    """Run each stage in order; a stage that fails stops the ones after it."""
    started = time.monotonic()
    outcome = CatchUpResult()
    for stage in stages:
        stage(defs, instance, outcome)
        if outcome.stages and not outcome.stages[-1].success:
            break
    outcome.seconds = time.monotonic() - started
    return outcome


def today() -> date:
    return today_utc()
