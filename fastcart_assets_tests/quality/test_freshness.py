"""Freshness is data lag: an idle topic keeps Bronze fresh; a message Bronze has lacked for 16
minutes turns it stale. Evaluated with Dagster's own time-window evaluator (the one its
freshness daemon runs) at chosen times (`freeze_time`), on a real broker, lake and instance.

The evaluator, its state enum and `freeze_time` are private to Dagster 1.13: no public API
evaluates a freshness policy on demand, and the daemon would need a real quarter hour. The
package itself imports none of them; if Dagster moves them, this file fails to import."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from dagster._core.definitions.freshness import FreshnessState
from dagster._core.definitions.freshness_evaluator import TimeWindowFreshnessPolicyEvaluator
from dagster._core.loader import LoadingContext
from dagster._core.test_utils import freeze_time

from fastcart_assets.bronze.assets import BRONZE_KEY, bronze_ecommerce_sales
from fastcart_assets.definitions import build_definitions, build_resources
from fastcart_assets.partitions import today_utc
from fastcart_assets.quality.freshness import read_kafka_lag
from fastcart_assets.sensors import kafka_sensor
from fastcart_assets.silver.assets import SILVER_KEY
from fastcart_assets_tests.helpers import clean_values, produce


class _Loading(LoadingContext):
    """What Dagster's evaluator needs: the instance and a loader cache."""

    def __init__(self, instance: dg.DagsterInstance):
        self._instance, self._loaders = instance, {}

    @property
    def instance(self) -> dg.DagsterInstance:
        return self._instance

    @property
    def loaders(self) -> dict:
        return self._loaders


@pytest.fixture
def instance():
    with dg.instance_for_test() as test_instance:
        yield test_instance


def _freshness(settings, instance) -> FreshnessState:
    node = build_definitions(settings).resolve_asset_graph().get(BRONZE_KEY)
    evaluator = TimeWindowFreshnessPolicyEvaluator()
    return asyncio.run(evaluator.evaluate_freshness(_Loading(instance), node))


def _tick(settings, instance):
    """One sensor tick, its asset events recorded as the sensor daemon records them
    (dagster/_daemon/sensor.py: `instance.report_runless_asset_event`)."""
    resources = build_resources(settings)
    with dg.build_sensor_context(
        instance=instance, resources={"kafka": resources["kafka"], "lake": resources["lake"]}
    ) as context:
        result = kafka_sensor(interval_s=60)(context)
    for event in result.asset_events:
        instance.report_runless_asset_event(event)
    return result


def _bronze_run(settings, instance) -> datetime:
    result = dg.materialize(
        [bronze_ecommerce_sales],
        partition_key=today_utc().isoformat(),
        instance=instance,
        resources=build_resources(settings),
    )
    assert result.success
    [record] = instance.fetch_materializations(BRONZE_KEY, limit=1).records
    return datetime.fromtimestamp(record.timestamp, UTC)


@pytest.mark.slow
def test_an_idle_topic_keeps_bronze_fresh(settings, kafka, instance):
    defs = build_definitions(settings)
    silver = dg.AssetSelection.groups("silver")
    cursor = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, asset_selection=silver
    ).cursor
    produce(kafka, clean_values(10))
    ran_at = _bronze_run(settings, instance)
    requested = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, asset_selection=silver, cursor=cursor
    )
    assert requested.get_requested_partitions(SILVER_KEY) == {today_utc().isoformat()}
    cursor = requested.cursor  # Silver is requested for the Bronze run, once

    later = ran_at + timedelta(hours=8)  # a quiet night
    with freeze_time(later):
        # Judged by the last Bronze run alone, the time window would be failing by now.
        assert _freshness(settings, instance) == FreshnessState.FAIL
        result = _tick(settings, instance)
        assert result.run_requests == []  # nothing to ingest
        assert _freshness(settings, instance) == FreshnessState.PASS
    with freeze_time(later + timedelta(minutes=9)):
        assert _freshness(settings, instance) == FreshnessState.PASS  # until the next tick
    # The caught-up record has no partition: partition-keyed automation never sees it.
    again = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, asset_selection=silver, cursor=cursor
    )
    assert again.get_requested_partitions(SILVER_KEY) == set()
    storage = instance.event_log_storage
    latest = storage.get_latest_storage_id_by_partition(
        BRONZE_KEY, dg.DagsterEventType.ASSET_MATERIALIZATION
    )
    assert list(latest) == [today_utc().isoformat()]


@pytest.mark.slow
def test_a_message_unread_for_16_minutes_turns_bronze_stale(settings, kafka, instance):
    produce(kafka, clean_values(10))
    ran_at = _bronze_run(settings, instance)
    caught_up_at = ran_at + timedelta(minutes=1)
    with freeze_time(caught_up_at):
        assert _tick(settings, instance).run_requests == []  # caught up: recorded
    # A message arrives a minute later, and no Bronze run reads it (runs failing, say).
    arrived_ms = int((caught_up_at + timedelta(minutes=1)).timestamp() * 1000)
    producer = kafka.producer()
    producer.produce(
        kafka.topic, key=b"late", value=clean_values(1, start=10)[0], timestamp=arrived_ms
    )
    assert producer.flush(30) == 0

    with freeze_time(caught_up_at + timedelta(minutes=9)):
        assert _tick(settings, instance).run_requests  # Bronze is asked for it
        assert _freshness(settings, instance) == FreshnessState.PASS  # 8 minutes unread
    sixteen = caught_up_at + timedelta(minutes=17)
    with freeze_time(sixteen):
        assert _tick(settings, instance).run_requests
        assert _freshness(settings, instance) == FreshnessState.FAIL
    lag = read_kafka_lag(kafka, build_resources(settings)["lake"], now=sixteen)
    assert lag.lag_messages >= 1
    assert lag.oldest_unread_age_s == pytest.approx(16 * 60, abs=1)

    _bronze_run(settings, instance)  # Bronze reads it: fresh again
    assert _freshness(settings, instance) == FreshnessState.PASS
