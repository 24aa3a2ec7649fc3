"""Silver never holds an erased record (docs/ARCHITECTURE.md "Forgetting a customer").

A Bronze row that `fastcart forget` blanked is rejected for `erased` (silver/rules.py); the row
Silver had kept from it, if any, is deleted here, and the Gold dates it fed are reported as
touched (its event date and its order's creation date), so Gold is recomputed without it.
The Silver step calls this for the records of the partitions it processes; `fastcart forget`
for records whose Bronze row is gone (retention keeps Silver longer than Bronze).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fastcart_assets.delta import dates_predicate, merge_into, table_exists
from fastcart_assets.scratch import stored
from fastcart_assets.silver.transforms import COORDINATES, in_dates, touched_by_partition

REMOVED = "removed"  # the `_action` of a removed row, for `touched_by_partition`


def remove_erased(
    spark: SparkSession,
    silver_path: str,
    erased: DataFrame,
    dates: Sequence[date],
    scratch: str,
) -> tuple[int, dict[date, list[date]]]:
    """Delete the Silver rows of partitions `dates` whose record (COORDINATES) is in `erased`.

    The caller holds Silver's writer lock. Returns the rows deleted and, per Silver partition,
    the Gold dates they touched (computed before the delete: a removed pending event dates its
    order's creation). The MERGE's text holds column names and computed dates only.
    """
    if not dates or not table_exists(silver_path):
        return 0, {}
    silver = spark.read.format("delta").load(silver_path)
    doomed = silver.where(in_dates("silver_ingestion_date", dates)).join(
        erased.select(*COORDINATES).distinct(), list(COORDINATES), "left_semi"
    )
    doomed = stored(doomed, scratch)
    removed = doomed.count()
    if not removed:
        return 0, {}
    touched = touched_by_partition(silver, doomed.withColumn("_action", F.lit(REMOVED)))
    on = " AND ".join(f"t.{c} = s.{c}" for c in COORDINATES)
    on += " AND " + dates_predicate("t.silver_ingestion_date", dates)
    merge_into(spark, silver_path, doomed.select(*COORDINATES), f"ON {on} WHEN MATCHED THEN DELETE")
    return removed, touched
