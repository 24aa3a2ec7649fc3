"""Scratch Parquet for intermediate frames that several Spark actions read.

Spark Connect plans are lazy: a frame used by four writes is computed four times. Writing it
once and reading it back makes the expensive part (JSON parsing, whole-table reductions) run
once per step, and keeps plans shallow (Sail cannot plan a window over a window).
"""

from __future__ import annotations

import posixpath
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from pyspark.sql import DataFrame


@contextmanager
def scratch_dir(root: str, name: str) -> Iterator[str]:
    """A fresh directory `<root>/_scratch/<name>-<id>`, removed afterwards (local paths)."""
    path = posixpath.join(root.rstrip("/"), "_scratch", f"{name}-{uuid.uuid4().hex[:12]}")
    try:
        yield path
    finally:
        if "://" not in path:
            shutil.rmtree(path, ignore_errors=True)


def stored(frame: DataFrame, path: str) -> DataFrame:
    """Write `frame` to Parquet once and read it back (its schema kept even when empty)."""
    schema = frame.schema
    frame.write.mode("overwrite").parquet(path)
    return frame.sparkSession.read.schema(schema).parquet(path)
