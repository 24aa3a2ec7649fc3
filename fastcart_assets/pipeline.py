"""`fastcart run`: one catch-up through Dagster, recorded in the instance so it shows in the UI.

Bronze ingests what is new in Kafka (today's partition); Silver processes every Bronze
partition materialized since Silver last processed it; Gold recomputes what the planner asks
for (`planner.py`, read from the instance by `progress.py`, the same plan the sensors follow).
Then change data capture, on its own: Bronze CDC when the CDC topic exists, and Silver CDC for
every Bronze CDC partition materialized since Silver CDC processed it (no Gold). Before each
run, runs left behind by killed processes are released and the run waits, with a deadline, for
its pools (`runs.py`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

import dagster as dg

from fastcart_assets import planner, progress, runs
from fastcart_assets.delta import retention_applied
from fastcart_assets.errors import FastcartError
from fastcart_assets.kafka.topics import list_topics
from fastcart_assets.metadata import PARTITION_ROW_COUNT
from fastcart_assets.partitions import FIRST_DATE, partition_key, today_utc
from fastcart_assets.quality.freshness import read_kafka_lag
from fastcart_assets.sensors import ORDER_CHANGES_FEED
from fastcart_assets.tables import (
    BRONZE,
    BRONZE_CDC,
    ORDERS_CURRENT,
    ORDERS_HISTORY,
    RULE_METRICS,
    SILVER,
    SILVER_REJECTED,
    gold_asset_keys,
)

TRIGGER = "fastcart_run"


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
    rows: dict[str, int] = field(default_factory=dict)  # rows written, per table
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)  # why a step failed, one line each
    warnings: list[str] = field(default_factory=list)  # what the run logged as warnings
    interrupted: bool = False  # a step was stopped by Ctrl-C or SIGTERM


@dataclass
class CatchUpResult:
    stages: list[StageResult] = field(default_factory=list)
    blocked: list[planner.Blocked] = field(default_factory=list)
    released: list[runs.Abandoned] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def success(self) -> bool:
        return all(s.success and not s.error_checks_failed for s in self.stages)


def pools_of(defs: dg.Definitions, keys: Sequence[dg.AssetKey]) -> set[str]:
    graph = defs.resolve_asset_graph()
    return {pool for key in keys if (pool := graph.get(key).assets_def.op.pool)}


def _rows_written(result: dg.ExecuteInProcessResult) -> dict[str, int]:
    """Rows each table received: its partitions' row counts when the run reports them, else
    its one `rows` figure (a range run repeats it on every partition's event)."""
    per_partition: dict[str, dict[str | None, int]] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        metadata = materialization.metadata
        key = materialization.asset_key.to_user_string()
        if PARTITION_ROW_COUNT in metadata:
            per_partition.setdefault(key, {})[materialization.partition] = int(
                metadata[PARTITION_ROW_COUNT].value
            )
        elif "rows" in metadata:
            per_partition.setdefault(key, {})[None] = int(metadata["rows"].value)
    return {key: sum(counts.values()) for key, counts in per_partition.items()}


def execute(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    name: str,
    keys: Sequence[dg.AssetKey],
    first: date,
    last: date,
    tags: dict[str, str] | None = None,
    run_config: dict | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> StageResult:
    """Materialize `keys` for the partitions `first`..`last` in one run of this process."""
    runs.wait_for_pools(instance, pools_of(defs, keys), on_wait=on_wait)
    tags = {**(tags or {}), **runs.process_tags(), runs.STAGE_TAG: name}
    partition = partition_key(first) if first == last else None
    if partition is None:
        tags |= {progress.RANGE_START_TAG: partition_key(first)}
        tags |= {progress.RANGE_END_TAG: partition_key(last)}
    # Dagster's console logger prints every event at DEBUG; the CLI prints its own summary.
    # Failures reach the caller as StageResult.error; their stack traces stay in the run's log.
    quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    started = time.monotonic()
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=instance,
        asset_selection=list(keys),
        partition_key=partition,
        tags=tags,
        run_config={**quiet, **(run_config or {})},
        raise_on_error=False,
    )
    stage = StageResult(
        name=name,
        run_id=result.run_id,
        success=result.success,
        partitions=[partition_key(first)]
        if first == last
        else [partition_key(first), partition_key(last)],
        rows=_rows_written(result),
        seconds=time.monotonic() - started,
    )
    _collect_messages(instance, result, stage)
    for check in result.get_asset_check_evaluations():
        label = f"{check.asset_key.to_user_string()}:{check.check_name}"
        if check.partition:
            label += f"[{check.partition}]"
        if check.passed:
            stage.checks_passed += 1
            continue
        stage.checks_failed.append(label)
        if check.severity == dg.AssetCheckSeverity.ERROR:
            stage.error_checks_failed.append(label)
    return stage


def _collect_messages(
    instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult, stage: StageResult
) -> None:
    """The run's failure messages (a `dg.Failure`'s description, else the error's first line)
    and the warnings its steps logged; stack traces stay in the run's log."""
    for event in result.get_step_failure_events():
        failure = event.step_failure_data
        user = failure.user_failure_data
        text = user.description if user and user.description else None
        if (
            failure.error is not None
            and failure.error.cls_name == "DagsterExecutionInterruptedError"
        ):
            text = "interrupted (Ctrl-C or SIGTERM)"
            stage.interrupted = True
        if text is None and failure.error is not None:
            text = failure.error.message.strip().splitlines()[0]
        stage.errors.append(text or "the step failed")
    for entry in instance.all_logs(result.run_id):
        if not entry.is_dagster_event and entry.level >= logging.WARNING:
            stage.warnings.append(entry.user_message)


def _new_messages(defs: dg.Definitions) -> bool:
    """Whether the topic seems to hold messages Bronze lacks (False when it cannot be told)."""
    try:
        lag = read_kafka_lag(defs.resources["kafka"], defs.resources["lake"], peek=False)
    except FastcartError:
        return False
    return not lag.caught_up


def cdc_topic_exists(defs: dg.Definitions) -> bool:
    """Whether the CDC topic (the `kafka_cdc` resource's) exists: one look at the topic list."""
    kafka = defs.resources[ORDER_CHANGES_FEED.resource_key]
    return kafka.topic in list_topics(kafka)


def _bronze_run_config(key: dg.AssetKey, bronze_config: dict | None) -> dict | None:
    """The run options of the Bronze asset `key` (its op is named after the key)."""
    if not bronze_config:
        return None
    return {"ops": {key.to_python_identifier(): {"config": bronze_config}}}


def run_catch_up(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    bronze_config: dict | None = None,
    on_stage: Callable[[StageResult], None] | None = None,
    on_wait: Callable[[str], None] | None = None,
    cdc_topic: bool | None = None,
) -> CatchUpResult:
    """Bronze for new Kafka data, Silver for stale partitions, Gold as the planner says; then
    Bronze CDC and Silver CDC.

    `bronze_config` holds the options of both Bronze assets. `on_wait` hears what the catch-up
    waits for or skips, and the runs it found abandoned and released. `cdc_topic` says whether
    the CDC topic exists (None: look it up).
    """
    today = today_utc()  # "today" is the UTC date when the run starts
    outcome = CatchUpResult(released=runs.release_abandoned_runs(instance))
    for run in outcome.released:
        if on_wait:
            on_wait(
                f"released run {run.run_id[:8]} ({run.stage}): its process {run.pid} is gone "
                "(killed?); marked failed, pool slots freed"
            )
    started = time.monotonic()

    def stage(name, keys, first, last, tags=None, run_config=None) -> bool:
        if any(s.interrupted for s in outcome.stages):
            return False  # stopped by a signal: start nothing more
        result = execute(defs, instance, name, keys, first, last, tags, run_config, on_wait)
        outcome.stages.append(result)
        if on_stage:
            on_stage(result)
        return result.success

    _event_stages(defs, instance, stage, today, bronze_config, outcome)
    if cdc_topic is None:
        cdc_topic = cdc_topic_exists(defs)
    if not cdc_topic and on_wait:
        topic = defs.resources[ORDER_CHANGES_FEED.resource_key].topic
        on_wait(f"no CDC topic {topic}: Bronze CDC skipped")
    _cdc_stages(instance, stage, today, bronze_config, cdc_topic)
    outcome.seconds = time.monotonic() - started
    return outcome


def _event_stages(defs, instance, stage, today, bronze_config, outcome: CatchUpResult) -> None:
    """Bronze, then Silver's stale partitions, then Gold's plans; each only after success."""
    config = _bronze_run_config(BRONZE.asset_key, bronze_config)
    silver_keys = [SILVER.asset_key, SILVER_REJECTED.asset_key, RULE_METRICS.asset_key]
    # New messages and no other Silver partition waiting: Silver runs in Bronze's run (one run
    # less). The hint may miss the newest batch (the embedded broker's high watermark lags);
    # then Silver simply follows in a run of its own, below.
    waiting = progress.silver_partitions_to_process(instance)
    together = set(waiting) <= {today} and _new_messages(defs)
    keys = [BRONZE.asset_key, *(silver_keys if together else [])]
    name = "bronze + silver" if together else "bronze"
    ok = stage(name, keys, today, today, {progress.LAYER_TAG: "bronze"}, config)
    if ok:
        for first, last in planner.contiguous_ranges(
            progress.silver_partitions_to_process(instance), 0
        ):
            ok = ok and stage("silver", silver_keys, first, last, {progress.LAYER_TAG: "silver"})
    if ok:
        expired = retention_applied(defs.resources["lake"].table_path(SILVER.path))
        plans = progress.gold_plans(instance, FIRST_DATE, today, not_before=expired)
        outcome.blocked = [b for plan in plans for b in plan.blocked]
        for run in planner.gold_runs(plans):
            keys = [key for group in run.groups for key in gold_asset_keys(group)]
            name = "gold " + " + ".join(run.groups)
            tags = progress.gold_run_tags(run, TRIGGER)
            ok = ok and stage(name, keys, run.first, run.last, tags)


def _cdc_stages(instance, stage, today, bronze_config, cdc_topic: bool) -> None:
    """Bronze CDC (when its topic exists), then Silver CDC's stale partitions after success.
    Independent of the event stages: either pipeline's failure leaves the other to run."""
    ok = True
    if cdc_topic:
        config = _bronze_run_config(BRONZE_CDC.asset_key, bronze_config)
        tags = {progress.LAYER_TAG: "bronze"}
        ok = stage("bronze cdc", [BRONZE_CDC.asset_key], today, today, tags, config)
    silver_keys = [ORDERS_CURRENT.asset_key, ORDERS_HISTORY.asset_key]
    if ok:
        for first, last in planner.contiguous_ranges(
            progress.cdc_partitions_to_process(instance), 0
        ):
            ok = ok and stage(
                "silver cdc", silver_keys, first, last, {progress.LAYER_TAG: "silver"}
            )
