"""The pipeline's progress as the Dagster instance records it, read into the planner's inputs.

`fastcart run` and the sensors share this one notion of progress: Bronze and Silver
materializations per partition, and for each Gold group the highest Silver materialization its
successful runs accounted for (the run tag `fastcart/silver_through`, set by both). So after a
catch-up the sensors find nothing left to do, and the other way round.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import dagster as dg

from fastcart_assets import planner
from fastcart_assets.tables import (
    BRONZE,
    BRONZE_CDC,
    CUSTOMER_ANALYTICS,
    ORDERS_CURRENT,
    ORDERS_HISTORY,
    SALES_PERFORMANCE,
    SILVER,
)

# Metadata the Silver asset records on each partition's materialization: the dates its rows
# touched (JSON list of ISO dates) and the checks at ERROR on it (JSON list of names).
TOUCHED_DATES = "touched_dates"
DQ_ERRORS = "dq_errors"

# Run tags.
LAYER_TAG = "fastcart/layer"
# Per Gold group a run computes: "<silver storage id its plan covers>:<part>/<parts>".
GOLD_PLAN_TAG = "fastcart/gold_plan.{group}"
TRIGGER_TAG = "fastcart/trigger"
# Dagster's own tags for a run over a partition range (public names, see RunRequest).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"

GOLD_GROUPS = (SALES_PERFORMANCE, CUSTOMER_ANALYTICS)
_PAGE = 500


def latest_by_partition(instance: dg.DagsterInstance, key: dg.AssetKey) -> dict[date, int]:
    """Per partition date, the storage id of the asset's latest materialization."""
    latest = instance.event_log_storage.get_latest_storage_id_by_partition(
        key, dg.DagsterEventType.ASSET_MATERIALIZATION
    )
    return {date.fromisoformat(partition): storage_id for partition, storage_id in latest.items()}


def silver_partitions_to_process(instance: dg.DagsterInstance) -> list[date]:
    """Bronze partitions materialized since Silver last processed them."""
    return planner.silver_partitions_to_process(
        latest_by_partition(instance, BRONZE.asset_key),
        latest_by_partition(instance, SILVER.asset_key),
    )


def cdc_partitions_to_process(instance: dg.DagsterInstance) -> list[date]:
    """Bronze CDC partitions materialized since Silver CDC last processed them: a partition
    counts as processed once both of its tables recorded it (one step writes both)."""
    current = latest_by_partition(instance, ORDERS_CURRENT.asset_key)
    history = latest_by_partition(instance, ORDERS_HISTORY.asset_key)
    processed = {day: min(stored, current.get(day, -1)) for day, stored in history.items()}
    return planner.silver_partitions_to_process(
        latest_by_partition(instance, BRONZE_CDC.asset_key), processed
    )


def _plan_tag(run: dg.DagsterRun, group: str) -> tuple[int, str] | None:
    """(Silver storage id covered, "part/parts") of `group`'s plan that `run` carries out."""
    value = run.tags.get(GOLD_PLAN_TAG.format(group=group))
    if not value:
        return None
    through, _, part = value.partition(":")
    return int(through), part


def _gold_runs(instance: dg.DagsterInstance, statuses) -> list[dg.DagsterRun]:
    return instance.get_runs(
        filters=dg.RunsFilter(tags={LAYER_TAG: "gold"}, statuses=statuses), limit=200
    )


def gold_progress(instance: dg.DagsterInstance, group: str) -> int | None:
    """The highest Silver storage id accounted for by a plan of `group` whose runs all
    succeeded."""
    parts: dict[int, set[str]] = {}
    for run in _gold_runs(instance, [dg.DagsterRunStatus.SUCCESS]):
        if tagged := _plan_tag(run, group):
            parts.setdefault(tagged[0], set()).add(tagged[1])
    complete = [
        through for through, done in parts.items() if len(done) == int(min(done).split("/")[1])
    ]
    return max(complete, default=None)


