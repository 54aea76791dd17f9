"""``python -m guards demo``: guards on a function with a closure, a default and a config.

This module plays the part of user code: the guards it makes record its lines
as their provenance, as they would record yours.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

from guards.checks.compiled import compile_guards
from guards.core.builder import GuardBuilder
from guards.core.sources import (
    AttrSource,
    ClosureSource,
    DefaultsSource,
    GetItemSource,
    LocalSource,
)
from guards.logs import recompiles_log
from guards.specialization.decorator import SpecializedFunction, specialize

_GUARDS_USER_CODE = True  # provenance: treat this module's lines as the user's


class Config:
    """A plain config object, the kind of input lru_cache cannot key on."""

    def __init__(self, mode: str, unroll: int) -> None:
        self.mode = mode
        self.unroll = unroll


def make_kernel(scale: int) -> Callable[..., str]:
    """A kernel generator closing over ``scale``, with a default ``width``."""

    def kernel(cfg: Config, width: int = 4) -> str:
        return f"{cfg.mode} x{scale} width={width} unroll={cfg.unroll}"

    return kernel


def _cell(fn: LocalSource, index: int) -> AttrSource:
    return AttrSource(GetItemSource(ClosureSource(fn), index), "cell_contents")


def run(out: Callable[[str], None] = print) -> None:
    """Both halves of the demo: guards by hand, then ``@specialize``."""
    out("#" * 72)
    out("# 1. Guards by hand: sources, a compiled check, a failure explained")
    out("#" * 72)
    run_guards(out)
    out("")
    out("#" * 72)
    out("# 2. @guards.specialize: results reused while what they read holds")
    out("#" * 72)
    run_specialize(out)


def run_guards(out: Callable[[str], None] = print) -> None:
    """Build, show, pass and fail a guard set, printing each step."""
    kernel = make_kernel(scale=3)
    cfg = Config(mode="fast", unroll=2)
    f_locals: dict[str, Any] = {"kernel": kernel, "cfg": cfg}

    fn = LocalSource("kernel")
    config = LocalSource("cfg")
    guard_list = [
        fn.make_guard(GuardBuilder.CLOSURE_MATCH),
        _cell(fn, 0).make_guard(GuardBuilder.EQUALS_MATCH),
        DefaultsSource(fn, 0).make_guard(GuardBuilder.CONSTANT_MATCH),
        config.make_guard(GuardBuilder.TYPE_MATCH),
        AttrSource(config, "mode").make_guard(GuardBuilder.EQUALS_MATCH),
        AttrSource(config, "unroll").make_guard(GuardBuilder.EQUALS_MATCH),
    ]
    out(f"result: {kernel(cfg)}")
    check = compile_guards(guard_list, f_locals)
    out("\n== the guards, grouped by access path ==")
    out(str(check))
    out("\n== the generated check ==")
    out(check.code)
    out(f"check on the same values: {check.check(f_locals)}")

    fresh = make_kernel(scale=3)
    out(f"check with a fresh closure of the same def: {check.check(dict(f_locals, kernel=fresh))}")

    changed = make_kernel(scale=5)
    new_locals = dict(f_locals, kernel=changed)
    out(f"check after the closure cell 'scale' changed to 5: {check.check(new_locals)}")
    out("\n== why ==")
    out(str(check.check_verbose(new_locals)))


# -- part 2: specialize ------------------------------------------------------------------
#: A global the planner reads: which join each dialect uses.
JOIN_STYLE = {"postgres": "HASH JOIN", "sqlite": "NESTED LOOP"}


class Query:
    """A query description: what a planner reads, and a comment it never reads."""

    def __init__(self, table: str, filters: dict[str, Any], comment: str = "") -> None:
        self.table = table
        self.filters = filters
        self.comment = comment


def make_planner(dialect: str) -> SpecializedFunction[..., str]:
    """A query planner closing over ``dialect``, with a default ``limit``."""

    @specialize
    def plan(query: Query, limit: int = 100) -> str:
        steps = [f"SCAN {query.table}"]
        for column in sorted(query.filters):
            steps.append(f"FILTER {column} = {query.filters[column]!r}")
        if len(query.filters) > 1:
            steps.append(JOIN_STYLE[dialect])
        steps.append(f"LIMIT {limit}")
        return " -> ".join(steps)

    return plan


def run_specialize(out: Callable[[str], None] = print) -> None:
    """Call a specialized planner with changing inputs; show hits, a miss and why."""
    plan = make_planner("postgres")
    query = Query("orders", {"status": "open", "region": "eu"})

    out(f"plan(query)            -> {plan(query)}")
    out(f"  {plan.cache.info()}")
    query.comment = "the planner never reads this"
    out(f"plan(query) [comment]  -> {plan(query)}")
    out(f"  {plan.cache.info()}  (a hit: nothing it read changed)")

    out("\n== the guards stored with the entry ==")
    entry = plan.cache.entries[0]
    out("\n".join(str(entry.check).splitlines()[1:]))

    changed = Query("orders", {"status": "closed", "region": "eu"})
    out("\n== why plan(changed) misses, before calling it ==")
    out(str(plan.explain(changed)))
    out("\n== what the guards.recompiles logger says when it builds the new entry ==")
    with _logged_to(out):
        result = plan(changed)
    out(f"\nplan(changed)          -> {result}")
    out(f"plan(query)            -> {plan(query)}")
    out(f"  {plan.cache.info()}")


@contextlib.contextmanager
def _logged_to(out: Callable[[str], None]) -> Iterator[None]:
    """Show what guards.recompiles logs (at INFO) through ``out`` for a while."""

    class Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            out(self.format(record))

    handler = Handler()
    handler.setFormatter(logging.Formatter("[%(name)s] %(message)s"))
    level = recompiles_log.level
    recompiles_log.addHandler(handler)
    recompiles_log.setLevel(logging.INFO)
    try:
        yield
    finally:
        recompiles_log.removeHandler(handler)
        recompiles_log.setLevel(level)
