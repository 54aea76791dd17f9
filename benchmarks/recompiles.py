"""Recompile counts vs TorchDynamo: how often does each cache miss on the same call scripts?

Run: ``python benchmarks/recompiles.py`` (about half a minute with torch, most of it
Dynamo; without torch, our column and the ideal are printed and Dynamo's is ``-``).
Exit status is always 0: this is a measurement, not a test.

Each script is a small function whose result depends on a *question* about an input
(a threshold, a sign, a flag, a type, a prefix, a length, membership in a table, a
relation between two arguments) or on nothing that changes between the calls (an
argument never read, or read only on a branch not taken), and a list of calls.  For
every script we count:

* ours: ``guards.specialize(max_entries=64)(fn)``, misses + uncached calls from
  ``cache.info()``;
* Dynamo: ``torch.compile(probe, backend=count, dynamic=None)`` (Dynamo's defaults:
  automatic dynamic shapes, so an int that changed between two compiles is traced as a
  symbol from then on, and a branch on it guards the comparison), the number of graphs
  the backend is asked to compile, with ``torch._dynamo.reset()`` between scripts.
  ``probe(t, *args)`` returns ``(t + 1, fn(*args))``: Dynamo inlines ``fn`` and guards
  what it reads, like it does for any callee.  The tensor op is there because Dynamo
  skips, and never caches, a frame that builds no graph: compiling a tensor-free ``fn``
  directly counts one "compile" per script whatever the calls are;
* ideal: the fewest misses a sound cache can have, one per distinct outcome of what the
  result depends on on the path taken, counted by hand next to each script.

Every call's result is checked against the plain function on both sides (``stale``
counts the calls whose result differed: it must be 0).  A script in which Dynamo broke
the graph is flagged, since its count then covers only part of the function.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from _timing import row

import guards

try:
    import torch
    import torch._dynamo
    from torch._dynamo.utils import counters
except ImportError:  # torch is optional: only our column and the ideal are printed
    torch = None


# -- the scripts ------------------------------------------------------------------------
@dataclass
class Script:
    """A function, the argument tuples it is called with, the ideal and why."""

    name: str
    fn: Callable[..., Any]
    calls: list[tuple[Any, ...]]
    ideal: int
    why: str


SCRIPTS: list[Script] = []


def script(name: str, ideal: int, why: str, *calls: tuple[Any, ...]) -> Callable[..., Any]:
    """Register the decorated function as a script called with ``calls``."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        SCRIPTS.append(Script(name, fn, list(calls), ideal, why))
        return fn

    return register


@script("threshold", 2, "size > 4096 is True for 5000..7000, False for 100..300",
        (5000,), (6000,), (7000,), (100,), (200,), (300,))
def chunking(size: int) -> str:
    return "split" if size > 4096 else "whole"


@script("two_thresholds", 3, "rank <= 3, <= 20, or neither: three outcomes",
        (1,), (2,), (10,), (15,), (50,), (99,), (3,))
def tier(rank: int) -> str:
    if rank <= 3:
        return "gold"
    if rank <= 20:
        return "silver"
    return "bronze"


@script("float_sign", 2, "delta < 0.0 is True for three, False for two",
        (-0.5,), (-1.25,), (-3.0,), (0.25,), (2.0,))
def direction(delta: float) -> str:
    return "down" if delta < 0.0 else "up"


@script("float_threshold", 2, "temperature < 1e-6 False for 0.7..1.0, True for 0.0",
        (0.7,), (0.8,), (0.9,), (1.0,), (0.0,), (0.0,))
def decoding(temperature: float) -> str:
    return "greedy" if temperature < 1e-6 else "sample"


@script("flag_bool", 2, "two values of the flag",
        (True,), (False,), (True,), (False,), (True,))
def norm_stats(eval_mode: bool) -> str:
    return "running" if eval_mode else "batch"


@script("int_truth", 2, "remainder is zero twice, non-zero three times",
        (0,), (0,), (3,), (5,), (7,))
def padding(remainder: int) -> str:
    return "pad" if remainder else "exact"


@script("isinstance_dispatch", 3, "three types: int, str, float",
        (3,), (4,), (5,), ("a",), ("b",), (2.5,), (7.5,))
def encode(value: object) -> str:
    if isinstance(value, bool):
        return "flag"
    if isinstance(value, int):
        return "int"
    if isinstance(value, str):
        return "text"
    return "other"


@script("str_prefix", 2, "startswith('head.') True twice, False three times",
        ("head.w",), ("head.b",), ("body.0.w",), ("body.1.w",), ("stem",))
def layer_group(name: str) -> str:
    return "head" if name.startswith("head.") else "body"


@script("str_contains", 2, "'dbg' in tag True twice, False twice",
        ("dbg-1",), ("x-dbg",), ("release",), ("prod",))
def log_level(tag: str) -> str:
    return "verbose" if "dbg" in tag else "quiet"


@script("str_equality", 2, "name == 'relu' True twice, False three times",
        ("relu",), ("relu",), ("gelu",), ("silu",), ("tanh",))
def activation_id(name: str) -> int:
    return 1 if name == "relu" else 2


@script("list_length_bound", 2, "len(shape) <= 2 True three times, False twice",
        ([3, 4],), ([5, 6],), ([7],), ([1, 2, 3],), ([1, 2, 3, 4],))
def fast_path(shape: list[int]) -> bool:
    return len(shape) <= 2


@script("tuple_length_only", 2, "len(dims) == 2 True three times, False three times",
        ((3, 4),), ((5, 6),), ((7, 8),), ((1, 2, 3),), ((2,),), ((4, 5, 6),))
