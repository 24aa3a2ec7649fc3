"""The sensors: Kafka -> Bronze when the topic holds messages Bronze lacks; Silver -> Gold as the
planner decides (the Silver automation condition lives in definitions.py)."""

import dagster as dg

from fastcart_assets import progress
from fastcart_assets.bronze.assets import BRONZE_KEY
from fastcart_assets.bronze.position import bronze_next_offsets
from fastcart_assets.delta import TableUnreadable, check_readable
from fastcart_assets.kafka.topics import (
    KafkaUnavailable,
    TopicError,
    closing_consumer,
    partitions_of,
    watermarks,
)
from fastcart_assets.partitions import FIRST_DATE, partition_key, today_utc
from fastcart_assets.resources.kafka import KafkaResource
from fastcart_assets.resources.lake import LakeResource
from fastcart_assets.tables import BRONZE, gold_asset_keys

# Kafka look-ups must end well before Dagster's sensor tick limit (60 s by default).
SENSOR_KAFKA_TIMEOUT_S = 5.0


def new_data_by_partition(kafka: KafkaResource, lake: LakeResource) -> tuple[dict, dict]:
    """(topic end offsets, Bronze next offsets) per Kafka partition."""
    kafka = kafka.model_copy(update={"request_timeout_s": SENSOR_KAFKA_TIMEOUT_S})
    partitions = partitions_of(kafka, kafka.topic)
    with closing_consumer(kafka.consumer("fastcart-sensor")) as consumer:
        ends = {p: m.high for p, m in watermarks(consumer, kafka, kafka.topic, partitions).items()}
    position = bronze_next_offsets(lake.table_path(BRONZE.path), kafka.topic)
    return ends, position


def kafka_sensor(interval_s: int) -> dg.SensorDefinition:
    """The Kafka sensor, ticking every `interval_s` seconds (FASTCART_SENSOR_INTERVAL_S)."""
    return dg.sensor(
        name="kafka_new_data_sensor",
        asset_selection=dg.AssetSelection.assets(BRONZE_KEY),
        minimum_interval_seconds=interval_s,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Requests a Bronze run for today's partition when Kafka has messages Bronze "
        "lacks.",
    )(kafka_new_data)


def kafka_new_data(context: dg.SensorEvaluationContext, kafka: KafkaResource, lake: LakeResource):
    """Compare the topic's end offsets with Bronze's position; request one run per new batch."""
    try:
        check_readable(lake.table_path(BRONZE.path))
        ends, position = new_data_by_partition(kafka, lake)
    except (KafkaUnavailable, TopicError) as exc:
        return dg.SkipReason(f"Kafka not available: {exc}")
    except TableUnreadable as exc:
        return dg.SkipReason(f"Bronze cannot be read: {exc}")
    behind = {p: end - position.get(p, 0) for p, end in ends.items() if end > position.get(p, 0)}
    if not behind:
        return dg.SkipReason(
            f"no new messages in {kafka.topic}: Bronze is at {dict(sorted(position.items()))}, "
            f"topic ends at {dict(sorted(ends.items()))}"
        )
    run_key = f"{kafka.topic}:" + ",".join(f"{p}={ends[p]}" for p in sorted(ends))
    context.log.info("new messages per partition: %s", behind)
    return dg.RunRequest(
        run_key=run_key,
        partition_key=partition_key(today_utc()),
        asset_selection=[BRONZE_KEY],
        tags={"fastcart/trigger": "kafka_sensor", "fastcart/layer": "bronze"},
    )


@dg.sensor(
    name="silver_touched_dates_sensor",
    asset_selection=dg.AssetSelection.groups(*progress.GOLD_GROUPS),
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests the Gold partitions Silver's materializations touched (late data "
    "included) and the customer snapshots from the earliest of them through today, as the "
    "planner decides (the same plan `fastcart run` follows).",
)
def silver_touched_dates_sensor(context: dg.SensorEvaluationContext):
    """Gold for the dates Silver touched since Gold last caught up; snapshots through today."""
    requests, waiting = [], []
    for plan in progress.gold_plans(context.instance, FIRST_DATE, today_utc()):
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
