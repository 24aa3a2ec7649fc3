"""Where the Delta tables live (FASTCART_LAKE_ROOT), as a Dagster resource."""

from __future__ import annotations

import dagster as dg

from fastcart_assets.runs import tag_run_with_process
from fastcart_assets.settings import Settings


class LakeResource(dg.ConfigurableResource):
    """The lake root; every table path comes from `table_path`."""

    root: str

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Every layer uses the lake: record which process runs this run, so a run whose process
        # is killed can be found and its pool slots released (fastcart_assets/runs.py).
        tag_run_with_process(context.instance, context.run_id)

    def table_path(self, table: str) -> str:
        return Settings(lake_root=self.root).table_path(table)
