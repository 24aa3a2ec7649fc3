"""Ctrl-C and SIGTERM for long commands: stop within seconds, leaving nothing claimed.

A signal interrupts the command's main thread as Ctrl-C does (Dagster then stops the run and
records it). A command stuck in native code (a Spark or Kafka call) cannot be interrupted
there: a watcher thread, woken by the signal itself (`signal.set_wakeup_fd`), waits a grace
period and then marks the runs this process executes as failed, frees their pool slots and
exits. Data stays exact either way: every layer's commit is atomic and the next run carries on
from what was committed.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from fastcart_assets import runs

GRACE_S = 10.0


def release_own_runs(instance: dg.DagsterInstance, reason: str) -> None:
    """Fail the runs this process is executing and free the pool slots of every run it ran.

    Dagster may already have ended an interrupted run (failed or canceled) without freeing the
    slot its step held, so slots are freed whatever the run's status."""
    own = runs.process_tags()
    mine = {tag: own[tag] for tag in (runs.PID_TAG, runs.HOST_TAG)}
    for run in instance.get_runs(filters=dg.RunsFilter(tags=mine)):
        if run.status in runs.ACTIVE_STATUSES:
            instance.report_run_failed(run, message=f"FastCart stopped the run: {reason}")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)


def _sigterm_as_ctrl_c(signum, frame) -> None:
    os.kill(os.getpid(), signal.SIGINT)  # through whatever SIGINT handler is installed


class Interruption:
    """The signal that stopped the command, if one did."""

    signum: int | None = None

    @property
    def exit_code(self) -> int:
        return 128 + (self.signum or signal.SIGINT)

    @property
    def name(self) -> str:
        return signal.Signals(self.signum or signal.SIGINT).name


@contextmanager
def stop_on_signals(
    instance: dg.DagsterInstance, grace_s: float = GRACE_S
) -> Iterator[Interruption]:
    """Within the block, SIGINT/SIGTERM stop the command as the module docstring says; the
    yielded object tells which signal did."""
    interruption = Interruption()
    if threading.current_thread() is not threading.main_thread():
        yield interruption
        return
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    previous_term = signal.signal(signal.SIGTERM, _sigterm_as_ctrl_c)
    finished = threading.Event()

    def watch() -> None:
        while not finished.is_set():
            ready, _, _ = select.select([read_fd], [], [], 0.5)
            if not ready:
                continue
            signals = {b for b in os.read(read_fd, 64)} & {signal.SIGINT, signal.SIGTERM}
            if not signals:
                continue
            interruption.signum = max(signals)
            print(f"\n{interruption.name} received: stopping the run…", file=sys.stderr, flush=True)
            if not finished.wait(grace_s):
                release_own_runs(instance, f"interrupted by {interruption.name}")
                os._exit(interruption.exit_code)
            return

    watcher = threading.Thread(target=watch, name="fastcart-signals", daemon=True)
    watcher.start()
    try:
        yield interruption
        if interruption.signum is not None:  # Dagster ended the interrupted run by itself
            release_own_runs(instance, f"interrupted by {interruption.name}")
    except KeyboardInterrupt:
        release_own_runs(instance, "interrupted")
        raise
    finally:
        finished.set()
        watcher.join(1.0)
        signal.set_wakeup_fd(previous_fd)
        signal.signal(signal.SIGTERM, previous_term)
        os.close(read_fd)
        os.close(write_fd)
