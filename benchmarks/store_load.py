"""A stored entry loaded and checked, against tracing the call again.

Run: ``python benchmarks/store_load.py`` (about 10 s).  A function of the shape
``@specialize`` is for (a config object's fields, a dict of rates, a list of
items: 40 values read) is specialized afresh, as a new process would, and its
first call timed two ways, in alternation:

* traced: no store, so the call is traced and its guards built and compiled;
* from the store: ``specialize(store=SQLiteStore(...))`` whose file holds the
  entry another process wrote, so the call reads the candidates, loads the guards
  document (``guards.load_check``), checks it, unpickles the value and keeps the
  entry locally.

The ratio is the least of each, in CPU time (``time.process_time``).  Target: at
most 1.0 (loading must beat tracing; it skips the trace, not the compile).  The
absolute times are printed beside it.
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any

from _timing import row

import guards

TARGET = 1.0
ROUNDS = 15


class Config:
    def __init__(self) -> None:
        self.currency, self.rounding, self.discount, self.region = "EUR", 2, 0.1, "eu"
        self.limits = {"min": 1, "max": 500}


RATES = {f"r{i}": 1.0 + i / 10 for i in range(20)}


def quote(config: Config, items: list[int], express: bool) -> dict[str, Any]:
    total = 0.0
    for i, amount in enumerate(items):
        total += amount * RATES[f"r{i % 20}"]
    if express:
        total *= 1.5
    total *= 1 - config.discount
    total = min(max(total, config.limits["min"]), config.limits["max"])
    return {"total": round(total, config.rounding), "currency": config.currency,
            "region": config.region}


def _first_call_seconds(store: guards.Store | None, args: tuple[Any, ...]) -> float:
    specialized = guards.specialize(store=store)(quote)
    start = time.process_time()
    result = specialized(*args)
    elapsed = time.process_time() - start
    info = specialized.cache.info()
    assert result == quote(*args) and info.misses == 1, info
    assert info.store_hits == (0 if store is None else 1), info
    return elapsed


def run() -> list[dict[str, Any]]:
    args = (Config(), list(range(12)), True)
    with tempfile.TemporaryDirectory() as directory:
        store = guards.SQLiteStore(os.path.join(directory, "entries.db"))
        guards.specialize(store=store)(quote)(*args)  # another process's miss, written
        traced, loaded = [], []
        for _ in range(ROUNDS):
            traced.append(_first_call_seconds(None, args))
            loaded.append(_first_call_seconds(store, args))
    best_traced, best_loaded = min(traced), min(loaded)
    ratio = best_loaded / best_traced
    print("first call of a fresh specialized function, CPU time (least of "
          f"{ROUNDS}):")
    print(f"  traced                {best_traced * 1e3:7.2f} ms")
    print(f"  from an SQLite store  {best_loaded * 1e3:7.2f} ms  ({ratio:.2f} of tracing)")
    return [row("store load", "first call: from the store / traced", ratio, TARGET)]


if __name__ == "__main__":
    run()
