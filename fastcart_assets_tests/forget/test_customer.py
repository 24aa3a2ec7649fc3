"""Which rows are a customer's: by the typed id, by `_raw`'s JSON (never a substring), and the
nameless rows of their orders; ids a person cannot have mean are refused."""

from __future__ import annotations

import json

import pytest

from fastcart_assets.forget.customer import (
    ForgetRefused,
    checked_customer_id,
    customer_orders,
    customer_rows,
)

C1 = "CUST-000001"
BRONZE_LIKE = "n int, customer_id string, order_id string, kafka_key string, _raw string"


def _raw(**fields) -> str:
    return json.dumps(fields)


ROWS = [
    # n, typed id, typed order, key, raw                                          theirs?
    (1, C1, "ORD-1", "ORD-1", _raw(customer_id=C1, order_id="ORD-1")),  # yes: typed
    (2, None, None, "X-2", _raw(customer_id=C1, order_id=7)),  # yes: typed null, raw names them
    (3, "  ", "ORD-3", "ORD-3", _raw(customer_id=C1)),  # yes: blank typed id, raw names them
    (4, "CUST-000002", "ORD-1", "ORD-1", _raw(customer_id=C1)),  # no: names someone else
    (5, None, None, "K-5", _raw(customer_id="CUST-0000011")),  # no: C1 only as a substring
    (6, None, None, "K-6", '{"note": "customer_id CUST-000001"}'),  # no: not the field
    (7, None, "ORD-1", "K-7", _raw(order_id="ORD-1", customer_email="x@y.z")),  # yes: their order
    (8, None, None, "K-8", _raw(order_id="ORD-1")),  # yes: their order, in `_raw`
    (9, None, None, "ORD-1", '{"order_id": "ORD-1", "customer_id": "CUST-0'),  # yes: their key
    (10, None, None, "ORD-1", None),  # no: no value, nothing to erase
    (11, None, "ORD-9", "K-11", _raw(order_id="ORD-9")),  # no: someone else's order
    (12, None, None, "X-2", _raw(total=3)),  # yes: the key of row 2
]
THEIRS = {1, 2, 3, 7, 8, 9, 12}


def test_the_customers_rows_by_id_json_order_and_key(spark):
    frame = spark.createDataFrame(ROWS, BRONZE_LIKE)
    orders = customer_orders(frame, C1)
    assert orders.order_ids == {"ORD-1", "ORD-3", "7"} and "X-2" in orders.keys
    found = {r.n for r in frame.where(customer_rows(frame, C1, orders)).collect()}
    assert found == THEIRS


def test_an_id_with_sql_in_it_is_only_a_literal(spark):
    frame = spark.createDataFrame(ROWS, BRONZE_LIKE)
    sneaky = "x' OR '1'='1"
    orders = customer_orders(frame, sneaky)
    assert frame.where(customer_rows(frame, sneaky, orders)).count() == 0


def test_change_envelopes_name_a_customer_before_or_after(spark):
    image = "struct<order_id:string,customer_id:string>"
    schema = f"n int, before {image}, after {image}, key_order_id string, _raw string"
    rows = [
        (1, None, ("O-1", C1), "O-1", _raw(after={"order_id": "O-1", "customer_id": C1})),
        (2, ("O-2", C1), None, "O-2", _raw(before={"order_id": "O-2", "customer_id": C1})),
        (3, None, ("O-1", None), "O-1", _raw(after={"order_id": "O-1"})),  # their order
        (4, None, ("O-3", None), "O-3", _raw(after={"order_id": "O-3", "customer_id": C1})),
        (5, None, ("O-5", "CUST-2"), "O-5", _raw(after={"order_id": "O-5"})),
        (6, None, None, "O-1", None),  # a tombstone: nothing to erase
    ]
    frame = spark.createDataFrame(rows, schema)
    orders = customer_orders(frame, C1)
    assert {r.n for r in frame.where(customer_rows(frame, C1, orders)).collect()} == {1, 2, 3, 4}


@pytest.mark.parametrize("bad", ["", "   ", "\t", "CUST\x00-1", "CUST-1\n", "x" * 257, None])
def test_ids_that_cannot_be_a_customer_are_refused(bad):
    with pytest.raises(ForgetRefused):
        checked_customer_id(bad)


def test_an_ordinary_id_is_kept_as_given():
    assert checked_customer_id("CUST-000001") == "CUST-000001"
    assert checked_customer_id("o'brien@example") == "o'brien@example"
