"""`quality/rule_metrics`: one row per (partition date, rule), replaced when a date is reprocessed.

Written by the Silver step (docs/SPEC.md §8) under the table's writer lock; `fastcart validate`,
`fastcart sql` (view `quality_rule_metrics`) and the dashboard read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    DateType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from fastcart_assets.delta import dates_predicate, ensure_table
from fastcart_assets.locks import WRITER_WAIT_S, table_lock
from fastcart_assets.quality.expectations import ERROR, OK, SEVERITIES, WARN, RuleOutcome
from fastcart_assets.silver.rules import RULES

RULE_METRICS_SCHEMA = StructType(
    [
        StructField("date", DateType(), nullable=False),
        StructField("rule", StringType(), nullable=False),
        StructField("kind", StringType(), nullable=False),
        StructField("rows_checked", LongType(), nullable=False),
        StructField("violations", LongType(), nullable=False),
        StructField("rate", DoubleType(), nullable=False),
        StructField("severity", StringType(), nullable=False),
        StructField("run_id", StringType(), nullable=False),
        StructField("evaluated_at", TimestampType(), nullable=False),
    ]
)
RULE_METRICS_PARTITION_COLUMNS = ("date",)


def write_rule_metrics(
    spark: SparkSession,
    path: str,
    outcomes: Sequence[RuleOutcome],
    days: Sequence[date],
    run_id: str,
    now: datetime,
) -> None:
    """Replace the rows of `days` with `outcomes` (one row per date and rule) evaluated `now`."""
    with table_lock(path, wait_s=WRITER_WAIT_S):
        ensure_table(spark, path, RULE_METRICS_SCHEMA, RULE_METRICS_PARTITION_COLUMNS)
        if not days:
            return
        rows = [
            (o.day, o.rule, o.kind, o.rows_checked, o.violations, o.rate, o.severity, run_id, now)
            for o in outcomes
        ]
        frame = spark.createDataFrame(rows, RULE_METRICS_SCHEMA)
        (
            frame.write.format("delta")
            .mode("overwrite")
            .option("replaceWhere", dates_predicate("date", days))
            .save(path)
        )


@dataclass(frozen=True)
class RuleSummary:
    """One rule over every partition in `quality/rule_metrics` (for `fastcart validate`)."""

    rule: str
    kind: str
    partitions: int
    rows_checked: int
    violations: int
    worst: str  # the highest severity of any partition
    warn_partitions: int
    error_dates: list[date]

    @property
    def rate(self) -> float:
        return self.violations / self.rows_checked if self.rows_checked else 0.0


def summarize(metrics: DataFrame) -> list[RuleSummary]:
    """Per rule: partitions, rows, violations, worst severity and the dates at ERROR."""
    rank = F.array_position(F.array(*[F.lit(s) for s in SEVERITIES]), F.col("severity"))
    rows = (
        metrics.groupBy("rule", "kind")
        .agg(
            F.count(F.lit(1)).alias("partitions"),
            F.sum("rows_checked").alias("rows_checked"),
            F.sum("violations").alias("violations"),
            F.max(rank).alias("worst"),
            F.sum(F.when(F.col("severity") == WARN, 1).otherwise(0)).alias("warn_partitions"),
            F.sort_array(F.collect_list(F.when(F.col("severity") == ERROR, F.col("date")))).alias(
                "error_dates"
            ),
        )
        .collect()
    )
    summaries = [
        RuleSummary(
            rule=row.rule,
            kind=row.kind,
            partitions=int(row.partitions),
            rows_checked=int(row.rows_checked or 0),
            violations=int(row.violations or 0),
            worst=SEVERITIES[int(row.worst) - 1] if row.worst else OK,
            warn_partitions=int(row.warn_partitions or 0),
            error_dates=list(row.error_dates or []),
        )
        for row in rows
    ]
    order = {rule.name: i for i, rule in enumerate(RULES)}
    return sorted(summaries, key=lambda s: (order.get(s.rule, len(order)), s.rule))
