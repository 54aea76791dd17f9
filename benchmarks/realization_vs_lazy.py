"""Guards installed by lazy tracking against full realization, for docs/tracing.md's example.

Run: ``python benchmarks/realization_vs_lazy.py``.  "Full realization" guards
every value the trace touched completely, the way a tracer that turns each
touched input into a fully guarded variable does (Dynamo's LazyVariableTracker
realizes on first use): an object's type and every attribute it holds, a
sequence's length and every item, a dict's keys and every value, a function's
code, every default and every closure cell.
"""

from __future__ import annotations

import types
from typing import Any

import guards
from guards import (
    AttrSource,
    ClosureSource,
    DefaultsSource,
    GetItemSource,
    Guard,
    GuardBuilder,
    LocalSource,
    Source,
)


class Config:
    def __init__(self, mode: str, tile: tuple[int, ...], debug: bool = False,
                 comment: str = "unused") -> None:
        self.mode, self.tile, self.debug, self.comment = mode, tile, debug, comment


def make_kernel(scale: int, label: str) -> types.FunctionType:
    def kernel(cfg: Config, unroll: int = 2, *, vector: bool = True) -> Any:
        return cfg, unroll, vector, scale, label

    return kernel  # type: ignore[return-value]


def lazy(f_locals: dict[str, Any]) -> list[Guard]:
    """The specializer of docs/tracing.md, reading through trackers."""
    with guards.tracing(f_locals) as tx:
        call = tx.local("kernel").bind(tx.local("cfg"))
        cfg = call.arguments["cfg"]
        if cfg.attr("mode").as_constant() == "fast":
            cfg.attr("tile").len()
        if call.arguments["unroll"].as_constant() > 1:
            call.cells["scale"].as_constant()
    return list(tx.guards)


def realize(source: Source, value: Any, out: list[Guard]) -> None:
    """Guard ``value`` completely, recursively."""
    g = GuardBuilder
    if isinstance(value, types.FunctionType):
        out.append(source.make_guard(g.CLOSURE_MATCH))
        for i, default in enumerate(value.__defaults__ or ()):
            realize(DefaultsSource(source, i), default, out)
        for name, default in (value.__kwdefaults__ or {}).items():
            realize(DefaultsSource(source, name, is_kw=True), default, out)
        for i, cell in enumerate(value.__closure__ or ()):
            cell_source = AttrSource(GetItemSource(ClosureSource(source), i), "cell_contents")
            realize(cell_source, cell.cell_contents, out)
    elif isinstance(value, (tuple, list)):
        out.append(source.make_guard(g.SEQUENCE_LENGTH))
        for i, item in enumerate(value):
            realize(GetItemSource(source, i), item, out)
    elif isinstance(value, dict):
        out.append(source.make_guard(g.DICT_KEYS_MATCH))
        for key, item in value.items():
            realize(GetItemSource(source, key), item, out)
    elif type(value) in (int, float, str, bool, type(None)):
        out.append(source.make_guard(g.CONSTANT_MATCH))
    else:
        out.append(source.make_guard(g.TYPE_MATCH))
        for name, attr in vars(value).items():
            realize(AttrSource(source, name), attr, out)


def main() -> None:
    f_locals = {"kernel": make_kernel(3, "never read"), "cfg": Config("fast", (4, 4))}
    ours = lazy(f_locals)
    full: list[Guard] = []
    for name in ("kernel", "cfg"):  # both were touched by the trace
        realize(LocalSource(name), f_locals[name], full)
    print(f"lazy tracking: {len(ours)} guards")
    for guard in ours:
        print(f"  {guard}")
    print(f"full realization: {len(full)} guards")
    for guard in full:
        mark = " " if guard in ours else "+"
        print(f" {mark}{guard}")
    print("(+ marks a guard lazy tracking does not need)")


if __name__ == "__main__":
    main()
