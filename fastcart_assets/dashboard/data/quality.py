"""The Data quality page's figures: rows per layer, reconciliation, rule rates per partition
(SPEC.md §8), rejections by reason, and the data's age."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fastcart_assets.dashboard.data.lake import RULE_METRICS_TABLE, LakeReader
from fastcart_assets.settings import Settings
from fastcart_assets.silver.rules import RULES
from fastcart_assets.tables import BRONZE, SILVER, SILVER_REJECTED, TABLES

# Bronze's freshness window (definitions.FRESHNESS["bronze"] fails after it; a test keeps
# the two equal). Older data is shown in red.
BRONZE_FRESHNESS_WINDOW = timedelta(minutes=15)
# SPEC.md §8 defaults, used for a rule that does not carry its own thresholds.
DEFAULT_WARN_RATE = 0.02
DEFAULT_ERROR_RATE = 0.10
SEVERITIES = ("ok", "warn", "error")
RATE_COLUMNS = ["date", "rule", "kind", "rows_checked", "violations", "rate", "severity"]


@dataclass(frozen=True)
class DataAge:
    """How old the newest data is: the newest Kafka record timestamp in Bronze."""

    as_of: datetime | None
    age: timedelta | None

    @property
    def stale(self) -> bool:
        return self.age is not None and self.age > BRONZE_FRESHNESS_WINDOW


def data_age(lake: LakeReader, now: datetime) -> DataAge:
    """The newest `kafka_timestamp` in Bronze and its age at `now` (None: no Bronze yet)."""
    newest = lake.column_max(BRONZE.path, "kafka_timestamp")
    if newest is None:
        return DataAge(None, None)
    return DataAge(newest, max(now - newest, timedelta(0)))


def layer_rows(lake: LakeReader) -> pd.DataFrame:
    """Rows of every table that exists: columns layer, name (last path part), table, rows."""
    rows = []
    for table in (t.path for t in TABLES):
        count = lake.rows(table)
        if count is not None:
            rows.append((table.split("/")[0], table.split("/")[-1], table, count))
    return pd.DataFrame(rows, columns=["layer", "name", "table", "rows"])


def reconciliation(lake: LakeReader) -> pd.DataFrame:
    """Per Bronze ingestion date: Bronze, Silver and rejected rows (file statistics), and the
    rest, which Silver dropped as duplicates (`fastcart validate` checks each one's key)."""
    bronze = lake.rows_by_partition(BRONZE.path, "ingestion_date")
    silver = lake.rows_by_partition(SILVER.path, "silver_ingestion_date")
    rejected = lake.rows_by_partition(SILVER_REJECTED.path, "silver_ingestion_date")
    days = sorted(set(bronze) | set(silver) | set(rejected))
    frame = pd.DataFrame(
        {
            "date": days,
            "bronze": [bronze.get(d, 0) for d in days],
            "silver": [silver.get(d, 0) for d in days],
            "rejected": [rejected.get(d, 0) for d in days],
        }
    )
    frame["duplicates_dropped"] = frame["bronze"] - frame["silver"] - frame["rejected"]
    return frame


def ingestion_dates(lake: LakeReader) -> list[date]:
    return lake.partition_values(BRONZE.path, "ingestion_date")


def rule_thresholds(settings: Settings | None = None) -> pd.DataFrame:
    """Each rule's kind and warn/error thresholds in percent of the partition's Bronze rows."""
    rows = [(rule.name, rule.kind, *_threshold(settings, rule)) for rule in RULES]
    return pd.DataFrame(rows, columns=["rule", "kind", "warn_rate", "error_rate"])


def _threshold(settings: Settings | None, rule) -> tuple[float, float]:
    """(warn, error) in percent: from the settings' per-rule thresholds where they exist, else
    from the rule itself, else SPEC.md §8's defaults; 100% for a rule never rated (`erased`)."""
    if not getattr(rule, "rated", True):
        return 100.0, 100.0
    lookup = getattr(settings, "threshold", None)
    if callable(lookup):
        limits = lookup(rule.name)
        return _percent(limits.warn_rate), _percent(limits.error_rate)
    warn = getattr(rule, "warn_rate", DEFAULT_WARN_RATE)
    return _percent(warn), _percent(getattr(rule, "error_rate", DEFAULT_ERROR_RATE))


def _percent(rate: float) -> float:
    """A threshold as a percentage, whether it was given as a fraction (0.02) or not (2)."""
    return rate * 100 if rate <= 1 else rate


def _severity(rate: float | None, warn: float, error: float) -> str:
    if rate is None or pd.isna(rate) or rate <= warn:
        return "ok"
    return "error" if rate > error else "warn"


def rule_rates(lake: LakeReader) -> tuple[pd.DataFrame, str]:
    """Violations of each rule per partition date, as a % of the partition's Bronze rows, with
    severities; and where the figures come from (the `quality/rule_metrics` table, or Silver,
    the rejected table and Bronze while that table does not exist or lacks the columns)."""
    stored = lake.read(RULE_METRICS_TABLE)
    if stored is not None and {"date", "rule", "rows_checked", "violations"} <= set(stored):
        return _from_rule_metrics(stored, lake.settings), RULE_METRICS_TABLE
    computed = lake.memo(
        "rule_rates", [BRONZE.path, SILVER.path, SILVER_REJECTED.path], lambda: _computed(lake)
    )
    return computed, "Silver, rejected rows and Bronze"


def _from_rule_metrics(stored: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    frame = stored.copy()
    kinds = {rule.name: rule.kind for rule in RULES}
    if "kind" not in frame:
        frame["kind"] = frame["rule"].map(kinds)
    checked = frame["rows_checked"].astype(float)
    frame["rate"] = (frame["violations"].astype(float) * 100 / checked).where(checked > 0)
    if "severity" in frame:
        frame["severity"] = frame["severity"].astype(str).str.lower()
    else:
        frame["severity"] = _severities(frame, settings)
    return frame[RATE_COLUMNS].sort_values(["date", "rule"]).reset_index(drop=True)


def _severities(frame: pd.DataFrame, settings: Settings | None = None) -> pd.Series:
    limits = rule_thresholds(settings).set_index("rule")
    warn = frame["rule"].map(limits["warn_rate"]).fillna(_percent(DEFAULT_WARN_RATE))
    error = frame["rule"].map(limits["error_rate"]).fillna(_percent(DEFAULT_ERROR_RATE))
    return pd.Series(
        [_severity(r, w, e) for r, w, e in zip(frame["rate"], warn, error, strict=True)],
        index=frame.index,
        dtype=object,
    )


def _listed_per_day(table: pa.Table | None, names: str, day: str) -> dict[tuple, int]:
    """(day, name) -> rows whose list column `names` contains the name."""
    if table is None or table.num_rows == 0:
        return {}
    flat = pc.list_flatten(table[names])
    days = pc.take(table[day], pc.list_parent_indices(table[names]))
    grouped = (
        pa.table({"day": days, "name": flat})
        .group_by(["day", "name"])
        .aggregate([([], "count_all")])
    )
    return {
        (d, n): c
        for d, n, c in zip(
            grouped["day"].to_pylist(),
            grouped["name"].to_pylist(),
            grouped["count_all"].to_pylist(),
            strict=True,
        )
    }


def _computed(lake: LakeReader) -> pd.DataFrame:
    """Rule rates from the tables themselves: hard rules from the rejected rows' reasons, soft
    rules from the failures Silver flagged, over the Bronze rows of each ingestion date that
    Silver has processed (it holds kept or rejected rows of it)."""
    processed = set(lake.rows_by_partition(SILVER.path, "silver_ingestion_date")) | set(
        lake.rows_by_partition(SILVER_REJECTED.path, "silver_ingestion_date")
    )
    bronze = {
        day: rows
        for day, rows in lake.rows_by_partition(BRONZE.path, "ingestion_date").items()
        if day in processed
    }
    rejected = lake.arrow(SILVER_REJECTED.path, ["silver_ingestion_date", "rejection_reasons"])
    flagged = lake.arrow(
        SILVER.path,
        ["silver_ingestion_date", "dq_failures"],
        filters=[("data_quality_score", "=", False)],
    )
    counts = _listed_per_day(rejected, "rejection_reasons", "silver_ingestion_date")
    counts.update(_listed_per_day(flagged, "dq_failures", "silver_ingestion_date"))
    rows = [
        (day, rule.name, rule.kind, checked, counts.get((day, rule.name), 0))
        for day, checked in sorted(bronze.items())
        for rule in RULES
    ]
    frame = pd.DataFrame(rows, columns=RATE_COLUMNS[:5])
    checked = frame["rows_checked"].astype(float)
    frame["rate"] = (frame["violations"] * 100 / checked).where(checked > 0)
    frame["severity"] = _severities(frame, lake.settings) if len(frame) else pd.Series(dtype=object)
    return frame[RATE_COLUMNS]


def rejected_by_reason(lake: LakeReader, day: date | None = None) -> pd.DataFrame:
    """Rejected rows per hard rule (of ingestion date `day`, or all); a row can count twice."""

    def count() -> pd.DataFrame:
        filters = [("silver_ingestion_date", "=", day)] if day else None
        table = lake.arrow(SILVER_REJECTED.path, ["rejection_reasons"], filters)
        reasons = {rule.name: 0 for rule in RULES if rule.kind == "hard"}
        if table is not None and table.num_rows:
            flat = pc.value_counts(pc.list_flatten(table["rejection_reasons"]))
            for item in flat.to_pylist():
                reasons[item["values"]] = item["counts"]
        return pd.DataFrame(list(reasons.items()), columns=["reason", "rows"])

    return lake.memo(f"rejected_by_reason:{day}", [SILVER_REJECTED.path], count)
