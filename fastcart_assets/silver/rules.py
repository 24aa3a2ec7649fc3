"""Silver's data-quality rules (SPEC.md §6), each defined once as data.

A rule is a Spark expression that is TRUE when a row violates it. Hard rules send the row to
the rejected table; soft rules keep it in Silver with `data_quality_score = false` and the
rule's name in `dq_failures`. The same registry builds the Silver split, the asset checks and
the validation report: adding a rule is adding one line to RULES.

Expressions read the typed columns made by `silver.transforms.typed_events`: `payload_ok`,
`event_time` (the parsed timestamp), blank strings already null.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from fastcart_assets.schemas import ORDER_STATUSES

HARD = "hard"
SOFT = "soft"
TOTAL_TOLERANCE = 0.01
FUTURE_TOLERANCE_MINUTES = 5


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str  # HARD (reject) or SOFT (flag)
    violated: Callable[[], Column]
    description: str


def _total_mismatch() -> Column:
    expected = F.col("price") * F.col("quantity")
    # Rounded so that a difference of exactly one cent is not a float artefact above 0.01.
    difference = F.round(F.abs(F.col("total") - expected), 6)
    return F.col("price").isNull() | F.col("quantity").isNull() | (difference > TOTAL_TOLERANCE)


RULES: tuple[Rule, ...] = (
    Rule(
        "malformed_json",
        HARD,
        lambda: ~F.col("payload_ok"),
        "the message is null, empty, not JSON, or JSON that is not an object",
    ),
    Rule(
        "missing_order_id",
        HARD,
        lambda: F.col("order_id").isNull(),
        "order_id is missing, null or blank",
    ),
    Rule(
        "missing_customer_id",
        HARD,
        lambda: F.col("customer_id").isNull(),
        "customer_id is missing, null or blank",
    ),
    Rule(
        "invalid_total",
        HARD,
        lambda: F.col("total").isNull() | (F.col("total") <= 0),
        "total is missing, non-numeric, zero or negative",
    ),
    Rule(
        "invalid_timestamp",
        HARD,
        lambda: F.col("event_time").isNull(),
        "timestamp is missing or not an ISO-8601 date and time",
    ),
    Rule(
        "total_mismatch",
        SOFT,
        _total_mismatch,
        "|total - price x quantity| > 0.01, or price or quantity missing",
    ),
    Rule(
        "invalid_status",
        SOFT,
        lambda: F.col("status").isNull() | ~F.col("status").isin(*ORDER_STATUSES),
        "status is not exactly one of pending, confirmed, processing, shipped, cancelled",
    ),
    Rule(
        "future_timestamp",
        SOFT,
        lambda: (
            F.col("event_time")
            > F.col("ingestion_timestamp") + F.expr(f"INTERVAL {FUTURE_TOLERANCE_MINUTES} MINUTES")
        ),
        "timestamp later than the row's ingestion time + 5 minutes",
    ),
)

HARD_RULES = tuple(rule for rule in RULES if rule.kind == HARD)
SOFT_RULES = tuple(rule for rule in RULES if rule.kind == SOFT)


def failed_rules(rules: tuple[Rule, ...]) -> Column:
    """The names of the `rules` a row violates, in registry order (an empty array if none)."""
    return F.array_compact(
        F.array(
            *[F.when(F.coalesce(rule.violated(), F.lit(False)), F.lit(rule.name)) for rule in rules]
        )
    )


def count_violations(frame: DataFrame, rules: tuple[Rule, ...] = RULES) -> dict[str, int]:
    """Rows of `frame` violating each rule, in one pass (for checks and the report)."""
    row = frame.agg(
        *[
            F.sum(F.when(F.coalesce(rule.violated(), F.lit(False)), 1).otherwise(0)).alias(
                rule.name
            )
            for rule in rules
        ]
    ).collect()[0]
    return {rule.name: int(row[rule.name] or 0) for rule in rules}
