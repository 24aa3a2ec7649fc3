"""Compare the Gold tables of two lakes row for row (delta-rs; no Spark engine needed)."""

from __future__ import annotations

from collections import Counter

from deltalake import DeltaTable

from fastcart_assets.delta import table_exists
from fastcart_assets.settings import Settings
from fastcart_assets.tables import GOLD

Snapshot = dict[str, Counter]


def table_rows(path: str) -> Counter:
    """The rows of a Delta table as a multiset of tuples, columns in name order."""
    table = DeltaTable(path).to_pyarrow_table()
    names = sorted(table.column_names)
    return Counter(tuple(row[name] for name in names) for row in table.to_pylist())


def gold_snapshot(settings: Settings) -> Snapshot:
    """Every Gold table of the lake that exists, as row multisets."""
    return {
        table: table_rows(settings.table_path(table))
        for table in (t.path for t in GOLD)
        if table_exists(settings.table_path(table))
    }


def snapshot_differences(left: Snapshot, right: Snapshot) -> dict[str, tuple[int, int]]:
    """Per differing table: (rows only in `left`, rows only in `right`); empty when equal."""
    differences = {}
    for table in sorted(set(left) | set(right)):
        a, b = left.get(table, Counter()), right.get(table, Counter())
        if a != b:
            differences[table] = (sum((a - b).values()), sum((b - a).values()))
    return differences
