"""Scale-out: `fastcart run` on a two-worker Sail cluster gives the embedded run's Gold.

The cluster is `sail spark server` in `local-cluster` mode on a free port, reached through
FASTCART_SPARK_REMOTE exactly as a user would; the reference is the same CLI on the embedded
engine. Both consume one stream (a dirty first batch, then late and redelivered events) into
lakes of their own, and every Gold table is compared row for row with delta-rs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from deltalake import DeltaTable

from fastcart_assets.generator.orders import GeneratorConfig
from fastcart_assets.generator.producer import KafkaSink, generate
from fastcart_assets.kafka.topics import create_topic
from fastcart_assets.lake_compare import gold_snapshot, snapshot_differences
from fastcart_assets.partitions import today_utc
from fastcart_assets.sail_cluster import sail_cluster
from fastcart_assets.settings import Settings
from fastcart_assets_tests.helpers import order_event

FASTCART = str(Path(sys.executable).with_name("fastcart"))
LATE_PRODUCT = "PROD-CLUSTER"
REVENUE_TABLE = "gold/sales_performance/daily_product_revenue"

pytestmark = pytest.mark.slow


def _run(tmp_path: Path, name: str, kafka, remote: str | None) -> Settings:
    """`fastcart run` in a process of its own, on lake and instance `name`."""
    env = {
        **os.environ,
        "FASTCART_LAKE_ROOT": str(tmp_path / name / "lake"),
        "DAGSTER_HOME": str(tmp_path / name / "home"),
        "FASTCART_KAFKA_BOOTSTRAP": kafka.bootstrap_servers,
        "FASTCART_KAFKA_TOPIC": kafka.topic,
    }
    env.pop("FASTCART_SPARK_REMOTE", None)
    if remote:
        env["FASTCART_SPARK_REMOTE"] = remote
    (tmp_path / name / "home").mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [FASTCART, "run"],
        cwd=tmp_path / name,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"{name}: {done.stdout}{done.stderr}"
    return Settings(lake_root=env["FASTCART_LAKE_ROOT"])


def _late_and_redelivered(kafka, day) -> None:
    """A late order on `day` (days ago) and a second copy of each of its events."""
    fields = {"product_id": LATE_PRODUCT, "total": 740.0, "price": 370.0, "quantity": 2}
    events = [
        order_event(98_000_001, status="pending", timestamp=f"{day}T07:15:00Z", **fields),
        order_event(98_000_001, status="confirmed", timestamp=f"{day}T07:45:00Z", **fields),
        order_event(98_000_001, status="shipped", timestamp=f"{day}T11:30:00Z", **fields),
    ]
    producer = kafka.producer()
    for event in events + events:  # the redelivery must change nothing
        producer.produce(
            kafka.topic, key=event["order_id"].encode(), value=json.dumps(event).encode()
        )
    assert producer.flush(10) == 0


def _late_revenue(settings: Settings) -> list[float]:
    path = settings.table_path(REVENUE_TABLE)
    rows = DeltaTable(path).to_pyarrow_table(filters=[("product_id", "=", LATE_PRODUCT)])
    return [float(v) for v in rows.column("total_revenue").to_pylist()]


def test_cluster_run_gives_the_embedded_gold(tmp_path, kafka):
    create_topic(kafka, kafka.topic, 3)
    late_day = today_utc() - timedelta(days=3)
    start = datetime.combine(late_day, datetime.min.time(), UTC)
    config = GeneratorConfig(
        start=start, duration=timedelta(days=2), min_delay_s=120, max_delay_s=600, seed=21
    )
    generate(config, dirty_rate=0.05, speed=0, sink=KafkaSink(kafka.producer(), kafka.topic))

    with sail_cluster(tmp_path / "sail.log", workers=2) as cluster:
        rounds = []
        for round_ in range(2):
            if round_ == 1:
                _late_and_redelivered(kafka, late_day)
            embedded = _run(tmp_path, "embedded", kafka, remote=None)
            clustered = _run(tmp_path, "cluster", kafka, remote=cluster.url)
            rounds.append((embedded, clustered, gold_snapshot(embedded), gold_snapshot(clustered)))
        workers = cluster.workers_started()

    assert workers == {1, 2}, "the driver did not start its two workers"
    for _, _, embedded_gold, cluster_gold in rounds:
        assert len(embedded_gold) == 12 and sum(map(len, embedded_gold.values())) > 0
        assert snapshot_differences(embedded_gold, cluster_gold) == {}
    # the late order moved Gold, on both engines
    assert not any(LATE_PRODUCT in row for row in rounds[0][2][REVENUE_TABLE])
    (embedded, clustered, _, _) = rounds[1]
    assert _late_revenue(embedded) == _late_revenue(clustered) == [740.0]
