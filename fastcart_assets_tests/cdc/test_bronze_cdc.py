"""`bronze/orders_cdc` on the shared Bronze ingestion: the embedded broker, Sail and Delta through
`materialize`; its Kafka sensor; Silver CDC following it by automation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from deltalake import DeltaTable

from fastcart_assets.bronze.ingest import ingest_new_messages
from fastcart_assets.cdc.assets import (
    BRONZE_CDC_KEY,
    ORDERS_CURRENT_KEY,
    ORDERS_HISTORY_KEY,
    bronze_orders_cdc,
)
from fastcart_assets.cdc.parse import ORDER_CHANGES
from fastcart_assets.definitions import build_definitions, build_resources
from fastcart_assets.generator.cdc import CdcConfig
from fastcart_assets.generator.cdc_producer import CdcSummary, generate_cdc
from fastcart_assets.generator.orders import GeneratorConfig
from fastcart_assets.generator.producer import KafkaSink
from fastcart_assets.kafka.topics import create_topic, read_messages
from fastcart_assets.metadata import PARTITION_ROW_COUNT, TABLE_NAME
from fastcart_assets.partitions import partition_key, today_utc
from fastcart_assets.quality.freshness import CAUGHT_UP_TAG, KAFKA_CDC_TOPIC_KEY
from fastcart_assets.resources.kafka import KafkaResource
from fastcart_assets.sensors import ORDER_CHANGES_FEED, kafka_sensor
from fastcart_assets.tables import BRONZE_CDC
from fastcart_assets_tests.bronze.helpers import ALL_GREEN, check_results

TODAY = partition_key(today_utc())
START = datetime(2025, 11, 9, tzinfo=UTC)


def publish(
    kafka: KafkaResource, orders: int, seed: int, dirty_rate: float = 0.0, first_order: int = 0
) -> CdcSummary:
    """Publish the change stream of `orders` orders on `kafka.topic` (3 partitions)."""
    create_topic(kafka, kafka.topic, 3, exist_ok=True)
    config = GeneratorConfig(
        start=START + timedelta(days=first_order), duration=None, orders=orders, seed=seed
    )
    return generate_cdc(
        config,
        CdcConfig(snapshot_orders=orders // 5, delete_share=0.3),
        dirty_rate=dirty_rate,
        speed=0,
        sink=KafkaSink(kafka.producer(), kafka.topic),
        partitions=3,
    )


def topic_records(kafka: KafkaResource) -> dict[tuple[int, int], tuple[bytes | None, str | None]]:
    """Every record of the topic: (partition, offset) -> (key, value as text)."""
    return {
        (m.partition(), m.offset()): (m.key(), None if m.value() is None else m.value().decode())
        for m in read_messages(kafka, kafka.topic)
    }


def bronze_records(spark, settings) -> list[tuple[tuple[int, int], tuple]]:
    rows = (
        spark.read.format("delta")
        .load(settings.table_path(BRONZE_CDC.path))
        .select("kafka_partition", "kafka_offset", "kafka_key_bytes", "_raw")
        .collect()
    )
    return [((r.kafka_partition, r.kafka_offset), (bytes(r.kafka_key_bytes), r._raw)) for r in rows]


def materialize_cdc(settings, day: str = TODAY, instance=None):
    return dg.materialize(
        [bronze_orders_cdc],
        partition_key=day,
        resources=build_resources(settings),
        instance=instance,
        raise_on_error=False,
    )


def test_every_record_lands_once_tombstones_included_and_a_rerun_writes_nothing(
    spark, cdc_settings, cdc_kafka
):
    summary = publish(cdc_kafka, orders=120, seed=3, dirty_rate=0.2)
    assert summary.tombstones > 0 and summary.defects["malformed"] > 0
    first = materialize_cdc(cdc_settings)
    assert first.success
    assert check_results(first) == ALL_GREEN
    expected = topic_records(cdc_kafka)
    landed = bronze_records(spark, cdc_settings)
    assert len(landed) == len(expected) == summary.messages
    assert dict(landed) == expected
    assert sum(raw is None for _, (_, raw) in landed) == summary.tombstones
    [materialization] = first.asset_materializations_for_node("bronze__orders_cdc")
    metadata = {k: v.value for k, v in materialization.metadata.items()}
    not_objects = summary.malformed_kinds["truncated"] + summary.malformed_kinds["not_an_object"]
    assert (metadata["rows"], metadata["malformed"]) == (summary.messages, not_objects)
    assert metadata[TABLE_NAME] == "bronze_orders_cdc"
    assert metadata[PARTITION_ROW_COUNT] == summary.messages
    path = cdc_settings.table_path(BRONZE_CDC.path)
    version = DeltaTable(path).version()

    again = materialize_cdc(cdc_settings)
    assert again.success and check_results(again) == ALL_GREEN
    assert DeltaTable(path).version() == version  # nothing new: no commit

    more = publish(cdc_kafka, orders=30, seed=4, first_order=1)
    assert materialize_cdc(cdc_settings).success
    assert len(bronze_records(spark, cdc_settings)) == summary.messages + more.messages


def test_replaying_a_past_partition_restores_it_exactly(spark, cdc_settings, cdc_kafka):
    yesterday = today_utc() - timedelta(days=1)
    publish(cdc_kafka, orders=60, seed=7, dirty_rate=0.2)
    path = cdc_settings.table_path(BRONZE_CDC.path)
    session = build_resources(cdc_settings)["spark"].spark_session
    ingest_new_messages(session, cdc_kafka, path, yesterday, table=ORDER_CHANGES)
    publish(cdc_kafka, orders=20, seed=8, first_order=1)
    assert materialize_cdc(cdc_settings).success  # today's partition: the new records
    before = dict(bronze_records(spark, cdc_settings))
    spark.sql(
        f"DELETE FROM delta.`{path}` WHERE (kafka_offset % 5 = 0 OR _raw IS NULL) "
        f"AND ingestion_date = DATE'{yesterday}'"
    )
    assert len(bronze_records(spark, cdc_settings)) < len(before)

    replayed = materialize_cdc(cdc_settings, day=yesterday.isoformat())
    assert replayed.success and check_results(replayed) == ALL_GREEN
    after = bronze_records(spark, cdc_settings)
    assert len(after) == len(before) and dict(after) == before == topic_records(cdc_kafka)


def _tick(settings, instance):
    resources = build_resources(settings)
    with dg.build_sensor_context(
        instance=instance,
        resources={"kafka_cdc": resources["kafka_cdc"], "lake": resources["lake"]},
    ) as context:
        return kafka_sensor(interval_s=60, feed=ORDER_CHANGES_FEED)(context)


def _requested_cdc_silver(defs, instance, cursor=None):
    result = dg.evaluate_automation_conditions(
        defs=defs,
        instance=instance,
        asset_selection=dg.AssetSelection.groups("silver"),
        cursor=cursor,
    )
    requested = {
        (key.to_user_string(), partition)
        for key in (ORDERS_CURRENT_KEY, ORDERS_HISTORY_KEY)
        for partition in result.get_requested_partitions(key)
    }
    return requested, result.cursor


@pytest.fixture
def instance():
    with dg.instance_for_test() as test_instance:
        yield test_instance


def test_a_new_change_leads_to_a_bronze_cdc_run_then_to_silver_cdc(
    spark, cdc_settings, cdc_kafka, instance
):
    defs = build_definitions(cdc_settings)
    missing = _tick(cdc_settings, instance)
    assert isinstance(missing, dg.SkipReason) and "does not exist" in missing.skip_message
    requested, cursor = _requested_cdc_silver(defs, instance)
    assert requested == set()

    publish(cdc_kafka, orders=10, seed=2)
    ticked = _tick(cdc_settings, instance)
    [request] = ticked.run_requests
    assert request.asset_selection == [BRONZE_CDC_KEY] and request.partition_key == TODAY
    [observation] = ticked.asset_events
    assert observation.asset_key == KAFKA_CDC_TOPIC_KEY
    assert observation.metadata["lag_messages"].value > 0
    requested, cursor = _requested_cdc_silver(defs, instance, cursor)
    assert requested == set()  # Bronze CDC has not run yet

    assert materialize_cdc(cdc_settings, instance=instance).success
    requested, cursor = _requested_cdc_silver(defs, instance, cursor)
    assert requested == {("silver/orders_current", TODAY), ("silver/orders_history", TODAY)}

    caught_up = _tick(cdc_settings, instance)
    assert not caught_up.run_requests and "no new messages" in caught_up.skip_reason.skip_message
    [materialization] = [
        e for e in caught_up.asset_events if isinstance(e, dg.AssetMaterialization)
    ]
    assert materialization.asset_key == BRONZE_CDC_KEY and materialization.partition is None
    assert materialization.tags[CAUGHT_UP_TAG] == "true"

    # Bronze CDC updates again but its blocking duplicate check fails: Silver CDC must wait.
    path = cdc_settings.table_path(BRONZE_CDC.path)
    spark.read.format("delta").load(path).limit(1).write.format("delta").mode("append").save(path)
    publish(cdc_kafka, orders=5, seed=3, first_order=1)
    assert [r.asset_selection for r in _tick(cdc_settings, instance).run_requests] == [
        [BRONZE_CDC_KEY]
    ]
    rerun = materialize_cdc(cdc_settings, instance=instance)
    assert check_results(rerun)["no_duplicate_coordinates"] is False
    requested, _ = _requested_cdc_silver(defs, instance, cursor)
    assert requested == set()
