"""Freshness: seconds from an event's production to its appearance in Gold, with no clicking.

Starts a private embedded broker and `dagster dev` (webserver + daemon) on a temporary lake
and instance, lets the sensors and the Silver automation run, produces one marked shipped
order, and polls gold/sales_performance/daily_product_revenue (through delta-rs) until the
marked product appears. Prints the latency and stops everything it started.

    .venv/bin/python benchmarks/freshness.py [--sensor-interval 15] [--timeout 600]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.compute as pc
from deltalake import DeltaTable

from fastcart_assets.delta import table_exists
from fastcart_assets.kafka import broker as embedded
from fastcart_assets.kafka.topics import create_topic
from fastcart_assets.resources.kafka import KafkaResource
from fastcart_assets.settings import Settings

MARKER_PRODUCT = "PROD-FRESHNESS"
PROJECT = Path(__file__).resolve().parents[1]


def marked_order(now: datetime) -> list[dict]:
    base = {
        "order_id": f"ORD-{int(now.timestamp()) % 100_000_000:08d}",
        "product_id": MARKER_PRODUCT,
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


def visible_in_gold(settings: Settings) -> bool:
    path = settings.table_path("gold/sales_performance/daily_product_revenue")
    if not table_exists(path):
        return False
    rows = (
        DeltaTable(path)
        .to_pyarrow_dataset()
        .count_rows(filter=pc.field("product_id") == MARKER_PRODUCT)
    )
    return rows > 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sensor-interval", type=int, default=15)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fastcart-freshness-") as tmp:
        root = Path(tmp)
        state, _ = embedded.start(embedded.free_port(), root / "state")
        settings = Settings(lake_root=str(root / "lake"), kafka_bootstrap=state.address)
        kafka = KafkaResource(bootstrap_servers=state.address, topic=settings.kafka_topic)
        create_topic(kafka, kafka.topic, 3)
        (root / "home").mkdir()
        env = {
            **os.environ,
            "DAGSTER_HOME": str(root / "home"),
            "FASTCART_LAKE_ROOT": settings.lake_root,
            "FASTCART_KAFKA_BOOTSTRAP": state.address,
            "FASTCART_SENSOR_INTERVAL_S": str(args.sensor_interval),
        }
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
            producer = kafka.producer()
            produced_at = datetime.now(UTC)
            for event in marked_order(produced_at):
                producer.produce(
                    kafka.topic, key=event["order_id"].encode(), value=json.dumps(event).encode()
                )
            producer.flush(10)
            started = time.monotonic()
            while time.monotonic() - started < args.timeout:
                if visible_in_gold(settings):
                    latency = time.monotonic() - started
                    print(
                        f"event produced -> visible in Gold: {latency:.1f} s "
                        f"(sensor interval {args.sensor_interval} s)"
                    )
                    return
                time.sleep(2)
            print(f"not visible in Gold after {args.timeout:.0f} s", file=sys.stderr)
            sys.exit(1)
        finally:
            os.killpg(dev.pid, signal.SIGTERM)
            dev.wait(60)
            embedded.stop(root / "state")


if __name__ == "__main__":
    main()
