"""`fastcart forget CUSTOMER_ID`: the right to be forgotten on the lake (docs/SPEC.md §9)."""

from __future__ import annotations

import sys

import click

from fastcart_assets.settings import Settings

WIDTH = 48  # the longest table path


def _actions() -> dict[str, str]:
    """How the report names what happened to each table's rows of the customer."""
    from fastcart_assets.tables import (
        BRONZE,
        BRONZE_CDC,
        ORDERS_CURRENT,
        ORDERS_HISTORY,
        SILVER,
        SILVER_REJECTED,
    )

    return {
        BRONZE.path: "blanked (Kafka coordinates kept)",
        SILVER.path: "removed",
        SILVER_REJECTED.path: "blanked, rejected as `erased`",
        BRONZE_CDC.path: "blanked (Kafka coordinates kept)",
        ORDERS_HISTORY.path: "deleted",
        ORDERS_CURRENT.path: "deleted",
    }


def _report(outcome) -> None:
    findings, actions = outcome.findings, _actions()
    click.echo("rows of the customer:")
    for table, rows in findings.found.items():
        action = actions.get(table, "recomputed without them") if rows else "-"
        click.echo(f"  {table:<{WIDTH}} {rows:>7,}  {action}")
    click.echo(f"  {'quality/forgotten':<{WIDTH}} {findings.recorded:>7,}  records added")
    for table, rows in sorted(outcome.changed.items()):
        if table.startswith("gold/") and rows:
            click.echo(f"  {table:<{WIDTH}} {rows:>7,}  redacted (past Silver's retention)")
    for group, ranges in outcome.gold_ranges.items():
        days = sum((last - first).days + 1 for first, last in ranges)
        spans = ", ".join(f"{a}..{b}" if a != b else f"{a}" for a, b in ranges)
        click.echo(f"Gold {group}: {days} partitions recomputed ({spans or 'none'})")
    click.echo("vacuumed to the current version (time travel before now is gone):")
    for purged in outcome.purged:
        files, entries = purged.files, purged.log_entries
        click.echo(f"  {purged.table:<{WIDTH}} {files:>5} files, {entries:>3} log entries")
    click.echo(f"scratch directories removed: {outcome.scratch_removed}")


@click.command()
@click.argument("customer_id")
def forget(customer_id: str) -> None:
    """Erase CUSTOMER_ID's personal data from every layer, then vacuum what held it.

    Bronze rows keep their Kafka coordinates with the personal fields, `_raw` and headers
    blanked, and are recorded in quality/forgotten (so Silver re-runs and Bronze replays keep
    them erased); Silver and Gold are recomputed without the customer; the rewritten tables
    are vacuumed to their current version (their time travel before now is lost). Runs
    through Dagster, recorded in DAGSTER_HOME under a request id (never the customer id).
    """
    from fastcart_assets.forget.customer import checked_customer_id

    customer_id = checked_customer_id(customer_id)  # refused before anything starts

    from fastcart_assets.cli.interrupt import stop_on_signals
    from fastcart_assets.cli.pipeline import _echo_stage
    from fastcart_assets.definitions import build_definitions
    from fastcart_assets.forget.process import forget_customer
    from fastcart_assets.instance import get_instance

    settings = Settings.from_env()
    instance = get_instance(settings)
    defs = build_definitions(settings)
    with stop_on_signals(instance) as interruption:
        outcome = forget_customer(
            defs,
            instance,
            customer_id,
            on_stage=_echo_stage,
            on_wait=lambda text: click.echo(f"  {text}"),
        )
    if interruption.signum is not None:
        click.echo(f"stopped by {interruption.name}: run `fastcart forget` again to finish")
        sys.exit(interruption.exit_code)
    runs = ", ".join(run_id[:8] for run_id in outcome.run_ids)
    if outcome.findings is not None and outcome.findings.nothing:
        click.echo(f"no data found for this customer id; nothing changed (run {runs})")
        return
    if outcome.findings is not None:
        _report(outcome)
    for error in outcome.errors:
        click.echo(f"error: {error}")
    status = "done" if outcome.success else "FAILED"
    click.echo(
        f"{status}: request {outcome.request_id}; runs {runs} recorded in {instance.root_directory}"
    )
    if not outcome.success:
        sys.exit(1)
