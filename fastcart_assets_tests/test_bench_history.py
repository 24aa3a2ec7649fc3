"""The benchmark's history series measures a real catch-up on a lake with real history.

Only what the series builds and times is checked here, never a duration: the figures are
`make bench`'s (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from fastcart_assets.bench_history import _build_history, history_series
from fastcart_assets.tables import BRONZE, SILVER


@pytest.mark.slow
def test_history_days_land_on_their_own_dates_and_the_catch_up_runs_every_layer(
    spark, settings, kafka
):
    from fastcart_assets.kafka.topics import create_topic

    create_topic(kafka, kafka.topic, 3)
    produced = _build_history(spark, kafka, settings, days=3, day_events=400)

    bronze = spark.read.format("delta").load(settings.table_path(BRONZE.path))
    assert bronze.count() == produced == 1_200
    per_day = bronze.groupBy("ingestion_date").count().collect()
    assert len(per_day) == 3 and {r["count"] for r in per_day} == {400}
    silver = spark.read.format("delta").load(settings.table_path(SILVER.path))
    assert {r[0] for r in silver.select("silver_ingestion_date").distinct().collect()} == {
        r.ingestion_date for r in per_day
    }
    assert silver.where(F.col("data_quality_score")).count() > 1_000

    points = history_series(lambda _: None, days_list=(0, 2), day_events=300, batch_events=120)
    assert [p.days for p in points] == [0, 2]
    assert [p.history_events for p in points] == [0, 600]
    assert points[0].ratio == 1.0 and points[1].ratio is not None
    for point in points:
        # Gold's groups share one run when they recompute the same dates (all of them today).
        assert "bronze + silver" in point.layers_s
        gold = [name for name in point.layers_s if name.startswith("gold ")]
        assert any("sales_performance" in name for name in gold), point.layers_s
        assert any("customer_analytics" in name for name in gold), point.layers_s
        assert point.catch_up_s > 0
