"""Test helpers: produce raw messages, read tables back, serve the code location."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastcart_assets.kafka.broker import free_port
from fastcart_assets.kafka.topics import create_topic
from fastcart_assets.resources.kafka import KafkaResource


def order_event(i: int, **overrides) -> dict:
    """A clean order event with a distinct order id per `i`."""
    event = {
        "order_id": f"ORD-{i:08d}",
        "timestamp": "2025-11-09T15:55:40.669190Z",
        "product_id": "PROD-004",
        "product_name": "USB-C Cable",
        "quantity": 3,
        "price": 11.16,
        "total": 33.48,
        "customer_id": f"CUST-{i % 97:06d}",
        "customer_email": f"person{i}@example.org",
        "payment_method": "credit_card",
        "shipping_address": {
            "street": "123 Main St",
            "city": "Springfield",
            "state": "IL",
            "zip_code": "62701",
            "country": "USA",
        },
        "status": "pending",
    }
    event.update(overrides)
    return event


def produce(kafka: KafkaResource, values: list[bytes | None], partitions: int = 3) -> None:
    """Create the topic if needed and send `values` keyed by position, then flush."""
    create_topic(kafka, kafka.topic, partitions, exist_ok=True)
    producer = kafka.producer()
    for i, value in enumerate(values):
        producer.produce(kafka.topic, key=f"ORD-{i:08d}".encode(), value=value)
        if i % 5000 == 0:
            producer.poll(0)
    remaining = producer.flush(30)
    assert remaining == 0, f"{remaining} messages not delivered"


def clean_values(n: int, start: int = 0) -> list[bytes]:
    return [json.dumps(order_event(i)).encode() for i in range(start, start + n)]


@contextmanager
def webserver(dagster_home: Path, lake_root: str) -> Iterator[str]:
    """`dagster-webserver` on the code location and instance `dagster_home`; yields its URL."""
    port = free_port()
    binary = Path(sys.executable).with_name("dagster-webserver")
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "FASTCART_LAKE_ROOT": lake_root}
    process = subprocess.Popen(
        [str(binary), "-m", "fastcart_assets.definitions", "-h", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parents[1],
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{url}/server_info", timeout=2)
                break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError("dagster-webserver exited") from None
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(30)


def graphql(url: str, query: str, variables: dict | None = None) -> dict:
    """The `data` of a GraphQL query to the webserver at `url`."""
    request = urllib.request.Request(
        f"{url}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    answer = json.loads(urllib.request.urlopen(request, timeout=60).read())
    assert "errors" not in answer, answer["errors"]
    return answer["data"]
