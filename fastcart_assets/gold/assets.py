"""The Gold tables as one multi-asset per group, generated from the registry (gold.registry).

One step per group computes the shared frames once and writes every selected table. Each
materialization carries Dagster's standard metadata (column schema, rows of the table, URI)
and, per partition, `dagster/partition_row_count` and a preview of its first rows. Every check
is evaluated per partition (a 3-date run records 3 evaluations per check) with numbers.
Two worker threads write the tables and evaluate the checks while the step's thread records
each finished table in Dagster, in the registry's order.
"""

import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import dagster as dg
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from fastcart_assets.delta import retention_applied
from fastcart_assets.gold.build import (
    PartitionRows,
    shared_frames,
    write_partitions,
    written_partitions,
)
from fastcart_assets.gold.checks import Outcome
from fastcart_assets.gold.registry import (
    CUSTOMERS,
    SALES,
    CheckInput,
    GoldCheck,
    GoldGroup,
    GoldTable,
    tables_of,
)
from fastcart_assets.gold.schemas import PERSONAL_COLUMNS
from fastcart_assets.metadata import spec_metadata, table_metadata
from fastcart_assets.partitions import daily_partitions, partition_dates, partition_key
from fastcart_assets.policies import TRANSIENT_RETRY
from fastcart_assets.quality.checks import yield_evaluations
from fastcart_assets.resources.lake import LakeResource
from fastcart_assets.resources.spark import SparkResource
from fastcart_assets.tables import SILVER, asset_key, expired_inputs, table_info

PREVIEW_ROWS = 5
WORKERS = 2  # table writes and check evaluations of a step at once
PREVIEW = "preview"
# Partitioned check specs are a Dagster preview feature; per-partition checks need them.
PARTITIONED_CHECK_NOTICE = r"Specifying a partitions_def on an AssetCheckSpec"


def _spec(table: GoldTable) -> dg.AssetSpec:
    return dg.AssetSpec(
        asset_key(table.path),
        deps=[SILVER.asset_key],
        partitions_def=daily_partitions,
        group_name=table.group.name,
        kinds={"spark", "delta"},
        description=table.description,
        metadata=spec_metadata(table_info(table.path), table.schema),
        skippable=True,
    )


def _check_spec(table: GoldTable, check: GoldCheck) -> dg.AssetCheckSpec:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=PARTITIONED_CHECK_NOTICE)
        return dg.AssetCheckSpec(
            check.name,
            asset=asset_key(table.path),
            description=check.description,
            partitions_def=daily_partitions,
        )


def gold_assets(group: GoldGroup) -> dg.AssetsDefinition:
    """The multi-asset of `group`: its tables and their checks, one step per partition range."""
    tables = tables_of(group)

    @dg.multi_asset(
        specs=[_spec(t) for t in tables],
        check_specs=[_check_spec(t, c) for t in tables for c in t.checks],
        can_subset=True,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=f"delta_gold_{group.name}",
        retry_policy=TRANSIENT_RETRY,
        name=f"gold_{group.name}",
        description=group.description,
    )
    def _gold(context: dg.AssetExecutionContext, spark: SparkResource, lake: LakeResource):
        """Write the selected tables of the group for the run's partitions, then check them."""
        yield from _materialize(context, spark.spark_session, lake, group)

    return _gold


def _materialize(context, session: SparkSession, lake: LakeResource, group: GoldGroup):
    dates = partition_dates(context)
    applied = retention_applied(lake.table_path(SILVER.path))
    if refusal := expired_inputs(SILVER, dates, applied):
        raise dg.Failure(refusal, allow_retries=False)
    selected = [t for t in tables_of(group) if asset_key(t.path) in context.selected_asset_keys]
    with (
        shared_frames(
            session,
            lake.table_path(SILVER.path),
            lake.root,
            orders=group.orders,
            dates=dates,
            store_events=group.reads_events,
        ) as shared,
        ThreadPoolExecutor(WORKERS, thread_name_prefix="gold-work") as workers,
    ):
        # The workers write the tables, then evaluate the checks, while this thread records
        # each written table in Dagster (a few ms per event); all recorded in their order.
        paths = {t.name: lake.table_path(t.path) for t in selected}
        writes = {
            t.name: workers.submit(
                write_partitions, t.build(shared, dates), paths[t.name], t, dates
            )
            for t in selected
        }
        checks = _submit_checks(context, session, shared, selected, paths, writes, dates, workers)
        try:
            for table in selected:
                writes[table.name].result()
                yield _materialization(context, session, table, paths[table.name], dates)
            yield from yield_evaluations(context, [e for c in checks for e in c.result()])
        except BaseException:  # a failed write or an interrupt: start nothing further
            workers.shutdown(cancel_futures=True)
            raise


