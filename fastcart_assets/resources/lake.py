"""Where the Delta tables live (FASTCART_LAKE_ROOT), as a Dagster resource."""

from __future__ import annotations

import dagster as dg

from fastcart_assets.settings import Settings


class LakeResource(dg.ConfigurableResource):
    """The lake root; every table path comes from `table_path`."""

    root: str

    def table_path(self, table: str) -> str:
        return Settings(lake_root=self.root).table_path(table)
