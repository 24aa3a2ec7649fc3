"""The Sales page's figures, read from the `gold/sales_performance/*` tables (SPEC.md §7a)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from fastcart_assets.dashboard.data.lake import LakeReader, gold_rows
from fastcart_assets.gold.registry import gold_table
from fastcart_assets.schemas import ORDER_STATUSES

TILE_COLUMNS = ["key", "label", "unit", "value", "previous"]


def sales_dates(lake: LakeReader) -> list[date]:
    """Dates Gold has sales figures for (partitions of `conversion_metrics`)."""
    return lake.partition_values(gold_table("conversion_metrics").path, "date")


def _day_figures(lake: LakeReader, day: date) -> dict[str, float | None]:
    conversion = gold_rows(lake, "conversion_metrics", day)
    if conversion.empty:
        return dict.fromkeys(("created", "revenue", "conversion", "cancellation"))
    row = conversion.iloc[0]
    revenue = gold_rows(lake, "daily_product_revenue", day)["total_revenue"]
    return {
        "created": _number(row["total_orders_created"]),
        "revenue": float(revenue.sum()) if len(revenue) else 0.0,
        "conversion": _number(row["conversion_rate"]),
        "cancellation": _number(row["cancellation_rate"]),
    }


def _number(value) -> float | None:
    return None if pd.isna(value) else float(value)


def sales_tiles(lake: LakeReader, day: date) -> pd.DataFrame:
    """The four KPI tiles of `day` with the previous day's values: orders created, shipped
    revenue, conversion and cancellation rates (a rate is null when nothing was created)."""
    today, before = _day_figures(lake, day), _day_figures(lake, day - timedelta(days=1))
    specs = [
        ("created", "Orders created", "count"),
        ("revenue", "Shipped revenue", "money"),
        ("conversion", "Conversion rate", "percent"),
        ("cancellation", "Cancellation rate", "percent"),
    ]
    rows = [(key, label, unit, today[key], before[key]) for key, label, unit in specs]
    return pd.DataFrame(rows, columns=TILE_COLUMNS)


def hourly_revenue(lake: LakeReader, day: date) -> pd.DataFrame:
    """Revenue, orders created and completed per UTC hour of `day` and of the day before:
    columns hour (0-23), day (ISO text), revenue, orders_created, orders_completed; hours
    without an event count zero up to the day's last hour with one."""
    frames = []
    for which in (day, day - timedelta(days=1)):
        hours = gold_rows(lake, "hourly_order_trends", which).set_index("hour")
        if hours.empty:
            continue
        # Hours after the last one with an event have no data yet (today) rather than zero.
        full = pd.DataFrame({"hour": range(int(hours.index.max()) + 1)})
        full["day"] = which.isoformat()
        full["revenue"] = full["hour"].map(hours["revenue_per_hour"]).fillna(0.0).astype(float)
        for column in ("orders_created_count", "orders_completed_count"):
            counts = full["hour"].map(hours[column]).fillna(0).astype(int)
            full[column.removesuffix("_count")] = counts
        frames.append(full)
    columns = ["hour", "day", "revenue", "orders_created", "orders_completed"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def top_products(lake: LakeReader, day: date, ranking: str = "revenue") -> pd.DataFrame:
    """The top products of `day` by `ranking` (`revenue` or `quantity`), by rank."""
    frame = gold_rows(lake, "top_products", day)
    frame = frame[frame["ranking"] == ranking].sort_values("rank")
    columns = ["rank", "product_id", "product_name", "total_revenue", "quantity_sold"]
    return frame[columns].reset_index(drop=True)


def payment_methods(lake: LakeReader, day: date) -> pd.DataFrame:
    """Booked revenue and orders per payment method of the orders created on `day`."""
    frame = gold_rows(lake, "payment_method_revenue", day).copy()
    frame["payment_method"] = frame["payment_method"].fillna("(none)")
    columns = [
        "payment_method",
        "total_revenue",
        "order_count",
        "avg_order_value",
        "payment_method_percentage",
    ]
    return frame.sort_values("total_revenue", ascending=False)[columns].reset_index(drop=True)


def status_distribution(lake: LakeReader, day: date) -> pd.DataFrame:
    """Orders per latest status on `day`, in lifecycle order."""
    frame = gold_rows(lake, "order_status_distribution", day).copy()
    order = {status: i for i, status in enumerate(ORDER_STATUSES)}
    frame["_order"] = frame["status"].map(order)
    columns = ["status", "status_count", "status_percentage", "total_revenue_by_status"]
    return frame.sort_values("_order")[columns].reset_index(drop=True)
