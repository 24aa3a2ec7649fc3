"""Bronze end to end: the embedded broker, Sail and real Delta tables through `materialize`."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from fastcart_assets.bronze.ingest import OffsetsOutOfRange, ingest_new_messages
from fastcart_assets.definitions import build_resources
from fastcart_assets.partitions import today_utc
from fastcart_assets.tables import BRONZE
from fastcart_assets_tests.bronze.helpers import (
    ALL_GREEN,
    bronze,
    check_results,
    materialize_bronze,
)
from fastcart_assets_tests.helpers import clean_values, order_event, produce


@pytest.mark.slow
def test_every_message_once_and_rerun_adds_nothing(spark, settings, kafka):
    produce(kafka, clean_values(2_500))
    first = materialize_bronze(settings)
    assert first.success
    assert check_results(first) == ALL_GREEN
    table = bronze(spark, settings)
    assert table.count() == 2_500
    assert table.select("kafka_partition", "kafka_offset").distinct().count() == 2_500
    assert table.select("ingestion_date").distinct().collect()[0][0] == today_utc()
    metadata = first.asset_materializations_for_node("bronze__ecommerce_sales")[0].metadata
    assert metadata["rows"].value == 2_500

    again = materialize_bronze(settings)
    assert again.success
    assert bronze(spark, settings).count() == 2_500

    produce(kafka, clean_values(300, start=2_500))
    assert materialize_bronze(settings).success
    assert bronze(spark, settings).count() == 2_800


def test_defects_are_kept_and_new_fields_become_columns(spark, settings, kafka):
    values = [
        json.dumps(order_event(0)).encode(),
        b"this is not json",
        b"[1, 2, 3]",
        b"",
        None,
        json.dumps(order_event(5, quantity="3", total="abc", price=None)).encode(),
        json.dumps(order_event(6, loyalty_tier="gold")).encode(),
    ]
    produce(kafka, values, partitions=1)
    result = materialize_bronze(settings)
    assert result.success
    rows = {r.kafka_offset: r for r in bronze(spark, settings).collect()}
    assert len(rows) == 7
    assert rows[1]._raw == "this is not json" and rows[1].order_id is None
    assert rows[2]._raw == "[1, 2, 3]"
    assert rows[3]._raw == ""
    assert rows[4]._raw is None
    assert rows[5].order_id == "ORD-00000005"
    assert rows[5].quantity is None and rows[5].total is None
    assert rows[6].loyalty_tier == "gold"
    assert rows[0].loyalty_tier is None
    metadata = result.asset_materializations_for_node("bronze__ecommerce_sales")[0].metadata
    assert metadata["malformed"].value == 4


def test_small_batches_commit_separately_and_stay_exact(spark, settings, kafka):
    produce(kafka, clean_values(1_000))
    result = materialize_bronze(settings, batch_size=150)
    assert result.success
    metadata = result.asset_materializations_for_node("bronze__ecommerce_sales")[0].metadata
    assert metadata["batches"].value >= 7
    assert bronze(spark, settings).count() == 1_000


@pytest.mark.slow
def test_replaying_a_past_partition_replaces_exactly_it(spark, settings, kafka):
    yesterday = today_utc() - timedelta(days=1)
    produce(kafka, clean_values(400))
    resources = build_resources(settings)
    table_path = settings.table_path(BRONZE.path)
    ingest_new_messages(resources["spark"].spark_session, kafka, table_path, yesterday)
    produce(kafka, clean_values(100, start=400))
    assert materialize_bronze(settings).success  # today's partition: the 100 new messages
    original = {
        (r.kafka_partition, r.kafka_offset): r.ingestion_timestamp
        for r in bronze(spark, settings).where(f"ingestion_date = '{yesterday}'").collect()
    }
    spark.sql(
        f"DELETE FROM delta.`{table_path}` WHERE kafka_offset % 7 = 0 "
        f"AND ingestion_date = DATE'{yesterday}'"
    )
    assert bronze(spark, settings).count() < 500

    assert materialize_bronze(settings, day=yesterday).success
    replayed = bronze(spark, settings)
    assert replayed.count() == 500
    assert replayed.where(f"ingestion_date = '{yesterday}'").count() == 400
    kept = {
        (r.kafka_partition, r.kafka_offset): r.ingestion_timestamp
        for r in replayed.where(f"ingestion_date = '{yesterday}'").collect()
    }
    assert set(kept) == set(original)
    survivors = [k for k in original if k[1] % 7 != 0]
    assert all(kept[k] == original[k] for k in survivors)


@pytest.mark.faults
def test_stored_offsets_beyond_the_topic_fail_clearly(spark, settings, kafka, topic):
    produce(kafka, clean_values(50), partitions=1)
    assert materialize_bronze(settings).success
    # The topic is recreated: Bronze's offsets now point past (or at other) messages.
    admin = kafka.admin()
    admin.delete_topics([topic])[topic].result(10)
    produce(kafka, clean_values(5, start=50), partitions=1)
    session = build_resources(settings)["spark"].spark_session
    with pytest.raises(OffsetsOutOfRange, match="deleted and recreated"):
        ingest_new_messages(
            session, kafka, settings.table_path(BRONZE.path), today_utc(), stall_timeout_s=5
        )
    assert bronze(spark, settings).count() == 50
    failed = materialize_bronze(settings)
    assert not failed.success


@pytest.mark.slow
def test_a_field_first_seen_after_the_table_exists_becomes_a_column(spark, settings, kafka):
    produce(kafka, clean_values(3), partitions=1)
    assert materialize_bronze(settings).success
    late = [json.dumps(order_event(10 + i, loyalty_tier="gold", gift=i)).encode() for i in range(2)]
    produce(kafka, late, partitions=1)
    assert materialize_bronze(settings).success
    rows = sorted(bronze(spark, settings).collect(), key=lambda r: r.kafka_offset)
    assert [(r.loyalty_tier, r.gift) for r in rows] == [(None, None)] * 3 + [
        ("gold", "0"),
        ("gold", "1"),
    ]
    assert bronze(spark, settings).columns[-2:] == ["loyalty_tier", "gift"]
