"""The Silver CDC assets through Dagster: materialization, checks that can fail, re-runs and the
SQL views (the automation that follows a Bronze CDC run: test_bronze_cdc.py)."""

from __future__ import annotations

import dagster as dg
import pytest
from pyspark.sql import functions as F

from fastcart_assets.cdc.assets import (
    CHECK_ACCOUNTED,
    CHECK_CURRENT_EQUALS_HISTORY,
    CHECK_NO_OVERLAP,
    CHECK_ONE_ROW_PER_ORDER,
    ORDERS_CURRENT_KEY,
    ORDERS_HISTORY_KEY,
    silver_orders_cdc,
)
from fastcart_assets.cdc.checks import account_envelopes
from fastcart_assets.metadata import ROW_COUNT, TABLE_NAME
from fastcart_assets.partitions import partition_key
from fastcart_assets.resources.lake import LakeResource
from fastcart_assets.resources.spark import SparkResource
from fastcart_assets_tests.cdc.changes import TS0, Delivered, encode, envelope, key, order_row
from fastcart_assets_tests.cdc.conftest import D1, D2

A, B, C = "ORD-10000001", "ORD-10000002", "ORD-10000003"
CHECKS = {
    CHECK_ONE_ROW_PER_ORDER,
    CHECK_CURRENT_EQUALS_HISTORY,
    CHECK_NO_OVERLAP,
    CHECK_ACCOUNTED,
}


def _record(offset: int, order_id: str, op: str, lsn: int, status="pending", partition=0):
    change = envelope(op, order_row(order_id, status, TS0 + lsn), lsn, TS0 + lsn * 1_000)
    return Delivered(partition, offset, key(order_id), encode(change), change)


@pytest.fixture
def filled(cdc_lake):
    cdc_lake.add_bronze(
        [
            _record(0, A, "r", 5),
            _record(1, B, "r", 5),
            _record(2, A, "u", 10, "confirmed"),
            _record(3, B, "d", 11),
            Delivered(0, 4, key(B), None),
            Delivered(0, 5, key(C), b"{broken"),
        ],
        D1,
    )
    redelivered = _record(0, A, "u", 10, "confirmed", partition=1)  # loses to offset 2
    cdc_lake.add_bronze([_record(6, C, "c", 20), redelivered], D2)
    return cdc_lake


def _materialize(lake, day, instance=None):
    return dg.materialize(
        [silver_orders_cdc],
        partition_key=partition_key(day),
        resources={"spark": SparkResource(), "lake": LakeResource(root=lake.root)},
        instance=instance,
        raise_on_error=False,
    )


def _checks(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


@pytest.mark.slow
def test_materializing_partitions_writes_both_tables_and_passes_every_check(filled):
    first = _materialize(filled, D1)
    assert first.success
    checks = _checks(first)
    assert set(checks) == CHECKS and all(c.passed for c in checks.values())
    accounted = checks[CHECK_ACCOUNTED].metadata
    assert accounted["envelopes"].value == 6
    assert accounted["rejected_by_reason"].value == {"malformed_json": 1}
    assert accounted["unaccounted"].value == 0
    current = first.asset_materializations_for_node("silver_orders_cdc")
    by_key = {m.asset_key: m.metadata for m in current}
    assert by_key[ORDERS_CURRENT_KEY]["inserted"].value == 1
    assert by_key[ORDERS_HISTORY_KEY]["versions_inserted"].value == 4
    assert by_key[ORDERS_HISTORY_KEY]["rows"].value == by_key[ORDERS_HISTORY_KEY][ROW_COUNT].value
    assert by_key[ORDERS_CURRENT_KEY][ROW_COUNT].value == 1  # B was deleted
    assert by_key[ORDERS_CURRENT_KEY][TABLE_NAME].value == "silver_orders_current"

    second = _materialize(filled, D2)
    assert second.success and all(c.passed for c in _checks(second).values())
    assert _checks(second)[CHECK_ACCOUNTED].metadata["redeliveries"].value == 1
    assert [row[0] for row in filled.current_rows()] == [A, C]

    versions = filled.versions()
    again = _materialize(filled, D1)
    assert again.success and all(c.passed for c in _checks(again).values())
    assert filled.versions() == versions  # a re-run commits nothing


def test_checks_fail_on_tables_that_break_the_invariants(filled, spark):
    assert _materialize(filled, D1).success
    current = spark.read.format("delta").load(filled.current)
    current.write.format("delta").mode("append").save(filled.current)  # every row twice
    history = spark.read.format("delta").load(filled.history)
    other = history.where("is_current").withColumn("order_id", F.lit("ORD-99999999"))
    # Two open versions of an order no batch touches (a re-run recomputes touched orders).
    other.unionByName(other.withColumn("lsn", other.lsn - 1)).write.format("delta").mode(
        "append"
    ).save(filled.history)
    checks = _checks(_materialize(filled, D1))
    assert not checks[CHECK_ONE_ROW_PER_ORDER].passed
    assert checks[CHECK_ONE_ROW_PER_ORDER].metadata["duplicate_rows"].value == 1
    assert not checks[CHECK_CURRENT_EQUALS_HISTORY].passed
    assert not checks[CHECK_NO_OVERLAP].passed
    assert checks[CHECK_ACCOUNTED].passed


def test_a_change_missing_from_history_is_unaccounted(filled, spark):
    filled.process(D1)
    spark.sql(f"DELETE FROM delta.`{filled.history}` WHERE op = 'd'")  # as if lost
    bronze = spark.read.format("delta").load(filled.bronze)
    history = spark.read.format("delta").load(filled.history)
    accounting = account_envelopes(bronze, history, [D1], filled.root)
    assert (accounting.envelopes, accounting.unaccounted) == (6, 1)
    assert (accounting.tombstones, accounting.rejected, accounting.in_history) == (1, 1, 3)


def test_cdc_tables_are_sql_views(filled, spark):
    from fastcart_assets.query import read_table, register_views
    from fastcart_assets.tables import UnknownTable, table_info

    filled.process(D1)
    views = register_views(spark, filled.settings)
    assert {"bronze_orders_cdc", "silver_orders_current", "silver_orders_history"} <= set(views)
    live = spark.sql("SELECT order_id FROM silver_orders_current").collect()
    assert [row.order_id for row in live] == [A]
    assert table_info("orders_history").path == "silver/orders_history"
    assert read_table(spark, filled.settings, table_info("bronze/orders_cdc"), D1).count() == 6
    with pytest.raises(UnknownTable, match="no date partition"):
        read_table(spark, filled.settings, table_info("silver/orders_current"), D1)
