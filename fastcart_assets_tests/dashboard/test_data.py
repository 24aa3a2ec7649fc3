"""The dashboard's data functions and pages without a pipeline run: formats, masking, picking
the day, rule thresholds and severities, and an empty or half-written lake."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
from deltalake import write_deltalake
from streamlit.testing.v1 import AppTest

from fastcart_assets import dashboard
from fastcart_assets.dashboard import ui
from fastcart_assets.dashboard.data import customers, quality, sales
from fastcart_assets.dashboard.data.lake import RULE_METRICS_TABLE, LakeReader, latest_day
from fastcart_assets.settings import Settings

APP = Path(dashboard.__file__).with_name("app.py")


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("jane.doe@example.org", "j•••@e•••.org"),
        ("a@b.co.uk", "a•••@b•••.uk"),
        ("x@localhost", "x•••@l•••"),
        ("not an address", "•••"),
        (None, None),
    ],
)
def test_mask_email_keeps_first_letters_and_top_level_domain_only(email, masked):
    assert customers.mask_email(email) == masked


def test_latest_day_ignores_future_partitions():
    days = [date(2026, 1, 1), date(2026, 1, 3), date(2026, 1, 9)]
    assert latest_day(days, date(2026, 1, 5)) == date(2026, 1, 3)
    assert latest_day(days, date(2025, 12, 1)) == date(2026, 1, 1)
    assert latest_day([], date(2026, 1, 5)) is None


def test_tile_formats_and_changes():
    assert ui.money(1234567.891) == "$1,234,567.89"
    assert ui.count(1234.0) == "1,234" and ui.count(None) == "—"
    assert ui.percent(17.7033) == "17.70 %"
    assert ui.change("money", 10.0, 12.5) == "-$2.50"
    assert ui.change("percent", 12.0, 10.75) == "+1.25 pp"
    assert ui.change("count", 5, None) is None


def _lake(tmp_path) -> LakeReader:
    return LakeReader(Settings(lake_root=str(tmp_path / "lakehouse")))


def test_a_missing_lake_reads_as_empty_frames(tmp_path):
    lake = _lake(tmp_path)
    assert lake.rows("bronze/ecommerce_sales") is None
    assert sales.sales_dates(lake) == []
    tiles = sales.sales_tiles(lake, date(2026, 1, 2))
    assert tiles["value"].isna().all() and list(tiles["key"])[0] == "created"
    assert sales.hourly_revenue(lake, date(2026, 1, 2)).empty
    assert customers.top_customers(lake, date(2026, 1, 2)).empty
    assert quality.data_age(lake, datetime.now(UTC)).as_of is None
    assert quality.layer_rows(lake).empty and quality.reconciliation(lake).empty
    rates, source = quality.rule_rates(lake)
    assert rates.empty and source != RULE_METRICS_TABLE


def test_rule_metrics_without_the_expected_columns_falls_back(tmp_path):
    lake = _lake(tmp_path)
    write_deltalake(lake.path(RULE_METRICS_TABLE), pd.DataFrame({"something": [1]}))
    _, source = quality.rule_rates(lake)
    assert source != RULE_METRICS_TABLE


def test_severities_follow_the_thresholds_and_read_fraction_or_percent():
    limits = quality.rule_thresholds().set_index("rule")
    rated = limits.drop(index="erased")  # `erased` is counted, never rated: 100%
    assert set(rated["warn_rate"]) == {2.0} and set(rated["error_rate"]) == {10.0}
    assert tuple(limits.loc["erased", ["warn_rate", "error_rate"]]) == (100.0, 100.0)
    frame = pd.DataFrame({"rule": ["invalid_total"] * 4, "rate": [1.0, 2.0, 2.5, 10.5]})
    assert list(quality._severities(frame)) == ["ok", "ok", "warn", "error"]
    assert quality._percent(0.02) == 2.0 and quality._percent(5) == 5


@pytest.mark.parametrize("page", [None, "customers", "quality"])
def test_an_empty_lake_says_no_data_yet_and_how_to_get_some(page, tmp_path, monkeypatch):
    monkeypatch.setenv("FASTCART_LAKE_ROOT", str(tmp_path / "nothing-here"))
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    if page:
        app.switch_page(f"pages/{page}.py").run()
    assert not app.exception, [e.value for e in app.exception]
    [message] = app.info
    assert "No data yet" in message.value and "make demo" in message.value
    assert not app.metric
    assert "no Bronze data yet" in app.markdown[0].value


def test_computed_rule_rates_count_reasons_and_flags_of_processed_partitions(tmp_path):
    lake = _lake(tmp_path)
    d1, d2 = date(2026, 1, 1), date(2026, 1, 2)
    bronze = pd.DataFrame({"ingestion_date": [d1] * 10 + [d2] * 5, "kafka_offset": range(15)})
    write_deltalake(lake.path("bronze/ecommerce_sales"), bronze, partition_by=["ingestion_date"])
    silver = pd.DataFrame(
        {
            "silver_ingestion_date": [d1] * 7,
            "status": ["pending"] * 7,
            "data_quality_score": [True] * 5 + [False] * 2,
            "dq_failures": [[]] * 5 + [["invalid_status"], ["invalid_status", "total_mismatch"]],
        }
    )
    write_deltalake(
        lake.path("silver/ecommerce_sales"), silver, partition_by=["silver_ingestion_date"]
    )
    rejected = pd.DataFrame(
        {
            "silver_ingestion_date": [d1] * 2,
            "rejection_reasons": [["malformed_json"], ["missing_order_id", "invalid_total"]],
        }
    )
    write_deltalake(
        lake.path("silver/ecommerce_sales_rejected"),
        rejected,
        partition_by=["silver_ingestion_date"],
    )
    rates, source = quality.rule_rates(lake)
    assert source != RULE_METRICS_TABLE
    assert set(rates["date"]) == {d1}  # Silver has not processed d2 yet
    by_rule = rates.set_index("rule")
    assert by_rule.loc["invalid_status", "violations"] == 2
    assert by_rule.loc["invalid_status", "rate"] == pytest.approx(20.0)
    assert by_rule.loc["invalid_status", "severity"] == "error"  # 20 % > 10 %
    assert by_rule.loc["malformed_json", "rate"] == pytest.approx(10.0)
    assert by_rule.loc["malformed_json", "severity"] == "warn"
    assert by_rule.loc["future_timestamp", "violations"] == 0
    assert set(by_rule["rows_checked"]) == {10}
    reasons = quality.rejected_by_reason(lake, d1).set_index("reason")["rows"]
    assert reasons["invalid_total"] == 1 and reasons["invalid_timestamp"] == 0
    recon = quality.reconciliation(lake).set_index("date")
    assert recon.loc[d1, "duplicates_dropped"] == 10 - 7 - 2


def test_thresholds_come_from_per_rule_settings_where_settings_define_them():
    class Limits:
        warn_rate, error_rate = 0.05, 0.2

    class WithThresholds(Settings):
        def threshold(self, rule: str) -> Limits:
            return Limits

    limits = quality.rule_thresholds(WithThresholds()).set_index("rule").drop(index="erased")
    assert set(limits["warn_rate"]) == {5.0} and set(limits["error_rate"]) == {20.0}
    frame = pd.DataFrame({"rule": ["invalid_total"] * 2, "rate": [4.0, 6.0]})
    assert list(quality._severities(frame, WithThresholds())) == ["ok", "warn"]
