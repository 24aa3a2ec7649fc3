"""A LakeSail cluster on this machine: `sail spark server` in `local-cluster` mode.

The server is the same binary that runs on Kubernetes (`SAIL_MODE=kubernetes-cluster`); in
`local-cluster` mode its driver schedules every query on worker actors that it starts itself
and talks to over RPC, so plans, shuffles and Delta writes take the distributed path. The
pipeline reaches it like any Spark Connect endpoint, through `FASTCART_SPARK_REMOTE`.
Used by the scale-out test and by `benchmarks/cluster.py` (docs/SCALE_OUT.md).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fastcart_assets.kafka.broker import free_port, port_accepts_connections
from fastcart_assets.processes import stop_process_group

WORKER_STARTED = re.compile(r"worker (\d+) server is ready")


@dataclass
class SailCluster:
    """A running cluster: its Spark Connect URL and the server's log."""

    url: str
    log: Path
    process: subprocess.Popen

    def workers_started(self) -> set[int]:
        """Ids of the workers the driver has started so far (from the server's log)."""
        return {int(m) for m in WORKER_STARTED.findall(self.log.read_text(errors="replace"))}


def cluster_environment(workers: int) -> dict[str, str]:
    """Sail settings (SAIL_* variables, docs/SCALE_OUT.md) for a fixed-size local cluster."""
    return {
        "SAIL_MODE": "local-cluster",
        "SAIL_CLUSTER__WORKER_INITIAL_COUNT": str(workers),
        "SAIL_CLUSTER__WORKER_MAX_COUNT": str(workers),
        # INFO is where the driver logs worker start-up, which callers check.
        "RUST_LOG": "info",
    }


@contextmanager
def sail_cluster(
    log: Path, workers: int = 2, ready_timeout_s: float = 60.0
) -> Iterator[SailCluster]:
    """Start the cluster on a free loopback port; stop it and everything it started at exit.

    Raises:
        RuntimeError: the server exited or did not listen within `ready_timeout_s`.
    """
    port = free_port()
    sail = Path(sys.executable).with_name("sail")
    command = [str(sail), "spark", "server", "--ip", "127.0.0.1", "--port", str(port)]
    with open(log, "wb") as handle:
        process = subprocess.Popen(
            command,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **cluster_environment(workers)},
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + ready_timeout_s
        while not port_accepts_connections(port):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"sail spark server did not start on port {port}: {tail}")
            time.sleep(0.1)
        yield SailCluster(url=f"sc://127.0.0.1:{port}", log=log, process=process)
    finally:
        stop_process_group(process, grace_s=10.0)
