"""Expectations with severities (docs/SPEC.md §8): each rule's violation rate per partition.

The rate of a rule in a daily partition is the share of that partition's Bronze rows violating
it: rows rejected for it (hard rules) or flagged by it (soft rules). Above the rule's
`warn_rate` it is a WARN, above its `error_rate` an ERROR; an ERROR keeps the partition's
touched dates out of Gold. Pure functions: no Spark, no Dagster.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from fastcart_assets.settings import RuleThreshold
from fastcart_assets.silver.rules import RULES

if TYPE_CHECKING:
    from fastcart_assets.silver.writes import PartitionCounts

OK, WARN, ERROR = "ok", "warn", "error"
SEVERITIES = (OK, WARN, ERROR)


def severity_of(rate: float, threshold: RuleThreshold) -> str:
    """`error` above the error rate, `warn` above the warn rate, else `ok`."""
    if rate > threshold.error_rate:
        return ERROR
    if rate > threshold.warn_rate:
        return WARN
    return OK


@dataclass(frozen=True)
class RuleOutcome:
    """One rule evaluated on one daily partition: one row of `quality/rule_metrics`."""

    day: date
    rule: str
    kind: str  # hard or soft
    rows_checked: int  # Bronze rows of the partition
    violations: int
    threshold: RuleThreshold

    @property
    def rate(self) -> float:
        return self.violations / self.rows_checked if self.rows_checked else 0.0

    @property
    def severity(self) -> str:
        return severity_of(self.rate, self.threshold)


@dataclass(frozen=True)
class PartitionCheck:
    """A check that must hold on one partition: rows checked, rows violating it, a breakdown."""

    name: str
    day: date
    rows_checked: int
    violations: int
    details: dict[str, int] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.violations == 0

    @property
    def rate(self) -> float:
        return self.violations / self.rows_checked if self.rows_checked else 0.0


# The thresholds of a rule that is counted but never rated (`erased`): no rate exceeds 100%.
UNRATED = RuleThreshold(warn_rate=1.0, error_rate=1.0)


def rule_outcomes(
    counts_by_partition: Mapping[date, PartitionCounts],
    threshold: Callable[[str], RuleThreshold],
) -> list[RuleOutcome]:
    """Every rule of the registry on every partition, in date then registry order; a rule that
    is not rated (`erased`) is always `ok`."""
    return [
        RuleOutcome(
            day=day,
            rule=rule.name,
            kind=rule.kind,
            rows_checked=counts.rows_in,
            violations=counts.violations(rule.name),
            threshold=threshold(rule.name) if rule.rated else UNRATED,
        )
        for day, counts in sorted(counts_by_partition.items())
        for rule in RULES
    ]


def errors_by_partition(
    days: Iterable[date], failures: Iterable[tuple[date, str]]
) -> dict[date, list[str]]:
    """For each of `days`, the names (rules or checks) at ERROR on it, from (day, name) pairs."""
    errors: dict[date, list[str]] = {day: [] for day in days}
    for day, name in failures:
        if name not in errors.setdefault(day, []):
            errors[day].append(name)
    return errors
