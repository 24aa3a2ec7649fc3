"""Automation: Silver follows Bronze by its condition; Gold follows Silver's touched dates."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import pytest

from fastcart_assets.bronze.assets import bronze_ecommerce_sales
from fastcart_assets.definitions import build_definitions, build_resources
from fastcart_assets.partitions import partition_key, today_utc
from fastcart_assets.sensors import silver_touched_dates_sensor
from fastcart_assets.silver.assets import SILVER_KEY, TOUCHED_DATES
from fastcart_assets.tables import BRONZE
from fastcart_assets_tests.helpers import clean_values, produce

TODAY = partition_key(today_utc())


@pytest.fixture
def instance():
    with dg.instance_for_test() as test_instance:
        yield test_instance


def _requested_silver(defs, instance, cursor=None):
    result = dg.evaluate_automation_conditions(
        defs=defs,
        instance=instance,
        asset_selection=dg.AssetSelection.groups("silver"),
        cursor=cursor,
    )
    keys = {
        (key.to_user_string(), partition)
        for key in (SILVER_KEY,)
        for partition in result.get_requested_partitions(key)
    }
    return keys, result.cursor


def _bronze_run(instance, settings) -> None:
    result = dg.materialize(
        [bronze_ecommerce_sales],
        partition_key=TODAY,
        instance=instance,
        resources=build_resources(settings),
        raise_on_error=False,
    )
    assert result.run_id


def test_silver_is_requested_after_bronze_updates_and_not_after_a_failed_check(
    instance, settings, kafka, spark
):
    defs = build_definitions(settings)
    requested, cursor = _requested_silver(defs, instance)
    assert requested == set()  # nothing upstream yet

    produce(kafka, clean_values(20))
    _bronze_run(instance, settings)
    requested, cursor = _requested_silver(defs, instance, cursor)
    assert requested == {("silver/ecommerce_sales", TODAY)}

    # Bronze updates again but its blocking duplicate check fails: Silver must wait.
    path = settings.table_path(BRONZE.path)
    spark.read.format("delta").load(path).limit(1).write.format("delta").mode("append").save(path)
    produce(kafka, clean_values(5, start=20))
    _bronze_run(instance, settings)
    requested, _ = _requested_silver(defs, instance, cursor)
    assert requested == set()


def test_gold_is_requested_for_touched_dates_and_snapshots_through_today(instance):
    late, latest = today_utc() - timedelta(days=5), today_utc() - timedelta(days=2)
    touched = [partition_key(late), partition_key(latest)]
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            SILVER_KEY, partition=TODAY, metadata={TOUCHED_DATES: dg.MetadataValue.json(touched)}
        )
    )
    context = dg.build_sensor_context(instance=instance)
    requests = silver_touched_dates_sensor(context)
    ranges = {
        r.asset_selection[0].path[1]: (
            r.tags["dagster/asset_partition_range_start"],
            r.tags["dagster/asset_partition_range_end"],
        )
        for r in requests
    }
    assert ranges == {
        "sales_performance": (partition_key(late), partition_key(latest)),
        "customer_analytics": (partition_key(late), TODAY),
    }
    assert all(len(r.asset_selection) == 6 for r in requests)
    # the same materialization is never handled twice
    again = silver_touched_dates_sensor(
        dg.build_sensor_context(instance=instance, cursor=context.cursor)
    )
    assert isinstance(again, dg.SkipReason)
