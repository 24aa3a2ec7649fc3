"""docker/compose.yaml is valid for docker-compose and wires the settings the code reads."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from fastcart_assets.settings import Settings

COMPOSE = Path(__file__).resolve().parents[1] / "docker" / "compose.yaml"


@pytest.mark.skipif(
    shutil.which("docker-compose") is None,
    reason="docker-compose is not installed (.ci/run installs it)",
)
def test_compose_file_is_valid():
    result = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_code_location_services_get_every_fastcart_setting():
    compose = yaml.safe_load(COMPOSE.read_text())
    expected = {
        "FASTCART_LAKE_ROOT",
        "FASTCART_KAFKA_BOOTSTRAP",
        "FASTCART_KAFKA_TOPIC",
        "FASTCART_SPARK_REMOTE",
    }
    for service in ("dagster-webserver", "dagster-daemon"):
        environment = compose["services"][service]["environment"]
        assert expected <= set(environment), service
        settings = Settings(
            lake_root=environment["FASTCART_LAKE_ROOT"],
            kafka_bootstrap=environment["FASTCART_KAFKA_BOOTSTRAP"],
            kafka_topic=environment["FASTCART_KAFKA_TOPIC"],
            spark_remote=environment["FASTCART_SPARK_REMOTE"],
        )
        assert (
            settings.table_path("bronze/ecommerce_sales")
            == "s3a://lakehouse/bronze/ecommerce_sales"
        )
        host = settings.kafka_bootstrap.split(":")[0]
        assert host in compose["services"]
        assert settings.spark_remote.startswith("sc://spark-connect:")
