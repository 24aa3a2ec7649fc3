"""The Kafka sensor: request a Bronze run when the topic holds messages Bronze does not."""

import dagster as dg

from fastcart_assets.bronze.assets import BRONZE_KEY
from fastcart_assets.bronze.position import bronze_next_offsets
from fastcart_assets.kafka.topics import (
    KafkaUnavailable,
    TopicError,
    closing_consumer,
    partitions_of,
    watermarks,
)
from fastcart_assets.partitions import partition_key, today_utc
from fastcart_assets.resources.kafka import KafkaResource
from fastcart_assets.resources.lake import LakeResource
from fastcart_assets.tables import BRONZE

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
        ends, position = new_data_by_partition(kafka, lake)
    except (KafkaUnavailable, TopicError) as exc:
        return dg.SkipReason(f"Kafka not available: {exc}")
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
