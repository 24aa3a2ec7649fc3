"""Physically remove what held an erased customer's data: old data files and old log entries.

A Delta rewrite leaves the previous files on storage for time travel, and every commit's `add`
action carries column statistics (min/max values of the file, an email or a whole `_raw` among
them). So after `fastcart forget` rewrote a table, `purge_table`:

1. vacuums it with a retention of 0 hours (delta-rs, `enforce_retention_duration=False`,
   `full=True`): every file the current version does not reference is deleted;
2. writes a checkpoint of the current version, then deletes every log entry before it (delta-rs
   `cleanup_metadata` with `delta.logRetentionDuration` lowered for the call, then restored).

Time travel to any version before the erasure is gone for the table; `fastcart history` starts
at the checkpoint. The table's writer lock is held throughout (the caller holds its pool), so no
writer's files are taken for unreferenced; a reader that planned on an older version may fail
and must re-read.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow.fs as pafs
from deltalake import DeltaTable

from fastcart_assets.delta import table_exists
from fastcart_assets.locks import WRITER_WAIT_S, table_lock
from fastcart_assets.scratch import filesystem_of

LOG_RETENTION = "delta.logRetentionDuration"
DEFAULT_LOG_RETENTION = "interval 30 days"  # Delta's default


@dataclass(frozen=True)
class Purged:
    """What `purge_table` removed from one table."""

    table: str
    files: int  # data files deleted
    log_entries: int  # commit and checkpoint files deleted from `_delta_log`


def _log_files(path: str) -> set[str]:
    filesystem, base = filesystem_of(f"{path.rstrip('/')}/_delta_log")
    entries = filesystem.get_file_info(pafs.FileSelector(base, allow_not_found=True))
    return {e.path for e in entries if e.type == pafs.FileType.File}


def purge_table(path: str, name: str) -> Purged | None:
    """Vacuum the table at `path` to its current version and drop its older log entries
    (see the module docstring); None when there is no table."""
    if not table_exists(path):
        return None
    with table_lock(path, wait_s=WRITER_WAIT_S):
        table = DeltaTable(path)
        removed = table.vacuum(
            retention_hours=0, dry_run=False, enforce_retention_duration=False, full=True
        )
        before = _log_files(path)
        table = DeltaTable(path)
        table.create_checkpoint()
        previous = table.metadata().configuration.get(LOG_RETENTION)
        table.alter.set_table_properties(
            {LOG_RETENTION: "interval 0 seconds"}, raise_if_not_exists=False
        )
        try:
            DeltaTable(path).cleanup_metadata()
        finally:
            DeltaTable(path).alter.set_table_properties(
                {LOG_RETENTION: previous or DEFAULT_LOG_RETENTION}, raise_if_not_exists=False
            )
        gone = before - _log_files(path)
    return Purged(name, len(removed), len(gone))
