"""Typing Bronze rows (SPEC.md §6 "Types"): timestamps, blanks, numbers, the flattened address."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pyspark.sql import functions as F

from fastcart_assets.schemas import SILVER_REJECTED_SCHEMA, SILVER_SCHEMA
from fastcart_assets.silver.transforms import blank_to_null, parse_timestamp
from fastcart_assets_tests.helpers import order_event
from fastcart_assets_tests.silver.conftest import D1, T1

TIMESTAMP_CASES = [
    ("2025-11-09T15:55:40.669190Z", datetime(2025, 11, 9, 15, 55, 40, 669190)),
    ("2025-11-09T15:55:40Z", datetime(2025, 11, 9, 15, 55, 40)),
    ("2025-11-09T15:55:40+02:00", datetime(2025, 11, 9, 13, 55, 40)),
    ("2025-11-09T15:55:40.669190+05:30", datetime(2025, 11, 9, 10, 25, 40, 669190)),
    ("2025-11-09T15:55:40-0300", datetime(2025, 11, 9, 18, 55, 40)),
    ("2025-11-09T15:55:40+02", datetime(2025, 11, 9, 13, 55, 40)),
    ("2025-11-09 15:55:40", datetime(2025, 11, 9, 15, 55, 40)),
    ("2025-11-09T15:55:40", datetime(2025, 11, 9, 15, 55, 40)),
    ("2025-11-09T15:55:40.5", datetime(2025, 11, 9, 15, 55, 40, 500000)),
    ("2025-11-09T15:55:40.12Z", datetime(2025, 11, 9, 15, 55, 40, 120000)),
    ("2025-11-09T15:55:40.000001Z", datetime(2025, 11, 9, 15, 55, 40, 1)),
    ("2025-11-09T15:55:40,25Z", datetime(2025, 11, 9, 15, 55, 40, 250000)),
    ("2025-11-09T15:55", datetime(2025, 11, 9, 15, 55)),
    ("2025-11-09T15:55Z", datetime(2025, 11, 9, 15, 55)),
    ("2025-11-09t15:55:40z", datetime(2025, 11, 9, 15, 55, 40)),
    ("  2025-11-09T15:55:40Z ", datetime(2025, 11, 9, 15, 55, 40)),
    ("2024-02-29T00:00:00Z", datetime(2024, 2, 29, 0, 0)),
    ("0001-01-01T00:00:00Z", datetime(1, 1, 1)),
    ("9999-12-31T23:59:59.999999Z", datetime(9999, 12, 31, 23, 59, 59, 999999)),
    ("0000-01-01T00:00:00Z", None),  # outside the instants a date can be collected for
    ("9999-12-31T23:59:59-01:00", None),
    ("0001-01-01T00:30:00+01:00", None),
    ("2025-11-09", None),  # a bare date
    ("2025-11-09T", None),
    ("2025-13-45T99:00:00", None),
    ("2025-02-29T10:00:00Z", None),
    ("2025-11-09T24:00:00Z", None),
    ("2025-11-09T15:55:40+25:00", None),
    ("2025-11-09T15:55:40.123456789Z", datetime(2025, 11, 9, 15, 55, 40, 123456)),  # truncated
    ("2025-11-09T15:55:40,9999999+01:00", datetime(2025, 11, 9, 14, 55, 40, 999999)),
    ("2025-11-09T15:55:40.Z", None),
    ("2025-11-09T15:55:40 UTC", None),
    ("2025-11-09T1:5:4", None),
    ("09/11/2025 15:55", None),
    ("1731167740", None),
    ("garbage", None),
    ("", None),
    ("   ", None),
    (None, None),
]


@pytest.mark.parametrize("text, expected", TIMESTAMP_CASES)
def test_timestamp_parsing(spark, text, expected):
    frame = spark.createDataFrame([(text,)], "t string")
    [row] = frame.select(parse_timestamp(F.col("t")).alias("ts")).collect()
    assert row.ts == expected


def test_timestamps_without_offset_are_utc_whatever_the_session_time_zone(spark):
    frame = spark.createDataFrame(
        [("2025-11-09 15:55:40",), ("2025-11-09T15:55:40+01:00",)], "t string"
    )
    parsed = frame.select(F.unix_micros(parse_timestamp(F.col("t"))).alias("us"))
    spark.conf.set("spark.sql.session.timeZone", "America/New_York")
    try:
        micros = [row.us for row in parsed.collect()]
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")
    assert micros == [1_762_703_740_000_000, 1_762_700_140_000_000]


def test_blank_strings_are_missing(spark):
    frame = spark.createDataFrame([(v,) for v in ["", " ", "  \t\n", "a", " a ", None]], "s string")
    rows = frame.select(blank_to_null(F.col("s")).alias("s")).collect()
    assert [r.s for r in rows] == [None, None, None, "a", " a ", None]


def test_silver_rows_are_typed_and_flattened(lake, spark):
    event = order_event(1, status="cancelled", cancellation_reason="out_of_stock")
    event["shipping_address"] = {**event["shipping_address"], "city": "  ", "country": None}
    event["timestamp"] = "2025-11-09T17:55:40.669190+02:00"
    lake.add_bronze([event], D1, T1, partition=2, first_offset=41)
    lake.process(D1, now=datetime(2025, 11, 12, 6, 30, tzinfo=UTC))
    table = spark.read.format("delta").load(lake.silver)
    assert sorted(table.columns) == sorted(SILVER_SCHEMA.fieldNames())
    [row] = table.collect()
    assert row.timestamp == datetime(2025, 11, 9, 15, 55, 40, 669190)
    assert (row.quantity, row.price, row.total) == (3, 11.16, 33.48)
    assert (row.order_id, row.customer_id, row.product_id) == (
        "ORD-00000001",
        "CUST-000001",
        "PROD-004",
    )
    assert (
        row.shipping_street,
        row.shipping_city,
        row.shipping_state,
        row.shipping_zip_code,
        row.shipping_country,
    ) == ("123 Main St", None, "IL", "62701", None)
    assert (row.status, row.cancellation_reason) == ("cancelled", "out_of_stock")
    assert (row.kafka_topic, row.kafka_partition, row.kafka_offset) == ("orders", 2, 41)
    assert row.ingestion_timestamp == datetime(2025, 11, 10, 12, 0)
    assert row.ingestion_date == D1 and row.silver_ingestion_date == D1
    assert row.silver_ingestion_timestamp == datetime(2025, 11, 12, 6, 30)
    assert row.data_quality_score is True and row.dq_failures == []


def test_evolved_bronze_columns_are_ignored(lake, spark):
    lake.add_bronze([order_event(1, coupon="SAVE10", gift={"wrap": True})], D1, T1)
    assert {"coupon", "gift"} <= set(lake.bronze_df().columns)
    result = lake.process(D1)
    assert result.rows_kept == 1
    silver = spark.read.format("delta").load(lake.silver)
    rejected = spark.read.format("delta").load(lake.rejected)
    assert "coupon" not in silver.columns and "coupon" not in rejected.columns
    assert sorted(rejected.columns) == sorted(SILVER_REJECTED_SCHEMA.fieldNames())
