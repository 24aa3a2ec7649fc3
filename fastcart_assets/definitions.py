"""The FastCart code location: every asset, check, sensor and resource in one Definitions."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from fastcart_assets.bronze.assets import bronze_ecommerce_sales
from fastcart_assets.cdc.assets import bronze_orders_cdc, silver_orders_cdc
from fastcart_assets.gold.assets import gold_customer_analytics, gold_sales_performance
from fastcart_assets.jobs import maintenance_job, maintenance_schedule
from fastcart_assets.quality.freshness import kafka_cdc_topic, kafka_topic
from fastcart_assets.resources.kafka import KafkaResource
from fastcart_assets.resources.lake import LakeResource
from fastcart_assets.resources.quality import QualityResource
from fastcart_assets.resources.spark import SparkResource
from fastcart_assets.runs import abandoned_runs_sensor
from fastcart_assets.sensors import KAFKA_FEEDS, kafka_sensor, silver_touched_dates_sensor
from fastcart_assets.settings import Settings
from fastcart_assets.silver.assets import silver_ecommerce_sales


def build_resources(settings: Settings) -> dict:
    """Resources for `settings`; tests build them for a tmp lake and a test broker. The two
    Kafka resources share the cluster and its security settings; `kafka_cdc` names the CDC
    topic."""
    return {
        "spark": SparkResource(remote=settings.spark_remote),
        "kafka": KafkaResource.from_settings(settings),
        "kafka_cdc": KafkaResource.from_settings(settings, topic=settings.cdc_topic),
        "lake": LakeResource(root=settings.lake_root),
        "quality": QualityResource.from_settings(settings),
    }


# The seed's schedule (Bronze every 5-15 min, Silver 15-30 min, Gold 1-4 h) as freshness.
# Bronze's window measures data lag: the Kafka sensor records a caught-up materialization of
# Bronze on each tick where Bronze holds every message (quality.freshness), so an idle topic
# keeps Bronze fresh. `quality/rule_metrics` is written by the Silver step, as Silver.
FRESHNESS = {
    "bronze": dg.FreshnessPolicy.time_window(
        fail_window=timedelta(minutes=15), warn_window=timedelta(minutes=10)
    ),
    "silver": dg.FreshnessPolicy.time_window(
        fail_window=timedelta(minutes=30), warn_window=timedelta(minutes=20)
    ),
    "gold": dg.FreshnessPolicy.time_window(
        fail_window=timedelta(hours=4), warn_window=timedelta(hours=2)
    ),
}
# Silver follows Bronze partition by partition, never past a failed blocking check. Gold
# follows the dates Silver touched (`silver_touched_dates_sensor`), which partition
# mappings cannot express: a Silver partition touches Gold dates other than its own.
SILVER_AUTOMATION = (
    dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()
)


def _with_policies(spec: dg.AssetSpec) -> dg.AssetSpec:
    layer = "silver" if spec.key.path[0] == "quality" else spec.key.path[0]
    updates = {"freshness_policy": FRESHNESS[layer]}
    if layer == "silver":
        updates["automation_condition"] = SILVER_AUTOMATION
    return spec.replace_attributes(**updates)


all_assets = [
    kafka_topic,  # observed by the Kafka sensor; Bronze reads it
    kafka_cdc_topic,  # observed by the CDC Kafka sensor; Bronze CDC reads it
    *dg.map_asset_specs(
        _with_policies,
        [
            bronze_ecommerce_sales,
            silver_ecommerce_sales,
            gold_sales_performance,
            gold_customer_analytics,
            bronze_orders_cdc,
            silver_orders_cdc,
        ],
    ),
]


def build_definitions(settings: Settings) -> dg.Definitions:
    """The code location for `settings` (the CLI and tests build it for their environment)."""
    return dg.Definitions(
        assets=all_assets,
        jobs=[maintenance_job],
        schedules=[maintenance_schedule],
        sensors=[
            *[kafka_sensor(settings.sensor_interval_s, feed) for feed in KAFKA_FEEDS],
            silver_touched_dates_sensor,
            abandoned_runs_sensor(settings.sensor_interval_s),
            dg.AutomationConditionSensorDefinition(
                "silver_automation",
                target=dg.AssetSelection.groups("silver"),
                default_status=dg.DefaultSensorStatus.RUNNING,
            ),
        ],
        resources=build_resources(settings),
        # One process per run: the embedded Spark engine starts once per run, not per asset.
        executor=dg.in_process_executor,
    )


defs = build_definitions(Settings.from_env())
