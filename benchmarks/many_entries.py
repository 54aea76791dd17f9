"""Many entries: a hit on the oldest of K live entries, for K = 1, 8, 64 and 1000.

Run: ``python benchmarks/many_entries.py``.  A function specialized on one
input gets K entries (the limit raised to K); the oldest entry is then hit
again and again.  Target: K=1000 at most 2 times K=1 (Dynamo scans its
entries one by one; guards looks the candidates up by the value they demand).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from _timing import compare, row

import guards

SIZES = (1, 8, 64, 1000)
TARGET = 2.0


def specialized_with(entries: int) -> Callable[[int], int]:
    @guards.specialize(max_entries=entries)
    def double(x: int) -> int:
        return x * 2

    for value in range(entries):
        double(value)
    info = double.cache.info()  # type: ignore[attr-defined]
    assert info.entries == entries and info.misses == entries
    return double


def run() -> list[dict[str, Any]]:
    functions = {f"K={k}": specialized_with(k) for k in SIZES}
    times = compare({name: (fn, (0,)) for name, fn in functions.items()},
                    number=100_000, rounds=15)
    for fn in functions.values():
        assert fn.cache.info().misses == fn.cache.info().entries  # type: ignore[attr-defined]
    print("hit on the oldest of K entries (median ns per call)")
    base = times["K=1"]
    for name, ns in times.items():
        print(f"  {name:<7} {ns:8.1f}   x{ns / base:.2f} of K=1")
    return [row("many entries", f"{name} / K=1", ns / base, TARGET if name == "K=1000" else None)
            for name, ns in times.items() if name != "K=1"]


if __name__ == "__main__":
    run()
