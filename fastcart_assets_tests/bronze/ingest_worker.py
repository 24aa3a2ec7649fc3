"""A Bronze ingestion in its own process, for fault tests: `python -m … BOOTSTRAP TOPIC TABLE`.

Environment:
    BATCH_SIZE       messages per Delta commit (default 500)
    STALL_TIMEOUT    seconds without a message before the run fails (default 30)
    KILL_AT          `point` or `point:n` — SIGKILL this process at the n-th (default 1st) time
                     the run reaches `point`, one of KILL_POINTS below.
    SIGNAL_BROKER_AT `point` or `point:n` — there, send BROKER_SIGNAL (STOP or KILL) to the
                     broker process BROKER_PID instead (the embedded broker answers a fetch with
                     a whole partition, so only a signal sent before the first fetch leaves
                     data unread).

The points wrap functions where `bronze.ingest` (or `bronze.reader`, for the read loop's own
calls) looks them up, so the run under test is the real one; the process dies with its
embedded Spark server, like a crashed run.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import sys
import threading
from collections.abc import Callable

from fastcart_assets.bronze import ingest, reader
from fastcart_assets.partitions import today_utc
from fastcart_assets.resources.kafka import KafkaResource
from fastcart_assets.resources.spark import spark_session


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _later(seconds: float, action: Callable[[], None]) -> None:
    timer = threading.Timer(seconds, action)
    timer.daemon = True
    timer.start()


# point -> (function of bronze.ingest to wrap — `reader.name` for one of bronze.reader —, when to
# act: "before", "after" or seconds into it)
KILL_POINTS: dict[str, tuple[str, str | float]] = {
    "positions_read": ("stored_positions", "after"),
    "consumer_ready": ("watermarks", "after"),
    "reading": ("read_batches", "before"),
    "message_read": ("reader.from_message", "after"),
    "before_parse": ("build_batch", "before"),
    "before_commit": ("append_batch", "before"),
    "during_commit_early": ("append_batch", 0.005),
    "during_commit_late": ("append_batch", 0.015),  # a 500-row append: ~20-30 ms
    "after_commit": ("append_batch", "after"),
    "before_group_commit": ("_commit_for_monitoring", "before"),
    "after_group_commit": ("_commit_for_monitoring", "after"),
}


def _arm(where: str, action: Callable[[], None]) -> None:
    """Run `action` at `where` (`point` or `point:n`, the n-th time the run reaches it)."""
    point, _, nth_text = where.partition(":")
    nth = int(nth_text or 1)
    name, when = KILL_POINTS[point]
    module = reader if name.startswith("reader.") else ingest
    name = name.removeprefix("reader.")
    original: Callable = getattr(module, name)
    calls = 0

    def wrapped(*args, **kwargs):
        nonlocal calls
        calls += 1
        armed = calls == nth
        if armed and when == "before":
            action()
        if armed and isinstance(when, float):
            _later(when, action)
        value = original(*args, **kwargs)
        if armed and when == "after":
            action()
        return value

    setattr(module, name, wrapped)


def main() -> None:
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 PID` prints where a stuck run is
    bootstrap, topic, table_path = sys.argv[1:4]
    if os.environ.get("KILL_AT"):
        _arm(os.environ["KILL_AT"], _die)
    if os.environ.get("SIGNAL_BROKER_AT"):
        broker_pid = int(os.environ["BROKER_PID"])
        signal_number = getattr(signal, f"SIG{os.environ['BROKER_SIGNAL']}")
        _arm(os.environ["SIGNAL_BROKER_AT"], lambda: os.kill(broker_pid, signal_number))
    kafka = KafkaResource(bootstrap_servers=bootstrap, topic=topic)
    result = ingest.ingest_new_messages(
        spark_session(),
        kafka,
        table_path,
        today_utc(),
        batch_size=int(os.environ.get("BATCH_SIZE", "500")),
        stall_timeout_s=float(os.environ.get("STALL_TIMEOUT", "30")),
    )
    sys.stdout.write(f"rows_written={result.rows_written}\n")


if __name__ == "__main__":
    main()
