"""The Dagster jobs of `fastcart forget`: the erasure, then (after Silver and Gold) the purge.

Each step holds the pool of the table it rewrites, as that table's writers do, and the table's
writer lock. The customer id reaches the steps as an in-process resource object
(`ForgetRequest`: never run config, a tag or a log line), so the Dagster instance records the
runs without it; the runs carry the request id instead. The jobs are not part of the code
location (they need that object): the command executes them in-process (`forget.process`), and
they show in the UI as its runs.
"""

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import dagster as dg
from pyspark.sql import functions as F

from fastcart_assets.bronze.parse import ORDER_EVENTS
from fastcart_assets.delta import retention_applied
from fastcart_assets.erasures import RECORD_KEY, erased_records
from fastcart_assets.forget.customer import customer_rows, names
from fastcart_assets.forget.find import Findings, find_customer
from fastcart_assets.forget.purge import Purged, purge_table
from fastcart_assets.forget.rewrite import (
    anonymise_rejected,
    blank_bronze,
    blank_cdc_bronze,
    delete_rows,
    redact_rows,
)
from fastcart_assets.forget.tables import NAMED_GOLD, PERSONAL_TABLES, PURGED_TABLES, Lake
from fastcart_assets.gold.schemas import PERSONAL_COLUMNS
from fastcart_assets.locks import WRITER_WAIT_S, table_lock
from fastcart_assets.maintenance import SCRATCH_MAX_AGE_S, clean_scratch
from fastcart_assets.partitions import FIRST_DATE
from fastcart_assets.resources.lake import LakeResource
from fastcart_assets.resources.spark import SparkResource
from fastcart_assets.runs import ACTIVE_STATUSES
from fastcart_assets.scratch import scratch_dir
from fastcart_assets.settings import Settings
from fastcart_assets.silver.erasure import remove_erased
from fastcart_assets.silver.transforms import in_dates
from fastcart_assets.tables import (
    BRONZE,
    BRONZE_CDC,
    FORGOTTEN,
    ORDERS_CURRENT,
    ORDERS_HISTORY,
    SILVER,
    SILVER_REJECTED,
    TableInfo,
)

REQUEST_TAG = "fastcart/forget_request"


@dataclass(frozen=True)
class ForgetRequest:
    """One `fastcart forget`: the customer, the request id, and what the erasure found."""

    customer_id: str
    request_id: str
    findings: Findings | None = field(default=None, compare=False)

    def __repr__(self) -> str:  # the id must never reach a log through a repr
        return f"ForgetRequest(request_id={self.request_id!r})"


def _view(spark: SparkResource, lake: LakeResource) -> Lake:
    return Lake(spark.spark_session, Settings(lake_root=lake.root))


def _scratch_root(lake: LakeResource) -> str:
    return Settings(lake_root=lake.root).lake_uri


@dg.op(
    pool=FORGOTTEN.pool,
    description="Finds the customer in every table; records their Kafka records in "
    "quality/forgotten (coordinates only).",
)
def forget_find(
    context: dg.OpExecutionContext,
    spark: SparkResource,
    lake: LakeResource,
    request: dg.ResourceParam[ForgetRequest],
) -> Findings:
    view = _view(spark, lake)
    with scratch_dir(_scratch_root(lake), "forget") as scratch:
        now = datetime.now(UTC)
        found = find_customer(
            view.spark, view, request.customer_id, request.request_id, now, scratch
        )
    context.log.info(
        "request %s: rows per table %s, %d records recorded",
        request.request_id,
        found.found,
        found.recorded,
    )
    return found


