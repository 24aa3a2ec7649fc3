"""Small expressions shared by the Gold tables, following SPEC.md §7 "Conventions"."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F


def share(part: Column, whole: Column) -> Column:
    """part / whole × 100; null when whole is 0."""
    return F.when(whole > 0, part.cast("double") * 100.0 / whole)


def mean(total: Column, count: Column) -> Column:
    """total / count; null when count is 0."""
    return F.when(count > 0, total.cast("double") / count)


def count_if(condition: Column) -> Column:
    return F.sum(F.when(condition, 1).otherwise(0))


def sum_or_zero(column: Column) -> Column:
    return F.coalesce(F.sum(column), F.lit(0))


# Doubles are summed as decimal(38, 9): Spark adds a double column in whatever order its
# partial aggregates arrive, so the last bits of a double sum change from run to run and a
# reprocessed Gold partition would differ from the first one. Decimal addition is exact, so
# the sum is the same in any order (values are kept to 1e-9; larger than EXACT_LIMIT, which
# no real amount is, they are added as doubles).
EXACT = "decimal(38,9)"
EXACT_LIMIT = 1e18


def exact_sum(column: Column) -> Column:
    """Σ column as a double, the same whatever the order of the rows; null when all are null."""
    fits = F.abs(column) < EXACT_LIMIT
    exact = F.sum(F.when(fits, column).cast(EXACT)).cast("double")
    beyond = F.sum(F.when(~fits, column))
    return F.when(
        F.count(column) > 0, F.coalesce(exact, F.lit(0.0)) + F.coalesce(beyond, F.lit(0.0))
    )


def exact_avg(column: Column) -> Column:
    """The mean of column's non-null values, as exact_sum; null when there are none."""
    return mean(exact_sum(column), F.count(column))


def latest(value: str) -> Column:
    """`value` from the latest event (ties: higher order_id); a null there stays null."""
    return F.max_by(F.col(value), F.struct(F.col("timestamp"), F.col("order_id")))


def cents(money: Column) -> Column:
    """`money` rounded half-up to cents, as a decimal, for thresholds and rankings.

    The double goes through decimal(38, 6) first: rounding the double itself rounds its
    binary value (1.005 is 1.00499…, and Sail gives 1.00 where JVM Spark gives 1.01).
    """
    return F.round(money.cast("decimal(38,6)"), 2)


def ranked(frame: DataFrame, group: Sequence[str], order: Sequence[Column], limit: int):
    """Add a 1-based `rank` within `group` by `order` and keep the first `limit` rows."""
    window = Window.partitionBy(*group).orderBy(*order)
    return frame.withColumn("rank", F.row_number().over(window)).where(F.col("rank") <= limit)


def dates_frame(spark: SparkSession, dates: Sequence[date], name: str) -> DataFrame:
    return spark.createDataFrame([(d,) for d in sorted(set(dates))], f"{name} date")
