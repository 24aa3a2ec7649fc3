"""`silver/ecommerce_sales`, its rejected table and `quality/rule_metrics`, one step per range.

Every check is evaluated per partition. A rule's check reports its violation rate in the
partition (WARN / ERROR, never blocking: the other partitions of a range proceed); the
invariants are blocking. Each Silver materialization event (one per partition) carries
`touched_dates` and `dq_errors`: Gold skips the touched dates of a partition with an ERROR.
"""

from datetime import UTC, date, datetime

import dagster as dg

from fastcart_assets.bronze.assets import BRONZE_KEY
from fastcart_assets.delta import retention_applied
from fastcart_assets.metadata import spec_metadata, table_metadata
from fastcart_assets.partitions import FIRST_DATE, daily_partitions, partition_dates, today_utc
from fastcart_assets.policies import TRANSIENT_RETRY
from fastcart_assets.progress import DQ_ERRORS, TOUCHED_DATES
from fastcart_assets.quality.checks import invariant_evaluation, rate_evaluation, yield_evaluations
from fastcart_assets.quality.expectations import (
    ERROR,
    RuleOutcome,
    errors_by_partition,
    rule_outcomes,
)
from fastcart_assets.quality.rule_metrics import RULE_METRICS_SCHEMA, write_rule_metrics
from fastcart_assets.resources.lake import LakeResource
from fastcart_assets.resources.quality import QualityResource
from fastcart_assets.resources.spark import SparkResource
from fastcart_assets.schemas import SILVER_REJECTED_SCHEMA, SILVER_SCHEMA
from fastcart_assets.silver.checks import INVARIANTS, rule_check_name, silver_invariants
from fastcart_assets.silver.rules import HARD, RULES
from fastcart_assets.silver.writes import SilverResult, process_partitions
from fastcart_assets.tables import BRONZE, RULE_METRICS, SILVER, SILVER_REJECTED, expired_inputs

SILVER_KEY = SILVER.asset_key
REJECTED_KEY = SILVER_REJECTED.asset_key
RULE_METRICS_KEY = RULE_METRICS.asset_key
# The metadata contract of each Silver materialization event (one per partition).

_CHECKS = [
    dg.AssetCheckSpec(
        rule_check_name(rule.name),
        asset=SILVER_KEY,
        partitions_def=daily_partitions,
        description=f"{rule.kind} rule {rule.name} ({rule.description}): share of the "
        f"partition's Bronze rows {'rejected for it' if rule.kind == HARD else 'it flags'}; "
        "WARN above its warn rate, ERROR above its error rate (keeps the partition out of Gold)",
    )
    for rule in RULES
] + [
    dg.AssetCheckSpec(
        name,
        asset=SILVER_KEY,
        partitions_def=daily_partitions,
        blocking=True,
        description=f"invariant: {description}",
    )
    for name, description in INVARIANTS.items()
]


def _spec(table, schema, description: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        table.asset_key,
        deps=[BRONZE_KEY],
        partitions_def=daily_partitions,
        group_name="silver",
        kinds={"spark", "delta"},
        description=description,
        metadata=spec_metadata(table, schema),
    )


@dg.multi_asset(
    specs=[
        _spec(
            SILVER,
            SILVER_SCHEMA,
            "Typed, validated, deduplicated order events (one row per order_id and timestamp), "
            "flagged by the soft rules.",
        ),
        _spec(SILVER_REJECTED, SILVER_REJECTED_SCHEMA, "Bronze rows failing a hard rule."),
        _spec(RULE_METRICS, RULE_METRICS_SCHEMA, "Each rule's violation rate per partition."),
    ],
    check_specs=_CHECKS,
    # Selecting Silver and its rejected table without the metrics is allowed (older callers);
    # the step then writes the metrics table without reporting it.
    can_subset=True,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="delta_silver",
    retry_policy=TRANSIENT_RETRY,
)
def silver_ecommerce_sales(
    context: dg.AssetExecutionContext,
    spark: SparkResource,
    lake: LakeResource,
    quality: QualityResource,
):
    """Silver partition D processes Bronze partition D (a backfill processes its range at once)."""
    session = spark.spark_session
    days = partition_dates(context)
    paths = [lake.table_path(t.path) for t in (BRONZE, SILVER, SILVER_REJECTED)]
    if refusal := expired_inputs(BRONZE, days, retention_applied(paths[0])):
        raise dg.Failure(refusal, allow_retries=False)
    result = process_partitions(session, *paths, days, last_date=today_utc(), first_date=FIRST_DATE)
    _log(context, result)
    outcomes = rule_outcomes(result.counts_by_partition, quality.threshold)
    invariants = silver_invariants(session, *paths, days)
    errors = errors_by_partition(
        days,
        [(o.day, rule_check_name(o.rule)) for o in outcomes if o.severity == ERROR]
        + [(c.day, c.name) for c in invariants if not c.passed],
    )
    metrics_path = lake.table_path(RULE_METRICS.path)
    write_rule_metrics(session, metrics_path, outcomes, days, context.run_id, datetime.now(UTC))
    selected = context.selected_asset_keys  # the step writes all three tables regardless
    metadata = _partition_metadata(lake, result, errors, outcomes)
    for (key, day), values in metadata.items():
        if key in selected:
            context.add_asset_metadata(values, asset_key=key, partition_key=day.isoformat())
    for key in (SILVER_KEY, REJECTED_KEY, RULE_METRICS_KEY):
        if key in selected:
            step = _step_metadata(result) if key == SILVER_KEY else None
            yield dg.MaterializeResult(asset_key=key, metadata=step)
    yield from yield_evaluations(
        context,
        [rate_evaluation(SILVER_KEY, rule_check_name(o.rule), o) for o in outcomes]
        + [invariant_evaluation(SILVER_KEY, c, INVARIANTS[c.name]) for c in invariants],
    )