@dg.op(pool=BRONZE.pool, description="Blanks the personal data of the customer's Bronze rows.")
def forget_bronze(
    context: dg.OpExecutionContext, spark: SparkResource, lake: LakeResource, found: Findings
):
    view = _view(spark, lake)
    with scratch_dir(_scratch_root(lake), "forget-bronze") as scratch:
        counts = blank_bronze(
            view.spark,
            view.path(BRONZE),
            found.silver_dates,
            ORDER_EVENTS.kept_on_erasure,
            scratch,
        )
    for day, rows in sorted(counts.items()):  # rewritten partitions: Silver re-runs them
        if day < FIRST_DATE:
            continue  # no such partition of the asset (FASTCART_FIRST_DATE moved since)
        yield dg.AssetMaterialization(
            asset_key=BRONZE.asset_key,
            partition=day.isoformat(),
            description="personal data erased by fastcart forget",
            metadata={"erased_rows": rows, "forget_request": found.request_id},
        )
    yield dg.Output(counts)


@dg.op(
    pool=SILVER.pool,
    description="Removes the customer's Silver rows and blanks their rejected rows where "
    "Bronze no longer holds the record (Silver cannot re-run it).",
)
def forget_silver_orphans(
    spark: SparkResource, lake: LakeResource, found: Findings
) -> dict[str, int]:
    if not found.orphan_dates:
        return {}
    view = _view(spark, lake)
    days = found.orphan_dates
    records = erased_records(view.spark, view.path(BRONZE)).where(in_dates("ingestion_date", days))
    if view.exists(BRONZE):
        held = view.read(BRONZE).select(*RECORD_KEY)
        records = records.join(held, list(RECORD_KEY), "left_anti")
    with scratch_dir(_scratch_root(lake), "forget-silver") as scratch:
        with table_lock(view.path(SILVER), wait_s=WRITER_WAIT_S):
            removed, _ = remove_erased(
                view.spark, view.path(SILVER), records, days, f"{scratch}/silver"
            )
        blanked = anonymise_rejected(
            view.spark, view.path(SILVER_REJECTED), records, days, f"{scratch}/rejected"
        )
    return {SILVER.path: removed, SILVER_REJECTED.path: blanked}


@dg.op(pool=BRONZE_CDC.pool, description="Blanks the customer's change envelopes.")
def forget_cdc_bronze(spark: SparkResource, lake: LakeResource, found: Findings) -> dict[date, int]:
    view = _view(spark, lake)
    with scratch_dir(_scratch_root(lake), "forget-cdc") as scratch:
        return blank_cdc_bronze(view.spark, view.path(BRONZE_CDC), found.cdc_dates, scratch)


@dg.op(pool=ORDERS_HISTORY.pool, description="Deletes the customer's orders from the SCD tables.")
def forget_cdc_silver(
    spark: SparkResource,
    lake: LakeResource,
    request: dg.ResourceParam[ForgetRequest],
    found: Findings,
) -> dict[str, int]:
    view = _view(spark, lake)
    deleted = {}
    keys = {ORDERS_HISTORY: ("order_id", "lsn"), ORDERS_CURRENT: ("order_id",)}
    with scratch_dir(_scratch_root(lake), "forget-scd") as scratch:
        for info, key in keys.items():
            if view.exists(info):
                frame = view.read(info)
                doomed = frame.where(customer_rows(frame, request.customer_id, found.cdc_orders))
                deleted[info.path] = delete_rows(
                    view.spark, view.path(info), doomed, key, f"{scratch}/{info.name}"
                )
    return deleted


def _redact_op(info: TableInfo) -> dg.OpDefinition:
    @dg.op(
        name=f"forget_{info.view}",
        pool=info.pool,
        description=f"Redacts the customer in {info.path} partitions that Silver's retention "
        "keeps from being recomputed.",
    )
    def redact(
        spark: SparkResource,
        lake: LakeResource,
        request: dg.ResourceParam[ForgetRequest],
        found: Findings,
    ) -> int:
        view = _view(spark, lake)
        cutoff = retention_applied(view.path(SILVER))
        expired = [d for d in found.snapshot_dates if cutoff is not None and d < cutoff]
        if not expired or not view.exists(info):
            return 0
        personal = sorted(PERSONAL_COLUMNS & set(view.read(info).columns))
        named = F.col("customer_id") == F.lit(request.customer_id)
        with scratch_dir(_scratch_root(lake), "forget-gold") as scratch:
            return redact_rows(
                view.spark, view.path(info), info.date_column, expired, named, personal, scratch
            )

    return redact


