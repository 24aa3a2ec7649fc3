"""The Dagster instance used by `fastcart` commands (DAGSTER_HOME, default ./.dagster_home)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from fastcart_assets.settings import Settings


def dagster_yaml(storage_dir: str | None = None) -> str:
    """FastCart's dagster.yaml: Dagster's SQLite storage in `storage_dir` (default: whatever
    DAGSTER_HOME is) with its engines kept (`instance_storage`), and each table its own pool
    with one slot, so two runs never write the same table at once."""
    base_dir = json.dumps(storage_dir) if storage_dir else "{env: DAGSTER_HOME}"
    return f"""\
# Written by fastcart on first use; edit freely.
storage:
  custom:
    module: fastcart_assets.instance_storage
    class: SqliteStorage
    config:
      base_dir: {base_dir}
concurrency:
  pools:
    default_limit: 1
run_monitoring:
  enabled: true
telemetry:
  enabled: false
"""


DAGSTER_YAML = dagster_yaml()


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


@contextmanager
def temporary_instance(home: Path) -> Iterator[dg.DagsterInstance]:
    """An instance configured as `fastcart` configures DAGSTER_HOME, in `home` (a temporary
    directory, e.g. for a benchmark), without touching DAGSTER_HOME; disposed at the end."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(dagster_yaml(str(home)))
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        yield instance
    finally:
        instance.dispose()
