"""Event and table schemas, written once and imported everywhere (docs are generated from them).

Bronze keeps the seed's event schema (SPEC.md §4-5) plus `_raw`, the Kafka record's coordinates
and metadata; Silver types and flattens it (§6) and carries `BRONZE_LINEAGE_COLUMNS`; the
rejected table keeps those Bronze columns plus the reasons. The Arrow schema of a Bronze batch
is derived from `BRONZE_SCHEMA` (`bronze.records.arrow_schema`).
"""

from __future__ import annotations

from pyspark.sql.types import (
    ArrayType,
    BinaryType,
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

ORDER_STATUSES = ("pending", "confirmed", "processing", "shipped", "cancelled")
ADDRESS_FIELDS = ("street", "city", "state", "zip_code", "country")

SHIPPING_ADDRESS = StructType([StructField(name, StringType()) for name in ADDRESS_FIELDS])

# The payload of one order event, as the seed's Bronze schema types it.
EVENT_SCHEMA = StructType(
    [
        StructField("order_id", StringType()),
        StructField("timestamp", StringType()),
        StructField("product_id", StringType()),
        StructField("product_name", StringType()),
        StructField("quantity", IntegerType()),
        StructField("price", DoubleType()),
        StructField("total", DoubleType()),
        StructField("customer_id", StringType()),
        StructField("customer_email", StringType()),
        StructField("payment_method", StringType()),
        StructField("shipping_address", SHIPPING_ADDRESS),
        StructField("status", StringType()),
        StructField("cancellation_reason", StringType()),
    ]
)
EVENT_FIELDS = tuple(field.name for field in EVENT_SCHEMA.fields)

KAFKA_COORDINATES = StructType(
    [
        StructField("kafka_topic", StringType(), nullable=False),
        StructField("kafka_partition", IntegerType(), nullable=False),
        StructField("kafka_offset", LongType(), nullable=False),
        StructField("kafka_timestamp", TimestampType()),
        StructField("kafka_key", StringType()),
    ]
)

# The rest of a Kafka record, kept by every Bronze table (not carried into Silver): the key's
# exact bytes, the headers in order (duplicates and null values kept), and the topic's
# incarnation — offsets restart when a topic is deleted and recreated, so a record's identity
# is (incarnation, partition, offset); null in rows written before the column existed = 1.
KAFKA_RECORD_METADATA = StructType(
    [
        StructField("kafka_key_bytes", BinaryType()),
        StructField(
            "kafka_headers",
            ArrayType(
                StructType([StructField("key", StringType()), StructField("value", BinaryType())])
            ),
        ),
        StructField("kafka_incarnation", IntegerType()),
    ]
)
KAFKA_COLUMNS = StructType([*KAFKA_COORDINATES.fields, *KAFKA_RECORD_METADATA.fields])

INGESTION_COLUMNS = StructType(
    [
        StructField("ingestion_timestamp", TimestampType(), nullable=False),
        StructField("ingestion_date", DateType(), nullable=False),
    ]
)

# Bronze: payload columns, then `_raw`, the Kafka columns and ingestion metadata. Unknown
# top-level payload fields become string columns at the end of the table (schema evolution),
# and so do columns added after a table was created (writes go by name, not by position).
BRONZE_SCHEMA = StructType(
    [
        *EVENT_SCHEMA.fields,
        StructField("_raw", StringType()),
        *KAFKA_COLUMNS.fields,
        *INGESTION_COLUMNS.fields,
    ]
)
BRONZE_METADATA_COLUMNS = tuple(
    ["_raw", *KAFKA_COLUMNS.fieldNames(), *INGESTION_COLUMNS.fieldNames()]
)
# What Silver carries from a Bronze row (the rest of the Kafka record stays in Bronze).
BRONZE_LINEAGE_COLUMNS = tuple(
    ["_raw", *KAFKA_COORDINATES.fieldNames(), *INGESTION_COLUMNS.fieldNames()]
)

# Personal data of an order event (docs/SPEC.md §9): `fastcart forget` erases these and `_raw`.
PERSONAL_FIELDS = ("customer_id", "customer_email", "shipping_address")
# What an erased Bronze row keeps: the order's other facts, the Kafka record's identity (its
# key is the order id, SPEC.md §4) and the ingestion columns. Headers are blanked (a producer
# may put anything there), and so are `_raw` and every evolved payload column.
BRONZE_KEPT_ON_ERASURE = (
    *(name for name in EVENT_FIELDS if name not in PERSONAL_FIELDS),
    *KAFKA_COORDINATES.fieldNames(),
    "kafka_key_bytes",
    "kafka_incarnation",
    *INGESTION_COLUMNS.fieldNames(),
)

SILVER_SCHEMA = StructType(
    [
        StructField("order_id", StringType(), nullable=False),
        StructField("timestamp", TimestampType(), nullable=False),
        StructField("product_id", StringType()),
        StructField("product_name", StringType()),
        StructField("quantity", IntegerType()),
        StructField("price", DoubleType()),
        StructField("total", DoubleType(), nullable=False),
        StructField("customer_id", StringType(), nullable=False),
        StructField("customer_email", StringType()),
        StructField("payment_method", StringType()),
        *[StructField(f"shipping_{name}", StringType()) for name in ADDRESS_FIELDS],
        StructField("status", StringType()),
        StructField("cancellation_reason", StringType()),
        StructField("kafka_topic", StringType(), nullable=False),
        StructField("kafka_partition", IntegerType(), nullable=False),
        StructField("kafka_offset", LongType(), nullable=False),
        *INGESTION_COLUMNS.fields,
        StructField("data_quality_score", BooleanType(), nullable=False),
        StructField("dq_failures", ArrayType(StringType()), nullable=False),
        StructField("silver_ingestion_timestamp", TimestampType(), nullable=False),
        StructField("silver_ingestion_date", DateType(), nullable=False),
    ]
)
SILVER_PARTITION_COLUMNS = ("silver_ingestion_date", "status")

SILVER_REJECTED_SCHEMA = StructType(
    [
        *EVENT_SCHEMA.fields,
        StructField("_raw", StringType()),
        *KAFKA_COORDINATES.fields,
        *INGESTION_COLUMNS.fields,
        StructField("rejection_reasons", ArrayType(StringType()), False),
        StructField("rejected_at", TimestampType(), nullable=False),
        StructField("silver_ingestion_date", DateType(), nullable=False),
    ]
)
SILVER_REJECTED_PARTITION_COLUMNS = ("silver_ingestion_date",)
