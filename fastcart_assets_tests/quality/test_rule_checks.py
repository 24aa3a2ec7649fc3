"""A backfill of a clean and a dirty day in one run: every check is evaluated per partition with
numbers, the dirty day is at ERROR on malformed_json (and its events say so), the clean day
proceeds, and `quality/rule_metrics` holds one row per date and rule, replaced on reprocessing."""

from __future__ import annotations

import json
from types import MappingProxyType

import dagster as dg
import pytest

from fastcart_assets.definitions import build_definitions
from fastcart_assets.progress import RANGE_END_TAG, RANGE_START_TAG
from fastcart_assets.settings import RuleThreshold, Settings
from fastcart_assets.silver.assets import (
    DQ_ERRORS,
    REJECTED_KEY,
    RULE_METRICS_KEY,
    SILVER_KEY,
    TOUCHED_DATES,
)
from fastcart_assets.silver.checks import INVARIANTS
from fastcart_assets.silver.rules import RULES
from fastcart_assets.tables import RULE_METRICS
from fastcart_assets_tests.helpers import order_event
from fastcart_assets_tests.silver.conftest import D1, D2, T1, T2

KEYS = [SILVER_KEY, REJECTED_KEY, RULE_METRICS_KEY]


def _fill(lake) -> None:
    """D1: 20 clean events. D2: 14 clean events and 6 malformed payloads (30%)."""
    lake.add_bronze([order_event(i) for i in range(20)], D1, T1)
    dirty = [order_event(100 + i) for i in range(14)] + [b"{broken"] * 6
    lake.add_bronze(dirty, D2, T2, first_offset=20)


def _run(settings: Settings, instance, *days):
    job = build_definitions(settings).get_implicit_global_asset_job_def()
    if len(days) == 1:
        return job.execute_in_process(
            asset_selection=KEYS, partition_key=days[0].isoformat(), instance=instance
        )
    tags = {
        RANGE_START_TAG: days[0].isoformat(),
        RANGE_END_TAG: days[-1].isoformat(),
    }
    return job.execute_in_process(asset_selection=KEYS, tags=tags, instance=instance)


def _evaluations(result) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {
        (e.asset_check_evaluation_data.check_name, e.asset_check_evaluation_data.partition): (
            e.asset_check_evaluation_data
        )
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }


def _silver_events(result) -> dict[str, dg.AssetMaterialization]:
    return {
        m.partition: m
        for m in result.asset_materializations_for_node("silver_ecommerce_sales")
        if m.asset_key == SILVER_KEY
    }


def _metrics(lake) -> dict[tuple, object]:
    rows = lake.spark.read.format("delta").load(lake.settings.table_path(RULE_METRICS.path))
    return {(r.date, r.rule): r for r in rows.collect()}


@pytest.fixture
def instance():
    with dg.instance_for_test() as test_instance:
        yield test_instance


