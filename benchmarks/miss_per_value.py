"""Miss overhead per value read: (miss - plain call) / values read, in µs.

Run: ``python benchmarks/miss_per_value.py`` (about 10 s).  Four shapes users
write, each reading 100 values that all decide the result: 100 attributes of an
object (``o.a0 + ... + o.a99``), 100 items of a dict (``d['k0'] + ...``), 100
items of a list by index (``xs[0] + ...``) and 100 int arguments
(``f(x0, ..., x99)``).  A miss is the first call of a freshly specialized
function: it traces the call, builds and compiles the guards and writes the
wrapper again with the new entry (issue 12's "build, compile and trace
together").  Target: at most 20 µs per value read (the row's ratio is µs / 20).

Each miss is timed in CPU time (``time.process_time``), the least of several
fresh functions, against the median of many plain calls; the machines are shared,
and wall time moves with the load.  Objects made before the benchmark are
frozen out of the collector's view (``gc.freeze()``, as ``build_cost.py`` does):
under ``run.py`` they include torch's, and a full collection in a miss would walk
them.  ``docs/performance.md`` says where a miss's time goes.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from _timing import outside_the_heap, row

import guards
from guards.checks.generated import forget_compiled_texts

VALUES = 100
TARGET_US = 20.0
MISSES = 9


class _Object:
    pass


def _function(params: str, body: str) -> Callable[..., Any]:
    namespace: dict[str, Any] = {}
    exec(f"def read({params}):\n    return {body}\n", namespace)
    return namespace["read"]  # type: ignore[no-any-return]


def shapes() -> dict[str, tuple[Callable[..., Any], tuple[Any, ...]]]:
    """name -> (a function reading VALUES values, the arguments of its call)."""
    obj = _Object()
    for i in range(VALUES):
        setattr(obj, f"a{i}", i)
    mapping = {f"k{i}": i for i in range(VALUES)}
    items = list(range(VALUES))
    names = [f"x{i}" for i in range(VALUES)]
    return {
        "100 attributes": (
            _function("o", " + ".join(f"o.a{i}" for i in range(VALUES))), (obj,)
        ),
        "100 dict items": (
            _function("d", " + ".join(f"d['k{i}']" for i in range(VALUES))), (mapping,)
        ),
        "100 list items": (
            _function("xs", " + ".join(f"xs[{i}]" for i in range(VALUES))), (items,)
        ),
        "100 int arguments": (
            _function(", ".join(names), " + ".join(names)), tuple(range(VALUES))
        ),
    }


def miss_overhead_us(
    function: Callable[..., Any], args: tuple[Any, ...], *, cold: bool = True
) -> float:
    """(least miss - median plain call) / VALUES, in µs of CPU time.  ``cold``: every
    text the miss generates is compiled anew (as at a function's first miss), not
    taken from the code kept for a text generated before (its later misses)."""
    misses = []
    for _ in range(MISSES):
        specialized = guards.specialize(max_entries=4)(function)
        if cold:
            forget_compiled_texts()
        start = time.process_time()
        result = specialized(*args)
        misses.append(time.process_time() - start)
        info = specialized.cache.info()  # type: ignore[attr-defined]
        assert result == function(*args) and info.misses == 1 and info.entries == 1, info
        assert specialized(*args) == result and specialized.cache.info().hits == 1  # type: ignore[attr-defined]
    plain = []
    for _ in range(5):
        start = time.process_time()
        for _ in range(2000):
            function(*args)
        plain.append((time.process_time() - start) / 2000)
    return (min(misses) - statistics.median(plain)) / VALUES * 1e6


def run() -> list[dict[str, Any]]:
    return outside_the_heap(_run)


def _run() -> list[dict[str, Any]]:
    rows = []
    print(f"miss overhead per value read (µs of CPU time; target {TARGET_US:.0f})")
    for name, (function, args) in shapes().items():
        function(*args)  # warm up: imports, the proxy classes of the values' types
        guards.specialize(function)(*args)
        us = miss_overhead_us(function, args)
        warm = miss_overhead_us(function, args, cold=False)
        print(f"  {name:<18} {us:7.1f} µs per value ({warm:.1f} when its texts were "
              "compiled before)")
        rows.append(row(
            "miss per value", f"{name}: (miss-plain)/value, µs / {TARGET_US:.0f}",
            us / TARGET_US, 1.0,
        ))
    return rows


if __name__ == "__main__":
    run()
