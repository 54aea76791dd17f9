"""``python -m guards demo``: guards on a function with a closure, a default and a config.

It prints a short glossary, then two parts: guards written by hand and their
compiled check, and ``@specialize`` on a query planner.  Each part shows the
source of the functions it runs before their results.  The generated check is
shown by its first block; ``--show-code`` (``run(show_code=True)``) prints all
of it.

This module plays the part of user code: the guards it makes record its lines
as their provenance, as they would record yours.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable
from typing import Any

from guards.checks.compiled import CheckFunction, compile_guards
from guards.core.builder import GuardBuilder
from guards.core.guard import Guard
from guards.core.sources import (
    AttrSource,
    ClosureSource,
    DefaultsSource,
    GetItemSource,
    LocalSource,
)
from guards.specialization.decorator import SpecializedFunction, specialize

_GUARDS_USER_CODE = True  # provenance: treat this module's lines as the user's

GLOSSARY = """\
guards: may a result computed before be reused for new inputs, and if not, why?

Words used below:
  L       the call's local variables as the function sees them: its arguments
          (defaults applied) and its closure variables, like frame.f_locals
  G       the function's module globals
  source  an access path to one value, written as code: L['cfg'].mode
  guard   a condition on the value at one source, of a kind: EQUALS_MATCH (same
          type and equal), TYPE_MATCH (exact type), CLOSURE_MATCH (same def)...
  check   the one generated Python function that tests all the guards of a
          result at once, True when every guard holds (a guard may need more
          than one test: CLOSURE_MATCH tests the type, then the code object)"""


def run(out: Callable[[str], None] = print, *, show_code: bool = False) -> None:
    """The glossary, then both parts: guards by hand, then ``@specialize``.

    ``out`` receives the text one chunk (one or more lines) at a time;
    ``show_code`` prints the whole generated check instead of its first block.
    """
    out(GLOSSARY)
    _heading(out, "1. Guards by hand: sources, a compiled check, a failure explained")
    run_guards(out, show_code=show_code)
    _heading(out, "2. @guards.specialize: results reused while what they read holds")
    run_specialize(out)


def _heading(out: Callable[[str], None], title: str) -> None:
    out("")
    out(f"=== {title} ".ljust(78, "="))


def _show_source(out: Callable[[str], None], *objects: Any) -> None:
    """Print each object's source, indented, as the reader would find it in this file."""
    for i, obj in enumerate(objects):
        if i:
            out("")
        try:
            text = inspect.getsource(obj)
        except (OSError, TypeError):  # no source files (a frozen or zipped install)
            text = f"{obj.__qualname__}: source not available\n"
        out(textwrap.indent(text.rstrip("\n"), "    "))


# -- part 1: guards by hand ----------------------------------------------------------------
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


def kernel_guards() -> list[Guard]:
    """What ``kernel(cfg)`` reads, as guards: a tracer would install these."""
    kernel, cfg = LocalSource("kernel"), LocalSource("cfg")
    scale = AttrSource(GetItemSource(ClosureSource(kernel), 0), "cell_contents")
    return [
        kernel.make_guard(GuardBuilder.CLOSURE_MATCH),  # the same def (its code)
        scale.make_guard(GuardBuilder.EQUALS_MATCH),  # the closure variable
        DefaultsSource(kernel, 0).make_guard(GuardBuilder.CONSTANT_MATCH),  # width's default
        cfg.make_guard(GuardBuilder.TYPE_MATCH),
        AttrSource(cfg, "mode").make_guard(GuardBuilder.EQUALS_MATCH),
        AttrSource(cfg, "unroll").make_guard(GuardBuilder.EQUALS_MATCH),
    ]


def run_guards(out: Callable[[str], None] = print, *, show_code: bool = False) -> None:
    """Build, show, pass and fail a guard set, printing each step."""
    _show_source(out, make_kernel, kernel_guards)
    kernel = make_kernel(scale=3)
    cfg = Config(mode="fast", unroll=2)
    f_locals: dict[str, Any] = {"kernel": kernel, "cfg": cfg}
    out("")
    out('kernel, cfg = make_kernel(scale=3), Config(mode="fast", unroll=2)')
    out(f"kernel(cfg) -> {kernel(cfg)}")

    check = compile_guards(kernel_guards(), f_locals)
    out(f"\n== the {len(check.guards)} guards, grouped by access path, "
        "with L = {'kernel': kernel, 'cfg': cfg} ==")
    out("\n".join(str(check).splitlines()[1:]))
    _show_check_code(out, check, show_code)

    fresh = make_kernel(scale=3)
    changed = make_kernel(scale=5)
    new_locals = dict(f_locals, kernel=changed)
    same, fresh_passes = check.check(f_locals), check.check(dict(f_locals, kernel=fresh))
    out("")
    out(f"check(L)                                  -> {same}")
    out(f"check(L with kernel=make_kernel(scale=3)) -> {fresh_passes}  (a new closure, same def)")
    out(f"check(L with kernel=make_kernel(scale=5)) -> {check.check(new_locals)}")
    out("check_verbose(L with kernel=make_kernel(scale=5)) says why:")
    out(textwrap.indent(str(check.check_verbose(new_locals)), "  "))


def _show_check_code(out: Callable[[str], None], check: CheckFunction, show_code: bool) -> None:
    """The generated check: all of it, or its first guard's block and how to see the rest."""
    lines = check.code.splitlines()
    if show_code:
        out(f"\n== the check: the generated function ({len(lines)} lines) ==")
        out(check.code.rstrip("\n"))
        return
    shown = _first_block(lines)
    out(f"\n== the check: the generated function, its first of {len(lines)} lines ==")
    out("\n".join(shown))
    out("        ... a block like this per test: `python -m guards demo --show-code` shows all")
    out("(the _k names hold the expected values: bound to the function, never pasted as text)")


def _first_block(lines: list[str]) -> list[str]:
    """The lines up to the first failed-check ``return False``: the header and one check."""
    for end, line in enumerate(lines, 1):
        if line.strip() == "return False":
            return lines[:end]
    return lines[:8]


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
    out(f"    JOIN_STYLE = {JOIN_STYLE!r}\n")
    _show_source(out, make_planner)
    plan = make_planner("postgres")
    query = Query("orders", {"status": "open", "region": "eu"})
    out("")
    out('plan = make_planner("postgres")')
    out('query = Query("orders", {"status": "open", "region": "eu"})')
    out(f"plan(query) -> {plan(query)}")
    out(f"  {plan.cache_info()}  (a miss: plan ran)")
    query.comment = "the planner never reads this"
    out(f"query.comment = {query.comment!r}")
    out(f"plan(query) -> {plan(query)}")
    out(f"  {plan.cache_info()}  (a hit: nothing it read changed)")

    out("\n== the guards stored with the result: what plan(query) read ==")
    entry = plan.cache.entries[0]
    out("\n".join(str(entry.check).splitlines()[1:]))

    changed = Query("orders", {"status": "closed", "region": "eu"})
    out("")
    out('changed = Query("orders", {"status": "closed", "region": "eu"})')
    out("plan.explain(changed), before calling it:")
    out(textwrap.indent(str(plan.explain(changed)), "  "))
    out(f"plan(changed) -> {plan(changed)}")
    out("  (logged too: GUARDS_LOGS=recompiles python -m guards demo prints why on stderr)")
    out(f"plan(query) -> {plan(query)}")
    out(f"  {plan.cache_info()}  (two results stored; the first one hit again)")
