"""Table maintenance through delta-rs (Sail has no OPTIMIZE, VACUUM or DESCRIBE HISTORY).

Retention (docs/SPEC.md §9): Bronze keeps 90 days of ingestion dates, Silver and its rejected
table 365 days, Gold everything. Compaction rewrites small files toward 128 MB; vacuum removes
files no longer referenced by versions younger than 7 days. Each table is maintained while
holding its writer lock (and, in the maintenance job, its pool), so maintenance never races a
layer's writer. Scratch directories that killed runs left behind are removed on any lake.
"""

from __future__ import annotations

import posixpath
import time
from dataclasses import dataclass, field
from datetime import date

import pyarrow.compute as pc
import pyarrow.fs as pafs
from deltalake import DeltaTable

from fastcart_assets.delta import record_retention, table_exists
from fastcart_assets.locks import WRITER_WAIT_S, table_lock
from fastcart_assets.scratch import SCRATCH_DIR, filesystem_of
from fastcart_assets.settings import Settings
from fastcart_assets.tables import TABLES, TableInfo, retention_cutoff

TARGET_FILE_BYTES = 128 * 1024 * 1024
VACUUM_RETENTION_HOURS = 7 * 24
# Scratch directories older than this belong to no running step (a step lasts minutes).
SCRATCH_MAX_AGE_S = 6 * 3600


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


def maintain_table(
    settings: Settings, info: TableInfo, today: date, dry_run: bool = True
) -> TablePlan | None:
    """Retention, compaction and vacuum of one table (None when it does not exist yet)."""
    path = settings.table_path(info.path)
    if not table_exists(path):
        return None
    if dry_run:
        return _plan(DeltaTable(path), info, today, dry_run=True)
    with table_lock(path, wait_s=WRITER_WAIT_S):
        return _plan(DeltaTable(path), info, today, dry_run=False)


def _plan(table: DeltaTable, info: TableInfo, today: date, dry_run: bool) -> TablePlan:
    plan = TablePlan(info.path, files_before=len(table.file_uris()))
    plan.cutoff = retention_cutoff(info, today)
    if plan.cutoff is not None:
        plan.expired_rows = _expired_rows(table, info.date_column, plan.cutoff)
        if not dry_run:
            if plan.expired_rows:
                # The predicate holds a computed date, never a value read from the data.
                table.delete(f"{info.date_column} < '{plan.cutoff.isoformat()}'")
            record_retention(table, plan.cutoff)  # recomputes from this table now refuse
    if not dry_run:
        table.optimize.compact(target_size=TARGET_FILE_BYTES)
        table.update_incremental()
        plan.files_after = len(table.file_uris())
    plan.vacuumed_files = table.vacuum(
        retention_hours=VACUUM_RETENTION_HOURS, dry_run=dry_run, enforce_retention_duration=True
    )
    return plan


def maintain(settings: Settings, today: date, dry_run: bool = True) -> list[TablePlan]:
    """`maintain_table` for every existing table; nothing changes on a dry run."""
    plans = [maintain_table(settings, info, today, dry_run) for info in TABLES]
    return [plan for plan in plans if plan is not None]


def scratch_roots(settings: Settings) -> list[str]:
    """Where steps keep scratch frames: under the lake root and under each layer."""
    layers = sorted({info.layer for info in TABLES})
    return [posixpath.join(settings.lake_uri, SCRATCH_DIR)] + [
        posixpath.join(settings.lake_uri, layer, SCRATCH_DIR) for layer in layers
    ]


def clean_scratch(settings: Settings, dry_run: bool = True, now: float | None = None) -> list[str]:
    """Scratch directories older than SCRATCH_MAX_AGE_S, removed unless `dry_run`, on any lake
    (local or object store): a run killed mid-step leaves its frames, which may hold personal
    data."""
    limit = (now or time.time()) - SCRATCH_MAX_AGE_S
    stale = []
    for root in scratch_roots(settings):
        filesystem, base = filesystem_of(root)
        entries = filesystem.get_file_info(pafs.FileSelector(base, allow_not_found=True))
        for entry in entries:
            if entry.type == pafs.FileType.Directory and (
                entry.mtime is None or entry.mtime.timestamp() < limit
            ):
                stale.append(entry.path)
                if not dry_run:
                    filesystem.delete_dir(entry.path)
    return stale


def history(settings: Settings, table: str, limit: int = 20) -> list[dict]:
    """The newest commits of a table: version, time, operation and its metrics."""
    return DeltaTable(settings.table_path(table)).history(limit)
