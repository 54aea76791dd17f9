"""Mixed guard sets of any size, described once and built three ways.

A guard set of size N is the first N guards of a repeated ten-guard unit over
fresh locals, mixing the kinds a compiler installs:

    TYPE_MATCH      L['cfg_u']
    EQUALS_MATCH    L['cfg_u'].mode               (a str)
    EQUALS_MATCH    L['cfg_u'].n                  (an int)
    CLOSURE_MATCH   L['fn_u']
    EQUALS_MATCH    L['fn_u'].__closure__[0].cell_contents
    EQUALS_MATCH    L['fn_u'].__defaults__[0]
    SEQUENCE_LENGTH L['shape_u']                  (a tuple)
    EQUALS_MATCH    L['shape_u'][1]
    DICT_KEYS_MATCH L['opts_u']
    EQUALS_MATCH    L['opts_u']['k']

:func:`guard_set` gives the frame and the spec; :func:`ours` builds it with
guards; :func:`floor` writes the best plain-Python check for it by hand-written
rules (shared prefixes in locals, constants in closure cells, identity before
type-and-equality); ``dynamo_guards.py`` builds it as Dynamo's C++ tree.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from guards import (
    AttrSource,
    CheckFunction,
    ClosureSource,
    DefaultsSource,
    GetItemSource,
    Guard,
    GuardBuilder,
    LocalSource,
    Source,
    compile_guards,
)

#: A step from a value: ("attr", name), ("item", key), ("cell", i), ("default", i), ("code",).
Step = tuple[Any, ...]


@dataclass(frozen=True)
class Spec:
    """One guard: the local it starts from, the steps to the value, the kind, the value."""

    local: str
    steps: tuple[Step, ...]
    kind: str
    value: Any


class Config:
    def __init__(self, mode: str, n: int) -> None:
        self.mode = mode
        self.n = n


def _make_fn(offset: int) -> types.FunctionType:
    def fn(x: int, width: int = 8 + offset % 3) -> int:
        return x + offset + width

    return fn  # type: ignore[return-value]


def guard_set(size: int) -> tuple[dict[str, Any], list[Spec]]:
    """The frame and the first ``size`` guards of the repeated unit."""
    f_locals: dict[str, Any] = {}
    specs: list[Spec] = []
    unit = 0
    while len(specs) < size:
        cfg, fn, shape, opts = (f"{name}_{unit}" for name in ("cfg", "fn", "shape", "opts"))
        f_locals[cfg] = Config(mode=f"mode{unit % 4}", n=unit)
        f_locals[fn] = _make_fn(unit)
        f_locals[shape] = (2, unit, 4)
        f_locals[opts] = {"k": f"v{unit}", "j": unit}
        specs += [
            Spec(cfg, (), "TYPE_MATCH", Config),
            # The expected values are the frame's own objects, as they are for guards
            # (a guard binds the value it read), so `v is K` holds for both.
            Spec(cfg, (("attr", "mode"),), "EQUALS_MATCH", f_locals[cfg].mode),
            Spec(cfg, (("attr", "n"),), "EQUALS_MATCH", unit),
            Spec(fn, (), "CLOSURE_MATCH", f_locals[fn].__code__),
            Spec(fn, (("cell", 0),), "EQUALS_MATCH", unit),
            Spec(fn, (("default", 0),), "EQUALS_MATCH", f_locals[fn].__defaults__[0]),
            Spec(shape, (), "SEQUENCE_LENGTH", 3),
            Spec(shape, (("item", 1),), "EQUALS_MATCH", unit),
            Spec(opts, (), "DICT_KEYS_MATCH", ["k", "j"]),
            Spec(opts, (("item", "k"),), "EQUALS_MATCH", f_locals[opts]["k"]),
        ]
        unit += 1
    return f_locals, specs[:size]


def source_of(spec: Spec) -> Source:
    """The guards source of a spec's path."""
    source: Source = LocalSource(spec.local)
    for step in spec.steps:
        if step[0] == "attr":
            source = AttrSource(source, step[1])
        elif step[0] == "item":
            source = GetItemSource(source, step[1])
        elif step[0] == "cell":
            source = AttrSource(GetItemSource(ClosureSource(source), step[1]), "cell_contents")
        elif step[0] == "default":
            source = DefaultsSource(source, step[1])
    return source


def ours(f_locals: dict[str, Any], specs: list[Spec]) -> CheckFunction:
    """The guard set compiled by guards."""
    guard_list: list[Guard] = [
        source_of(spec).make_guard(getattr(GuardBuilder, spec.kind)) for spec in specs
    ]
    return compile_guards(guard_list, f_locals)


def floor(specs: list[Spec]) -> Callable[..., bool]:
    """The best hand-written Python check of ``specs``: what a careful person would type."""
    constants: dict[str, Any] = {}

    def const(value: Any) -> str:
        name = f"c{len(constants)}"
        constants[name] = value
        return name

    lines = ["def check(L, G=None):", "    try:"]
    held: dict[tuple[str, tuple[Step, ...]], str] = {}

    def expr_for(local: str, steps: tuple[Step, ...]) -> str:
        key = (local, steps)
        if key in held:
            return held[key]
        if not steps:
            text = f"L[{const(local)}]"
        else:
            base = expr_for(local, steps[:-1])
            step = steps[-1]
            if step[0] == "attr":
                text = f"{base}.{step[1]}"
            elif step[0] == "item":
                text = f"{base}[{const(step[1])}]"
            elif step[0] == "cell":
                text = f"{base}.__closure__[{const(step[1])}].cell_contents"
            else:
                text = f"{base}.__defaults__[{const(step[1])}]"
        var = f"v{len(held)}"
        lines.append(f"        {var} = {text}")
        held[key] = var
        return var

    for spec in specs:
        v = expr_for(spec.local, spec.steps)
        if spec.kind == "TYPE_MATCH":
            test = f"type({v}) is {const(spec.value)}"
        elif spec.kind == "CLOSURE_MATCH":
            fn_type, code = const(types.FunctionType), const(spec.value)
            test = f"type({v}) is {fn_type} and {v}.__code__ is {code}"
        elif spec.kind == "SEQUENCE_LENGTH":
            test = f"type({v}) is {const(tuple)} and len({v}) == {const(spec.value)}"
        elif spec.kind == "DICT_KEYS_MATCH":
            test = f"type({v}) is {const(dict)} and list({v}) == {const(spec.value)}"
        else:
            k, t = const(spec.value), const(type(spec.value))
            test = f"{v} is {k} or (type({v}) is {t} and {v} == {k})"
        lines.append(f"        if not ({test}):")
        lines.append("            return False")
    lines += ["        return True", "    except Exception:", "        return False"]
    factory = f"def make({', '.join(constants)}):\n" + "".join(
        f"    {line}\n" for line in lines
    ) + "    return check\n"
    namespace: dict[str, Any] = {}
    exec(compile(factory, "<hand-written floor>", "exec"), namespace)
    check: Callable[..., bool] = namespace["make"](**constants)
    return check
