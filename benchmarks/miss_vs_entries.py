"""Misses that do not grow with the cache, and calls past the limit that are not traced.

Run: ``python benchmarks/miss_vs_entries.py`` (about a minute).

1. A miss of ``@specialize def f(x): return x + 1`` on a full cache (each miss
   evicts one entry and stores one) with 10,000 entries against 10 entries.
   Misses are timed in interleaved rounds long enough to include the cache's
   occasional rebuild of its index (once per as many changes as it has
   entries), so the figure is the amortized cost.  Target: at most 2.
2. ``on_limit="run"`` past the limit: the cache is full, so a miss stores
   nothing and the function runs itself, untraced.  What is left is the cost
   of a failed lookup and the bookkeeping of a miss, so the bound is stated
   against those: the call against ``GuardedCache.find`` missing on the same
   cache plus a plain call.  The rest (the generated front binding the call
   and building the frame locals, the slow path, counting the uncached call
   and recording the miss with the line it came from in ``miss_history``)
   makes it about 9 times that; target: at most 15.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

from _timing import compare, row

import guards

SIZES = (10, 10_000)
TARGET_ENTRIES = 2.0
TARGET_PAST_LIMIT = 15.0
ROUNDS = 10
MISSES_PER_ROUND = 500


def full_cache(entries: int) -> Callable[[float], float]:
    """A specialized ``x + 1`` whose cache holds ``entries`` entries, all for floats."""

    @guards.specialize(max_entries=entries)
    def step(x: float) -> float:
        return x + 1

    for i in range(entries):
        step(i * 1.5)
    info = step.cache.info()  # type: ignore[attr-defined]
    assert info.entries == entries and info.misses == entries
    return step


def miss_rounds() -> dict[int, float]:
    """Median microseconds per miss on a full cache of each size, interleaved rounds."""
    functions = {size: full_cache(size) for size in SIZES}
    fresh = itertools.count()
    samples: dict[int, list[float]] = {size: [] for size in SIZES}
    for _ in range(ROUNDS):
        for size, fn in functions.items():
            values = [10.0**7 + next(fresh) + 0.25 for _ in range(MISSES_PER_ROUND)]
            start = time.perf_counter()
            for value in values:
                fn(value)
            samples[size].append((time.perf_counter() - start) / MISSES_PER_ROUND * 1e6)
    for size, fn in functions.items():
        info = fn.cache.info()  # type: ignore[attr-defined]
        assert info.entries == size and info.hits == 0
        assert info.misses == size + ROUNDS * MISSES_PER_ROUND
    # The total over all rounds: a round that rebuilt the index counts in full.
    return {size: sum(values) / len(values) for size, values in samples.items()}


def double(x: float) -> float:
    return x * 2


def past_limit() -> dict[str, float]:
    """Nanoseconds per call past the limit, per failed lookup and per plain call."""
    past = guards.specialize(max_entries=1, on_limit="run")(double)
    past(1.0)
    cache = past.cache
    f_locals, f_globals = {"x": 2.5}, double.__globals__
    assert cache.find(f_locals, f_globals) is None
    times = compare(
        {"plain": (double, (2.5,)), "past the limit": (past, (2.5,)),
         "failed lookup": (cache.find, (f_locals, f_globals))},
        number=5_000, rounds=9,
    )
    info = cache.info()  # the failed lookups count as misses too
    assert info.entries == 1 and info.hits == 0 and info.uncached > 0
    assert [r.outcome for r in past.specialized.miss_history][-1] == "declined"  # type: ignore[attr-defined]
    return times


def run() -> list[dict[str, Any]]:
    per_miss = miss_rounds()
    ratio = per_miss[10_000] / per_miss[10]
    print("a miss on a full cache, evicting (mean µs per miss over "
          f"{ROUNDS * MISSES_PER_ROUND} misses)")
    for size, us in per_miss.items():
        print(f"  {size:>6} entries {us:9.1f}")
    print(f"  10,000 / 10: {ratio:.2f}")
    times = past_limit()
    bound = times["failed lookup"] + times["plain"]
    past_ratio = times["past the limit"] / bound
    print("on_limit='run', a call past the limit (median ns per call)")
    for name, ns in times.items():
        print(f"  {name:<15} {ns:9.1f}")
    print(f"  past the limit / (failed lookup + plain): {past_ratio:.2f}   "
          f"/ plain: {times['past the limit'] / times['plain']:.0f}")
    return [
        row("miss vs entries", "miss at 10,000 entries / at 10", ratio, TARGET_ENTRIES),
        row("miss vs entries", "on_limit='run' past limit / lookup+plain", past_ratio,
            TARGET_PAST_LIMIT),
    ]


if __name__ == "__main__":
    run()
