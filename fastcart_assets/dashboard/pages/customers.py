"""Customers: segments, top customers (emails masked), states, retention and processing time,
at one snapshot and over the snapshot dates, from `gold/customer_analytics/*`."""

import altair as alt
import streamlit as st

from fastcart_assets.dashboard import ui
from fastcart_assets.dashboard.data import customers

SEGMENT_SCALE = alt.Scale(
    domain=list(ui.SEGMENT_LABELS.values()), range=["#1F77B4", "#72B7B2", "#B0B7C3"]
)


def _labelled(frame, column: str):
    return frame.assign(**{column: frame[column].map(ui.SEGMENT_LABELS).fillna(frame[column])})


def _segments(snapshot) -> None:
    st.subheader("Segments (by total spent)")
    frame = _labelled(customers.segments(ui.reader(), snapshot), "segment")
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("customer_count:Q", title="Customers"),
            y=alt.Y("segment:N", title=None, sort=list(ui.SEGMENT_LABELS.values())),
            color=alt.Color("segment:N", legend=None, scale=SEGMENT_SCALE),
            tooltip=[
                alt.Tooltip("segment:N", title="Segment"),
                alt.Tooltip("customer_count:Q", title="Customers"),
                alt.Tooltip("total_revenue:Q", title="Revenue", format="$,.2f"),
                alt.Tooltip("avg_customer_value:Q", title="Avg per customer", format="$,.2f"),
            ],
        )
        .properties(height=180)
    )
    st.altair_chart(chart, width="stretch")
    st.dataframe(
        frame,
        hide_index=True,
        column_config={
            "segment": "Segment",
            "customer_count": st.column_config.NumberColumn("Customers", format="localized"),
            "total_revenue": st.column_config.NumberColumn("Revenue", format="dollar"),
            "avg_customer_value": st.column_config.NumberColumn("Avg value", format="dollar"),
            "segment_percentage": st.column_config.NumberColumn("% customers", format="%.2f %%"),
        },
    )


def _top_customers(snapshot) -> None:
    st.subheader("Top customers (emails masked)")
    top = customers.top_customers(ui.reader(), snapshot)
    st.dataframe(
        top,
        hide_index=True,
        height=ui.table_height(len(top)),
        column_config={
            "rank": "Rank",
            "customer_id": "Customer",
            "customer_email": "Email",
            "total_spent": st.column_config.NumberColumn("Total spent", format="dollar"),
            "order_count": "Orders",
            "avg_order_value": st.column_config.NumberColumn("Avg order", format="dollar"),
            "first_order_date": "First order",
            "last_order_date": "Last order",
            "customer_tenure_days": st.column_config.NumberColumn("Tenure", format="%d days"),
        },
    )


def _states(snapshot) -> None:
    st.subheader("Top states by completed orders")
    frame = customers.states(ui.reader(), snapshot)
    chart = (
        alt.Chart(frame)
        .mark_bar(color="#4C78A8")
        .encode(
            x=alt.X("shipping_state:N", title=None, sort="-y"),
            y=alt.Y("order_count_by_state:Q", title="Completed orders"),
            tooltip=[
                alt.Tooltip("shipping_state:N", title="State"),
                alt.Tooltip("order_count_by_state:Q", title="Orders"),
                alt.Tooltip("revenue_by_state:Q", title="Revenue", format="$,.2f"),
                alt.Tooltip("unique_customers_by_state:Q", title="Customers"),
            ],
        )
        .properties(height=260)
    )
    st.altair_chart(chart, width="stretch")


def _processing_time(snapshot) -> None:
    st.subheader("Processing time by segment (pending → shipped)")
    frame = _labelled(customers.processing_time(ui.reader(), snapshot), "customer_segment")
    st.dataframe(
        frame,
        hide_index=True,
        column_config={
            "customer_segment": "Segment",
            "avg_processing_time_minutes": st.column_config.NumberColumn(
                "Average", format="%.1f min"
            ),
            "median_processing_time_minutes": st.column_config.NumberColumn(
                "Median", format="%.1f min"
            ),
            "min_processing_time_minutes": st.column_config.NumberColumn("Min", format="%.1f min"),
            "max_processing_time_minutes": st.column_config.NumberColumn("Max", format="%.1f min"),
        },
    )


def _over_time() -> None:
    lake = ui.reader()
    st.subheader("Over the snapshot dates")
    left, right = st.columns(2)
    segments = _labelled(customers.segments_over_time(lake), "segment")
    segments["snapshot_date"] = segments["snapshot_date"].astype(str)
    left.altair_chart(
        alt.Chart(segments)
        .mark_line(point=True)
        .encode(
            x=alt.X("snapshot_date:O", title="Snapshot", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("customer_count:Q", title="Customers"),
            color=alt.Color("segment:N", title="Segment", scale=SEGMENT_SCALE),
            tooltip=["snapshot_date:O", "segment:N", "customer_count:Q"],
        )
        .properties(height=260, title="Customers per segment"),
        width="stretch",
    )
    retention = customers.retention_over_time(lake)
    retention = retention.assign(snapshot_date=retention["snapshot_date"].astype(str))
    right.altair_chart(
        alt.Chart(retention)
        .mark_line(point=True, color="#54A24B")
        .encode(
            x=alt.X("snapshot_date:O", title="Snapshot", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("repeat_customer_percentage:Q", title="Repeat customers (%)"),
            tooltip=[
                alt.Tooltip("snapshot_date:O", title="Snapshot"),
                alt.Tooltip("repeat_customer_percentage:Q", title="Repeat %", format=".2f"),
                alt.Tooltip("repeat_customer_count:Q", title="Repeat customers"),
                alt.Tooltip("one_time_customer_count:Q", title="One-time customers"),
            ],
        )
        .properties(height=260, title="Retention"),
        width="stretch",
    )


@st.fragment(run_every=ui.REFRESH_S)
def customers_page() -> None:
    """The whole page, redrawn every few seconds from the latest table versions."""
    lake = ui.reader()
    snapshots = customers.snapshot_dates(lake)
    day = ui.chosen_day(snapshots)
    snapshot = customers.snapshot_for(snapshots, day) if day else None
    ui.header("Customers", lake, f"snapshot {snapshot.isoformat()}" if snapshot else None)
    if snapshot is None:
        ui.no_data(lake, f"No customer snapshot in Gold on or before {day or 'any day'} yet.")
        return
    st.caption(f"Completed orders shipped on or before {snapshot.isoformat()}.")
    previous = customers.snapshot_for(snapshots, snapshot - ui.ONE_DAY)
    ui.tiles(
        customers.customer_tiles(lake, snapshot, previous),
        previous.isoformat() if previous else "no earlier snapshot",
    )
    left, right = st.columns(2)
    with left:
        _segments(snapshot)
    with right:
        _states(snapshot)
    _top_customers(snapshot)
    _processing_time(snapshot)
    _over_time()


ui.sidebar()
customers_page()
