"""Scale-out figure: one FastCart day through `fastcart run` on the embedded engine and on a
Sail cluster (`sail spark server`, local-cluster mode, two workers), with Gold compared.

Produces N events (200,000 = one day, ending two days ago) to a private embedded broker, then
runs the real CLI twice in processes of their own, on separate lakes and instances: once
embedded, once with FASTCART_SPARK_REMOTE pointing at the cluster. Prints both times and
whether every Gold table is identical; `run_cluster_bench` returns the figures for `make bench`.

    .venv/bin/python benchmarks/cluster.py [--events 200000] [--workers 2] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastcart_assets.bench import private_kafka
from fastcart_assets.generator.orders import GeneratorConfig
from fastcart_assets.generator.producer import KafkaSink, generate
from fastcart_assets.lake_compare import gold_snapshot, snapshot_differences
from fastcart_assets.sail_cluster import sail_cluster
from fastcart_assets.settings import Settings

FASTCART = str(Path(sys.executable).with_name("fastcart"))
PIPELINE_SECONDS = re.compile(r"^done in ([0-9.]+) s", re.MULTILINE)


@dataclass
class EngineRun:
    """One `fastcart run`: wall time of the process, and the pipeline's own figure."""

    wall_s: float
    pipeline_s: float | None
    stages: list[str] = field(default_factory=list)


@dataclass
class ClusterBenchResult:
    events: int = 0
    workers: int = 0
    embedded: EngineRun | None = None
    cluster: EngineRun | None = None
    cluster_ratio: float | None = None  # cluster wall time / embedded wall time
    gold_identical: bool = False
    gold_differences: dict[str, tuple[int, int]] = field(default_factory=dict)


def _fastcart_run(root: Path, name: str, bootstrap: str, topic: str, remote: str | None):
    """`fastcart run` on lake and instance `root/name`; returns (EngineRun, Settings)."""
    env = {
        **os.environ,
        "FASTCART_LAKE_ROOT": str(root / name / "lake"),
        "DAGSTER_HOME": str(root / name / "home"),
        "FASTCART_KAFKA_BOOTSTRAP": bootstrap,
        "FASTCART_KAFKA_TOPIC": topic,
    }
    env.pop("FASTCART_SPARK_REMOTE", None)
    if remote:
        env["FASTCART_SPARK_REMOTE"] = remote
    (root / name / "home").mkdir(parents=True)
    started = time.perf_counter()
    done = subprocess.run(
        [FASTCART, "run"], cwd=root / name, env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"fastcart run ({name}) failed: {(done.stdout + done.stderr)[-3000:]}")
    figure = PIPELINE_SECONDS.search(done.stdout)
    stages = [line.strip() for line in done.stdout.splitlines() if line.startswith("  ")]
    run = EngineRun(
        wall_s=wall, pipeline_s=float(figure.group(1)) if figure else None, stages=stages
    )
    return run, Settings(lake_root=env["FASTCART_LAKE_ROOT"])


def run_cluster_bench(
    events: int = 200_000, workers: int = 2, log: Callable[[str], None] = print
) -> ClusterBenchResult:
    """The embedded and cluster runs of one generated stream, in a temporary directory."""
    result = ClusterBenchResult(workers=workers)
    with tempfile.TemporaryDirectory(prefix="fastcart-cluster-bench-") as tmp:
        root = Path(tmp)
        with private_kafka(root, "bench-orders") as kafka:
            # The day ends two days ago: an event later than its ingestion time is flagged
            # `future_timestamp` (docs/SPEC.md §6), so a stream reaching past "now" would give the
            # later of the two runs more Gold input.
            config = GeneratorConfig(
                start=datetime.now(UTC) - timedelta(days=3),
                duration=None,
                orders=events,
                seed=1,
                min_delay_s=0.5,
                max_delay_s=3.0,
            )
            log(f"producing {events:,} events to a private broker ...")
            summary = generate(
                config, speed=0, sink=KafkaSink(kafka.producer(), kafka.topic), max_messages=events
            )
            result.events = summary.messages
            log("fastcart run on the embedded engine ...")
            result.embedded, embedded_lake = _fastcart_run(
                root, "embedded", kafka.bootstrap_servers, kafka.topic, remote=None
            )
            with sail_cluster(root / "sail.log", workers=workers) as cluster:
                log(f"fastcart run on a {workers}-worker Sail cluster at {cluster.url} ...")
                result.cluster, cluster_lake = _fastcart_run(
                    root, "cluster", kafka.bootstrap_servers, kafka.topic, remote=cluster.url
                )
                if len(cluster.workers_started()) != workers:
                    raise RuntimeError(f"the cluster did not start {workers} workers")
            result.cluster_ratio = result.cluster.wall_s / result.embedded.wall_s
            differences = snapshot_differences(
                gold_snapshot(embedded_lake), gold_snapshot(cluster_lake)
            )
            result.gold_differences = differences
            result.gold_identical = not differences
    return result


def report(result: ClusterBenchResult) -> list[tuple[str, str]]:
    """Rows for a printed table."""

    def figure(run: EngineRun) -> str:
        pipeline = f" (pipeline {run.pipeline_s:.1f} s)" if run.pipeline_s is not None else ""
        return f"{run.wall_s:.1f} s{pipeline}"

    return [
        ("events", f"{result.events:,}"),
        ("fastcart run, embedded Sail", figure(result.embedded)),
        (f"fastcart run, Sail cluster ({result.workers} workers)", figure(result.cluster)),
        ("cluster / embedded", f"{result.cluster_ratio:.2f}x"),
        ("Gold identical", "yes" if result.gold_identical else f"NO {result.gold_differences}"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    result = run_cluster_bench(args.events, args.workers, log=lambda t: print(t, file=sys.stderr))
    rows = report(result)
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    if args.json:
        args.json.write_text(json.dumps(asdict(result), indent=2) + "\n")
    if not result.gold_identical:
        sys.exit(1)


if __name__ == "__main__":
    main()
