"""Peak memory of a Bronze run over a stream of large (~1 MB) messages.

Starts a private embedded broker, produces `--messages` order events of `--size-kb` KB each
(the product name padded), then runs a real Bronze ingestion (`ingest_new_messages`, embedded
Sail in the same process, a Delta table in a temporary lake) in a child process per batch
bound and prints the child's peak RSS (`wait4`), its time and its batches. The default bound
(64 MB) is compared with one that only counts messages (the previous behaviour: 50,000
messages per commit, so the whole stream in one batch).

    .venv/bin/python benchmarks/bronze_rss.py [--messages 300] [--size-kb 1024]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fastcart_assets.kafka import broker as embedded
from fastcart_assets.kafka.topics import create_topic
from fastcart_assets.resources.kafka import KafkaResource

PROJECT = Path(__file__).resolve().parents[1]
TOPIC = "large-messages"
BOUNDS = {
    "16 MB": 16 << 20,
    "64 MB (default)": 64 << 20,
    "messages only (no byte bound)": 1 << 62,
}


def produce(kafka: KafkaResource, messages: int, size_kb: int) -> None:
    create_topic(kafka, TOPIC, 3, exist_ok=True)
    producer = kafka.producer(**{"message.max.bytes": 64 << 20, "linger.ms": 5})
    for i in range(messages):
        event = {
            "order_id": f"ORD-{i:08d}",
            "timestamp": "2026-01-02T03:04:05.000000Z",
            "product_id": "PROD-001",
            "product_name": "x" * (size_kb * 1024 - 300),
            "quantity": 1,
            "price": 1.0,
            "total": 1.0,
            "customer_id": "CUST-000001",
            "status": "pending",
        }
        producer.produce(TOPIC, key=f"ORD-{i:08d}".encode(), value=json.dumps(event).encode())
        producer.poll(0)
        if i % 50 == 49:
            assert producer.flush(60) == 0
    assert producer.flush(60) == 0


def child(bootstrap: str, table: str, batch_bytes: int) -> None:
    """The measured process: one Bronze ingestion of everything in the topic."""
    from fastcart_assets.bronze.ingest import ingest_new_messages
    from fastcart_assets.partitions import today_utc
    from fastcart_assets.resources.spark import spark_session, stop_embedded_spark

    kafka = KafkaResource(bootstrap_servers=bootstrap, topic=TOPIC)
    result = ingest_new_messages(
        spark_session(), kafka, table, today_utc(), batch_bytes=batch_bytes
    )
    stop_embedded_spark()
    sys.stdout.write(f"{result.rows_written} {result.batches}\n")


def measure(bootstrap: str, workdir: Path, name: str, batch_bytes: int) -> dict:
    table = str(workdir / f"lake-{batch_bytes}" / "bronze")
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", bootstrap, table, str(batch_bytes)],
        stdout=subprocess.PIPE,
        cwd=PROJECT,
        text=True,
    )
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    rows, batches = process.stdout.read().split()
    if process.returncode != 0:
        raise SystemExit(f"{name}: the ingestion exited with {process.returncode}")
    return {
        "bound": name,
        "rows": int(rows),
        "batches": int(batches),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),  # kilobytes on Linux
        "seconds": round(time.monotonic() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--size-kb", type=int, default=1024)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bronze-rss-") as tmp:
        workdir = Path(tmp)
        state, _ = embedded.start(embedded.free_port(), workdir / "broker")
        try:
            kafka = KafkaResource(bootstrap_servers=state.address, topic=TOPIC)
            produce(kafka, args.messages, args.size_kb)
            stream_mb = args.messages * args.size_kb / 1024
            print(f"{args.messages} messages of {args.size_kb} KB ({stream_mb:.0f} MB)")
            for name, bound in BOUNDS.items():
                row = measure(state.address, workdir, name, bound)
                print(
                    f"  batch bound {row['bound']:<30} peak RSS {row['peak_rss_mb']:>6} MB  "
                    f"{row['batches']:>3} batches  {row['rows']} rows  {row['seconds']} s"
                )
        finally:
            embedded.stop(workdir / "broker")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
