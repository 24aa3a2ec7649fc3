"""Data quality: rows per layer and their reconciliation, rule rates per partition against their
thresholds, rejected rows by reason, duplicates dropped and Kafka lag."""

import altair as alt
import pandas as pd
import streamlit as st

from fastcart_assets.dashboard import ui
from fastcart_assets.dashboard.data import quality
from fastcart_assets.settings import Settings


@st.cache_data(ttl=ui.REFRESH_S - 1, show_spinner=False)
def _kafka(bootstrap: str, topic: str, lake_root: str):
    from fastcart_assets.dashboard.data.ops import kafka_status

    settings = Settings(lake_root=lake_root, kafka_bootstrap=bootstrap, kafka_topic=topic)
    return kafka_status(settings, ui.reader())


def _tiles(recon: pd.DataFrame, day, kafka) -> None:
    row = recon.set_index("date").loc[day] if day in set(recon["date"]) else None
    figures = [
        ("Bronze rows", row["bronze"] if row is not None else None),
        ("Silver rows", row["silver"] if row is not None else None),
        ("Rejected rows", row["rejected"] if row is not None else None),
        ("Duplicates dropped", row["duplicates_dropped"] if row is not None else None),
    ]
    columns = st.columns(len(figures) + 1)
    for column, (label, value) in zip(columns, figures, strict=False):
        column.metric(label, ui.count(value), border=True, help=f"ingestion date {day}")
    lag = ui.count(kafka.lag) if kafka.up and not kafka.error else "unknown"
    columns[-1].metric("Kafka lag", lag, border=True, help="messages in Kafka that Bronze lacks")


def _layers(lake, recon: pd.DataFrame) -> None:
    left, right = st.columns([2, 3])
    left.subheader("Rows per table")
    layers = quality.layer_rows(lake)
    left.dataframe(
        layers,
        hide_index=True,
        height=ui.table_height(len(layers)),
        column_order=["layer", "name", "rows"],
        column_config={
            "layer": "Layer",
            "name": st.column_config.TextColumn("Table", help="path under the lake root"),
            "rows": st.column_config.NumberColumn("Rows", format="localized"),
        },
    )
    right.subheader("Reconciliation per ingestion date")
    right.caption(
        "Bronze rows = Silver rows + rejected rows + duplicates dropped. "
        "`fastcart validate` also checks each dropped row against the key Silver keeps."
    )
    shown = recon.assign(reconciled=recon["duplicates_dropped"] >= 0)
    right.dataframe(
        shown.sort_values("date", ascending=False),
        hide_index=True,
        column_config={
            "date": "Ingestion date",
            "bronze": st.column_config.NumberColumn("Bronze", format="localized"),
            "silver": st.column_config.NumberColumn("Silver", format="localized"),
            "rejected": st.column_config.NumberColumn("Rejected", format="localized"),
            "duplicates_dropped": st.column_config.NumberColumn(
                "Duplicates dropped", format="localized"
            ),
            "reconciled": st.column_config.CheckboxColumn("Reconciled"),
        },
    )


def _threshold_rules() -> alt.Chart:
    limits = quality.rule_thresholds(ui.settings())
    lines = pd.DataFrame(
        [(f"warn above {v:g} %", v, "warn") for v in sorted(set(limits["warn_rate"]))]
        + [(f"error above {v:g} %", v, "error") for v in sorted(set(limits["error_rate"]))],
        columns=["threshold", "rate", "severity"],
    )
    return (
        alt.Chart(lines)
        .mark_rule(strokeDash=[6, 4], strokeWidth=2)
        .encode(
            y="rate:Q",
            color=alt.Color("severity:N", scale=_SEVERITY_SCALE, legend=None),
            tooltip=["threshold:N"],
        )
    )


_SEVERITY_SCALE = alt.Scale(
    domain=list(ui.SEVERITY_COLORS), range=list(ui.SEVERITY_COLORS.values())
)
_RATE_TOOLTIP = [
    alt.Tooltip("date:O", title="Partition"),
    "rule:N",
    "kind:N",
    alt.Tooltip("violations:Q", title="Violations"),
    alt.Tooltip("rows_checked:Q", title="Rows checked"),
    alt.Tooltip("rate:Q", title="Rate %", format=".3f"),
    "severity:N",
]
_RATE_AXIS = alt.Y("rate:Q", title="Rows violating the rule (% of Bronze rows)")


