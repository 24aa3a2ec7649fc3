"""Freshness: seconds from an event's production to its appearance in Gold, with no clicking.

Starts a private embedded broker and `dagster dev` (webserver + daemon) on a temporary lake
and instance, lets the sensors and the Silver automation run, produces one marked shipped
order, and polls gold/sales_performance/daily_product_revenue (through delta-rs) until the
marked product appears. Prints the latency and stops everything it started.

    .venv/bin/python benchmarks/freshness.py [--probes 3] [--sensor-interval S] [--timeout 600]

Without --sensor-interval it measures the shipped defaults.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.compute as pc
from deltalake import DeltaTable

from fastcart_assets.delta import table_exists
from fastcart_assets.instance import DAGSTER_YAML
from fastcart_assets.kafka import broker as embedded
from fastcart_assets.kafka.topics import create_topic
from fastcart_assets.resources.kafka import KafkaResource
from fastcart_assets.settings import Settings

MARKER_PRODUCT = "PROD-FRESH-{n}"
PROJECT = Path(__file__).resolve().parents[1]


def marked_order(now: datetime, n: int) -> list[dict]:
    base = {
        "order_id": f"ORD-{(int(now.timestamp()) + n) % 100_000_000:08d}",
        "product_id": MARKER_PRODUCT.format(n=n),
        "product_name": "Freshness probe",
        "quantity": 1,
        "price": 1.0,
        "total": 1.0,
        "customer_id": "CUST-000001",
        "customer_email": "probe@example.org",
        "payment_method": "credit_card",
        "shipping_address": {
            "street": "1 Main St",
            "city": "Town",
            "state": "CA",
            "zip_code": "00001",
            "country": "USA",
        },
    }
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return [{**base, "status": s, "timestamp": stamp} for s in ("pending", "shipped")]


def visible_in_gold(settings: Settings, n: int) -> bool:
    path = settings.table_path("gold/sales_performance/daily_product_revenue")
    if not table_exists(path):
        return False
    rows = (
        DeltaTable(path)
        .to_pyarrow_dataset()
        .count_rows(filter=pc.field("product_id") == MARKER_PRODUCT.format(n=n))
    )
    return rows > 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sensor-interval", type=int, default=None)
    parser.add_argument("--probes", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fastcart-freshness-") as tmp:
        root = Path(tmp)
        state, _ = embedded.start(embedded.free_port(), root / "state")
        settings = Settings(lake_root=str(root / "lake"), kafka_bootstrap=state.address)
        kafka = KafkaResource(bootstrap_servers=state.address, topic=settings.kafka_topic)
        create_topic(kafka, kafka.topic, 3)
        (root / "home").mkdir()
        (root / "home" / "dagster.yaml").write_text(DAGSTER_YAML)  # as `fastcart ui` writes it
        env = {
            **os.environ,
            "DAGSTER_HOME": str(root / "home"),
            "FASTCART_LAKE_ROOT": settings.lake_root,
            "FASTCART_KAFKA_BOOTSTRAP": state.address,
        }
        if args.sensor_interval:
            env["FASTCART_SENSOR_INTERVAL_S"] = str(args.sensor_interval)
        dagster = Path(sys.executable).with_name("dagster")
        dev = subprocess.Popen(
            [str(dagster), "dev", "-w", "workspace.yaml", "-p", str(embedded.free_port())],
            cwd=PROJECT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            time.sleep(20)  # webserver, daemon and code location up
            latencies = [_probe(kafka, settings, n, args.timeout) for n in range(args.probes)]
            interval = args.sensor_interval or Settings().sensor_interval_s
            print(
                f"event produced -> visible in Gold: {', '.join(f'{s:.1f}' for s in latencies)} s; "
                f"median {statistics.median(latencies):.1f} s, max {max(latencies):.1f} s "
                f"(Kafka sensor interval {interval} s)"
            )
        finally:
            os.killpg(dev.pid, signal.SIGTERM)
            dev.wait(60)
            embedded.stop(root / "state")


def _probe(kafka: KafkaResource, settings: Settings, n: int, timeout: float) -> float:
    """Produce marked order `n` and wait until Gold shows it; the seconds it took."""
    producer = kafka.producer()
    for event in marked_order(datetime.now(UTC), n):
        producer.produce(
            kafka.topic, key=event["order_id"].encode(), value=json.dumps(event).encode()
        )
    producer.flush(10)
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if visible_in_gold(settings, n):
            return time.monotonic() - started
        time.sleep(0.5)
    print(f"probe {n} not visible in Gold after {timeout:.0f} s", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
    main()
