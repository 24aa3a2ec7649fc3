"""`fastcart run` end to end on a dirty stream, then a late event moving Gold numbers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from fastcart_assets.cli.main import cli
from fastcart_assets.generator.orders import GeneratorConfig, format_timestamp
from fastcart_assets.generator.producer import KafkaSink, generate
from fastcart_assets.kafka.topics import create_topic
from fastcart_assets.partitions import today_utc
from fastcart_assets.resources.spark import spark_session
from fastcart_assets.validation import validate
from fastcart_assets_tests.helpers import order_event, produce


def _run():
    return CliRunner().invoke(cli, ["run"], catch_exceptions=False)


def _gold(spark, settings, table):
    path = settings.table_path(f"gold/sales_performance/{table}")
    return {r.date: r for r in spark.read.format("delta").load(path).collect()}


@pytest.mark.slow
def test_run_reconciles_a_dirty_stream_and_picks_up_late_data(settings, kafka):
    create_topic(kafka, kafka.topic, 3)
    start = datetime.combine(today_utc() - timedelta(days=3), datetime.min.time(), UTC)
    config = GeneratorConfig(
        start=start, duration=timedelta(days=2), min_delay_s=60, max_delay_s=240, seed=5
    )
    generate(config, dirty_rate=0.1, speed=0, sink=KafkaSink(kafka.producer(), kafka.topic))

    first = _run()
    assert first.exit_code == 0, first.output
    # 10% defects spread over six kinds: some rules may be above their 2% warn rate (a WARN,
    # never an ERROR at 10%), every other check passes.
    failed = [line.split(":", 2)[2] for line in first.output.splitlines() if "check failed" in line]
    assert all(name.startswith("rule_") for name in failed), first.output
    spark = spark_session()
    report = validate(spark, settings)
    assert report.passed, [c for c in report.reconciliations + report.spot_checks if not c.passed]
    assert report.counts["silver/ecommerce_sales"] > 0
    assert report.duplicates_dropped > 0 and sum(report.rejected_by_reason.values()) > 0

    # A late order: created three days ago, shipped two days ago, both events arrive only now.
    created_day, shipped_day = start.date(), start.date() + timedelta(days=1)
    late = [
        order_event(
            99_999_991,
            status="pending",
            timestamp=f"{created_day}T08:00:00Z",
            total=1000.0,
            price=500.0,
            quantity=2,
            product_id="PROD-099",
        ),
        order_event(
            99_999_991,
            status="shipped",
            timestamp=f"{shipped_day}T09:30:00Z",
            total=1000.0,
            price=500.0,
            quantity=2,
            product_id="PROD-099",
        ),
    ]
    before_conversion = _gold(spark, settings, "conversion_metrics")[created_day]
    before_revenue = {r.product_id for r in _gold_rows(spark, settings, shipped_day)}
    producer = kafka.producer()
    for event in late:
        producer.produce(
            kafka.topic, key=event["order_id"].encode(), value=json.dumps(event).encode()
        )
    assert producer.flush(10) == 0

    second = _run()
    assert second.exit_code == 0, second.output
    after_conversion = _gold(spark, settings, "conversion_metrics")[created_day]
    assert after_conversion.total_orders_created == before_conversion.total_orders_created + 1
    assert after_conversion.total_orders_shipped == before_conversion.total_orders_shipped + 1
    products = {r.product_id: r for r in _gold_rows(spark, settings, shipped_day)}
    assert "PROD-099" not in before_revenue
    assert products["PROD-099"].total_revenue == 1000.0
    assert validate(spark, settings).passed


def _gold_rows(spark, settings, day):
    path = settings.table_path("gold/sales_performance/daily_product_revenue")
    return spark.read.format("delta").load(path).where(f"date = DATE'{day}'").collect()


def test_format_timestamp_is_the_seed_format():
    assert format_timestamp(datetime(2025, 11, 9, 15, 55, 40, 669190)) == (
        "2025-11-09T15:55:40.669190Z"
    )


@pytest.mark.slow
def test_query_sql_and_validate_on_a_tampered_lake(settings, kafka):
    create_topic(kafka, kafka.topic, 2)
    start = datetime.combine(today_utc() - timedelta(days=1), datetime.min.time(), UTC)
    generate(
        GeneratorConfig(
            start=start, duration=timedelta(hours=12), min_delay_s=60, max_delay_s=120, seed=8
        ),
        dirty_rate=0.05,
        speed=0,
        sink=KafkaSink(kafka.producer(), kafka.topic),
    )
    assert _run().exit_code == 0
    runner = CliRunner()
    queried = runner.invoke(cli, ["query", "conversion_metrics", "--limit", "3"])
    assert queried.exit_code == 0 and "total_orders_created" in queried.output
    counted = runner.invoke(cli, ["sql", "SELECT count(*) AS n FROM silver_ecommerce_sales"])
    assert counted.exit_code == 0 and "(1 rows shown)" in counted.output
    bad = runner.invoke(cli, ["sql", "SELECT nope FROM silver_ecommerce_sales"])
    assert bad.exit_code == 1 and "Traceback" not in bad.output
    unknown = runner.invoke(cli, ["query", "no_such_table"])
    assert unknown.exit_code == 1 and "unknown table" in unknown.output
    assert runner.invoke(cli, ["validate"]).exit_code == 0

    # Losing Silver rows breaks the reconciliation: validate says so and exits 1.
    spark = spark_session()
    silver = settings.table_path("silver/ecommerce_sales")
    spark.sql(f"DELETE FROM delta.`{silver}` WHERE kafka_offset % 10 = 3")
    tampered = runner.invoke(cli, ["validate"])
    assert tampered.exit_code == 1
    assert "[FAIL] Bronze rows = Silver + rejected + dropped duplicates" in tampered.output


@pytest.mark.slow
def test_an_event_dated_2001_is_flagged_and_never_reaches_gold(settings, kafka):
    yesterday = today_utc() - timedelta(days=1)
    # 60 events of yesterday and one of 2001: 1.6% stale, below the 2% warn rate.
    events = [
        order_event(i, status=status, timestamp=f"{yesterday}T{i % 24:02d}:{minute}:00Z")
        for i in range(30)
        for status, minute in (("pending", "00"), ("shipped", "30"))
    ]
    events.append(order_event(77, status="shipped", timestamp="2001-06-01T10:00:00Z"))
    produce(kafka, [json.dumps(e).encode() for e in events])

    result = _run()
    assert result.exit_code == 0, result.output
    spark = spark_session()
    silver = spark.read.format("delta").load(settings.table_path("silver/ecommerce_sales"))
    flags = {r.order_id: r.dq_failures for r in silver.collect()}
    assert flags["ORD-00000077"] == ["stale_timestamp"]
    # Never 2001. Today may hold the zeros of a date recomputed without data: both Gold groups
    # ran over yesterday..today in one run.
    for table in ("daily_product_revenue", "hourly_order_trends", "conversion_metrics"):
        dates = set(_gold(spark, settings, table))
        assert yesterday in dates and dates <= {yesterday, today_utc()}, table
    snapshots = settings.table_path("gold/customer_analytics/customer_segments")
    days = {r.snapshot_date for r in spark.read.format("delta").load(snapshots).collect()}
    assert min(days) == yesterday


@pytest.mark.slow
def test_a_clean_day_mixed_with_every_poison_class_runs_green(settings, kafka, spark):
    """A day of orders plus one record of every poison class: `fastcart run` succeeds, every
    record is in Bronze exactly once, Silver flags what it must, `fastcart validate` exits 0 and
    no Gold partition precedes FASTCART_FIRST_DATE."""
    from fastcart_assets.partitions import FIRST_DATE
    from fastcart_assets.tables import BRONZE, GOLD, SILVER
    from fastcart_assets_tests.bronze.helpers import (
        Spec,
        produce_specs,
        produce_with_raw_header_key,
    )

    create_topic(kafka, kafka.topic, 3)
    start = datetime.now(UTC) - timedelta(hours=20)
    clean = GeneratorConfig(
        start=start, duration=timedelta(hours=18), min_delay_s=30, max_delay_s=90, seed=21
    )
    summary = generate(
        clean, dirty_rate=0.0, speed=0, sink=KafkaSink(kafka.producer(), kafka.topic)
    )
    now = datetime.now(UTC)
    today = (
        f"{now:%Y-%m-%d}T00:00:03Z"  # a year-old valid event would recompute a year of snapshots
    )
    huge = order_event(
        90_000_001, total=1e35, price=1e35, quantity=1, timestamp=f"{now:%Y-%m-%d}T00:00:01Z"
    )
    poison = [
        Spec(timestamp_ms=2**63 - 1),  # beyond any calendar
        Spec(timestamp_ms=1_700_000_000_000_000_000),  # a clock in nanoseconds
        Spec(timestamp_ms=-42),  # negative
        Spec(value=None),  # tombstone
        Spec(value=b""),
        Spec(key=None),
        Spec(key=b"\xff\x00\xc3("),  # not UTF-8
        Spec(headers=(("trace", b"\x00"), ("trace", None), ("\u00e9", b""))),
        Spec(
            value=json.dumps(
                order_event(90_000_002, product_name="x" * (1 << 20), timestamp=today)
            ).encode()
        ),
        Spec(value=b'{"order_id": "ORD-9", "total": '),  # malformed
        Spec(value=json.dumps(order_event(90_000_003, timestamp="2001-05-01T10:00:00Z")).encode()),
        Spec(value=json.dumps(order_event(90_000_004, timestamp="2999-01-01T00:00:00Z")).encode()),
        Spec(value=json.dumps(huge).encode()),
        Spec(
            value=json.dumps(
                {**huge, "status": "shipped", "timestamp": f"{now:%Y-%m-%d}T00:00:02Z"}
            ).encode()
        ),
    ]
    produce_specs(kafka, poison, partitions=3)
    produce_with_raw_header_key(kafka, b"\xff\xfe", b'{"order_id": "ORD-00000009"}')
    produced = summary.messages + len(poison) + 1

    result = _run()
    assert result.exit_code == 0, result.output
    bronze = spark.read.format("delta").load(settings.table_path(BRONZE.path))
    coordinates = bronze.select("kafka_incarnation", "kafka_partition", "kafka_offset")
    assert bronze.count() == coordinates.distinct().count() == produced
    silver = spark.read.format("delta").load(settings.table_path(SILVER.path))
    flags = {
        r.order_id: r.dq_failures for r in silver.where("order_id LIKE 'ORD-9000000%'").collect()
    }
    assert (
        "stale_timestamp" in flags["ORD-90000003"] and "future_timestamp" in flags["ORD-90000004"]
    )
    assert CliRunner().invoke(cli, ["validate"]).exit_code == 0
    for table in GOLD:
        frame = spark.read.format("delta").load(settings.table_path(table.path))
        earliest = frame.agg({table.date_column: "min"}).collect()[0][0]
        assert earliest is None or earliest >= FIRST_DATE, table.path
