"""What every dashboard page shares: the lake reader, the day picker, the data's age, number
formats, tiles and the "no data yet" message."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import streamlit as st

from fastcart_assets.dashboard.data.lake import LakeReader, latest_day
from fastcart_assets.dashboard.data.quality import BRONZE_FRESHNESS_WINDOW, data_age
from fastcart_assets.settings import Settings
from fastcart_assets.tables import TABLES

REFRESH_S = 5
ONE_DAY = timedelta(days=1)
DASH = "—"
STATUS_COLORS = {
    "pending": "#9AA5B1",
    "confirmed": "#4C78A8",
    "processing": "#F58518",
    "shipped": "#54A24B",
    "cancelled": "#E45756",
}
SEVERITY_COLORS = {"ok": "#54A24B", "warn": "#F2A93B", "error": "#E45756"}
SEGMENT_LABELS = {
    "high_value": "High (> $500)",
    "medium_value": "Medium ($100–500)",
    "low_value": "Low (< $100)",
}


@st.cache_resource
def _reader(lake_root: str) -> LakeReader:
    return LakeReader(replace(Settings.from_env(), lake_root=lake_root))


def settings() -> Settings:
    return Settings.from_env()


def reader() -> LakeReader:
    """The lake reader shared by every session of this server (its cache follows versions)."""
    return _reader(settings().lake_root)


def money(value: float | None) -> str:
    return DASH if value is None or pd.isna(value) else f"${value:,.2f}"


def count(value: float | None) -> str:
    return DASH if value is None or pd.isna(value) else f"{round(value):,}"


def percent(value: float | None) -> str:
    return DASH if value is None or pd.isna(value) else f"{value:.2f} %"


FORMATS = {"money": money, "count": count, "percent": percent}


def change(unit: str, value: float | None, previous: float | None) -> str | None:
    """The signed change of a tile (`+$12.50`, `-3`, `+1.25 pp`), None when unknown."""
    if value is None or previous is None or pd.isna(value) or pd.isna(previous):
        return None
    delta = value - previous
    sign = "+" if delta >= 0 else "-"
    if unit == "money":
        return f"{sign}${abs(delta):,.2f}"
    if unit == "percent":
        return f"{sign}{abs(delta):.2f} pp"
    return f"{sign}{round(abs(delta)):,}"


def tiles(frame: pd.DataFrame, previous_label: str, inverse: Collection[str] = ()) -> None:
    """One bordered metric per row of a tile frame (key, label, unit, value, previous)."""
    for column, tile in zip(st.columns(len(frame)), frame.itertuples(), strict=True):
        column.metric(
            tile.label,
            FORMATS[tile.unit](tile.value),
            change(tile.unit, tile.value, tile.previous),
            delta_color="inverse" if tile.key in inverse else "normal",
            delta_description=f"vs {previous_label}",
            border=True,
        )


def sidebar() -> None:
    """The day picker: follow the latest day with data, or pick a past day. Each page draws it
    (outside its refreshing fragment); the choice is kept across pages."""
    state = st.session_state
    follow = st.sidebar.toggle(
        "Follow the latest day", value=state.get("_follow", True), key="follow_latest"
    )
    state["_follow"] = follow
    if not follow:
        today = datetime.now(UTC).date()
        state["_day"] = st.sidebar.date_input(
            "Day (UTC)", value=state.get("_day", today), key="picked_day"
        )
    st.sidebar.caption(f"Refreshes every {REFRESH_S} s. Times and dates are UTC.")


def chosen_day(days: list[date]) -> date | None:
    """The picked day, or the latest of `days` (up to today) while following the latest."""
    if st.session_state.get("_follow", True):
        return latest_day(days, datetime.now(UTC).date())
    return st.session_state.get("_day")


def table_height(rows: int) -> int:
    """Pixels for a st.dataframe that shows `rows` rows without scrolling."""
    return 35 * (rows + 1) + 3


def lake_is_empty(lake: LakeReader) -> bool:
    return all(lake.version(table) is None for table in (t.path for t in TABLES))


def no_data(lake: LakeReader, what: str) -> None:
    """Say there is nothing to show (`what`), or, when the lake holds no table at all, that
    there is no data yet and how to get some."""
    if not lake_is_empty(lake):
        st.info(what)
        return
    st.info(
        f"**No data yet.** The lake at `{lake.settings.lake_uri}` holds no table.\n\n"
        "To get some: `make demo` (a broker, three days of orders and the whole pipeline), or, "
        "with a broker running, `.venv/bin/fastcart generate --speed 60` and then "
        "`.venv/bin/fastcart run` (or `.venv/bin/fastcart ui` with its sensors on). "
        f"This page looks again every {REFRESH_S} seconds."
    )


def _age_text(age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    if minutes < 1:
        return "less than a minute ago"
    if minutes < 120:
        return f"{minutes} min ago"
    hours = minutes // 60
    return f"{hours} h ago" if hours < 48 else f"{hours // 24} days ago"


def header(title: str, lake: LakeReader, subtitle: str | None = None) -> None:
    """Page title and the data's age: the newest Kafka record in Bronze, red when it is older
    than Bronze's freshness window."""
    st.title(title)
    age = data_age(lake, datetime.now(UTC))
    if age.as_of is None:
        line = "Data as of: no Bronze data yet"
    else:
        stamp = age.as_of.strftime("%Y-%m-%d %H:%M:%S UTC")
        colour = "red" if age.stale else "green"
        window = int(BRONZE_FRESHNESS_WINDOW.total_seconds() // 60)
        note = f" (older than Bronze's {window}-minute window)" if age.stale else ""
        line = f"Data as of :{colour}[**{stamp}** — {_age_text(age.age)}{note}]"
    st.markdown(line + (f" · {subtitle}" if subtitle else ""))
