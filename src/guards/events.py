"""Observers of specialized functions' misses: every call their cache could not answer.

``@guards.specialize`` reports each miss here as it happens, before the
function runs to store a new entry (or runs uncached): exactly the calls that
``f.cache.info().misses`` counts.  The pytest plugin
(``guards.pytest_plugin``) counts misses this way; a test harness or a
monitor can do the same with :func:`watching_misses`.

Standard library only, and nothing to pay when nobody watches: a miss reads
one empty tuple.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import types
from collections.abc import Callable, Iterator

from guards.forks import fork_safe

#: An observer is called with the specialized function's own (undecorated) function.
MissObserver = Callable[[types.FunctionType], None]

# Replaced, never mutated, so a miss in any thread reads it without a lock.
_observers: tuple[MissObserver, ...] = ()
_lock = threading.Lock()
fork_safe(sys.modules[__name__], "_lock")  # a parent thread may hold it at a fork


@contextlib.contextmanager
def watching_misses(observer: MissObserver) -> Iterator[MissObserver]:
    """Call ``observer(function)`` at every miss of a specialized function in the block.

    Misses in every thread are reported, in the thread that missed, before the
    function runs.  An observer must be quick and must not raise: what it
    raises reaches the caller of the specialized function.  Blocks may nest
    and overlap; each observer is removed when its own block ends.
    """
    global _observers
    with _lock:
        _observers = (*_observers, observer)
    try:
        yield observer
    finally:
        with _lock:
            i = next(i for i, o in enumerate(_observers) if o is observer)
            _observers = _observers[:i] + _observers[i + 1 :]


def note_miss(function: types.FunctionType) -> None:
    """Report a miss of the specialized ``function`` to every observer (``specialize`` calls it)."""
    for observer in _observers:
        observer(function)
