"""The Customers page's figures, read from `gold/customer_analytics/*` (SPEC.md §7b).

Emails leave this module masked (`mask_email`): the page never receives a full address.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from fastcart_assets.dashboard.data.lake import LakeReader, gold_rows
from fastcart_assets.gold.registry import gold_table

SEGMENTS = ("high_value", "medium_value", "low_value")
MASK = "•••"


def mask_email(email: str | None) -> str | None:
    """`jane.doe@example.org` -> `j•••@e•••.org`: first letters and top-level domain only."""
    if email is None or pd.isna(email):
        return None
    local, at, domain = str(email).rpartition("@")
    if not at:  # not an address at all: show nothing of it
        return MASK
    host, dot, tld = domain.rpartition(".")
    masked_domain = f"{host[:1]}{MASK}{dot}{tld}" if dot else f"{domain[:1]}{MASK}"
    return f"{local[:1]}{MASK}@{masked_domain}"


def snapshot_dates(lake: LakeReader) -> list[date]:
    """Snapshot dates Gold holds (partitions of `customer_segments`)."""
    return lake.partition_values(gold_table("customer_segments").path, "snapshot_date")


def snapshot_for(snapshots: list[date], day: date) -> date | None:
    """The latest snapshot taken on or before `day`, else None."""
    earlier = [s for s in snapshots if s <= day]
    return max(earlier) if earlier else None


def _ordered_segments(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    order = {segment: i for i, segment in enumerate(SEGMENTS)}
    frame = frame.assign(_order=frame[column].map(order)).sort_values("_order")
    return frame.drop(columns="_order").reset_index(drop=True)


def customer_tiles(lake: LakeReader, snapshot: date, previous: date | None) -> pd.DataFrame:
    """Customers with a completed order, repeat customers' share of them and of revenue, and
    high-value customers, at `snapshot` and at the `previous` snapshot."""

    def figures(day: date | None) -> dict[str, float | None]:
        if day is None:
            return dict.fromkeys(("customers", "repeat", "repeat_revenue", "high_value"))
        segments = gold_rows(lake, "customer_segments", day)
        retention = gold_rows(lake, "customer_retention", day)
        high = segments.loc[segments["segment"] == "high_value", "customer_count"]
        first = retention.iloc[0] if len(retention) else None
        return {
            "customers": float(segments["customer_count"].sum()) if len(segments) else None,
            "repeat": _value(first, "repeat_customer_percentage"),
            "repeat_revenue": _value(first, "repeat_customer_revenue_percentage"),
            "high_value": float(high.iloc[0]) if len(high) else None,
        }

    now, before = figures(snapshot), figures(previous)
    specs = [
        ("customers", "Customers", "count"),
        ("repeat", "Repeat customers", "percent"),
        ("repeat_revenue", "Revenue from repeat customers", "percent"),
        ("high_value", "High-value customers", "count"),
    ]
    rows = [(key, label, unit, now[key], before[key]) for key, label, unit in specs]
    return pd.DataFrame(rows, columns=["key", "label", "unit", "value", "previous"])


def _value(row, column: str) -> float | None:
    if row is None or pd.isna(row[column]):
        return None
    return float(row[column])


def segments(lake: LakeReader, snapshot: date) -> pd.DataFrame:
    """The three segments at `snapshot`, high to low."""
    frame = gold_rows(lake, "customer_segments", snapshot)
    columns = ["segment", "customer_count", "total_revenue", "avg_customer_value"]
    return _ordered_segments(frame, "segment")[[*columns, "segment_percentage"]]


def top_customers(lake: LakeReader, snapshot: date) -> pd.DataFrame:
    """The top customers at `snapshot` by rank, with `customer_email` masked."""
    frame = gold_rows(lake, "top_customers", snapshot).sort_values("rank").copy()
    frame["customer_email"] = frame["customer_email"].map(mask_email)
    columns = [
        "rank",
        "customer_id",
        "customer_email",
        "total_spent",
        "order_count",
        "avg_order_value",
        "first_order_date",
        "last_order_date",
        "customer_tenure_days",
    ]
    return frame[columns].reset_index(drop=True)


def states(lake: LakeReader, snapshot: date) -> pd.DataFrame:
    """The top states by completed orders at `snapshot`."""
    frame = gold_rows(lake, "geographic_analysis", snapshot).sort_values("rank").copy()
    frame["shipping_state"] = frame["shipping_state"].fillna("(none)")
    columns = [
        "rank",
        "shipping_state",
        "order_count_by_state",
        "revenue_by_state",
        "avg_order_value_by_state",
        "unique_customers_by_state",
    ]
    return frame[columns].reset_index(drop=True)


def processing_time(lake: LakeReader, snapshot: date) -> pd.DataFrame:
    """Minutes from pending to shipped per segment at `snapshot`."""
    frame = gold_rows(lake, "processing_time_by_segment", snapshot)
    return _ordered_segments(frame, "customer_segment").drop(columns="snapshot_date")


def segments_over_time(lake: LakeReader) -> pd.DataFrame:
    """Customers and revenue per segment for every snapshot date."""
    frame = gold_rows(lake, "customer_segments")
    columns = ["snapshot_date", "segment", "customer_count", "total_revenue"]
    return frame[columns].sort_values(["snapshot_date", "segment"]).reset_index(drop=True)


def retention_over_time(lake: LakeReader) -> pd.DataFrame:
    """Repeat and one-time customers for every snapshot date."""
    frame = gold_rows(lake, "customer_retention")
    return frame.sort_values("snapshot_date").reset_index(drop=True)
