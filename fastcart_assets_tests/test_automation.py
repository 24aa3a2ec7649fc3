"""Automation: Silver follows Bronze by its condition; Gold follows Silver's touched dates."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import pytest

from fastcart_assets import progress
from fastcart_assets.bronze.assets import bronze_ecommerce_sales
from fastcart_assets.definitions import build_definitions, build_resources
from fastcart_assets.partitions import partition_key, today_utc
from fastcart_assets.resources.lake import LakeResource
from fastcart_assets.sensors import silver_touched_dates_sensor
from fastcart_assets.silver.assets import SILVER_KEY
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


@pytest.mark.slow
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


def _silver_materialization(instance, partition, touched, errors=()) -> None:
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            SILVER_KEY,
            partition=partition,
            metadata={
                progress.TOUCHED_DATES: dg.MetadataValue.json(touched),
                progress.DQ_ERRORS: dg.MetadataValue.json(list(errors)),
            },
        )
    )


def _gold_sensor(instance, lake_root="/nonexistent-lake"):
    with dg.build_sensor_context(
        instance=instance, resources={"lake": LakeResource(root=lake_root)}
    ) as context:
        return silver_touched_dates_sensor(context)


def _ranges(requests) -> dict[str, tuple[str, str]]:
    """Gold group -> the partition range requested for it (a run may compute both groups)."""
    return {
        key.path[1]: (
            r.tags.get(progress.RANGE_START_TAG, r.partition_key),
            r.tags.get(progress.RANGE_END_TAG, r.partition_key),
        )
        for r in requests
        for key in r.asset_selection
    }


def _gold_runs_done(instance, requests) -> None:
    """Record the requested Gold runs as succeeded (a stand-in job with the same tags)."""

    @dg.asset
    def stand_in() -> None:
        return None

    for request in requests:
        assert dg.materialize([stand_in], instance=instance, tags=request.tags).success


def test_gold_is_requested_for_touched_dates_and_snapshots_through_today(instance):
    late, latest = today_utc() - timedelta(days=6), today_utc() - timedelta(days=4)
    _silver_materialization(instance, TODAY, [partition_key(late), partition_key(latest)])
    requests = _gold_sensor(instance)
    assert _ranges(requests) == {
        "sales_performance": (partition_key(late), partition_key(latest)),
        "customer_analytics": (partition_key(late), TODAY),
    }
    # Ranges four dates apart: two runs (within MAX_GAP_DAYS they would share one).
    assert all(len(r.asset_selection) == 6 for r in requests)
    assert len({r.run_key for r in requests}) == 2
    # Once those runs succeeded, Gold is caught up: the same materialization is not replanned.
    _gold_runs_done(instance, requests)
    assert isinstance(_gold_sensor(instance), dg.SkipReason)


def test_a_partition_at_error_holds_its_dates_until_it_is_processed_cleanly(instance):
    dirty, clean = today_utc() - timedelta(days=3), today_utc() - timedelta(days=1)
    _silver_materialization(instance, partition_key(dirty), [partition_key(dirty)], ["x"])
    _silver_materialization(instance, TODAY, [TODAY])
    requests = _gold_sensor(instance)
    assert _ranges(requests) == {
        "sales_performance": (TODAY, TODAY),
        "customer_analytics": (TODAY, TODAY),
    }
    _gold_runs_done(instance, requests)
    assert isinstance(_gold_sensor(instance), dg.SkipReason)
    # The dirty partition is processed again without an ERROR: its held date comes back.
    _silver_materialization(instance, partition_key(dirty), [partition_key(clean)])
    [request] = _gold_sensor(instance)  # sales dirty..clean and snapshots through today: one run
    assert _ranges([request]) == {
        "sales_performance": (partition_key(dirty), TODAY),
        "customer_analytics": (partition_key(dirty), TODAY),
    }


@pytest.mark.slow
def test_after_a_catch_up_the_sensors_and_automation_request_nothing(settings, kafka):
    """`fastcart run` and the daemon share one notion of progress: starting the UI after a
    catch-up launches nothing that redoes it."""
    from click.testing import CliRunner

    from fastcart_assets.cli.main import cli
    from fastcart_assets.instance import get_instance

    produce(kafka, _values_dated_today(40))
    assert CliRunner().invoke(cli, ["run"], catch_exceptions=False).exit_code == 0
    instance = get_instance(settings)
    defs = build_definitions(settings)
    resources = build_resources(settings)
    with dg.build_sensor_context(
        instance=instance, resources={"kafka": resources["kafka"], "lake": resources["lake"]}
    ) as context:
        kafka_tick = defs.get_sensor_def("kafka_new_data_sensor")(context)
    assert not kafka_tick.run_requests and "no new messages" in kafka_tick.skip_reason.skip_message
    assert isinstance(_gold_sensor(instance), dg.SkipReason)
    requested, _ = _requested_silver(defs, instance)
    assert requested == set()


def _values_dated_today(n: int) -> list[bytes]:
    import json
    from datetime import UTC, datetime

    from fastcart_assets_tests.helpers import order_event

    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [json.dumps(order_event(i, timestamp=now)).encode() for i in range(n)]
