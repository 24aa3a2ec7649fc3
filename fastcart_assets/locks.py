"""A writer lock per table, so two runs never append to the same table at once.

Dagster pools serialize runs launched through the run queue, but not two `fastcart run`
processes or in-process executions. For a local lake the lock is an OS file lock next to the
table (released by the kernel if the process dies); object-store lakes rely on the pools.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# How long a Silver or Gold write waits for another run writing the same table: their writes
# must not interleave (Sail does not detect conflicting Delta commits), but unlike a second
# Bronze ingestion (refused at once) the later run still has work to do.
WRITER_WAIT_S = 900.0


class TableBusy(RuntimeError):
    """Another process is writing the table."""


@contextmanager
def table_lock(table_path: str, wait_s: float = 0.0) -> Iterator[None]:
    """Hold the writer lock of `table_path`; raise TableBusy after `wait_s` seconds."""
    if "://" in table_path:
        yield
        return
    lock_path = Path(table_path).parent / f".{Path(table_path).name}.lock"
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
