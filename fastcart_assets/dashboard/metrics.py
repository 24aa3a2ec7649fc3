"""`fastcart metrics`: the operational figures in the Prometheus text format (SPEC.md §9).

One collector gathers everything at most once per `ttl` seconds (a scrape in between gets the
same figures), from delta-rs file statistics, a few Kafka look-ups and the Dagster instance;
no Spark. A part that fails (Kafka down, no instance yet) is reported by its own gauge
(`fastcart_kafka_up`, `fastcart_dagster_instance_up`, `fastcart_collect_errors`) and the other
parts are still served.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from fastcart_assets.dashboard.data import ops, quality
from fastcart_assets.dashboard.data.lake import LakeReader
from fastcart_assets.settings import Settings
from fastcart_assets.tables import TABLES

log = logging.getLogger(__name__)

# Rule figures are exported for the latest partitions only, to bound the series count.
RULE_DATES = 7
SEVERITY_CODES = {"ok": 0, "warn": 1, "error": 2}
FRESHNESS_STATES = ("PASS", "WARN", "FAIL", "UNKNOWN")


def _gauge(name: str, doc: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"fastcart_{name}", doc, labels=labels)


class FastCartCollector(Collector):
    """Collects every FastCart figure, cached for `ttl` seconds."""

    def __init__(self, settings: Settings, ttl: float = 10.0) -> None:
        self.settings = settings
        self.ttl = ttl
        self.lake = LakeReader(settings)
        self._lock = threading.Lock()
        self._cached: list[Metric] = []
        self._collected_at = float("-inf")
        self._instance = None

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            if time.monotonic() - self._collected_at >= self.ttl:
                self._cached = self._collect_all()
                self._collected_at = time.monotonic()
            return iter(list(self._cached))

    def _collect_all(self) -> list[Metric]:
        started = time.perf_counter()
        errors = _gauge(
            "collect_errors", "1 when a part of the figures failed to collect", ["part"]
        )
        metrics: list[Metric] = []
        parts: dict[str, Callable[[], list[Metric]]] = {
            "lake": self._lake,
            "rules": self._rules,
            "kafka": self._kafka,
            "dagster": self._dagster,
        }
        for part, collect in parts.items():
            try:
                metrics.extend(collect())
                errors.add_metric([part], 0)
            except Exception as exc:  # one failing source must not break the scrape
                log.warning("collecting %s figures failed: %s", part, exc)
                errors.add_metric([part], 1)
        duration = _gauge("collect_duration_seconds", "time the last collection took")
        duration.add_metric([], time.perf_counter() - started)
        return [*metrics, errors, duration]

    def _lake(self) -> list[Metric]:
        rows = _gauge("table_rows", "rows of each Delta table (file statistics)", ["table"])
        versions = _gauge("table_version", "Delta version of each table", ["table"])
        for table in (t.path for t in TABLES):
            count = self.lake.rows(table)
            if count is not None:
                rows.add_metric([table], count)
                versions.add_metric([table], self.lake.version(table))
        recon = quality.reconciliation(self.lake)
        duplicates = _gauge("duplicates_dropped", "Bronze rows Silver dropped as duplicates")
        duplicates.add_metric([], float(recon["duplicates_dropped"].sum()))
        rejected = _gauge("rejected_rows", "rejected rows per hard rule (all dates)", ["reason"])
        for reason, count in quality.rejected_by_reason(self.lake).itertuples(index=False):
            rejected.add_metric([reason], count)
        age = quality.data_age(self.lake, datetime.now(UTC))
        newest = _gauge("data_newest_timestamp_seconds", "newest Kafka record time in Bronze")
        data_age = _gauge("data_age_seconds", "age of the newest Kafka record in Bronze")
        if age.as_of is not None:
            newest.add_metric([], age.as_of.timestamp())
            data_age.add_metric([], age.age.total_seconds())
        return [rows, versions, duplicates, rejected, newest, data_age]

    def _rules(self) -> list[Metric]:
        rates, _ = quality.rule_rates(self.lake)
        labels = ["date", "rule", "kind"]
        ratio = _gauge("rule_violation_ratio", "share of the partition's Bronze rows", labels)
        violations = _gauge("rule_violations", "rows violating the rule", labels)
        severity = _gauge("rule_severity", "0 ok, 1 warn, 2 error", labels)
        checked = _gauge("rule_rows_checked", "Bronze rows of the partition", ["date"])
        recent = sorted(set(rates["date"]))[-RULE_DATES:]
        for row in rates[rates["date"].isin(recent)].itertuples(index=False):
            key = [str(row.date), row.rule, str(row.kind)]
            violations.add_metric(key, float(row.violations))
            severity.add_metric(key, SEVERITY_CODES.get(row.severity, -1))
            if row.rate == row.rate:  # not NaN (a partition with no rows)
                ratio.add_metric(key, row.rate / 100)
        for day in recent:
            total = rates.loc[rates["date"] == day, "rows_checked"].max()
            checked.add_metric([str(day)], float(total))
        limits = _gauge(
            "rule_threshold_ratio", "rate above which a rule warns or errs", ["rule", "level"]
        )
        for row in quality.rule_thresholds(self.settings).itertuples(index=False):
            limits.add_metric([row.rule, "warn"], row.warn_rate / 100)
            limits.add_metric([row.rule, "error"], row.error_rate / 100)
        return [ratio, violations, severity, checked, limits]

    def _kafka(self) -> list[Metric]:
        status = ops.kafka_status(self.settings, self.lake)
        up = _gauge("kafka_up", "1 when the topic's offsets could be read")
        up.add_metric([], 1 if status.up and not status.error else 0)
        labels = ["topic", "partition"]
        end = _gauge("kafka_end_offset", "the topic's end offset (high watermark)", labels)
        position = _gauge("bronze_next_offset", "offset after the last one Bronze holds", labels)
        lag = _gauge("kafka_lag_messages", "messages in Kafka that Bronze lacks", labels)
        for row in status.partitions.itertuples(index=False):
            key = [status.topic, str(row.partition)]
            end.add_metric(key, row.end_offset)
            position.add_metric(key, row.bronze_offset)
            lag.add_metric(key, row.lag)
        metrics = [up, end, position, lag]
        if status.up and not status.error:
            window = quality.BRONZE_FRESHNESS_WINDOW.total_seconds()
            oldest = status.oldest_unread
            unread_age = 0.0 if oldest is None else (datetime.now(UTC) - oldest).total_seconds()
            age = _gauge("kafka_oldest_unread_age_seconds", "age of the oldest unread message")
            age.add_metric([], max(unread_age, 0.0))
            fresh = _gauge(
                "bronze_fresh",
                "1 unless Kafka holds a message older than Bronze's window that Bronze lacks",
            )
            fresh.add_metric([], 1 if unread_age <= window else 0)
            metrics += [age, fresh]
        return metrics

    def _dagster(self) -> list[Metric]:
        up = _gauge("dagster_instance_up", "1 when the Dagster instance could be read")
        if self._instance is None:
            self._instance = ops.open_instance(self.settings.dagster_home_path)
        if self._instance is None:
            up.add_metric([], 0)
            return [up]
        states = ops.asset_states(self._instance)
        up.add_metric([], 1)
        last = _gauge(
            "asset_last_materialization_timestamp_seconds",
            "when each asset last materialized (any partition)",
            ["asset"],
        )
        freshness = _gauge(
            "asset_freshness_state", "1 for the asset's current freshness state", ["asset", "state"]
        )
        for row in states.itertuples(index=False):
            if row.last_materialization is not None:
                last.add_metric([row.asset], row.last_materialization.timestamp())
            if row.freshness is not None:
                for state in FRESHNESS_STATES:
                    freshness.add_metric([row.asset, state], 1 if row.freshness == state else 0)
        return [up, last, freshness]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        """Scrapes every few seconds would flood the console; stay silent."""


def build_registry(settings: Settings, ttl: float = 10.0) -> CollectorRegistry:
    """A registry holding only the FastCart collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FastCartCollector(settings, ttl))
    return registry


def serve(settings: Settings, host: str, port: int, ttl: float = 10.0) -> None:
    """Serve /metrics on host:port until interrupted."""
    app = make_wsgi_app(build_registry(settings, ttl))
    with make_server(host, port, app, handler_class=_QuietHandler) as server:
        server.serve_forever()
