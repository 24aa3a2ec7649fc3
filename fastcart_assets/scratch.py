"""Scratch Parquet for intermediate frames that several Spark actions read.

Spark Connect plans are lazy: a frame used by four writes is computed four times. Writing it
once and reading it back makes the expensive part (JSON parsing, whole-table reductions) run
once per step, and keeps plans shallow (Sail cannot plan a window over a window).

Scratch frames may hold personal data: each step removes its own directory, on a local lake or
an object store, and maintenance removes what a killed step left (`maintenance.clean_scratch`).
"""

from __future__ import annotations

import os
import posixpath
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pyarrow.fs as pafs
from pyspark.sql import DataFrame

SCRATCH_DIR = "_scratch"


def filesystem_of(location: str) -> tuple[pafs.FileSystem, str]:
    """The Arrow filesystem of a path or URI (s3://, file://, …) and the path within it; a
    relative path (the default lake root `./lakehouse`) is taken from the working directory."""
    if "://" in location:
        return pafs.FileSystem.from_uri(location)
    return pafs.LocalFileSystem(), os.path.abspath(location)  # any characters, spaces too


def remove_tree(location: str) -> None:
    """Delete a directory and everything under it; nothing happens if it does not exist."""
    filesystem, path = filesystem_of(location)
    with suppress(FileNotFoundError):
        filesystem.delete_dir(path)


@contextmanager
def scratch_dir(root: str, name: str) -> Iterator[str]:
    """A fresh directory `<root>/_scratch/<name>-<id>`, removed afterwards."""
    path = posixpath.join(root.rstrip("/"), SCRATCH_DIR, f"{name}-{uuid.uuid4().hex[:12]}")
    try:
        yield path
    finally:
        remove_tree(path)


def stored(frame: DataFrame, path: str) -> DataFrame:
    """Write `frame` to Parquet once and read it back (its schema kept even when empty)."""
    schema = frame.schema
    frame.write.mode("overwrite").parquet(path)
    return frame.sparkSession.read.schema(schema).parquet(path)
