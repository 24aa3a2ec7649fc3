"""Pure Silver transforms: type Bronze rows, split them by the rules, pick one row per key."""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from fastcart_assets.schemas import (
    ADDRESS_FIELDS,
    EVENT_SCHEMA,
    SILVER_REJECTED_SCHEMA,
    SILVER_SCHEMA,
)
from fastcart_assets.silver.rules import HARD_RULES, SOFT_RULES, failed_rules

# ISO-8601 date AND time; seconds, fraction and offset optional. A bare date does not match.
ISO_DATETIME = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?"
    r"(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)?$"
)
STRING_FIELDS = tuple(f.name for f in EVENT_SCHEMA.fields if f.dataType.typeName() == "string")
# The row that wins a duplicate key: latest ingested, then the higher Kafka coordinates.
WINNER_ORDER = ("ingestion_timestamp", "kafka_partition", "kafka_offset")
KEY = ("order_id", "timestamp")
_ORIGINAL = "_bronze_"


def _blank_to_null(column: Column) -> Column:
    """A string that is empty or only spaces counts as missing."""
    return F.when(F.trim(column) != "", column)


def parse_event_time(raw: Column) -> Column:
    """The instant of an ISO-8601 date-and-time string (no offset = UTC), else null."""
    text = F.trim(raw)
    normalized = F.upper(F.regexp_replace(text, ",", "."))
    return F.when(text.rlike(ISO_DATETIME), normalized.try_cast("timestamp"))


def typed_events(bronze: DataFrame) -> DataFrame:
    """Bronze rows ready for the rules: blank strings null (originals kept aside),
    `event_time` parsed and `payload_ok` (the message is a JSON object) decided."""
    originals = {f"{_ORIGINAL}{name}": F.col(name) for name in STRING_FIELDS}
    cleaned = {name: _blank_to_null(F.col(name)) for name in STRING_FIELDS}
    derived = {
        "payload_ok": F.coalesce(
            F.from_json(F.col("_raw"), "map<string,string>").isNotNull(), F.lit(False)
        ),
        "event_time": parse_event_time(F.col("timestamp")),
    }
    return bronze.withColumns(originals).withColumns(cleaned).withColumns(derived)


def classify(typed: DataFrame) -> DataFrame:
    """Add `rejection_reasons` (failed hard rules) and `dq_failures` (failed soft rules)."""
    return typed.withColumns(
        {"rejection_reasons": failed_rules(HARD_RULES), "dq_failures": failed_rules(SOFT_RULES)}
    )


def rejected_rows(classified: DataFrame, now: datetime) -> DataFrame:
    """Rows failing any hard rule: Bronze's fields as they were, plus every reason.

    `silver_ingestion_date` is the Bronze partition the row came from.
    """
    columns = []
    for name in SILVER_REJECTED_SCHEMA.fieldNames():
        if name in STRING_FIELDS:
            columns.append(F.col(f"{_ORIGINAL}{name}").alias(name))
        elif name == "rejected_at":
            columns.append(F.lit(now).cast("timestamp").alias(name))
        elif name == "silver_ingestion_date":
            columns.append(F.col("ingestion_date").alias(name))
        else:
            columns.append(F.col(name))
    return classified.where(F.size("rejection_reasons") > 0).select(*columns)


def silver_rows(classified: DataFrame, now: datetime) -> DataFrame:
    """Rows passing every hard rule, typed and flattened to SILVER_SCHEMA (not deduplicated)."""
    values = {
        "timestamp": F.col("event_time"),
        "data_quality_score": F.size("dq_failures") == 0,
        "silver_ingestion_timestamp": F.lit(now).cast("timestamp"),
        "silver_ingestion_date": F.col("ingestion_date"),
        **{
            f"shipping_{part}": _blank_to_null(F.col(f"shipping_address.{part}"))
            for part in ADDRESS_FIELDS
        },
    }
    passed = classified.where(F.size("rejection_reasons") == 0)
    return passed.select(
        *[
            values.get(f.name, F.col(f.name)).cast(f.dataType).alias(f.name)
            for f in SILVER_SCHEMA.fields
        ]
    )


def newest_per_key(rows: DataFrame) -> DataFrame:
    """One row per (order_id, timestamp): the latest ingested (ties: higher partition, offset)."""
    window = Window.partitionBy(*KEY).orderBy(*[F.col(c).desc() for c in WINNER_ORDER])
    return rows.withColumn("_rank", F.row_number().over(window)).where("_rank = 1").drop("_rank")


def newer_than(source: str, target: str) -> str:
    """SQL condition: row `source` wins over row `target` of the same key."""
    a, b, c = WINNER_ORDER
    return (
        f"({source}.{a} > {target}.{a} OR ({source}.{a} = {target}.{a} AND "
        f"({source}.{b} > {target}.{b} OR ({source}.{b} = {target}.{b} AND "
        f"{source}.{c} > {target}.{c}))))"
    )


def rule_view_of_silver(silver: DataFrame) -> DataFrame:
    """Silver rows in the shape the rules read, so the checks can count leaked violations.

    Silver keeps no `_raw`: a row counts as a JSON object when any payload field is set.
    """
    payload = [F.col(c).isNotNull() for c in ("order_id", "customer_id", "total", "status")]
    any_set = payload[0]
    for condition in payload[1:]:
        any_set = any_set | condition
    return silver.withColumns({"event_time": F.col("timestamp"), "payload_ok": any_set})
