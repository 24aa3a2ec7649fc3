"""Look for a customer's strings in every file under a lake root (test helper)."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import pyarrow.parquet as pq


def strings(value) -> list[str]:
    """Every string (and decoded bytes) inside a value read from Parquet."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, bytes):
        return [value.decode("utf-8", "replace")]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in strings(v)]
    return []


def traces(root: Path, secrets: Collection[str], exact: Collection[str] = ()) -> list[str]:
    """Where under `root` a secret is found: every column of every Parquet file (data files
    of any version, checkpoints; compressed, so read with pyarrow) holding a value that
    contains one of `secrets` or equals one of `exact`, and every other file whose bytes
    contain one of `secrets` (commit logs, checksums, lock files)."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            for column in table.column_names:
                for value in table.column(column).to_pylist():
                    if any(t in exact or any(s in t for s in secrets) for t in strings(value)):
                        found.append(f"{path.relative_to(root)}:{column}")
                        break
        elif any(s.encode() in path.read_bytes() for s in secrets):
            found.append(str(path.relative_to(root)))
    return sorted(set(found))
