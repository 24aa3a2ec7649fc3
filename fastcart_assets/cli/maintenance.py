"""`fastcart maintain` and `fastcart history`: Delta table upkeep through delta-rs."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from fastcart_assets.settings import Settings


@click.command()
@click.option("--dry-run", is_flag=True, help="show what would be deleted or rewritten")
def maintain(dry_run: bool) -> None:
    """Retention (Bronze 90 days, Silver 365), compaction toward 128 MB files, vacuum (7 days)."""
    from fastcart_assets.maintenance import maintain as run

    plans = run(Settings.from_env(), datetime.now(UTC).date(), dry_run=dry_run)
    if not plans:
        raise click.ClickException("no tables yet: run `fastcart run` (or `fastcart demo`) first")
    verb = "would" if dry_run else "did"
    for plan in plans:
        retention = (
            f"{plan.expired_rows:,} rows older than {plan.cutoff}"
            if plan.cutoff
            else "kept indefinitely"
        )
        files = (
            f"{plan.files_before} files"
            if plan.files_after is None
            else f"{plan.files_before} -> {plan.files_after} files"
        )
        click.echo(
            f"{plan.table:<48} retention: {retention}; {files}; "
            f"vacuum {verb} remove {len(plan.vacuumed_files)} files"
        )
    if dry_run:
        click.echo("dry run: nothing was changed")


@click.command()
@click.argument("table")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
def history(table: str, limit: int) -> None:
    """The commit history of TABLE (version, time, operation, metrics)."""
    from fastcart_assets.delta import table_exists
    from fastcart_assets.maintenance import history as table_history
    from fastcart_assets.tables import UnknownTable, table_info

    settings = Settings.from_env()
    try:
        resolved = table_info(table).path
    except UnknownTable as exc:
        raise click.ClickException(str(exc)) from exc
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
