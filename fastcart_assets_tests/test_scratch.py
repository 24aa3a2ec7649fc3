"""Scratch directories are removed after their step, on a relative lake root too (the default
`./lakehouse`)."""

from __future__ import annotations

from fastcart_assets.scratch import scratch_dir, stored


def test_a_scratch_directory_under_a_relative_root_is_removed(spark, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with scratch_dir("./lakehouse", "step") as scratch:
        frame = stored(spark.range(5), f"{scratch}/numbers")
        assert frame.count() == 5
        assert list((tmp_path / "lakehouse" / "_scratch").iterdir())
    assert list((tmp_path / "lakehouse" / "_scratch").iterdir()) == []
