"""A Silver backfill over several days (one run) equals partition-by-partition runs."""

from __future__ import annotations

import dagster as dg
import pytest

from fastcart_assets.definitions import build_definitions
from fastcart_assets.progress import RANGE_END_TAG, RANGE_START_TAG
from fastcart_assets.silver.assets import REJECTED_KEY, SILVER_KEY
from fastcart_assets_tests.helpers import order_event
from fastcart_assets_tests.silver.conftest import D1, D2, T1, T2, Lake

COMPARED = (
    "order_id",
    "timestamp",
    "status",
    "total",
    "kafka_partition",
    "kafka_offset",
    "silver_ingestion_date",
    "data_quality_score",
)


def _lake(spark, root) -> Lake:
    lake = Lake(spark, str(root))
    lake.add_bronze([order_event(1), order_event(2), b"bad", order_event(1)], D1, T1)
    lake.add_bronze(
        [order_event(1, status="confirmed"), order_event(3, total=0)], D2, T2, first_offset=4
    )
    return lake


def _rows(lake):
    silver = sorted(tuple(getattr(r, c) for c in COMPARED) for r in lake.silver_rows())
    rejected = sorted(
        (r.kafka_offset, r.silver_ingestion_date, tuple(r.rejection_reasons))
        for r in lake.rejected_rows()
    )
    return silver, rejected


@pytest.mark.slow
def test_backfill_range_equals_day_by_day(spark, tmp_path):
    daily = _lake(spark, tmp_path / "daily")
    daily.process(D1)
    daily.process(D2)

    ranged = _lake(spark, tmp_path / "ranged")
    job = build_definitions(ranged.settings).get_implicit_global_asset_job_def()
    result = job.execute_in_process(
        asset_selection=[SILVER_KEY, REJECTED_KEY],
        tags={
            RANGE_START_TAG: D1.isoformat(),
            RANGE_END_TAG: D2.isoformat(),
        },
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    materialized = {
        m.partition
        for m in result.asset_materializations_for_node("silver_ecommerce_sales")
        if m.asset_key == SILVER_KEY
    }
    assert materialized == {D1.isoformat(), D2.isoformat()}  # one run, both days
    assert _rows(ranged) == _rows(daily)
    assert len(_rows(ranged)[0]) == 2 and len(_rows(ranged)[1]) == 2  # ORD-1 once, ORD-2
