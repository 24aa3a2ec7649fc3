"""The Dagster webserver serves the code location: every asset, check, sensor and schedule."""

from __future__ import annotations

import pytest

from fastcart_assets_tests.helpers import graphql
from fastcart_assets_tests.helpers import webserver as running_webserver

QUERY = """
{
  assetNodes {
    assetKey { path }
    assetChecksOrError { ... on AssetChecks { checks { name } } }
  }
  repositoriesOrError {
    ... on RepositoryConnection { nodes { sensors { name } schedules { name } } }
  }
}
"""


@pytest.fixture
def webserver(tmp_path):
    with running_webserver(tmp_path, str(tmp_path)) as url:
        yield url


@pytest.mark.slow
def test_graphql_lists_assets_checks_sensors_and_schedules(webserver):
    data = graphql(webserver, QUERY)
    assets = {"/".join(n["assetKey"]["path"]): n for n in data["assetNodes"]}
    assert len(assets) == 21  # every table of tables.TABLES (19) and the two Kafka topics
    assert "kafka/ecommerce_sales" in assets and "quality/rule_metrics" in assets
    assert "kafka/orders_cdc" in assets and "silver/orders_history" in assets
    assert "no_duplicate_coordinates" in {
        c["name"] for c in assets["bronze/orders_cdc"]["assetChecksOrError"]["checks"]
    }
    assert "gold/customer_analytics/processing_time_by_segment" in assets
    silver_checks = {
        c["name"] for c in assets["silver/ecommerce_sales"]["assetChecksOrError"]["checks"]
    }
    assert {
        "rule_malformed_json",
        "unique_order_id_timestamp",
        "reconciled_with_bronze",
    } <= silver_checks
    assert "no_duplicate_coordinates" in {
        c["name"] for c in assets["bronze/ecommerce_sales"]["assetChecksOrError"]["checks"]
    }
    [repository] = data["repositoriesOrError"]["nodes"]
    assert {s["name"] for s in repository["sensors"]} >= {
        "kafka_new_data_sensor",
        "kafka_cdc_sensor",
        "silver_touched_dates_sensor",
        "silver_automation",
    }
    assert {s["name"] for s in repository["schedules"]} == {"maintenance_job_schedule"}
