"""Kill -9 a Bronze ingestion at several points, re-run: every message exactly once."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time

import pytest

from fastcart_assets.settings import BRONZE_TABLE
from fastcart_assets_tests.helpers import clean_values, produce

N = 6_000


def _worker(settings, broker, topic, **env) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fastcart_assets_tests.bronze.ingest_worker",
            broker.address,
            topic,
            settings.table_path(BRONZE_TABLE),
        ],
        env={**os.environ, **{k: str(v) for k, v in env.items()}},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _rows(spark, settings):
    table = spark.read.format("delta").load(settings.table_path(BRONZE_TABLE))
    return table.count(), table.select("kafka_partition", "kafka_offset").distinct().count()


@pytest.mark.slow
def test_killed_after_commits_and_mid_batch_then_rerun_gives_exactly_n(
    spark, settings, broker, kafka, topic
):
    produce(kafka, clean_values(N))
    # 1) killed right after its first and second commits (before the run ends)
    for kill_after in (1, 2):
        process = _worker(settings, broker, topic, KILL_AFTER_BATCH=kill_after)
        assert process.wait(120) == -9
    rows, distinct = _rows(spark, settings)
    assert rows == distinct and 0 < rows < N
    # 2) killed at random moments, wherever it is (start-up, reading, writing, committing)
    rng = random.Random(7)
    for _ in range(3):
        process = _worker(settings, broker, topic, BATCH_SIZE=300)
        time.sleep(rng.uniform(2.0, 6.0))
        process.kill()
        process.wait(60)
    # 3) a clean re-run completes the table
    process = _worker(settings, broker, topic)
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 0, out
    assert _rows(spark, settings) == (N, N)


@pytest.mark.slow
def test_two_runs_at_once_never_double_the_data(spark, settings, broker, kafka, topic):
    produce(kafka, clean_values(3_000))
    first = _worker(settings, broker, topic, BATCH_SIZE=500)
    second = _worker(settings, broker, topic, BATCH_SIZE=500)
    errors = [process.communicate(timeout=120)[1] for process in (first, second)]
    outcomes = [first.returncode, second.returncode]
    assert 0 in outcomes
    for code, error in zip(outcomes, errors, strict=True):
        if code != 0:  # the loser fails cleanly, naming the reason
            assert "another run is writing" in error
    assert _rows(spark, settings) == (3_000, 3_000)
