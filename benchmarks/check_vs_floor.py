"""Check vs the floor: guards' generated check against the best hand-written Python.

Run: ``python benchmarks/check_vs_floor.py``.  For mixed guard sets of 1, 10,
100 and 1000 guards (``guard_sets.py``), times ``CheckFunction.check`` and a
hand-written function doing exactly the same checks (shared prefixes in
locals, constants in closure cells, identity before type-and-equality), side
by side.  Target: ratio (guards / floor) <= 1.1 at every size.
"""

from __future__ import annotations

from typing import Any

from _timing import compare, row
from guard_sets import floor, guard_set, ours

SIZES = (1, 10, 100, 1000)
TARGET = 1.1


def run() -> list[dict[str, Any]]:
    rows = []
    print("check vs the hand-written floor (median ns per call)")
    print(f"  {'guards':>6} {'ours':>10} {'floor':>10} {'ratio':>7}")
    for size in SIZES:
        f_locals, specs = guard_set(size)
        compiled, manual = ours(f_locals, specs), floor(specs)
        assert compiled.check(f_locals) and manual(f_locals)
        times = compare(
            {"ours": (compiled.check, (f_locals,)), "floor": (manual, (f_locals,))},
            number=max(100, 40_000 // size), rounds=11,
        )
        ratio = times["ours"] / times["floor"]
        print(f"  {size:>6} {times['ours']:>10.0f} {times['floor']:>10.0f} {ratio:>7.2f}")
        rows.append(row("check vs floor", f"{size} guards", ratio, TARGET))
    return rows


if __name__ == "__main__":
    run()
