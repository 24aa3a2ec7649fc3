"""Safe by default: no data in SQL text, a read-only `fastcart sql`, writers that never race."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
from click.testing import CliRunner

from fastcart_assets.cli.main import cli
from fastcart_assets.definitions import build_resources
from fastcart_assets.delta import merge_into
from fastcart_assets.kafka.topics import create_topic
from fastcart_assets.locks import table_lock
from fastcart_assets.maintenance import maintain_table
from fastcart_assets.resources.spark import spark_session
from fastcart_assets.sensors import kafka_sensor
from fastcart_assets.sql_guard import WriteRefused, check_read_only
from fastcart_assets.tables import BRONZE, SILVER
from fastcart_assets.validation import validate
from fastcart_assets_tests.helpers import order_event

FASTCART = str(Path(sys.executable).with_name("fastcart"))
CRAFTED = "PROD-'; DELETE FROM silver_ecommerce_sales; --"


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM gold_top_products",
        "  with t as (select 1 as x) select * from t;",
        "SELECT 'DELETE FROM x' AS text, `update` FROM silver_ecommerce_sales -- DROP TABLE y",
        "DESCRIBE silver_ecommerce_sales",
        "EXPLAIN SELECT 1",
    ],
)
def test_queries_are_read_only(statement):
    check_read_only(statement)


@pytest.mark.parametrize(
    ("statement", "said"),
    [
        ("DELETE FROM silver_ecommerce_sales", "DELETE is not a query"),
        ("update silver_ecommerce_sales set total = 0", "UPDATE is not a query"),
        ("MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE", "MERGE is not a query"),
        ("WITH s AS (SELECT 1) INSERT INTO t SELECT * FROM s", "contains INSERT"),
        ("SELECT 1; DROP TABLE t", "one statement at a time"),
        ("/* hi */ CREATE TABLE t AS SELECT 1", "CREATE is not a query"),
        ("", "nothing is not a query"),
    ],
)
def test_statements_that_change_tables_are_refused(statement, said):
    with pytest.raises(WriteRefused, match=said):
        check_read_only(statement)


def test_the_sql_command_refuses_dml_unless_allowed(settings, spark):
    spark.range(3).write.format("delta").save(settings.table_path(BRONZE.path))
    runner = CliRunner()
    refused = runner.invoke(cli, ["sql", "DELETE FROM bronze_ecommerce_sales"])
    assert refused.exit_code == 1
    assert "--allow-write" in refused.output and "Traceback" not in refused.output
    path = settings.table_path(BRONZE.path)
    allowed = runner.invoke(
        cli, ["sql", "--allow-write", f"DELETE FROM delta.`{path}` WHERE id = 1"]
    )
    assert allowed.exit_code == 0, allowed.output
    assert spark.read.format("delta").load(path).count() == 2


def test_maintenance_waits_for_a_writer_of_the_same_table(settings, spark):
    path = settings.table_path(BRONZE.path)
    spark.range(5).selectExpr("id", "current_date() AS ingestion_date").write.format("delta").save(
        path
    )
    released = threading.Event()

    def writer() -> None:
        with table_lock(path):
            time.sleep(2.0)
            released.set()

    thread = threading.Thread(target=writer)
    thread.start()
    time.sleep(0.3)
    plan = maintain_table(settings, BRONZE, datetime.now(UTC).date(), dry_run=False)
    assert released.is_set(), "maintenance ran while the writer held the table"
    assert plan is not None and plan.files_after is not None
    thread.join()


@pytest.mark.slow
def test_a_crafted_product_id_flows_through_validation_as_a_value(settings, kafka):
    create_topic(kafka, kafka.topic, 1)
    now = datetime.now(UTC).replace(microsecond=0)
    events = [
        order_event(
            i,
            status=status,
            timestamp=f"{now:%Y-%m-%d}T00:00:0{seconds}Z",
            product_id=pid,
            total=t,
            price=t,
            quantity=1,
        )
        for i, pid, t in ((1, CRAFTED, 9999.0), (2, "PROD-001", 10.0))
        for status, seconds in (("pending", 1), ("shipped", 2))
    ]
    producer = kafka.producer()
    for event in events:
        producer.produce(
            kafka.topic, key=event["order_id"].encode(), value=json.dumps(event).encode()
        )
    assert producer.flush(10) == 0
    assert CliRunner().invoke(cli, ["run"], catch_exceptions=False).exit_code == 0
    report = validate(spark_session(), settings)
    assert report.passed
    [spot] = [c for c in report.spot_checks if "revenue of" in c.name]
    assert CRAFTED in spot.name and spot.expected == spot.actual == 9999.0
    assert report.counts["silver/ecommerce_sales"] == 4  # the "DELETE" was only ever a value


def _damage(path: str, how: str) -> None:
    log = Path(path) / "_delta_log"
    if how == "corrupt":
        sorted(log.glob("*.json"))[-1].write_text("{not json")
    else:
        shutil.rmtree(log)


@pytest.mark.parametrize(
    ("how", "said"), [("corrupt", "cannot be read"), ("deleted", "no Delta log")]
)
def test_a_damaged_delta_log_is_reported_by_query_validate_and_the_sensor(
    settings, spark, how, said
):
    path = settings.table_path(BRONZE.path)
    spark.range(3).write.format("delta").save(path)
    spark.range(3, 6).write.format("delta").mode("append").save(path)
    _damage(path, how)
    runner = CliRunner()
    for command in (["query", "bronze_ecommerce_sales"], ["validate"], ["sql", "SELECT 1"]):
        result = runner.invoke(cli, command)
        assert result.exit_code == 1, (command, result.output)
        assert said in result.output and "Traceback" not in result.output, result.output
    resources = build_resources(settings)
    with dg.build_sensor_context(
        resources={"kafka": resources["kafka"], "lake": resources["lake"]}
    ) as context:
        skipped = kafka_sensor(interval_s=60)(context)
    assert isinstance(skipped, dg.SkipReason) and said in skipped.skip_message


def test_run_with_the_broker_down_answers_in_one_line_within_seconds(tmp_path):
    from fastcart_assets.kafka.broker import free_port

    env = {
        "PATH": "/usr/bin:/bin",
        "FASTCART_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}",  # nothing listens there
        "FASTCART_LAKE_ROOT": str(tmp_path / "lake"),
        "DAGSTER_HOME": str(tmp_path / "home"),
    }
    started = time.monotonic()
    result = subprocess.run(
        [FASTCART, "run"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert time.monotonic() - started < 30
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: cannot reach Kafka at 127.0.0.1:")
    assert "is the broker running?" in lines[0]


@pytest.mark.parametrize(
    ("group", "source", "layer"),
    [
        ("silver", "bronze/ecommerce_sales keeps 90 days", BRONZE),
        ("gold", "silver/ecommerce_sales keeps 365 days", SILVER),
    ],
)
@pytest.mark.slow
def test_a_recompute_whose_inputs_retention_deleted_is_refused_and_writes_nothing(
    settings, spark, group, source, layer
):
    from datetime import timedelta

    from deltalake import DeltaTable

    from fastcart_assets.definitions import build_definitions
    from fastcart_assets.delta import record_retention
    from fastcart_assets.partitions import today_utc

    cutoff = today_utc() - timedelta(days=layer.retention_days)
    input_path = settings.table_path(layer.path)
    spark.range(1).write.format("delta").save(input_path)
    record_retention(DeltaTable(input_path), cutoff)  # as maintenance does
    defs = build_definitions(settings)
    job = defs.resolve_implicit_global_asset_job_def()
    keys = [k for k in defs.resolve_asset_graph().get_all_asset_keys() if k.path[0] == group]
    keys = [k for k in keys if k.path[1] in ("ecommerce_sales", "sales_performance")][:1]
    expired = (cutoff - timedelta(days=1)).isoformat()
    result = job.execute_in_process(
        asset_selection=keys, partition_key=expired, raise_on_error=False
    )
    assert not result.success
    [failure] = result.get_step_failure_events()
    message = failure.step_failure_data.user_failure_data.description
    assert source in message and "cannot be recomputed" in message
    written = {
        p.parent.parent.relative_to(settings.lake_root)
        for p in Path(settings.lake_root).glob("**/_delta_log/*.json")
    }
    assert {str(w) for w in written} == {layer.path}
    kept = job.execute_in_process(
        asset_selection=keys, partition_key=cutoff.isoformat(), raise_on_error=False
    )
    assert "cannot be recomputed" not in str(
        [e.step_failure_data.user_failure_data for e in kept.get_step_failure_events()]
    )


def test_a_table_path_in_sql_text_is_quoted_not_spliced(spark, tmp_path):
    """MERGE names its table by path: a backtick in the path stays part of the path."""
    path = str(tmp_path / "a`b; DROP TABLE x; --" / "t")
    spark.range(3).write.format("delta").save(path)
    merge_into(spark, path, spark.range(5), "ON t.id = s.id WHEN NOT MATCHED THEN INSERT *")
    assert spark.read.format("delta").load(path).count() == 5
