"""Gold materialized through Dagster over a hand-built Silver table: standard metadata per
table and per partition, every check evaluated per partition with numbers."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import pytest

from fastcart_assets.gold.assets import GOLD_ASSETS
from fastcart_assets.gold.registry import GOLD_TABLES
from fastcart_assets.instance import get_instance
from fastcart_assets.metadata import COLUMN_SCHEMA, PARTITION_ROW_COUNT, ROW_COUNT, URI
from fastcart_assets.resources.lake import LakeResource
from fastcart_assets.resources.spark import SparkResource
from fastcart_assets.schemas import SILVER_SCHEMA
from fastcart_assets.tables import SILVER, asset_key
from fastcart_assets_tests.gold.conftest import D0, D2, D, row
from fastcart_assets_tests.helpers import graphql, webserver

DAYS = [D0, D, D2]
KEYS = [d.isoformat() for d in DAYS]


def _order(order_id: str, customer: str, day, total: float, **fields) -> list[tuple]:
    fields = {"total": total, "price": total, "customer_id": customer, **fields}
    return [
        row(order_id, "pending", f"{day} 09:00", **fields),
        row(order_id, "shipped", f"{day + timedelta(days=1)} 10:00", **fields),
    ]


SILVER_ROWS = [
    *_order("O1", "C1", D0, 20.0),
    *_order("O2", "C2", D0, 35.5, product_id="P2", email="secret.person@example.org"),
    *_order("O3", "C3", D, 1e35, product_id="P3", payment="paypal"),  # huge but valid money
    *_order("O4", "C1", D, 12.25, state="NY"),
    row("O5", "pending", f"{D2} 11:00", total=7.0, customer_id="C5"),
]


def _range_tags(first: str, last: str) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": first,
        "dagster/asset_partition_range_end": last,
    }


@pytest.fixture
def gold_run(spark, tmp_path):
    """A tmp lake whose Silver holds SILVER_ROWS, and a function materializing Gold on it."""
    root = str(tmp_path / "lake")
    lake = LakeResource(root=root)
    spark.createDataFrame(SILVER_ROWS, SILVER_SCHEMA).write.format("delta").save(
        lake.table_path(SILVER.path)
    )
    resources = {"spark": SparkResource(), "lake": lake}

    def run(instance, tags=None, partition_key=None, selection=None):
        return dg.materialize(
            list(GOLD_ASSETS),
            instance=instance,
            resources=resources,
            tags=tags,
            partition_key=partition_key,
            selection=selection,
        )

    return lake, run


def _events(result, event_type: str):
    return [e for e in result.all_events if e.event_type_value == event_type]


@pytest.mark.slow
def test_a_range_run_reports_each_partition_and_evaluates_each_check_per_partition(spark, gold_run):
    lake, run = gold_run
    with dg.instance_for_test() as instance:
        result = run(instance, _range_tags(KEYS[0], KEYS[-1]))
        assert result.success
        materializations = {}
        for event in _events(result, "ASSET_MATERIALIZATION"):
            m = event.step_materialization_data.materialization
            materializations[(m.asset_key, m.partition)] = m.metadata
        for table in GOLD_TABLES:
            path = lake.table_path(table.path)
            frame = spark.read.format("delta").load(path)
            per_day = {r[0]: r[1] for r in frame.groupBy(table.partition_column).count().collect()}
            for day, key in zip(DAYS, KEYS, strict=True):
                metadata = materializations[(asset_key(table.path), key)]
                assert metadata[PARTITION_ROW_COUNT].value == per_day.get(day, 0), table.name
                assert metadata[ROW_COUNT].value == frame.count()  # the whole table
                assert metadata[URI].value == path
                columns = [c.name for c in metadata[COLUMN_SCHEMA].value.columns]
                assert columns == table.schema.fieldNames()
                header = f"| {table.partition_column} |" if per_day.get(day) else "_no rows"
                assert metadata["preview"].value.startswith(header)

        events = _events(result, "ASSET_CHECK_EVALUATION")
        evaluations = [e.asset_check_evaluation_data for e in events]
        expected = {(asset_key(t.path), c.name) for t in GOLD_TABLES for c in t.checks}
        by_check: dict = {}
        for evaluation in evaluations:
            key = (evaluation.asset_key, evaluation.check_name)
            by_check.setdefault(key, []).append(evaluation)
        assert set(by_check) == expected
        for key, per_partition in by_check.items():
            assert sorted(e.partition for e in per_partition) == KEYS, key  # 3 dates, 3 results
            assert all(e.passed for e in per_partition), key
            for evaluation in per_partition:
                assert evaluation.metadata and all(
                    isinstance(v, (dg.IntMetadataValue, dg.FloatMetadataValue))
                    for v in evaluation.metadata.values()
                )
        _assert_checks_current_per_partition(instance, expected)

        daily = asset_key("gold/sales_performance/daily_product_revenue")
        revenue = {
            e.partition: e.metadata["silver"].value
            for e in by_check[(daily, "shipped_revenue_matches_silver")]
        }
        assert revenue == {KEYS[0]: 0.0, KEYS[1]: 55.5, KEYS[2]: 1e35 + 12.25}


def _assert_checks_current_per_partition(instance, check_keys) -> None:
    """What the UI reads for a partitioned check: each partition's latest evaluation, tied to
    that partition's latest materialization."""
    keys = [dg.AssetCheckKey(asset, name) for asset, name in check_keys]
    infos = instance.event_log_storage.get_asset_check_partition_info(keys)
    by_key: dict = {}
    for info in infos:
        by_key.setdefault(info.check_key, {})[info.partition_key] = info
    for key in keys:
        assert sorted(by_key[key]) == KEYS, key
        for info in by_key[key].values():
            assert info.latest_execution_status.value == "SUCCEEDED"
            assert info.is_current, key


