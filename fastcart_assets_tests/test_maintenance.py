"""Maintenance on real Delta tables: retention, compaction, vacuum, history, dry run."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner
from deltalake import DeltaTable

from fastcart_assets.bronze.parse import KafkaRecord, to_bronze_batch
from fastcart_assets.bronze.table import append_batch
from fastcart_assets.cli.main import cli
from fastcart_assets.maintenance import maintain
from fastcart_assets.settings import Settings
from fastcart_assets.tables import BRONZE
from fastcart_assets_tests.helpers import order_event

TODAY = datetime(2026, 11, 22, tzinfo=UTC)


def _bronze_day(spark, path, day, first_offset, n=5):
    records = [
        KafkaRecord(
            "t", 0, first_offset + i, None, b"k", json.dumps(order_event(first_offset + i)).encode()
        )
        for i in range(n)
    ]
    batch = to_bronze_batch(records, datetime.combine(day, datetime.min.time(), UTC), day)
    append_batch(spark, batch.table, path)


def test_retention_compaction_and_dry_run(spark, tmp_path, monkeypatch):
    monkeypatch.setenv("FASTCART_LAKE_ROOT", str(tmp_path / "lake"))
    settings = Settings.from_env()
    path = settings.table_path(BRONZE.path)
    old, recent = (TODAY - timedelta(days=120)).date(), (TODAY - timedelta(days=1)).date()
    _bronze_day(spark, path, old, 0)
    for k in range(4):  # several small commits of one recent day: files to compact
        _bronze_day(spark, path, recent, 100 + 10 * k)
    files_before = len(DeltaTable(path).file_uris())
    version_before = DeltaTable(path).version()

    [plan] = maintain(settings, TODAY.date(), dry_run=True)
    assert plan.expired_rows == 5 and plan.cutoff == (TODAY - timedelta(days=90)).date()
    assert DeltaTable(path).version() == version_before  # nothing changed

    [plan] = maintain(settings, TODAY.date(), dry_run=False)
    table = spark.read.format("delta").load(path)
    assert table.count() == 20
    assert table.where(f"ingestion_date = DATE'{old}'").count() == 0
    assert plan.files_after < files_before
    operations = [c["operation"] for c in DeltaTable(path).history(5)]
    assert "DELETE" in operations and "OPTIMIZE" in operations

    shown = CliRunner().invoke(cli, ["history", "bronze_ecommerce_sales"])
    assert shown.exit_code == 0 and "OPTIMIZE" in shown.output
    dry = CliRunner().invoke(cli, ["maintain", "--dry-run"])
    assert dry.exit_code == 0 and "dry run: nothing was changed" in dry.output


def test_maintenance_job_runs_in_dagster(spark, tmp_path):
    from fastcart_assets.jobs import maintenance_job
    from fastcart_assets.resources.lake import LakeResource

    root = str(tmp_path / "lake")
    path = Settings(lake_root=root).table_path(BRONZE.path)
    long_ago = (datetime.now(UTC) - timedelta(days=200)).date()
    _bronze_day(spark, path, long_ago, 0)
    _bronze_day(spark, path, datetime.now(UTC).date(), 10)
    result = maintenance_job.execute_in_process(resources={"lake": LakeResource(root=root)})
    assert result.success
    assert spark.read.format("delta").load(path).count() == 5