@dg.job(tags={"fastcart/layer": "forget"})
def forget_job() -> None:
    """Erase one customer: find and record, then blank or delete, table by table."""
    found = forget_find()
    forget_bronze(found)
    forget_silver_orphans(found)
    forget_cdc_silver(found)
    forget_cdc_bronze(found)
    for info in NAMED_GOLD:
        _redact_op(info)(found)


def _remaining(view: Lake, request: ForgetRequest, info: TableInfo) -> int:
    """Rows of `info` still naming the customer (in the partitions the erasure rewrote, for the
    tables whose JSON must be parsed)."""
    found = request.findings
    frame = view.read(info)
    if info in (BRONZE, SILVER_REJECTED) and found is not None:
        column = "ingestion_date" if info is BRONZE else "silver_ingestion_date"
        frame = frame.where(in_dates(column, [*found.silver_dates, *found.orphan_dates]))
    elif info is BRONZE_CDC and found is not None:
        frame = frame.where(in_dates("ingestion_date", found.cdc_dates))
    return frame.where(names(frame, request.customer_id)).count()


@dg.op(description="Checks that no table still names the customer.")
def forget_verify(
    spark: SparkResource, lake: LakeResource, request: dg.ResourceParam[ForgetRequest]
) -> dict[str, int]:
    view = _view(spark, lake)
    left = {i.path: _remaining(view, request, i) for i in PERSONAL_TABLES if view.exists(i)}
    left = {path: rows for path, rows in left.items() if rows}
    if left:
        raise dg.Failure(
            f"request {request.request_id}: rows still name the customer in {sorted(left)}; "
            "run `fastcart forget` again",
            allow_retries=False,
        )
    return left


def _purge_op(info: TableInfo) -> dg.OpDefinition:
    @dg.op(
        name=f"purge_{info.view}",
        pool=info.pool,
        description=f"Vacuums {info.path} to its current version and drops older log entries.",
    )
    def purge(lake: LakeResource) -> Purged | None:
        return purge_table(Settings(lake_root=lake.root).table_path(info.path), info.path)

    return purge


@dg.op(description="Removes scratch directories: all of them when no other run is going.")
def forget_clean_scratch(context: dg.OpExecutionContext, lake: LakeResource) -> list[str]:
    others = [
        run
        for run in context.instance.get_runs(filters=dg.RunsFilter(statuses=ACTIVE_STATUSES))
        if run.run_id != context.run_id
    ]
    # With no run going, no scratch directory belongs to a live step: remove every one.
    now = None if others else time.time() + SCRATCH_MAX_AGE_S
    return clean_scratch(Settings(lake_root=lake.root), dry_run=False, now=now)


@dg.job(tags={"fastcart/layer": "forget"})
def forget_purge_job() -> None:
    """After the erasure and the recomputes: check, vacuum and clean what held the data."""
    forget_verify()
    for info in PURGED_TABLES:
        _purge_op(info)()
    forget_clean_scratch()


def pools(job: dg.JobDefinition) -> set[str]:
    """The pools the steps of `job` hold."""
    return {node.definition.pool for node in job.graph.nodes if node.definition.pool}


def purge_results(result: dg.ExecuteInProcessResult) -> list[Purged]:
    """The tables the purge job vacuumed, in PURGED_TABLES order."""
    names = [f"purge_{info.view}" for info in PURGED_TABLES]
    found = [result.output_for_node(n) for n in names if result.is_node_success(n)]
    return [p for p in found if p is not None]
