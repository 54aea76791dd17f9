"""Hit overhead: a ``@specialize`` hit against ``functools.lru_cache`` and a plain call.

Run: ``python benchmarks/hit_overhead.py``.  A function of two ints, called
with the same arguments: specialize's hit vs lru_cache's hit (target: at most
1.3 times) and vs calling the function.  Then a function of an unhashable
config object, which lru_cache cannot take: specialize's hit vs the plain call.
"""

from __future__ import annotations

import functools
from typing import Any

from _timing import compare, row

import guards

TARGET = 1.3


def mix(a: int, b: int) -> int:
    return a * 31 + b


class Config:
    def __init__(self, mode: str, unroll: int, tile: list[int]) -> None:
        self.mode, self.unroll, self.tile = mode, unroll, tile


def render(cfg: Config) -> str:
    return f"{cfg.mode}:{cfg.unroll}:{len(cfg.tile)}"


def run() -> list[dict[str, Any]]:
    cached, specialized = functools.lru_cache(maxsize=None)(mix), guards.specialize(mix)
    assert cached(3, 4) == specialized(3, 4) == mix(3, 4)
    times = compare(
        {
            "plain": (mix, (3, 4)),
            "lru_cache": (cached, (3, 4)),
            "specialize": (specialized, (3, 4)),
        },
        number=200_000, rounds=15,
    )
    ratio = times["specialize"] / times["lru_cache"]
    print("hit overhead, f(a: int, b: int) (median ns per call)")
    for name, ns in times.items():
        print(f"  {name:<11} {ns:8.1f}")
    print(f"  specialize / lru_cache: {ratio:.2f}   specialize / plain: "
          f"{times['specialize'] / times['plain']:.2f}")

    cfg = Config("fast", 4, [8, 8])
    spec_render = guards.specialize(render)
    assert spec_render(cfg) == render(cfg)
    obj_times = compare(
        {"plain": (render, (cfg,)), "specialize": (spec_render, (cfg,))},
        number=200_000, rounds=15,
    )
    obj_ratio = obj_times["specialize"] / obj_times["plain"]
    print("hit overhead, render(cfg: Config) with an unhashable config (median ns per call)")
    for name, ns in obj_times.items():
        print(f"  {name:<11} {ns:8.1f}")
    print(f"  specialize / plain: {obj_ratio:.2f} (lru_cache cannot take the argument)")
    return [
        row("hit overhead", "specialize / lru_cache, two ints", ratio, TARGET),
        row("hit overhead", "specialize / plain call, config object", obj_ratio, None),
    ]


if __name__ == "__main__":
    run()
