"""Side-by-side timing: contenders measured interleaved in one process.

These machines are noisy, so absolute times mean little; what a benchmark
reports is the ratio of medians, each contender timed in alternating rounds.
Calls are timed as statements (``f(a0, a1)``) with the callable and its
arguments as names, so no wrapper lambda adds the same cost to every side and
flattens the ratios.
"""

from __future__ import annotations

import gc
import statistics
import timeit
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

def outside_the_heap(run: Callable[[], T]) -> T:
    """``run()`` with the objects made before it frozen out of the collector's view
    (``gc.freeze()``): under ``run.py`` they include torch's, and a full collection
    landing in a timed build or miss would walk the rest of the process."""
    gc.collect()
    gc.freeze()
    try:
        return run()
    finally:
        gc.unfreeze()


#: A contender: a callable and the positional arguments it is timed with (or a
#: callable of no arguments).
Call = tuple[Callable[..., Any], tuple[Any, ...]] | Callable[[], Any]


def _timer(call: Call) -> timeit.Timer:
    fn, args = call if isinstance(call, tuple) else (call, ())
    names = {f"a{i}": arg for i, arg in enumerate(args)}
    stmt = f"f({', '.join(names)})"
    return timeit.Timer(stmt, globals={"f": fn, **names})


def compare(
    contenders: dict[str, Call], *, number: int = 20_000, rounds: int = 15
) -> dict[str, float]:
    """Median nanoseconds per call of each contender, timed in interleaved rounds."""
    timers = {name: _timer(call) for name, call in contenders.items()}
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for timer in timers.values():  # warm up (and let the adaptive interpreter specialize)
        timer.timeit(number // 10 or 1)
    for _ in range(rounds):
        for name, timer in timers.items():
            samples[name].append(timer.timeit(number) / number * 1e9)
    return {name: statistics.median(values) for name, values in samples.items()}


def row(name: str, case: str, ratio: float, target: float | None) -> dict[str, Any]:
    """One line of the summary table ``benchmarks/run.py`` prints."""
    met = None if target is None else ratio <= target
    return {"benchmark": name, "case": case, "ratio": ratio, "target": target, "met": met}
