"""`bronze/orders_cdc` from the CDC topic, then `silver/orders_current` (SCD 1) and
`silver/orders_history` (SCD 2) from it.

Bronze CDC is the shared Bronze ingestion (`bronze.assets.materialize_bronze`) on the topic of
the `kafka_cdc` resource (FASTCART_CDC_TOPIC) with the change-event table `cdc.parse.ORDER_CHANGES`:
exactly once, its own consumer group, pool and incarnation state, past partitions replayed from
Kafka. One Silver step per partition range: Silver CDC partition D applies the changes of Bronze
CDC partition D (cdc.writes), then the checks of cdc.checks run on the tables.
"""

import posixpath

import dagster as dg

from fastcart_assets.bronze.assets import BronzeConfig, materialize_bronze, offset_check_specs
from fastcart_assets.cdc.checks import (
    account_envelopes,
    current_keys,
    current_matches_history,
    overlaps,
)
from fastcart_assets.cdc.parse import ORDER_CHANGES
from fastcart_assets.cdc.schemas import (
    BRONZE_CDC_SCHEMA,
    ORDERS_CURRENT_SCHEMA,
    ORDERS_HISTORY_SCHEMA,
)
from fastcart_assets.cdc.writes import CdcResult, process_cdc_partitions, read_bronze_cdc
from fastcart_assets.metadata import spec_metadata, table_metadata
from fastcart_assets.partitions import daily_partitions, partition_dates
from fastcart_assets.policies import TRANSIENT_RETRY
from fastcart_assets.quality.freshness import KAFKA_CDC_TOPIC_KEY
from fastcart_assets.resources.kafka import KafkaResource
from fastcart_assets.resources.lake import LakeResource
from fastcart_assets.resources.spark import SparkResource
from fastcart_assets.tables import BRONZE_CDC, ORDERS_CURRENT, ORDERS_HISTORY

BRONZE_CDC_KEY = dg.AssetKey(["bronze", "orders_cdc"])
ORDERS_CURRENT_KEY = dg.AssetKey(["silver", "orders_current"])
ORDERS_HISTORY_KEY = dg.AssetKey(["silver", "orders_history"])
CHECK_ONE_ROW_PER_ORDER = "one_current_row_per_live_order"
CHECK_CURRENT_EQUALS_HISTORY = "current_equals_history"
CHECK_NO_OVERLAP = "no_overlapping_versions"
CHECK_ACCOUNTED = "every_envelope_accounted_for"


@dg.asset(
    key=BRONZE_CDC_KEY,
    deps=[KAFKA_CDC_TOPIC_KEY],
    partitions_def=daily_partitions,
    group_name="bronze",
    kinds={"kafka", "spark", "delta"},
    pool=BRONZE_CDC.pool,
    retry_policy=TRANSIENT_RETRY,
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=offset_check_specs(BRONZE_CDC_KEY),
    metadata=spec_metadata(BRONZE_CDC, BRONZE_CDC_SCHEMA),
)
def bronze_orders_cdc(
    context: dg.AssetExecutionContext,
    config: BronzeConfig,
    spark: SparkResource,
    kafka_cdc: KafkaResource,
    lake: LakeResource,
):
    """Change events of the orders table, one row per Kafka record (tombstones included)."""
    yield from materialize_bronze(
        context, config, spark, kafka_cdc, lake, BRONZE_CDC, ORDER_CHANGES
    )


_CHECKS = [
    dg.AssetCheckSpec(
        CHECK_ONE_ROW_PER_ORDER,
        asset=ORDERS_CURRENT_KEY,
        blocking=True,
        description="no order_id twice and no deleted order in orders_current",
    ),
    dg.AssetCheckSpec(
        CHECK_CURRENT_EQUALS_HISTORY,
        asset=ORDERS_CURRENT_KEY,
        blocking=True,
        description="orders_current equals the is_current rows of orders_history",
    ),
    dg.AssetCheckSpec(
        CHECK_NO_OVERLAP,
        asset=ORDERS_HISTORY_KEY,
        blocking=True,
        description="per order, versions in lsn order never overlap; only the last is open",
    ),
    dg.AssetCheckSpec(
        CHECK_ACCOUNTED,
        asset=ORDERS_HISTORY_KEY,
        blocking=True,
        description="every envelope of the partitions was applied, ignored (stale, duplicate, "
        "tombstone) or rejected with a reason; none is missing from history",
    ),
]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            ORDERS_CURRENT_KEY,
            deps=[BRONZE_CDC_KEY],
            partitions_def=daily_partitions,
            group_name="silver",
            kinds={"spark", "delta"},
            description="Every live order as it is now (SCD type 1): its latest change by LSN.",
            metadata=spec_metadata(ORDERS_CURRENT, ORDERS_CURRENT_SCHEMA),
        ),
        dg.AssetSpec(
            ORDERS_HISTORY_KEY,
            deps=[BRONZE_CDC_KEY],
            partitions_def=daily_partitions,
            group_name="silver",
            kinds={"spark", "delta"},
            description="Every version of every order (SCD type 2): valid_from, valid_to, "
            "is_current, op.",
            metadata=spec_metadata(ORDERS_HISTORY, ORDERS_HISTORY_SCHEMA),
        ),
    ],
    check_specs=_CHECKS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=ORDERS_HISTORY.pool,
    retry_policy=TRANSIENT_RETRY,
)
def silver_orders_cdc(context: dg.AssetExecutionContext, spark: SparkResource, lake: LakeResource):
    """Silver CDC partition D applies Bronze CDC partition D's changes (a backfill: its range)."""
    session = spark.spark_session
    days = partition_dates(context)
    bronze, current, history = (
        lake.table_path(t) for t in (BRONZE_CDC.path, ORDERS_CURRENT.path, ORDERS_HISTORY.path)
    )
    result = process_cdc_partitions(session, bronze, current, history, days)
    context.log.info(
        "Silver CDC %s..%s: %d envelopes, %d applied, %d stale, %d duplicates, %d tombstones, "
        "%d rejected",
        days[0],
        days[-1],
        result.rows_in,
        result.applied,
        result.stale,
        result.duplicates,
        result.tombstones,
        result.rejected,
    )
    # The standard metadata of the whole table (neither is partitioned by date, docs/SPEC.md §10).
    standard = {
        key: table_metadata(info, path, schema)[None]
        for key, info, path, schema in (
            (ORDERS_CURRENT_KEY, ORDERS_CURRENT, current, ORDERS_CURRENT_SCHEMA),
            (ORDERS_HISTORY_KEY, ORDERS_HISTORY, history, ORDERS_HISTORY_SCHEMA),
        )
    }
    yield dg.MaterializeResult(
        asset_key=ORDERS_CURRENT_KEY,
        metadata={**standard[ORDERS_CURRENT_KEY], **_current_metadata(result)},
    )
    yield dg.MaterializeResult(
        asset_key=ORDERS_HISTORY_KEY,
        metadata={**standard[ORDERS_HISTORY_KEY], **_history_metadata(result)},
    )
    yield from _checks(session, bronze, current, history, days, result)


