"""The CDC Silver tables' invariants, computed on the tables as they are (SPEC.md §10).

- one current row per live order: no order_id twice in `orders_current`, and no deleted row;
- versions never overlap: per key in lsn order, each version ends no later than the next
  begins, intervals are not negative, and exactly the last non-delete version is open/current;
- the current table equals the history's current versions;
- every envelope of the processed Bronze dates is accounted for: rejected with a reason, a
  tombstone, or a change whose version history holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import reduce

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from fastcart_assets.cdc.rules import count_envelopes
from fastcart_assets.cdc.schemas import DELETE
from fastcart_assets.cdc.transforms import (
    CONTENT_COLUMNS,
    VERSION_KEY,
    WINNER_ORDER,
    classify,
    current_rows,
    usable_changes,
)
from fastcart_assets.scratch import scratch_dir, stored
from fastcart_assets.silver.transforms import in_dates


def _count(condition: Column) -> Column:
    return F.sum(F.when(condition, 1).otherwise(0))


@dataclass(frozen=True)
class CurrentKeys:
    duplicate_rows: int  # rows beyond the first of an order_id
    deleted_rows: int  # rows whose change is a delete


def current_keys(current: DataFrame) -> CurrentKeys:
    """Duplicated and deleted rows in `orders_current` (both must be 0)."""
    row = current.agg(
        (F.count(F.lit(1)) - F.countDistinct("order_id")).alias("duplicates"),
        _count(F.col("op") == DELETE).alias("deleted"),
    ).collect()[0]
    return CurrentKeys(int(row.duplicates or 0), int(row.deleted or 0))


@dataclass(frozen=True)
class Overlaps:
    overlapping: int  # versions beginning before the previous one of their key ends
    negative: int  # versions ending before they begin
    open_not_last: int  # versions without an end that are not their key's last
    wrong_current: int  # versions whose is_current is not (last, not a delete, no end)

    @property
    def total(self) -> int:
        return self.overlapping + self.negative + self.open_not_last + self.wrong_current


def overlaps(history: DataFrame) -> Overlaps:
    """Violations of the SCD 2 intervals in `orders_history` (all must be 0)."""
    window = Window.partitionBy("order_id").orderBy("lsn")
    previous_to = F.lag("valid_to").over(window)
    is_last = F.lead("lsn").over(window).isNull()
    frame = history.select(
        "valid_from",
        "valid_to",
        "is_current",
        "op",
        previous_to.alias("_previous_to"),
        is_last.alias("_is_last"),
    )
    should_be_current = F.col("_is_last") & (F.col("op") != DELETE)
    row = frame.agg(
        _count(F.col("valid_from") < F.col("_previous_to")).alias("overlapping"),
        _count(F.col("valid_to") < F.col("valid_from")).alias("negative"),
        _count(F.col("valid_to").isNull() & ~should_be_current).alias("open_not_last"),
        _count(
            (F.col("is_current") != should_be_current)
            | (F.col("is_current") != F.col("valid_to").isNull())
        ).alias("wrong_current"),
    ).collect()[0]
    return Overlaps(*(int(row[name] or 0) for name in Overlaps.__dataclass_fields__))


@dataclass(frozen=True)
class CurrentMatch:
    missing: int  # current versions in history without their row in orders_current
    extra: int  # rows of orders_current that are not a current version in history


def current_matches_history(current: DataFrame, history: DataFrame) -> CurrentMatch:
    """Compare `orders_current` with the history's current versions, row for row."""
    expected = current_rows(history)
    actual = current.select(*CONTENT_COLUMNS)
    return CurrentMatch(expected.exceptAll(actual).count(), actual.exceptAll(expected).count())


@dataclass(frozen=True)
class Accounting:
    envelopes: int  # Bronze CDC rows of the dates
    tombstones: int
    rejected: int
    rejected_by_reason: dict[str, int]
    in_history: int  # usable changes whose version history holds (from them or a copy)
    redeliveries: int  # of those, changes whose version history holds from another record

    @property
    def unaccounted(self) -> int:
        """Envelopes with no outcome: usable changes whose version is missing (lost)."""
        return self.envelopes - self.tombstones - self.rejected - self.in_history


def account_envelopes(
    bronze: DataFrame, history: DataFrame, dates: Sequence[date], scratch_root: str
) -> Accounting:
    """Give every Bronze CDC envelope of `dates` its outcome against `orders_history`; the
    classified envelopes are kept in scratch Parquet under `scratch_root` while counted."""
    with scratch_dir(scratch_root, "cdc-check") as scratch:
        classified = classify(bronze.where(in_dates("ingestion_date", dates)))
        classified = stored(classified, f"{scratch}/classified")
        counts = count_envelopes(classified)
        changes = usable_changes(classified).select(*VERSION_KEY, *WINNER_ORDER)
        stored_versions = history.select(
            *VERSION_KEY, *[F.col(c).alias(f"_stored_{c}") for c in WINNER_ORDER]
        )
        same_record = reduce(
            lambda a, b: a & b, [F.col(c) == F.col(f"_stored_{c}") for c in WINNER_ORDER]
        )
        row = (
            changes.join(stored_versions, list(VERSION_KEY), "inner")
            .agg(
                F.count(F.lit(1)).alias("in_history"),
                _count(~same_record).alias("redeliveries"),
            )
            .collect()[0]
        )
    return Accounting(
        envelopes=counts.pop("_rows"),
        tombstones=counts.pop("_tombstones"),
        rejected=counts.pop("_rejected"),
        rejected_by_reason={reason: n for reason, n in counts.items() if n},
        in_history=int(row.in_history or 0),
        redeliveries=int(row.redeliveries or 0),
    )
