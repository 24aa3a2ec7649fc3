"""The maintenance job and its daily schedule: retention, compaction and vacuum of each table,
each step holding the table's pool (so it never runs beside the table's writer), then the
removal of scratch left by killed runs."""

from datetime import UTC, datetime

import dagster as dg

from fastcart_assets.maintenance import TablePlan, clean_scratch, maintain_table
from fastcart_assets.resources.lake import LakeResource
from fastcart_assets.settings import Settings
from fastcart_assets.tables import TABLES, TableInfo


def _maintain_op(info: TableInfo) -> dg.OpDefinition:
    @dg.op(
        name=f"maintain_{info.view}",
        pool=info.pool,
        description=f"Retention, compaction and vacuum of {info.path} (delta-rs).",
    )
    def maintain_one(context: dg.OpExecutionContext, lake: LakeResource) -> TablePlan | None:
        plan = maintain_table(Settings(lake_root=lake.root), info, datetime.now(UTC).date(), False)
        context.log.info(describe(plan, dry_run=False) if plan else f"{info.path}: not written yet")
        return plan

    return maintain_one


@dg.op(description="Removes scratch directories left by killed runs, on any lake.", ins={})
def clean_scratch_op(context: dg.OpExecutionContext, lake: LakeResource) -> None:
    removed = clean_scratch(Settings(lake_root=lake.root), dry_run=False)
    context.log.info("removed %d stale scratch directories", len(removed))


def describe(plan: TablePlan, dry_run: bool) -> str:
    """One line saying what maintenance did (or would do) to a table."""
    retention = (
        f"{plan.expired_rows:,} rows older than {plan.cutoff}"
        if plan.cutoff
        else "kept indefinitely"
    )
    files = (
        f"{plan.files_before} files"
        if plan.files_after is None
        else f"{plan.files_before} -> {plan.files_after} files"
    )
    verb = "would" if dry_run else "did"
    return (
        f"{plan.table:<48} retention: {retention}; {files}; "
        f"vacuum {verb} remove {len(plan.vacuumed_files)} files"
    )


@dg.job(tags={"fastcart/layer": "maintenance"})
def maintenance_job() -> None:
    """Table upkeep; each step holds its table's pool, so it never runs beside that table's
    writer."""
    for info in TABLES:
        _maintain_op(info)()
    clean_scratch_op()


maintenance_schedule = dg.ScheduleDefinition(
    job=maintenance_job,
    cron_schedule="30 3 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily table maintenance at 03:30 UTC.",
)
