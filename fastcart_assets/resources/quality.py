"""The data-quality thresholds as a Dagster resource (FASTCART_DQ_THRESHOLDS, docs/SPEC.md §8)."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from fastcart_assets.settings import RuleThreshold, Settings


class QualityResource(dg.ConfigurableResource):
    """Per-rule WARN/ERROR rates; a rule not listed uses the defaults (2% / 10%)."""

    thresholds: dict[str, list[float]] = Field(
        default_factory=dict,
        description="rule -> [warn_rate, error_rate], as fractions of the partition's Bronze rows",
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> QualityResource:
        return cls(
            thresholds={
                rule: [threshold.warn_rate, threshold.error_rate]
                for rule, threshold in settings.rule_thresholds.items()
            }
        )

    def threshold(self, rule: str) -> RuleThreshold:
        """The rates of `rule`."""
        if rule not in self.thresholds:
            return RuleThreshold()
        warn, error = self.thresholds[rule]
        return RuleThreshold(warn_rate=warn, error_rate=error)
