"""Side-by-side timing: contenders measured interleaved in one process.

These machines are noisy, so absolute times mean little; what a benchmark
reports is the ratio of medians, each contender timed in alternating rounds.
"""

from __future__ import annotations

import statistics
import timeit
from collections.abc import Callable


def per_call_ns(fn: Callable[[], object], number: int) -> float:
    """Nanoseconds per call of ``fn`` over ``number`` calls."""
    return timeit.timeit(fn, number=number) / number * 1e9


def compare(
    contenders: dict[str, Callable[[], object]], *, number: int = 20_000, rounds: int = 15
) -> dict[str, float]:
    """Median nanoseconds per call of each contender, timed in interleaved rounds."""
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for fn in contenders.values():  # warm up (and let the adaptive interpreter specialize)
        per_call_ns(fn, number // 10 or 1)
    for _ in range(rounds):
        for name, fn in contenders.items():
            samples[name].append(per_call_ns(fn, number))
    return {name: statistics.median(values) for name, values in samples.items()}
