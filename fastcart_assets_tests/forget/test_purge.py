"""After an erasure, a table keeps only its current version: old data files and old log entries
(whose statistics hold column values) are gone, the table reads the same, time travel is lost."""

from __future__ import annotations

from pathlib import Path

import pytest
from deltalake import DeltaTable

from fastcart_assets.forget.purge import LOG_RETENTION, purge_table
from fastcart_assets_tests.forget.traces import traces


def test_purge_keeps_only_the_current_version(spark, tmp_path):
    path = str(tmp_path / "lake" / "silver" / "people")
    people = [("a", "secret.a@example.org"), ("b", "kept.b@example.org")]
    spark.createDataFrame(people, "id string, email string").write.format("delta").save(path)
    spark.sql(f"DELETE FROM delta.`{path}` WHERE id = 'a'")  # the erasure, for this test
    table = DeltaTable(path)
    assert table.version() == 1 and traces(Path(path), ["secret.a@example.org"])

    purged = purge_table(path, "silver/people")

    assert purged.files >= 1 and purged.log_entries >= 2
    assert traces(Path(path), ["secret.a@example.org"]) == []  # neither in data nor in stats
    rows = spark.read.format("delta").load(path).collect()
    assert [tuple(r) for r in rows] == [("b", "kept.b@example.org")]
    table = DeltaTable(path)
    assert table.metadata().configuration[LOG_RETENTION] == "interval 30 days"
    with pytest.raises(Exception):  # noqa: B017 - delta-rs raises a bare error for a lost version
        DeltaTable(path, version=0).to_pyarrow_table()
    assert purge_table(str(tmp_path / "none"), "none") is None