@pytest.mark.slow
def test_the_preview_hides_personal_columns(gold_run):
    _, run = gold_run
    with dg.instance_for_test() as instance:
        top = asset_key("gold/customer_analytics/top_customers")
        result = run(instance, partition_key=KEYS[-1], selection=[top])
    [event] = _events(result, "ASSET_MATERIALIZATION")
    text = event.step_materialization_data.materialization.metadata["preview"].value
    assert "| snapshot_date | rank | customer_id | customer_email |" in text
    assert "(hidden)" in text and "@example.org" not in text


UI_QUERY = """
query ($key: AssetKeyInput!, $check: String!) {
  assetCheckExecutions(assetKey: $key, checkName: $check, limit: 10) {
    partition
    status
    evaluation {
      metadataEntries {
        label
        ... on FloatMetadataEntry { floatValue }
        ... on IntMetadataEntry { intValue }
      }
    }
  }
  assetNodes(assetKeys: [$key]) {
    assetChecksOrError {
      ... on AssetChecks {
        checks {
          name
          partitionStatuses {
            ... on AssetCheckTimePartitionStatuses { ranges { startKey endKey status } }
          }
        }
      }
    }
  }
}
"""


@pytest.mark.slow
def test_the_ui_shows_each_check_per_partition_with_its_numbers(settings, gold_run):
    _, run = gold_run
    assert run(get_instance(settings), _range_tags(KEYS[0], KEYS[-1])).success
    key = {"path": ["gold", "sales_performance", "daily_product_revenue"]}
    check = "shipped_revenue_matches_silver"
    with webserver(settings.dagster_home_path, settings.lake_root) as url:
        data = graphql(url, UI_QUERY, {"key": key, "check": check})
    executions = {e["partition"]: e for e in data["assetCheckExecutions"]}
    assert sorted(executions) == KEYS
    assert {e["status"] for e in executions.values()} == {"SUCCEEDED"}
    numbers = {
        entry["label"]: entry.get("floatValue")
        for entry in executions[KEYS[1]]["evaluation"]["metadataEntries"]
    }
    assert numbers["silver"] == numbers["daily_product_revenue"] == 55.5  # plotted per partition
    [node] = data["assetNodes"]
    [status] = [c for c in node["assetChecksOrError"]["checks"] if c["name"] == check]
    assert status["partitionStatuses"]["ranges"] == [
        {"startKey": KEYS[0], "endKey": KEYS[-1], "status": "SUCCEEDED"}
    ]
