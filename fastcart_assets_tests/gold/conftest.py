"""Hand-built Silver input for the Gold tables: each test states only what matters."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from pyspark.sql.types import StructType

from fastcart_assets.gold.events import order_facts, order_status_events
from fastcart_assets.schemas import SILVER_SCHEMA

D0, D, D2 = date(2025, 11, 9), date(2025, 11, 10), date(2025, 11, 11)
EMPTY = date(2025, 11, 1)  # a date with no events at all

_DEFAULT = object()


def at(text: str) -> datetime:
    """'2025-11-10 13:40' as a UTC instant."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def returned(text: str) -> datetime:
    """The naive local datetime PySpark returns for the UTC instant `text`."""
    return at(text).astimezone().replace(tzinfo=None)


def row(
    order_id: str,
    status: str,
    when: str,
    *,
    total: float = 10.0,
    price: float | None = None,
    quantity: int = 1,
    product_id: str | None = "P1",
    product_name=_DEFAULT,
    customer_id: str = "C1",
    email=_DEFAULT,
    payment: str | None = "credit_card",
    state: str | None = "CA",
    valid: bool = True,
    ingested: str | None = None,
    partition: int = 0,
    offset: int = 0,
) -> tuple:
    """One Silver row; `ingested` defaults to a minute after the event (on time)."""
    ingestion = at(ingested) if ingested else at(when) + timedelta(minutes=1)
    values = {
        "order_id": order_id,
        "timestamp": at(when),
        "product_id": product_id,
        "product_name": f"name of {product_id}" if product_name is _DEFAULT else product_name,
        "quantity": quantity,
        "price": total / quantity if price is None else price,
        "total": total,
        "customer_id": customer_id,
        "customer_email": f"{customer_id.lower()}@example.org" if email is _DEFAULT else email,
        "payment_method": payment,
        "shipping_street": "1 Main St",
        "shipping_city": "Town",
        "shipping_state": state,
        "shipping_zip_code": "00001",
        "shipping_country": "USA",
        "status": status,
        "cancellation_reason": "changed_mind" if status == "cancelled" else None,
        "kafka_topic": "ecommerce-sales",
        "kafka_partition": partition,
        "kafka_offset": offset,
        "ingestion_timestamp": ingestion,
        "ingestion_date": ingestion.date(),
        "data_quality_score": valid,
        "dq_failures": [] if valid else ["total_mismatch"],
        "silver_ingestion_timestamp": ingestion,
        "silver_ingestion_date": ingestion.date(),
    }
    return tuple(values[f.name] for f in SILVER_SCHEMA.fields)


@pytest.fixture
def silver(spark):
    """A Silver DataFrame of the given rows."""
    return lambda rows: spark.createDataFrame(rows, SILVER_SCHEMA)


@pytest.fixture
def frames(spark, silver, tmp_path):
    """(events, facts) of the given Silver rows, stored and read back as Gold's step does."""

    calls = itertools.count()

    def build(rows):
        n = next(calls)
        events_path, facts_path = str(tmp_path / f"events-{n}"), str(tmp_path / f"facts-{n}")
        order_status_events(silver(rows)).write.parquet(events_path)
        events = spark.read.parquet(events_path)
        order_facts(events).write.parquet(facts_path)
        return events, spark.read.parquet(facts_path)

    return build


def collect(frame, *order) -> list[dict]:
    """The rows of `frame` as dicts, sorted by `order`."""
    return [r.asDict() for r in (frame.orderBy(*order) if order else frame).collect()]


def columns(schema: StructType) -> list[tuple[str, str]]:
    """(name, type) of each column, for comparing a result with its registry schema."""
    return [(f.name, f.dataType.simpleString()) for f in schema.fields]
