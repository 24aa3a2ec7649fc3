"""The Dagster instance used by `fastcart` commands (DAGSTER_HOME, default ./.dagster_home)."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from fastcart_assets.settings import Settings

# Each table is its own pool with one slot: two runs never write the same table at once.
DAGSTER_YAML = """\
# Written by fastcart on first use; edit freely.
concurrency:
  pools:
    default_limit: 1
run_monitoring:
  enabled: true
telemetry:
  enabled: false
"""


def ensure_dagster_home(settings: Settings | None = None) -> Path:
    """Create DAGSTER_HOME with FastCart's dagster.yaml if needed, and export it for Dagster."""
    home = (settings or Settings.from_env()).dagster_home_path
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def get_instance(settings: Settings | None = None) -> dg.DagsterInstance:
    """The persistent instance in DAGSTER_HOME, so CLI runs show in the UI."""
    ensure_dagster_home(settings)
    return dg.DagsterInstance.get()
