"""`fastcart run`: one catch-up through Dagster, recorded in the instance so it shows in the UI.

Bronze ingests what is new in Kafka (today's partition); Silver processes every Bronze
partition materialized since Silver last processed it; Gold recomputes the dates Silver
touched and the customer snapshots from the earliest of them through today.
"""

from __future__ import annotations

import logging
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
    errors: list[str] = field(default_factory=list)  # why a step failed, one line each
    warnings: list[str] = field(default_factory=list)  # what the run logged as warnings


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
    # Dagster's console logger prints every event (a failure with its stack trace); the CLI
    # prints its own summary, with each failure's message and the run's warnings.
    quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    job = defs.get_implicit_global_asset_job_def()
    started = time.monotonic()
    result = job.execute_in_process(
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
        partitions=[first] if first == last else [first, last],
        seconds=time.monotonic() - started,
    )
    _collect_messages(instance, result, stage)
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


def _collect_messages(
    instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult, stage: StageResult
) -> None:
    """The run's failure messages (a `dg.Failure`'s description, else the error's first line)
    and the warnings its steps logged."""
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            failure = event.step_failure_data
            user = failure.user_failure_data
            text = user.description if user and user.description else None
            if text is None and failure.error is not None:
                text = failure.error.message.strip().splitlines()[0]
            stage.errors.append(text or "the step failed")
    for entry in instance.all_logs(result.run_id):
        if not entry.is_dagster_event and entry.level >= logging.WARNING:
            stage.warnings.append(entry.user_message)


def stale_partitions(
    instance: dg.DagsterInstance, upstream: dg.AssetKey, downstream: dg.AssetKey
) -> list[date]:
    """Dates whose upstream materialization is newer than the downstream's (or has none)."""
    storage = instance.event_log_storage
    event = dg.DagsterEventType.ASSET_MATERIALIZATION
    up = storage.get_latest_storage_id_by_partition(upstream, event)
    down = storage.get_latest_storage_id_by_partition(downstream, event)
    return sorted(date.fromisoformat(k) for k, sid in up.items() if sid > down.get(k, -1))


def touched_since_gold(instance: dg.DagsterInstance) -> list[date]:
    """Dates Silver reported touched in materializations Gold has not caught up with."""
    from fastcart_assets.gold.assets import SALES_GROUP, gold_key
    from fastcart_assets.silver.assets import SILVER_KEY, TOUCHED_DATES

    gold_marker = gold_key(SALES_GROUP, "daily_product_revenue")
    latest_gold = instance.fetch_materializations(gold_marker, limit=1).records
    after = latest_gold[0].storage_id if latest_gold else None
    touched: set[date] = set()
    cursor = None
    while True:
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=SILVER_KEY, after_storage_id=after),
            limit=500,
            cursor=cursor,
        )
        for record in page.records:
            metadata = record.asset_materialization.metadata
            if TOUCHED_DATES in metadata:
                touched.update(date.fromisoformat(d) for d in metadata[TOUCHED_DATES].value)
        if not page.has_more:
            return sorted(touched)
        cursor = page.cursor


def run_catch_up(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    bronze_config: dict | None = None,
    on_stage: Callable[[StageResult], None] | None = None,
) -> CatchUpResult:
    """Bronze for new Kafka data, Silver for stale dates, Gold for touched dates and snapshots."""
    from fastcart_assets.bronze.assets import BRONZE_KEY
    from fastcart_assets.gold.assets import CUSTOMER_GROUP, SALES_GROUP, gold_key
    from fastcart_assets.settings import CUSTOMER_ANALYTICS_TABLES, SALES_PERFORMANCE_TABLES
    from fastcart_assets.silver.assets import REJECTED_KEY, SILVER_KEY

    today = today_utc()  # "today" is the UTC date when the run starts
    outcome = CatchUpResult()
    started = time.monotonic()

    def stage(name, keys, days, run_config=None) -> bool:
        result, _ = execute(defs, instance, name, keys, days, run_config)
        outcome.stages.append(result)
        if on_stage:
            on_stage(result)
        return result.success

    config = (
        {"ops": {"bronze__ecommerce_sales": {"config": bronze_config}}} if bronze_config else None
    )
    ok = stage("bronze", [BRONZE_KEY], [today], config)
    stale = stale_partitions(instance, BRONZE_KEY, SILVER_KEY) if ok else []
    if ok and stale:
        ok = stage("silver", [SILVER_KEY, REJECTED_KEY], stale)
    touched = touched_since_gold(instance) if ok else []
    if ok and touched:
        sales = [gold_key(SALES_GROUP, t) for t in SALES_PERFORMANCE_TABLES]
        ok = stage("gold_sales_performance", sales, touched)
    if ok:
        customers = [gold_key(CUSTOMER_GROUP, t) for t in CUSTOMER_ANALYTICS_TABLES]
        first = min([*touched, today])
        stage("gold_customer_analytics", customers, [first, today])
    outcome.seconds = time.monotonic() - started
    return outcome
