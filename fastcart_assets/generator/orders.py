"""Deterministic order-event generation: orders moving pending → confirmed → processing → shipped.

Events come out in event-time order. Each order repeats its fields on every event; about 10%
of orders are cancelled (after pending, confirmed or processing) with a reason. Generation
stops at the end of the window (`duration`): orders whose next step falls after it stay in
flight. With only a number of orders, every created order runs its whole lifecycle.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from faker import Faker

from fastcart_assets.generator.catalog import (
    CANCELLATION_REASONS,
    LIFECYCLE,
    PAYMENT_METHODS,
    PAYMENT_WEIGHTS,
    PRODUCTS,
)

# Minutes until the next lifecycle step: (low, high) of a uniform draw.
STEP_DELAY_MINUTES = {
    "confirmed": (1, 15),
    "processing": (10, 180),
    "shipped": (60, 1440),
}
CANCEL_SHARE = 0.10
# The longest an order's events can span (a cancellation comes 5-240 minutes after a step, so
# within this too), and the events of an order on average (cancellations end some early).
MAX_ORDER_SPAN = timedelta(minutes=sum(high for _, high in STEP_DELAY_MINUTES.values()))
EVENTS_PER_ORDER = 3.9
QUANTITIES = (1, 2, 3, 4, 5)
QUANTITY_CUM_WEIGHTS = tuple(itertools.accumulate((50, 25, 12, 8, 5)))
PAYMENT_CUM_WEIGHTS = tuple(itertools.accumulate(PAYMENT_WEIGHTS))


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate; `duration` and `orders` bound the window (at least one is set)."""

    start: datetime
    duration: timedelta | None = timedelta(minutes=5)
    orders: int | None = None
    min_delay_s: float = 1.0
    max_delay_s: float = 60.0
    seed: int | None = None
    customers: int = 5_000


@dataclass(frozen=True)
class Customer:
    customer_id: str
    email: str
    address: dict[str, str]


def build_customers(rng: random.Random, faker: Faker, count: int) -> list[Customer]:
    """A pool of customers built once (Faker is too slow to call per event)."""
    ids = rng.sample(range(100_000, 1_000_000), count)
    customers = []
    for number in ids:
        customers.append(
            Customer(
                customer_id=f"CUST-{number}",
                email=faker.email(),
                address={
                    "street": faker.street_address(),
                    "city": faker.city(),
                    "state": faker.state_abbr(
                        include_territories=False, include_freely_associated_states=False
                    ),
                    "zip_code": faker.zipcode(),
                    "country": "USA",
                },
            )
        )
    return customers


def format_timestamp(moment: datetime) -> str:
    """ISO-8601 UTC with microseconds and a Z, as in the seed: 2025-11-09T15:55:40.669190Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class _Order:
    fields: dict
    steps: list[str]  # remaining statuses, in order


class OrderStream:
    """Iterates (event time, event dict) pairs; `created`, `in_flight` are known at the end."""

    def __init__(self, config: GeneratorConfig):
        if config.duration is None and config.orders is None:
            raise ValueError("set a duration, a number of orders, or both")
        self.config = config
        self.rng = random.Random(config.seed)
        faker = Faker("en_US")
        faker.seed_instance(config.seed if config.seed is not None else self.rng.random())
        count = (
            config.customers
            if config.orders is None
            else min(config.customers, max(50, config.orders // 3))
        )
        self.customers = build_customers(self.rng, faker, count)
        # A few customers order often, most rarely: weights fall off like 1/rank.
        weights = [1.0 / (rank + 1) ** 0.6 for rank in range(count)]
        self.customer_cum_weights = list(itertools.accumulate(weights))
        self.created = 0
        self.in_flight = 0
        self._order_ids: set[int] = set()

    def _new_order(self, moment: datetime) -> _Order:
        rng = self.rng
        while (number := rng.randrange(10_000_000, 100_000_000)) in self._order_ids:
            pass
        self._order_ids.add(number)
        product = PRODUCTS[rng.randrange(len(PRODUCTS))]
        customer = rng.choices(self.customers, cum_weights=self.customer_cum_weights)[0]
        quantity = rng.choices(QUANTITIES, cum_weights=QUANTITY_CUM_WEIGHTS)[0]
        price = round(product.price * rng.uniform(0.9, 1.1), 2)
        fields = {
            "order_id": f"ORD-{number}",
            "timestamp": None,
            "product_id": product.product_id,
            "product_name": product.name,
            "quantity": quantity,
            "price": price,
            "total": round(price * quantity, 2),
            "customer_id": customer.customer_id,
            "customer_email": customer.email,
            "payment_method": rng.choices(PAYMENT_METHODS, cum_weights=PAYMENT_CUM_WEIGHTS)[0],
            "shipping_address": dict(customer.address),
            "status": None,
        }
        steps = list(LIFECYCLE)
        if rng.random() < CANCEL_SHARE:
            cancel_after = rng.randint(1, 3)  # after pending, confirmed or processing
            steps = [*steps[:cancel_after], "cancelled"]
        return _Order(fields, steps)

    def _step_delay(self, status: str) -> timedelta:
        if status == "cancelled":
            return timedelta(minutes=self.rng.uniform(5, 240))
        low, high = STEP_DELAY_MINUTES[status]
        return timedelta(minutes=self.rng.uniform(low, high))

    def _event(self, order: _Order, status: str, moment: datetime) -> dict:
        event = dict(order.fields)
        event["timestamp"] = format_timestamp(moment)
        event["status"] = status
        if status == "cancelled":
            event["cancellation_reason"] = self.rng.choice(CANCELLATION_REASONS)
        return event

    def __iter__(self) -> Iterator[tuple[datetime, dict]]:
        config = self.config
        end = config.start + config.duration if config.duration is not None else None
        heap: list[tuple[datetime, int, _Order]] = []
        sequence = 0
        next_order_at = config.start
        while True:
            creating = config.orders is None or self.created < config.orders
            if creating and end is not None and next_order_at > end:
                creating = False
            # Without a duration, the orders created still run their whole lifecycle.
            horizon = end
            if creating and (not heap or next_order_at <= heap[0][0]):
                order = self._new_order(next_order_at)
                self.created += 1
                status = order.steps.pop(0)
                yield next_order_at, self._event(order, status, next_order_at)
                moment = next_order_at
                next_order_at += timedelta(
                    seconds=self.rng.uniform(config.min_delay_s, config.max_delay_s)
                )
            elif heap and (horizon is None or heap[0][0] <= horizon):
                moment, _, order = heapq.heappop(heap)
                status = order.steps.pop(0)
                yield moment, self._event(order, status, moment)
            else:
                self.in_flight = len(heap)
                return
            if order.steps:
                sequence += 1
                due = moment + self._step_delay(order.steps[0])
                heapq.heappush(heap, (due, sequence, order))
