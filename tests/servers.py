"""Real servers for tests: a ``redis-server`` on a free loopback port, in a temp dir.

No persistence (``--save ""``, no append-only file), so stopping the server
loses its data, as a crashed cache server would.  Without ``redis-server`` on
the PATH (or without the ``redis`` client) the tests that need it are skipped,
with the reason, for a user; under CI (``CI=true``, which ``.ci/run`` sets) a
missing server is a failure, since CI installs it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest


def require_redis() -> str:
    """The path of ``redis-server``; skips the test (fails it under CI) without it or
    without the ``redis`` client."""
    server = shutil.which("redis-server")
    missing = []
    if server is None:
        missing.append("redis-server is not on the PATH (Debian: apt-get install redis-server)")
    if importlib.util.find_spec("redis") is None:
        missing.append('the redis client is not installed (pip install -e ".[test]")')
    if missing:
        reason = "; ".join(missing) + ": the Redis store tests need a real server"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the Redis tests: {reason}")
        pytest.skip(reason)
    assert server is not None
    return server


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """One ``redis-server`` process: ``start``, ``stop`` (kill), ``pause``/``resume``
    (SIGSTOP/SIGCONT: a server that hangs), ``start`` again on the same port."""

    def __init__(self, executable: str, directory: Path) -> None:
        self.executable = executable
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.process is None
        self.process = subprocess.Popen(
            [self.executable, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.directory),
             "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)
