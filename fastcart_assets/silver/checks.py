"""Silver's checks, per partition: the invariants of the Silver step and reconciliation.

The rules' own rate checks (WARN/ERROR by share of Bronze rows) come from
`quality.expectations`; the checks here must hold whatever the data: no Silver row violates a
hard rule, every soft violation is flagged, one row per key, and Bronze reconciles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from fastcart_assets.quality.expectations import PartitionCheck
from fastcart_assets.silver.rules import HARD_RULES, SOFT_RULES, Rule, rule_inputs
from fastcart_assets.silver.transforms import COORDINATES, KEY, in_dates, parse_timestamp

CHECK_HARD_ABSENT = "no_hard_rule_rows"
CHECK_SOFT_FLAGGED = "soft_violations_flagged"
CHECK_UNIQUE = "unique_order_id_timestamp"
CHECK_RECONCILED = "reconciled_with_bronze"
INVARIANTS = {
    CHECK_HARD_ABSENT: "no Silver row violates a hard rule",
    CHECK_SOFT_FLAGGED: "every Silver row violating a soft rule is flagged",
    CHECK_UNIQUE: "exactly one row per (order_id, timestamp) in the whole table",
    CHECK_RECONCILED: "Bronze rows = Silver + rejected + dropped duplicates",
}


def rule_check_name(rule: str) -> str:
    """The name of the rate check of the rule named `rule`."""
    return f"rule_{rule}"


def _count(condition: Column) -> Column:
    return F.sum(F.when(condition, 1).otherwise(0))


def rule_invariants(silver: DataFrame, days: Sequence[date]) -> list[PartitionCheck]:
    """Per Silver partition of `days`: rows violating a hard rule (none may), and rows
    violating a soft rule yet not flagged (none may), with the count per rule."""
    view = rule_inputs(silver.where(in_dates("silver_ingestion_date", days)))
    valid = F.col("data_quality_score")
    rows = {
        row.silver_ingestion_date: row
        for row in view.groupBy("silver_ingestion_date")
        .agg(
            F.count(F.lit(1)).alias("_rows"),
            _count(_any(HARD_RULES)).alias("_hard"),
            _count(valid & _any(SOFT_RULES)).alias("_soft"),
            *[_count(r.violation()).alias(r.name) for r in HARD_RULES],
            *[_count(valid & r.violation()).alias(r.name) for r in SOFT_RULES],
        )
        .collect()
    }
    checks = []
    for day in sorted(set(days)):
        row = rows.get(day)
        total = int(row._rows) if row else 0

        def n(name: str, found=row) -> int:
            return int(found[name] or 0) if found else 0

        checks += [
            PartitionCheck(
                CHECK_HARD_ABSENT, day, total, n("_hard"), {r.name: n(r.name) for r in HARD_RULES}
            ),
            PartitionCheck(
                CHECK_SOFT_FLAGGED, day, total, n("_soft"), {r.name: n(r.name) for r in SOFT_RULES}
            ),
        ]
    return checks


def _any(rules: Sequence[Rule]) -> Column:
    condition = F.lit(False)
    for rule in rules:
        condition = condition | rule.violation()
    return condition


def uniqueness(silver: DataFrame, days: Sequence[date]) -> list[PartitionCheck]:
    """Per Silver partition of `days`: its rows whose (order_id, timestamp) occurs more than
    once in the whole table (none may)."""
    repeated = (
        silver.groupBy(*KEY)
        .count()
        .where(F.col("count") > 1)
        .select(*KEY, F.lit(True).alias("_repeated"))
    )
    in_days = silver.where(in_dates("silver_ingestion_date", days))
    rows = {
        row.silver_ingestion_date: row
        for row in in_days.join(repeated, list(KEY), "left")
        .groupBy("silver_ingestion_date")
        .agg(F.count(F.lit(1)).alias("_rows"), _count(F.col("_repeated")).alias("_dup"))
        .collect()
    }
    return [
        PartitionCheck(
            CHECK_UNIQUE,
            day,
            int(rows[day]._rows) if day in rows else 0,
            int(rows[day]._dup or 0) if day in rows else 0,
        )
        for day in sorted(set(days))
    ]


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


def reconciliation_checks(rows: Sequence[Reconciliation]) -> list[PartitionCheck]:
    """`reconcile`'s figures as one check per date (violations: rows unaccounted for)."""
    return [
        PartitionCheck(
            CHECK_RECONCILED,
            r.day,
            r.bronze,
            abs(r.unaccounted),
            {
                "bronze": r.bronze,
                "silver": r.silver,
                "rejected": r.rejected,
                "duplicates_dropped": r.duplicates,
                "unaccounted": r.unaccounted,
            },
        )
        for r in rows
    ]


def silver_invariants(
    spark: SparkSession,
    bronze_path: str,
    silver_path: str,
    rejected_path: str,
    days: Sequence[date],
) -> list[PartitionCheck]:
    """Every invariant on every partition of `days`, in INVARIANTS order then by date."""
    silver = spark.read.format("delta").load(silver_path)
    checks = [
        *rule_invariants(silver, days),
        *uniqueness(silver, days),
        *reconciliation_checks(reconcile(spark, bronze_path, silver_path, rejected_path, days)),
    ]
    order = list(INVARIANTS)
    return sorted(checks, key=lambda c: (order.index(c.name), c.day))
