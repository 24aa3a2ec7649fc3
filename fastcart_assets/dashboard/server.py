"""The dashboard's server process: imports what the pages need, then runs Streamlit's own
command line, so the first page a browser asks for does not wait for those imports."""

from __future__ import annotations

import sys
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


def main(port: int) -> None:
    import altair  # noqa: F401
    from streamlit.web import cli

    from fastcart_assets.dashboard import ui  # noqa: F401
    from fastcart_assets.dashboard.data import customers, ops, quality, sales  # noqa: F401

    cli.main(args=streamlit_args(port), prog_name="streamlit")


if __name__ == "__main__":
    main(int(sys.argv[1]))
