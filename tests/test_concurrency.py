"""Concurrency: eight threads on one GuardedCache and one specialized function.

Threads start together (``threading.Barrier``) and run bounded loops of interleaved
hits, misses, clears and limit evictions; the interpreter is asked to switch threads
often (``sys.setswitchinterval``) so that the interleavings are many.  What must hold:

* no exception, and no stale result: every answer equals the fresh computation;
* the entry limit holds at every observation;
* the statistics add up: without clears, every lookup is counted once, as a hit or a
  miss (a specialized call as a hit or a miss, an uncached run being a miss too),
  evictions or not: a hit on an entry that another thread evicts at that very moment
  (or that an older generation of specialize's generated code still checks) counts;
* a burst of identical first calls of a specialized function traces and stores the
  entry once: misses are serialized per function and re-checked.
"""

from __future__ import annotations

import gc
import os
import random
import signal
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import guards
from guards import (
    MISS,
    AttrSource,
    CheckFunction,
    GuardBuilder,
    GuardedCache,
    LocalSource,
    compile_guards,
)
from guards.specialization.dispatcher import INLINE_ENTRIES

THREADS = 8


@pytest.fixture(autouse=True)
def _switch_often() -> Iterator[None]:
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(interval)


def run_together(work: Callable[[int], None], threads: int = THREADS) -> None:
    """Run ``work(i)`` in ``threads`` threads started at once; re-raise the first failure."""
    barrier = threading.Barrier(threads, timeout=60)
    errors: list[BaseException] = []

    def body(i: int) -> None:
        try:
            barrier.wait()
            work(i)
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)

    pool = [threading.Thread(target=body, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in pool), "a thread did not finish"
    if errors:
        raise errors[0]


# ------------------------------------------------------------------------ GuardedCache
def equals_x(value: int) -> CheckFunction:
    return compile_guards([LocalSource("x").make_guard(GuardBuilder.EQUALS_MATCH)], {"x": value})


CHECKS = [equals_x(i) for i in range(20)]


class Tally:
    """What the threads saw, added up under a lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.hits = self.misses = 0

    def add(self, hits: int, misses: int) -> None:
        with self.lock:
            self.hits += hits
            self.misses += misses


def hammer_cache(
    cache: GuardedCache, values: int, iterations: int, clear_every: int = 0
) -> Tally:
    tally = Tally()

    def work(i: int) -> None:
        rng = random.Random(i)
        hits = misses = 0
        for n in range(iterations):
            x = rng.randrange(values)
            value = cache.lookup({"x": x})
            if value is MISS:
                misses += 1
                cache.add(CHECKS[x], ("value", x))
            else:
                hits += 1
                assert value == ("value", x), (value, x)  # never another entry's value
            assert len(cache) <= cache.max_entries
            if n % 25 == 0:
                assert len(cache.entries) <= cache.max_entries
                assert cache.info().entries <= cache.max_entries
                explanation = cache.explain({"x": x})
                assert len(explanation.entries) <= cache.max_entries
            if clear_every and n % clear_every == i:
                cache.clear()
        tally.add(hits, misses)

    run_together(work)
    return tally


def test_cache_with_clears_never_serves_a_stale_value() -> None:
    cache = GuardedCache(max_entries=4)
    hammer_cache(cache, values=8, iterations=300, clear_every=40)
    info = cache.info()
    assert info.entries == len(cache) <= 4
    for entry in cache.entries:
        assert cache.lookup({"x": entry.value[1]}) == entry.value


def test_cache_books_add_up_with_evictions() -> None:
    cache = GuardedCache(max_entries=4)
    tally = hammer_cache(cache, values=8, iterations=300)
    info = cache.info()
    assert info.misses == tally.misses  # every miss is counted, exactly once
    assert info.hits == tally.hits  # a hit racing with the eviction of its entry too
    assert info.evictions == tally.misses - info.entries  # every add past the limit evicts
    assert info.entries <= 4


def test_a_hit_on_an_entry_evicted_during_its_check_is_counted() -> None:
    """The entry is evicted while its guards run (by the value's own property): the
    lookup is still answered by it, and counted as the hit it is."""
    cache = GuardedCache(max_entries=1)

    class Evicts:
        armed = False

        @property
        def x(self) -> int:
            if Evicts.armed:
                Evicts.armed = False
                cache.add(equals_x(99), "other")  # evicts the entry being checked
            return 1

    guard = AttrSource(LocalSource("o"), "x").make_guard(GuardBuilder.EQUALS_MATCH)
    cache.add(compile_guards([guard], {"o": Evicts()}), "first")
    Evicts.armed = True
    assert cache.lookup({"o": Evicts()}) == "first"
    info = cache.info()
    assert (info.hits, info.misses, info.evictions) == (1, 0, 1)
    assert cache.lookup({"x": 99}) == "other"
    assert cache.info().hits == 2
    cache.clear()
    assert cache.info().hits == 0


def test_specialized_books_are_exact_when_every_few_calls_evict() -> None:
    """Three inputs taking turns on two entries: many hits land on entries that another
    thread has just evicted (its checks already running, or an older generation of the
    generated code); cache_info() still counts every call."""

    @guards.specialize(max_entries=2)
    def area(shape: dict[str, int]) -> int:
        return shape["w"] * shape["h"]

    def work(i: int) -> None:
        for n in range(400):
            assert area({"w": (i + n) % 3, "h": 2}) == (i + n) % 3 * 2

    run_together(work)
    info = area.cache_info()
    assert info.hits + info.misses == THREADS * 400, info
    assert area.cache.info().evictions > 0


def test_the_indexed_front_updated_in_place_answers_right_under_threads() -> None:
    """More entries than are inlined, and a full cache: every miss evicts and adds in
    place in the front's candidates (and now and then the index is built anew) while
    other threads hit through them; every answer is right and every call counted."""

    @guards.specialize(max_entries=INLINE_ENTRIES + 8)
    def scaled(x: int) -> int:
        return x * 3

    def work(i: int) -> None:
        rng = random.Random(i)
        for _ in range(300):
            x = rng.randrange(INLINE_ENTRIES + 14)
            assert scaled(x) == x * 3

    run_together(work)
    info = scaled.cache_info()
    assert info.hits + info.misses == THREADS * 300, info
    assert info.hits > 0 and scaled.cache.info().evictions > 0
    assert len(scaled.cache) == INLINE_ENTRIES + 8


class _TwoReads:
    def __init__(self, n: int, m: int) -> None:
        self.n = n
        self.m = m


def _two_reads(cfg: _TwoReads, k: int = 1) -> int:
    return cfg.n * 10 + cfg.m * k if cfg.n > 0 else cfg.m


def test_a_thread_two_generations_behind_never_takes_a_hit_from_newer_names() -> None:
    """The generated front's body is swapped at every change of the entries, and the
    names of its constants are taken again later (not new at every change): a thread
    still inside the body from two generations back (simulated: that code run with
    the front's globals) must not read a newer generation's constants under its
    names, and answer with a mix of two entries (21 for 22), but fall to the slow
    path."""
    fast = guards.specialize(max_entries=4)(_two_reads)
    fast(_TwoReads(1, 2))
    old = fast.__code__
    fast(_TwoReads(0, 1))
    fast(_TwoReads(2, 1))
    stale = types.FunctionType(old, fast.__globals__, "stale", fast.__defaults__)
    for n, m, k in [(2, 1, 2), (1, 2, 1), (0, 1, 1), (2, 1, 1), (1, 1, 2)]:
        assert stale(_TwoReads(n, m), k) == _two_reads(_TwoReads(n, m), k), (n, m, k)


def test_cache_books_are_exact_without_evictions() -> None:
    cache = GuardedCache(max_entries=256)  # room for every value, and for racing duplicates
    tally = hammer_cache(cache, values=20, iterations=300)  # 12 or more: the index is used
    info = cache.info()
    assert (info.hits, info.misses, info.evictions) == (tally.hits, tally.misses, 0)
    assert info.hits + info.misses == THREADS * 300
    assert info.entries == tally.misses  # racing threads may each add the same x


@pytest.mark.parametrize("size", [5, 40])  # scanned, then indexed (INDEX_FROM is 12)
def test_a_hit_during_a_collection_inside_a_snapshot_of_the_cache(size: int) -> None:
    """A hit that lands while the cache copies its recency order, as another thread's
    would: on 3.11 a collection may start inside a C call that is iterating the order,
    and its callbacks (finalizers in real programs) may switch threads.  Simulated
    deterministically: a collection at every other allocation, whose callback hits.
    Every reader of the order must see each entry once, and nothing may raise."""
    cache = GuardedCache(max_entries=64)
    for x in range(size):
        cache.add(CHECKS[x] if x < 20 else equals_x(x), x)
    hits_meanwhile = 0

    def hit_meanwhile(phase: str, info: dict[str, int]) -> None:
        nonlocal hits_meanwhile
        if phase == "start":
            hits_meanwhile += 1
            cache.find({"x": hits_meanwhile % size})

    threshold = gc.get_threshold()
    gc.callbacks.append(hit_meanwhile)
    gc.set_threshold(1)
    try:
        for n in range(100):
            assert sorted(entry.value for entry in cache.entries) == list(range(size))
            assert cache.info().entries == size
            assert n % size in [entry.value for entry in cache.candidates({"x": n % size})]
            assert cache.lookup({"x": n % size}) == n % size
            assert cache.lookup({"x": -1}) is MISS
    finally:
        gc.set_threshold(*threshold)
        gc.callbacks.remove(hit_meanwhile)
    assert hits_meanwhile > 100
    info = cache.info()
    assert info.hits == 100 + hits_meanwhile and info.misses == 100


def test_cache_on_limit_run_and_raise_under_threads() -> None:
    for policy in ("run", "raise"):
        cache = GuardedCache(max_entries=3, on_limit=policy)  # type: ignore[arg-type]
        refused = Tally()

        def work(i: int, cache: GuardedCache = cache, refused: Tally = refused) -> None:
            rng = random.Random(i)
            for _ in range(150):
                x = rng.randrange(6)
                value = cache.lookup({"x": x})
                if value is MISS:
                    try:
                        added = cache.add(CHECKS[x], ("value", x))
                    except guards.CacheLimitError:
                        added = None
                    if added is None:
                        refused.add(0, 1)
                else:
                    assert value == ("value", x)
                assert len(cache) <= 3

        run_together(work)
        info = cache.info()
        assert info.entries == 3
        assert info.evictions == 0
        if policy == "run":
            assert info.uncached == refused.misses


# ------------------------------------------------------------------------- specialize
class Cfg:
    def __init__(self, n: int, mode: str) -> None:
        self.n = n
        self.mode = mode
        self.note = object()  # never read: must not matter


TABLE = {"fast": 10, "slow": 1}


def plan(cfg: Cfg, scale: int = 3) -> tuple[int, str]:
    return (cfg.n * scale + TABLE[cfg.mode], cfg.mode.upper())


def fresh_cfg(rng: random.Random, values: int) -> Cfg:
    return Cfg(rng.randrange(values), rng.choice(["fast", "slow"]))


def hammer_specialized(
    fast: Any, values: int, iterations: int, clear_every: int = 0
) -> int:
    calls = Tally()

    def work(i: int) -> None:
        rng = random.Random(100 + i)
        for n in range(iterations):
            cfg = fresh_cfg(rng, values)
            scale = rng.choice([3, 3, 3, 4])
            got = fast(cfg) if scale == 3 else fast(cfg, scale)
            assert got == plan(cfg, scale), (got, cfg.n, cfg.mode, scale)
            assert len(fast.cache) <= fast.cache.max_entries
            if n % 20 == 0:
                assert fast.cache.info().entries <= fast.cache.max_entries
            if clear_every and n % clear_every == i:
                fast.cache.clear()
        calls.add(iterations, 0)

    run_together(work)
    return calls.hits


def test_specialized_function_with_clears_and_evictions_is_never_stale() -> None:
    fast = guards.specialize(max_entries=4)(plan)
    hammer_specialized(fast, values=4, iterations=120, clear_every=30)
    info = fast.cache.info()
    assert info.entries <= 4
    assert info.uncached == 0, fast.specialized.uncached_reasons


def test_specialized_books_add_up_with_evictions() -> None:
    fast = guards.specialize(max_entries=4)(plan)
    calls = hammer_specialized(fast, values=3, iterations=120)
    info = fast.cache.info()
    assert info.uncached == 0, fast.specialized.uncached_reasons
    assert info.hits + info.misses == calls
    assert info.misses >= info.entries + info.evictions  # each entry came from a miss


def test_specialized_books_are_exact_without_evictions() -> None:
    """Every call is a hit, a miss or uncached (an uncached run is also a miss)."""
    fast = guards.specialize(max_entries=64)(plan)
    calls = hammer_specialized(fast, values=3, iterations=150)
    info = fast.cache.info()
    assert info.hits + info.misses == calls
    assert info.evictions == 0
    assert info.uncached == 0
    # 3 values x 2 modes x 2 scales; misses re-check under the lock: no entry twice.
    assert info.entries <= 12
    assert info.misses >= info.entries


TRACES = Tally()


@guards.constant
def traced_once_more(n: int) -> int:
    """Counts how often a run is traced; slow, so that every thread arrives meanwhile."""
    TRACES.add(1, 0)
    time.sleep(0.02)
    return n


def test_a_burst_of_identical_first_calls_builds_one_entry() -> None:
    @guards.specialize
    def expensive(cfg: Cfg) -> int:
        return traced_once_more(cfg.n) * 2

    before = TRACES.hits
    results: list[int] = []

    def work(i: int) -> None:
        results.append(expensive(Cfg(21, "fast")))

    run_together(work)
    assert results == [42] * THREADS
    assert TRACES.hits - before == 1  # one trace: the others waited and found its entry
    info = expensive.cache.info()
    assert info.entries == 1
    assert info.hits + info.misses == THREADS
    assert info.uncached == 0


def test_bursts_of_different_first_calls_build_one_entry_each() -> None:
    @guards.specialize(max_entries=16)
    def expensive(cfg: Cfg) -> int:
        return traced_once_more(cfg.n) + 1

    before = TRACES.hits

    def work(i: int) -> None:
        for n in range(3):
            assert expensive(Cfg(n, "slow")) == n + 1

    run_together(work)
    assert TRACES.hits - before == 3
    info = expensive.cache.info()
    assert info.entries == 3
    assert info.hits + info.misses == 3 * THREADS


def test_concurrent_tracing_contexts_stay_apart() -> None:
    """Each thread's tracing context collects its own guards (contexts are thread-local)."""

    def work(i: int) -> None:
        for n in range(30):
            with guards.tracing({"x": i, "n": n}) as tx:
                assert tx.local("x").as_constant() == i
                guards.install_guard(LocalSource("n").make_guard(GuardBuilder.TYPE_MATCH))
                assert guards.current_tracing() is tx
                check = tx.compile()
            assert check.check({"x": i, "n": -1})
            assert not check.check({"x": i + 1, "n": n})
            assert len(check.guards) == 2

    run_together(work)
    assert guards.current_tracing() is None


# ------------------------------------------------------------------------------ fork
def _wait_for_child(pid: int, deadline: float = 20.0) -> int | None:
    """The child's exit status, or None (after killing it) when it is still running."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork: POSIX only")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # 3.12+: fork with threads
def test_a_forked_child_misses_while_a_parent_thread_was_inside_a_miss() -> None:
    """The child inherits no lock held: its own miss runs (and stores an entry)."""
    inside, release = threading.Event(), threading.Event()

    @guards.specialize
    def slow(x: int, gate: threading.Event | None = None) -> int:
        if gate is not None:
            inside.set()
            gate.wait()
        return x * 2

    thread = threading.Thread(target=slow, args=(1, release))
    thread.start()
    try:
        assert inside.wait(20), "the thread did not enter its miss"
        with guards.config.patch(record_misses=True):  # the child also takes the config lock
            pid = os.fork()
        if pid == 0:  # the child: a miss of the same function, then a hit
            code = 1
            try:
                if slow(21) == 42 and slow(21) == 42 and slow.cache_info().hits == 1:
                    code = 0
            finally:
                os._exit(code)
        assert _wait_for_child(pid) == 0, "the forked child blocked (or failed) on its miss"
    finally:
        release.set()
        thread.join(20)
    assert slow(1, None) == 2

