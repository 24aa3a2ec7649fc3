"""Recovery paths on the embedded broker: a recreated topic (a new incarnation, offsets from 0),
`earliest` and `latest` resets, replay within an incarnation, and a lake written before the
Kafka record columns existed. Added partitions and retention are covered by test_offsets.py
(the embedded broker has neither CreatePartitions nor DeleteRecords)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pyspark.sql import functions as F

from fastcart_assets.bronze import ingest
from fastcart_assets.bronze.ingest import ingest_new_messages
from fastcart_assets.bronze.parse import to_bronze_batch
from fastcart_assets.bronze.position import bronze_next_offsets
from fastcart_assets.bronze.records import KafkaRecord, build_batch
from fastcart_assets.bronze.table import append_batch
from fastcart_assets.partitions import today_utc
from fastcart_assets.silver.checks import reconcile
from fastcart_assets.silver.writes import process_partitions
from fastcart_assets.tables import BRONZE, SILVER, SILVER_REJECTED
from fastcart_assets_tests.bronze.helpers import (
    ALL_GREEN,
    Spec,
    bronze,
    bronze_metadata,
    check_results,
    failure_message,
    materialize_bronze,
    produce_specs,
)
from fastcart_assets_tests.helpers import clean_values, produce


def recreate(kafka, values: list[bytes], partitions: int = 3) -> None:
    """Delete the topic and create it again holding `values` (offsets from 0)."""
    admin = kafka.admin()
    admin.delete_topics([kafka.topic])[kafka.topic].result(10)
    produce(kafka, values, partitions)


def by_incarnation(spark, settings) -> dict[int, set[tuple[int, int]]]:
    found: dict[int, set[tuple[int, int]]] = {}
    for r in bronze(spark, settings).collect():
        found.setdefault(r.kafka_incarnation or 1, set()).add((r.kafka_partition, r.kafka_offset))
    return found


@pytest.mark.slow
def test_a_recreated_topic_fails_clearly_then_earliest_reads_it_once_and_runs_continue(
    spark, settings, kafka
):
    produce(kafka, clean_values(30))
    assert materialize_bronze(settings).success
    first = {r._raw for r in bronze(spark, settings).collect()}
    recreate(kafka, clean_values(5, start=100))

    refused = materialize_bronze(settings)
    assert not refused.success
    message = failure_message(refused)
    assert "deleted and recreated" in message and "Nothing was written" in message
    assert "`fastcart run --offset-reset earliest`" in message
    assert bronze(spark, settings).count() == 30

    reset = materialize_bronze(settings, offset_reset="earliest")
    assert reset.success and check_results(reset) == ALL_GREEN
    metadata = bronze_metadata(reset)
    assert metadata["kafka_incarnation"] == 2 and metadata["rows"] == 5
    assert metadata["offset_reset"][0]["new_incarnation"] is True
    assert metadata["offset_reset"][0]["skipped_messages"] == 0
    incarnations = by_incarnation(spark, settings)
    assert len(incarnations[1]) == 30 and len(incarnations[2]) == 5
    assert all(offset < 5 for _, offset in incarnations[2])  # offsets restarted
    earlier = bronze(spark, settings).where("kafka_incarnation IS NULL OR kafka_incarnation = 1")
    assert {r._raw for r in earlier.collect()} == first  # the earlier rows stay as they were

    again = materialize_bronze(settings)  # a plain run: nothing new, nothing doubled
    assert again.success and check_results(again) == ALL_GREEN
    assert bronze_metadata(again)["rows"] == 0 and bronze_metadata(again)["offset_reset"] == []
    produce(kafka, clean_values(4, start=200))
    later = materialize_bronze(settings)
    assert later.success and check_results(later) == ALL_GREEN
    assert len(by_incarnation(spark, settings)[2]) == 9
    assert bronze(spark, settings).count() == 39


@pytest.mark.slow
def test_latest_skips_what_it_says_once(spark, settings, kafka):
    produce(kafka, clean_values(10), partitions=1)
    assert materialize_bronze(settings).success
    admin = kafka.admin()
    admin.delete_topics([kafka.topic])[kafka.topic].result(10)
    produce_specs(kafka, [Spec(value=v) for v in clean_values(6, start=50)])

    skipped = materialize_bronze(settings, offset_reset="latest")
    assert skipped.success and check_results(skipped) == ALL_GREEN
    reset = bronze_metadata(skipped)["offset_reset"]
    assert [(r["skipped"], r["skipped_messages"], r["incarnation"]) for r in reset] == [
        ({"0": [0, 5]}, 6, 2)
    ]
    assert "skipped 6 messages (partition 0 offsets 0..5)" in reset[0]["description"]
    assert bronze(spark, settings).count() == 10
    table = settings.table_path(BRONZE.path)
    assert bronze_next_offsets(table, kafka.topic) == {0: 6}  # the sensor sees the skip too

    twice = materialize_bronze(settings, offset_reset="latest")  # nothing left to skip
    assert twice.success and bronze_metadata(twice)["offset_reset"] == []
    produce_specs(kafka, [Spec(value=v) for v in clean_values(3, start=80)])
    later = materialize_bronze(settings)
    assert later.success and check_results(later) == ALL_GREEN
    assert by_incarnation(spark, settings)[2] == {(0, 6), (0, 7), (0, 8)}
    assert bronze_next_offsets(table, kafka.topic) == {0: 9}


@pytest.mark.slow
def test_replay_reads_the_current_incarnation_and_keeps_the_earlier_ones_rows(
    spark, settings, kafka
):
    yesterday = today_utc() - timedelta(days=1)
    table = settings.table_path(BRONZE.path)
    session = spark
    produce(kafka, clean_values(20))
    ingest_new_messages(session, kafka, table, yesterday)
    recreate(kafka, clean_values(8, start=300))
    ingest_new_messages(session, kafka, table, yesterday, offset_reset="earliest")
    before = {
        (r.kafka_incarnation, r.kafka_partition, r.kafka_offset): (r.ingestion_timestamp, r._raw)
        for r in bronze(spark, settings).collect()
    }
    assert len(before) == 28
    # Damage: the first rows of the current incarnation (a replay cannot know rows beyond the
    # last one left of the latest day: those the next ingestion reads again, into its day).
    spark.sql(f"DELETE FROM delta.`{table}` WHERE kafka_incarnation = 2 AND kafka_offset = 0")
    assert bronze(spark, settings).count() < 28

    replayed = materialize_bronze(settings, day=yesterday)
    assert replayed.success and check_results(replayed) == ALL_GREEN
    after = {
        (r.kafka_incarnation, r.kafka_partition, r.kafka_offset): (r.ingestion_timestamp, r._raw)
        for r in bronze(spark, settings).collect()
    }
    assert set(after) == set(before)
    assert {k: v for k, v in after.items() if k[0] == 1} == {
        k: v for k, v in before.items() if k[0] == 1
    }  # the earlier incarnation's rows, untouched
    assert all(after[k][1] == before[k][1] for k in before)  # the same messages
    kept = [k for k in before if k[0] == 2 and k[2] > 0]
    assert kept and all(after[k][0] == before[k][0] for k in kept)  # original write times

    recreate(kafka, clean_values(2, start=900))  # the incarnation Bronze read is gone
    refused = materialize_bronze(settings, day=yesterday)
    assert not refused.success
    assert "was recreated since Bronze read it" in failure_message(refused)
    assert bronze(spark, settings).count() == 28


@pytest.mark.slow
def test_a_lake_written_before_the_record_columns_keeps_working(spark, settings, kafka):
    values = clean_values(10)
    produce(kafka, values, partitions=1)
    # Bronze as the previous version wrote it: no key bytes, headers or incarnation.
    written = datetime.now(UTC) - timedelta(minutes=5)
    records = [
        KafkaRecord(kafka.topic, 0, i, None, f"ORD-{i:08d}".encode(), v)  # as `produce` keys them
        for i, v in enumerate(values)
    ]
    old = to_bronze_batch(records, written, today_utc()).table
    old = old.drop_columns(["kafka_key_bytes", "kafka_headers", "kafka_incarnation"])
    table = settings.table_path(BRONZE.path)
    append_batch(spark, old, table)

    produce(kafka, clean_values(5, start=10), partitions=1)
    result = materialize_bronze(settings)
    assert result.success and check_results(result) == ALL_GREEN
    frame = bronze(spark, settings)
    assert frame.columns[-3:] == ["kafka_key_bytes", "kafka_headers", "kafka_incarnation"]
    rows = sorted(frame.collect(), key=lambda r: r.kafka_offset)
    assert [r.kafka_offset for r in rows] == list(range(15))
    assert all(r.kafka_incarnation is None and r.kafka_headers is None for r in rows[:10])
    assert all(r.kafka_incarnation == 1 and r.kafka_headers == [] for r in rows[10:])
    assert bronze_next_offsets(table, kafka.topic) == {0: 15}

    # Silver reads it as before: none of the new columns, every row accounted for.
    paths = [settings.table_path(t) for t in (SILVER.path, SILVER_REJECTED.path)]
    process_partitions(spark, table, *paths, [today_utc()])
    silver = spark.read.format("delta").load(paths[0])
    assert not {"kafka_key_bytes", "kafka_headers", "kafka_incarnation"} & set(silver.columns)
    assert silver.count() == 15
    [day] = reconcile(spark, table, *paths, [today_utc()])
    assert day.unaccounted == 0


@pytest.mark.slow
def test_silver_accounts_for_two_incarnations_in_one_day(spark, settings, kafka):
    """Offsets repeat across incarnations; Silver tells the rows apart (write time)."""
    produce(kafka, clean_values(12), partitions=1)
    assert materialize_bronze(settings).success
    recreate(kafka, clean_values(12, start=12), partitions=1)  # same offsets 0..11 again
    assert materialize_bronze(settings, offset_reset="earliest").success
    table = settings.table_path(BRONZE.path)
    paths = [settings.table_path(t) for t in (SILVER.path, SILVER_REJECTED.path)]
    for _ in range(2):  # a re-run changes nothing
        process_partitions(spark, table, *paths, [today_utc()])
        silver = spark.read.format("delta").load(paths[0])
        assert silver.count() == 24
        assert silver.select("kafka_offset").distinct().count() == 12
        [day] = reconcile(spark, table, *paths, [today_utc()])
        assert (day.bronze, day.silver, day.unaccounted) == (24, 24, 0)
    assert silver.where(F.col("kafka_offset") == 0).count() == 2


@pytest.mark.parametrize(
    ("stage", "real", "failing_call", "error", "committed"),
    [
        ("append_batch", append_batch, 2, OSError("No space left on device"), 10),
        ("build_batch", build_batch, 3, RuntimeError("parser bug"), 20),
    ],
    ids=["append", "parse"],
)
def test_a_failed_stage_fails_the_run_and_keeps_the_batches_before_it(
    spark, settings, kafka, monkeypatch, stage, real, failing_call, error, committed
):
    """Batch n+1 is parsed while batch n is appended, behind the read loop: when an append
    fails (a full disk, say) or a parse does (a bug), the run fails with that error once the
    batches before it are committed, and nothing after them is; the next run takes every other
    message once."""
    values = clean_values(50)
    produce(kafka, values, partitions=1)
    table = settings.table_path(BRONZE.path)
    calls = 0

    def failing(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == failing_call:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(ingest, stage, failing)
    with pytest.raises(type(error), match=str(error)):
        ingest_new_messages(spark, kafka, table, today_utc(), batch_size=10)
    assert calls == failing_call  # the read loop stopped at the failed batch
    offsets = sorted(r.kafka_offset for r in bronze(spark, settings).collect())
    assert offsets == list(range(committed))

    monkeypatch.setattr(ingest, stage, real)
    result = ingest_new_messages(spark, kafka, table, today_utc())
    assert result.rows_written == 50 - committed
    rows = bronze(spark, settings).collect()
    assert sorted(r.kafka_offset for r in rows) == list(range(50))
    assert sorted(r._raw for r in rows) == sorted(v.decode() for v in values)
