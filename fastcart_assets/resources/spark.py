"""The Spark resource: an embedded LakeSail Spark Connect server, or a remote `sc://` endpoint.

This is the only module that builds a SparkSession. With no remote configured it starts one
Sail server per process, lazily, on a free loopback port, and stops it at process exit, so a
run executed in-process pays the engine start-up once however many assets it materializes.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from typing import Any

from dagster_pyspark import PySparkResource
from pydantic import Field
from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

# Session settings every FastCart session needs, whatever the engine.
BASE_SPARK_CONFIG: dict[str, Any] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "4",
}

_server_lock = threading.Lock()
_server = None  # the process's embedded pysail SparkConnectServer
_server_url: str | None = None
_warm_up_lock = threading.Lock()
_warm_up: threading.Thread | None = None  # the background start of the embedded engine
_warm_up_seconds: float | None = None  # how long it took, once done


def embedded_spark_url() -> str:
    """The `sc://` URL of this process's embedded Sail server, started on first use."""
    global _server, _server_url
    with _server_lock:
        if _server_url is None:
            # Sail logs every session at INFO on stderr; keep the console for FastCart's own output.
            os.environ.setdefault("RUST_LOG", "error")
            from pysail.spark import SparkConnectServer

            server = SparkConnectServer(ip="127.0.0.1", port=0)
            server.start(background=True)
            host, port = server.listening_address
            _server, _server_url = server, f"sc://{host}:{port}"
            atexit.register(stop_embedded_spark)
            log.info("started embedded Sail Spark Connect server at %s", _server_url)
        return _server_url


def stop_embedded_spark() -> None:
    """Stop the embedded server (and its sessions) if this process started one."""
    global _server, _server_url
    with _server_lock:
        if _server is None:
            return
        session = SparkSession.getActiveSession()
        if session is not None:
            session.stop()
        _server.stop()
        _server, _server_url = None, None


def warm_up_embedded(extra_config: dict[str, Any] | None = None) -> None:
    """Start the embedded server and its session on a background thread, once per process.

    Creating the first session takes about 0.6 s (the Spark Connect client's imports, the
    handshake); a run starts it here while Dagster starts the run and Bronze reads Kafka, and
    the first `spark_session` call waits for it. A failure is left for that call to raise.
    """
    global _warm_up
    with _warm_up_lock:
        if _warm_up is not None:
            return

        def warm_up() -> None:
            global _warm_up_seconds
            started = time.perf_counter()
            try:
                _session(None, extra_config)
            except Exception:  # noqa: BLE001 - the caller's own attempt reports it
                log.debug("warming up the embedded engine failed", exc_info=True)
            else:
                _warm_up_seconds = time.perf_counter() - started

        _warm_up = threading.Thread(target=warm_up, name="sail-warm-up", daemon=True)
        _warm_up.start()


def warm_up_seconds() -> float | None:
    """How long the background start of the embedded engine took (None before it is done)."""
    return _warm_up_seconds


def spark_session(remote: str | None = None, extra_config: dict[str, Any] | None = None):
    """A Spark Connect session on `remote`, or on the embedded Sail server when it is None."""
    if remote is None and _warm_up is not None:
        _warm_up.join()
    return _session(remote, extra_config)


def _session(remote: str | None, extra_config: dict[str, Any] | None):
    builder = SparkSession.builder.remote(remote or embedded_spark_url())
    for key, value in {**BASE_SPARK_CONFIG, **(extra_config or {})}.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def jvm_spark_session(cores: int | None = None):
    """A classic local JVM Spark session (pyspark's bundled jars), for benchmark comparisons.

    It reads and writes Parquet: delta-spark's jars cannot be fetched here.
    """
    master = f"local[{cores or '*'}]"
    builder = SparkSession.builder.master(master).appName("fastcart-jvm-reference")
    classic = {"spark.api.mode": "classic", "spark.ui.enabled": "false"}
    for key, value in {**BASE_SPARK_CONFIG, **classic}.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


class SparkResource(PySparkResource):
    """Spark for FastCart assets: embedded Sail by default, or `remote` (FASTCART_SPARK_REMOTE)."""

    spark_config: dict[str, Any] = Field(default_factory=dict)
    remote: str | None = Field(
        default=None, description="sc://host:port of a Spark Connect server; unset = embedded Sail"
    )

    def setup_for_execution(self, context) -> None:
        # The session is made on first use of `spark_session`; the embedded engine starts now,
        # in the background, so that a step that needs it later does not wait for it.
        self._spark_session = None
        if self.remote is None:
            warm_up_embedded(self.spark_config)

    @property
    def spark_session(self) -> Any:
        if self._spark_session is None:
            self._spark_session = spark_session(self.remote, self.spark_config)
        return self._spark_session
