"""`fastcart dashboard` and `fastcart metrics`: watch the lake live, or let Prometheus scrape it."""

from __future__ import annotations

import os
import socket
import sys

import click

from fastcart_assets.cli.options import Finite
from fastcart_assets.dashboard.server import HOST
from fastcart_assets.settings import Settings


def _ensure_free(port: int, option: str, host: str = HOST) -> None:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise click.ClickException(
                f"port {port} on {host} is not free ({exc.strerror}); choose another with {option}"
            ) from exc


def dashboard_command(port: int) -> list[str]:
    """The command line of the dashboard's server process on HOST:port."""
    return [sys.executable, "-m", "fastcart_assets.dashboard.server", str(port)]


@click.command()
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
def dashboard(port: int) -> None:
    """Live dashboard on http://127.0.0.1:PORT: sales, customers, data quality (no Spark)."""
    _ensure_free(port, "--port")
    settings = Settings.from_env()
    click.echo(
        f"FastCart dashboard on http://{HOST}:{port} (lake {settings.lake_uri}, refreshed "
        "every 5 s); Ctrl-C stops it"
    )
    sys.stdout.flush()
    command = dashboard_command(port)
    # Become the Streamlit server: one process, which a signal to this pid stops.
    os.execv(command[0], command)


@click.command()
@click.option("--port", type=click.IntRange(1, 65535), default=9108, show_default=True)
@click.option(
    "--host",
    default=HOST,
    show_default=True,
    help="interface to listen on; only inside a private network (a container) use 0.0.0.0",
)
@click.option(
    "--ttl",
    type=Finite(min=0, max=3600),
    default=10.0,
    show_default=True,
    help="seconds a collected set of figures is served before it is collected again",
)
def metrics(port: int, host: str, ttl: float) -> None:
    """Prometheus metrics on http://127.0.0.1:PORT/metrics: rows, lag, rule rates, runs."""
    from fastcart_assets.dashboard.metrics import serve

    _ensure_free(port, "--port", host)
    settings = Settings.from_env()
    click.echo(
        f"FastCart metrics on http://{host}:{port}/metrics (lake {settings.lake_uri}, Kafka "
        f"{settings.kafka_bootstrap}); Ctrl-C stops it"
    )
    try:
        serve(settings, host, port, ttl)
    except KeyboardInterrupt:
        click.echo("stopped")
