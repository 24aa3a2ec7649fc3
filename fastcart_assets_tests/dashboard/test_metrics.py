"""`fastcart metrics` scraped over HTTP and parsed as the Prometheus exposition format."""

from __future__ import annotations

import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from fastcart_assets.delta import table_exists
from fastcart_assets.kafka.broker import free_port
from fastcart_assets.silver.rules import HARD_RULES
from fastcart_assets.tables import TABLES
from fastcart_assets_tests.dashboard.conftest import UNREAD, sql_value

pytestmark = pytest.mark.slow  # the shared lake is built by `fastcart run`


def scrape(url: str) -> dict[str, dict[tuple, float]]:
    """Metric name -> {sorted label items: value}."""
    text = urllib.request.urlopen(f"{url}/metrics", timeout=60).read().decode()
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def test_scrape_reports_rows_lag_rules_and_runs(small_lake, server_process):
    started = time.time()
    url = server_process("metrics", small_lake.env, "/metrics", "--ttl", "0")
    metrics = scrape(url)

    rows = {dict(k)["table"]: v for k, v in metrics["fastcart_table_rows"].items()}
    # Every table `fastcart run` wrote (the CDC tables and quality/forgotten have no writer in
    # a run), and only those.
    written = {t.path for t in TABLES if table_exists(small_lake.settings.table_path(t.path))}
    assert set(rows) == written and len(written) >= 16
    assert rows["bronze/ecommerce_sales"] == int(
        sql_value("SELECT count(*) FROM bronze_ecommerce_sales")
    )
    assert rows["gold/sales_performance/top_products"] == int(
        sql_value("SELECT count(*) FROM gold_top_products")
    )

    assert metrics["fastcart_kafka_up"][()] == 1
    lag = metrics["fastcart_kafka_lag_messages"]
    assert len(lag) == 3 and sum(lag.values()) == UNREAD
    ends = metrics["fastcart_kafka_end_offset"]
    positions = metrics["fastcart_bronze_next_offset"]
    for key, behind in lag.items():  # (the embedded broker's end offset can trail Bronze)
        assert behind == max(ends[key] - positions[key], 0)
    assert metrics["fastcart_bronze_fresh"][()] == 1  # the unread messages are minutes old
    assert 0 < metrics["fastcart_kafka_oldest_unread_age_seconds"][()] < 15 * 60

    ratios = metrics["fastcart_rule_violation_ratio"]
    violations = metrics["fastcart_rule_violations"]
    for rule in HARD_RULES:
        counted = int(
            sql_value(
                "SELECT count(*) FROM silver_ecommerce_sales_rejected "
                f"WHERE array_contains(rejection_reasons, '{rule.name}')"
            )
        )
        assert sum(v for k, v in violations.items() if dict(k)["rule"] == rule.name) == counted
    assert all(0 <= value <= 1 for value in ratios.values())
    assert set(metrics["fastcart_rule_severity"].values()) <= {0, 1, 2}

    last = {
        dict(k)["asset"]: v
        for k, v in metrics["fastcart_asset_last_materialization_timestamp_seconds"].items()
    }
    assert {"bronze/ecommerce_sales", "silver/ecommerce_sales"} <= set(last)
    assert all(value <= started for value in last.values())  # written while building the lake
    assert metrics["fastcart_dagster_instance_up"][()] == 1
    assert set(metrics["fastcart_collect_errors"].values()) == {0}


def test_a_broker_that_is_down_does_not_break_the_scrape(small_lake, server_process):
    env = {**small_lake.env, "FASTCART_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}"}
    url = server_process("metrics", env, "/metrics")
    metrics = scrape(url)
    assert metrics["fastcart_kafka_up"][()] == 0
    assert "fastcart_kafka_lag_messages" not in metrics
    assert "fastcart_bronze_fresh" not in metrics  # unknown while Kafka cannot be read
    assert metrics["fastcart_table_rows"]
    assert set(metrics["fastcart_collect_errors"].values()) == {0}
