"""When a store's backend fails: bypass it with one warning, try again after a back-off.

A store sits beside the cache, never in front of it: a call whose store is down
or slow must still work, only without the store.  :class:`Outage` runs each
backend operation; a failure (one of the backend's own errors: a refused
connection, a timeout, a database locked for too long) makes the operation
return its default (as an empty store would), warns once with
:class:`~guards.StoreWarning`, and makes the next operations return their
default without trying until ``backoff`` seconds have passed.  The first
operation after that tries the backend again; if it works the outage is over
(a later failure warns again), so a restarted server is used again.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable
from typing import TypeVar

from guards.errors import StoreWarning
from guards.forks import fork_safe

T = TypeVar("T")


class Outage:
    """The state of one store's backend: up, or down until a time.

    ``store`` names the store in the warning; ``errors`` are the exception types
    that mean the backend failed (anything else is a bug and propagates);
    ``backoff`` is how long, in seconds, the store is bypassed after a failure;
    ``count`` is called with ``"failures"`` or ``"bypassed"`` for the store's
    statistics.
    """

    def __init__(
        self,
        store: str,
        errors: tuple[type[BaseException], ...],
        backoff: float,
        count: Callable[[str], None],
    ) -> None:
        self.store = store
        self.errors = errors
        self.backoff = backoff
        self._count = count
        self._retry_at = 0.0
        self._down = False
        self._lock = threading.Lock()
        fork_safe(self, "_lock")

    @property
    def down(self) -> bool:
        """Whether the last operation failed and no operation has worked since."""
        return self._down

    def run(self, operation: Callable[[], T], default: T) -> T:
        """``operation()``, or ``default`` when the backend fails or is in back-off."""
        if self._down and time.monotonic() < self._retry_at:
            self._count("bypassed")
            return default
        try:
            result = operation()
        except self.errors as exc:
            self._failed(exc)
            return default
        if self._down:
            with self._lock:
                self._down = False
        return result

    def _failed(self, exc: BaseException) -> None:
        self._count("failures")
        with self._lock:
            first = not self._down
            self._down = True
            self._retry_at = time.monotonic() + self.backoff
        if first:
            warnings.warn(
                f"{self.store} is not usable ({type(exc).__name__}: {exc}); calls go on "
                f"without it, and it is tried again after {self.backoff:g} s",
                StoreWarning,
                stacklevel=4,
            )
