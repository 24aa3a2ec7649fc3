"""The Gold table registry is the one definition: assets, checks, catalog and docs follow it."""

from __future__ import annotations

import dagster as dg

from fastcart_assets.gold.assets import GOLD_ASSETS
from fastcart_assets.gold.build import SharedFrames
from fastcart_assets.gold.registry import CUSTOMERS, GOLD_TABLES, GROUPS, SALES, tables_of
from fastcart_assets.partitions import daily_partitions
from fastcart_assets.schema_docs import render
from fastcart_assets.tables import GOLD, asset_key, gold_asset_keys, table_info
from fastcart_assets_tests.gold.conftest import D0, D, columns, row

ORDERS = [
    row("O1", "pending", "2025-11-09 09:00", total=20.0),
    row("O1", "shipped", "2025-11-10 10:00", total=20.0),
    row("O2", "pending", "2025-11-10 11:00", total=5.0, customer_id="C2"),
    row("O2", "cancelled", "2025-11-10 12:00", total=5.0, customer_id="C2"),
]


def test_every_table_is_built_with_exactly_its_registry_schema(frames):
    events, facts = frames(ORDERS)
    shared = SharedFrames(events, facts)
    for table in GOLD_TABLES:
        frame = table.build(shared, [D0, D])
        assert columns(frame.schema) == columns(table.schema), table.name
        assert table.schema.fieldNames()[0] == table.partition_column
        days = {r[0] for r in frame.select(table.partition_column).distinct().collect()}
        assert days <= {D0, D}, table.name


def test_registry_names_groups_and_paths():
    names = [t.name for t in GOLD_TABLES]
    assert len(names) == len(set(names)) == 12
    assert [len(tables_of(g)) for g in GROUPS] == [6, 6]
    assert {t.partition_column for t in tables_of(SALES)} == {"date"}
    assert {t.partition_column for t in tables_of(CUSTOMERS)} == {"snapshot_date"}
    assert gold_asset_keys("sales_performance")[-1] == dg.AssetKey(
        ["gold", "sales_performance", "top_products"]
    )


def test_catalog_views_and_docs_come_from_the_registry():
    assert [(t.path, t.date_column) for t in GOLD] == [
        (t.path, t.partition_column) for t in GOLD_TABLES
    ]
    assert table_info("gold_top_customers").path == "gold/customer_analytics/top_customers"
    docs = render()
    for table in GOLD_TABLES:
        assert f"delta.`$FASTCART_LAKE_ROOT/{table.path}`" in docs
        assert table.description in docs
        for check in table.checks:
            assert f"check `{check.name}`: {check.description}" in docs


def test_multi_assets_and_partitioned_checks_are_generated_from_the_registry():
    keys = {key for assets in GOLD_ASSETS for key in assets.keys}
    assert keys == {asset_key(t.path) for t in GOLD_TABLES}
    specs = {spec.key: spec for assets in GOLD_ASSETS for spec in assets.check_specs}
    expected = {
        dg.AssetCheckKey(asset_key(t.path), c.name): c for t in GOLD_TABLES for c in t.checks
    }
    assert set(specs) == set(expected)
    for key, spec in specs.items():
        assert spec.description == expected[key].description
        assert spec.partitions_def == daily_partitions  # so the UI shows them per partition
    for assets in GOLD_ASSETS:
        for key in assets.keys:
            table = next(t for t in GOLD_TABLES if asset_key(t.path) == key)
            assert assets.specs_by_key[key].description == table.description
            assert assets.specs_by_key[key].group_name == table.group.name
