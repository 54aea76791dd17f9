"""Three specialized functions: the guards each entry stores, and misses over a call sequence.

Run: ``python benchmarks/specialize_examples.py``.  Each function is called
20 times; between calls one input is mutated, alternately something the
function reads and something it never reads.  Printed: the guards of the first
entry, and the misses, hits and entries at the end.  A mutation of an unread
value must never cause a miss, so misses stay at 1 + the mutations of read
values that produced a new combination.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import guards


class Config:
    def __init__(self, mode: str, tile: list[int], debug: bool = False, note: str = "") -> None:
        self.mode, self.tile, self.debug, self.note = mode, tile, debug, note


TABLE = {"fast": 2, "slow": 1}
UNUSED = {"anything": 0}


def make_kernel(scale: int) -> Callable[..., str]:
    @guards.specialize(max_entries=64)
    def kernel(cfg: Config, unroll: int = 2) -> str:
        width = len(cfg.tile) * TABLE[cfg.mode]
        return f"{cfg.mode} x{scale} width={width} unroll={unroll}"

    return kernel


@guards.specialize(max_entries=64)
def plan(query: dict[str, Any]) -> str:
    steps = [f"SCAN {query['table']}"]
    for column in sorted(query["filters"]):
        steps.append(f"FILTER {column}={query['filters'][column]}")
    return " -> ".join(steps)


@guards.specialize(max_entries=64)
def budget(order: Config, rate: float = 0.2) -> float:
    if order.debug:
        return 0.0
    return round(sum(order.tile) * (1 + rate), 2)


def run_sequence(call: Callable[[], Any], read: list[Callable[[int], None]],
                 unread: list[Callable[[int], None]]) -> None:
    mutations = itertools.cycle(zip(read, unread, strict=False))
    for step in range(20):
        call()
        read_mutation, unread_mutation = next(mutations)
        (read_mutation if step % 2 else unread_mutation)(step)


def report(name: str, fn: Any) -> None:
    entry = fn.cache.entries[-1]  # the first entry built
    info = fn.cache.info()
    print(f"{name}: {len(entry.check.guards)} guards in the first entry")
    for guard in entry.check.guards:
        print(f"    {guard}")
    print(f"  after 20 calls (10 mutations of read values, 10 of unread ones): "
          f"misses={info.misses} hits={info.hits} entries={info.entries}\n")


def main() -> None:
    kernel = make_kernel(3)
    cfg = Config("fast", [8, 8])
    run_sequence(
        lambda: kernel(cfg),
        read=[lambda i: setattr(cfg, "mode", "slow" if i % 4 == 1 else "fast")],
        unread=[lambda i: setattr(cfg, "note", f"note {i}"), lambda i: UNUSED.update(x=i)],
    )
    report("kernel(cfg) with a closure, a default and a global table", kernel)

    query: dict[str, Any] = {"table": "orders", "filters": {"status": "open"}, "owner": "me"}
    run_sequence(
        lambda: plan(query),
        read=[lambda i: query["filters"].update(status="closed" if i % 4 == 1 else "open")],
        unread=[lambda i: query.update(owner=f"user {i}")],
    )
    report("plan(query) over nested dicts", plan)

    order = Config("unused", [3, 4])
    run_sequence(
        lambda: budget(order),
        read=[lambda i: order.tile.__setitem__(0, 3 + i % 4 // 2)],
        unread=[lambda i: setattr(order, "mode", f"mode {i}")],
    )
    report("budget(order) with a default rate", budget)


if __name__ == "__main__":
    main()
