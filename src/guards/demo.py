"""``python -m guards demo``: guards on a function with a closure, a default and a config.

This module plays the part of user code: the guards it makes record its lines
as their provenance, as they would record yours.
"""

from __future__ import annotations

from collections.abc import Callable

from guards.builder import GuardBuilder
from guards.check import compile_guards
from guards.sources import AttrSource, ClosureSource, DefaultsSource, GetItemSource, LocalSource

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
    """Build, show, pass and fail a guard set, printing each step."""
    kernel = make_kernel(scale=3)
    cfg = Config(mode="fast", unroll=2)
    f_locals = {"kernel": kernel, "cfg": cfg}

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
