"""The one daily partitioning shared by every layer (UTC dates from FASTCART_FIRST_DATE)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import dagster as dg

from fastcart_assets.settings import Settings

# The code location reads its settings once, when it loads; every layer shares this.
FIRST_DATE: date = Settings.from_env().first_date

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=FIRST_DATE.isoformat(), timezone="UTC", end_offset=1
)


def today_utc() -> date:
    return datetime.now(UTC).date()


def partition_key(day: date) -> str:
    return day.isoformat()


def partition_dates(context: dg.AssetExecutionContext) -> list[date]:
    """The dates of the partitions a run materializes (one, or a backfill range)."""
    return [date.fromisoformat(key) for key in context.partition_keys]
