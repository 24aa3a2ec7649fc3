"""A throwaway PostgreSQL server for tests: Debian's binaries, a temporary data directory.

The server runs as its own non-root user (`postgres` when the tests run as root, as the
server refuses root), listens on 127.0.0.1 on a free port with its unix socket in the
temporary directory, and is stopped and deleted by the context manager. Passwords travel in
environment variables and files, never on a command line.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fastcart_assets.kafka.broker import free_port

SUPERUSER = "fastcart_admin"  # reached only over the unix socket (trust), never over TCP


def postgres_bin_dir() -> Path | None:
    """The newest `/usr/lib/postgresql/<version>/bin` holding initdb, or None."""
    candidates = sorted(
        (Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin") if Path(p, "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    return candidates[-1] if candidates else None


@dataclass
class PostgresServer:
    """A running server: where it listens and how to talk to it as the superuser."""

    bin_dir: Path
    root: Path
    port: int
    owner: str | None  # the OS user the server runs as, when the tests run as root

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    def _as_owner(self, command: list[str]) -> list[str]:
        return ["runuser", "-u", self.owner, "--", *command] if self.owner else command

    def pg_ctl(self, *args: str) -> subprocess.CompletedProcess:
        command = [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), *args]
        return subprocess.run(
            self._as_owner(command), capture_output=True, text=True, timeout=120, check=False
        )

    def psql(self, script: str, dbname: str = "postgres", env: dict | None = None) -> str:
        """Run `script` (from stdin, so no value sits on a command line) as the superuser."""
        completed = subprocess.run(
            [
                str(self.bin_dir / "psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                str(self.socket_dir),
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                "-d",
                dbname,
            ],
            input=script,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **(env or {})},
            check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"psql failed: {completed.stderr.strip()}")
        return completed.stdout

    def create_database(self, name: str, owner: str, password_env: str, password: str) -> None:
        """A login role `owner` (password read by psql from `password_env`) and its database."""
        self.psql(
            f"\\getenv role_password {password_env}\n"
            f"CREATE ROLE {owner} LOGIN PASSWORD :'role_password';\n"
            f"CREATE DATABASE {name} OWNER {owner};\n",
            env={password_env: password},
        )


def _server_owner() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres").pw_name
    except KeyError as exc:
        raise RuntimeError("as root, the server needs the `postgres` OS user") from exc


@contextmanager
def postgres_server(settings: dict[str, str] | None = None) -> Iterator[PostgresServer]:
    """Start a server (extra `settings` as -c options) and remove it, data and all, at exit."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL binaries not found under /usr/lib/postgresql")
    owner = _server_owner()
    root = Path(tempfile.mkdtemp(prefix="fastcart-pg-"))
    server = PostgresServer(bin_dir=bin_dir, root=root, port=free_port(), owner=owner)
    try:
        server.socket_dir.mkdir()
        password_file = root / "superuser-password"
        password_file.write_text(secrets.token_urlsafe(24) + "\n")
        password_file.chmod(0o600)
        if owner:
            shutil.chown(root, owner)
            for path in (server.socket_dir, password_file):
                shutil.chown(path, owner)
        initdb = [
            str(bin_dir / "initdb"),
            "-D",
            str(server.data_dir),
            "-U",
            SUPERUSER,
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            f"--pwfile={password_file}",
            "--encoding=UTF8",
            "--locale=C",
        ]
        done = subprocess.run(
            server._as_owner(initdb), capture_output=True, text=True, timeout=120, check=False
        )
        password_file.unlink()
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr.strip()}")
        options = {
            "listen_addresses": "127.0.0.1",
            "port": str(server.port),
            "unix_socket_directories": str(server.socket_dir),
            "fsync": "off",  # a test server: speed over durability
            **(settings or {}),
        }
        flags = " ".join(f"-c {key}={value}" for key, value in options.items())
        log_file = str(root / "server.log")
        started = server.pg_ctl("-l", log_file, "-w", "-t", "60", "-o", flags, "start")
        if started.returncode != 0:
            log = (root / "server.log").read_text() if (root / "server.log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {started.stderr.strip()} {log[-2000:]}")
        yield server
    finally:
        stopped = None
        if (server.data_dir / "postmaster.pid").exists():
            stopped = server.pg_ctl("-m", "fast", "-w", "-t", "60", "stop")
        shutil.rmtree(root, ignore_errors=True)
    if stopped is not None and stopped.returncode != 0:
        raise RuntimeError(f"pg_ctl stop failed, a server may be left: {stopped.stderr.strip()}")
