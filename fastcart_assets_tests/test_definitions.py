"""The code location loads, and the Spark resource round-trips a partitioned Delta table."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from pyspark.sql import functions as F

from fastcart_assets.definitions import defs
from fastcart_assets.resources.spark import SparkResource

REPO = Path(__file__).resolve().parents[1]


def test_definitions_load_with_every_asset_and_sensor():
    repository = defs.get_repository_def()
    keys = {key.to_user_string() for key in repository.asset_graph.get_all_asset_keys()}
    assert "bronze/ecommerce_sales" in keys
    assert {"bronze/orders_cdc", "silver/orders_current", "silver/orders_history"} <= keys
    assert defs.get_sensor_def("kafka_new_data_sensor") is not None
    assert defs.get_sensor_def("kafka_cdc_sensor") is not None


def test_bronze_cdc_is_an_ingestion_asset_with_its_own_topic_pool_and_checks():
    graph = defs.resolve_asset_graph()
    cdc = graph.get(dg.AssetKey(["bronze", "orders_cdc"]))
    events = graph.get(dg.AssetKey(["bronze", "ecommerce_sales"]))
    pool = cdc.assets_def.op.pool
    assert cdc.is_materializable and pool == "delta_bronze_cdc" != events.assets_def.op.pool
    assert cdc.parent_keys == {dg.AssetKey(["kafka", "orders_cdc"])}
    assert {c.name for c in cdc.check_keys} == {c.name for c in events.check_keys}
    assert cdc.freshness_policy == events.freshness_policy
    assert cdc.assets_def.op.retry_policy == events.assets_def.op.retry_policy is not None
    resources = defs.resources
    assert resources["kafka_cdc"].topic == "fastcart.public.orders" != resources["kafka"].topic
    assert resources["kafka_cdc"].bootstrap_servers == resources["kafka"].bootstrap_servers


def test_delta_round_trip_through_the_spark_resource_in_materialize(tmp_path):
    path = str(tmp_path / "table")

    @dg.asset(partitions_def=dg.StaticPartitionsDefinition(["2025-01-01", "2025-01-02"]))
    def numbers(context: dg.AssetExecutionContext, spark: SparkResource) -> None:
        session = spark.spark_session
        frame = session.range(10).select(
            F.col("id"), F.lit(context.partition_key).cast("date").alias("day")
        )
        writer = frame.write.format("delta").partitionBy("day")
        if context.partition_key == "2025-01-01":
            writer.mode("overwrite").save(path)
        else:
            writer.mode("append").save(path)

    for key in ("2025-01-01", "2025-01-02"):
        assert dg.materialize(
            [numbers], partition_key=key, resources={"spark": SparkResource()}
        ).success
    session = SparkResource().spark_session
    table = session.read.format("delta").load(path)
    assert table.count() == 20
    assert sorted(str(r.day) for r in table.select("day").distinct().collect()) == [
        "2025-01-01",
        "2025-01-02",
    ]


def test_a_run_starts_the_embedded_engine_in_the_background_and_its_first_session_waits():
    """In a fresh process: the resource's setup returns at once, the engine starts on a thread,
    and the asset's session is the one that thread made ready (one server per process)."""
    script = """
import time
import dagster as dg
from fastcart_assets.resources import spark as resource

@dg.asset
def probe(spark: resource.SparkResource) -> int:
    return spark.spark_session.range(5).count()

started = time.perf_counter()
result = dg.materialize([probe], resources={"spark": resource.SparkResource()})
assert result.success and result.output_for_node("probe") == 5
assert 0 < resource.warm_up_seconds() < time.perf_counter() - started
url = resource.embedded_spark_url()
assert resource.spark_session().range(1).count() == 1 and resource.embedded_spark_url() == url
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=REPO
    )
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-2000:]


@pytest.mark.slow
def test_the_dg_command_line_sees_the_project(tmp_path):
    """`[tool.dg]` in pyproject.toml: `dg check defs` and `dg list defs` work in the project."""
    venv = Path(sys.executable).parent.parent
    env = {**os.environ, "VIRTUAL_ENV": str(venv), "DAGSTER_HOME": str(tmp_path)}
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    dg_cli = str(venv / "bin" / "dg")
    checked = subprocess.run(
        [dg_cli, "check", "defs"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert checked.returncode == 0, checked.stderr
    listed = subprocess.run(
        [dg_cli, "list", "defs", "--json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert listed.returncode == 0, listed.stderr
    assert (
        "silver_touched_dates_sensor" in listed.stdout and "bronze/ecommerce_sales" in listed.stdout
    )
