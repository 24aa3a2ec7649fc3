"""Severities from rates: above warn_rate WARN, above error_rate ERROR (docs/SPEC.md §8)."""

from __future__ import annotations

from datetime import date

import pytest

from fastcart_assets.quality.expectations import (
    ERROR,
    OK,
    WARN,
    errors_by_partition,
    rule_outcomes,
    severity_of,
)
from fastcart_assets.settings import RuleThreshold, Settings
from fastcart_assets.silver.rules import RULES
from fastcart_assets.silver.writes import PartitionCounts

DAY = date(2025, 11, 9)


@pytest.mark.parametrize(
    "rate, severity",
    [(0.0, OK), (0.02, OK), (0.0201, WARN), (0.10, WARN), (0.1001, ERROR), (1.0, ERROR)],
)
def test_default_rates_are_two_and_ten_percent_and_strictly_above(rate, severity):
    assert severity_of(rate, RuleThreshold()) == severity


def test_a_rule_with_error_rate_zero_errs_on_any_violation():
    assert severity_of(0.0, RuleThreshold(0.0, 0.0)) == OK
    assert severity_of(1e-9, RuleThreshold(0.0, 0.0)) == ERROR


def test_outcomes_cover_every_rule_of_every_partition_with_its_own_threshold():
    settings = Settings.from_env({"FASTCART_DQ_THRESHOLDS": "malformed_json=20%:40%"})
    counts = {
        DAY: PartitionCounts(
            rows_in=100,
            rejected_by_reason={"malformed_json": 30, "invalid_total": 5},
            flagged_by_rule={"stale_timestamp": 11},
        ),
        date(2025, 11, 10): PartitionCounts(rows_in=0),
    }
    outcomes = rule_outcomes(counts, settings.threshold)
    assert len(outcomes) == 2 * len(RULES)
    found = {(o.day, o.rule): (o.kind, o.violations, o.rate, o.severity) for o in outcomes}
    assert found[(DAY, "malformed_json")] == ("hard", 30, 0.3, WARN)  # 30% <= 40%
    assert found[(DAY, "invalid_total")] == ("hard", 5, 0.05, WARN)
    assert found[(DAY, "stale_timestamp")] == ("soft", 11, 0.11, ERROR)
    assert found[(DAY, "total_mismatch")] == ("soft", 0, 0.0, OK)
    assert found[(date(2025, 11, 10), "malformed_json")] == ("hard", 0, 0.0, OK)  # no rows


def test_errors_by_partition_lists_each_name_once_and_every_day():
    errors = errors_by_partition(
        [DAY, date(2025, 11, 10)], [(DAY, "rule_a"), (DAY, "rule_a"), (DAY, "check_b")]
    )
    assert errors == {DAY: ["rule_a", "check_b"], date(2025, 11, 10): []}
