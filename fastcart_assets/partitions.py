"""The one daily partitioning shared by every layer (UTC dates)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import dagster as dg

# Far enough back for replayed history and generated streams that start in the past.
FIRST_DATE = "2024-01-01"

daily_partitions = dg.DailyPartitionsDefinition(start_date=FIRST_DATE, timezone="UTC", end_offset=1)


def today_utc() -> date:
    return datetime.now(UTC).date()


def partition_key(day: date) -> str:
    return day.isoformat()


def partition_dates(context: dg.AssetExecutionContext) -> list[date]:
    """The dates of the partitions a run materializes (one, or a backfill range)."""
    return [date.fromisoformat(key) for key in context.partition_keys]