def _log(context: dg.AssetExecutionContext, result: SilverResult) -> None:
    context.log.info(
        "Silver %s..%s: %d rows in, %d inserted, %d replaced, %d unchanged, %d rejected, "
        "%d duplicates dropped",
        result.dates[0],
        result.dates[-1],
        result.rows_in,
        result.inserted,
        result.replaced,
        result.unchanged,
        result.rejected,
        result.duplicates_dropped,
    )


def _step_metadata(result: SilverResult) -> dict:
    """What the MERGE of the whole step did (shared by the events of a range)."""
    first, last = result.dates[0].isoformat(), result.dates[-1].isoformat()
    return {
        "step_partitions": dg.MetadataValue.text(first if first == last else f"{first}..{last}"),
        "step_inserted": dg.MetadataValue.int(result.inserted),
        "step_replaced": dg.MetadataValue.int(result.replaced),
        "step_unchanged": dg.MetadataValue.int(result.unchanged),
        "step_duplicates_in_batch": dg.MetadataValue.int(result.duplicates_in_batch),
        # Silver rows deleted because `fastcart forget` erased their Bronze record.
        "step_removed_erased": dg.MetadataValue.int(result.removed),
    }


def _partition_metadata(
    lake: LakeResource,
    result: SilverResult,
    errors: dict[date, list[str]],
    outcomes: list[RuleOutcome],
) -> dict[tuple[dg.AssetKey, date], dict]:
    """Metadata of each partition's events: the standard table metadata and the partition's
    own counts, touched dates and ERRORs (not the step's: a range has one event per date)."""
    days = result.dates
    standard = {
        table.asset_key: table_metadata(table, lake.table_path(table.path), schema, days)
        for table, schema in (
            (SILVER, SILVER_SCHEMA),
            (SILVER_REJECTED, SILVER_REJECTED_SCHEMA),
            (RULE_METRICS, RULE_METRICS_SCHEMA),
        )
    }
    metadata = {}
    for day in days:
        counts = result.counts_by_partition[day]
        touched = [d.isoformat() for d in result.touched_by_partition.get(day, [])]
        own = {
            SILVER_KEY: {
                "rows": dg.MetadataValue.int(counts.rows_kept),
                "rows_in": dg.MetadataValue.int(counts.rows_in),
                "inserted": dg.MetadataValue.int(counts.inserted),
                "replaced": dg.MetadataValue.int(counts.replaced),
                "unchanged": dg.MetadataValue.int(counts.unchanged),
                "rejected": dg.MetadataValue.int(counts.rejected),
                "rejected_by_reason": dg.MetadataValue.json(counts.rejected_by_reason),
                "flagged": dg.MetadataValue.int(counts.flagged),
                "flagged_by_rule": dg.MetadataValue.json(counts.flagged_by_rule),
                "duplicates_dropped": dg.MetadataValue.int(counts.duplicates_dropped),
                TOUCHED_DATES: dg.MetadataValue.json(touched),
                DQ_ERRORS: dg.MetadataValue.json(errors[day]),
            },
            REJECTED_KEY: {
                "rows": dg.MetadataValue.int(counts.rejected),
                "rejected_by_reason": dg.MetadataValue.json(counts.rejected_by_reason),
            },
            RULE_METRICS_KEY: {
                f"rate_{o.rule}": dg.MetadataValue.float(round(o.rate, 6))
                for o in outcomes
                if o.day == day
            },
        }
        for key, values in own.items():
            metadata[(key, day)] = {**standard[key][day], **values}
    return metadata