@pytest.mark.slow
def test_a_range_is_checked_per_partition_and_an_error_blocks_only_its_partition(lake, instance):
    _fill(lake)
    result = _run(lake.settings, instance, D1, D2)
    assert result.success  # a rate ERROR never fails the step: the clean day proceeds
    evaluations = _evaluations(result)
    names = [f"rule_{r.name}" for r in RULES] + list(INVARIANTS)
    assert set(evaluations) == {(n, d.isoformat()) for n in names for d in (D1, D2)}

    dirty = evaluations[("rule_malformed_json", D2.isoformat())]
    numbers = {k: v.value for k, v in dirty.metadata.items()}
    assert (dirty.passed, dirty.severity, dirty.blocking) == (
        False,
        dg.AssetCheckSeverity.ERROR,
        False,
    )
    assert numbers["rows_checked"] == 20 and numbers["violations"] == 6
    assert numbers["rate"] == pytest.approx(0.3)
    assert (numbers["warn_rate"], numbers["error_rate"]) == (0.02, 0.10)
    assert "30.00%" in dirty.description
    failed = {key for key, e in evaluations.items() if not e.passed}
    # A malformed payload also lacks every other hard field, so each hard rule is at 30% on D2
    # (`erased` is counted, never rated).
    assert failed == {
        (f"rule_{r.name}", D2.isoformat()) for r in RULES if r.kind == "hard" and r.rated
    }
    assert all(evaluations[(name, D2.isoformat())].passed for name in INVARIANTS)

    events = _silver_events(result)
    assert set(events) == {D1.isoformat(), D2.isoformat()}
    assert events[D1.isoformat()].metadata[DQ_ERRORS].value == []
    assert events[D2.isoformat()].metadata[DQ_ERRORS].value == [
        f"rule_{r.name}" for r in RULES if r.kind == "hard" and r.rated
    ]
    assert events[D1.isoformat()].metadata[TOUCHED_DATES].value == ["2025-11-09"]
    assert events[D1.isoformat()].metadata["rows_in"].value == 20
    assert events[D2.isoformat()].metadata["rejected"].value == 6
    assert events[D2.isoformat()].metadata["dagster/partition_row_count"].value == 14

    # What the UI reads: one execution per partition in the check's history.
    history = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(SILVER_KEY, "rule_malformed_json"), limit=10
    )
    assert {(h.partition, h.status.value) for h in history} == {
        (D1.isoformat(), "SUCCEEDED"),
        (D2.isoformat(), "FAILED"),
    }

    metrics = _metrics(lake)
    assert len(metrics) == 2 * len(RULES)
    row = metrics[(D2, "malformed_json")]
    assert (row.kind, row.rows_checked, row.violations, row.severity, row.run_id) == (
        "hard",
        20,
        6,
        "error",
        result.run_id,
    )
    assert row.rate == pytest.approx(0.3)
    assert metrics[(D1, "malformed_json")].severity == "ok"


@pytest.mark.slow
def test_reprocessing_replaces_the_metrics_of_its_date_with_the_settings_rates(lake, instance):
    _fill(lake)
    first = _run(lake.settings, instance, D1, D2)
    lenient = Settings(
        lake_root=lake.root,
        rule_thresholds=MappingProxyType({"malformed_json": RuleThreshold(0.25, 0.5)}),
    )
    again = _run(lenient, instance, D2)
    dirty = _evaluations(again)[("rule_malformed_json", D2.isoformat())]
    assert (dirty.passed, dirty.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert dirty.metadata["error_rate"].value == 0.5
    errors = _silver_events(again)[D2.isoformat()].metadata[DQ_ERRORS].value
    assert "rule_malformed_json" not in errors and "rule_missing_order_id" in errors

    metrics = _metrics(lake)
    assert len(metrics) == 2 * len(RULES)  # replaced, not duplicated
    assert metrics[(D2, "malformed_json")].severity == "warn"
    assert metrics[(D2, "malformed_json")].run_id == again.run_id
    assert metrics[(D1, "malformed_json")].run_id == first.run_id  # D1 untouched
    assert json.loads(json.dumps(errors)) == errors  # machine-readable as JSON


@pytest.mark.slow
def test_validate_prints_each_rules_rate_and_severity(lake, instance, monkeypatch):
    from click.testing import CliRunner

    from fastcart_assets.cli.main import cli
    from fastcart_assets.validation import validate

    _fill(lake)
    _run(lake.settings, instance, D1, D2)
    summaries = {s.rule: s for s in validate(lake.spark, lake.settings).rules}
    assert list(summaries) == [r.name for r in RULES]  # registry order
    malformed = summaries["malformed_json"]
    assert (malformed.partitions, malformed.rows_checked, malformed.violations) == (2, 40, 6)
    assert (malformed.worst, malformed.error_dates) == ("error", [D2])
    assert malformed.rate == pytest.approx(0.15)
    assert summaries["invalid_status"].worst == "ok"

    monkeypatch.setenv("FASTCART_LAKE_ROOT", lake.root)
    sql = "SELECT severity FROM quality_rule_metrics WHERE rule = 'malformed_json' ORDER BY date"
    output = CliRunner().invoke(cli, ["sql", sql], catch_exceptions=False).output
    assert output.splitlines()[:3] == ["severity", "ok", "error"]
    output = CliRunner().invoke(cli, ["validate"], catch_exceptions=False).output
    [line] = [x for x in output.splitlines() if x.strip().startswith("malformed_json")]
    assert "15.00%" in line and "ERROR on 2025-11-11" in line
    [line] = [x for x in output.splitlines() if x.strip().startswith("stale_timestamp")]
    assert "0.00%" in line and line.rstrip().endswith("OK")
