"""Silver never holds an erased record: a Bronze row `fastcart forget` blanked is rejected for
`erased` alone, the Silver row it had produced is removed and its Gold dates are touched, the
reconciliation holds, and a re-run changes nothing."""

from __future__ import annotations

from datetime import date

from pyspark.sql import functions as F

from fastcart_assets.bronze.parse import ORDER_EVENTS
from fastcart_assets.erasures import RECORD_KEY, append_erasures, forgotten_path
from fastcart_assets.forget.rewrite import blank_bronze
from fastcart_assets.silver.writes import process_partitions
from fastcart_assets_tests.helpers import order_event
from fastcart_assets_tests.silver.conftest import D1, D2, NOW, T1, T2

GONE = {"customer_id": "CUST-GONE", "customer_email": "gone@example.org"}
NOV_8, NOV_9 = date(2025, 11, 8), date(2025, 11, 9)


def _erase_customer(lake, customer_id: str) -> None:
    """What forget does to Bronze: record the customer's rows, then blank them."""
    bronze = lake.bronze_df()
    mine = bronze.where(F.col("customer_id") == customer_id)
    records = mine.select(
        F.lit("bronze/ecommerce_sales").alias("bronze_table"),
        *RECORD_KEY,
        "ingestion_date",
        "kafka_incarnation",
        F.lit("req-1").alias("request_id"),
        F.lit(NOW).cast("timestamp").alias("erased_at"),
    )
    log = forgotten_path(lake.bronze)
    assert append_erasures(lake.spark, log, records, f"{lake.root}/_scratch/log") == 3
    blanked = blank_bronze(
        lake.spark, lake.bronze, [D1, D2], ORDER_EVENTS.kept_on_erasure, f"{lake.root}/_scratch/b"
    )
    assert blanked == {D1: 2, D2: 1}


def test_an_erased_record_is_rejected_and_its_silver_row_removed(lake):
    created = order_event(1, status="pending", timestamp="2025-11-08T10:00:00Z", **GONE)
    shipped = order_event(1, status="shipped", timestamp="2025-11-09T10:00:00Z", **GONE)
    lake.add_bronze([created, shipped, order_event(2), b"not json"], D1, T1)
    lake.add_bronze([shipped, order_event(3)], D2, T2, first_offset=10)  # shipped, again later
    process_partitions(lake.spark, lake.bronze, lake.silver, lake.rejected, [D1, D2], NOW)
    assert {r.order_id for r in lake.silver_rows()} == {
        "ORD-00000001",
        "ORD-00000002",
        "ORD-00000003",
    }

    _erase_customer(lake, "CUST-GONE")
    result = process_partitions(lake.spark, lake.bronze, lake.silver, lake.rejected, [D1, D2], NOW)

    assert {r.order_id for r in lake.silver_rows()} == {"ORD-00000002", "ORD-00000003"}
    erased = [r for r in lake.rejected_rows() if r.rejection_reasons == ["erased"]]
    assert len(erased) == 3 and all(r._raw is None and r.customer_id is None for r in erased)
    assert {r.order_id for r in erased} == {"ORD-00000001"}  # non-personal fields are kept
    malformed = [r for r in lake.rejected_rows() if "malformed_json" in r.rejection_reasons]
    assert len(malformed) == 1  # the other rejections are untouched
    assert result.removed == 2 and result.rejected_by_reason["erased"] == 3
    assert result.rejected_by_reason["malformed_json"] == 1  # erased rows count for nothing else
    # The removed pending event dated its order's creation; the shipped one its own date.
    assert set(result.touched_dates) >= {NOV_8, NOV_9}
    assert all(r.unaccounted == 0 for r in lake.reconcile(D1, D2))

    versions = lake.versions()
    again = process_partitions(lake.spark, lake.bronze, lake.silver, lake.rejected, [D2, D1], NOW)
    assert lake.versions() == versions and again.removed == 0
