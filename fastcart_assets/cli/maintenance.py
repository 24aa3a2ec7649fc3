"""`fastcart maintain` and `fastcart history`: Delta table upkeep through delta-rs."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from fastcart_assets.settings import Settings


@click.command()
@click.option("--dry-run", is_flag=True, help="show what would be deleted or rewritten")
def maintain(dry_run: bool) -> None:
    """Retention (Bronze 90 days, Silver 365), compaction toward 128 MB files, vacuum (7 days).

    It runs as the `maintenance_job` in the Dagster instance: each table is maintained while
    holding the table's pool and writer lock, so it never races a writer.
    """
    from fastcart_assets.jobs import describe
    from fastcart_assets.maintenance import clean_scratch, maintain_table
    from fastcart_assets.tables import TABLES

    settings = Settings.from_env()
    today = datetime.now(UTC).date()
    if dry_run:
        plans = [p for info in TABLES if (p := maintain_table(settings, info, today, True))]
        if not plans:
            raise click.ClickException(
                "no tables yet: run `fastcart run` (or `fastcart demo`) first"
            )
        for plan in plans:
            click.echo(describe(plan, dry_run=True))
        click.echo(f"{len(clean_scratch(settings, dry_run=True))} stale scratch directories")
        click.echo("dry run: nothing was changed")
        return
    _run_job(settings)


def _run_job(settings: Settings) -> None:
    from fastcart_assets.cli.interrupt import stop_on_signals
    from fastcart_assets.instance import get_instance
    from fastcart_assets.jobs import describe, maintenance_job
    from fastcart_assets.resources.lake import LakeResource
    from fastcart_assets.runs import PoolBusy, process_tags, wait_for_pools
    from fastcart_assets.tables import TABLES

    instance = get_instance(settings)
    echo = lambda text: click.echo(f"  {text}")  # noqa: E731
    try:
        wait_for_pools(instance, {info.pool for info in TABLES}, on_wait=echo)
    except PoolBusy as exc:
        raise click.ClickException(str(exc)) from None
    with stop_on_signals(instance) as interruption:
        result = maintenance_job.execute_in_process(
            instance=instance,
            resources={"lake": LakeResource(root=settings.lake_root)},
            tags=process_tags(),
            run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
            raise_on_error=False,
        )
    if result.success:
        for info in TABLES:
            if plan := result.output_for_node(f"maintain_{info.view}"):
                click.echo(describe(plan, dry_run=False))
    if interruption.signum is not None:
        raise click.ClickException(f"stopped by {interruption.name}")
    if not result.success:
        failure = result.get_step_failure_events()[0].step_failure_data.error
        raise click.ClickException(
            f"maintenance failed: {failure.message.strip().splitlines()[-1]}"
        )
    click.echo(f"done; recorded as run {result.run_id[:8]} in {instance.root_directory}")


@click.command()
@click.argument("table")
@click.option("--limit", type=click.IntRange(1, 100_000), default=20, show_default=True)
def history(table: str, limit: int) -> None:
    """The commit history of TABLE (version, time, operation, metrics)."""
    from fastcart_assets.delta import table_exists
    from fastcart_assets.maintenance import history as table_history
    from fastcart_assets.tables import UnknownTable, table_info

    settings = Settings.from_env()
    try:
        resolved = table_info(table).path
    except UnknownTable as exc:
        raise click.ClickException(str(exc)) from None
    if not table_exists(settings.table_path(resolved)):
        raise click.ClickException(f"table {resolved} has not been written yet")
    for commit in table_history(settings, resolved, limit):
        when = datetime.fromtimestamp(commit.get("timestamp", 0) / 1000, UTC)
        metrics = commit.get("operationMetrics") or {}
        shown = ", ".join(f"{k}={v}" for k, v in list(metrics.items())[:4])
        click.echo(
            f"v{commit.get('version')}\t{when:%Y-%m-%d %H:%M:%S}\t"
            f"{commit.get('operation')}\t{shown}"
        )
