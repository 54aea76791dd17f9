"""Recursion through the cache: ``fib(25)`` on an empty cache, each level cached.

Run: ``python benchmarks/recursion.py``.  A specialized ``fib`` calls itself;
each inner call goes through the cache (a miss is traced in a context of its
own and stores its own entry, a repeated subcall hits), so the first call makes
26 misses, as ``functools.lru_cache`` does.  Target: the first call costs at most
2 times the same 26 misses made one at a time from the top level, bottom up
(``fib(0)``, ``fib(1)``, ... each hitting its subcalls): nesting the misses costs
little more than making them.  Before, the first call traced the whole call
tree (exponential) into one entry.  ``lru_cache`` is shown for scale, no target.
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable
from typing import Any

from _timing import row

import guards

N = 25
ROUNDS = 7
TARGET = 2.0


def make() -> Callable[[int], int]:
    @guards.specialize(max_entries=1000)
    def fib(n: int) -> int:
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    return fib


def first_call() -> float:
    fib = make()
    start = time.perf_counter()
    assert fib(N) == 75025
    elapsed = time.perf_counter() - start
    info = fib.cache_info()  # type: ignore[attr-defined]
    assert (info.hits, info.misses, info.currsize) == (N - 2, N + 1, N + 1), info
    return elapsed


def bottom_up() -> float:
    fib = make()
    start = time.perf_counter()
    for n in range(N + 1):
        fib(n)
    elapsed = time.perf_counter() - start
    assert fib.cache_info().currsize == N + 1  # type: ignore[attr-defined]
    return elapsed


def lru_first_call() -> float:
    @functools.cache
    def fib(n: int) -> int:
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    start = time.perf_counter()
    fib(N)
    return time.perf_counter() - start


def run() -> list[dict[str, Any]]:
    samples: dict[str, list[float]] = {"nested": [], "bottom up": [], "lru_cache": []}
    for _ in range(ROUNDS):  # interleaved, so load on the machine hits all alike
        samples["nested"].append(first_call())
        samples["bottom up"].append(bottom_up())
        samples["lru_cache"].append(lru_first_call())
    nested, flat, lru = (statistics.median(samples[k]) for k in samples)
    print(f"fib({N}) on an empty cache (median of {ROUNDS}, ms)")
    print(f"  through the cache, nested   {nested * 1e3:9.2f}")
    print(f"  the same misses, bottom up  {flat * 1e3:9.2f}   x{nested / flat:.2f}")
    print(f"  lru_cache                   {lru * 1e3:9.4f}   x{nested / lru:.0f}")
    return [
        row("recursion", f"fib({N}) first call / its {N + 1} misses bottom up",
            nested / flat, TARGET),
        row("recursion", f"fib({N}) first call / lru_cache", nested / lru, None),
    ]


if __name__ == "__main__":
    run()