def _envelope_metadata(result: CdcResult) -> dict:
    return {
        "envelopes": dg.MetadataValue.int(result.rows_in),
        "applied": dg.MetadataValue.int(result.applied),
        "stale": dg.MetadataValue.int(result.stale),
        "duplicates": dg.MetadataValue.int(result.duplicates),
        "tombstones": dg.MetadataValue.int(result.tombstones),
        "rejected": dg.MetadataValue.int(result.rejected),
        "rejected_by_reason": dg.MetadataValue.json(result.rejected_by_reason),
    }


def _current_metadata(result: CdcResult) -> dict:
    changed = result.current_inserted + result.current_updated + result.current_deleted
    return {
        **_envelope_metadata(result),
        "rows": dg.MetadataValue.int(changed),  # rows the MERGE inserted, updated or deleted
        "inserted": dg.MetadataValue.int(result.current_inserted),
        "updated": dg.MetadataValue.int(result.current_updated),
        "deleted": dg.MetadataValue.int(result.current_deleted),
    }


def _history_metadata(result: CdcResult) -> dict:
    changed = result.history_inserted + result.history_updated
    return {
        **_envelope_metadata(result),
        "rows": dg.MetadataValue.int(changed),  # versions the MERGE inserted or updated
        "versions_inserted": dg.MetadataValue.int(result.history_inserted),
        "versions_updated": dg.MetadataValue.int(result.history_updated),
    }


def _checks(session, bronze_path, current_path, history_path, days, result: CdcResult):
    current = session.read.format("delta").load(current_path)
    history = session.read.format("delta").load(history_path)
    keys = current_keys(current)
    yield dg.AssetCheckResult(
        asset_key=ORDERS_CURRENT_KEY,
        check_name=CHECK_ONE_ROW_PER_ORDER,
        passed=keys.duplicate_rows == 0 and keys.deleted_rows == 0,
        metadata={"duplicate_rows": keys.duplicate_rows, "deleted_rows": keys.deleted_rows},
    )
    match = current_matches_history(current, history)
    yield dg.AssetCheckResult(
        asset_key=ORDERS_CURRENT_KEY,
        check_name=CHECK_CURRENT_EQUALS_HISTORY,
        passed=match.missing == 0 and match.extra == 0,
        metadata={"missing_in_current": match.missing, "not_current_in_history": match.extra},
    )
    found = overlaps(history)
    yield dg.AssetCheckResult(
        asset_key=ORDERS_HISTORY_KEY,
        check_name=CHECK_NO_OVERLAP,
        passed=found.total == 0,
        metadata={
            "overlapping": found.overlapping,
            "negative_intervals": found.negative,
            "open_not_last": found.open_not_last,
            "wrong_is_current": found.wrong_current,
        },
    )
    bronze = read_bronze_cdc(session, bronze_path)
    accounting = account_envelopes(bronze, history, days, posixpath.dirname(history_path))
    yield dg.AssetCheckResult(
        asset_key=ORDERS_HISTORY_KEY,
        check_name=CHECK_ACCOUNTED,
        passed=accounting.unaccounted == 0 and result.accounted == result.rows_in,
        metadata={
            "envelopes": accounting.envelopes,
            "in_history": accounting.in_history,
            "redeliveries": accounting.redeliveries,
            "tombstones": accounting.tombstones,
            "rejected": accounting.rejected,
            "rejected_by_reason": accounting.rejected_by_reason,
            "unaccounted": accounting.unaccounted,
            "run_outcomes": {
                "applied": result.applied,
                "stale": result.stale,
                "duplicates": result.duplicates,
                "tombstones": result.tombstones,
                "rejected": result.rejected,
            },
            "partitions": [d.isoformat() for d in days],
        },
    )
