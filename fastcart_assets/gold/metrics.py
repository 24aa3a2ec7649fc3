"""Small expressions shared by the Gold tables, following docs/SPEC.md §7 "Conventions"."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F


def share(part: Column, whole: Column) -> Column:
    """part / whole × 100; null when whole is 0 (or an infinite sum of money: no share of it
    can be told)."""
    return F.when((whole > 0) & (whole < F.lit(float("inf"))), part.cast("double") * 100.0 / whole)


def mean(total: Column, count: Column) -> Column:
    """total / count; null when count is 0."""
    return F.when(count > 0, total.cast("double") / count)


def count_if(condition: Column) -> Column:
    return F.sum(F.when(condition, 1).otherwise(0))


def sum_or_zero(column: Column) -> Column:
    return F.coalesce(F.sum(column), F.lit(0))


# Money (and minutes) are doubles in the tables and summed exactly, so that a partition
# recomputed in any order is bit-identical (Spark adds a double column in whatever order its
# partial aggregates arrive, and the last bits of a double sum depend on that order):
# - values below EXACT_LIMIT in magnitude are added as decimal(38, 9): exact, in any order (a
#   group would need about 1e11 such rows to overflow it);
# - larger values (no real amount is; any double from 2^53 up is a whole number) are added as
#   doubles in ascending order, so the result does not depend on the row order either. Their sum
#   can leave the double range: it is then +/-Infinity, as IEEE arithmetic says.
EXACT = "decimal(38,9)"
EXACT_LIMIT = 1e18


def exact_sum(column: Column) -> Column:
    """Σ column as a double, the same whatever the order of the rows; null when all are null."""
    fits = F.abs(column) < EXACT_LIMIT
    exact = F.sum(F.when(fits, column).cast(EXACT)).cast("double")
    huge = F.array_sort(F.collect_list(F.when(~fits, column)))
    beyond = F.aggregate(huge, F.lit(0.0), lambda total, value: total + value)
    return F.when(F.count(column) > 0, F.coalesce(exact, F.lit(0.0)) + beyond)


def exact_avg(column: Column) -> Column:
    """The mean of column's non-null values, as exact_sum; null when there are none."""
    return mean(exact_sum(column), F.count(column))


def latest(value: str) -> Column:
    """`value` from the latest event (ties: higher order_id); a null there stays null."""
    return F.max_by(F.col(value), F.struct(F.col("timestamp"), F.col("order_id")))


# Below 2^46 (about 7e13) a double holds every cent distinctly, so the amount is rounded
# through a decimal; from there up, distinct doubles are at least 1/64 apart and never round to
# the same cent, so the double itself orders and ties exactly as its cents do.
CENTS_EXACT_BELOW = 2.0**46


def cents(money: Column) -> Column:
    """`money` rounded half-up to cents, as a double: the key for thresholds and rankings.

    It orders and ties any two amounts exactly as their values rounded to cents do, over the
    whole double range. The rounding goes through decimal(38, 6): rounding the double itself
    rounds its binary value (1.005 is 1.00499…, and Sail gives 1.00 where JVM Spark gives 1.01).
    """
    rounded = F.round(money.cast("decimal(38,6)"), 2).cast("double")
    return F.when(F.abs(money) < CENTS_EXACT_BELOW, rounded).otherwise(money)


CENTS_KEY = "_cents"


def with_cents(frame: DataFrame, money: str) -> DataFrame:
    """`frame` with CENTS_KEY = cents(money), to rank by (Sail cannot plan a window ordered by
    the CASE expression itself: "does not satisfy order requirements")."""
    return frame.withColumn(CENTS_KEY, cents(F.col(money)))


def ranked(frame: DataFrame, group: Sequence[str], order: Sequence[Column], limit: int):
    """Add a 1-based `rank` within `group` by `order` and keep the first `limit` rows."""
    window = Window.partitionBy(*group).orderBy(*order)
    return frame.withColumn("rank", F.row_number().over(window)).where(F.col("rank") <= limit)


def dates_frame(spark: SparkSession, dates: Sequence[date], name: str) -> DataFrame:
    return spark.createDataFrame([(d,) for d in sorted(set(dates))], f"{name} date")
