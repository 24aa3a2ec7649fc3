"""Hand-built Silver input for the Gold tables: each test states only what matters."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from fastcart_assets.gold.events import order_facts, order_status_events
from fastcart_assets.schemas import SILVER_SCHEMA

D = date(2025, 11, 10)
INGESTED = datetime(2025, 11, 12, tzinfo=UTC)


def at(text: str) -> datetime:
    """'2025-11-10 13:40' as a UTC instant (Spark rows want naive UTC here)."""
    return datetime.fromisoformat(text)


def row(
    order_id,
    status,
    when,
    *,
    total=10.0,
    price=None,
    quantity=1,
    product_id="P1",
    product_name=None,
    customer_id="C1",
    email=None,
    payment="credit_card",
    state="CA",
    valid=True,
    offset=0,
):
    price = total / quantity if price is None else price
    values = {
        "order_id": order_id,
        "timestamp": at(when),
        "product_id": product_id,
        "product_name": product_name or f"name of {product_id}",
        "quantity": quantity,
        "price": price,
        "total": total,
        "customer_id": customer_id,
        "customer_email": email or f"{customer_id.lower()}@example.org",
        "payment_method": payment,
        "shipping_street": "1 Main St",
        "shipping_city": "Town",
        "shipping_state": state,
        "shipping_zip_code": "00001",
        "shipping_country": "USA",
        "status": status,
        "cancellation_reason": None,
        "kafka_topic": "t",
        "kafka_partition": 0,
        "kafka_offset": offset,
        "ingestion_timestamp": INGESTED.replace(tzinfo=None),
        "ingestion_date": D,
        "data_quality_score": valid,
        "dq_failures": [] if valid else ["total_mismatch"],
        "silver_ingestion_timestamp": INGESTED.replace(tzinfo=None),
        "silver_ingestion_date": D,
    }
    return tuple(values[f.name] for f in SILVER_SCHEMA.fields)


@pytest.fixture
def frames(spark, tmp_path):
    """(events, facts) of the given Silver rows, stored and read back as Gold's step does."""

    def build(rows):
        silver = spark.createDataFrame(rows, SILVER_SCHEMA)
        order_status_events(silver).write.parquet(str(tmp_path / "events"))
        events = spark.read.parquet(str(tmp_path / "events"))
        order_facts(events).write.parquet(str(tmp_path / "facts"))
        return events, spark.read.parquet(str(tmp_path / "facts"))

    return build


def collect(frame, *order):
    return [r.asDict() for r in frame.orderBy(*order).collect()]
