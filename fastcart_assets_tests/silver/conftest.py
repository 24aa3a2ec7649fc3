"""Silver fixtures: a lake in tmp_path whose Bronze rows are written from raw payloads exactly as
Bronze writes them (bronze.parse + bronze.ingest), and the Silver step run on real Delta tables."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from deltalake import DeltaTable

from fastcart_assets.bronze.parse import KafkaRecord, to_bronze_batch
from fastcart_assets.bronze.table import append_batch
from fastcart_assets.settings import Settings
from fastcart_assets.silver.checks import Reconciliation, reconcile
from fastcart_assets.silver.writes import SilverResult, write_silver_partition
from fastcart_assets.tables import BRONZE, SILVER, SILVER_REJECTED

D1, D2 = date(2025, 11, 10), date(2025, 11, 11)
T1 = datetime(2025, 11, 10, 12, 0, tzinfo=UTC)  # when Bronze D1 was written
T2 = datetime(2025, 11, 11, 12, 0, tzinfo=UTC)  # when Bronze D2 was written
NOW = datetime(2025, 11, 12, 6, 0, tzinfo=UTC)  # when Silver runs, unless a test says otherwise


@dataclass
class Lake:
    spark: object
    root: str

    @property
    def settings(self) -> Settings:
        return Settings(lake_root=self.root)

    @property
    def bronze(self) -> str:
        return self.settings.table_path(BRONZE.path)

    @property
    def silver(self) -> str:
        return self.settings.table_path(SILVER.path)

    @property
    def rejected(self) -> str:
        return self.settings.table_path(SILVER_REJECTED.path)

    def add_bronze(self, payloads, day: date, written: datetime, partition=0, first_offset=0):
        """Append raw payloads (dicts are JSON-encoded, bytes and None kept) as Bronze rows."""
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
        append_batch(self.spark, batch.table, self.bronze)

    def bronze_df(self):
        return self.spark.read.format("delta").load(self.bronze)

    def process(self, *days: date, now: datetime = NOW) -> SilverResult:
        """The Silver step for `days` in one go (one date = one partition)."""
        return write_silver_partition(
            self.spark, self.silver, self.rejected, self.bronze_df(), list(days), now
        )

    def reconcile(self, *days: date) -> list[Reconciliation]:
        return reconcile(self.spark, self.bronze, self.silver, self.rejected, list(days))

    def silver_rows(self):
        return self.spark.read.format("delta").load(self.silver).collect()

    def rejected_rows(self):
        return self.spark.read.format("delta").load(self.rejected).collect()

    def versions(self) -> tuple[int, int]:
        """(Silver version, rejected version) of the Delta logs."""
        return DeltaTable(self.silver).version(), DeltaTable(self.rejected).version()


@pytest.fixture
def lake(spark, tmp_path) -> Lake:
    return Lake(spark, str(tmp_path))
