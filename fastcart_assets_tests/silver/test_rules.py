"""Each rule of SPEC.md §6: a tiny Bronze input with the violating value lands where it should."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pyspark.sql import functions as F

from fastcart_assets.silver.rules import (
    HARD_RULES,
    RULES,
    SOFT,
    SOFT_RULES,
    Rule,
    count_violations,
    failed_rules,
)
from fastcart_assets_tests.helpers import order_event
from fastcart_assets_tests.silver.conftest import D1, T1

ALL_HARD = [
    "malformed_json",
    "missing_order_id",
    "missing_customer_id",
    "invalid_total",
    "invalid_timestamp",
]
NOT_MALFORMED = ALL_HARD[1:]
HARD_NAMES = [*ALL_HARD, "erased"]  # `erased`: records `fastcart forget` blanked (test_forget)
ALL_SOFT = ["total_mismatch", "invalid_status", "future_timestamp", "stale_timestamp"]


def test_the_registry_holds_every_rule_once_in_spec_order():
    assert [(r.name, r.kind) for r in RULES] == [
        ("malformed_json", "hard"),
        ("missing_order_id", "hard"),
        ("missing_customer_id", "hard"),
        ("invalid_total", "hard"),
        ("invalid_timestamp", "hard"),
        ("erased", "hard"),
        ("total_mismatch", "soft"),
        ("invalid_status", "soft"),
        ("future_timestamp", "soft"),
        ("stale_timestamp", "soft"),
    ]
    assert [r.name for r in HARD_RULES] == HARD_NAMES
    assert [r.name for r in SOFT_RULES] == ALL_SOFT
    assert all(r.description for r in RULES)


def test_a_new_rule_is_one_entry(spark):
    extra = Rule("always", SOFT, lambda: F.col("n") > 1, "n above one")
    frame = spark.createDataFrame([(1,), (2,), (None,)], "n int")
    rows = frame.select(failed_rules((extra,)).alias("f")).collect()
    assert [r.f for r in rows] == [[], ["always"], []]  # null reads as not violated


@pytest.mark.parametrize(
    "payload, reasons",
    [
        (b"not json", ALL_HARD),
        (b'{"order_id": "ORD-00000001", "total": 3', ALL_HARD),  # truncated object
        (b'{"order_id": "ORD-1"} trailing', ALL_HARD),
        (b"[1, 2]", ALL_HARD),
        (b'"a string"', ALL_HARD),
        (b"null", ALL_HARD),
        (b"", ALL_HARD),
        (b"   ", ALL_HARD),
        (None, ALL_HARD),  # tombstone
        ({}, NOT_MALFORMED),  # a JSON object, with nothing in it
        ({"coupon": "X"}, NOT_MALFORMED),
        ({"order_id": 12345678, "total": "12"}, NOT_MALFORMED),  # wrong types only
        (order_event(1, order_id=None), ["missing_order_id"]),
        (order_event(1, order_id="   "), ["missing_order_id"]),
        (order_event(1, order_id="\t"), ["missing_order_id"]),
        (order_event(1, customer_id=""), ["missing_customer_id"]),
        ({k: v for k, v in order_event(1).items() if k != "customer_id"}, ["missing_customer_id"]),
        (order_event(1, total=None), ["invalid_total"]),
        (order_event(1, total="12.50"), ["invalid_total"]),
        (order_event(1, total=0), ["invalid_total"]),
        (order_event(1, total=-33.48), ["invalid_total"]),
        (order_event(1, timestamp="2025-11-09"), ["invalid_timestamp"]),
        (order_event(1, timestamp="yesterday"), ["invalid_timestamp"]),
        (order_event(1, timestamp=1731167740), ["invalid_timestamp"]),
        (order_event(1, timestamp=None), ["invalid_timestamp"]),
        (order_event(1, order_id=7, total=0), ["missing_order_id", "invalid_total"]),
        (
            order_event(1, order_id="", customer_id=" ", total=-1, timestamp="2025-13-45T99:00:00"),
            NOT_MALFORMED,
        ),
    ],
)
def test_hard_rules_reject_with_every_reason(lake, payload, reasons):
    lake.add_bronze([payload], D1, T1)
    result = lake.process(D1)
    rejected = lake.rejected_rows()
    assert [r.rejection_reasons for r in rejected] == [reasons]
    assert lake.silver_rows() == []
    assert (result.rows_in, result.rejected, result.passed) == (1, 1, 0)
    assert result.rejected_by_reason == {name: int(name in reasons) for name in HARD_NAMES}
    [row] = rejected
    assert (row.kafka_topic, row.kafka_partition, row.kafka_offset) == ("orders", 0, 0)
    assert row.silver_ingestion_date == D1 and row.ingestion_date == D1
    assert row.rejected_at == datetime(2025, 11, 12, 6, 0)


def test_json_object_with_leading_whitespace_is_not_malformed(lake):
    lake.add_bronze([b'\n\t {"order_id": "ORD-00000009"}'], D1, T1)
    lake.process(D1)
    [row] = lake.rejected_rows()
    assert row.rejection_reasons == ["missing_customer_id", "invalid_total", "invalid_timestamp"]


def test_rejected_rows_keep_the_bronze_values_as_they_were(lake):
    payload = order_event(1, customer_id="  ", timestamp=" 2025-11-09 ", quantity=2.5)
    lake.add_bronze([payload], D1, T1)
    lake.process(D1)
    [row] = lake.rejected_rows()
    assert row.rejection_reasons == ["missing_customer_id", "invalid_timestamp"]
    assert (row.order_id, row.customer_id, row.timestamp) == ("ORD-00000001", "  ", " 2025-11-09 ")
    assert (row.quantity, row.price, row.total) == (None, 11.16, 33.48)
    assert row.shipping_address.state == "IL" and row.shipping_address.zip_code == "62701"
    assert row._raw.startswith('{"order_id": "ORD-00000001"') and row.kafka_key == "k"


@pytest.mark.parametrize(
    "overrides, failures",
    [
        ({}, []),
        ({"total": 40.00}, ["total_mismatch"]),
        ({"total": 33.49}, []),  # exactly one cent off is within tolerance
        ({"total": 33.47}, []),
        ({"total": 33.495}, ["total_mismatch"]),
        ({"price": None}, ["total_mismatch"]),
        ({"quantity": None}, ["total_mismatch"]),
        ({"quantity": 2.5}, ["total_mismatch"]),  # non-integer quantity is null
        ({"status": "SHIPPED"}, ["invalid_status"]),
        ({"status": "returned"}, ["invalid_status"]),
        ({"status": " shipped"}, ["invalid_status"]),
        ({"status": " "}, ["invalid_status"]),
        ({"status": None}, ["invalid_status"]),
        ({"timestamp": "2025-11-10T12:04:59Z"}, []),  # ingested 12:00: within 5 minutes
        ({"timestamp": "2025-11-10T12:05:00Z"}, []),  # exactly +5 minutes is not later
        ({"timestamp": "2025-11-10T12:05:00.000001Z"}, ["future_timestamp"]),
        ({"timestamp": "2025-11-10T14:05:01+02:00"}, ["future_timestamp"]),
        (
            {"timestamp": "2035-11-10T12:00:00Z", "status": "x", "total": 1.0},
            ["total_mismatch", "invalid_status", "future_timestamp"],
        ),
        ({"timestamp": "2024-01-01T00:00:00Z"}, []),  # the first partition's first instant
        ({"timestamp": "2023-12-31T23:59:59.999999Z"}, ["stale_timestamp"]),
        (
            {"timestamp": "2024-01-01T00:30:00+01:00"},
            ["stale_timestamp"],
        ),  # 23:30 UTC the day before
        ({"timestamp": "2001-03-04T05:06:07Z"}, ["stale_timestamp"]),
        (
            {"timestamp": "0001-01-01T00:00:00Z", "total": 1.0},
            ["total_mismatch", "stale_timestamp"],
        ),
    ],
)
def test_soft_rules_flag_but_keep(lake, overrides, failures):
    lake.add_bronze([order_event(1, **overrides)], D1, T1)
    result = lake.process(D1)
    [row] = lake.silver_rows()
    assert row.dq_failures == failures
    assert row.data_quality_score is (not failures)
    assert lake.rejected_rows() == []
    assert result.flagged == (1 if failures else 0)
    assert result.flagged_by_rule == {name: int(name in failures) for name in ALL_SOFT}


def test_future_timestamp_uses_the_rows_ingestion_time_not_the_run_time(lake):
    # 10 minutes after its own ingestion, but long before the Silver run.
    lake.add_bronze([order_event(1, timestamp="2025-11-10T12:10:00Z")], D1, T1)
    lake.process(D1, now=datetime(2026, 1, 1, tzinfo=UTC))
    [row] = lake.silver_rows()
    assert row.dq_failures == ["future_timestamp"]


def test_count_violations_on_silver(lake, spark):
    lake.add_bronze(
        [
            order_event(1),
            order_event(2, total=99.0),
            order_event(3, status="lost"),
            order_event(4, status="lost", price=None),
            b"junk",
        ],
        D1,
        T1,
    )
    lake.process(D1)
    silver = spark.read.format("delta").load(lake.silver)
    assert count_violations(silver) == {
        "malformed_json": 0,
        "missing_order_id": 0,
        "missing_customer_id": 0,
        "invalid_total": 0,
        "invalid_timestamp": 0,
        "erased": 0,
        "total_mismatch": 2,
        "invalid_status": 2,
        "future_timestamp": 0,
        "stale_timestamp": 0,
    }
    # Rows that should never be in Silver are counted there too.
    tampered = silver.withColumn(
        "total", F.when(F.col("order_id") == "ORD-00000001", F.lit(-1.0)).otherwise(F.col("total"))
    ).withColumn(
        "customer_id",
        F.when(F.col("order_id") == "ORD-00000002", F.lit(None)).otherwise(F.col("customer_id")),
    )
    counts = count_violations(tampered, HARD_RULES)
    assert counts == {
        "malformed_json": 0,
        "missing_order_id": 0,
        "missing_customer_id": 1,
        "invalid_total": 1,
        "invalid_timestamp": 0,
        "erased": 0,
    }
    payload = {
        *("order_id", "timestamp", "product_id", "product_name", "quantity", "price", "total"),
        *("customer_id", "customer_email", "payment_method", "status", "cancellation_reason"),
    }
    emptied = silver.limit(1).select(
        *[F.lit(None).alias(c) if c in payload else F.col(c) for c in silver.columns]
    )
    assert count_violations(emptied, HARD_RULES[:1]) == {"malformed_json": 1}


def test_silver_counts_by_rule_in_the_result(lake):
    lake.add_bronze(
        [
            order_event(1),
            order_event(2, total=99.0),
            order_event(3, status="lost", total=1.0),
            b"[]",
            order_event(5, total=0, customer_id=None),
            order_event(6, total=-2),
        ],
        D1,
        T1,
    )
    result = lake.process(D1)
    assert (result.rows_in, result.passed, result.rejected, result.flagged) == (6, 3, 3, 2)
    assert result.rejected_by_reason == {
        "malformed_json": 1,
        "missing_order_id": 1,
        "missing_customer_id": 2,
        "invalid_total": 3,
        "invalid_timestamp": 1,
        "erased": 0,
    }
    assert result.flagged_by_rule == {
        "total_mismatch": 2,
        "invalid_status": 1,
        "future_timestamp": 0,
        "stale_timestamp": 0,
    }
    assert (result.inserted, result.replaced, result.rows_kept) == (3, 0, 3)
    assert result.touched_dates == [date(2025, 11, 9)]
