"""What a hit and a miss of ``@specialize`` cost, against a plain call of the same function.

Run: ``python benchmarks/specialize_cost.py``.  For the demo's query planner
and the three functions of ``specialize_examples.py``: the plain call, a hit
(the guards pass), a hit with ``verify=0.01`` (one hit in a hundred is
checked against a fresh call), and a miss on an empty cache (trace, build and compile the
guards, store the result), in microseconds and as multiples of the plain call.
A slower but sound tracer shows here as a larger miss ratio.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import specialize_examples as ex
from _timing import compare, row

import guards
from guards.demo import Query, make_planner


def _cases() -> dict[str, tuple[Any, tuple[Any, ...]]]:
    """Name -> (specialized function, arguments)."""
    return {
        "demo plan(query)": (
            make_planner("postgres"), (Query("orders", {"status": "open", "region": "eu"}),)
        ),
        "kernel(cfg)": (ex.make_kernel(3), (ex.Config("fast", [8, 8]),)),
        "plan(query)": (ex.plan, ({"table": "t", "filters": {"a": 1, "b": 2}},)),
        "budget(order)": (ex.budget, (ex.Config("fast", [1, 2, 3]),)),
    }


def _miss_ns(fn: Any, args: tuple[Any, ...], rounds: int = 200) -> float:
    """Median nanoseconds of a call on an empty cache (clear, then call)."""
    samples = []
    for _ in range(rounds):
        fn.cache.clear()
        start = time.perf_counter_ns()
        fn(*args)
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples)


def run() -> list[dict[str, Any]]:
    """Print plain, hit and miss times per function; return summary rows."""
    rows = []
    print(f"{'function':<20} {'plain µs':>9} {'hit µs':>8} {'sampled µs':>10} {'miss µs':>9} "
          f"{'hit/plain':>9} {'miss/plain':>10}")
    for name, (fn, args) in _cases().items():
        plain: Callable[..., Any] = fn.__wrapped__
        sampled = guards.specialize(verify=0.01)(plain)
        fn(*args)  # store an entry, so the timed calls below hit
        sampled(*args)
        times = compare(
            {"plain": (plain, args), "hit": (fn, args), "sampled": (sampled, args)},
            number=5_000, rounds=7,
        )
        miss = _miss_ns(fn, args)
        print(f"{name:<20} {times['plain'] / 1e3:>9.2f} {times['hit'] / 1e3:>8.2f} "
              f"{times['sampled'] / 1e3:>10.2f} {miss / 1e3:>9.1f} "
              f"{times['hit'] / times['plain']:>9.2f} {miss / times['plain']:>10.0f}")
        rows.append(row("specialize cost", f"{name}: miss / plain", miss / times["plain"], None))
        rows.append(row("specialize cost", f"{name}: verify=0.01 hit / hit",
                        times["sampled"] / times["hit"], None))
    return rows


if __name__ == "__main__":
    run()
