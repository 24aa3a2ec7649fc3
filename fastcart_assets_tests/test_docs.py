"""docs/SCHEMAS.md is generated from the schema constants and must match them."""

from __future__ import annotations

from pathlib import Path

from fastcart_assets.schema_docs import render

SCHEMAS_MD = Path(__file__).resolve().parents[1] / "docs" / "SCHEMAS.md"


def test_schemas_doc_is_current():
    assert SCHEMAS_MD.read_text() == render(), (
        "docs/SCHEMAS.md is stale: run `.venv/bin/python -m fastcart_assets.schema_docs`"
    )
