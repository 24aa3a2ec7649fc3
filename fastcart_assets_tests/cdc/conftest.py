"""CDC fixtures: a lake in tmp_path whose Bronze CDC rows are written from Kafka-shaped records
exactly as the Bronze CDC builder makes them, and the CDC Silver step run on real Delta tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from deltalake import DeltaTable
from pyspark.sql import functions as F

from fastcart_assets.bronze.parse import KafkaRecord
from fastcart_assets.cdc.parse import to_bronze_cdc_batch
from fastcart_assets.cdc.schemas import ORDERS_CURRENT_SCHEMA, ORDERS_HISTORY_SCHEMA
from fastcart_assets.cdc.writes import CdcResult, process_cdc_partitions
from fastcart_assets.resources.kafka import KafkaResource
from fastcart_assets.settings import Settings
from fastcart_assets.tables import BRONZE_CDC, ORDERS_CURRENT, ORDERS_HISTORY
from fastcart_assets_tests.cdc.changes import Delivered

D1, D2, D3 = date(2025, 11, 10), date(2025, 11, 11), date(2025, 11, 12)
DAYS = (D1, D2, D3)
# The fold's tuples: history adds valid_to, is_current and the winning record's coordinates.
CURRENT_COLUMNS = tuple(ORDERS_CURRENT_SCHEMA.fieldNames())
HISTORY_COLUMNS = (*CURRENT_COLUMNS, "valid_to", "is_current", "kafka_partition", "kafka_offset")


def _comparable(frame, columns):
    """Rows as tuples of `columns`, timestamps as epoch microseconds, sorted like the fold's."""
    timestamps = {
        f.name for f in ORDERS_HISTORY_SCHEMA.fields if f.dataType.typeName() == "timestamp"
    }
    selected = frame.select(
        *[F.unix_micros(c).alias(c) if c in timestamps else F.col(c) for c in columns]
    )
    return sorted((tuple(row) for row in selected.collect()), key=repr)


@dataclass
class CdcLake:
    spark: object
    root: str

    @property
    def settings(self) -> Settings:
        return Settings(lake_root=self.root)

    @property
    def bronze(self) -> str:
        return self.settings.table_path(BRONZE_CDC.path)

    @property
    def current(self) -> str:
        return self.settings.table_path(ORDERS_CURRENT.path)

    @property
    def history(self) -> str:
        return self.settings.table_path(ORDERS_HISTORY.path)

    def add_bronze(self, records: list[Delivered], day: date) -> None:
        """Append the records as one Bronze CDC commit of partition `day` (none: no commit)."""
        if not records:
            return
        kafka = [
            KafkaRecord(r.topic, r.partition, r.offset, 1_762_700_000_000, r.key, r.value)
            for r in records
        ]
        written = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        batch = to_bronze_cdc_batch(kafka, written, day)
        frame = self.spark.createDataFrame(batch.table)
        frame.write.format("delta").mode("append").partitionBy("ingestion_date").save(self.bronze)

    def process(self, *days: date) -> CdcResult:
        """The CDC Silver step for `days` in one go."""
        return process_cdc_partitions(
            self.spark, self.bronze, self.current, self.history, list(days)
        )

    def history_rows(self) -> list[tuple]:
        return _comparable(self.spark.read.format("delta").load(self.history), HISTORY_COLUMNS)

    def current_rows(self) -> list[tuple]:
        return _comparable(self.spark.read.format("delta").load(self.current), CURRENT_COLUMNS)

    def versions(self) -> tuple[int, int]:
        """(history version, current version) of the Delta logs."""
        return DeltaTable(self.history).version(), DeltaTable(self.current).version()


@pytest.fixture
def cdc_lake(spark, tmp_path) -> CdcLake:
    return CdcLake(spark, str(tmp_path / "lakehouse"))


@pytest.fixture
def cdc_topic(topic) -> str:
    """A fresh CDC topic name on the test broker (not yet created)."""
    return f"{topic}.public.orders"


@pytest.fixture
def cdc_settings(settings, cdc_topic, monkeypatch) -> Settings:
    """`settings` with FASTCART_CDC_TOPIC set to `cdc_topic` (also in the environment)."""
    monkeypatch.setenv("FASTCART_CDC_TOPIC", cdc_topic)
    return Settings.from_env()


@pytest.fixture
def cdc_kafka(kafka, cdc_topic) -> KafkaResource:
    return kafka.model_copy(update={"topic": cdc_topic})
