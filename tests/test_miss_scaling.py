"""A miss does work that does not grow with the number of entries; past the limit,
``on_limit="run"`` runs the function itself (benchmarks/miss_vs_entries.py times both)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

import guards
from guards.specialization import decorator
from guards.specialization.dispatcher import INLINE_ENTRIES
from guards.specialization.tracer import trace_call


def identity(x: Any) -> Any:
    return x


def bodies_over(f: Any, values: list[float]) -> int:
    """How many times ``f``'s generated body was replaced while it was called with ``values``."""
    swaps, body = 0, f.__code__
    for value in values:
        assert f(value) == value
        if f.__code__ is not body:
            swaps, body = swaps + 1, f.__code__
    return swaps


def test_a_growing_cache_generates_its_front_only_when_its_size_doubles() -> None:
    """1,000 misses from 1,000 to 2,000 entries: the front's code is made anew at most
    twice (when the cache's index is built anew), not at every miss."""
    f = guards.specialize(max_entries=4_000)(identity)
    for i in range(1_000):
        f(i * 1.5)
    swaps = bodies_over(f, [10.0**6 + i + 0.5 for i in range(1_000)])
    assert swaps <= 2
    assert f.cache_info().currsize == 2_000


def test_a_full_cache_evicting_at_every_miss_rarely_generates_its_front() -> None:
    """A full cache of 200: each of 1,000 misses evicts one entry and adds one, and the
    front is made anew once per 100 misses (its index is built anew after as many
    changes as it has entries), not at every miss."""
    f = guards.specialize(max_entries=200)(identity)
    for i in range(200):
        f(i * 1.5)
    swaps = bodies_over(f, [10.0**6 + i + 0.5 for i in range(1_000)])
    assert swaps <= 10
    info = f.cache.info()
    assert (info.entries, info.evictions, info.misses) == (200, 1_000, 1_200)


def test_a_lookup_in_a_large_cache_checks_only_the_candidates_for_the_value() -> None:
    """With 2,000 entries, a value no entry demands has no candidate at all, and a
    stored one exactly its own entry: no miss or hit checks every entry."""
    f = guards.specialize(max_entries=4_000)(identity)
    for i in range(2_000):
        f(i * 1.5)
    cache, f_globals = f.cache, identity.__globals__
    assert list(cache.candidates({"x": 0.25}, f_globals)) == []
    [entry] = cache.candidates({"x": 3.0}, f_globals)
    assert f.specialized.stored_result(entry) == 3.0
    assert f(0.25) == 0.25 and f(3.0) == 3.0
    assert f.cache_info()[:2] == (1, 2_001)


def test_evicted_entries_stop_answering_and_stored_ones_still_do() -> None:
    """Eviction in the indexed front removes exactly the evicted entries' candidates."""
    f = guards.specialize(max_entries=2 * INLINE_ENTRIES + 3)(identity)
    n = f.cache.max_entries
    for i in range(3 * n):  # every call a miss; the last n stay
        assert f(float(i)) == float(i)
    kept = {f.specialized.stored_result(e) for e in f.cache.entries}
    assert kept == {float(i) for i in range(2 * n, 3 * n)}
    before = f.cache_info()
    for value in sorted(kept):
        assert f(value) == value
    assert f.cache_info().hits == before.hits + n
    assert f(0.0) == 0.0
    assert f.cache_info().misses == before.misses + 1


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(INLINE_ENTRIES + 1, 14),
    calls=st.lists(st.integers(0, 20), min_size=1, max_size=80),
)
def test_an_entry_hit_since_the_last_miss_is_not_the_one_evicted(
    size: int, calls: list[int]
) -> None:
    """Recency through the indexed front: every hit is right, and a miss that evicts
    never drops an entry hit since the previous miss while one not hit is there."""
    f = guards.specialize(max_entries=size)(identity)
    hit_since_miss: set[int] = set()
    for x in calls:
        before = {f.specialized.stored_result(e) for e in f.cache.entries}
        hits = f.cache_info().hits
        assert f(x) == x
        if f.cache_info().hits > hits:
            assert x in before
            hit_since_miss.add(x)
            continue
        assert x not in before
        after = {f.specialized.stored_result(e) for e in f.cache.entries}
        evicted = before - after
        assert len(evicted) <= 1
        if evicted and before - hit_since_miss:
            assert not evicted & hit_since_miss
        hit_since_miss = set()


def test_past_the_limit_on_limit_run_calls_the_function_itself_untraced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Full with on_limit='run': the function runs as itself (no traced run), each call
    counts as an uncached miss, and the miss is recorded as declined."""
    traced: list[str] = []

    def counting_trace_call(function: Any, *args: Any, **kwargs: Any) -> Any:
        traced.append(function.__name__)
        return trace_call(function, *args, **kwargs)

    monkeypatch.setattr(decorator, "trace_call", counting_trace_call)

    @guards.specialize(max_entries=1, on_limit="run")
    def double(x: int) -> int:
        return x * 2

    assert double(1) == 2 and traced == ["double"]  # a traced miss: stored
    for x in (2, 3, 3):
        assert double(x) == 2 * x
    assert traced == ["double"]
    assert double(1) == 2  # the stored entry still hits
    info = double.cache.info()
    assert (info.hits, info.misses, info.uncached, info.entries) == (1, 4, 3, 1)
    assert double.cache_info()[:2] == (1, 4)
    outcomes = [record.outcome for record in double.specialized.miss_history]
    assert outcomes == ["stored", "declined", "declined", "declined"]
    assert double.specialized.uncached_reasons == {}


def test_past_the_limit_a_call_that_could_not_be_cached_runs_once_even_in_strict_mode() -> None:
    """Nothing is traced past the limit: an input the function writes to is written
    once, and strict mode (which refuses runs that cannot be cached) is not asked."""

    @guards.specialize(max_entries=1, on_limit="run", strict=True)
    def push(items: list[int], x: int) -> int:
        if x:
            items.append(x)
        return len(items)

    assert push([], 0) == 0
    items: list[int] = []
    assert push(items, 5) == 1 and items == [5]
    assert push.cache.info().uncached == 1
