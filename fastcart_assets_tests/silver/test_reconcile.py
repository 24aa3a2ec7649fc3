"""Reconciliation per date: Bronze rows = Silver rows + rejected rows + dropped duplicates."""

from __future__ import annotations

from fastcart_assets.silver.checks import Reconciliation
from fastcart_assets_tests.helpers import order_event
from fastcart_assets_tests.silver.conftest import D1, D2, T1, T2, Lake


def _load(lake: Lake) -> None:
    # D1: ORD-1 twice, ORD-2, junk, ORD-5 without customer. D2: ORD-1 again, ORD-3.
    lake.add_bronze(
        [order_event(1), order_event(1), order_event(2), b"junk", order_event(5, customer_id="")],
        D1,
        T1,
    )
    lake.add_bronze([order_event(1, status="confirmed"), order_event(3)], D2, T2, first_offset=5)


def test_reconciliation_holds_in_any_processing_order(lake):
    _load(lake)
    lake.process(D2)
    lake.process(D1)
    assert lake.reconcile(D1, D2) == [
        Reconciliation(D1, bronze=5, silver=1, rejected=2, duplicates=2),
        Reconciliation(D2, bronze=2, silver=2, rejected=0, duplicates=0),
    ]
    assert all(r.unaccounted == 0 for r in lake.reconcile(D1, D2))


def test_a_lost_row_or_a_missing_rejection_breaks_it(lake, spark):
    _load(lake)
    lake.process(D1, D2)
    spark.sql(f"DELETE FROM delta.`{lake.silver}` WHERE order_id = 'ORD-00000002'")
    spark.sql(f"DELETE FROM delta.`{lake.rejected}` WHERE _raw = 'junk'")
    [d1, d2] = lake.reconcile(D1, D2)
    # A dropped duplicate counts only when Silver holds its key: ORD-2 and junk are lost.
    assert (d1.silver, d1.rejected, d1.duplicates, d1.unaccounted) == (0, 1, 2, 2)
    assert d2.unaccounted == 0


def test_an_unprocessed_date_does_not_balance(lake):
    _load(lake)
    lake.process(D1)
    [d2] = lake.reconcile(D2)
    # ORD-1's key is in Silver (from D1), ORD-3's is nowhere: one row unaccounted.
    assert (d2.bronze, d2.silver, d2.duplicates, d2.unaccounted) == (2, 0, 1, 1)
