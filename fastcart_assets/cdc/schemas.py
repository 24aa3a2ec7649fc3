"""Change-data-capture schemas (SPEC.md §10), written once: the Debezium envelope as Bronze keeps
it, and the two Silver tables built from it.

A change event's value is Debezium's envelope `{"before", "after", "source", "op", "ts_ms"}`;
`before` and `after` are rows of the orders table with timestamps as ISO-8601 strings (what
Debezium sends for `timestamptz` columns) and `total` as a JSON number (the connector's
`decimal.handling.mode=double`). The message key is `{"order_id": …}`.
"""

from __future__ import annotations

from pyspark.sql.types import (
    BooleanType,
    DateType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from fastcart_assets.schemas import INGESTION_COLUMNS, KAFKA_COLUMNS

CDC_OPS = ("c", "u", "d", "r")  # create, update, delete, read (snapshot)
DELETE = "d"

# A row of the orders table as the envelope carries it (`before` / `after`).
ORDER_ROW = StructType(
    [
        StructField("order_id", StringType()),
        StructField("customer_id", StringType()),
        StructField("customer_email", StringType()),
        StructField("product_id", StringType()),
        StructField("quantity", IntegerType()),
        StructField("total", DoubleType()),
        StructField("payment_method", StringType()),
        StructField("status", StringType()),
        StructField("shipping_state", StringType()),
        StructField("created_at", StringType()),
        StructField("updated_at", StringType()),
    ]
)
ORDER_ROW_FIELDS = tuple(ORDER_ROW.fieldNames())
ROW_TIMESTAMPS = ("created_at", "updated_at")

# The envelope's `source` block: the fields SPEC.md §10 names (Debezium sends a few more, such
# as `version`, `connector`, `sequence` and `xmin`; they stay in `_raw`).
CDC_SOURCE = StructType(
    [
        StructField("lsn", LongType()),
        StructField("txId", LongType()),
        StructField("ts_ms", LongType()),
        StructField("db", StringType()),
        StructField("schema", StringType()),
        StructField("table", StringType()),
        StructField("snapshot", StringType()),
    ]
)

ENVELOPE = StructType(
    [
        StructField("before", ORDER_ROW),
        StructField("after", ORDER_ROW),
        StructField("source", CDC_SOURCE),
        StructField("op", StringType()),
        StructField("ts_ms", LongType()),
    ]
)

# Bronze: the envelope typed (a value of another type is null there and stays in `_raw`), the
# key's order_id when the key is Debezium's JSON key, the value's text `_raw` (null for a
# tombstone), then the Kafka and ingestion columns every Bronze table has (schemas.py): the
# shared Bronze ingestion writes it (bronze.ingest, with cdc.parse.ORDER_CHANGES).
BRONZE_CDC_SCHEMA = StructType(
    [
        *ENVELOPE.fields,
        StructField("key_order_id", StringType()),
        StructField("_raw", StringType()),
        *KAFKA_COLUMNS.fields,
        *INGESTION_COLUMNS.fields,
    ]
)
BRONZE_CDC_PARTITION_COLUMNS = ("ingestion_date",)

# A row of the orders table as Silver types it.
SILVER_ORDER_COLUMNS = StructType(
    [
        StructField("order_id", StringType(), nullable=False),
        *[
            StructField(f.name, TimestampType() if f.name in ROW_TIMESTAMPS else f.dataType)
            for f in ORDER_ROW.fields
            if f.name != "order_id"
        ],
    ]
)
# What each version records about the change that made it.
CHANGE_COLUMNS = StructType(
    [
        StructField("op", StringType(), nullable=False),
        StructField("lsn", LongType(), nullable=False),
        StructField("tx_id", LongType()),
        StructField("valid_from", TimestampType(), nullable=False),  # source.ts_ms
    ]
)

# SCD type 1: one row per live order, its latest change.
ORDERS_CURRENT_SCHEMA = StructType([*SILVER_ORDER_COLUMNS.fields, *CHANGE_COLUMNS.fields])

# SCD type 2: one row per version (key, lsn). A delete is a version of its own whose interval is
# empty (valid_to = valid_from): it closes the version before it, and a change older than the
# delete that arrives later still finds its place. The Kafka coordinates are those of the record
# the version came from; `ingestion_date` is that record's Bronze partition.
ORDERS_HISTORY_SCHEMA = StructType(
    [
        *SILVER_ORDER_COLUMNS.fields,
        *CHANGE_COLUMNS.fields,
        StructField("valid_to", TimestampType()),
        StructField("is_current", BooleanType(), nullable=False),
        StructField("kafka_topic", StringType(), nullable=False),
        StructField("kafka_partition", IntegerType(), nullable=False),
        StructField("kafka_offset", LongType(), nullable=False),
        StructField("ingestion_date", DateType(), nullable=False),
    ]
)
# Both Silver tables are keyed by order_id and read by key, not by date: not partitioned.
ORDERS_CURRENT_PARTITION_COLUMNS: tuple[str, ...] = ()
ORDERS_HISTORY_PARTITION_COLUMNS: tuple[str, ...] = ()
