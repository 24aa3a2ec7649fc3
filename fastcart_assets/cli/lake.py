"""`fastcart query`, `fastcart sql` and `fastcart ui`: look at the lake and the pipeline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from fastcart_assets.settings import Settings, is_uri


def _session():
    from fastcart_assets.resources.spark import spark_session

    return spark_session(Settings.from_env().spark_remote)


def show(frame, limit: int) -> None:
    """Print up to `limit` rows: a table on a terminal, tab-separated lines otherwise."""
    rows = frame.limit(limit).collect()
    cells = [["" if v is None else str(v) for v in row] for row in rows]
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(header_style="bold")
        for name in frame.columns:
            table.add_column(name, no_wrap=True, overflow="ellipsis", max_width=32)
        for row in cells:
            table.add_row(*row)
        Console().print(table)
    else:
        click.echo("\t".join(frame.columns))
        for row in cells:
            click.echo("\t".join(row))
    click.echo(f"({len(rows)} rows shown)")


@click.command()
@click.argument("table")
@click.option("--limit", type=click.IntRange(1, 1_000_000), default=10, show_default=True)
@click.option(
    "--date",
    "day",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="only this date (the table's partition column)",
)
def query(table: str, limit: int, day) -> None:
    """Show rows of TABLE (path, view name or short name, e.g. daily_product_revenue)."""
    from fastcart_assets.query import read_table
    from fastcart_assets.tables import UnknownTable, table_info

    try:
        resolved = table_info(table)
        frame = read_table(_session(), Settings.from_env(), resolved, day.date() if day else None)
    except UnknownTable as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{resolved.path}" + (f" on {day.date()}" if day else ""))
    show(frame, limit)


@click.command()
@click.argument("statement")
@click.option("--limit", type=click.IntRange(1, 1_000_000), default=50, show_default=True)
@click.option(
    "--allow-write",
    is_flag=True,
    help="allow statements that change tables (DELETE, UPDATE, MERGE, …); they run while "
    "holding every table's writer lock (local lakes only)",
)
def sql(statement: str, limit: int, allow_write: bool) -> None:
    """Run a SQL STATEMENT with every table registered as a view (e.g. gold_top_products).

    Read-only unless --allow-write.
    """
    from contextlib import ExitStack

    from pyspark.errors import PySparkException

    from fastcart_assets.locks import WRITER_WAIT_S, TableBusy, table_lock
    from fastcart_assets.query import register_views
    from fastcart_assets.sql_guard import WriteRefused, check_read_only
    from fastcart_assets.tables import TABLES

    settings = Settings.from_env()
    if not allow_write:
        try:
            check_read_only(statement)
        except WriteRefused as exc:
            raise click.ClickException(str(exc)) from None
    elif is_uri(settings.lake_root) and not settings.lake_root.startswith("file://"):
        raise click.ClickException(
            "--allow-write needs a local lake: object-store lakes are written only by Dagster "
            "runs, which their pools serialize"
        )
    session = _session()
    views = register_views(session, settings)
    if not views:
        raise click.ClickException("no tables yet: run `fastcart run` (or `fastcart demo`) first")
    try:
        with ExitStack() as locks:
            if allow_write:
                for table in TABLES:
                    locks.enter_context(
                        table_lock(settings.table_path(table.path), wait_s=WRITER_WAIT_S)
                    )
            show(session.sql(statement), limit)
    except TableBusy as exc:
        raise click.ClickException(str(exc)) from None
    except PySparkException as exc:
        first_line = str(exc).strip().splitlines()[0]
        raise click.ClickException(f"{first_line}\nviews: {', '.join(views)}") from exc


@click.command()
@click.option("--port", type=click.IntRange(1, 65535), default=3000, show_default=True)
def ui(port: int) -> None:
    """Open the Dagster UI on this project (`dagster dev` with workspace.yaml)."""
    from fastcart_assets.instance import ensure_dagster_home

    home = ensure_dagster_home()
    workspace = Path("workspace.yaml")
    if not workspace.exists():
        raise click.ClickException("run `fastcart ui` from the project directory (workspace.yaml)")
    click.echo(f"Dagster UI on http://127.0.0.1:{port} (DAGSTER_HOME={home}); Ctrl-C stops it")
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster), "dev", "-w", str(workspace), "-h", "127.0.0.1", "-p", str(port)]
    sys.exit(subprocess.call(command, env={**os.environ}))
