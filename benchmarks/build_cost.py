"""Build cost: time and memory to build and compile 1k and 10k guards, and to trace 1k reads.

Run: ``python benchmarks/build_cost.py``.  Builds the mixed guard sets of
``guard_sets.py`` (make the guards, build and compile them) at 1,000 and
10,000 guards, and traces a specialized function that reads 1,000 values, then
10,000.  Reports microseconds and bytes (peak traced allocation, tracemalloc)
per guard.  Target: 10k costs at most 12 times 1k (no super-linear step).  The
two sizes are timed in interleaved rounds (medians), so that the machine's load
moves both alike.

Objects that exist before the benchmark (torch's, when ``run.py`` has imported
it for the Dynamo comparisons) are moved out of the garbage collector's view
with ``gc.freeze()``: otherwise every full collection the builds trigger walks
them too, and the ratio measures the size of the rest of the process.
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from _timing import outside_the_heap, row
from guard_sets import guard_set, ours

import guards

TARGET = 12.0


def measure(builds: dict[int, Callable[[], Any]], rounds: int) -> dict[int, tuple[float, int]]:
    """Per size: the median seconds of ``builds[size]()`` and its peak traced allocation.

    The sizes are timed in interleaved rounds, as every benchmark here times its
    contenders (``_timing.compare``): a drift of the machine's load during the run
    moves both sizes alike, instead of the ratio.  A small size is built several
    times per round, so each sample lasts about as long.
    """
    largest = max(builds)
    times: dict[int, list[float]] = {size: [] for size in builds}
    for _ in range(rounds):
        for size, build in builds.items():
            repeat = max(1, largest // size)
            start = time.perf_counter()
            for _ in range(repeat):
                build()
            times[size].append((time.perf_counter() - start) / repeat)
    results = {}
    for size, build in builds.items():
        tracemalloc.start()
        build()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        results[size] = (statistics.median(times[size]), peak)
    return results


def compile_set(size: int) -> Callable[[], Any]:
    f_locals, specs = guard_set(size)
    return lambda: ours(f_locals, specs)


def trace_reads(size: int) -> Callable[[], Any]:
    """A fresh specialized function reading ``size`` values of a dict, traced once."""
    data = {f"k{i}": i for i in range(size)}

    def build() -> Any:
        @guards.specialize
        def total(d: dict[str, int]) -> int:
            return sum(d[key] for key in d)

        return total(data)

    return build


def run() -> list[dict[str, Any]]:
    return outside_the_heap(_run)


def _run() -> list[dict[str, Any]]:
    rows = []
    print("build cost (median of interleaved rounds; memory is the peak traced allocation)")
    print(f"  {'what':<28} {'n':>6} {'ms':>9} {'us/guard':>9} {'bytes/guard':>12}")
    for name, maker in (("build + compile guards", compile_set),
                        ("trace a function reading n", trace_reads)):
        measured = measure({size: maker(size) for size in (1_000, 10_000)}, rounds=5)
        for size, (seconds, peak) in measured.items():
            print(f"  {name:<28} {size:>6} {seconds * 1e3:>9.1f} {seconds / size * 1e6:>9.1f} "
                  f"{peak / size:>12.0f}")
        ratio = measured[10_000][0] / measured[1_000][0]
        print(f"  {name}: 10k / 1k = {ratio:.1f} (target <= {TARGET:.0f})")
        rows.append(row("build cost", f"{name}, 10k / 1k", ratio, TARGET))
    return rows


if __name__ == "__main__":
    run()
