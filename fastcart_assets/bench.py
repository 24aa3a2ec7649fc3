"""`fastcart bench`: time the pipeline on one machine and compare with reference engines.

1. Produce N generated events to a fresh topic on a private embedded broker.
2. Time `fastcart run` end to end (through Dagster, on a temporary lake and instance) and
   each layer, and sample the peak RSS of the whole process tree.
3. Time the same Silver and Gold transforms on Sail and on a local JVM Spark session, both
   on Parquet (delta-spark's jars cannot be fetched here), and report JVM time / ours.
4. A physical-limit proxy: pyarrow parses the same JSON bytes with all cores and writes
   Parquet.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson


@dataclass
class BenchResult:
    events: int = 0
    megabytes: float = 0.0
    produce_s: float = 0.0
    end_to_end_s: float = 0.0
    engine_start_s: float = 0.0
    layers_s: dict[str, float] = field(default_factory=dict)
    kafka_read_s: float = 0.0
    events_per_s: float = 0.0
    mb_per_s: float = 0.0
    peak_rss_mb: float = 0.0
    transforms_sail_s: float | None = None
    transforms_jvm_s: float | None = None
    jvm_start_s: float | None = None
    jvm_ratio: float | None = None
    limit_proxy_s: float | None = None
    history: list[dict] = field(default_factory=list)  # bench_history.HistoryPoint, as dicts
    machine: dict[str, object] = field(default_factory=dict)


class RssSampler:
    """Samples the summed RSS of this process and all its descendants (Linux /proc)."""

    def __init__(self, interval_s: float = 0.05):
        self.interval_s = interval_s
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _tree(pid: int) -> list[int]:
        pids, todo = [], [pid]
        while todo:
            current = todo.pop()
            pids.append(current)
            try:
                for task in os.listdir(f"/proc/{current}/task"):
                    children = Path(f"/proc/{current}/task/{task}/children").read_text()
                    todo.extend(int(c) for c in children.split())
            except OSError:
                continue
        return pids

    @staticmethod
    def _rss(pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            total = sum(self._rss(p) for p in self._tree(os.getpid()))
            self.peak_bytes = max(self.peak_bytes, total)
            self._stop.wait(self.interval_s)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()


def _timed(function: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    value = function()
    return time.perf_counter() - started, value


def run_transforms(spark, bronze_parquet: str, out: str) -> None:
    """Silver and Gold transforms of the pipeline on Parquet, for any engine."""
    from fastcart_assets.gold.build import SharedFrames
    from fastcart_assets.gold.events import order_facts, order_status_events
    from fastcart_assets.gold.registry import CUSTOMERS, SALES, tables_of
    from fastcart_assets.scratch import stored
    from fastcart_assets.silver.transforms import (
        classify,
        newest_per_key,
        rejected_rows,
        silver_rows,
        typed_events,
    )

    now = datetime.now(UTC)
    bronze = spark.read.parquet(bronze_parquet)
    classified = stored(classify(typed_events(bronze)), f"{out}/classified")
    rejected_rows(classified, now).write.mode("overwrite").parquet(f"{out}/rejected")
    silver = stored(newest_per_key(silver_rows(classified, now)), f"{out}/silver")
    events = stored(order_status_events(silver), f"{out}/events")
    shared = SharedFrames(events, stored(order_facts(events), f"{out}/facts"))
    dates = sorted(r[0] for r in events.select("event_date").distinct().collect())
    for group, days in ((SALES, dates), (CUSTOMERS, dates[-1:])):
        for table in tables_of(group):
            table.build(shared, days).write.mode("overwrite").parquet(f"{out}/{table.name}")


def _jvm_transforms(bronze_parquet: str, out: str) -> tuple[float, float]:
    """(start-up s, transforms s) on local JVM Spark, in a process of its own: a Python
    process that has opened a Spark Connect session cannot open a classic one."""
    import subprocess
    import sys

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE")
    }
    completed = subprocess.run(
        [sys.executable, "-m", "fastcart_assets.bench", bronze_parquet, out],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"JVM Spark run failed: {completed.stderr.strip()[-2000:]}")
    timings = json.loads(completed.stdout.strip().splitlines()[-1])
    return timings["start_s"], timings["transforms_s"]


def limit_proxy(messages_file: Path, out: Path) -> float:
    """pyarrow: parse the NDJSON bytes with all cores and write Parquet."""
    import pyarrow.json as pj
    import pyarrow.parquet as pq

    started = time.perf_counter()
    table = pj.read_json(messages_file, read_options=pj.ReadOptions(use_threads=True))
    pq.write_table(table, out)
    return time.perf_counter() - started


@contextmanager
def private_kafka(root: Path, topic: str) -> Iterator:
    """An embedded broker of its own (state under `root`) with `topic` on 3 partitions, as a
    KafkaResource; stopped, with no process left, when the block ends."""
    from fastcart_assets.kafka import broker as embedded
    from fastcart_assets.kafka.topics import create_topic
    from fastcart_assets.resources.kafka import KafkaResource

    state, _ = embedded.start(embedded.free_port(), root / "state")
    try:
        kafka = KafkaResource(bootstrap_servers=state.address, topic=topic)
        create_topic(kafka, kafka.topic, 3)
        yield kafka
    finally:
        embedded.stop(root / "state")


def run_bench(events: int, jvm: bool, log: Callable[[str], None]) -> BenchResult:
    """Everything above, in a temporary directory that is removed afterwards."""
    import dagster as dg

    from fastcart_assets.definitions import build_definitions
    from fastcart_assets.generator.orders import EVENTS_PER_ORDER, MAX_ORDER_SPAN, GeneratorConfig
    from fastcart_assets.generator.producer import KafkaSink, generate
    from fastcart_assets.instance import temporary_instance
    from fastcart_assets.pipeline import run_catch_up
    from fastcart_assets.resources.spark import spark_session, warm_up_seconds
    from fastcart_assets.settings import Settings
    from fastcart_assets.tables import BRONZE

    result = BenchResult(machine={"cores": os.cpu_count(), "python": os.sys.version.split()[0]})
    with tempfile.TemporaryDirectory(prefix="fastcart-bench-") as tmp:
        root = Path(tmp)
        with private_kafka(root, "bench-orders") as kafka:
            # Orders every 0.5-3 s: the last event lies an hour before now, so no event is in
            # the future (`future_timestamp`).
            orders_span = timedelta(seconds=events / EVENTS_PER_ORDER * 1.75)
            start = datetime.now(UTC) - orders_span - MAX_ORDER_SPAN - timedelta(hours=1)
            config = GeneratorConfig(
                start=start, duration=None, orders=events, seed=1, min_delay_s=0.5, max_delay_s=3.0
            )
            sink = KafkaSink(kafka.producer(), kafka.topic)
            ndjson = root / "messages.ndjson"  # the JSON objects, for the limit proxy
            original_send = sink.send
            payload_bytes = 0

            def send(key: str, value: bytes) -> None:
                nonlocal payload_bytes
                payload_bytes += len(value)
                if _is_json_object(value):
                    handle.write(value + b"\n")
                original_send(key, value)

            sink.send = send
            log(f"producing {events:,} events to a private broker ...")
            with open(ndjson, "wb") as handle:
                result.produce_s, summary = _timed(
                    lambda: generate(config, speed=0, sink=sink, max_messages=events)
                )
            result.events = summary.messages
            result.megabytes = payload_bytes / 1e6

            settings = Settings(
                lake_root=str(root / "lake"),
                kafka_bootstrap=kafka.bootstrap_servers,
                kafka_topic=kafka.topic,
            )
            with temporary_instance(root / "dagster") as instance:
                log("running the pipeline (fastcart run) ...")
                # As in `fastcart run`, the engine starts inside the run, overlapping Bronze.
                with RssSampler() as sampler:
                    result.end_to_end_s, outcome = _timed(
                        lambda: run_catch_up(build_definitions(settings), instance)
                    )
                result.engine_start_s = warm_up_seconds() or 0.0
                result.peak_rss_mb = sampler.peak_bytes / 1e6
                result.layers_s = {s.name: round(s.seconds, 3) for s in outcome.stages}
                if not outcome.success:
                    raise RuntimeError(f"the pipeline failed: {outcome.stages[-1]}")
                bronze_meta = (
                    instance.fetch_materializations(
                        dg.AssetKey(["bronze", "ecommerce_sales"]), limit=1
                    )
                    .records[0]
                    .asset_materialization.metadata
                )
                result.kafka_read_s = float(bronze_meta["kafka_seconds"].value)
            result.events_per_s = result.events / result.end_to_end_s
            result.mb_per_s = result.megabytes / result.end_to_end_s

            sail = spark_session()
            bronze_parquet = str(root / "bronze.parquet")
            bronze = sail.read.format("delta").load(settings.table_path(BRONZE.path))
            bronze.write.mode("overwrite").parquet(bronze_parquet)
            log("timing the Silver and Gold transforms on Sail (Parquet) ...")
            result.transforms_sail_s, _ = _timed(
                lambda: run_transforms(sail, bronze_parquet, str(root / "sail-out"))
            )
            if jvm:
                log("timing the same transforms on local JVM Spark (Parquet) ...")
                result.jvm_start_s, result.transforms_jvm_s = _jvm_transforms(
                    bronze_parquet, str(root / "jvm-out")
                )
                result.jvm_ratio = result.transforms_jvm_s / result.transforms_sail_s
            log("physical-limit proxy (pyarrow JSON parse + Parquet write) ...")
            result.limit_proxy_s = limit_proxy(ndjson, root / "proxy.parquet")
    return result


def _is_json_object(value: bytes) -> bool:
    try:
        return isinstance(orjson.loads(value), dict)
    except orjson.JSONDecodeError:
        return False


def write_results(result: BenchResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(result), indent=2) + "\n")


def _jvm_main(bronze_parquet: str, out: str) -> None:
    from fastcart_assets.resources.spark import jvm_spark_session

    start_s, session = _timed(jvm_spark_session)
    try:
        transforms_s, _ = _timed(lambda: run_transforms(session, bronze_parquet, out))
    finally:
        session.stop()
    sys.stdout.write(json.dumps({"start_s": start_s, "transforms_s": transforms_s}) + "\n")


if __name__ == "__main__":
    import sys

    _jvm_main(*sys.argv[1:3])
