"""Delta Lake helpers that need no Spark: existence, history and maintenance via delta-rs."""

from __future__ import annotations

from deltalake import DeltaTable


def table_exists(path: str) -> bool:
    """True when a Delta table (a `_delta_log`) exists at `path`."""
    return DeltaTable.is_deltatable(path)
