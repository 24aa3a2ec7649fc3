"""Each rule: a tiny Bronze input with the violating value lands where SPEC.md §6 says."""

from __future__ import annotations

from datetime import datetime

import pytest

from fastcart_assets.silver.transforms import parse_event_time
from fastcart_assets_tests.helpers import order_event
from fastcart_assets_tests.silver.conftest import D1, T1

ALL_HARD = [
    "malformed_json",
    "missing_order_id",
    "missing_customer_id",
    "invalid_total",
    "invalid_timestamp",
]


@pytest.mark.parametrize(
    "payload, reasons",
    [
        (b"not json", ALL_HARD),
        (b"[1, 2]", ALL_HARD),
        (b"", ALL_HARD),
        (None, ALL_HARD),
        ({}, ["missing_order_id", "missing_customer_id", "invalid_total", "invalid_timestamp"]),
        (order_event(1, order_id=None), ["missing_order_id"]),
        (order_event(1, order_id="   "), ["missing_order_id"]),
        (order_event(1, customer_id=""), ["missing_customer_id"]),
        (order_event(1, total=None), ["invalid_total"]),
        (order_event(1, total="12.50"), ["invalid_total"]),
        (order_event(1, total=0), ["invalid_total"]),
        (order_event(1, total=-33.48), ["invalid_total"]),
        (order_event(1, timestamp="2025-11-09"), ["invalid_timestamp"]),
        (order_event(1, timestamp="yesterday"), ["invalid_timestamp"]),
        (order_event(1, timestamp=None), ["invalid_timestamp"]),
        (order_event(1, order_id=7, total=0), ["missing_order_id", "invalid_total"]),
    ],
)
def test_hard_rules_reject_with_every_reason(lake, payload, reasons):
    lake.add_bronze([payload], D1, T1)
    result = lake.process(D1)
    rejected = lake.rejected_rows()
    assert [r.rejection_reasons for r in rejected] == [reasons]
    assert lake.silver_rows() == []
    assert result.rejected == 1
    assert rejected[0].kafka_offset == 0 and rejected[0].silver_ingestion_date == D1
    if payload is None or isinstance(payload, bytes):
        assert rejected[0]._raw == (None if payload is None else payload.decode())


def test_rejected_rows_keep_the_original_field_values(lake):
    lake.add_bronze([order_event(1, customer_id="  ", status="pending")], D1, T1)
    lake.process(D1)
    [row] = lake.rejected_rows()
    assert row.customer_id == "  "
    assert row.order_id == "ORD-00000001"
    assert row.shipping_address.state == "IL"


@pytest.mark.parametrize(
    "overrides, failures",
    [
        ({}, []),
        ({"total": 40.00}, ["total_mismatch"]),
        ({"total": 33.49}, []),  # one cent off is within tolerance
        ({"total": 33.50}, ["total_mismatch"]),
        ({"price": None}, ["total_mismatch"]),
        ({"quantity": 2.5}, ["total_mismatch"]),
        ({"status": "SHIPPED"}, ["invalid_status"]),
        ({"status": "returned"}, ["invalid_status"]),
        ({"status": " "}, ["invalid_status"]),
        ({"timestamp": "2025-11-10T12:04:59Z"}, []),  # ingested 12:00, within 5 minutes
        ({"timestamp": "2025-11-10T12:05:01Z"}, ["future_timestamp"]),
        (
            {"timestamp": "2035-11-10T12:00:00Z", "status": "x"},
            ["invalid_status", "future_timestamp"],
        ),
    ],
)
def test_soft_rules_flag_but_keep(lake, overrides, failures):
    lake.add_bronze([order_event(1, **overrides)], D1, T1)
    lake.process(D1)
    [row] = lake.silver_rows()
    assert row.dq_failures == failures
    assert row.data_quality_score is (not failures)
    assert lake.rejected_rows() == []


def test_silver_types_and_flattens(lake):
    lake.add_bronze(
        [order_event(1, cancellation_reason="out_of_stock", status="cancelled")], D1, T1
    )
    lake.process(D1)
    [row] = lake.silver_rows()
    assert row.timestamp == datetime(2025, 11, 9, 15, 55, 40, 669190)
    assert (row.quantity, row.price, row.total) == (3, 11.16, 33.48)
    assert (
        row.shipping_street,
        row.shipping_city,
        row.shipping_state,
        row.shipping_zip_code,
        row.shipping_country,
    ) == ("123 Main St", "Springfield", "IL", "62701", "USA")
    assert row.cancellation_reason == "out_of_stock"
    assert row.silver_ingestion_date == D1 and row.ingestion_date == D1


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2025-11-09T15:55:40.669190Z", datetime(2025, 11, 9, 15, 55, 40, 669190)),
        ("2025-11-09T15:55:40Z", datetime(2025, 11, 9, 15, 55, 40)),
        ("2025-11-09T15:55:40+02:00", datetime(2025, 11, 9, 13, 55, 40)),
        ("2025-11-09T15:55:40-0300", datetime(2025, 11, 9, 18, 55, 40)),
        ("2025-11-09 15:55:40", datetime(2025, 11, 9, 15, 55, 40)),
        ("2025-11-09T15:55:40.5", datetime(2025, 11, 9, 15, 55, 40, 500000)),
        ("2025-11-09T15:55", datetime(2025, 11, 9, 15, 55)),
        ("  2025-11-09T15:55:40Z ", datetime(2025, 11, 9, 15, 55, 40)),
        ("2025-11-09", None),
        ("2025-13-45T99:00:00", None),
        ("09/11/2025 15:55", None),
        ("1731167740", None),
        ("", None),
        (None, None),
    ],
)
def test_timestamp_parsing(spark, text, expected):
    from pyspark.sql import functions as F

    frame = spark.createDataFrame([(text,)], "t string")
    [row] = frame.select(parse_event_time(F.col("t")).alias("ts")).collect()
    assert row.ts == expected
