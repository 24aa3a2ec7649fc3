"""The sensors. Kafka -> Bronze when a topic holds messages its Bronze table lacks, recording
each tick what it saw (the topic's observation, Bronze caught up: quality.freshness), one sensor
per topic (`KAFKA_FEEDS`); Silver -> Gold as the planner decides. The Silver automation
condition lives in definitions.py."""

from dataclasses import dataclass

import dagster as dg

from fastcart_assets import planner, progress
from fastcart_assets.delta import TableUnreadable, check_readable, retention_applied
from fastcart_assets.kafka.topics import KafkaUnavailable, TopicError
from fastcart_assets.partitions import FIRST_DATE, partition_key, today_utc
from fastcart_assets.quality.freshness import (
    KAFKA_CDC_TOPIC_KEY,
    KAFKA_TOPIC_KEY,
    caught_up_materialization,
    kafka_observation,
    read_kafka_lag,
)
from fastcart_assets.resources.kafka import KafkaResource
from fastcart_assets.resources.lake import LakeResource
from fastcart_assets.tables import (
    BRONZE,
    BRONZE_CDC,
    RULE_METRICS,
    SILVER,
    SILVER_REJECTED,
    TableInfo,
    gold_asset_keys,
)

SILVER_KEYS = [t.asset_key for t in (SILVER, SILVER_REJECTED, RULE_METRICS)]
# Gold follows Silver within seconds (event -> Gold under a minute, docs/SPEC.md §9); a tick
# with nothing to do costs two small instance queries.
GOLD_SENSOR_INTERVAL_S = 10
# Kafka look-ups must end well before Dagster's sensor tick limit (60 s by default).
SENSOR_KAFKA_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class KafkaFeed:
    """A topic the lake ingests: its Kafka resource, its observed asset, its Bronze table."""

    sensor_name: str
    resource_key: str  # the KafkaResource naming the topic (definitions.build_resources)
    topic_key: dg.AssetKey  # the topic as an observed asset (quality.freshness)
    table: TableInfo  # the Bronze table ingesting it; its path is the asset key
    followers: tuple[dg.AssetKey, ...] = ()  # materialized in the same run, after Bronze

    @property
    def bronze_key(self) -> dg.AssetKey:
        return self.table.asset_key


ORDER_EVENTS_FEED = KafkaFeed(
    "kafka_new_data_sensor", "kafka", KAFKA_TOPIC_KEY, BRONZE, tuple(SILVER_KEYS)
)
ORDER_CHANGES_FEED = KafkaFeed("kafka_cdc_sensor", "kafka_cdc", KAFKA_CDC_TOPIC_KEY, BRONZE_CDC)
KAFKA_FEEDS = (ORDER_EVENTS_FEED, ORDER_CHANGES_FEED)


def kafka_sensor(interval_s: int, feed: KafkaFeed = ORDER_EVENTS_FEED) -> dg.SensorDefinition:
    """The Kafka sensor of `feed`, ticking every `interval_s` seconds
    (FASTCART_SENSOR_INTERVAL_S)."""

    def evaluate(context: dg.SensorEvaluationContext, **_resources):
        # The resources come from the context: the daemon provides them there only, while a
        # direct call (tests) also passes them as keywords.
        kafka = getattr(context.resources, feed.resource_key)
        return kafka_new_data(context, kafka, context.resources.lake, feed)

    return dg.sensor(
        name=feed.sensor_name,
        asset_selection=dg.AssetSelection.assets(feed.bronze_key, *feed.followers),
        minimum_interval_seconds=interval_s,
        default_status=dg.DefaultSensorStatus.RUNNING,
        required_resource_keys={feed.resource_key, "lake"},
        description=f"Requests a {feed.table.path} run for today's partition when Kafka has "
        "messages it lacks; observes the topic (lag, age of the oldest unread message) every "
        "tick.",
    )(evaluate)


def kafka_new_data(
    context: dg.SensorEvaluationContext,
    kafka: KafkaResource,
    lake: LakeResource,
    feed: KafkaFeed = ORDER_EVENTS_FEED,
):
    """Compare the topic with its Bronze table; request one run per new batch; report what it
    saw."""
    kafka = kafka.model_copy(update={"request_timeout_s": SENSOR_KAFKA_TIMEOUT_S})
    try:
        check_readable(lake.table_path(feed.table.path))
        lag = read_kafka_lag(kafka, lake, table=feed.table)
    except (KafkaUnavailable, TopicError) as exc:
        return dg.SkipReason(f"Kafka not available: {exc}")
    except TableUnreadable as exc:
        return dg.SkipReason(f"{feed.table.path} cannot be read: {exc}")
    events = [kafka_observation(lag, feed.topic_key)]
    if lag.caught_up:
        if any(lag.ends.values()):  # an empty topic says nothing about Bronze
            events.append(caught_up_materialization(lag, feed.bronze_key))
        return dg.SensorResult(
            skip_reason=f"no new messages in {kafka.topic}: {feed.table.path} is at "
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
        # Assets that follow in the same run (Silver after the order events' Bronze): one
        # process start less between an event and Gold.
        asset_selection=[feed.bronze_key, *feed.followers],
        tags={"fastcart/trigger": "kafka_sensor", "fastcart/layer": "bronze"},
    )
    return dg.SensorResult(run_requests=[request], asset_events=events)


@dg.sensor(
    name="silver_touched_dates_sensor",
    asset_selection=dg.AssetSelection.groups(*progress.GOLD_GROUPS),
    minimum_interval_seconds=GOLD_SENSOR_INTERVAL_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests the Gold partitions Silver's materializations touched (late data "
    "included) and the customer snapshots from the earliest of them through today, as the "
    "planner decides (the same plan `fastcart run` follows).",
)
def silver_touched_dates_sensor(context: dg.SensorEvaluationContext, lake: LakeResource):
    """Gold for the dates Silver touched since Gold last caught up; snapshots through today."""
    expired = retention_applied(lake.table_path(SILVER.path))
    plans = progress.gold_plans(context.instance, FIRST_DATE, today_utc(), expired)
    waiting = [f"{b.partition} ({b.reason})" for plan in plans for b in plan.blocked]
    # A group whose plan already runs waits for it to finish (its progress is not yet recorded).
    plans = [p for p in plans if not progress.gold_in_progress(context.instance, p.group)]
    requests = [
        dg.RunRequest(
            run_key="gold-" + "-".join(f"{g}.{t}.{n}of{m}" for g, t, n, m in run.plan_parts),
            asset_selection=[key for group in run.groups for key in gold_asset_keys(group)],
            partition_key=partition_key(run.first) if run.first == run.last else None,
            tags=progress.gold_run_tags(run, trigger="silver_touched_dates"),
        )
        for run in planner.gold_runs(plans)
    ]
    if waiting:
        context.log.warning("Gold waits for Silver partitions: %s", "; ".join(sorted(set(waiting))))
    if not requests:
        return dg.SkipReason("Gold is up to date with Silver")
    return requests
