"""Dagster's SQLite storage, with one SQLAlchemy engine per database file kept for its life.

Dagster's SQLite storages build a new engine for every statement they run. A new engine has
an empty statement cache and must be initialised on first use, so each event costs several
milliseconds of CPU. A catch-up writes a few hundred events (a range run logs every asset
partition), so this adds up to more than a second. These classes keep each engine. They keep
its `NullPool` too: every connection is still closed after use, so SQLite still checkpoints
its WAL into the `.db` file, which the Dagster UI watches to follow a run. The files, their
layout and their contents are Dagster's own, so an instance can switch between this storage
and Dagster's default at any time.

`instance.DAGSTER_YAML` selects it as `storage: custom:`. The overrides depend on Dagster's
SQLite storage internals (`_connect` and `connect`); `test_instance.py` exercises them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Self

import sqlalchemy as db
from dagster import _check as check
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.runs import SqliteRunStorage
from dagster._core.storage.schedules import SqliteScheduleStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import (
    DagsterSqliteStorage,
    _event_logs_directory,
    _runs_directory,
    _schedule_directory,
)
from dagster._serdes import ConfigurableClassData
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool


class EventLogStorage(SqliteEventLogStorage):
    """Dagster's run-sharded SQLite event log, one engine per shard."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: dict[str, Engine] = {}  # set first: Dagster's __init__ may connect
        super().__init__(base_dir, inst_data)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # Dagster's own `_connect`, with the shard's engine kept instead of created and disposed.
        with self._db_lock:
            check.str_param(shard, "shard")
            engine = self._engines.get(shard)
            if engine is None:
                engine = db.create_engine(
                    self.conn_string_for_shard(shard),
                    poolclass=NullPool,
                    connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
                )
                self._engines[shard] = engine
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn


class _KeptEngine:
    """`connect` on one engine kept for the storage's life: Dagster's run and schedule storages
    each have one database file (`_conn_string`)."""

    _conn_string: str

    @cached_property
    def _engine(self) -> Engine:
        return db.create_engine(self._conn_string, poolclass=NullPool)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self._engine.connect() as conn, conn.begin():
            yield conn


class RunStorage(_KeptEngine, SqliteRunStorage):
    """Dagster's SQLite run storage, one engine."""


class ScheduleStorage(_KeptEngine, SqliteScheduleStorage):
    """Dagster's SQLite schedule storage (ticks and sensor cursors), one engine."""


class SqliteStorage(DagsterSqliteStorage):
    """Dagster's SQLite storage in `base_dir` (DAGSTER_HOME), with the classes above."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self.base_dir = check.str_param(base_dir, "base_dir")
        self._run_storage = RunStorage.from_local(_runs_directory(base_dir))
        self._event_log_storage = EventLogStorage(_event_logs_directory(base_dir))
        self._schedule_storage = ScheduleStorage.from_local(_schedule_directory(base_dir))
        self._inst_data = check.opt_inst_param(inst_data, "inst_data", ConfigurableClassData)
        # DagsterSqliteStorage.__init__ would build Dagster's own three storages first.
        super(DagsterSqliteStorage, self).__init__()

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> Self:
        return cls.from_local(inst_data=inst_data, **config_value)
