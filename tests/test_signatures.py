"""A code object's parameters, read in one place, agree with ``inspect`` and with a real call."""

from __future__ import annotations

import inspect
import types
from typing import Any

import pytest
from hypothesis import given, strategies as st

from guards.core.signatures import call_with, parameters, signature_shape
from guards.errors import UntrackableError

KIND = inspect.Parameter


@st.composite
def defs(draw: st.DrawFn) -> types.FunctionType:
    """A function with any mix of parameter kinds, which also has locals and a cell."""
    names = iter(f"p{i}" for i in range(20))
    posonly = [next(names) for _ in range(draw(st.integers(0, 2)))]
    positional = [next(names) for _ in range(draw(st.integers(0, 3)))]
    varargs = next(names) if draw(st.booleans()) else None
    kwonly = [next(names) for _ in range(draw(st.integers(0, 2)))]
    varkw = next(names) if draw(st.booleans()) else None
    params = [*posonly, *(["/"] if posonly else []), *positional]
    if varargs:
        params.append(f"*{varargs}")
    elif kwonly:
        params.append("*")
    params += kwonly
    if varkw:
        params.append(f"**{varkw}")
    every = [*posonly, *positional, *([varargs] if varargs else []), *kwonly,
             *([varkw] if varkw else [])]
    text = (
        f"def f({', '.join(params)}):\n"
        "    local = 1\n"
        "    def inner():\n"
        "        return local\n"
        f"    return {{{', '.join(f'{n!r}: {n}' for n in every)}}}\n"
    )
    namespace: dict[str, Any] = {}
    exec(compile(text, "<test_signatures>", "exec"), namespace)
    function: types.FunctionType = namespace["f"]
    return function


@given(defs())
def test_parameters_agree_with_inspect(function: types.FunctionType) -> None:
    """Names, kinds and order are what ``inspect.signature`` reads."""
    params = parameters(function.__code__)
    signature = list(inspect.signature(function).parameters.values())
    assert params.names() == [p.name for p in signature]
    assert params.positional == tuple(
        p.name for p in signature if p.kind in (KIND.POSITIONAL_ONLY, KIND.POSITIONAL_OR_KEYWORD)
    )
    assert params.posonly_count == sum(p.kind is KIND.POSITIONAL_ONLY for p in signature)
    assert params.kwonly == tuple(p.name for p in signature if p.kind is KIND.KEYWORD_ONLY)
    by_kind = {p.kind: p.name for p in signature}
    assert params.varargs == by_kind.get(KIND.VAR_POSITIONAL)
    assert params.varkw == by_kind.get(KIND.VAR_KEYWORD)


@given(defs())
def test_frame_names_are_the_first_varnames(function: types.FunctionType) -> None:
    """A frame's locals hold the parameters first, keyword-only before ``*args``."""
    code = function.__code__
    names = parameters(code).frame_names()
    assert names == code.co_varnames[:len(names)]
    assert "local" not in names and "inner" not in names


@given(defs())
def test_call_with_binds_every_parameter_by_name(function: types.FunctionType) -> None:
    """``call_with`` passes each parameter where the code expects it, in any order."""
    params = parameters(function.__code__)
    arguments: dict[str, Any] = {name: f"value of {name}" for name in params.names()}
    if params.varargs:
        arguments[params.varargs] = ("a", "b")
    if params.varkw:
        arguments[params.varkw] = {"extra": 1}
    shuffled = dict(reversed(list(arguments.items())))
    assert call_with(function, function.__code__, shuffled) == arguments


def test_signature_shape_counts_the_defaults() -> None:
    """The defaults' shape: how many positional ones, which keyword-only ones."""

    def f(a: int, b: int = 1, *, c: int, d: int = 2) -> None: ...

    shape = signature_shape(f)
    assert (shape.qualname, shape.n_defaults, shape.kwdefault_names) == (f.__qualname__, 1, ("d",))


def test_signature_shape_refuses_more_defaults_than_parameters() -> None:
    """``__defaults__`` reassigned to more values than there are parameters."""

    def f(a: int) -> None: ...

    f.__defaults__ = (1, 2)
    with pytest.raises(UntrackableError, match="more __defaults__"):
        signature_shape(f)
