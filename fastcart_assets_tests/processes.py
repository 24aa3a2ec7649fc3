"""Background processes for tests: each in its own session, stopped with all it started."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastcart_assets.processes import stop_process_group


@contextmanager
def background(
    command: list[str], log: Path, grace_s: float = 30.0, **kwargs
) -> Iterator[subprocess.Popen]:
    """Run `command` in a new session with its output in `log`; stop its group at exit
    (SIGTERM, then SIGKILL after `grace_s`: `dagster dev` takes ~16 s to stop gracefully, which
    a test that is done with it need not wait for)."""
    with open(log, "wb") as handle:
        process = subprocess.Popen(
            command,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            **kwargs,
        )
    try:
        yield process
    finally:
        stop_process_group(process, grace_s=grace_s)
