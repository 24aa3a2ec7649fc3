"""Build step of docker/spark-apache.Dockerfile: resolve Delta and S3A with Spark's own resolver
(the same one `--packages` uses) into /opt/ivy/jars, so the server starts without a download."""

from pyspark.sql import SparkSession

PACKAGES = "io.delta:delta-spark_4.2_2.13:4.4.1,org.apache.hadoop:hadoop-aws:3.5.0"

session = (
    SparkSession.builder.master("local[1]")
    .config("spark.api.mode", "classic")
    .config("spark.jars.packages", PACKAGES)
    .config("spark.jars.ivy", "/opt/ivy")
    .getOrCreate()
)
session.stop()
