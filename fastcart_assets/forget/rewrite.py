"""Rewrite the tables that hold a customer's data (Spark; each under its writer lock).

Partitions are rewritten whole with `replaceWhere` on computed dates (the rows are read,
blanked with the DataFrame API, staged as scratch Parquet and written back), and rows are
deleted with a MERGE whose source is a temporary view: no value read from the data, nor the
customer id, is ever part of SQL text. Every function is idempotent: what is already blank or
gone is not rewritten again, so a forget that stopped half-way is completed by the next one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import reduce

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from fastcart_assets.cdc.schemas import ORDER_ROW
from fastcart_assets.delta import dates_predicate, merge_into, table_exists
from fastcart_assets.erasures import ERASED, blanked, erased_records, with_erased_flag
from fastcart_assets.locks import WRITER_WAIT_S, table_lock
from fastcart_assets.schemas import (
    EVENT_FIELDS,
    INGESTION_COLUMNS,
    KAFKA_COORDINATES,
    PERSONAL_FIELDS,
)
from fastcart_assets.scratch import stored
from fastcart_assets.silver.rules import ERASED_RULE
from fastcart_assets.silver.transforms import in_dates

# What an erased row of the rejected table keeps (its reasons become [`erased`]).
REJECTED_KEPT = (
    *(name for name in EVENT_FIELDS if name not in PERSONAL_FIELDS),
    *KAFKA_COORDINATES.fieldNames(),
    *INGESTION_COLUMNS.fieldNames(),
    "rejection_reasons",
    "rejected_at",
    "silver_ingestion_date",
)
# Personal fields of an orders-table row in a change envelope (`before`, `after`).
CDC_PERSONAL = ("customer_id", "customer_email", "shipping_state")


def _holding(frame: DataFrame, kept: Sequence[str]) -> Column:
    """TRUE for an erased row that still holds a value in a column it must not keep."""
    values = [F.col(c).isNotNull() for c in frame.columns if c not in kept and c != ERASED]
    return F.col(ERASED) & reduce(lambda a, b: a | b, values, F.lit(False))


def _replace_partitions(
    frame: DataFrame, path: str, column: str, days: Sequence[date], scratch: str
) -> None:
    """Write `frame` (every row of partitions `days`) over those partitions in one commit."""
    staged = stored(frame, scratch)  # the write must not read its own target
    (
        staged.write.format("delta")
        .mode("overwrite")
        .option("replaceWhere", dates_predicate(column, days))
        .partitionBy(column)
        .save(path)
    )


def _counts(frame: DataFrame, condition: Column, column: str) -> dict[date, int]:
    rows = frame.where(condition).groupBy(column).count().collect()
    return {row[0]: int(row[1]) for row in rows}


def blank_bronze(
    spark: SparkSession, path: str, dates: Sequence[date], kept: Sequence[str], scratch: str
) -> dict[date, int]:
    """Blank the erased records of Bronze partitions `dates` that still hold personal data:
    every column but `kept` is set to null. Returns the rows blanked per partition."""
    if not dates or not table_exists(path):
        return {}
    with table_lock(path, wait_s=WRITER_WAIT_S):
        bronze = spark.read.format("delta").load(path).where(in_dates("ingestion_date", dates))
        erased = erased_records(spark, path).where(in_dates("ingestion_date", dates))
        flagged = with_erased_flag(bronze, erased)
        counts = _counts(flagged, _holding(flagged, kept), "ingestion_date")
        if counts:
            days = sorted(counts)
            rows = flagged.where(in_dates("ingestion_date", days))
            rows = blanked(rows, F.col(ERASED), kept).drop(ERASED)
            _replace_partitions(rows, path, "ingestion_date", days, scratch)
        return counts


def anonymise_rejected(
    spark: SparkSession,
    path: str,
    records: DataFrame,
    dates: Sequence[date],
    scratch: str,
) -> int:
    """Blank the rejected rows of `records` in partitions `dates` and give them the one reason
    `erased` (for records whose Bronze row is gone: Silver cannot re-run them)."""
    if not dates or not table_exists(path):
        return 0
    with table_lock(path, wait_s=WRITER_WAIT_S):
        rejected = spark.read.format("delta").load(path)
        rejected = rejected.where(in_dates("silver_ingestion_date", dates))
        flagged = with_erased_flag(rejected, records)
        reasons = F.array(F.lit(ERASED_RULE)).cast("array<string>")
        stale = _holding(flagged, REJECTED_KEPT) | (
            F.col(ERASED) & ~F.col("rejection_reasons").eqNullSafe(reasons)
        )
        counts = _counts(flagged, stale, "silver_ingestion_date")
        if counts:
            days = sorted(counts)
            rows = blanked(
                flagged.where(in_dates("silver_ingestion_date", days)),
                F.col(ERASED),
                REJECTED_KEPT,
            )
            rows = rows.withColumn(
                "rejection_reasons",
                F.when(F.col(ERASED), reasons).otherwise(F.col("rejection_reasons")),
            ).drop(ERASED)
            _replace_partitions(rows, path, "silver_ingestion_date", days, scratch)
        return sum(counts.values())


def _blank_image(column: str) -> Column:
    """A change envelope's row (`before` or `after`) without its personal fields."""
    fields = [
        (
            F.lit(None).cast(f.dataType) if f.name in CDC_PERSONAL else F.col(f"{column}.{f.name}")
        ).alias(f.name)
        for f in ORDER_ROW.fields
    ]
    return F.when(F.col(column).isNotNull(), F.struct(*fields))