def gold_in_progress(instance: dg.DagsterInstance, group: str) -> bool:
    """True while a run of `group` is queued or going (its plan is being carried out)."""
    active = [
        dg.DagsterRunStatus.QUEUED,
        dg.DagsterRunStatus.NOT_STARTED,
        dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.STARTED,
    ]
    return any(_plan_tag(run, group) for run in _gold_runs(instance, active))


class _RunStatus:
    """Run outcomes, each looked up once."""

    def __init__(self, instance: dg.DagsterInstance):
        self.instance = instance
        self.cache: dict[str, bool | None] = {}

    def succeeded(self, run_id: str) -> bool | None:
        if not run_id:
            return True  # a runless event reported by hand
        if run_id not in self.cache:
            run = self.instance.get_run_by_id(run_id)
            if run is None:
                self.cache[run_id] = False
            elif not run.is_finished:
                return None  # not cached: it will finish
            else:
                self.cache[run_id] = run.status == dg.DagsterRunStatus.SUCCESS
        return self.cache[run_id]


def _record(entry: dg.EventLogRecord, status: _RunStatus) -> planner.SilverRecord:
    metadata = entry.asset_materialization.metadata
    touched = metadata.get(TOUCHED_DATES)
    errors = metadata.get(DQ_ERRORS)
    return planner.SilverRecord(
        storage_id=entry.storage_id,
        partition=date.fromisoformat(entry.partition_key),
        touched=tuple(date.fromisoformat(d) for d in (touched.value if touched else [])),
        dq_errors=tuple(errors.value if errors else []),
        run_succeeded=status.succeeded(entry.run_id),
    )


def silver_records(
    instance: dg.DagsterInstance, after: int | None, status: _RunStatus
) -> list[planner.SilverRecord]:
    """Silver materializations after storage id `after`, oldest first."""
    records, cursor = [], None
    while True:
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=SILVER.asset_key, after_storage_id=after),
            limit=_PAGE,
            cursor=cursor,
            ascending=True,
        )
        records += [_record(entry, status) for entry in page.records if entry.partition_key]
        if not page.has_more:
            return records
        cursor = page.cursor


def earlier_blocked(
    instance: dg.DagsterInstance, partitions: Iterable[date], before: int, status: _RunStatus
) -> dict[date, list[planner.SilverRecord]]:
    """Per partition, its blocked materializations before `before`, back to its last clean one."""
    held: dict[date, list[planner.SilverRecord]] = {}
    for partition in sorted(set(partitions)):
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=SILVER.asset_key,
                asset_partitions=[partition.isoformat()],
                before_storage_id=before,
            ),
            limit=_PAGE,
        )
        for entry in page.records:  # newest first
            record = _record(entry, status)
            if record.clean:
                break
            held.setdefault(partition, []).insert(0, record)
    return held


def gold_plans(
    instance: dg.DagsterInstance, first_date: date, today: date, not_before: date | None = None
) -> list[planner.GoldPlan]:
    """For each Gold group, the partition ranges Silver's new materializations call for; dates
    before `not_before` (Silver's retention has deleted their input) are never recomputed."""
    status = _RunStatus(instance)
    first_date = max(first_date, not_before or first_date)
    plans = []
    for group in GOLD_GROUPS:
        after = gold_progress(instance, group)
        records = silver_records(instance, after, status)
        first_new = records[0].storage_id if records else 0
        blocked = earlier_blocked(instance, [r.partition for r in records], first_new, status)
        touched = planner.touched_since(records, blocked, first_date, today)
        plans.append(planner.gold_plan(group, touched, today))
    return plans


def gold_run_tags(run: planner.GoldRun, trigger: str) -> dict[str, str]:
    """Tags of a Gold run: the plans it carries out (per group), its trigger, its range."""
    tags = {LAYER_TAG: "gold", TRIGGER_TAG: trigger}
    for group, through, part, parts in run.plan_parts:
        tags[GOLD_PLAN_TAG.format(group=group)] = f"{through}:{part}/{parts}"
    if run.first != run.last:
        tags |= {RANGE_START_TAG: run.first.isoformat(), RANGE_END_TAG: run.last.isoformat()}
    return tags
