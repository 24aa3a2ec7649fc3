"""The maintenance job and its daily schedule (retention, compaction, vacuum)."""

from datetime import UTC, datetime

import dagster as dg

from fastcart_assets.maintenance import maintain
from fastcart_assets.resources.lake import LakeResource
from fastcart_assets.settings import Settings


@dg.op(description="Retention, compaction and vacuum of every table, through delta-rs.")
def maintain_tables(context: dg.OpExecutionContext, lake: LakeResource) -> None:
    """Apply SPEC.md §9's upkeep to every existing table and report what changed."""
    plans = maintain(Settings(lake_root=lake.root), datetime.now(UTC).date(), dry_run=False)
    for plan in plans:
        context.log.info(
            "%s: %d expired rows deleted, %d -> %s files, %d files vacuumed",
            plan.table,
            plan.expired_rows,
            plan.files_before,
            plan.files_after,
            len(plan.vacuumed_files),
        )


@dg.job(tags={"fastcart/layer": "maintenance"})
def maintenance_job() -> None:
    """Table upkeep; never runs alongside writers of the same tables (pools)."""
    maintain_tables()


maintenance_schedule = dg.ScheduleDefinition(
    job=maintenance_job,
    cron_schedule="30 3 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily table maintenance at 03:30 UTC.",
)
