"""Silver fixtures: Bronze tables written from raw payloads, as Bronze itself writes them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest

from fastcart_assets.bronze.ingest import append_to_bronze
from fastcart_assets.bronze.parse import KafkaRecord, to_bronze_batch
from fastcart_assets.settings import BRONZE_TABLE, SILVER_REJECTED_TABLE, SILVER_TABLE, Settings
from fastcart_assets.silver.writes import process_partitions


@dataclass
class Lake:
    spark: object
    root: str

    @property
    def settings(self) -> Settings:
        return Settings(lake_root=self.root)

    @property
    def bronze(self) -> str:
        return self.settings.table_path(BRONZE_TABLE)

    @property
    def silver(self) -> str:
        return self.settings.table_path(SILVER_TABLE)

    @property
    def rejected(self) -> str:
        return self.settings.table_path(SILVER_REJECTED_TABLE)

    def add_bronze(self, payloads, day: date, written: datetime, partition=0, first_offset=0):
        """Append raw payloads (dicts are JSON-encoded) as Bronze rows of `day`."""
        records = [
            KafkaRecord(
                "orders",
                partition,
                first_offset + i,
                None,
                b"k",
                json.dumps(p).encode() if isinstance(p, dict) else p,
            )
            for i, p in enumerate(payloads)
        ]
        batch = to_bronze_batch(records, written, day)
        append_to_bronze(self.spark.createDataFrame(batch.table), self.bronze)

    def process(self, *days: date, now: datetime | None = None):
        return process_partitions(
            self.spark,
            self.bronze,
            self.silver,
            self.rejected,
            list(days),
            now=now,
            last_date=date(2030, 1, 1),
        )

    def silver_rows(self):
        return self.spark.read.format("delta").load(self.silver).collect()

    def rejected_rows(self):
        return self.spark.read.format("delta").load(self.rejected).collect()


@pytest.fixture
def lake(spark, tmp_path) -> Lake:
    return Lake(spark, str(tmp_path))


D1, D2 = date(2025, 11, 10), date(2025, 11, 11)
T1 = datetime(2025, 11, 10, 12, 0, tzinfo=UTC)
T2 = datetime(2025, 11, 11, 12, 0, tzinfo=UTC)
