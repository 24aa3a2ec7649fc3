"""Test helpers: produce raw messages and read tables back."""

from __future__ import annotations

import json

from fastcart_assets.kafka.topics import create_topic
from fastcart_assets.resources.kafka import KafkaResource


def order_event(i: int, **overrides) -> dict:
    """A clean order event with a distinct order id per `i`."""
    event = {
        "order_id": f"ORD-{i:08d}",
        "timestamp": "2025-11-09T15:55:40.669190Z",
        "product_id": "PROD-004",
        "product_name": "USB-C Cable",
        "quantity": 3,
        "price": 11.16,
        "total": 33.48,
        "customer_id": f"CUST-{i % 97:06d}",
        "customer_email": f"person{i}@example.org",
        "payment_method": "credit_card",
        "shipping_address": {
            "street": "123 Main St",
            "city": "Springfield",
            "state": "IL",
            "zip_code": "62701",
            "country": "USA",
        },
        "status": "pending",
    }
    event.update(overrides)
    return event


def produce(kafka: KafkaResource, values: list[bytes | None], partitions: int = 3) -> None:
    """Create the topic if needed and send `values` keyed by position, then flush."""
    create_topic(kafka, kafka.topic, partitions, exist_ok=True)
    producer = kafka.producer()
    for i, value in enumerate(values):
        producer.produce(kafka.topic, key=f"ORD-{i:08d}".encode(), value=value)
        if i % 5000 == 0:
            producer.poll(0)
    remaining = producer.flush(30)
    assert remaining == 0, f"{remaining} messages not delivered"


def clean_values(n: int, start: int = 0) -> list[bytes]:
    return [json.dumps(order_event(i)).encode() for i in range(start, start + n)]
