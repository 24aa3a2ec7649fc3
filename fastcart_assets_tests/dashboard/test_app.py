"""Every dashboard page, run with Streamlit's AppTest on a small lake: the figures on screen are
the ones `fastcart query` / `fastcart sql` return; no email is ever shown in full."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from deltalake import write_deltalake
from streamlit.testing.v1 import AppTest

from fastcart_assets import dashboard
from fastcart_assets.dashboard.data.lake import LakeReader, latest_day
from fastcart_assets.dashboard.data.quality import BRONZE_FRESHNESS_WINDOW, data_age
from fastcart_assets.settings import Settings
from fastcart_assets.silver.rules import HARD_RULES, RULES
from fastcart_assets_tests.dashboard.conftest import UNREAD, query, sql_value

APP = Path(dashboard.__file__).with_name("app.py")

pytestmark = pytest.mark.slow  # the shared lake is built by `fastcart run` (~30 s)


def number(text: str) -> float:
    """The number a tile shows: `$1,234.50` -> 1234.5, `12.34 %` -> 12.34."""
    return float(re.sub(r"[$,%\s]|pp", "", text))


def open_page(page: str | None = None) -> AppTest:
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    if page:
        app.switch_page(f"pages/{page}.py").run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def tiles(app: AppTest) -> dict[str, tuple[str, str]]:
    return {m.label: (m.value, m.delta) for m in app.metric}


def latest(table: str, column: str) -> date:
    """The day a page shows by default: the latest partition up to today."""
    days = LakeReader(Settings.from_env()).partition_values(table, column)
    return latest_day(days, datetime.now(UTC).date())


def test_sales_tiles_equal_gold_as_fastcart_query_returns_them(small_lake):
    day = latest("gold/sales_performance/conversion_metrics", "date")
    before = day - timedelta(days=1)
    app = open_page()
    shown = tiles(app)
    [conversion] = query("conversion_metrics", day)
    [previous] = query("conversion_metrics", before)
    revenue = sum(float(r["total_revenue"]) for r in query("daily_product_revenue", day))
    assert number(shown["Orders created"][0]) == int(conversion["total_orders_created"])
    created_change = int(conversion["total_orders_created"]) - int(previous["total_orders_created"])
    assert number(shown["Orders created"][1]) == created_change
    assert number(shown["Shipped revenue"][0]) == pytest.approx(revenue, abs=0.005)
    assert number(shown["Conversion rate"][0]) == round(float(conversion["conversion_rate"]), 2)
    assert number(shown["Cancellation rate"][0]) == round(float(conversion["cancellation_rate"]), 2)
    header = app.markdown[0].value
    assert day.isoformat() in header and ":green[" in header  # produced moments ago: fresh
    # Charts: hourly revenue, top products, payment methods, statuses.
    assert len(app.get("vega_lite_chart")) == 4


def test_sales_page_follows_the_date_picker(small_lake):
    day = latest("gold/sales_performance/conversion_metrics", "date")
    before = day - timedelta(days=1)
    app = open_page()
    app.toggle(key="follow_latest").set_value(False).run()
    app.date_input(key="picked_day").set_value(before).run()
    assert not app.exception
    [conversion] = query("conversion_metrics", before)
    shown = tiles(app)
    assert number(shown["Orders created"][0]) == int(conversion["total_orders_created"])
    assert f"day {before.isoformat()}" in app.markdown[0].value
    app.date_input(key="picked_day").set_value(day - timedelta(days=400)).run()
    assert not app.exception and not app.metric
    assert "No sales figures" in app.info[0].value


def test_customers_page_shows_the_snapshot_with_emails_masked(small_lake):
    snapshot = latest("gold/customer_analytics/customer_segments", "snapshot_date")
    app = open_page("customers")
    shown = tiles(app)
    segments = query("customer_segments", snapshot)
    [retention] = query("customer_retention", snapshot)
    assert number(shown["Customers"][0]) == sum(int(r["customer_count"]) for r in segments)
    repeat = round(float(retention["repeat_customer_percentage"]), 2)
    assert number(shown["Repeat customers"][0]) == repeat
    high = next(r for r in segments if r["segment"] == "high_value")
    assert number(shown["High-value customers"][0]) == int(high["customer_count"])

    expected = query("top_customers", snapshot)
    tables = [frame.value for frame in app.dataframe]
    top = next(t for t in tables if "customer_email" in t.columns)
    assert list(top["customer_id"]) == [
        r["customer_id"] for r in sorted(expected, key=lambda r: int(r["rank"]))
    ]
    assert list(top["total_spent"].round(2)) == [
        round(float(r["total_spent"]), 2) for r in sorted(expected, key=lambda r: int(r["rank"]))
    ]
    emails = {r["customer_email"] for r in expected if r["customer_email"]}
    assert emails, "the lake should hold customer emails"
    on_screen = " ".join(
        [t.to_csv() for t in tables] + [m.value for m in app.markdown] + [str(app.main)]
    )
    assert not [email for email in emails if email in on_screen]
    assert all("•••@" in email for email in top["customer_email"].dropna())


def test_quality_page_counts_rejections_and_the_kafka_lag(small_lake, tmp_path, monkeypatch):
    # Without quality/rule_metrics (a lake from before it existed) the page computes the rates.
    copy = tmp_path / "lakehouse"
    shutil.copytree(small_lake.settings.lake_uri, copy)
    shutil.rmtree(copy / "quality" / "rule_metrics")
    monkeypatch.setenv("FASTCART_LAKE_ROOT", str(copy))
    day = latest("bronze/ecommerce_sales", "ingestion_date")
    app = open_page("quality")
    shown = tiles(app)
    bronze = sql_value(
        f"SELECT count(*) FROM bronze_ecommerce_sales WHERE ingestion_date = DATE'{day}'"
    )
    assert number(shown["Bronze rows"][0]) == int(bronze)
    rejected = sql_value("SELECT count(*) FROM silver_ecommerce_sales_rejected")
    assert number(shown["Rejected rows"][0]) == int(rejected)
    assert number(shown["Kafka lag"][0]) == UNREAD

    rules = next(f.value for f in app.dataframe if "violations" in f.value.columns)
    assert set(rules["rule"]) == {rule.name for rule in RULES}
    for rule in HARD_RULES:
        counted = sql_value(
            "SELECT count(*) FROM silver_ecommerce_sales_rejected "
            f"WHERE array_contains(rejection_reasons, '{rule.name}')"
        )
        assert int(rules.loc[rules["rule"] == rule.name, "violations"].iloc[0]) == int(counted)
    assert sum(int(r) for r in rules["violations"]) > 0
    assert any("Silver, rejected rows and Bronze" in c.value for c in app.caption)
    kafka = next(f.value for f in app.dataframe if "lag" in f.value.columns)
    assert int(kafka["lag"].sum()) == UNREAD


def test_quality_page_reads_rule_metrics_when_the_table_exists(small_lake, tmp_path, monkeypatch):
    copy = tmp_path / "lakehouse"
    shutil.copytree(small_lake.settings.lake_uri, copy)
    monkeypatch.setenv("FASTCART_LAKE_ROOT", str(copy))
    day = latest("bronze/ecommerce_sales", "ingestion_date")
    stored = pd.DataFrame(
        {
            "date": [day, day],
            "rule": ["malformed_json", "stale_timestamp"],
            "kind": ["hard", "soft"],
            "rows_checked": [1000, 1000],
            "violations": [150, 30],
            "rate": [0.15, 0.03],
            "severity": ["error", "warn"],
            "run_id": ["r1", "r1"],
            "evaluated_at": [datetime.now(UTC)] * 2,
        }
    )
    target = str(copy / "quality" / "rule_metrics")
    write_deltalake(target, stored, partition_by=["date"], mode="overwrite")
    app = open_page("quality")
    assert any("quality/rule_metrics" in c.value for c in app.caption)
    rules = next(f.value for f in app.dataframe if "violations" in f.value.columns)
    by_rule = rules.set_index("rule")
    assert by_rule.loc["malformed_json", "rate"] == pytest.approx(15.0)
    assert by_rule.loc["stale_timestamp", "severity"] == "warn"
    assert list(by_rule["violations"]) == [150, 30]


def test_the_data_age_is_stale_beyond_bronze_freshness_window(small_lake):
    from fastcart_assets.definitions import FRESHNESS

    assert FRESHNESS["bronze"].fail_window.to_timedelta() == BRONZE_FRESHNESS_WINDOW
    lake = LakeReader(small_lake.settings)
    age = data_age(lake, datetime.now(UTC))
    assert age.as_of is not None and not age.stale
    later = data_age(lake, age.as_of + BRONZE_FRESHNESS_WINDOW + timedelta(seconds=1))
    assert later.stale and later.as_of == age.as_of
