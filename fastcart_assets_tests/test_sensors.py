"""The Kafka sensor requests Bronze only for new data, never twice for the same offsets."""

from __future__ import annotations

import dagster as dg

from fastcart_assets.bronze.assets import bronze_ecommerce_sales
from fastcart_assets.definitions import build_resources
from fastcart_assets.partitions import today_utc
from fastcart_assets.sensors import kafka_sensor
from fastcart_assets_tests.helpers import clean_values, produce


def _tick(settings):
    resources = build_resources(settings)
    context = dg.build_sensor_context(
        resources={"kafka": resources["kafka"], "lake": resources["lake"]}
    )
    return kafka_sensor(interval_s=60)(context)


def _materialize(settings):
    result = dg.materialize(
        [bronze_ecommerce_sales],
        partition_key=today_utc().isoformat(),
        resources=build_resources(settings),
    )
    assert result.success


def test_sensor_requests_only_new_data_once_per_offsets(settings, kafka):
    produce(kafka, clean_values(10))
    first = _tick(settings)
    assert isinstance(first, dg.RunRequest)
    assert first.partition_key == today_utc().isoformat()
    assert first.asset_selection == [bronze_ecommerce_sales.key]
    assert _tick(settings).run_key == first.run_key  # same offsets -> same key, deduplicated

    _materialize(settings)
    skipped = _tick(settings)
    assert isinstance(skipped, dg.SkipReason)
    assert "no new messages" in skipped.skip_message

    produce(kafka, clean_values(40, start=10))
    second = _tick(settings)
    assert isinstance(second, dg.RunRequest)
    assert second.run_key != first.run_key


def test_sensor_skips_with_a_reason_when_the_topic_is_missing(settings):
    result = _tick(settings)
    assert isinstance(result, dg.SkipReason)
    assert "does not exist" in result.skip_message
