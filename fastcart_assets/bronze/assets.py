"""`bronze/ecommerce_sales`: every Kafka message exactly once, partitioned by ingestion date.

`materialize_bronze` is the body of any Bronze asset (`bronze/orders_cdc` too, cdc.assets): the
asset declares `offset_check_specs(key)` and its table's pool, and passes its Kafka resource, its
catalog entry and its `BronzeTable`.
"""

import dagster as dg
import pyarrow as pa
from pydantic import Field

from fastcart_assets.bronze.checks import audit_offsets, duplicates_by_date, run_ranges
from fastcart_assets.bronze.ingest import IngestResult, OffsetsOutOfRange, ingest_new_messages
from fastcart_assets.bronze.offsets import OFFSET_RESETS
from fastcart_assets.bronze.parse import ORDER_EVENTS
from fastcart_assets.bronze.replay import replay_partition
from fastcart_assets.bronze.table import BronzeTable
from fastcart_assets.delta import table_exists
from fastcart_assets.kafka.topics import TopicError
from fastcart_assets.metadata import spec_metadata, table_metadata
from fastcart_assets.partitions import daily_partitions, partition_dates, today_utc
from fastcart_assets.policies import TRANSIENT_RETRY
from fastcart_assets.quality.checks import invariant_evaluation, yield_evaluations
from fastcart_assets.quality.expectations import PartitionCheck
from fastcart_assets.quality.freshness import KAFKA_TOPIC_KEY
from fastcart_assets.resources.kafka import KafkaResource
from fastcart_assets.resources.lake import LakeResource
from fastcart_assets.resources.spark import SparkResource
from fastcart_assets.schemas import BRONZE_SCHEMA
from fastcart_assets.tables import BRONZE, TableInfo

BRONZE_KEY = dg.AssetKey(["bronze", "ecommerce_sales"])
CHECK_NO_DUPLICATES = "no_duplicate_coordinates"
CHECK_CONTIGUOUS = "offsets_contiguous"
CHECK_ROWS_MATCH = "rows_equal_messages_read"


class BronzeConfig(dg.Config):
    """Run options for Bronze ingestion."""

    batch_size: int = Field(50_000, description="messages per Delta commit at most")
    batch_bytes: int = Field(
        64 << 20, description="bytes of messages per Delta commit at most (bounds memory)"
    )
    offset_reset: str = Field(
        "fail",
        description="when Bronze's stored offsets are not in the topic: fail, earliest or latest",
    )


# Every check is evaluated per partition of the run (a replay range has several).
CHECK_DESCRIPTIONS = {
    CHECK_NO_DUPLICATES: "no Kafka coordinate (incarnation, partition, offset) of the "
    "partition's rows occurs twice in Bronze",
    CHECK_CONTIGUOUS: "the offsets this run wrote for the partition have no gap (no loss)",
    CHECK_ROWS_MATCH: "rows written for the partition = messages read for it",
}
BLOCKING_CHECKS = (CHECK_NO_DUPLICATES, CHECK_ROWS_MATCH)


