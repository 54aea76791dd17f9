"""A specialized function calling itself, or another one: each inner call goes through
that function's cache (an entry per level, like lru_cache), and the outer entry stays
sound: it misses when anything an inner call read changes."""

from __future__ import annotations

import functools
import sys
import threading
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from guards import specialize

THIS = sys.modules[__name__]
SCALE = 1


@specialize(max_entries=1000)
def fib(n: int) -> int:
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def plain_fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


@specialize(max_entries=1000)
def scaled(n: int) -> int:
    return n * SCALE


@specialize(max_entries=1000)
def plus_one(n: int) -> int:
    return scaled(n) + 1


@specialize(max_entries=1000)
def is_even(n: int) -> bool:
    return True if n == 0 else is_odd(n - 1)


@specialize(max_entries=1000)
def is_odd(n: int) -> bool:
    return False if n == 0 else is_even(n - 1)


@specialize(max_entries=5000)
def total(n: int) -> int:
    return 0 if n == 0 else n + total(n - 1)


@pytest.fixture(autouse=True)
def _clear() -> None:
    for function in (fib, scaled, plus_one, is_even, is_odd, total):
        function.cache_clear()


def test_fib_stores_an_entry_per_level_and_hits_repeated_subcalls_like_lru_cache() -> None:
    @functools.cache
    def lru_fib(n: int) -> int:
        return n if n < 2 else lru_fib(n - 1) + lru_fib(n - 2)

    assert fib(20) == lru_fib(20) == 6765
    lru = lru_fib.cache_info()
    info = fib.cache_info()
    assert (info.hits, info.misses, info.currsize) == (lru.hits, lru.misses, lru.currsize)
    assert (info.hits, info.misses, info.currsize) == (18, 21, 21)
    # Every level answers from its own entry now, and the outer one from its own.
    assert [fib(n) for n in range(21)] == [plain_fib(n) for n in range(21)]
    assert fib.cache_info().currsize == 21
    assert fib.cache_info().misses == 21


