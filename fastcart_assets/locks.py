"""A writer lock per table, so two runs never append to the same table at once.

Dagster pools serialize runs launched through the run queue, but not two `fastcart run`
processes or in-process executions. For a local lake (a path or a `file://` URI) the lock is an
OS file lock next to the table, released by the kernel if the process dies. Object-store lakes
(s3://, hdfs://, …) have no such lock: they are written only by Dagster runs, one per table at a
time through the table's one-slot pool, and commands that would write them outside a run
(`fastcart sql --allow-write`) refuse.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastcart_assets.errors import FastcartError

# How long a Silver or Gold write waits for another run writing the same table: their writes
# must not interleave (Sail does not detect conflicting Delta commits), but unlike a second
# Bronze ingestion (refused at once) the later run still has work to do.
WRITER_WAIT_S = 900.0


def local_path(location: str) -> Path | None:
    """The filesystem path of a local table location (a path or file:// URI), else None."""
    if location.startswith("file://"):
        return Path(location.removeprefix("file://"))
    return None if "://" in location else Path(location)


class TableBusy(FastcartError, RuntimeError):
    """Another process is writing the table."""


@contextmanager
def table_lock(table_path: str, wait_s: float = 0.0) -> Iterator[None]:
    """Hold the writer lock of `table_path`; raise TableBusy after `wait_s` seconds."""
    local = local_path(table_path)
    if local is None:
        yield  # an object store: the table's Dagster pool serializes its writers
        return
    lock_path = local.parent / f".{local.name}.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as handle:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TableBusy(
                        f"another run is writing {table_path}; nothing was written — try again "
                        "when it has finished"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def writes_table(function):
    """Decorator: hold the lock of the function's `table_path` argument while it runs."""
    import functools
    import inspect

    signature = inspect.signature(function)

    @functools.wraps(function)
    def locked(*args, **kwargs):
        table_path = signature.bind(*args, **kwargs).arguments["table_path"]
        with table_lock(table_path):
            return function(*args, **kwargs)

    return locked
