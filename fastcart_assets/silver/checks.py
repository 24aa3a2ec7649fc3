"""Silver's asset checks: one per rule, key uniqueness, and reconciliation with Bronze."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fastcart_assets.silver.rules import HARD, RULES, Rule, count_violations, rule_inputs
from fastcart_assets.silver.transforms import COORDINATES, KEY, parse_timestamp


def rule_check_name(rule: Rule) -> str:
    return f"rule_{rule.name}"


@dataclass(frozen=True)
class RuleCheck:
    rule: Rule
    violations: int  # rows violating the rule that Silver holds
    unflagged: int  # of those, rows not flagged (soft rules); hard rules: all of them

    @property
    def passed(self) -> bool:
        return self.violations == 0 if self.rule.kind == HARD else self.unflagged == 0


def rule_checks(silver: DataFrame) -> list[RuleCheck]:
    """Per rule: hard rules must not occur in Silver; soft violations must all be flagged."""
    view = rule_inputs(silver)
    violations = count_violations(view)
    unflagged = count_violations(view.where(F.col("data_quality_score")), RULES)
    return [
        RuleCheck(
            rule,
            violations[rule.name],
            violations[rule.name] if rule.kind == HARD else unflagged[rule.name],
        )
        for rule in RULES
    ]


def duplicate_keys(silver: DataFrame) -> int:
    """Rows beyond the first for each (order_id, timestamp) over the whole table."""
    extra = (
        silver.groupBy(*KEY)
        .count()
        .where(F.col("count") > 1)
        .agg(F.sum(F.col("count") - 1).alias("extra"))
        .collect()[0]
        .extra
    )
    return int(extra or 0)


@dataclass(frozen=True)
class Reconciliation:
    day: date
    bronze: int
    silver: int
    rejected: int
    duplicates: int  # kept rows of Bronze D replaced by another row of the same key

    @property
    def unaccounted(self) -> int:
        return self.bronze - self.silver - self.rejected - self.duplicates


def reconcile(
    spark: SparkSession,
    bronze_path: str,
    silver_path: str,
    rejected_path: str,
    days: Sequence[date],
) -> list[Reconciliation]:
    """Bronze rows = Silver rows + rejected rows + dropped duplicates, per Bronze date.

    A dropped duplicate is counted only when Silver holds another row with its key, so a
    row lost on the way shows up as unaccounted.
    """
    coordinates = list(COORDINATES)
    in_days = F.col("ingestion_date").isin([F.lit(d) for d in days])
    bronze = spark.read.format("delta").load(bronze_path).where(in_days)
    silver = spark.read.format("delta").load(silver_path)
    rejected = spark.read.format("delta").load(rejected_path).where(in_days)
    kept_candidates = bronze.join(rejected.select(*coordinates), coordinates, "left_anti")
    not_in_silver = kept_candidates.join(silver.select(*coordinates), coordinates, "left_anti")
    duplicates = not_in_silver.select(
        "ingestion_date", "order_id", parse_timestamp(F.col("timestamp")).alias("timestamp")
    ).join(silver.select(*KEY).distinct(), list(KEY), "left_semi")

    def per_day(frame: DataFrame, column: str = "ingestion_date") -> dict[date, int]:
        return {r[0]: r[1] for r in frame.groupBy(column).count().collect()}

    bronze_n = per_day(bronze)
    silver_n = per_day(silver.where(in_days))
    rejected_n = per_day(rejected)
    duplicate_n = per_day(duplicates)
    return [
        Reconciliation(
            d, bronze_n.get(d, 0), silver_n.get(d, 0), rejected_n.get(d, 0), duplicate_n.get(d, 0)
        )
        for d in sorted(days)
    ]
