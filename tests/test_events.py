"""guards.events: every miss of a specialized function reaches the observers, and
exactly the misses that the function's cache counts."""

from __future__ import annotations

import threading
import types

import pytest

import guards
from guards.events import watching_misses


def test_each_miss_is_reported_once_with_the_function() -> None:
    """Observers get the undecorated function, once per miss, never for a hit."""

    @guards.specialize
    def double(x: int) -> int:
        return 2 * x

    seen: list[types.FunctionType] = []
    with watching_misses(seen.append):
        double(1)
        double(1)
        double(2)
    assert seen == [double.__wrapped__, double.__wrapped__]
    double(3)
    assert len(seen) == 2  # the block is over


@pytest.mark.usefixtures("quiet_recompiles")
def test_reports_agree_with_the_caches_own_count() -> None:
    """Misses that store, misses that run uncached, and hits: the count is info().misses."""

    @guards.specialize
    def total(items: list[int]) -> int:
        return sum(items)

    @guards.specialize
    def register(names: list[str], name: str) -> int:
        names.append(name)  # a write to an input: never cached
        return len(names)

    seen: list[str] = []
    with watching_misses(lambda f: seen.append(f.__name__)):
        for n in (1, 2, 2, 3, 1):
            total(list(range(n)))
        names: list[str] = []
        for name in "abc":
            register(names, name)
    assert seen.count("total") == total.cache.info().misses == 3
    assert seen.count("register") == register.cache.info().misses == 3


def test_observers_nest_and_see_every_thread() -> None:
    """Two blocks at once both see a miss made in another thread; each ends on its own."""

    @guards.specialize
    def square(x: int) -> int:
        return x * x

    outer: list[object] = []
    inner: list[object] = []
    with watching_misses(outer.append):
        with watching_misses(inner.append):
            worker = threading.Thread(target=square, args=(4,))
            worker.start()
            worker.join()
        square(5)
    assert (len(outer), len(inner)) == (2, 1)
