"""The twelve Gold tables as two multi-assets: one step computes the shared frames once."""

from datetime import date

import dagster as dg
from pyspark.sql import functions as F

from fastcart_assets.gold import checks
from fastcart_assets.gold.build import (
    SALES_BUILDERS,
    SharedFrames,
    customer_builders,
    row_count,
    shared_frames,
    write_partitions,
)
from fastcart_assets.partitions import daily_partitions, partition_dates
from fastcart_assets.policies import TRANSIENT_RETRY
from fastcart_assets.resources.lake import LakeResource
from fastcart_assets.resources.spark import SparkResource
from fastcart_assets.silver.assets import SILVER_KEY
from fastcart_assets.tables import CUSTOMER_ANALYTICS_TABLES, SALES_PERFORMANCE_TABLES, SILVER

SALES_GROUP = "sales_performance"
CUSTOMER_GROUP = "customer_analytics"

DESCRIPTIONS = {
    "daily_product_revenue": "Shipped revenue, orders, quantity and prices per product and day.",
    "hourly_order_trends": "Orders created and completed, revenue and processing time per hour.",
    "order_status_distribution": "Orders of the day by the status of their latest event.",
    "conversion_metrics": "The day's created cohort: shipped and cancelled, with rates.",
    "payment_method_revenue": "Booked revenue of the day's new orders per payment method.",
    "top_products": "Top 10 products of the day by shipped revenue and by quantity.",
    "top_customers": "Top 20 customers by total spent on completed orders up to the snapshot.",
    "customer_segments": "Customers and revenue per value segment (high, medium, low).",
    "payment_method_preferences": "Completed orders and revenue per payment method.",
    "geographic_analysis": "Top 10 shipping states by completed orders.",
    "customer_retention": "Repeat versus one-time customers and their revenue.",
    "processing_time_by_segment": "Pending-to-shipped minutes per customer segment.",
}


def gold_key(group: str, table: str) -> dg.AssetKey:
    return dg.AssetKey(["gold", group, table])


def _spec(group: str, table: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        gold_key(group, table),
        deps=[SILVER_KEY],
        partitions_def=daily_partitions,
        group_name=group,
        kinds={"spark", "delta"},
        description=DESCRIPTIONS[table],
        metadata={"table": f"gold/{group}/{table}"},
        skippable=True,
    )


