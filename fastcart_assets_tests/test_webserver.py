"""The Dagster webserver serves the code location: every asset, check, sensor and schedule."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from fastcart_assets.kafka.broker import free_port

QUERY = """
{
  assetNodes {
    assetKey { path }
    assetChecksOrError { ... on AssetChecks { checks { name } } }
  }
  repositoriesOrError {
    ... on RepositoryConnection { nodes { sensors { name } schedules { name } } }
  }
}
"""


@pytest.fixture
def webserver(tmp_path):
    port = free_port()
    binary = Path(sys.executable).with_name("dagster-webserver")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "FASTCART_LAKE_ROOT": str(tmp_path)}
    process = subprocess.Popen(
        [str(binary), "-m", "fastcart_assets.definitions", "-h", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parents[1],
    )
    url = f"http://127.0.0.1:{port}"
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
    process.terminate()
    process.wait(30)


def test_graphql_lists_assets_checks_sensors_and_schedules(webserver):
    request = urllib.request.Request(
        f"{webserver}/graphql",
        data=json.dumps({"query": QUERY}).encode(),
        headers={"Content-Type": "application/json"},
    )
    data = json.loads(urllib.request.urlopen(request, timeout=60).read())["data"]
    assets = {"/".join(n["assetKey"]["path"]): n for n in data["assetNodes"]}
    assert len(assets) == 17  # 15 tables, quality/rule_metrics and the Kafka topic
    assert "kafka/ecommerce_sales" in assets and "quality/rule_metrics" in assets
    assert "gold/customer_analytics/processing_time_by_segment" in assets
    silver_checks = {
        c["name"] for c in assets["silver/ecommerce_sales"]["assetChecksOrError"]["checks"]
    }
    assert {
        "rule_malformed_json",
        "unique_order_id_timestamp",
        "reconciled_with_bronze",
    } <= silver_checks
    assert "no_duplicate_coordinates" in {
        c["name"] for c in assets["bronze/ecommerce_sales"]["assetChecksOrError"]["checks"]
    }
    [repository] = data["repositoriesOrError"]["nodes"]
    assert {s["name"] for s in repository["sensors"]} >= {
        "kafka_new_data_sensor",
        "silver_touched_dates_sensor",
        "silver_automation",
    }
    assert {s["name"] for s in repository["schedules"]} == {"maintenance_job_schedule"}
