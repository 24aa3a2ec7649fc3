"""Silver's data-quality rules (SPEC.md §6), each defined exactly once, as data.

A rule's `violated()` is a Spark Column that is TRUE when a row VIOLATES it. Hard rules send the
row to the rejected table; soft rules keep it in Silver with `data_quality_score = false` and the
rule's name in `dq_failures`. The one registry, RULES, builds the Silver split
(`silver.transforms.classify`) and the counts the asset checks and the report use
(`count_violations`): adding a rule is adding one line to RULES.

Rules read Silver's column names and types (`timestamp` already parsed, blank strings already
null) plus two flags: IS_JSON_OBJECT, that `silver.transforms.typed_events` derives from `_raw`,
and ERASED, set on the Bronze rows `fastcart forget` blanked (`fastcart_assets.erasures`).
`rule_inputs` supplies both for a frame that lacks them (Silver itself).

`erased` is a hard rule of its own kind: a blanked row violates it and nothing else (its
payload is gone, not defective), and it is never rated — a GDPR request is not a data-quality
problem, so it never turns a partition WARN or ERROR (`quality.expectations`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from fastcart_assets.erasures import ERASED
from fastcart_assets.schemas import ORDER_STATUSES

HARD = "hard"
SOFT = "soft"
TOTAL_TOLERANCE = 0.01
FUTURE_TOLERANCE_MICROS = 5 * 60 * 1_000_000  # five minutes
IS_JSON_OBJECT = "_is_json_object"
ERASED_RULE = "erased"

# Payload columns, under Silver's names, that only a payload parsed as a JSON object can set
# (Bronze leaves every payload column null when the message is not a JSON object).
PAYLOAD_COLUMNS = (
    "order_id",
    "timestamp",
    "product_id",
    "product_name",
    "quantity",
    "price",
    "total",
    "customer_id",
    "customer_email",
    "payment_method",
    "status",
    "cancellation_reason",
)


@dataclass(frozen=True)
class Rule:
    """One data-quality rule: hard rules reject the row, soft rules flag it."""

    name: str
    kind: str  # HARD or SOFT
    violated: Callable[[], Column]  # TRUE when the row violates the rule
    description: str
    rated: bool = True  # False: counted per partition, never a WARN or an ERROR
    supersedes: bool = False  # True: a row violating it violates no other rule

    def violation(self) -> Column:
        """`violated()` with null read as FALSE (a rule never yields null)."""
        return F.coalesce(self.violated(), F.lit(False))


def _superseded(rules: Sequence[Rule]) -> Column | None:
    """TRUE for a row violating a superseding rule of `rules` (None: there is none)."""
    found = [rule.violation() for rule in rules if rule.supersedes]
    return reduce(lambda a, b: a | b, found) if found else None


def exclusive_violation(rule: Rule, rules: Sequence[Rule]) -> Column:
    """`rule.violation()`, except for a row that a superseding rule of `rules` takes alone."""
    over = _superseded(rules)
    if rule.supersedes or over is None:
        return rule.violation()
    return rule.violation() & ~over


def _missing(column: str) -> Callable[[], Column]:
    return lambda: F.col(column).isNull()


def _malformed_json() -> Column:
    return ~F.col(IS_JSON_OBJECT)


def _erased() -> Column:
    return F.col(ERASED)


def _invalid_total() -> Column:
    return F.col("total").isNull() | (F.col("total") <= 0)


def _total_mismatch() -> Column:
    # Rounded so that a difference of exactly one cent is not pushed above 0.01 by float error.
    difference = F.round(F.abs(F.col("total") - F.col("price") * F.col("quantity")), 6)
    return F.col("price").isNull() | F.col("quantity").isNull() | (difference > TOTAL_TOLERANCE)


def _invalid_status() -> Column:
    return F.col("status").isNull() | ~F.col("status").isin(*ORDER_STATUSES)


def _future_timestamp() -> Column:
    # Against the row's own ingestion time, so reprocessing later gives the same answer.
    limit = F.unix_micros(F.col("ingestion_timestamp")) + F.lit(FUTURE_TOLERANCE_MICROS)
    return F.unix_micros(F.col("timestamp")) > limit


def first_instant_micros(first_date: date) -> int:
    """Midnight UTC of `first_date`, in epoch microseconds."""
    return int(datetime.combine(first_date, time(), UTC).timestamp()) * 1_000_000


def _stale_timestamp() -> Column:
    # Before the first daily partition (FASTCART_FIRST_DATE, read once with the partitions): no
    # Gold partition can hold such an event. Imported here so the rules stay free of Dagster.
    from fastcart_assets.partitions import FIRST_DATE

    return F.unix_micros(F.col("timestamp")) < F.lit(first_instant_micros(FIRST_DATE))


# One line per rule, in the order reasons and failures are listed.
RULES: tuple[Rule, ...] = (
    Rule("malformed_json", HARD, _malformed_json, "null, empty, not JSON, or not a JSON object"),
    Rule("missing_order_id", HARD, _missing("order_id"), "order_id missing, null or blank"),
    Rule("missing_customer_id", HARD, _missing("customer_id"), "customer_id missing or blank"),
    Rule("invalid_total", HARD, _invalid_total, "total missing, non-numeric, zero or negative"),
    Rule("invalid_timestamp", HARD, _missing("timestamp"), "no ISO-8601 date and time"),
    Rule(
        ERASED_RULE,
        HARD,
        _erased,
        "personal data erased by `fastcart forget` (never rated)",
        rated=False,
        supersedes=True,
    ),
    Rule("total_mismatch", SOFT, _total_mismatch, "|total - price x quantity| > 0.01 or unknown"),
    Rule("invalid_status", SOFT, _invalid_status, "status not exactly one of the five statuses"),
    Rule("future_timestamp", SOFT, _future_timestamp, "later than ingestion_timestamp + 5 min"),
    Rule("stale_timestamp", SOFT, _stale_timestamp, "earlier than FASTCART_FIRST_DATE"),
)

HARD_RULES = tuple(rule for rule in RULES if rule.kind == HARD)
RATED_RULES = tuple(rule for rule in RULES if rule.rated)
SOFT_RULES = tuple(rule for rule in RULES if rule.kind == SOFT)


def failed_rules(rules: Sequence[Rule]) -> Column:
    """The names of the `rules` a row violates, in registry order (an empty array if none)."""
    names = [F.when(exclusive_violation(rule, rules), F.lit(rule.name)) for rule in rules]
    return F.array_compact(F.array(*names)).cast("array<string>")


def any_payload_field_set(columns: Sequence[str]) -> Column:
    """TRUE when one of the payload columns present in `columns` is not null."""
    present = [F.col(name).isNotNull() for name in PAYLOAD_COLUMNS if name in columns]
    return reduce(lambda a, b: a | b, present, F.lit(False))


def rule_inputs(frame: DataFrame) -> DataFrame:
    """`frame` with the columns every rule reads; Silver (no `_raw`) gets IS_JSON_OBJECT from its
    payload columns, since only a payload parsed as a JSON object sets any of them, and a frame
    without ERASED holds no erased row."""
    added = {}
    if IS_JSON_OBJECT not in frame.columns:
        added[IS_JSON_OBJECT] = any_payload_field_set(frame.columns)
    if ERASED not in frame.columns:
        added[ERASED] = F.lit(False)
    return frame.withColumns(added) if added else frame


def count_violations(frame: DataFrame, rules: Sequence[Rule] = RULES) -> dict[str, int]:
    """Rows of `frame` (Silver, or typed Bronze) violating each rule, in one aggregation.

    In Silver every hard rule must count zero; a soft rule counts the rows it flags or should.
    """
    counts = rule_inputs(frame).agg(
        *[
            F.sum(F.when(exclusive_violation(rule, rules), 1).otherwise(0)).alias(rule.name)
            for rule in rules
        ]
    )
    row = counts.collect()[0]
    return {rule.name: int(row[rule.name] or 0) for rule in rules}