def _check(group: str, table: str, name: str, description: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(name, asset=gold_key(group, table), description=description)


SALES_CHECKS = [
    _check(
        SALES_GROUP,
        "daily_product_revenue",
        "shipped_revenue_matches_silver",
        "shipped revenue of each day equal in Silver, daily_product_revenue and "
        "hourly_order_trends",
    ),
    _check(
        SALES_GROUP,
        "payment_method_revenue",
        "orders_match_created_cohort",
        "order counts equal the created cohort of conversion_metrics",
    ),
    _check(
        SALES_GROUP,
        "order_status_distribution",
        "percentages_sum_to_100",
        "status percentages of a day sum to 100",
    ),
    _check(SALES_GROUP, "top_products", "ranks_contiguous", "ranks run 1..n per ranking"),
]
CUSTOMER_CHECKS = [
    _check(
        CUSTOMER_GROUP,
        "customer_segments",
        "segments_add_up",
        "segment counts add up to all customers with a completed order",
    ),
    _check(
        CUSTOMER_GROUP,
        "customer_segments",
        "percentages_sum_to_100",
        "segment percentages sum to 100",
    ),
    _check(CUSTOMER_GROUP, "top_customers", "ranks_contiguous", "ranks run 1..n"),
    _check(CUSTOMER_GROUP, "geographic_analysis", "ranks_contiguous", "ranks run 1..n"),
]


def _write(context, spark, lake, group, frames: dict, dates: list[date]) -> dict[str, int]:
    rows = {}
    for table, build in frames.items():
        key = gold_key(group, table)
        if key not in context.selected_asset_keys:
            continue
        path = lake.table_path(f"gold/{group}/{table}")
        write_partitions(build(), path, table, dates)
        rows[table] = row_count(spark, path, table, dates)
        context.log.info(
            "%s: %d rows for %s..%s", key.to_user_string(), rows[table], dates[0], dates[-1]
        )
    return rows


def _materializations(group: str, rows: dict[str, int], dates: list[date]):
    for table, count in rows.items():
        yield dg.MaterializeResult(
            asset_key=gold_key(group, table),
            metadata={
                "rows": dg.MetadataValue.int(count),
                "dates": dg.MetadataValue.json([d.isoformat() for d in dates]),
            },
        )


def _result(group, table, name, failures, selected) -> dg.AssetCheckResult | None:
    if gold_key(group, table) not in selected:
        return None
    return dg.AssetCheckResult(
        asset_key=gold_key(group, table),
        check_name=name,
        passed=not failures,
        metadata={"failures": dg.MetadataValue.json(failures)},
    )


@dg.multi_asset(
    specs=[_spec(SALES_GROUP, t) for t in SALES_PERFORMANCE_TABLES],
    check_specs=SALES_CHECKS,
    can_subset=True,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="delta_gold_sales_performance",
    retry_policy=TRANSIENT_RETRY,
    name="gold_sales_performance",
)
def gold_sales_performance(
    context: dg.AssetExecutionContext, spark: SparkResource, lake: LakeResource
):
    """Sales-performance tables for the event dates of the partitions (a run overwrites only
    those dates)."""
    session = spark.spark_session
    dates = partition_dates(context)
    with shared_frames(session, lake.table_path(SILVER.path), lake.root) as shared:
        builders = {t: (lambda b=b: b(shared, dates)) for t, b in SALES_BUILDERS.items()}
        rows = _write(context, session, lake, SALES_GROUP, builders, dates)
        yield from _materializations(SALES_GROUP, rows, dates)
        yield from _sales_checks(session, lake, shared, dates, context.selected_asset_keys)


def _sales_checks(session, lake, shared: SharedFrames, dates, selected):
    def table(name):
        return session.read.format("delta").load(lake.table_path(f"gold/{SALES_GROUP}/{name}"))

    g = SALES_GROUP
    have = {t for t in SALES_PERFORMANCE_TABLES if gold_key(g, t) in selected}
    results = []
    if {"daily_product_revenue", "hourly_order_trends"} <= have:
        results.append(
            _result(
                g,
                "daily_product_revenue",
                "shipped_revenue_matches_silver",
                checks.shipped_revenue_mismatches(
                    shared.events,
                    table("daily_product_revenue"),
                    table("hourly_order_trends"),
                    dates,
                ),
                selected,
            )
        )
    if {"payment_method_revenue", "conversion_metrics"} <= have:
        results.append(
            _result(
                g,
                "payment_method_revenue",
                "orders_match_created_cohort",
                checks.cohort_mismatches(
                    table("payment_method_revenue"), table("conversion_metrics"), dates
                ),
                selected,
            )
        )
    if "order_status_distribution" in have:
        results.append(
            _result(
                g,
                "order_status_distribution",
                "percentages_sum_to_100",
                checks.percentage_sums_off(
                    table("order_status_distribution"), "date", "status_percentage", dates
                ),
                selected,
            )
        )
    if "top_products" in have:
        top = table("top_products").where(F.col("date").isin(dates))
        results.append(
            _result(
                g,
                "top_products",
                "ranks_contiguous",
                checks.rank_gaps(top, ["date", "ranking"]),
                selected,
            )
        )
    yield from (r for r in results if r is not None)


@dg.multi_asset(
    specs=[_spec(CUSTOMER_GROUP, t) for t in CUSTOMER_ANALYTICS_TABLES],
    check_specs=CUSTOMER_CHECKS,
    can_subset=True,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="delta_gold_customer_analytics",
    retry_policy=TRANSIENT_RETRY,
    name="gold_customer_analytics",
)
def gold_customer_analytics(
    context: dg.AssetExecutionContext, spark: SparkResource, lake: LakeResource
):
    """Customer snapshots: snapshot D covers completed orders shipped on or before D."""
    session = spark.spark_session
    snapshots = partition_dates(context)
    with shared_frames(session, lake.table_path(SILVER.path), lake.root) as shared:
        builders = customer_builders(shared, snapshots)
        rows = _write(context, session, lake, CUSTOMER_GROUP, builders, snapshots)
        yield from _materializations(CUSTOMER_GROUP, rows, snapshots)
        yield from _customer_checks(session, lake, shared, snapshots, context.selected_asset_keys)


def _customer_checks(session, lake, shared: SharedFrames, snapshots, selected):
    def table(name):
        frame = session.read.format("delta").load(lake.table_path(f"gold/{CUSTOMER_GROUP}/{name}"))
        return frame.where(F.col("snapshot_date").isin(snapshots))

    g = CUSTOMER_GROUP
    results = []
    if gold_key(g, "customer_segments") in selected:
        segments = table("customer_segments")
        results.append(
            _result(
                g,
                "customer_segments",
                "segments_add_up",
                checks.segment_mismatches(segments, shared.facts, snapshots),
                selected,
            )
        )
        results.append(
            _result(
                g,
                "customer_segments",
                "percentages_sum_to_100",
                checks.percentage_sums_off(
                    segments, "snapshot_date", "segment_percentage", snapshots
                ),
                selected,
            )
        )
    for name in ("top_customers", "geographic_analysis"):
        if gold_key(g, name) in selected:
            results.append(
                _result(
                    g,
                    name,
                    "ranks_contiguous",
                    checks.rank_gaps(table(name), ["snapshot_date"]),
                    selected,
                )
            )
    yield from (r for r in results if r is not None)


def gold_run_requests(touched: list[str], run_key_prefix: str) -> list[dg.RunRequest]:
    """Runs for Gold: sales tables over the touched dates, snapshots from the first through
    today (each one run over a contiguous partition range)."""
    from dagster._core.storage.tags import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
    )

    from fastcart_assets.partitions import partition_key, today_utc

    today = partition_key(today_utc())
    first, last = min(touched), max(touched)
    ranges = {
        SALES_GROUP: (first, last),
        CUSTOMER_GROUP: (min(first, today), today),
    }
    tables = {SALES_GROUP: SALES_PERFORMANCE_TABLES, CUSTOMER_GROUP: CUSTOMER_ANALYTICS_TABLES}
    return [
        dg.RunRequest(
            run_key=f"{run_key_prefix}-{group}",
            asset_selection=[gold_key(group, t) for t in tables[group]],
            tags={
                ASSET_PARTITION_RANGE_START_TAG: start,
                ASSET_PARTITION_RANGE_END_TAG: end,
                "fastcart/trigger": "silver_touched_dates",
                "fastcart/layer": "gold",
            },
        )
        for group, (start, end) in ranges.items()
    ]
