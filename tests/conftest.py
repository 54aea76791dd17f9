"""Shared fixtures."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture
def quiet_recompiles() -> Iterator[None]:
    """Silence guards' loggers: uncached runs warn, and some tests provoke many on purpose."""
    logger = logging.getLogger("guards")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)
