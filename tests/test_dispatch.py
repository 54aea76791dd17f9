"""The generated front of specialized functions: inline entries, the index, code swaps."""

from __future__ import annotations

import math
import types

import pytest

import guards
from guards.specialization.dispatcher import INLINE_ENTRIES


def describe(x: object) -> str:
    return f"{type(x).__name__}:{x!r}"


KEYS = [1, 1.0, True, 0, 0.0, -0.0, False, 2, 2.5, "1", None, (1,), (1.0,)]


@pytest.mark.parametrize("rounds", [1, 3])
def test_many_entries_keep_equal_but_distinct_keys_apart(rounds: int) -> None:
    """1, 1.0 and True (and 0.0 and -0.0) hash alike but are different entries."""
    f = guards.specialize(max_entries=64)(describe)
    assert len(KEYS) > INLINE_ENTRIES  # the indexed front is in use
    for _ in range(rounds):
        for key in KEYS:
            assert f(key) == describe(key)
    info = f.cache.info()
    assert info.misses == len(KEYS)
    assert info.hits == (rounds - 1) * len(KEYS)


def test_nan_keys_are_found_without_the_index() -> None:
    """A NaN entry is never bucketed (NaN != NaN) but is still found."""
    f = guards.specialize(max_entries=64)(describe)
    for key in [*KEYS, math.nan]:
        f(key)
    assert f(math.nan) == describe(math.nan)
    assert f.cache.info().hits == 1


class Obj:
    def __init__(self, **attrs: object) -> None:
        self.__dict__.update(attrs)


def test_entries_without_the_discriminating_guard_are_still_found() -> None:
    """Entries that never read the indexed value answer from the rest list."""

    @guards.specialize(max_entries=64)
    def pick(cfg: Obj) -> object:
        if hasattr(cfg, "a"):
            return ("a", cfg.a)
        return ("b", cfg.b)

    for value in range(6):  # six entries guard L['cfg'].a: it becomes the index
        assert pick(Obj(a=value)) == ("a", value)
    for value in range(3):  # three guard L['cfg'].b instead
        assert pick(Obj(b=value)) == ("b", value)
    for value in (2, 0, 5):
        assert pick(Obj(a=value)) == ("a", value)
        assert pick(Obj(b=value % 3)) == ("b", value % 3)
    info = pick.cache.info()
    assert (info.misses, info.hits) == (9, 6)


def test_hits_are_counted_on_the_fast_path_and_recency_drives_eviction() -> None:
    """Fast-path hits count exactly, and the entry hit since the last miss survives eviction."""
    f = guards.specialize(max_entries=3)(describe)
    f(1), f(2), f(3)           # three entries, 1 the oldest
    f(1)                       # a hit: 1 is now the most recently used
    f(4)                       # a miss at the limit evicts the least recently used: 2
    assert f.cache.info().evictions == 1
    f(1), f(3), f(4)           # all hits
    info = f.cache.info()
    assert (info.hits, info.misses) == (4, 4)
    f(2)                       # 2 was evicted: a miss
    assert f.cache.info().misses == 5


def test_an_unreadable_index_key_still_tries_the_rest_inline() -> None:
    """When the indexed path cannot be read, the rest list answers without the slow path."""

    @guards.specialize(max_entries=64)
    def pick(cfg: Obj) -> object:
        if hasattr(cfg, "a"):
            return ("a", cfg.a)
        return ("b", cfg.b)

    for value in range(6):
        pick(Obj(a=value))
    pick(Obj(b=1))
    slow_calls = []
    state = pick.specialized
    original = state.dispatch

    def counting(f_locals: dict[str, object]) -> object:
        slow_calls.append(f_locals)
        return original(f_locals)

    front = _front(pick)
    front.__globals__[_slow_name(front)] = counting
    assert pick(Obj(b=1)) == ("b", 1)
    assert slow_calls == []


def _front(specialized: object) -> types.FunctionType:
    """The generated function a specialized function is at run time (its type hides that)."""
    assert isinstance(specialized, types.FunctionType)
    return specialized


def _slow_name(front: types.FunctionType) -> str:
    return next(name for name in front.__code__.co_names if name.endswith("slow"))
