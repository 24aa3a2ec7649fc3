"""`bronze/ecommerce_sales`: every Kafka message exactly once, partitioned by ingestion date."""

import dagster as dg
from pydantic import Field

from fastcart_assets.bronze.checks import audit_offsets, run_ranges
from fastcart_assets.bronze.ingest import IngestResult, OffsetsOutOfRange, ingest_new_messages
from fastcart_assets.bronze.offsets import OFFSET_RESETS
from fastcart_assets.bronze.replay import replay_partition
from fastcart_assets.delta import table_exists
from fastcart_assets.kafka.topics import TopicError
from fastcart_assets.partitions import daily_partitions, partition_dates, today_utc
from fastcart_assets.policies import TRANSIENT_RETRY
from fastcart_assets.resources.kafka import KafkaResource
from fastcart_assets.resources.lake import LakeResource
from fastcart_assets.resources.spark import SparkResource
from fastcart_assets.settings import BRONZE_TABLE

BRONZE_KEY = dg.AssetKey(["bronze", "ecommerce_sales"])
CHECK_NO_DUPLICATES = "no_duplicate_coordinates"
CHECK_CONTIGUOUS = "offsets_contiguous"
CHECK_ROWS_MATCH = "rows_equal_messages_read"


def offset_check_specs(key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    """The exactly-once checks of a Bronze asset (any Bronze table: see bronze.ingest)."""
    return [
        dg.AssetCheckSpec(
            CHECK_NO_DUPLICATES,
            asset=key,
            blocking=True,
            description="no Kafka coordinate (incarnation, partition, offset) twice in Bronze",
        ),
        dg.AssetCheckSpec(
            CHECK_CONTIGUOUS,
            asset=key,
            description="the offsets this run wrote have no gap (no loss)",
        ),
        dg.AssetCheckSpec(
            CHECK_ROWS_MATCH,
            asset=key,
            blocking=True,
            description="rows written by this run = messages it read",
        ),
    ]


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


@dg.asset(
    key=BRONZE_KEY,
    partitions_def=daily_partitions,
    group_name="bronze",
    kinds={"kafka", "spark", "delta"},
    pool="delta_bronze",
    retry_policy=TRANSIENT_RETRY,
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=offset_check_specs(BRONZE_KEY),
    metadata={"table": BRONZE_TABLE},
)
def bronze_ecommerce_sales(
    context: dg.AssetExecutionContext,
    config: BronzeConfig,
    spark: SparkResource,
    kafka: KafkaResource,
    lake: LakeResource,
):
    """Raw order events from Kafka, one row per message, resumed from the offsets Bronze holds."""
    if config.offset_reset not in OFFSET_RESETS:
        raise dg.Failure(f"offset_reset must be one of {', '.join(OFFSET_RESETS)}")
    if config.batch_size < 1 or config.batch_bytes < 1:
        raise dg.Failure("batch_size and batch_bytes must be positive")
    table_path = lake.table_path(BRONZE_TABLE)
    session = spark.spark_session
    try:
        results = _ingest(context, config, session, kafka, table_path)
    except (OffsetsOutOfRange, TopicError) as exc:
        # A data or setup problem: retrying cannot help, so fail without retries.
        raise dg.Failure(str(exc), allow_retries=False) from exc
    yield dg.MaterializeResult(asset_key=BRONZE_KEY, metadata=ingestion_metadata(results))
    yield from offset_check_results(session, table_path, kafka.topic, results)


def _ingest(context, config, session, kafka, table_path) -> list[IngestResult]:
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
                session,
                kafka,
                table_path,
                day,
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
                session, kafka, table_path, day, batch_bytes=config.batch_bytes
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


def _run_ranges(results: list[IngestResult]) -> dict[int, dict[int, tuple[int, int]]]:
    """Per incarnation and Kafka partition, the span of offsets the run read."""
    ranges: dict[int, dict[int, tuple[int, int]]] = {}
    for result in results:
        spans = ranges.setdefault(result.incarnation, {})
        for partition, (first, last) in run_ranges(result).items():
            low, high = spans.get(partition, (first, last))
            spans[partition] = (min(low, first), max(high, last))
    return ranges


def offset_check_results(session, table_path: str, topic: str, results: list[IngestResult]):
    """The results of `offset_check_specs` for a run that produced `results`."""
    ranges = _run_ranges(results)
    exists = table_exists(table_path)
    whole = audit_offsets(session, table_path, topic, None, None) if exists else []
    in_run = [
        audit
        for incarnation, spans in ranges.items()
        for audit in (
            audit_offsets(session, table_path, topic, incarnation, spans) if exists else []
        )
    ]
    duplicates = {f"{a.incarnation}/{a.partition}": a.duplicates for a in whole if a.duplicates}
    yield dg.AssetCheckResult(
        check_name=CHECK_NO_DUPLICATES,
        passed=not duplicates,
        metadata={
            "duplicate_rows_by_incarnation_partition": duplicates,
            "rows_checked": sum(a.rows for a in whole),
        },
    )
    missing = {f"{a.incarnation}/{a.partition}": a.missing for a in in_run if a.missing}
    yield dg.AssetCheckResult(
        check_name=CHECK_CONTIGUOUS,
        passed=not missing,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "missing_offsets_by_incarnation_partition": missing,
            "ranges": {
                f"{i}/{p}": list(r) for i, spans in ranges.items() for p, r in spans.items()
            },
        },
    )
    read = sum(r.messages_read for r in results)
    in_table = sum(a.rows for a in in_run)
    yield dg.AssetCheckResult(
        check_name=CHECK_ROWS_MATCH,
        passed=in_table == read,
        metadata={"messages_read": read, "rows_in_bronze_for_run_offsets": in_table},
    )
