"""The code location loads, and the Spark resource round-trips a partitioned Delta table."""

import dagster as dg
from pyspark.sql import functions as F

from fastcart_assets.definitions import defs
from fastcart_assets.resources.spark import SparkResource


def test_definitions_load_with_every_asset_and_sensor():
    repository = defs.get_repository_def()
    keys = {key.to_user_string() for key in repository.asset_graph.get_all_asset_keys()}
    assert "bronze/ecommerce_sales" in keys
    assert defs.get_sensor_def("kafka_new_data_sensor") is not None


def test_delta_round_trip_through_the_spark_resource_in_materialize(tmp_path):
    path = str(tmp_path / "table")

    @dg.asset(partitions_def=dg.StaticPartitionsDefinition(["2025-01-01", "2025-01-02"]))
    def numbers(context: dg.AssetExecutionContext, spark: SparkResource) -> None:
        session = spark.spark_session
        frame = session.range(10).select(
            F.col("id"), F.lit(context.partition_key).cast("date").alias("day")
        )
        writer = frame.write.format("delta").partitionBy("day")
        if context.partition_key == "2025-01-01":
            writer.mode("overwrite").save(path)
        else:
            writer.mode("append").save(path)

    for key in ("2025-01-01", "2025-01-02"):
        assert dg.materialize(
            [numbers], partition_key=key, resources={"spark": SparkResource()}
        ).success
    session = SparkResource().spark_session
    table = session.read.format("delta").load(path)
    assert table.count() == 20
    assert sorted(str(r.day) for r in table.select("day").distinct().collect()) == [
        "2025-01-01",
        "2025-01-02",
    ]
