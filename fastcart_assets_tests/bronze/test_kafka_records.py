"""Any Kafka record lands in Bronze (SPEC.md §5): through the real embedded broker and a real
materialization of the Bronze asset, whatever the record's key, value, timestamp or headers.

A property-based suite over record metadata, then one named test per poison class: each poison
sits between clean records, the run succeeds with green checks, and a later run still works.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from deltalake import DeltaTable
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from fastcart_assets.bronze.records import MAX_TIMESTAMP_MS
from fastcart_assets.resources.kafka import KafkaResource
from fastcart_assets.tables import BRONZE
from fastcart_assets_tests.bronze.helpers import (
    ALL_GREEN,
    Spec,
    bronze,
    bronze_metadata,
    check_results,
    materialize_bronze,
    produce_specs,
    produce_with_raw_header_key,
)
from fastcart_assets_tests.helpers import order_event

EPOCH = datetime(1970, 1, 1)  # Spark returns timestamps as naive UTC


def expected_timestamp(timestamp_ms: int) -> datetime | None:
    """The record timestamp as Bronze keeps it: null outside (0, year 9999]."""
    if not 0 < timestamp_ms <= MAX_TIMESTAMP_MS:
        return None
    return EPOCH + timedelta(milliseconds=timestamp_ms)


def assert_rows_match(spark, settings, placed) -> None:
    """One Bronze row per produced record, with its exact key, value, headers and timestamp."""
    rows = {(r.kafka_partition, r.kafka_offset): r for r in bronze(spark, settings).collect()}
    assert set(rows) == set(placed)
    for coordinates, spec in placed.items():
        row = rows[coordinates]
        assert row.kafka_key_bytes == spec.key
        assert row.kafka_key == (None if spec.key is None else spec.key.decode("utf-8", "replace"))
        assert row._raw == (None if spec.value is None else spec.value.decode("utf-8", "replace"))
        assert [(h.key, h.value) for h in row.kafka_headers] == list(spec.headers)
        if spec.timestamp_ms != 0:  # 0 asks librdkafka to stamp the time of sending
            assert row.kafka_timestamp == expected_timestamp(spec.timestamp_ms)
        assert row.kafka_incarnation == 1


# --- Property-based: record metadata across its whole range ------------------------------------

HEADER_KEY = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"]))
RECORDS = st.lists(
    st.builds(
        Spec,
        key=st.none() | st.binary(max_size=40),
        value=st.none()
        | st.just(b"")
        | st.binary(max_size=300)
        | st.integers(0, 10**6).map(lambda i: json.dumps(order_event(i)).encode()),
        timestamp_ms=st.integers(-(2**63), 2**63 - 1).filter(bool)
        | st.sampled_from([-1, 1, MAX_TIMESTAMP_MS, MAX_TIMESTAMP_MS + 1, 2**63 - 1, -(2**63)])
        | st.integers(1, MAX_TIMESTAMP_MS),
        headers=st.lists(
            st.tuples(
                HEADER_KEY.filter(lambda k: len(k) <= 12), st.none() | st.binary(max_size=24)
            ),
            max_size=4,
        ).map(tuple),
    ),
    min_size=1,
    max_size=30,
)


@pytest.mark.slow
@settings(
    max_examples=8,
    derandomize=True,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a failing run is shown as it is
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(specs=RECORDS)
def test_every_record_is_one_bronze_row_whatever_its_metadata(spark, settings, tmp_path, specs):
    run = replace(
        settings,
        lake_root=str(tmp_path / uuid.uuid4().hex[:8]),
        kafka_topic=f"meta-{uuid.uuid4().hex[:10]}",
    )
    kafka = KafkaResource(bootstrap_servers=run.kafka_bootstrap, topic=run.kafka_topic)
    placed = produce_specs(kafka, specs, partitions=3)
    result = materialize_bronze(run)
    assert result.success
    assert check_results(result) == ALL_GREEN
    assert_rows_match(spark, run, placed)


# --- One named test per poison class ------------------------------------------------------------

CLEAN = [Spec(key=b"ORD-1", value=json.dumps(order_event(i)).encode()) for i in range(2)]


def _lands_between_clean_records(spark, settings, kafka, poison: Spec):
    """The poison between clean records: one row each, green checks, and a later run works."""
    placed = produce_specs(kafka, [*CLEAN, poison, *CLEAN])
    result = materialize_bronze(settings, batch_size=2)
    assert result.success
    assert check_results(result) == ALL_GREEN
    assert_rows_match(spark, settings, placed)
    later = produce_specs(kafka, CLEAN)
    again = materialize_bronze(settings, batch_size=2)
    assert again.success and check_results(again) == ALL_GREEN
    assert_rows_match(spark, settings, placed | later)
    return {r.kafka_offset: r for r in bronze(spark, settings).collect()}[2]


@pytest.mark.slow
def test_poison_timestamp_beyond_any_calendar(spark, settings, kafka):
    row = _lands_between_clean_records(spark, settings, kafka, Spec(timestamp_ms=2**63 - 1))
    assert row.kafka_timestamp is None


@pytest.mark.slow
def test_poison_timestamp_from_a_clock_in_nanoseconds(spark, settings, kafka):
    poison = Spec(timestamp_ms=1_700_000_000_000_000_000)
    assert _lands_between_clean_records(spark, settings, kafka, poison).kafka_timestamp is None


@pytest.mark.slow
def test_poison_negative_timestamp(spark, settings, kafka):
    row = _lands_between_clean_records(spark, settings, kafka, Spec(timestamp_ms=-42))
    assert row.kafka_timestamp is None


@pytest.mark.slow
def test_poison_null_value_tombstone(spark, settings, kafka):
    row = _lands_between_clean_records(spark, settings, kafka, Spec(value=None))
    assert row._raw is None and row.order_id is None


@pytest.mark.slow
def test_poison_empty_value(spark, settings, kafka):
    assert _lands_between_clean_records(spark, settings, kafka, Spec(value=b""))._raw == ""


@pytest.mark.slow
def test_poison_null_key(spark, settings, kafka):
    row = _lands_between_clean_records(spark, settings, kafka, Spec(key=None))
    assert row.kafka_key is None and row.kafka_key_bytes is None


@pytest.mark.slow
def test_poison_binary_key(spark, settings, kafka):
    row = _lands_between_clean_records(spark, settings, kafka, Spec(key=b"\xff\x00\xc3("))
    assert row.kafka_key_bytes == b"\xff\x00\xc3(" and row.kafka_key == "\ufffd\x00\ufffd("


@pytest.mark.slow
def test_poison_duplicate_and_null_headers(spark, settings, kafka):
    headers = (("trace", b"\x00"), ("trace", None), ("é", b""), ("trace", b"\xff"))
    row = _lands_between_clean_records(spark, settings, kafka, Spec(headers=headers))
    assert [(h.key, h.value) for h in row.kafka_headers] == list(headers)


@pytest.mark.slow
def test_poison_value_of_a_megabyte(spark, settings, kafka):
    event = order_event(7, product_name="x" * (1 << 20))
    row = _lands_between_clean_records(
        spark, settings, kafka, Spec(value=json.dumps(event).encode())
    )
    assert len(row._raw) > 1 << 20 and row.order_id == "ORD-00000007"


def test_poison_header_key_that_is_not_utf8(spark, settings, kafka):
    """The Python client cannot read such headers: the row lands with null headers."""
    produce_specs(kafka, CLEAN)
    produce_with_raw_header_key(kafka, b"\xff\xfe", b'{"order_id": "ORD-00000009"}')
    produce_specs(kafka, CLEAN)
    result = materialize_bronze(settings)
    assert result.success and check_results(result) == ALL_GREEN
    rows = {r.kafka_offset: r for r in bronze(spark, settings).collect()}
    assert sorted(rows) == [0, 1, 2, 3, 4]
    assert rows[2].kafka_headers is None and rows[2].order_id == "ORD-00000009"
    assert rows[1].kafka_headers == [] and bronze_metadata(result)["rows"] == 5


@pytest.mark.parametrize(("batch_bytes", "batches"), [(1, 10), (4 * 800, 3), (64 << 20, 1)])
def test_batches_are_bounded_in_bytes(spark, settings, kafka, batch_bytes, batches):
    # Ten records of 800 bytes as counted (value + key + 128 for the rest): a batch is flushed
    # once it holds at least `batch_bytes`.
    values = [b"v" * (800 - 128 - 1)] * 10
    produce_specs(kafka, [Spec(key=b"k", value=v) for v in values])
    result = materialize_bronze(settings, batch_bytes=batch_bytes)
    assert result.success and check_results(result) == ALL_GREEN
    assert bronze_metadata(result)["batches"] == batches
    assert bronze_metadata(result)["bytes_read"] == 10 * 800
    assert bronze(spark, settings).count() == 10


@pytest.mark.slow
def test_a_batch_is_one_delta_rs_commit_that_spark_reads_back(spark, settings, kafka):
    """Clean rows, a 200 kB value and a header that is not text: one batch, one commit (the
    table's creation aside), written with delta-rs; Spark reads every row back."""
    big = json.dumps(order_event(50, product_name="y" * 200_000)).encode()
    specs = [*CLEAN, Spec(value=big, headers=(("h", b"\x00"),)), *CLEAN]
    placed = produce_specs(kafka, specs)
    result = materialize_bronze(settings)
    assert result.success and check_results(result) == ALL_GREEN
    assert bronze_metadata(result)["batches"] == 1
    assert_rows_match(spark, settings, placed)
    history = DeltaTable(settings.table_path(BRONZE.path)).history()
    [written] = [h for h in history if h["operation"] == "WRITE"]  # created empty by Spark
    assert (
        "delta-rs" in written["clientVersion"]
        and written["operationParameters"]["mode"] == "Append"
    )
    assert bronze(spark, settings).where("order_id = 'ORD-00000050'").count() == 1
