"""Read the lake with delta-rs and Arrow (no Spark): tables, row counts and file statistics,
cached per table version so that a refresh every few seconds costs only a log check."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable

from fastcart_assets.gold import registry
from fastcart_assets.settings import Settings
from fastcart_assets.tables import TABLES

# Written by the data-quality checks (SPEC.md §8); may not exist yet in a given lake.
RULE_METRICS_TABLE = "quality/rule_metrics"

Filters = Sequence[tuple[str, str, Any]]


class LakeReader:
    """Reads the tables under one lake root; each result is cached until its table changes.

    One reader serves every browser session of a dashboard (and every scrape of the metrics
    endpoint), so access is serialized by a lock: reads of Gold partitions take milliseconds.
    """

    def __init__(
        self, settings: Settings, cache_entries: int = 512, recheck_s: float = 1.0
    ) -> None:
        self.settings = settings
        self.recheck_s = recheck_s
        self._tables: dict[str, DeltaTable] = {}
        self._checked: dict[str, float] = {}
        self._cache: OrderedDict[tuple, Any] = OrderedDict()
        self._cache_entries = cache_entries
        self._lock = threading.RLock()

    def path(self, table: str) -> str:
        """Location of `table` (a path of the table catalog, or `quality/rule_metrics`)."""
        if table in {t.path for t in TABLES}:
            return self.settings.table_path(table)
        if table == RULE_METRICS_TABLE:
            return f"{self.settings.lake_uri}/{table}"
        raise ValueError(f"unknown table {table!r}")

    def table(self, table: str) -> DeltaTable | None:
        """`table` at its latest version (as of at most `recheck_s` ago), or None while it has
        not been written. One page draw asks many times; the log is listed once a second."""
        with self._lock:
            now = time.monotonic()
            handle = self._tables.get(table)
            if handle is not None and now - self._checked[table] < self.recheck_s:
                return handle
            if handle is not None:
                try:
                    handle.update_incremental()
                    self._checked[table] = now
                    return handle
                except Exception:  # removed or rewritten under us: open it afresh
                    del self._tables[table]
            path = self.path(table)
            if not DeltaTable.is_deltatable(path):
                return None
            self._tables[table], self._checked[table] = DeltaTable(path), now
            return self._tables[table]

    def version(self, table: str) -> int | None:
        handle = self.table(table)
        return None if handle is None else handle.version()

    def memo(self, name: str, tables: Sequence[str], compute: Callable[[], Any]) -> Any:
        """`compute()`, cached until one of `tables` gets a new version (or appears)."""
        key = (name, *[(t, self.version(t)) for t in tables])
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            value = compute()
            self._cache[key] = value
            while len(self._cache) > self._cache_entries:
                self._cache.popitem(last=False)
            return value

    def read(
        self, table: str, columns: Sequence[str] | None = None, filters: Filters | None = None
    ) -> pd.DataFrame | None:
        """Rows of `table` (optionally some columns, DNF `filters` on any column) or None."""

        def load() -> pd.DataFrame | None:
            handle = self.table(table)
            if handle is None:
                return None
            names = list(columns) if columns is not None else None
            arrow = handle.to_pyarrow_table(columns=names, filters=list(filters or ()) or None)
            return arrow.to_pandas()

        key = f"read:{table}:{tuple(columns or ())}:{tuple(filters or ())}"
        return self.memo(key, [table], load)

    def arrow(
        self, table: str, columns: Sequence[str], filters: Filters | None = None
    ) -> pa.Table | None:
        """Like `read`, as Arrow and uncached (for reads that feed a cached computation)."""
        handle = self.table(table)
        if handle is None:
            return None
        return handle.to_pyarrow_table(columns=list(columns), filters=list(filters or ()) or None)

    def _add_actions(self, table: str) -> pa.Table | None:
        handle = self.table(table)
        return None if handle is None else pa.table(handle.get_add_actions(flatten=True))

    def rows(self, table: str) -> int | None:
        """Rows of `table` from its file statistics (a scan when a file has none)."""

        def count() -> int | None:
            actions = self._add_actions(table)
            if actions is None:
                return None
            records = actions["num_records"]
            if records.null_count:
                return self.table(table).to_pyarrow_dataset().count_rows()
            return int(pc.sum(records).as_py() or 0)

        return self.memo("rows", [table], count)

    def rows_by_partition(self, table: str, column: str) -> dict[date, int]:
        """Rows per value of the partition column `column`, from the file statistics."""

        def count() -> dict[date, int]:
            actions = self._add_actions(table)
            if actions is None:
                return {}
            field = f"partition.{column}"
            if actions["num_records"].null_count:
                dataset = self.table(table).to_pyarrow_dataset()
                grouped = (
                    dataset.to_table(columns=[column])
                    .group_by(column)
                    .aggregate([([], "count_all")])
                )
                return dict(
                    zip(grouped[column].to_pylist(), grouped["count_all"].to_pylist(), strict=True)
                )
            grouped = actions.group_by(field).aggregate([("num_records", "sum")])
            return dict(
                zip(grouped[field].to_pylist(), grouped["num_records_sum"].to_pylist(), strict=True)
            )

        return self.memo(f"rows_by:{column}", [table], count)

    def partition_values(self, table: str, column: str) -> list[date]:
        """Sorted values of a date partition column that hold at least one row."""
        return sorted(day for day, rows in self.rows_by_partition(table, column).items() if rows)

    def column_max(self, table: str, column: str) -> datetime | None:
        """Largest value of `column`, from the file statistics (a scan when they lack it)."""

        def largest():
            actions = self._add_actions(table)
            if actions is None or actions.num_rows == 0:
                return None
            field = f"max.{column}"
            if field in actions.column_names and not actions[field].null_count:
                return pc.max(actions[field]).as_py()
            values = self.table(table).to_pyarrow_dataset().to_table(columns=[column])
            return pc.max(values[column]).as_py()

        return self.memo(f"max:{column}", [table], largest)


def gold_rows(lake: LakeReader, name: str, day: date | None = None) -> pd.DataFrame:
    """Rows of the Gold table `name` (of one partition when `day` is given); empty when none."""
    table = registry.gold_table(name)
    filters = [(table.partition_column, "=", day)] if day is not None else None
    frame = lake.read(table.path, filters=filters)
    if frame is None:
        return pd.DataFrame(columns=table.schema.fieldNames())
    return frame


def latest_day(days: list[date], today: date) -> date | None:
    """The latest of `days` that is not after `today` (else the earliest one), None if empty."""
    past = [d for d in days if d <= today]
    if past:
        return max(past)
    return min(days) if days else None