def offset_check_specs(key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    """The exactly-once checks of a Bronze asset, per partition (any Bronze table: see
    bronze.ingest)."""
    return [
        dg.AssetCheckSpec(
            name,
            asset=key,
            blocking=name in BLOCKING_CHECKS,
            partitions_def=daily_partitions,
            description=description,
        )
        for name, description in CHECK_DESCRIPTIONS.items()
    ]


@dg.asset(
    key=BRONZE_KEY,
    deps=[KAFKA_TOPIC_KEY],
    partitions_def=daily_partitions,
    group_name="bronze",
    kinds={"kafka", "spark", "delta"},
    pool=BRONZE.pool,
    retry_policy=TRANSIENT_RETRY,
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=offset_check_specs(BRONZE_KEY),
    metadata=spec_metadata(BRONZE, BRONZE_SCHEMA),
)
def bronze_ecommerce_sales(
    context: dg.AssetExecutionContext,
    config: BronzeConfig,
    spark: SparkResource,
    kafka: KafkaResource,
    lake: LakeResource,
):
    """Raw order events from Kafka, one row per message, resumed from the offsets Bronze holds."""
    yield from materialize_bronze(context, config, spark, kafka, lake, BRONZE, ORDER_EVENTS)


def materialize_bronze(
    context: dg.AssetExecutionContext,
    config: BronzeConfig,
    spark: SparkResource,
    kafka: KafkaResource,
    lake: LakeResource,
    info: TableInfo,
    table: BronzeTable,
):
    """The body of a Bronze asset (any Bronze table, see bronze.ingest): today's partition
    ingests new messages, a past one is replayed from Kafka; then the standard metadata per
    partition, the run's ingestion metadata and the offset checks per partition.

    Args:
        context: the asset's context (its partition or partition range).
        config: the run options.
        spark: the Spark resource.
        kafka: the cluster and the table's topic.
        lake: where the table lives (`info.path` under the lake root).
        info: the table in the catalog (tables.py); its path is also the asset key.
        table: what the shared ingestion needs (schema, payload parser, consumer group).
    """
    if config.offset_reset not in OFFSET_RESETS:
        raise dg.Failure(f"offset_reset must be one of {', '.join(OFFSET_RESETS)}")
    if config.batch_size < 1 or config.batch_bytes < 1:
        raise dg.Failure("batch_size and batch_bytes must be positive")
    table_path = lake.table_path(info.path)
    try:
        results = _ingest(context, config, spark, kafka, table_path, table)
    except (OffsetsOutOfRange, TopicError) as exc:
        # A data or setup problem: retrying cannot help, so fail without retries.
        raise dg.Failure(str(exc), allow_retries=False) from exc
    finally:
        # Arrow's allocator keeps the pages the batches used; the engine, in this process
        # too, needs them next (1 M events: ~150 MB lower peak).
        pa.default_memory_pool().release_unused()
    session = spark.spark_session
    days = partition_dates(context)
    standard = table_metadata(info, table_path, table.schema, days)
    for day, result in zip(days, results, strict=True):
        own = {
            "rows": dg.MetadataValue.int(result.rows_written),
            "messages_read": dg.MetadataValue.int(result.messages_read),
        }
        context.add_asset_metadata({**standard[day], **own}, partition_key=day.isoformat())
    yield dg.MaterializeResult(asset_key=info.asset_key, metadata=ingestion_metadata(results))
    yield from yield_evaluations(
        context,
        offset_evaluations(info.asset_key, session, table_path, kafka.topic, days, results),
    )


def _ingest(context, config, spark: SparkResource, kafka, table_path, table) -> list[IngestResult]:
    today = today_utc()
    results: list[IngestResult] = []
    for day in partition_dates(context):
        if day > today:
            raise dg.Failure(
                f"partition {day} is in the future; Bronze ingests today's ({today})",
                allow_retries=False,
            )
        if day == today:
            context.log.info("ingesting new messages of topic %s into %s", kafka.topic, day)
            result = ingest_new_messages(
                lambda: spark.spark_session,  # reading Kafka need not wait for the engine
                kafka,
                table_path,
                day,
                table=table,
                batch_size=config.batch_size,
                batch_bytes=config.batch_bytes,
                offset_reset=config.offset_reset,
                on_batch=lambda r: context.log.info(
                    "committed %d rows in %d batches", r.rows_written, r.batches
                ),
            )
            if result.reset:
                context.log.warning("topic %s: %s", kafka.topic, result.reset["description"])
        else:
            context.log.info("replaying Bronze partition %s from Kafka", day)
            result = replay_partition(
                spark.spark_session,
                kafka,
                table_path,
                day,
                table=table,
                batch_bytes=config.batch_bytes,
            )
        results.append(result)
    return results


def ingestion_metadata(results: list[IngestResult]) -> dict:
    """A Bronze materialization's metadata: rows, offsets, lag, resets, timings."""
    rows = sum(r.rows_written for r in results)
    seconds = sum(r.kafka_seconds + r.write_seconds for r in results)
    per_partition = {
        str(p.partition): {
            "first": p.start,
            "last": p.next_offset - 1,
            "messages": p.messages,
            "lag": p.lag,
        }
        for r in results
        for p in r.partitions.values()
    }
    return {
        "rows": dg.MetadataValue.int(rows),
        "messages_read": dg.MetadataValue.int(sum(r.messages_read for r in results)),
        "malformed": dg.MetadataValue.int(sum(r.malformed for r in results)),
        "bytes_read": dg.MetadataValue.int(sum(r.bytes_read for r in results)),
        "kafka_incarnation": dg.MetadataValue.int(results[-1].incarnation if results else 1),
        "batches": dg.MetadataValue.int(sum(r.batches for r in results)),
        "offsets": dg.MetadataValue.json(per_partition),
        "lag": dg.MetadataValue.int(sum(p.lag for r in results for p in r.partitions.values())),
        "new_columns": dg.MetadataValue.json(results[-1].extra_columns if results else []),
        "offset_reset": dg.MetadataValue.json([r.reset for r in results if r.reset]),
        "kafka_seconds": dg.MetadataValue.float(round(sum(r.kafka_seconds for r in results), 3)),
        "write_seconds": dg.MetadataValue.float(round(sum(r.write_seconds for r in results), 3)),
        "throughput_rows_per_s": dg.MetadataValue.float(
            round(rows / seconds, 1) if seconds else 0.0
        ),
    }


def offset_evaluations(
    key: dg.AssetKey, session, table_path: str, topic: str, days, results: list[IngestResult]
):
    """The checks of `offset_check_specs` on each partition of a run that produced `results`
    (one per partition date, in order): uniqueness over the whole table, contiguity and count
    within the offsets the run read, in the incarnation it read."""
    exists = table_exists(table_path)
    repeated = duplicates_by_date(session, table_path, topic, days) if exists else {}
    for day, result in zip(days, results, strict=True):
        ranges = run_ranges(result)
        in_run = (
            audit_offsets(session, table_path, topic, result.incarnation, ranges) if exists else []
        )
        rows, duplicates = repeated.get(day, (0, 0))
        missing = {f"missing_in_kafka_partition_{a.partition}": a.missing for a in in_run}
        read, in_table = result.messages_read, sum(a.rows for a in in_run)
        checks = [
            PartitionCheck(CHECK_NO_DUPLICATES, day, rows, duplicates),
            PartitionCheck(
                CHECK_CONTIGUOUS,
                day,
                sum(last - first + 1 for first, last in ranges.values()),
                sum(missing.values()),
                missing,
            ),
            PartitionCheck(
                CHECK_ROWS_MATCH,
                day,
                read,
                abs(in_table - read),
                {"messages_read": read, "rows_in_bronze_for_run_offsets": in_table},
            ),
        ]
        for check in checks:
            yield invariant_evaluation(
                key,
                check,
                CHECK_DESCRIPTIONS[check.name],
                blocking=check.name in BLOCKING_CHECKS,
            )