def _materialization(context, session, table: GoldTable, path: str, dates) -> dg.MaterializeResult:
    """The standard metadata (columns, rows of the table and of each partition, URI) and, per
    partition, a preview of its first rows."""
    key = asset_key(table.path)
    per_day = table_metadata(table_info(table.path), path, table.schema, dates)
    previews = written_partitions(session, path, table, dates, PREVIEW_ROWS)
    for day in dates:
        written = previews.get(day, PartitionRows(0, []))
        context.add_asset_metadata(
            {**per_day[day], PREVIEW: dg.MetadataValue.md(preview(table, written))},
            asset_key=key,
            partition_key=partition_key(day),
        )
    rows = sum(p.rows for p in previews.values())
    context.log.info("%s: %d rows for %s..%s", key.to_user_string(), rows, dates[0], dates[-1])
    return dg.MaterializeResult(asset_key=key)


def preview(table: GoldTable, written: PartitionRows) -> str:
    """The first rows of a partition as a Markdown table (personal columns hidden)."""
    names = table.schema.fieldNames()
    if not written.first:
        return "_no rows in this partition_"

    def cell(name: str, value) -> str:
        if value is None:
            return ""
        if name in PERSONAL_COLUMNS:
            return "(hidden)"
        return str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(names) + " |", "|" + " --- |" * len(names)]
    for row in written.first:
        lines.append("| " + " | ".join(cell(n, v) for n, v in zip(names, row, strict=True)) + " |")
    more = written.rows - len(written.first)
    return "\n".join(lines) + (f"\n\n… and {more} more rows" if more > 0 else "")


def _submit_checks(context, session, shared, selected, paths, writes, dates, workers):
    """Every selected check on every partition of the run, each evaluated on `workers` once the
    tables it reads are written (the writes were submitted first, so a check waits only for
    writes already running); one future per check, of its per-partition evaluations."""
    by_name = {t.name: t for t in selected}

    def partitions_of(table: GoldTable):
        frame = session.read.format("delta").load(paths[table.name])
        return frame.where(F.col(table.partition_column).isin(list(dates)))

    def evaluate(table: GoldTable, check: GoldCheck) -> list[dg.AssetCheckEvaluation]:
        for name in (table.name, *check.reads):
            writes[name].result()
        others = {name: partitions_of(by_name[name]) for name in check.reads}
        inputs = CheckInput(partitions_of(table), others, shared, dates, table.partition_column)
        return _partition_evaluations(table, check.name, check.evaluate(inputs))

    checks = []
    for table in selected:
        for check in table.checks:
            missing = [name for name in check.reads if name not in by_name]
            if missing:
                context.log.warning("%s not evaluated: needs %s in the run", check.name, missing)
                continue
            checks.append(workers.submit(evaluate, table, check))
    return checks


def _partition_evaluations(table: GoldTable, name: str, outcomes: dict[date, Outcome]):
    """One evaluation per partition: an ERROR when it fails, never blocking."""
    return [
        dg.AssetCheckEvaluation(
            asset_key=asset_key(table.path),
            check_name=name,
            passed=outcome.passed,
            metadata=outcome.values,
            severity=dg.AssetCheckSeverity.ERROR,
            blocking=False,
            partition=partition_key(day),
        )
        for day, outcome in sorted(outcomes.items())
    ]


gold_sales_performance = gold_assets(SALES)
gold_customer_analytics = gold_assets(CUSTOMERS)
GOLD_ASSETS = (gold_sales_performance, gold_customer_analytics)
