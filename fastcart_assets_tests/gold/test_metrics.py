"""Gold's shared expressions: exact sums and half-up cents."""

from __future__ import annotations

from pyspark.sql import functions as F

from fastcart_assets.gold.metrics import cents, exact_avg, exact_sum


def test_exact_sum_is_the_exactly_rounded_sum_and_keeps_huge_values(spark):
    values = [0.1] * 10 + [0.2, None]
    frame = spark.createDataFrame([(v,) for v in values], "x double").repartition(4)
    row = frame.agg(exact_sum(F.col("x")).alias("s"), exact_avg(F.col("x")).alias("a")).first()
    assert row.s == 1.2  # a double sum gives 1.2000000000000002 or 1.1999999999999997
    assert row.a == 1.2 / 11
    huge = spark.createDataFrame([(1e300,), (1.5,)], "x double")
    assert huge.agg(exact_sum(F.col("x"))).first()[0] == 1e300
    nothing = spark.createDataFrame([(None,)], "x double")
    assert nothing.agg(exact_sum(F.col("x")), exact_avg(F.col("x"))).first() == (None, None)


def test_cents_round_half_up_on_the_decimal_value(spark):
    frame = spark.createDataFrame([(1.005,), (2.675,), (-1.005,), (500.004999,)], "x double")
    assert [float(r[0]) for r in frame.select(cents(F.col("x"))).collect()] == [
        1.01,
        2.68,
        -1.01,
        500.0,
    ]
