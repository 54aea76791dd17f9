"""Container reads: a function that reads a whole list of 10,000 scalars, hit and miss.

Run: ``python benchmarks/container_reads.py``.  ``@specialize def total(xs):
return sum(xs)`` over 10,000 ints (then floats; ``"".join(xs)`` over 10,000 strs;
``sum`` over a set of 10,000 ints) guards the container as one value
(``SEQUENCE_VALUES_MATCH``), not one guard per item.  A hit on the same list (or
one holding the same objects) compares the items' addresses; on an equal copy
(other objects), their exact types and values (reported, with no target).
Targets (issue 12): a hit costs at most 3 times the plain call, and a miss (the
first call of a fresh function: trace, build, compile) at most 50 times (the
least of 25 misses against the least of 25 plain calls).
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable
from typing import Any

from _timing import compare, row

import guards

N = 10_000
HIT_TARGET = 3.0
MISS_TARGET = 50.0


def _total(xs: list[Any]) -> Any:
    return sum(xs)


def _joined(xs: list[str]) -> str:
    return "".join(xs)


CASES: dict[str, tuple[Callable[[Any], Any], Any]] = {
    "sum(xs)": (_total, list(range(N))),
    "sum(floats)": (_total, [i * 0.5 for i in range(N)]),
    "''.join(strs)": (_joined, [str(i) for i in range(N)]),
    "sum(set of ints)": (_total, set(range(N))),
}


def _miss_seconds(plain: Callable[[Any], Any], xs: Any, rounds: int) -> tuple[float, float]:
    """Seconds of a miss (the first call of a freshly specialized function) and of a plain
    call, measured in alternating rounds: the least of each, as ``timeit`` advises (a
    miss is one event of a few milliseconds, which the scheduler of a loaded machine
    stretches by whole ticks of 4 ms about every other time: a median would be noise)."""
    misses, plains = [], []
    for _ in range(rounds):
        fast = guards.specialize(plain)
        start = time.perf_counter()
        fast(xs)
        misses.append(time.perf_counter() - start)
        assert fast.cache.info().entries == 1  # type: ignore[attr-defined]
        start = time.perf_counter()
        for _ in range(20):
            plain(xs)
        plains.append((time.perf_counter() - start) / 20)
    return min(misses), min(plains)


def run() -> list[dict[str, Any]]:
    rows = []
    print(f"a whole list of {N:,} scalars read (median per call)")
    for case, (plain, xs) in CASES.items():
        fast = guards.specialize(plain)
        assert fast(xs) == plain(xs)
        assert fast(pickle.loads(pickle.dumps(xs))) == plain(xs)
        [entry] = fast.cache.entries  # type: ignore[attr-defined]
        assert len(entry.check.guards) <= 3, entry.check.guards
        # `copy` is equal, with other objects for items (ints above 256, floats, strs are
        # made anew): the check compares types and values instead of addresses.
        copy = pickle.loads(pickle.dumps(xs))
        times = compare({"plain": (plain, (xs,)), "hit": (fast, (xs,)), "copy": (fast, (copy,))},
                        number=200, rounds=15)
        hit, hit_copy = times["hit"] / times["plain"], times["copy"] / times["plain"]
        miss_s, plain_s = _miss_seconds(plain, xs, rounds=25)
        miss = miss_s / plain_s
        print(f"  {case:<16} plain {times['plain'] / 1e3:7.1f} us   hit x{hit:.2f}   "
              f"hit on an equal copy x{hit_copy:.2f}   miss {miss_s * 1e6:8.1f} us  "
              f"x{miss:.1f}   guards {len(entry.check.guards)}")
        rows.append(row("container reads", f"{case} hit / plain", hit, HIT_TARGET))
        rows.append(row("container reads", f"{case} hit, equal copy / plain", hit_copy, None))
        rows.append(row("container reads", f"{case} miss / plain", miss, MISS_TARGET))
    return rows


if __name__ == "__main__":
    run()
