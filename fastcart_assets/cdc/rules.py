"""What makes a change envelope unusable (SPEC.md §10), each rule defined exactly once, as data.

A rule's `violated()` is a Spark Column that is TRUE when an envelope VIOLATES it; an envelope
violating any rule is rejected with every violated rule's name as a reason, and never applied.
Tombstones (null values) are not envelopes: no rule applies to them. Rules after the first
apply only to values that are JSON objects, so a value that is not JSON gets one reason.

Rules read Bronze CDC's typed columns plus the helper columns `cdc.transforms.rule_inputs` adds:
IS_OBJECT (the value is a JSON object), IMAGE (the row the change carries: `after`, or `before`
for a delete), PARSED_TIMES (the image's timestamps parsed), RAW_LEAVES (every envelope leaf
read from `_raw` as text, which shows a value Bronze had to null because its type was wrong)
and ERASED (`fastcart forget` blanked the envelope: it is rejected for `erased` alone, never
taken for a tombstone).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from fastcart_assets.cdc.schemas import CDC_OPS, DELETE, ENVELOPE, ROW_TIMESTAMPS
from fastcart_assets.erasures import ERASED

IS_OBJECT = "_is_object"
IMAGE = "_image"
RAW_LEAVES = "_raw_leaves"
# The image's row timestamps parsed (null when missing or not an ISO-8601 date and time).
PARSED_TIMES = {name: f"_{name}" for name in ROW_TIMESTAMPS}
# source.ts_ms values a timestamp can hold: 0001-01-01 .. 9999-12-31 (epoch milliseconds).
TS_MS_RANGE = (-62_135_596_800_000, 253_402_300_799_999)


@dataclass(frozen=True)
class Rule:
    """One reason to reject an envelope."""

    name: str
    violated: Callable[[], Column]  # TRUE when the envelope violates the rule
    description: str
    supersedes: bool = False  # True: an envelope violating it violates no other rule

    def violation(self) -> Column:
        """`violated()` with null read as FALSE (a rule never yields null)."""
        return F.coalesce(self.violated(), F.lit(False))


def _is_object() -> Column:
    return F.col(IS_OBJECT)


def _malformed_json() -> Column:
    return ~_is_object()


def _unknown_op() -> Column:
    return _is_object() & (F.col("op").isNull() | ~F.col("op").isin(*CDC_OPS))


def _missing_lsn() -> Column:
    lsn = F.col("source.lsn")
    return _is_object() & (lsn.isNull() | (lsn < 0))


def _missing_ts_ms() -> Column:
    return _is_object() & ~F.coalesce(F.col("source.ts_ms").between(*TS_MS_RANGE), F.lit(False))


def _missing_row() -> Column:
    return _is_object() & F.col("op").isin(*CDC_OPS) & F.col(IMAGE).isNull()


def _missing_order_id() -> Column:
    order_id = F.col(f"{IMAGE}.order_id")
    return _is_object() & F.col(IMAGE).isNotNull() & F.coalesce(F.trim(order_id) == "", F.lit(True))


def _key_mismatch() -> Column:
    order_id = F.col(f"{IMAGE}.order_id")
    same = F.col("key_order_id").eqNullSafe(order_id)
    return _is_object() & order_id.isNotNull() & (F.trim(order_id) != "") & ~same


def _leaves(schema: StructType, prefix: str = "") -> list[str]:
    """Dotted paths of every scalar field of `schema`."""
    paths = []
    for field in schema.fields:
        path = f"{prefix}{field.name}"
        if isinstance(field.dataType, StructType):
            paths += _leaves(field.dataType, f"{path}.")
        else:
            paths.append(path)
    return paths


ENVELOPE_LEAVES = tuple(_leaves(ENVELOPE))


def _invalid_field() -> Column:
    """A leaf `_raw` holds but Bronze nulled (wrong type, out of range), or a timestamp of the
    image that is not an ISO-8601 date and time."""
    wrong_type = [
        F.col(f"{RAW_LEAVES}.{path}").isNotNull() & F.col(path).isNull() for path in ENVELOPE_LEAVES
    ]
    unparseable = [
        F.col(f"{IMAGE}.{name}").isNotNull() & F.col(parsed).isNull()
        for name, parsed in PARSED_TIMES.items()
    ]
    return _is_object() & reduce(
        lambda a, b: a | F.coalesce(b, F.lit(False)), wrong_type + unparseable, F.lit(False)
    )


def _erased() -> Column:
    return F.col(ERASED)


# One line per rule, in the order reasons are listed.
RULES: tuple[Rule, ...] = (
    Rule("malformed_json", _malformed_json, "the value is empty, not JSON, or not a JSON object"),
    Rule("unknown_op", _unknown_op, "op is missing or not one of c, u, d, r"),
    Rule("missing_lsn", _missing_lsn, "source.lsn is missing or not a non-negative integer"),
    Rule("missing_ts_ms", _missing_ts_ms, "source.ts_ms is missing or not a time in years 1-9999"),
    Rule("missing_row", _missing_row, "no row: `after` is null for c/u/r, `before` for d"),
    Rule("missing_order_id", _missing_order_id, "the row's order_id is missing or blank"),
    Rule("key_mismatch", _key_mismatch, "the message key does not name the row's order_id"),
    Rule("invalid_field", _invalid_field, "a field has the wrong type or an unparseable time"),
    Rule("erased", _erased, "personal data erased by `fastcart forget`", supersedes=True),
)
RULE_NAMES = tuple(rule.name for rule in RULES)


def image() -> Column:
    """The row a change carries: `before` for a delete, `after` otherwise."""
    return F.when(F.col("op") == DELETE, F.col("before")).otherwise(F.col("after"))


def failed_rules(rules: Sequence[Rule] = RULES) -> Column:
    """The names of the `rules` an envelope violates, in registry order (empty if none)."""
    names = [F.when(rule.violation(), F.lit(rule.name)) for rule in rules]
    found = F.array_compact(F.array(*names)).cast("array<string>")
    for rule in (r for r in rules if r.supersedes):  # it is then the one reason
        found = F.when(rule.violation(), F.array(F.lit(rule.name))).otherwise(found)
    return found


def count_envelopes(classified: DataFrame) -> dict[str, int]:
    """Rejected envelopes per reason (an envelope may have several), and under `_rows`,
    `_tombstones` and `_rejected` the envelopes, tombstones and rejected ones: one aggregation."""

    def count(condition: Column) -> Column:
        return F.sum(F.when(condition, 1).otherwise(0))

    row = classified.agg(
        F.count(F.lit(1)).alias("_rows"),
        count(F.col("is_tombstone")).alias("_tombstones"),
        count(F.size("rejection_reasons") > 0).alias("_rejected"),
        *[count(F.array_contains("rejection_reasons", name)).alias(name) for name in RULE_NAMES],
    ).collect()[0]
    names = ("_rows", "_tombstones", "_rejected", *RULE_NAMES)
    return {name: int(row[name] or 0) for name in names}
