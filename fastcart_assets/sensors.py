"""The Kafka sensor: request a Bronze run when the topic holds messages Bronze does not, and
record each tick what it saw (the topic's observation, Bronze caught up: quality.freshness)."""

import dagster as dg

from fastcart_assets.bronze.assets import BRONZE_KEY
from fastcart_assets.kafka.topics import KafkaUnavailable, TopicError
from fastcart_assets.partitions import partition_key, today_utc
from fastcart_assets.quality.freshness import (
    caught_up_materialization,
    kafka_observation,
    read_kafka_lag,
)
from fastcart_assets.resources.kafka import KafkaResource
from fastcart_assets.resources.lake import LakeResource

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
        lag = read_kafka_lag(kafka, lake)
    except (KafkaUnavailable, TopicError) as exc:
        return dg.SkipReason(f"Kafka not available: {exc}")
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
    asset_selection=dg.AssetSelection.groups("sales_performance", "customer_analytics"),
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests the Gold partitions a Silver materialization touched (late data "
    "included) and the customer snapshots from the earliest of them through today.",
)
def silver_touched_dates_sensor(context: dg.SensorEvaluationContext):
    """After each successful Silver run: Gold for its touched dates, snapshots through today."""
    from fastcart_assets.gold.assets import gold_run_requests
    from fastcart_assets.silver.assets import SILVER_KEY, TOUCHED_DATES

    after = int(context.cursor) if context.cursor else None
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=SILVER_KEY, after_storage_id=after),
        limit=100,
        ascending=True,
    ).records
    touched: set = set()
    cursor = after
    for record in records:
        run = context.instance.get_run_by_id(record.run_id)
        if run is not None and not run.is_finished:
            break  # its checks are still running: look again next tick
        cursor = record.storage_id
        if run is not None and run.status != dg.DagsterRunStatus.SUCCESS:
            context.log.info(
                "skipping Silver run %s: it did not succeed (failed check?)", record.run_id
            )
            continue
        metadata = record.asset_materialization.metadata
        if TOUCHED_DATES in metadata:
            touched.update(metadata[TOUCHED_DATES].value)
    if cursor != after:
        context.update_cursor(str(cursor))
    if not touched:
        return dg.SkipReason("no new successful Silver materialization with touched dates")
    return gold_run_requests(sorted(touched), run_key_prefix=f"silver-{cursor}")
