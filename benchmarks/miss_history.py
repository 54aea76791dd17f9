"""What recording a miss costs, with and without ``guards.config.record_misses``.

Run: ``python benchmarks/miss_history.py``.  Every miss of a specialized
function is recorded (number, time, calling line, outcome); with
``record_misses`` it is also explained (every entry's failing guards, kept as
text).  This prints, for the ``plan`` function of ``specialize_examples.py``
with 1 to 32 entries: a whole miss (trace, build, store), the record alone, and
the explanation with its record, in microseconds.  Compare the last column to
the first to see what ``record_misses`` adds to a miss.
"""

from __future__ import annotations

import collections
import statistics
import sys
import time
import timeit
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import specialize_examples as ex

import guards
from guards.core.guard import capture_provenance
from guards.specialization.history import RECORDED_MISSES, MissRecord, record_explanation


def _query(a: int) -> dict[str, Any]:
    return {"table": "t", "filters": {"a": a, "b": 2}}


def _miss_us(fn: Any, entries: int, rounds: int = 60) -> float:
    """Median microseconds of a miss on a cache holding ``entries`` entries."""
    samples = []
    for _ in range(rounds):
        fn.cache.clear()
        for a in range(entries):
            fn(_query(a))
        start = time.perf_counter_ns()
        fn(_query(-1))
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples) / 1e3


def _best_us(call: Any, number: int = 200) -> float:
    return min(timeit.repeat(call, number=number, repeat=5)) / number * 1e6


def run() -> None:
    """Print the table."""
    fn = guards.specialize(max_entries=64)(ex.plan.__wrapped__)
    history: collections.deque[MissRecord] = collections.deque(maxlen=RECORDED_MISSES)
    print(f"{'entries':>7} {'miss µs':>9} {'record µs':>10} {'explain+record µs':>18}")
    for entries in (1, 4, 8, 32):
        miss = _miss_us(fn, entries)
        fn.cache.clear()
        for a in range(entries):
            fn(_query(a))
        f_locals = {"query": _query(-1)}
        assert not fn.cache.explain(f_locals, fn.__globals__).hit
        record = _best_us(  # what Specialized does on every miss
            lambda: history.append(MissRecord(1, time.time(), capture_provenance(), "stored", 1))
        )
        explain = _best_us(
            lambda f_locals=f_locals: record_explanation(
                fn.cache.explain(f_locals, fn.__globals__)
            )
        )
        print(f"{entries:>7} {miss:>9.0f} {record:>10.1f} {explain:>18.1f}")


if __name__ == "__main__":
    run()
