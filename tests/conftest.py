"""Shared fixtures."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import RedisServer, require_redis


@pytest.fixture
def quiet_recompiles() -> Iterator[None]:
    """Silence guards' loggers: uncached runs warn, and some tests provoke many on purpose."""
    logger = logging.getLogger("guards")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A real redis-server on a free loopback port, stopped after the test (skipped
    without one, except under CI: see tests/servers.py)."""
    server = RedisServer(require_redis(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        if server.process is not None:
            server.resume()
        server.stop()
