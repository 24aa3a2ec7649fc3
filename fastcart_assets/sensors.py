"""The sensors. Kafka -> Bronze when the topic holds messages Bronze lacks, recording each tick
what it saw (the topic's observation, Bronze caught up: quality.freshness); Silver -> Gold as
the planner decides. The Silver automation condition lives in definitions.py."""

import dagster as dg

from fastcart_assets import progress
from fastcart_assets.bronze.assets import BRONZE_KEY
from fastcart_assets.delta import TableUnreadable, check_readable, retention_applied
from fastcart_assets.kafka.topics import KafkaUnavailable, TopicError
from fastcart_assets.partitions import FIRST_DATE, partition_key, today_utc
from fastcart_assets.quality.freshness import (
    caught_up_materialization,
    kafka_observation,
    read_kafka_lag,
)
from fastcart_assets.resources.kafka import KafkaResource
from fastcart_assets.resources.lake import LakeResource
from fastcart_assets.tables import BRONZE, SILVER, gold_asset_keys

# Kafka look-ups must end well before Dagster's sensor tick limit (60 s by default).
SENSOR_KAFKA_TIMEOUT_S = 5.0


def kafka_sensor(interval_s: int) -> dg.SensorDefinition:
    """The Kafka sensor, ticking every `interval_s` seconds (FASTCART_SENSOR_INTERVAL_S)."""
    return dg.sensor(
        name="kafka_new_data_sensor",
        asset_selection=dg.AssetSelection.assets(BRONZE_KEY),
        minimum_interval_seconds=interval_s,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Requests a Bronze run for today's partition when Kafka has messages Bronze "
        "lacks; observes the topic (lag, age of the oldest unread message) every tick.",
    )(kafka_new_data)


def kafka_new_data(context: dg.SensorEvaluationContext, kafka: KafkaResource, lake: LakeResource):
    """Compare the topic with Bronze; request one run per new batch; report what it saw."""
    kafka = kafka.model_copy(update={"request_timeout_s": SENSOR_KAFKA_TIMEOUT_S})
    try:
        check_readable(lake.table_path(BRONZE.path))
        lag = read_kafka_lag(kafka, lake)
    except (KafkaUnavailable, TopicError) as exc:
        return dg.SkipReason(f"Kafka not available: {exc}")
    except TableUnreadable as exc:
        return dg.SkipReason(f"Bronze cannot be read: {exc}")
    events = [kafka_observation(lag)]
    if lag.caught_up:
        if any(lag.ends.values()):  # an empty topic says nothing about Bronze
            events.append(caught_up_materialization(lag, BRONZE_KEY))
        return dg.SensorResult(
            skip_reason=f"no new messages in {kafka.topic}: Bronze is at "
            f"{dict(sorted(lag.position.items()))}, topic ends at {dict(sorted(lag.ends.items()))}",
            asset_events=events,
        )
    run_key = f"{kafka.topic}:" + ",".join(f"{p}={lag.ends[p]}" for p in sorted(lag.ends))
    context.log.info(
        "new messages per partition: %s (oldest unread %.0f s old)",
        lag.behind,
        lag.oldest_unread_age_s,
    )
    request = dg.RunRequest(
        run_key=run_key,
        partition_key=partition_key(today_utc()),
        asset_selection=[BRONZE_KEY],
        tags={"fastcart/trigger": "kafka_sensor", "fastcart/layer": "bronze"},
    )
    return dg.SensorResult(run_requests=[request], asset_events=events)


@dg.sensor(
    name="silver_touched_dates_sensor",
    asset_selection=dg.AssetSelection.groups(*progress.GOLD_GROUPS),
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests the Gold partitions Silver's materializations touched (late data "
    "included) and the customer snapshots from the earliest of them through today, as the "
    "planner decides (the same plan `fastcart run` follows).",
)
def silver_touched_dates_sensor(context: dg.SensorEvaluationContext, lake: LakeResource):
    """Gold for the dates Silver touched since Gold last caught up; snapshots through today."""
    requests, waiting = [], []
    expired = retention_applied(lake.table_path(SILVER.path))
    for plan in progress.gold_plans(context.instance, FIRST_DATE, today_utc(), expired):
        waiting += [f"{b.partition} ({b.reason})" for b in plan.blocked]
        if progress.gold_in_progress(context.instance, plan.group):
            continue  # its plan already runs; look again when it has finished
        for part, (first, last) in enumerate(plan.ranges):
            requests.append(
                dg.RunRequest(
                    run_key=f"gold-{plan.group}-{plan.through}-{part + 1}of{len(plan.ranges)}",
                    asset_selection=gold_asset_keys(plan.group),
                    partition_key=partition_key(first) if first == last else None,
                    tags=progress.gold_run_tags(plan, part, trigger="silver_touched_dates"),
                )
            )
    if waiting:
        context.log.warning("Gold waits for Silver partitions: %s", "; ".join(sorted(set(waiting))))
    if not requests:
        return dg.SkipReason("Gold is up to date with Silver")
    return requests
