"""Silver (and one Gold table) for some Bronze days in its own process, for concurrency tests.

python -m fastcart_assets_tests.silver_worker LAKE_ROOT DAY [DAY ...]
"""

from __future__ import annotations

import sys
from datetime import date

from fastcart_assets.gold.build import shared_frames, write_partitions
from fastcart_assets.gold.registry import gold_table
from fastcart_assets.resources.spark import spark_session
from fastcart_assets.settings import Settings
from fastcart_assets.silver.writes import process_partitions
from fastcart_assets.tables import BRONZE, SILVER, SILVER_REJECTED


def main() -> None:
    settings = Settings(lake_root=sys.argv[1])
    days = [date.fromisoformat(text) for text in sys.argv[2:]]
    spark = spark_session()
    paths = [settings.table_path(t) for t in (BRONZE.path, SILVER.path, SILVER_REJECTED.path)]
    result = process_partitions(spark, *paths, days)
    table = gold_table("daily_product_revenue")
    path = settings.table_path(table.path)
    with shared_frames(spark, paths[1], settings.lake_root) as shared:
        frame = table.build(shared, result.touched_dates)
        write_partitions(frame, path, table, result.touched_dates)
    sys.stdout.write(f"inserted={result.inserted}\n")


if __name__ == "__main__":
    main()
