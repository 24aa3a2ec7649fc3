"""Shared fixtures: one embedded Sail session and one embedded broker per test session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

# hypothesis's pytest plugin imports hypothesis lazily, in the terminal summary, through
# pytest's assertion rewriting; on CPython 3.11.7 compiling there, deep in the stack and with
# finalizers of Spark and Delta objects running, can fail with "AST constructor recursion depth
# mismatch" after every test passed. Importing it here, at collection, avoids that.
import hypothesis  # noqa: F401
import pytest

from fastcart_assets.kafka import broker as embedded_broker
from fastcart_assets.resources.kafka import KafkaResource
from fastcart_assets.settings import Settings


@pytest.fixture(scope="session")
def spark():
    """A Spark Connect session on this process's embedded Sail server."""
    from fastcart_assets.resources.spark import spark_session, stop_embedded_spark

    session = spark_session()
    yield session
    stop_embedded_spark()


@pytest.fixture(scope="session")
def broker(tmp_path_factory) -> Iterator[embedded_broker.BrokerState]:
    """The embedded broker on a free port; stopped (no process left) after the session."""
    state_dir = tmp_path_factory.mktemp("fastcart-state")
    state, _ = embedded_broker.start(embedded_broker.free_port(), state_dir)
    yield state
    embedded_broker.stop(state_dir)


@pytest.fixture
def topic(broker) -> str:
    """A fresh, unique topic name (not yet created)."""
    return f"test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def kafka(broker, topic) -> KafkaResource:
    return KafkaResource(bootstrap_servers=broker.address, topic=topic)


@pytest.fixture
def settings(tmp_path: Path, broker, topic, monkeypatch) -> Settings:
    """Settings pointing at a tmp lake, the test broker and the test topic (also as env vars)."""
    lake = tmp_path / "lakehouse"
    monkeypatch.setenv("FASTCART_LAKE_ROOT", str(lake))
    monkeypatch.setenv("FASTCART_KAFKA_BOOTSTRAP", broker.address)
    monkeypatch.setenv("FASTCART_KAFKA_TOPIC", topic)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    return Settings.from_env()
