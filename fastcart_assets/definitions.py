"""The FastCart code location: every asset, check, sensor and resource in one Definitions."""

from __future__ import annotations

import dagster as dg

from fastcart_assets.bronze.assets import bronze_ecommerce_sales
from fastcart_assets.gold.assets import gold_customer_analytics, gold_sales_performance
from fastcart_assets.resources.kafka import KafkaResource
from fastcart_assets.resources.lake import LakeResource
from fastcart_assets.resources.spark import SparkResource
from fastcart_assets.sensors import kafka_new_data_sensor
from fastcart_assets.settings import Settings
from fastcart_assets.silver.assets import silver_ecommerce_sales


def build_resources(settings: Settings) -> dict:
    """Resources for `settings`; tests build them for a tmp lake and a test broker."""
    return {
        "spark": SparkResource(remote=settings.spark_remote),
        "kafka": KafkaResource.from_settings(settings),
        "lake": LakeResource(root=settings.lake_root),
    }


all_assets = [
    bronze_ecommerce_sales,
    silver_ecommerce_sales,
    gold_sales_performance,
    gold_customer_analytics,
]


def build_definitions(settings: Settings) -> dg.Definitions:
    """The code location for `settings` (the CLI and tests build it for their environment)."""
    return dg.Definitions(
        assets=all_assets,
        sensors=[kafka_new_data_sensor],
        resources=build_resources(settings),
        # One process per run: the embedded Spark engine starts once per run, not per asset.
        executor=dg.in_process_executor,
    )


defs = build_definitions(Settings.from_env())
