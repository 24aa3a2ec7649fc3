"""`silver/ecommerce_sales` and `silver/ecommerce_sales_rejected`, one step per partition range."""

import dagster as dg
from pyspark.sql import functions as F

from fastcart_assets.bronze.assets import BRONZE_KEY
from fastcart_assets.partitions import daily_partitions, partition_dates, today_utc
from fastcart_assets.policies import TRANSIENT_RETRY
from fastcart_assets.resources.lake import LakeResource
from fastcart_assets.resources.spark import SparkResource
from fastcart_assets.silver.checks import duplicate_keys, reconcile, rule_check_name, rule_checks
from fastcart_assets.silver.rules import HARD, RULES
from fastcart_assets.silver.writes import SilverResult, process_partitions
from fastcart_assets.tables import BRONZE, SILVER, SILVER_REJECTED

SILVER_KEY = dg.AssetKey(["silver", "ecommerce_sales"])
REJECTED_KEY = dg.AssetKey(["silver", "ecommerce_sales_rejected"])
CHECK_UNIQUE = "unique_order_id_timestamp"
CHECK_RECONCILED = "reconciled_with_bronze"
TOUCHED_DATES = "touched_dates"

_CHECKS = [
    dg.AssetCheckSpec(
        rule_check_name(rule),
        asset=SILVER_KEY,
        blocking=rule.kind == HARD,
        description=(
            f"hard rule: no Silver row may violate it ({rule.description})"
            if rule.kind == HARD
            else f"soft rule: every violating row is flagged ({rule.description})"
        ),
    )
    for rule in RULES
] + [
    dg.AssetCheckSpec(
        CHECK_UNIQUE,
        asset=SILVER_KEY,
        blocking=True,
        description="exactly one row per (order_id, timestamp) in the whole table",
    ),
    dg.AssetCheckSpec(
        CHECK_RECONCILED,
        asset=SILVER_KEY,
        blocking=True,
        description="Bronze rows = Silver + rejected + dropped duplicates, per date",
    ),
]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            SILVER_KEY,
            deps=[BRONZE_KEY],
            partitions_def=daily_partitions,
            group_name="silver",
            kinds={"spark", "delta"},
            description="Typed, validated, deduplicated order events (one row per "
            "order_id and timestamp), flagged by the soft rules.",
            metadata={"table": SILVER.path},
        ),
        dg.AssetSpec(
            REJECTED_KEY,
            deps=[BRONZE_KEY],
            partitions_def=daily_partitions,
            group_name="silver",
            kinds={"spark", "delta"},
            description="Bronze rows failing a hard rule, with every reason.",
            metadata={"table": SILVER_REJECTED.path},
        ),
    ],
    check_specs=_CHECKS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="delta_silver",
    retry_policy=TRANSIENT_RETRY,
)
def silver_ecommerce_sales(
    context: dg.AssetExecutionContext, spark: SparkResource, lake: LakeResource
):
    """Silver partition D processes Bronze partition D (a backfill processes its range at once)."""
    session = spark.spark_session
    days = partition_dates(context)
    paths = [lake.table_path(t) for t in (BRONZE.path, SILVER.path, SILVER_REJECTED.path)]
    result = process_partitions(session, *paths, days, last_date=today_utc())
    context.log.info(
        "Silver %s..%s: %d rows in, %d inserted, %d replaced, %d unchanged, %d rejected, "
        "%d duplicates dropped",
        days[0],
        days[-1],
        result.rows_in,
        result.inserted,
        result.replaced,
        result.unchanged,
        result.rejected,
        result.duplicates_dropped,
    )
    yield dg.MaterializeResult(asset_key=SILVER_KEY, metadata=_silver_metadata(result))
    yield dg.MaterializeResult(
        asset_key=REJECTED_KEY,
        metadata={
            "rows": dg.MetadataValue.int(result.rejected),
            "rejected_by_reason": dg.MetadataValue.json(result.rejected_by_reason),
        },
    )
    yield from _checks(session, paths, days)


def _silver_metadata(result: SilverResult) -> dict:
    return {
        "rows": dg.MetadataValue.int(result.rows_kept),
        "rows_in": dg.MetadataValue.int(result.rows_in),
        "inserted": dg.MetadataValue.int(result.inserted),
        "replaced": dg.MetadataValue.int(result.replaced),
        "unchanged": dg.MetadataValue.int(result.unchanged),
        "rejected": dg.MetadataValue.int(result.rejected),
        "rejected_by_reason": dg.MetadataValue.json(result.rejected_by_reason),
        "flagged": dg.MetadataValue.int(result.flagged),
        "flagged_by_rule": dg.MetadataValue.json(result.flagged_by_rule),
        "duplicates_dropped": dg.MetadataValue.int(result.duplicates_dropped),
        "duplicates_dropped_in_batch": dg.MetadataValue.int(result.duplicates_in_batch),
        TOUCHED_DATES: dg.MetadataValue.json([d.isoformat() for d in result.touched_dates]),
    }


def _checks(session, paths: list[str], days):
    bronze_path, silver_path, rejected_path = paths
    silver = session.read.format("delta").load(silver_path)
    in_days = silver.where(F.col("silver_ingestion_date").isin(days))
    for check in rule_checks(in_days):
        yield dg.AssetCheckResult(
            asset_key=SILVER_KEY,
            check_name=rule_check_name(check.rule),
            passed=check.passed,
            metadata={
                "violations_in_silver": check.violations,
                "not_flagged": check.unflagged,
                "partitions": [d.isoformat() for d in days],
            },
        )
    duplicates = duplicate_keys(silver)
    yield dg.AssetCheckResult(
        asset_key=SILVER_KEY,
        check_name=CHECK_UNIQUE,
        passed=duplicates == 0,
        metadata={"duplicate_rows": duplicates},
    )
    rows = reconcile(session, bronze_path, silver_path, rejected_path, days)
    yield dg.AssetCheckResult(
        asset_key=SILVER_KEY,
        check_name=CHECK_RECONCILED,
        passed=all(r.unaccounted == 0 for r in rows),
        metadata={
            r.day.isoformat(): {
                "bronze": r.bronze,
                "silver": r.silver,
                "rejected": r.rejected,
                "duplicates_dropped": r.duplicates,
                "unaccounted": r.unaccounted,
            }
            for r in rows
        },
    )