def blank_cdc_bronze(
    spark: SparkSession, path: str, dates: Sequence[date], scratch: str
) -> dict[date, int]:
    """Blank the erased change envelopes of Bronze CDC partitions `dates`: `_raw` and the
    personal fields of `before` and `after` (the order's other fields, the change's source
    and the Kafka record stay). Returns the envelopes blanked per partition."""
    if not dates or not table_exists(path):
        return {}
    with table_lock(path, wait_s=WRITER_WAIT_S):
        bronze = spark.read.format("delta").load(path).where(in_dates("ingestion_date", dates))
        flagged = with_erased_flag(bronze, erased_records(spark, path))
        personal = [F.col("_raw").isNotNull()] + [
            F.col(f"{image}.{name}").isNotNull()
            for image in ("before", "after")
            for name in CDC_PERSONAL
        ]
        holding = F.col(ERASED) & reduce(lambda a, b: a | b, personal)
        counts = _counts(flagged, holding, "ingestion_date")
        if counts:
            days = sorted(counts)
            rows = flagged.where(in_dates("ingestion_date", days)).withColumns(
                {
                    "_raw": F.when(~F.col(ERASED), F.col("_raw")),
                    **{
                        image: F.when(F.col(ERASED), _blank_image(image)).otherwise(F.col(image))
                        for image in ("before", "after")
                    },
                }
            )
            _replace_partitions(rows.drop(ERASED), path, "ingestion_date", days, scratch)
        return counts


def delete_rows(
    spark: SparkSession, path: str, doomed: DataFrame, key: Sequence[str], scratch: str
) -> int:
    """Delete the rows of the table at `path` whose `key` matches a row of `doomed`."""
    if not table_exists(path):
        return 0
    with table_lock(path, wait_s=WRITER_WAIT_S):
        keys = stored(doomed.select(*key).distinct(), scratch)
        count = keys.count()
        if count:
            on = " AND ".join(f"t.{c} <=> s.{c}" for c in key)
            merge_into(spark, path, keys, f"ON {on} WHEN MATCHED THEN DELETE")
        return count


def redact_rows(
    spark: SparkSession,
    path: str,
    column: str,
    dates: Sequence[date],
    condition: Column,
    personal: Sequence[str],
    scratch: str,
) -> int:
    """Set the `personal` columns to null in the rows of partitions `dates` (of `column`) that
    match `condition`, keeping every other value (a Gold partition whose input is gone)."""
    if not dates or not table_exists(path):
        return 0
    with table_lock(path, wait_s=WRITER_WAIT_S):
        frame = spark.read.format("delta").load(path).where(in_dates(column, dates))
        frame = frame.withColumn(ERASED, F.coalesce(condition, F.lit(False)))
        counts = _counts(frame, F.col(ERASED), column)
        if counts:
            days = sorted(counts)
            kept = [c for c in frame.columns if c not in personal]
            rows = blanked(frame.where(in_dates(column, days)), F.col(ERASED), kept)
            _replace_partitions(rows.drop(ERASED), path, column, days, scratch)
        return sum(counts.values())
