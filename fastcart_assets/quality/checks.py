"""Per-partition asset check evaluations with numbers the Dagster UI plots.

A Silver or Bronze step may process a range of partitions in one run (single-run backfill
policy, docs/SPEC.md §9); `dg.AssetCheckResult` cannot name a partition there, so the steps
yield one `dg.AssetCheckEvaluation` per check and partition (for checks whose spec has the
asset's `partitions_def`) plus the check's output once, which is what Dagster itself does for
an `AssetCheckResult` (dagster/_core/execution/plan/execute_step.py).

The pointer from an evaluation to its partition's materialization is Dagster's
`AssetCheckEvaluationTargetMaterializationData`, which 1.13 does not export: this module is the
only one in the package that imports from `dagster._core`. Without the pointer the UI shows
every range-run check as not current; `gold/test_assets.py` asserts `is_current` per partition.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import dagster as dg
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,  # not exported by dagster 1.13
)

from fastcart_assets.quality.expectations import (
    ERROR,
    UNRATED,
    WARN,
    PartitionCheck,
    RuleOutcome,
)

_SEVERITY = {WARN: dg.AssetCheckSeverity.WARN, ERROR: dg.AssetCheckSeverity.ERROR}


def numbers(
    rows_checked: int, violations: int, rate: float, warn_rate: float, error_rate: float
) -> dict[str, dg.MetadataValue]:
    """The numeric metadata every check carries (plotted per partition in the UI)."""
    return {
        "rows_checked": dg.MetadataValue.int(rows_checked),
        "violations": dg.MetadataValue.int(violations),
        "rate": dg.MetadataValue.float(round(rate, 6)),
        "warn_rate": dg.MetadataValue.float(warn_rate),
        "error_rate": dg.MetadataValue.float(error_rate),
    }


def rate_evaluation(
    asset_key: dg.AssetKey, check_name: str, outcome: RuleOutcome
) -> dg.AssetCheckEvaluation:
    """A rule's rate on one partition: passed when `ok`, else WARN or ERROR (never blocking)."""
    threshold = outcome.threshold
    limits = (
        "counted, never rated"
        if threshold == UNRATED
        else f"warn above {threshold.warn_rate:.1%}, error above {threshold.error_rate:.1%}"
    )
    description = (
        f"{outcome.violations:,} of {outcome.rows_checked:,} Bronze rows "
        f"({outcome.rate:.2%}) {'rejected for' if outcome.kind == 'hard' else 'flagged'} "
        f"{outcome.rule}: {outcome.severity.upper()} ({limits})"
    )
    return dg.AssetCheckEvaluation(
        asset_key=asset_key,
        check_name=check_name,
        passed=outcome.severity not in _SEVERITY,
        severity=_SEVERITY.get(outcome.severity, dg.AssetCheckSeverity.WARN),
        description=description,
        blocking=False,
        partition=outcome.day.isoformat(),
        metadata={
            **numbers(
                outcome.rows_checked,
                outcome.violations,
                outcome.rate,
                threshold.warn_rate,
                threshold.error_rate,
            ),
            "severity": dg.MetadataValue.text(outcome.severity),
            "kind": dg.MetadataValue.text(outcome.kind),
        },
    )


def invariant_evaluation(
    asset_key: dg.AssetKey, check: PartitionCheck, description: str, blocking: bool = True
) -> dg.AssetCheckEvaluation:
    """A check that must hold on every partition: any violation is an ERROR."""
    return dg.AssetCheckEvaluation(
        asset_key=asset_key,
        check_name=check.name,
        passed=check.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"{check.violations:,} of {check.rows_checked:,} rows violate it "
        f"({description})",
        blocking=blocking,
        partition=check.day.isoformat(),
        metadata={
            **numbers(check.rows_checked, check.violations, check.rate, 0.0, 0.0),
            **{name: dg.MetadataValue.int(value) for name, value in check.details.items()},
        },
    )


def yield_evaluations(
    context: dg.AssetExecutionContext, evaluations: Iterable[dg.AssetCheckEvaluation]
) -> Iterator[dg.Output | dg.AssetCheckEvaluation]:
    """Each selected check's output once, then its evaluations (one per partition), each
    pointing at the partition's materialization: Dagster counts a partitioned check as current
    (for the UI and `all_deps_blocking_checks_passed`) only when it targets the latest one."""
    selected = context.selected_asset_check_keys
    evaluations = [e for e in evaluations if e.asset_check_key in selected]
    for key in dict.fromkeys(e.asset_check_key for e in evaluations):
        yield dg.Output(
            None, output_name=context.assets_def.get_output_name_for_asset_check_key(key)
        )
    targets: dict[
        tuple[dg.AssetKey, str | None], AssetCheckEvaluationTargetMaterializationData
    ] = {}
    for evaluation in evaluations:
        where = (evaluation.asset_key, evaluation.partition)
        if where not in targets:
            targets[where] = _latest_materialization(context, *where)
        yield dg.AssetCheckEvaluation(
            asset_key=evaluation.asset_key,
            check_name=evaluation.check_name,
            passed=evaluation.passed,
            metadata=evaluation.metadata,
            target_materialization_data=targets[where],
            severity=evaluation.severity,
            description=evaluation.description,
            blocking=evaluation.blocking,
            partition=evaluation.partition,
        )


def _latest_materialization(
    context: dg.AssetExecutionContext, asset_key: dg.AssetKey, partition: str | None
) -> AssetCheckEvaluationTargetMaterializationData | None:
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=asset_key, asset_partitions=[partition] if partition else None
        ),
        limit=1,
    ).records
    if not records:
        return None
    record = records[0]
    return AssetCheckEvaluationTargetMaterializationData(
        storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
    )
