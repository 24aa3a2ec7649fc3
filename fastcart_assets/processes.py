"""Child processes run in a session of their own and stopped with everything they started."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time


def group_alive(pgid: int) -> bool:
    """Whether any process of the process group `pgid` is still running."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def stop_process_group(process: subprocess.Popen, grace_s: float = 30.0) -> None:
    """SIGTERM the group of `process` (started with `start_new_session=True`), then SIGKILL.

    Raises:
        RuntimeError: a process of the group survived SIGKILL.
    """
    pgid = process.pid  # a session leader's pid is its process group id
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 10.0)):
        if not group_alive(pgid):
            break
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait_s
        while group_alive(pgid) and time.monotonic() < deadline:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.2)  # reap the leader, or the group never empties
    if process.poll() is None:
        process.wait(10)
    if group_alive(pgid):
        raise RuntimeError(f"processes of group {pgid} survived SIGKILL")
