"""The Gold table registry (docs/SPEC.md §7, §8): each Gold table is one entry of data.

An entry names the table, its group (the Dagster group, the folder of its Delta path and its
partition column), the description the UI shows, its schema, the function that builds it from
the shared frames for some dates, and the checks on it. Everything else is generated from
GOLD_TABLES: the two multi-assets with their check specs and check evaluation (gold.assets),
the table catalog, SQL views and asset keys (tables.py), and the Gold part of docs/SCHEMAS.md
(schema_docs.py). Adding a table or a check is adding an entry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame
from pyspark.sql.types import StructType

from fastcart_assets.gold import checks, schemas
from fastcart_assets.gold import customer_analytics as ca
from fastcart_assets.gold import sales_performance as sp
from fastcart_assets.gold.checks import Outcome
from fastcart_assets.gold.events import OrderSelector, orders_shipped_by, orders_with_an_event_on

if TYPE_CHECKING:
    from fastcart_assets.gold.build import SharedFrames


@dataclass(frozen=True)
class GoldGroup:
    """A group of Gold tables, computed by one multi-asset over one kind of partition."""

    name: str  # Dagster group and folder under gold/
    partition_column: str  # the Delta partition column, one row set per partition date
    description: str  # of the multi-asset step
    orders: OrderSelector  # the orders its tables need for some dates (gold.events)
    reads_events: bool  # its tables or checks read SharedFrames.events (else only facts)


@dataclass(frozen=True)
class CheckInput:
    """What a check reads: the partitions of the step, of its table and of the others."""

    table: DataFrame  # the checked table, restricted to `dates`
    others: Mapping[str, DataFrame]  # the tables named in the check's `reads`, same dates
    shared: SharedFrames
    dates: Sequence[date]
    day_column: str  # the partition column of the group


@dataclass(frozen=True)
class GoldCheck:
    """A check on one Gold table, evaluated per partition (an ERROR when it fails)."""

    name: str
    description: str
    evaluate: Callable[[CheckInput], dict[date, Outcome]]
    reads: tuple[str, ...] = ()  # other tables of the group it compares with


@dataclass(frozen=True)
class GoldTable:
    """One Gold table: where it lives, what it holds, how it is built and checked."""

    name: str
    group: GoldGroup
    description: str
    schema: StructType
    build: Callable[[SharedFrames, Sequence[date]], DataFrame]  # rows of exactly those dates
    checks: tuple[GoldCheck, ...] = ()

    @property
    def path(self) -> str:
        """Under the lake root; also the asset key (tables.asset_key)."""
        return f"gold/{self.group.name}/{self.name}"

    @property
    def partition_column(self) -> str:
        return self.group.partition_column


SALES = GoldGroup(
    "sales_performance",
    "date",
    "Sales-performance tables for the event dates of the partitions (a run overwrites only "
    "those dates).",
    orders=orders_with_an_event_on,
    reads_events=True,
)
CUSTOMERS = GoldGroup(
    "customer_analytics",
    "snapshot_date",
    "Customer snapshots: snapshot D covers completed orders shipped on or before D.",
    orders=orders_shipped_by,
    reads_events=False,
)
GROUPS = (SALES, CUSTOMERS)


def ranks_contiguous(*group: str) -> GoldCheck:
    """Ranks of each partition (and of each `group` value within it) run exactly 1..n."""
    per = f" per {', '.join(group)}" if group else ""
    return GoldCheck(
        "ranks_contiguous",
        f"ranks run 1..n{per}",
        lambda c: checks.ranks_contiguous(c.table, c.day_column, group, c.dates),
    )


def percentages_sum_to_100(column: str) -> GoldCheck:
    """The table's `column` sums to 100 in each partition with anything to share."""
    return GoldCheck(
        "percentages_sum_to_100",
        f"{column} of a partition sums to 100",
        lambda c: checks.percentages_sum_to_100(c.table, c.day_column, column, c.dates),
    )


def _completed(shared: SharedFrames, snapshots: Sequence[date]) -> DataFrame:
    return ca.completed_by_snapshot(shared.facts, snapshots)


def _customers(shared: SharedFrames, snapshots: Sequence[date]) -> DataFrame:
    return ca.customers(_completed(shared, snapshots))