def _rates_chart(rates: pd.DataFrame) -> alt.LayerChart:
    """Rates over the partitions (one line per rule); bars by severity for one partition."""
    rates = rates.assign(date=rates["date"].astype(str))
    if rates["date"].nunique() > 1:
        series = (
            alt.Chart(rates)
            .mark_line(point=alt.OverlayMarkDef(size=60))
            .encode(
                x=alt.X("date:O", title="Partition (ingestion date)", axis=alt.Axis(labelAngle=0)),
                y=_RATE_AXIS,
                color=alt.Color("rule:N", title="Rule"),
                tooltip=_RATE_TOOLTIP,
            )
        )
        layers = alt.layer(series, _threshold_rules()).resolve_scale(color="independent")
    else:
        series = (
            alt.Chart(rates)
            .mark_bar()
            .encode(
                x=alt.X("rule:N", title=None, axis=alt.Axis(labelAngle=0), sort=None),
                y=_RATE_AXIS,
                color=alt.Color("severity:N", title="Severity", scale=_SEVERITY_SCALE),
                tooltip=_RATE_TOOLTIP,
            )
        )
        layers = alt.layer(series, _threshold_rules())
    return layers.properties(height=300)


def _rules(lake, day) -> None:
    rates, source = quality.rule_rates(lake)
    st.subheader("Rule violation rates per partition")
    st.caption(
        f"From {source}. Dashed lines: the WARN and ERROR thresholds. One line per rule "
        "once there are several partitions."
    )
    if rates.empty:
        st.caption("No partition evaluated yet.")
        return
    st.altair_chart(_rates_chart(rates), width="stretch")
    today = rates[rates["date"] == day].drop(columns="date")
    left, right = st.columns([3, 2])
    left.markdown(f"**Rules on {day}**")
    left.dataframe(
        today.style.map(
            lambda s: f"color: {ui.SEVERITY_COLORS.get(s, 'inherit')}; font-weight: 600",
            subset=["severity"],
        ),
        hide_index=True,
        column_config={
            "rule": "Rule",
            "kind": "Kind",
            "rows_checked": "Rows checked",
            "violations": "Violations",
            "rate": st.column_config.NumberColumn("Rate", format="%.3f %%"),
            "severity": "Severity",
        },
    )
    reasons = quality.rejected_by_reason(lake, day)
    right.markdown(f"**Rejected rows by reason on {day}** (a row can have several)")
    right.altair_chart(
        alt.Chart(reasons)
        .mark_bar(color=ui.SEVERITY_COLORS["error"])
        .encode(
            x=alt.X("rows:Q", title="Rows"),
            y=alt.Y("reason:N", title=None, sort="-x"),
            tooltip=["reason:N", "rows:Q"],
        )
        .properties(height=220),
        width="stretch",
    )


def _kafka_section(kafka) -> None:
    st.subheader(f"Kafka: topic {kafka.topic} at {kafka.bootstrap}")
    if not kafka.up or kafka.error:
        st.warning(f"Cannot read the topic's offsets: {kafka.error}")
        return
    st.dataframe(
        kafka.partitions,
        hide_index=True,
        column_config={
            "partition": "Partition",
            "end_offset": "End offset",
            "bronze_offset": "Bronze's next offset",
            "lag": "Lag (messages)",
            "oldest_unread": st.column_config.DatetimeColumn(
                "Oldest unread message", format="YYYY-MM-DD HH:mm:ss"
            ),
        },
    )


@st.fragment(run_every=ui.REFRESH_S)
def quality_page() -> None:
    """The whole page, redrawn every few seconds from the latest table versions."""
    lake = ui.reader()
    days = quality.ingestion_dates(lake)
    day = ui.chosen_day(days)
    ui.header("Data quality", lake, f"ingestion date {day.isoformat()}" if day else None)
    if not days and ui.lake_is_empty(lake):
        ui.no_data(lake, "")
        return
    settings = ui.settings()
    kafka = _kafka(settings.kafka_bootstrap, settings.kafka_topic, settings.lake_root)
    recon = quality.reconciliation(lake)
    if day is None or day not in days:
        ui.no_data(lake, f"No Bronze partition for {day or 'any day'} yet.")
    else:
        _tiles(recon, day, kafka)
        _layers(lake, recon)
        _rules(lake, day)
    _kafka_section(kafka)


ui.sidebar()
quality_page()
