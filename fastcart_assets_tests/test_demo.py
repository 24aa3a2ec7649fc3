"""The newcomer's flow with the real command line in a fresh directory: `fastcart demo`, then
`fastcart kafka stop` (the demo's closing hint), then `fastcart demo` again. The embedded broker
is memory-only, so the second demo meets a new incarnation of the topic; it must succeed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable

from fastcart_assets.kafka.broker import free_port

FASTCART = str(Path(sys.executable).parent / "fastcart")
DEMO = ["demo", "--days", "1", "--orders", "300"]  # smaller than the default three days


def _fastcart(cwd: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [FASTCART, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
def test_demo_then_kafka_stop_then_demo_again(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FASTCART_", "DAGSTER_"))}
    env["FASTCART_KAFKA_BOOTSTRAP"] = f"127.0.0.1:{free_port()}"
    produced = 0
    try:
        for incarnation in (1, 2):
            demo = _fastcart(tmp_path, env, *DEMO)
            output = demo.stdout + demo.stderr
            assert demo.returncode == 0, output[-4000:]
            assert "Traceback" not in output
            assert "Kafka broker started" in demo.stdout
            begins = f"topic incarnation {incarnation} begins"
            assert (begins in demo.stdout) == (incarnation > 1), demo.stdout[-4000:]
            assert "[FAIL]" not in demo.stdout and "0 failed" in demo.stdout
            produced += int(re.search(r"([\d,]+) messages", demo.stdout)[1].replace(",", ""))
            stopped = _fastcart(tmp_path, env, "kafka", "stop")
            assert stopped.returncode == 0 and "stopped" in stopped.stdout
    finally:
        _fastcart(tmp_path, env, "kafka", "stop")

    rows = DeltaTable(str(tmp_path / "lakehouse" / "bronze" / "ecommerce_sales")).to_pyarrow_table(
        columns=["kafka_incarnation", "kafka_partition", "kafka_offset"]
    )
    assert rows.num_rows == produced  # every message of both brokers, once
    assert sorted(pc.unique(rows["kafka_incarnation"]).to_pylist()) == [1, 2]
    coordinates = set(zip(*(rows[c].to_pylist() for c in rows.column_names), strict=True))
    assert len(coordinates) == rows.num_rows
