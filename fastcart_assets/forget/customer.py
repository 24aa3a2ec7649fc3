"""Which rows are one customer's (pure Spark; no Dagster, no tables written).

A row is the customer's when it names them — the typed `customer_id`, or, where that column is
null or blank (a value of the wrong type, a payload Bronze could not type), the `customer_id`
that `_raw` holds as JSON (`get_json_object`, never a substring search) — or when it names no
customer at all and belongs to one of their orders: its order id (typed or in `_raw`) is one
of the order ids their rows carry, or its Kafka key is one of their rows' keys (the key is
the order id, docs/SPEC.md §4; a payload cut in half keeps no field but its key). A row naming
another customer is never theirs. The customer id only ever reaches Spark as a literal.

Change events (`bronze/orders_cdc`) name a customer in `before` and `after`; the SCD tables
and Silver in `customer_id`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from fastcart_assets.errors import FastcartError

MAX_ID_LENGTH = 256


class ForgetRefused(FastcartError, ValueError):
    """The customer id cannot be a customer id."""


def checked_customer_id(value: str | None) -> str:
    """`value` when it can be a customer id: not blank, no control characters, 256 at most.

    Raises:
        ForgetRefused: otherwise, saying why.
    """
    if value is None or not value.strip():
        raise ForgetRefused("a customer id is required; a blank id would match nothing useful")
    if len(value) > MAX_ID_LENGTH:
        raise ForgetRefused(f"a customer id is at most {MAX_ID_LENGTH} characters")
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        raise ForgetRefused("a customer id cannot hold control or unassigned characters")
    return value


def _present(column: Column) -> Column:
    """`column`, null when it is null, empty or only spaces."""
    return F.when(F.trim(column) != "", column)


def _raw(path: str) -> Column:
    return F.get_json_object(F.col("_raw"), path)


def _is_cdc(frame: DataFrame) -> bool:
    return "before" in frame.columns and "after" in frame.columns


def named_customers(frame: DataFrame) -> list[Column]:
    """The customer ids a row names, one column per place (null where it names none)."""
    has_raw = "_raw" in frame.columns
    places = [("before.", "$.before."), ("after.", "$.after.")] if _is_cdc(frame) else [("", "$.")]
    named = []
    for typed, raw in places:
        column = _present(F.col(f"{typed}customer_id"))
        if has_raw:
            column = F.coalesce(column, _present(_raw(f"{raw}customer_id")))
        named.append(column)
    return named


def order_ids(frame: DataFrame) -> list[Column]:
    """The order ids a row carries (typed, in `_raw`, in a CDC key), one column per place."""
    places = [("before.", "$.before."), ("after.", "$.after.")] if _is_cdc(frame) else [("", "$.")]
    found = [_present(F.col(f"{typed}order_id")) for typed, _ in places]
    if "_raw" in frame.columns:
        found += [_present(_raw(f"{raw}order_id")) for _, raw in places]
    if "key_order_id" in frame.columns:
        found.append(_present(F.col("key_order_id")))
    return found


def _key(frame: DataFrame) -> Column | None:
    """The readable Kafka key, where the table keeps one as text."""
    if "kafka_key" in frame.columns and frame.schema["kafka_key"].dataType.typeName() == "string":
        return _present(F.col("kafka_key"))
    return None


def _any(conditions: Iterable[Column]) -> Column:
    return reduce(lambda a, b: a | b, conditions, F.lit(False))


def names(frame: DataFrame, customer_id: str) -> Column:
    """TRUE for the rows of `frame` that name the customer."""
    return _any(F.coalesce(c == F.lit(customer_id), F.lit(False)) for c in named_customers(frame))


@dataclass(frozen=True)
class CustomerOrders:
    """The orders the customer's rows carry: their order ids and Kafka keys."""

    order_ids: frozenset[str] = frozenset()
    keys: frozenset[str] = frozenset()

    def __or__(self, other: CustomerOrders) -> CustomerOrders:
        return CustomerOrders(self.order_ids | other.order_ids, self.keys | other.keys)


def customer_orders(frame: DataFrame, customer_id: str) -> CustomerOrders:
    """The order ids and keys of the rows of `frame` naming the customer (collected: a
    customer's orders, not personal data on their own)."""
    named = frame.where(names(frame, customer_id))
    columns = [c.alias(f"_order{i}") for i, c in enumerate(order_ids(frame))]
    key = _key(frame)
    if key is not None:
        columns.append(key.alias("_key"))
    rows = named.select(*columns).distinct().collect()
    ids = {v for row in rows for k, v in row.asDict().items() if k != "_key" and v is not None}
    keys = {row["_key"] for row in rows if key is not None and row["_key"] is not None}
    return CustomerOrders(frozenset(ids), frozenset(keys))


def customer_rows(frame: DataFrame, customer_id: str, orders: CustomerOrders) -> Column:
    """TRUE for the customer's rows of `frame`: naming them, or naming nobody and belonging to
    one of `orders` (see the module docstring). A record without a value (`_raw` null: a
    tombstone, or a row already erased) holds nothing to erase and is left as it is."""
    nobody = reduce(lambda a, b: a & b, [c.isNull() for c in named_customers(frame)])
    if "_raw" in frame.columns:
        nobody = nobody & F.col("_raw").isNotNull()
    own = []
    if orders.order_ids:
        listed = [F.lit(i) for i in sorted(orders.order_ids)]
        own += [F.coalesce(c.isin(listed), F.lit(False)) for c in order_ids(frame)]
    key = _key(frame)
    if key is not None and orders.keys:
        own.append(F.coalesce(key.isin([F.lit(k) for k in sorted(orders.keys)]), F.lit(False)))
    return names(frame, customer_id) | (nobody & _any(own))
