"""Sales: the day's KPI tiles, revenue per hour against the day before, top products, payment
methods and order statuses, from `gold/sales_performance/*`."""

from datetime import timedelta

import altair as alt
import streamlit as st

from fastcart_assets.dashboard import ui
from fastcart_assets.dashboard.data import sales


def _hourly_chart(hourly, day) -> alt.Chart:
    days = [day.isoformat(), (day - timedelta(days=1)).isoformat()]
    return (
        alt.Chart(hourly)
        .mark_line(point=True)
        .encode(
            x=alt.X("hour:O", title="Hour (UTC)", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("revenue:Q", title="Shipped revenue ($)", axis=alt.Axis(format="$,.0f")),
            color=alt.Color(
                "day:N",
                title="Day",
                scale=alt.Scale(domain=days, range=["#1F77B4", "#B0B7C3"]),
            ),
            tooltip=[
                alt.Tooltip("day:N", title="Day"),
                alt.Tooltip("hour:O", title="Hour"),
                alt.Tooltip("revenue:Q", title="Revenue", format="$,.2f"),
                alt.Tooltip("orders_created:Q", title="Orders created"),
                alt.Tooltip("orders_completed:Q", title="Orders shipped"),
            ],
        )
        .properties(height=280)
    )


def _top_products(day) -> None:
    st.subheader("Top products by shipped revenue")
    top = sales.top_products(ui.reader(), day)
    if top.empty:
        st.caption("No product shipped on this day.")
        return
    chart = (
        alt.Chart(top)
        .mark_bar(color="#4C78A8")
        .encode(
            x=alt.X("total_revenue:Q", title="Revenue ($)", axis=alt.Axis(format="$,.0f")),
            y=alt.Y("product_name:N", title=None, sort="-x"),
            tooltip=[
                alt.Tooltip("rank:Q", title="Rank"),
                alt.Tooltip("product_id:N", title="Product"),
                alt.Tooltip("total_revenue:Q", title="Revenue", format="$,.2f"),
                alt.Tooltip("quantity_sold:Q", title="Units"),
            ],
        )
        .properties(height=300)
    )
    st.altair_chart(chart, width="stretch")


def _payment_methods(day) -> None:
    st.subheader("Payment methods (orders created)")
    methods = sales.payment_methods(ui.reader(), day)
    if methods.empty:
        st.caption("No order created on this day.")
        return
    chart = (
        alt.Chart(methods)
        .mark_arc(innerRadius=60)
        .encode(
            theta=alt.Theta("total_revenue:Q"),
            color=alt.Color("payment_method:N", title="Method"),
            tooltip=[
                alt.Tooltip("payment_method:N", title="Method"),
                alt.Tooltip("total_revenue:Q", title="Booked revenue", format="$,.2f"),
                alt.Tooltip("order_count:Q", title="Orders"),
                alt.Tooltip("payment_method_percentage:Q", title="% of orders", format=".2f"),
            ],
        )
        .properties(height=300)
    )
    st.altair_chart(chart, width="stretch")


def _statuses(day) -> None:
    st.subheader("Order status (latest status of each order active on the day)")
    statuses = sales.status_distribution(ui.reader(), day)
    if statuses.empty:
        st.caption("No order event on this day.")
        return
    chart = (
        alt.Chart(statuses)
        .mark_bar()
        .encode(
            x=alt.X(
                "status:N", title=None, sort=list(ui.STATUS_COLORS), axis=alt.Axis(labelAngle=0)
            ),
            y=alt.Y("status_count:Q", title="Orders"),
            color=alt.Color(
                "status:N",
                legend=None,
                scale=alt.Scale(
                    domain=list(ui.STATUS_COLORS), range=list(ui.STATUS_COLORS.values())
                ),
            ),
            tooltip=[
                alt.Tooltip("status:N", title="Status"),
                alt.Tooltip("status_count:Q", title="Orders"),
                alt.Tooltip("status_percentage:Q", title="%", format=".2f"),
                alt.Tooltip("total_revenue_by_status:Q", title="Value", format="$,.2f"),
            ],
        )
        .properties(height=260)
    )
    st.altair_chart(chart, width="stretch")


@st.fragment(run_every=ui.REFRESH_S)
def sales_page() -> None:
    """The whole page, redrawn every few seconds from the latest table versions."""
    lake = ui.reader()
    days = sales.sales_dates(lake)
    day = ui.chosen_day(days)
    ui.header("Sales", lake, f"day {day.isoformat()}" if day else None)
    if day is None or day not in days:
        ui.no_data(lake, f"No sales figures in Gold for {day or 'any day'} yet.")
        return
    previous = day - timedelta(days=1)
    ui.tiles(sales.sales_tiles(lake, day), previous.isoformat(), inverse={"cancellation"})
    st.subheader("Shipped revenue per hour: the day against the day before")
    st.altair_chart(_hourly_chart(sales.hourly_revenue(lake, day), day), width="stretch")
    left, right = st.columns(2)
    with left:
        _top_products(day)
    with right:
        _payment_methods(day)
    _statuses(day)


ui.sidebar()
sales_page()
