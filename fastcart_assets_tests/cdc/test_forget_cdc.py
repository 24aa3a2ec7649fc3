"""`fastcart forget` on the change-data-capture tables: the customer's envelopes are blanked in
Bronze CDC (tombstones stay tombstones), their orders leave both SCD tables, and re-running the
CDC Silver step neither brings them back nor leaves an envelope unaccounted for."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from fastcart_assets.cdc.checks import account_envelopes
from fastcart_assets.cdc.writes import read_bronze_cdc
from fastcart_assets.cli.main import cli
from fastcart_assets_tests.cdc.changes import TS0, Delivered, encode, envelope, fold, key, order_row
from fastcart_assets_tests.cdc.conftest import D1, D2
from fastcart_assets_tests.forget.traces import traces

GONE, KEPT = "CUST-GONE-1", "CUST-KEPT-2"
GONE_EMAIL = "gone.cdc@example.org"


def _change(op: str, order_id: str, lsn: int, who: str | None, status: str = "pending") -> dict:
    ts_ms = TS0 + lsn * 1_000
    email = GONE_EMAIL if who == GONE else "kept.cdc@example.org"
    row = order_row(order_id, status, ts_ms, customer_id=who, customer_email=email)
    return envelope(op, row, lsn, ts_ms)


def _records() -> list[Delivered]:
    changes = [
        ("ORD-A", _change("c", "ORD-A", 10, GONE)),
        ("ORD-B", _change("c", "ORD-B", 11, KEPT)),
        ("ORD-C", _change("c", "ORD-C", 12, GONE)),
        ("ORD-A", _change("u", "ORD-A", 20, GONE, "confirmed")),
        ("ORD-B", _change("u", "ORD-B", 21, KEPT, "confirmed")),
        ("ORD-C", _change("u", "ORD-C", 22, GONE, "confirmed")),
        ("ORD-C", _change("u", "ORD-C", 22, GONE, "confirmed")),  # redelivered
        ("ORD-C", _change("u", "ORD-C", 25, None, "shipped")),  # no customer: still theirs
        ("ORD-A", _change("d", "ORD-A", 30, GONE, "confirmed")),
        ("ORD-A", None),  # the delete's tombstone
    ]
    return [
        Delivered(0, offset, key(order_id), encode(change), change)
        for offset, (order_id, change) in enumerate(changes)
    ]


def test_forget_removes_a_customers_orders_from_cdc(cdc_lake, monkeypatch, tmp_path):
    records = _records()
    cdc_lake.add_bronze(records[:5], D1)
    cdc_lake.add_bronze(records[5:], D2)
    cdc_lake.process(D1, D2)
    assert cdc_lake.history_rows() == fold(records)[0]  # both customers, before
    monkeypatch.setenv("FASTCART_LAKE_ROOT", cdc_lake.root)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))

    result = CliRunner().invoke(cli, ["forget", GONE], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    kept = [r for r in records if r.key == key("ORD-B")]
    assert (cdc_lake.history_rows(), cdc_lake.current_rows()) == fold(kept)
    assert traces(Path(cdc_lake.root), [GONE, GONE_EMAIL]) == []

    bronze = read_bronze_cdc(cdc_lake.spark, cdc_lake.bronze)
    assert bronze.count() == len(records)  # every record stays, with its coordinates
    assert bronze.where(bronze._raw.isNull()).count() == 7 + 1  # blanked, and the tombstone
    cdc_lake.process(D1, D2)  # re-run: the erased envelopes are rejected, never applied
    assert (cdc_lake.history_rows(), cdc_lake.current_rows()) == fold(kept)
    history = cdc_lake.spark.read.format("delta").load(cdc_lake.history)
    accounting = account_envelopes(bronze, history, [D1, D2], cdc_lake.root)
    assert accounting.unaccounted == 0
    assert (accounting.tombstones, accounting.rejected_by_reason) == (1, {"erased": 7})