def rank_kind(dims: tuple[int, ...]) -> str:
    return "matrix" if len(dims) == 2 else "other"


FUSED = {"relu": 0, "silu": 1}


@script("membership_table", 2, "act in FUSED True for relu, silu; False for gelu, tanh",
        ("relu",), ("silu",), ("gelu",), ("tanh",), ("relu",))
def is_fused(act: str) -> bool:
    return act in FUSED


@script("divisibility", 2, "n % 4 == 0 True for 8..20, False for 7..11",
        (8,), (12,), (16,), (20,), (7,), (9,), (11,))
def vector_width(n: int) -> int:
    return 4 if n % 4 == 0 else 1


@script("relation_of_two", 2, "size <= capacity True three times, False twice",
        (1, 10), (2, 10), (3, 10), (20, 10), (30, 10))
def fits(size: int, capacity: int) -> bool:
    return size <= capacity


class Settings:
    """A config object: only ``layers`` is read."""

    def __init__(self, layers: int, name: str) -> None:
        self.layers = layers
        self.name = name


@script("config_attribute", 2, "cfg.layers > 16 True twice, False twice (name unread)",
        (Settings(24, "a"),), (Settings(32, "b"),), (Settings(8, "c"),), (Settings(4, "d"),))
def depth_mode(cfg: Settings) -> str:
    return "deep" if cfg.layers > 16 else "shallow"


@script("unread_argument", 1, "seed is never read; name is the same",
        ("x", 1), ("x", 2), ("x", 3), ("x", 4))
def label(name: str, seed: int) -> str:
    return name.upper()


@script("read_on_one_branch", 2, "warmup: step unread (one); not warmup: step 10 (one)",
        (True, 1), (True, 2), (True, 3), (False, 10), (False, 10))
def lr_at(warmup: bool, step: int) -> float:
    return 0.0 if warmup else 0.1 * step


# -- counting -----------------------------------------------------------------------------
def same(a: Any, b: Any) -> bool:
    """Equal results of the same type (NaN equals NaN)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def ours(s: Script) -> tuple[int, int]:
    """Misses + uncached calls of ``specialize`` over the script, and stale results."""
    cached = guards.specialize(max_entries=64)(s.fn)
    stale = sum(not same(cached(*args), s.fn(*args)) for args in s.calls)
    info = cached.cache.info()
    return info.misses + info.uncached, stale


def probe_for(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A frame that builds a graph (so Dynamo caches it) and calls ``fn`` inside it."""

    def probe(t: Any, *args: Any) -> Any:
        return t + 1, fn(*args)

    return probe


def dynamo(s: Script) -> tuple[int, int, int]:
    """Graphs Dynamo compiled over the script, stale results, and graph breaks."""
    compiled = [0]

    def count(gm: Any, example_inputs: Any) -> Any:
        compiled[0] += 1
        return gm.forward

    torch._dynamo.reset()
    counters.clear()
    probe = torch.compile(probe_for(s.fn), backend=count, dynamic=None)
    tensor = torch.ones(3)
    stale = sum(not same(probe(tensor, *args)[1], s.fn(*args)) for args in s.calls)
    breaks = sum(counters["graph_break"].values())
    torch._dynamo.reset()
    return compiled[0], stale, breaks


def main() -> list[dict[str, Any]]:
    """Print the table; return the summary row for ``benchmarks/run.py``."""
    if torch is None:
        print("torch is not installed: Dynamo's column is '-' "
              "(pip install torch==2.13.0 to compare; it is never a dependency of guards)")
        against = ""
    else:
        against = f" vs TorchDynamo {torch.__version__} (a counting backend, eager otherwise)"
    print(f"guards.specialize{against}, Python {sys.version.split()[0]}")
    print(f"{'script':<22} {'ours':>5} {'Dynamo':>7} {'ideal':>6}  why the ideal")
    total_ours = total_dynamo = total_ideal = stale_total = 0
    notes: list[str] = []
    start = time.perf_counter()
    for s in SCRIPTS:
        misses, stale = ours(s)
        total_ours += misses
        total_ideal += s.ideal
        stale_total += stale
        if stale:
            notes.append(f"{s.name}: ours returned {stale} stale result(s)")
        dyn = "-"
        if torch is not None:
            graphs, dstale, breaks = dynamo(s)
            total_dynamo += graphs
            stale_total += dstale
            dyn = str(graphs)
            if dstale:
                notes.append(f"{s.name}: Dynamo returned {dstale} stale result(s)")
            if graphs >= torch._dynamo.config.recompile_limit:
                notes.append(f"{s.name}: Dynamo reached its recompile limit (runs eagerly)")
            if breaks:
                dyn += "*"
                notes.append(f"{s.name}: Dynamo broke the graph {breaks} time(s)")
        print(f"{s.name:<22} {misses:>5} {dyn:>7} {s.ideal:>6}  {s.why}")
    dyn_total = str(total_dynamo) if torch is not None else "-"
    print(f"{'total':<22} {total_ours:>5} {dyn_total:>7} {total_ideal:>6}  "
          f"({len(SCRIPTS)} scripts, stale {stale_total}, "
          f"{time.perf_counter() - start:.0f} s)")
    for note in notes:
        print("note:", note)
    if torch is None or total_dynamo == 0:
        return []
    return [row("recompiles vs Dynamo", f"total misses {total_ours} / {total_dynamo}",
                total_ours / total_dynamo, 1.0)]


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # a benchmark reports, it does not fail the caller
        print(f"recompiles benchmark failed: {type(error).__name__}: {error}")
    sys.exit(0)
