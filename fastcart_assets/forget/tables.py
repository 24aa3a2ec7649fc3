"""The tables `fastcart forget` reads and rewrites, and the view of the lake it reads them by."""

from __future__ import annotations

from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession

from fastcart_assets.delta import check_readable
from fastcart_assets.gold.registry import GOLD_TABLES
from fastcart_assets.gold.schemas import PERSONAL_COLUMNS
from fastcart_assets.settings import Settings
from fastcart_assets.tables import (
    BRONZE,
    BRONZE_CDC,
    GOLD,
    ORDERS_CURRENT,
    ORDERS_HISTORY,
    SILVER,
    SILVER_REJECTED,
    TableInfo,
    table_info,
)

# Gold tables that name customers (a personal column): recomputed, or redacted where Silver's
# retention keeps their input out of reach. The other Gold tables hold aggregates only.
NAMED_GOLD: tuple[TableInfo, ...] = tuple(
    table_info(t.path) for t in GOLD_TABLES if PERSONAL_COLUMNS & set(t.schema.fieldNames())
)
# Every table that can hold a customer's personal data: checked after an erasure.
PERSONAL_TABLES: tuple[TableInfo, ...] = (
    BRONZE,
    SILVER,
    SILVER_REJECTED,
    BRONZE_CDC,
    ORDERS_HISTORY,
    ORDERS_CURRENT,
    *NAMED_GOLD,
)
# Every table an erasure rewrites: vacuumed to its current version afterwards. Gold tables
# that name no customer are included: their old versions hold numbers of the customer's orders
# (a state with one customer, say), and they are recomputed anyway.
PURGED_TABLES: tuple[TableInfo, ...] = (
    *PERSONAL_TABLES,
    *(info for info in GOLD if info not in NAMED_GOLD),
)


@dataclass
class Lake:
    """The lake's tables as `forget` reads them: existence is checked once per table."""

    spark: SparkSession
    settings: Settings
    _exists: dict[str, bool] = field(default_factory=dict)

    def path(self, info: TableInfo) -> str:
        return self.settings.table_path(info.path)

    def exists(self, info: TableInfo) -> bool:
        """True when the table has been written (a corrupt log is reported, not skipped)."""
        if info.path not in self._exists:
            self._exists[info.path] = check_readable(self.path(info))
        return self._exists[info.path]

    def read(self, info: TableInfo) -> DataFrame:
        return self.spark.read.format("delta").load(self.path(info))