def test_an_inner_global_change_makes_the_outer_entry_miss(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert plus_one(3) == 4
    assert plus_one(3) == 4
    assert plus_one.cache_info().hits == 1
    monkeypatch.setattr(THIS, "SCALE", 10)
    assert plus_one(3) == 31
    assert plus_one.cache_info().currsize == 2
    assert scaled.cache_info().currsize == 2


def test_the_outer_entry_carries_the_inner_guards_on_the_inner_globals() -> None:
    plus_one(2)
    (entry,) = plus_one.cache.entries
    names = {guard.source.name for guard in entry.check.guards}
    assert "G['SCALE']" in names  # read by scaled, guarded for plus_one
    assert "L['n']" in names


def test_an_inner_closure_change_makes_the_outer_entry_miss() -> None:
    factor = 2

    @specialize
    def inner(x: int) -> int:
        return x * factor

    @specialize
    def outer(x: int) -> int:
        return inner(x) + 1

    assert outer(5) == 11
    assert outer(5) == 11
    assert outer.cache_info().hits == 1
    factor = 3
    assert outer(5) == 16
    assert inner.cache_info().currsize == 2


def test_an_inner_default_change_makes_the_outer_entry_miss() -> None:
    @specialize
    def inner(x: int, y: int = 3) -> int:
        return x + y

    @specialize
    def outer(x: int) -> int:
        return inner(x)

    assert outer(1) == 4
    inner.__wrapped__.__defaults__ = (10,)
    assert outer(1) == inner(1) == 11


def test_reassigned_defaults_of_the_wrapper_itself_are_seen() -> None:
    @specialize
    def inner(x: int, y: int = 3) -> int:
        return x + y

    @specialize
    def outer(x: int) -> int:
        return inner(x)

    assert outer(1) == 4
    inner.__defaults__ = (10,)  # the wrapper's own: a call binds y=10 now
    assert outer(1) == inner(1) == 11


def test_mutual_recursion_goes_through_both_caches() -> None:
    assert is_even(10) is True
    assert is_odd(7) is True
    assert is_even.cache_info().currsize + is_odd.cache_info().currsize == 11
    assert is_odd.cache_info().hits == 1  # is_odd(7) was stored by is_even(10)
    assert [is_even(n) for n in range(12)] == [n % 2 == 0 for n in range(12)]


class Counter:
    def __init__(self, base: int) -> None:
        self.base = base

    @specialize(max_entries=100)
    def count(self, n: int) -> int:
        return self.base if n == 0 else 1 + self.count(n - 1)


def test_a_method_calling_itself_through_self() -> None:
    Counter.count.cache_clear()
    c = Counter(3)
    assert c.count(5) == 8
    assert Counter.count.cache_info().currsize == 6
    assert c.count(5) == 8
    assert Counter.count.cache_info().hits == 1
    c.base = 4  # read only by the innermost level: the outer entries see it
    assert c.count(5) == 9
    other = Counter(3)
    assert other.count(2) == 5
    # The guards of the outer entry stay on L['self'] however deep it recursed.
    longest = max(
        len(guard.source.name) for entry in Counter.count.cache.entries
        for guard in entry.check.guards
    )
    assert longest < 80


def test_a_mutable_argument_passed_on_is_guarded_by_its_contents() -> None:
    @specialize
    def first(items: list[int]) -> int:
        return items[0]

    @specialize
    def outer(items: list[int]) -> int:
        return first(items) * 2

    xs = [1, 2]
    assert outer(xs) == 2
    xs[0] = 5
    assert outer(xs) == 10


def test_an_inner_call_that_cannot_be_cached_leaves_the_outer_uncached() -> None:
    calls: list[int] = []

    @specialize
    def noisy(x: int) -> int:
        calls.append(x)
        return x

    @specialize
    def outer(x: int) -> int:
        return noisy(x) + 1

    assert outer(1) == 2
    assert outer(1) == 2
    assert calls == [1, 1]  # the effect once per call, as a plain run
    assert outer.cache_info().currsize == 0


def test_an_inner_call_that_raises_raises_through_the_outer() -> None:
    @specialize
    def inner(x: int) -> int:
        return 10 // x

    @specialize
    def outer(x: int) -> int:
        try:
            return inner(x)
        except ZeroDivisionError:
            return -1

    assert outer(0) == -1
    assert outer(2) == 5
    assert outer(2) == 5


def test_deep_recursion_within_the_limit_gives_the_plain_result() -> None:
    assert total(400) == sum(range(401))
    assert total.cache_info().currsize == 401
    assert total(401) == sum(range(402))
    assert total.cache_info().currsize == 402


def test_recursion_past_the_limit_raises_recursion_error_as_a_plain_run() -> None:
    def plain(n: int) -> int:
        return 0 if n == 0 else n + plain(n - 1)

    depth = sys.getrecursionlimit() + 200
    with pytest.raises(RecursionError):
        plain(depth)
    with pytest.raises(RecursionError):
        total(depth)


def test_explain_and_verify_mode_work_across_calls() -> None:
    @specialize(verify=True)
    def inner(x: int) -> int:
        return x * SCALE

    @specialize(verify=True)
    def outer(x: int) -> int:
        return inner(x) + inner(x + 1)

    assert outer(1) == 3
    assert outer(1) == 3  # verified against a fresh call: no StaleHitError
    assert not outer.explain(1)
    assert outer.explain(2)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 60), min_size=1, max_size=6))
def test_fib_through_the_cache_equals_a_fresh_call(ns: list[int]) -> None:
    fib.cache_clear()
    for n in ns:
        assert fib(n) == plain_fib(n)
    info = fib.cache_info()
    assert info.currsize <= max(ns) + 1


@settings(max_examples=20, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 20), st.integers(-3, 3)), min_size=1, max_size=6))
def test_outer_hits_equal_fresh_calls_after_global_changes(
    steps: list[tuple[int, int]],
) -> None:
    saved = THIS.SCALE
    try:
        for n, scale in steps:
            THIS.SCALE = scale
            assert plus_one(n) == n * scale + 1
    finally:
        THIS.SCALE = saved



def test_mutual_recursion_from_two_threads_at_once_does_not_deadlock() -> None:
    results: dict[str, bool] = {}

    def run(name: str, function: Any, n: int) -> None:
        for _ in range(3):
            is_even.cache_clear()
            is_odd.cache_clear()
            results[name] = function(n)

    threads = [
        threading.Thread(target=run, args=("even", is_even, 30)),
        threading.Thread(target=run, args=("odd", is_odd, 31)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert results == {"even": True, "odd": True}


def test_an_inner_function_with_other_globals_is_guarded_through_them() -> None:
    namespace: dict[str, Any] = {"K": 1}
    exec("def inner(x):\n    return x * K\n", namespace)
    inner = specialize(namespace["inner"])

    @specialize
    def outer(x: int) -> int:
        return inner(x) + 1

    assert outer(2) == 3
    assert outer(2) == 3
    assert outer.cache_info().hits == 1
    namespace["K"] = 5
    assert outer(2) == 11
    del namespace["K"]
    with pytest.raises(NameError):
        outer(2)