GOLD_TABLES: tuple[GoldTable, ...] = (
    GoldTable(
        "daily_product_revenue",
        SALES,
        "Shipped revenue, orders, quantity and prices per product and day.",
        schemas.DAILY_PRODUCT_REVENUE,
        lambda s, d: sp.daily_product_revenue(s.events, d),
        checks=(
            GoldCheck(
                "shipped_revenue_matches_silver",
                "shipped revenue of each day equal in Silver, daily_product_revenue and "
                "hourly_order_trends",
                lambda c: checks.shipped_revenue(
                    c.shared.events, c.table, c.others["hourly_order_trends"], c.dates
                ),
                reads=("hourly_order_trends",),
            ),
        ),
    ),
    GoldTable(
        "hourly_order_trends",
        SALES,
        "Orders created and completed, revenue and processing time per hour.",
        schemas.HOURLY_ORDER_TRENDS,
        lambda s, d: sp.hourly_order_trends(s.events, s.facts, d),
    ),
    GoldTable(
        "order_status_distribution",
        SALES,
        "Orders of the day by the status of their latest event.",
        schemas.ORDER_STATUS_DISTRIBUTION,
        lambda s, d: sp.order_status_distribution(s.events, d),
        checks=(percentages_sum_to_100("status_percentage"),),
    ),
    GoldTable(
        "conversion_metrics",
        SALES,
        "The day's created cohort: shipped and cancelled, with rates.",
        schemas.CONVERSION_METRICS,
        lambda s, d: sp.conversion_metrics(s.facts, d),
    ),
    GoldTable(
        "payment_method_revenue",
        SALES,
        "Booked revenue of the day's new orders per payment method.",
        schemas.PAYMENT_METHOD_REVENUE,
        lambda s, d: sp.payment_method_revenue(s.facts, d),
        checks=(
            GoldCheck(
                "orders_match_created_cohort",
                "order counts equal the created cohort of conversion_metrics",
                lambda c: checks.cohort_orders(c.table, c.others["conversion_metrics"], c.dates),
                reads=("conversion_metrics",),
            ),
        ),
    ),
    GoldTable(
        "top_products",
        SALES,
        "Top 10 products of the day by shipped revenue and by quantity.",
        schemas.TOP_PRODUCTS,
        lambda s, d: sp.top_products(s.events, d),
        checks=(ranks_contiguous("ranking"),),
    ),
    GoldTable(
        "top_customers",
        CUSTOMERS,
        "Top 20 customers by total spent on completed orders up to the snapshot.",
        schemas.TOP_CUSTOMERS,
        lambda s, d: ca.top_customers(_customers(s, d)),
        checks=(ranks_contiguous(),),
    ),
    GoldTable(
        "customer_segments",
        CUSTOMERS,
        "Customers and revenue per value segment (high, medium, low).",
        schemas.CUSTOMER_SEGMENTS,
        lambda s, d: ca.customer_segments(_customers(s, d), d),
        checks=(
            GoldCheck(
                "segments_add_up",
                "segment counts add up to all customers with a completed order",
                lambda c: checks.segments_add_up(c.table, c.shared.facts, c.dates),
            ),
            percentages_sum_to_100("segment_percentage"),
        ),
    ),
    GoldTable(
        "payment_method_preferences",
        CUSTOMERS,
        "Completed orders and revenue per payment method.",
        schemas.PAYMENT_METHOD_PREFERENCES,
        lambda s, d: ca.payment_method_preferences(_completed(s, d)),
    ),
    GoldTable(
        "geographic_analysis",
        CUSTOMERS,
        "Top 10 shipping states by completed orders.",
        schemas.GEOGRAPHIC_ANALYSIS,
        lambda s, d: ca.geographic_analysis(_completed(s, d)),
        checks=(ranks_contiguous(),),
    ),
    GoldTable(
        "customer_retention",
        CUSTOMERS,
        "Repeat versus one-time customers and their revenue.",
        schemas.CUSTOMER_RETENTION,
        lambda s, d: ca.customer_retention(_customers(s, d), d),
    ),
    GoldTable(
        "processing_time_by_segment",
        CUSTOMERS,
        "Pending-to-shipped minutes per customer segment.",
        schemas.PROCESSING_TIME_BY_SEGMENT,
        lambda s, d: ca.processing_time_by_segment(_completed(s, d), _customers(s, d), d),
    ),
)


def tables_of(group: GoldGroup) -> tuple[GoldTable, ...]:
    """The tables of `group`, in registry order."""
    return tuple(t for t in GOLD_TABLES if t.group == group)


def gold_table(name: str) -> GoldTable:
    """The entry of the table named `name` (its short name, e.g. `top_products`)."""
    for table in GOLD_TABLES:
        if table.name == name:
            return table
    raise KeyError(f"no Gold table {name!r}")
