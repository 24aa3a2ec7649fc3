"""`fastcart forget CUSTOMER_ID` as Dagster runs, recorded in the instance (docs/SPEC.md §9).

1. `forget_job` finds the customer, records their Kafka records in `quality/forgotten`, blanks
   their Bronze rows and change envelopes, removes what Silver cannot re-run (records whose
   Bronze row retention deleted), deletes their orders from the SCD tables and redacts them
   in customer snapshots Silver's retention keeps out of reach.
2. Silver re-runs every Bronze partition holding an erased record (the ordinary Silver asset):
   the records become rejected rows with the one reason `erased`, the Silver rows they had
   produced are removed, `quality/rule_metrics` and the Silver checks (reconciliation
   included) are evaluated again.
3. Gold recomputes, with the ordinary Gold assets, every date the customer's Silver rows fed
   (their event dates, their orders' creation dates) and every snapshot from the earliest of
   them, or of a snapshot naming the customer, through today — whatever the data-quality
   state of those partitions: an erasure does not wait for a clean partition.
4. `forget_purge_job` checks that no table names the customer any more, vacuums every table
   that can hold personal data to its current version (old versions' files and log entries
   deleted) and removes scratch directories.

Each run first waits for the pools it needs (and releases runs killed earlier), like
`fastcart run`.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import dagster as dg

from fastcart_assets import planner, progress, runs
from fastcart_assets.delta import retention_applied, table_exists
from fastcart_assets.forget.find import Findings
from fastcart_assets.forget.job import (
    REQUEST_TAG,
    ForgetRequest,
    forget_job,
    forget_purge_job,
    pools,
    purge_results,
)
from fastcart_assets.forget.purge import Purged
from fastcart_assets.forget.tables import NAMED_GOLD
from fastcart_assets.partitions import FIRST_DATE, today_utc
from fastcart_assets.pipeline import StageResult, execute
from fastcart_assets.resources.lake import LakeResource
from fastcart_assets.tables import (
    BRONZE,
    BRONZE_CDC,
    CUSTOMER_ANALYTICS,
    GOLD,
    RULE_METRICS,
    SILVER,
    SILVER_REJECTED,
    gold_asset_keys,
)

TRIGGER = "fastcart_forget"
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass
class ForgetOutcome:
    """What `forget_customer` did, for the report (no personal data)."""

    request_id: str
    findings: Findings | None = None
    changed: dict[str, int] = field(default_factory=dict)  # rows blanked or deleted per table
    stages: list[StageResult] = field(default_factory=list)  # Silver and Gold runs
    gold_ranges: dict[str, list[tuple[date, date]]] = field(default_factory=dict)
    purged: list[Purged] = field(default_factory=list)
    scratch_removed: int = 0
    errors: list[str] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return not self.errors and all(s.success for s in self.stages)


def _failure(result: dg.ExecuteInProcessResult, what: str) -> str:
    for event in result.get_step_failure_events():
        data = event.step_failure_data
        if data.user_failure_data and data.user_failure_data.description:
            return f"{what}: {data.user_failure_data.description}"
        if data.error is not None:
            return f"{what}: {data.error.message.strip().splitlines()[-1]}"
    return f"{what} failed"


def _run(
    job: dg.JobDefinition,
    instance: dg.DagsterInstance,
    resources: dict,
    request: ForgetRequest,
    on_wait: Callable[[str], None] | None,
) -> dg.ExecuteInProcessResult:
    runs.wait_for_pools(instance, pools(job), on_wait=on_wait)
    return job.execute_in_process(
        instance=instance,
        resources={**resources, "request": request},
        tags={**runs.process_tags(), REQUEST_TAG: request.request_id},
        run_config=QUIET,
        raise_on_error=False,
    )


def _changed(result: dg.ExecuteInProcessResult) -> dict[str, int]:
    """Rows each table of the erasure run blanked or deleted."""
    changed = {
        BRONZE.path: sum(result.output_for_node("forget_bronze").values()),
        BRONZE_CDC.path: sum(result.output_for_node("forget_cdc_bronze").values()),
        **result.output_for_node("forget_silver_orphans"),
        **result.output_for_node("forget_cdc_silver"),
    }
    for info in NAMED_GOLD:
        changed[info.path] = result.output_for_node(f"forget_{info.view}")
    return changed


def gold_dates(
    findings: Findings, group: str, silver_expired: date | None, today: date
) -> list[date]:
    """The dates of Gold group `group` to recompute: those the customer's rows fed, and for
    the customer snapshots the snapshots naming them too (the plan then runs from the earliest
    through today), within FIRST_DATE..today and where Silver's retention still keeps the
    input."""
    first = max(FIRST_DATE, silver_expired or FIRST_DATE)
    days = list(findings.gold_dates)
    if group == CUSTOMER_ANALYTICS:
        days += findings.snapshot_dates
    return planner.usable_dates(days, first, today)


def _silver_stages(defs, instance, findings, request, outcome, on_stage, on_wait) -> None:
    """The Silver asset on every Bronze partition holding an erased record."""
    tags = {progress.LAYER_TAG: "silver", progress.TRIGGER_TAG: TRIGGER, REQUEST_TAG: request}
    keys = [SILVER.asset_key, SILVER_REJECTED.asset_key, RULE_METRICS.asset_key]
    days = planner.usable_dates(findings.silver_dates, FIRST_DATE, today_utc())
    for first, last in planner.contiguous_ranges(days, 0):
        stage = execute(defs, instance, "silver", keys, first, last, tags, None, on_wait)
        outcome.stages.append(stage)
        if on_stage:
            on_stage(stage)


def _gold_stages(defs, instance, findings, request, outcome, on_stage, on_wait) -> None:
    """The Gold assets on the dates the customer fed, as the planner ranges them."""
    lake: LakeResource = defs.resources["lake"]
    written = {info.path.split("/")[1] for info in GOLD if _exists(lake, info.path)}
    expired = retention_applied(lake.table_path(SILVER.path))
    for group in progress.GOLD_GROUPS:
        if group not in written:
            continue  # no Gold table of the group yet: nothing there names the customer
        days = gold_dates(findings, group, expired, today_utc())
        plan = planner.gold_plan(group, planner.Touched(tuple(days), None), today_utc())
        outcome.gold_ranges[group] = list(plan.ranges)
        for first, last in plan.ranges:
            # No plan part in the tags: the planner's progress stays where it was.
            run = planner.GoldRun((group,), first, last, plan_parts=())
            tags = {**progress.gold_run_tags(run, TRIGGER), REQUEST_TAG: request}
            keys = gold_asset_keys(group)
            stage = execute(defs, instance, f"gold {group}", keys, first, last, tags, None, on_wait)
            outcome.stages.append(stage)
            if on_stage:
                on_stage(stage)


def _exists(lake: LakeResource, path: str) -> bool:
    return table_exists(lake.table_path(path))


def forget_customer(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    customer_id: str,
    on_stage: Callable[[StageResult], None] | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> ForgetOutcome:
    """Erase `customer_id` from every layer (see the module docstring)."""
    request = ForgetRequest(customer_id, uuid.uuid4().hex[:12])
    outcome = ForgetOutcome(request.request_id)
    resources = {key: defs.resources[key] for key in ("spark", "lake")}
    erased = _run(forget_job, instance, resources, request, on_wait)
    outcome.run_ids.append(erased.run_id)
    if not erased.success:
        outcome.errors.append(_failure(erased, "the erasure"))
        return outcome
    findings = outcome.findings = erased.output_for_node("forget_find")
    if findings.nothing:
        return outcome
    outcome.changed = _changed(erased)
    _silver_stages(defs, instance, findings, request.request_id, outcome, on_stage, on_wait)
    if outcome.success:
        _gold_stages(defs, instance, findings, request.request_id, outcome, on_stage, on_wait)
    checked = dataclasses.replace(request, findings=findings)
    purged = _run(forget_purge_job, instance, resources, checked, on_wait)
    outcome.run_ids.append(purged.run_id)
    if not purged.success:
        outcome.errors.append(_failure(purged, "the purge"))
    outcome.purged = purge_results(purged)
    if purged.is_node_success("forget_clean_scratch"):
        outcome.scratch_removed = len(purged.output_for_node("forget_clean_scratch"))
    return outcome
