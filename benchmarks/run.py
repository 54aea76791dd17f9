"""Run every benchmark and print a table of ratios against their targets.

Run: ``python benchmarks/run.py`` (a few minutes on two cores).  Each
benchmark prints its own table first; the summary at the end lists every
ratio, its target and whether it is met.  The TorchDynamo comparisons need
``pip install torch==2.13.0`` and are skipped, with a message, without it.
"""

from __future__ import annotations

import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import build_cost
import check_vs_floor
import container_reads
import dynamo_guards
import fleet
import hit_overhead
import many_entries
import miss_per_value
import miss_vs_entries
import real_functions
import recompiles
import recursion
import result_copies
import store_load

BENCHMARKS: list[tuple[str, Callable[[], list[dict[str, Any]]]]] = [
    ("1. check vs the floor", check_vs_floor.run),
    ("2. check vs TorchDynamo", dynamo_guards.main),
    ("3. guard cost on real functions", real_functions.main),
    ("4. hit overhead", hit_overhead.run),
    ("5. many entries", many_entries.run),
    ("6. build cost", build_cost.run),
    ("7. recompiles vs TorchDynamo", recompiles.main),
    ("8. miss vs entries", miss_vs_entries.run),
    ("9. miss overhead per value read", miss_per_value.run),
    ("10. container reads", container_reads.run),
    ("11. hits with and without result copies", result_copies.run),
    ("12. recursion through the cache", recursion.run),
    ("13. a fleet's burst of the same miss", fleet.run),
    ("14. a stored entry loaded, against tracing again", store_load.run),
]


def main() -> None:
    print(f"guards benchmarks: Python {sys.version.split()[0]}, {platform.machine()}, "
          f"{platform.processor() or platform.platform()}")
    rows: list[dict[str, Any]] = []
    for title, run in BENCHMARKS:
        print(f"\n=== {title} ===")
        start = time.perf_counter()
        rows += run()
        print(f"({time.perf_counter() - start:.0f} s)")
    print("\n=== summary: ratio (lower is better) against target ===")
    print(f"{'benchmark':<26} {'case':<42} {'ratio':>7} {'target':>7}  status")
    for r in rows:
        target = "-" if r["target"] is None else f"{r['target']:.2f}"
        status = "" if r["met"] is None else ("met" if r["met"] else "MISSED")
        print(f"{r['benchmark']:<26} {r['case']:<42} {r['ratio']:>7.2f} {target:>7}  {status}")


if __name__ == "__main__":
    main()
