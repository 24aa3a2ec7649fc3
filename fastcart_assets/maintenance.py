"""Table maintenance through delta-rs (Sail has no OPTIMIZE, VACUUM or DESCRIBE HISTORY).

Retention (SPEC.md §9): Bronze keeps 90 days of ingestion dates, Silver and its rejected table
365 days, Gold everything. Compaction rewrites small files toward 128 MB; vacuum removes files
no longer referenced by versions younger than 7 days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import pyarrow.compute as pc
from deltalake import DeltaTable

from fastcart_assets.delta import table_exists
from fastcart_assets.settings import Settings
from fastcart_assets.tables import TABLES

TARGET_FILE_BYTES = 128 * 1024 * 1024
VACUUM_RETENTION_HOURS = 7 * 24


@dataclass
class TablePlan:
    """What maintenance does (or would do) to one table."""

    table: str
    expired_rows: int = 0
    cutoff: date | None = None
    files_before: int = 0
    files_after: int | None = None
    vacuumed_files: list[str] = field(default_factory=list)


def _expired_rows(table: DeltaTable, column: str, cutoff: date) -> int:
    dataset = table.to_pyarrow_dataset()
    return dataset.count_rows(filter=pc.field(column) < pc.scalar(cutoff))


def maintain(settings: Settings, today: date, dry_run: bool = True) -> list[TablePlan]:
    """Retention, compaction and vacuum of every existing table; nothing changes on dry run."""
    plans = []
    for info in TABLES:
        path = settings.table_path(info.path)
        if not table_exists(path):
            continue
        table = DeltaTable(path)
        plan = TablePlan(info.path, files_before=len(table.file_uris()))
        if info.retention_days is not None:
            column = info.date_column
            plan.cutoff = today - timedelta(days=info.retention_days)
            plan.expired_rows = _expired_rows(table, column, plan.cutoff)
            if plan.expired_rows and not dry_run:
                table.delete(f"{column} < '{plan.cutoff.isoformat()}'")
        if not dry_run:
            table.optimize.compact(target_size=TARGET_FILE_BYTES)
            table = DeltaTable(path)
            plan.files_after = len(table.file_uris())
        plan.vacuumed_files = table.vacuum(
            retention_hours=VACUUM_RETENTION_HOURS,
            dry_run=dry_run,
            enforce_retention_duration=True,
        )
        plans.append(plan)
    return plans


def history(settings: Settings, table: str, limit: int = 20) -> list[dict]:
    """The newest commits of a table: version, time, operation and its metrics."""
    return DeltaTable(settings.table_path(table)).history(limit)
