"""The Kafka sensor requests Bronze only for new data, never twice for the same offsets, and
records each tick what it saw: the topic's observation, and Bronze caught up when it is."""

from __future__ import annotations

import dagster as dg
import pytest

from fastcart_assets.bronze.assets import BRONZE_KEY, bronze_ecommerce_sales
from fastcart_assets.definitions import build_resources
from fastcart_assets.kafka.topics import create_topic
from fastcart_assets.partitions import today_utc
from fastcart_assets.quality.freshness import CAUGHT_UP_TAG, KAFKA_TOPIC_KEY
from fastcart_assets.sensors import SILVER_KEYS, kafka_sensor
from fastcart_assets_tests.helpers import clean_values, produce


def _tick(settings):
    resources = build_resources(settings)
    with dg.build_sensor_context(
        resources={"kafka": resources["kafka"], "lake": resources["lake"]}
    ) as context:
        return kafka_sensor(interval_s=60)(context)


def _materialize(settings):
    result = dg.materialize(
        [bronze_ecommerce_sales],
        partition_key=today_utc().isoformat(),
        resources=build_resources(settings),
    )
    assert result.success


def _observation(result: dg.SensorResult) -> dict:
    [observation] = [e for e in result.asset_events if isinstance(e, dg.AssetObservation)]
    assert observation.asset_key == KAFKA_TOPIC_KEY
    return {k: v.value for k, v in observation.metadata.items()}


def _caught_up(result: dg.SensorResult) -> list[dg.AssetMaterialization]:
    return [e for e in result.asset_events if isinstance(e, dg.AssetMaterialization)]


@pytest.mark.slow
def test_sensor_requests_only_new_data_once_per_offsets(settings, kafka):
    produce(kafka, clean_values(10))
    first = _tick(settings)
    [request] = first.run_requests
    assert request.partition_key == today_utc().isoformat()
    assert request.asset_selection == [bronze_ecommerce_sales.key, *SILVER_KEYS]  # one run
    seen = _observation(first)
    assert seen["lag_messages"] == sum(seen["end_offsets"].values()) > 0
    assert seen["bronze_offsets"] == {"0": 0, "1": 0, "2": 0}
    assert 0 < seen["oldest_unread_age_s"] < 120  # produced just now
    assert _caught_up(first) == []  # Bronze lacks messages
    [again] = _tick(settings).run_requests
    assert again.run_key == request.run_key  # same offsets -> same key, deduplicated

    _materialize(settings)
    skipped = _tick(settings)
    assert skipped.run_requests == [] and "no new messages" in skipped.skip_reason.skip_message
    seen = _observation(skipped)
    assert (seen["lag_messages"], seen["oldest_unread_age_s"]) == (0, 0.0)
    # (the embedded broker's high watermark lags behind its last batch: Bronze may be past it)
    assert all(seen["bronze_offsets"][p] >= end for p, end in seen["end_offsets"].items())
    [caught_up] = _caught_up(skipped)
    assert caught_up.asset_key == BRONZE_KEY and caught_up.partition is None
    assert caught_up.tags[CAUGHT_UP_TAG] == "true"

    produce(kafka, clean_values(40, start=10))
    [second] = _tick(settings).run_requests
    assert second.run_key != request.run_key


def test_an_empty_topic_is_observed_but_says_nothing_about_bronze(settings, kafka):
    create_topic(kafka, kafka.topic, 2)
    result = _tick(settings)
    assert _observation(result)["lag_messages"] == 0
    assert _caught_up(result) == []


def test_sensor_skips_with_a_reason_when_the_topic_is_missing(settings):
    result = _tick(settings)
    assert isinstance(result, dg.SkipReason)
    assert "does not exist" in result.skip_message


def test_the_daemon_accepts_every_run_the_sensors_request(settings, kafka):
    """Evaluated as the daemon does (run requests resolved against the sensor's selection and
    the code location's jobs), a request for new data is valid: Bronze and today's Silver."""
    from fastcart_assets.definitions import build_definitions

    produce(kafka, clean_values(5))
    defs = build_definitions(settings)
    with (
        dg.instance_for_test() as instance,
        dg.build_sensor_context(
            instance=instance, definitions=defs, resources=build_resources(settings)
        ) as context,
    ):
        sensor = defs.get_sensor_def("kafka_new_data_sensor")
        data = sensor.evaluate_tick(context)
        assert data.run_requests and not data.skip_message
        assert set(data.run_requests[0].asset_selection) == {BRONZE_KEY, *SILVER_KEYS}
        gold = defs.get_sensor_def("silver_touched_dates_sensor").evaluate_tick(context)
        assert gold.skip_message == "Gold is up to date with Silver"
