"""Silver in Dagster: reconciliation on a generated dirty stream, checks, blocking."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest

from fastcart_assets.bronze.assets import bronze_ecommerce_sales
from fastcart_assets.definitions import build_resources
from fastcart_assets.generator.orders import GeneratorConfig
from fastcart_assets.generator.producer import KafkaSink, generate
from fastcart_assets.kafka.topics import create_topic
from fastcart_assets.partitions import today_utc
from fastcart_assets.silver.assets import silver_ecommerce_sales
from fastcart_assets.silver.checks import INVARIANTS
from fastcart_assets.tables import SILVER


def _evaluations(result) -> list[dg.AssetCheckEvaluation]:
    return [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and e.asset_check_evaluation_data.asset_key.path[0] == "silver"
    ]


def _checks(result) -> dict[str, bool]:
    return {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and e.asset_check_evaluation_data.asset_key.path[0] == "silver"
    }


@pytest.mark.slow
def test_dirty_stream_reconciles_and_rule_checks_report_its_rates(spark, settings, kafka):
    create_topic(kafka, kafka.topic, 3)
    config = GeneratorConfig(
        start=datetime(2025, 11, 9, tzinfo=UTC), duration=None, orders=600, seed=21
    )
    summary = generate(
        config, dirty_rate=0.15, speed=0, sink=KafkaSink(kafka.producer(), kafka.topic)
    )
    result = dg.materialize(
        [bronze_ecommerce_sales, silver_ecommerce_sales],
        partition_key=today_utc().isoformat(),
        resources=build_resources(settings),
    )
    assert result.success
    checks = _checks(result)
    assert len(checks) == 14, checks  # nine rules, `erased`, four invariants
    assert all(checks[name] for name in INVARIANTS), checks  # the step's own invariants hold
    metadata = result.asset_materializations_for_node("silver_ecommerce_sales")
    silver_meta = next(m for m in metadata if m.asset_key.path == ["silver", "ecommerce_sales"])
    # Each rule's check reports the partition's rate of rows rejected for it / flagged by it.
    counts = {
        **silver_meta.metadata["rejected_by_reason"].value,
        **silver_meta.metadata["flagged_by_rule"].value,
    }
    rows_in = silver_meta.metadata["rows_in"].value
    for evaluation in _evaluations(result):
        if not evaluation.check_name.startswith("rule_"):
            continue
        rule = evaluation.check_name.removeprefix("rule_")
        numbers = {k: v.value for k, v in evaluation.metadata.items()}
        assert (numbers["rows_checked"], numbers["violations"]) == (rows_in, counts[rule])
        assert numbers["rate"] == pytest.approx(counts[rule] / rows_in, abs=1e-6)
        severity = "error" if numbers["rate"] > 0.10 else "warn" if numbers["rate"] > 0.02 else "ok"
        assert (numbers["severity"], evaluation.passed) == (severity, severity == "ok")
        assert evaluation.partition == today_utc().isoformat()
    errors = [name for name, value in counts.items() if value / rows_in > 0.10]
    assert silver_meta.metadata["dq_errors"].value == [f"rule_{name}" for name in errors]
    rejected = silver_meta.metadata["rejected"].value
    written = silver_meta.metadata["inserted"].value
    dropped = silver_meta.metadata["duplicates_dropped"].value
    assert silver_meta.metadata["replaced"].value == 0  # one Bronze day, processed once
    assert rejected + written + dropped == summary.messages
    assert dropped >= summary.defects["duplicate"]
    assert rejected >= summary.defects["malformed_json"]
    assert silver_meta.metadata["touched_dates"].value  # generated events are dated
    table = spark.read.format("delta").load(settings.table_path(SILVER.path))
    assert table.count() == written


@pytest.mark.slow
def test_a_failed_blocking_check_stops_downstream(spark, settings, kafka):
    from fastcart_assets.silver.assets import SILVER_KEY

    @dg.asset(deps=[SILVER_KEY], partitions_def=silver_ecommerce_sales.partitions_def)
    def downstream() -> None:
        """Stands in for Gold."""

    create_topic(kafka, kafka.topic, 1)
    generate(
        GeneratorConfig(start=datetime(2025, 11, 9, tzinfo=UTC), duration=None, orders=20, seed=1),
        speed=0,
        sink=KafkaSink(kafka.producer(), kafka.topic),
    )
    resources = build_resources(settings)
    first = dg.materialize(
        [bronze_ecommerce_sales, silver_ecommerce_sales, downstream],
        partition_key=today_utc().isoformat(),
        resources=resources,
    )
    assert first.success
    # Tamper with Silver: duplicate one row, so the uniqueness check (blocking) fails.
    path = settings.table_path(SILVER.path)
    spark.read.format("delta").load(path).limit(1).write.format("delta").mode("append").save(path)
    second = dg.materialize(
        [silver_ecommerce_sales, downstream],
        partition_key=today_utc().isoformat(),
        resources=resources,
        raise_on_error=False,
    )
    assert _checks(second)["unique_order_id_timestamp"] is False
    assert not second.success
    downstream_events = [
        e.event_type_value for e in second.all_events if e.step_key == "downstream"
    ]
    assert "STEP_START" not in downstream_events and "STEP_SUCCESS" not in downstream_events
    assert any(
        e.event_type_value == "STEP_SUCCESS" and e.step_key == "downstream"
        for e in first.all_events
    )  # it did run when the checks passed
