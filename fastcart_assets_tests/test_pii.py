"""No customer email reaches Dagster's event log, captured logs or the command's output."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from fastcart_assets.cli.main import cli
from fastcart_assets.generator.orders import GeneratorConfig
from fastcart_assets.generator.producer import KafkaSink, generate
from fastcart_assets.kafka.topics import create_topic
from fastcart_assets.resources.spark import spark_session
from fastcart_assets.tables import BRONZE


@pytest.mark.slow
def test_pipeline_never_logs_a_customer_email(settings, kafka, tmp_path):
    create_topic(kafka, kafka.topic, 2)
    start = datetime.now(UTC) - timedelta(hours=20)
    generate(
        GeneratorConfig(
            start=start, duration=timedelta(hours=12), min_delay_s=60, max_delay_s=180, seed=13
        ),
        dirty_rate=0.1,
        speed=0,
        sink=KafkaSink(kafka.producer(), kafka.topic),
    )
    result = CliRunner().invoke(cli, ["run"])
    assert result.exit_code == 0, result.output

    bronze = spark_session().read.format("delta").load(settings.table_path(BRONZE.path))
    emails = {r[0] for r in bronze.select("customer_email").distinct().collect() if r[0]}
    assert len(emails) > 50
    home = Path(tmp_path / "dagster_home")
    files = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.suffix == ".db" for p in files)  # the event log is there to scan
    haystack = b"\n".join(p.read_bytes() for p in files) + result.output.encode()
    leaked = [email for email in emails if email.encode() in haystack]
    assert leaked == []
