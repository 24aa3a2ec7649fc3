"""The dashboard's server process: imports what the pages need, then runs Streamlit's own
command line, so the first page a browser asks for does not wait for those imports."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

HOST = "127.0.0.1"
APP = Path(__file__).with_name("app.py")


def streamlit_args(port: int) -> list[str]:
    """`streamlit run` arguments for the dashboard on HOST:port, headless, no telemetry."""
    options = {
        "server.address": HOST,
        "server.port": port,
        "server.headless": "true",
        "server.fileWatcherType": "none",
        "browser.gatherUsageStats": "false",
        "global.developmentMode": "false",
        "client.toolbarMode": "minimal",
        "theme.base": "light",
    }
    return ["run", str(APP), *[f"--{name}={value}" for name, value in options.items()]]


def warm_up() -> None:
    """Import what the pages use and open the lake's tables once (the reader is shared by
    every session), so that the first page drawn pays neither."""
    import altair  # noqa: F401

    from fastcart_assets.dashboard import ui
    from fastcart_assets.dashboard.data import customers, ops, quality, sales  # noqa: F401
    from fastcart_assets.dashboard.data.lake import latest_day

    lake = ui.reader()
    day = latest_day(sales.sales_dates(lake), datetime.now(UTC).date())
    quality.data_age(lake, datetime.now(UTC))
    if day is not None:
        sales.sales_tiles(lake, day)
        sales.hourly_revenue(lake, day)


def main(port: int) -> None:
    from streamlit.web import cli

    logging.disable(logging.WARNING)  # Streamlit's "no script context" notes while warming
    try:
        warm_up()
    finally:
        logging.disable(logging.NOTSET)
    cli.main(args=streamlit_args(port), prog_name="streamlit")


if __name__ == "__main__":
    main(int(sys.argv[1]))
