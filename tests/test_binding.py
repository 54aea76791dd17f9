"""Binding calls of tracked Python functions: parameters, defaults, cells, annotations, errors."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import pytest

import guards
from guards import (
    AttrSource,
    BoundCall,
    ClosureSource,
    DefaultsSource,
    EmptyCellError,
    GetItemSource,
    LazyTracker,
    LocalSource,
    SkipGuardSource,
    bind_args,
    tracing,
)

F = "L['f']"


def kinds(tx: guards.TracingContext) -> set[tuple[str, str]]:
    return {(g.source.name, g.kind) for g in tx.guards}


def bind(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[BoundCall, Any]:
    """Bind ``fn(*args, **kwargs)`` in a fresh trace; return the binding and the context."""
    with tracing({"f": fn}) as tx:
        bound = tx.local("f").bind(*args, **kwargs)
    return bound, tx


def shown(arguments: dict[str, Any]) -> dict[str, Any]:
    return {k: v.source.name if isinstance(v, LazyTracker) else v for k, v in arguments.items()}


# ------------------------------------------------------------- every parameter kind
def every_kind(a, b=2, /, c=3, *args, k, m=5, **kw):  # type: ignore[no-untyped-def]
    return a, b, c, args, k, m, kw


def test_binds_every_kind_of_parameter() -> None:
    bound, tx = bind(every_kind, 1, 20, 30, 40, 50, k=4, m=6, z=7)
    assert bound.function is every_kind
    assert list(bound.arguments) == ["a", "b", "c", "args", "k", "m", "kw"]
    assert bound.arguments == {
        "a": 1, "b": 20, "c": 30, "args": (40, 50), "k": 4, "m": 6, "kw": {"z": 7}
    }
    assert bound.defaults_used == ()
    assert bound.cells == {}
    assert kinds(tx) == {(F, "CLOSURE_MATCH")}


#: What a call of every_kind that uses its defaults b, c and m guards before any inspection.
DEFAULTS_PRESENT = {
    ("L['f'].__defaults__", "SEQUENCE_LENGTH"),
    ("L['f'].__kwdefaults__['m']", "DICT_CONTAINS"),
}


def test_removing_a_used_default_fails_the_check() -> None:
    """A call that used a default is not reused once the default is gone."""
    with tracing({"f": every_kind}) as tx:
        tx.local("f").bind(1, k=4)
    check = tx.compile()
    assert check.check({"f": every_kind})
    assert not check.check({"f": _with_defaults(every_kind, (3,), {"m": 5})})
    assert not check.check({"f": _with_defaults(every_kind, (2, 3), {})})
    assert not check.check({"f": _with_defaults(every_kind, None, {"m": 5})})


def test_binds_used_defaults_as_trackers() -> None:
    bound, tx = bind(every_kind, 1, k=4)
    assert shown(bound.arguments) == {
        "a": 1,
        "b": "L['f'].__defaults__[0]",
        "c": "L['f'].__defaults__[1]",
        "args": (),
        "k": 4,
        "m": "L['f'].__kwdefaults__['m']",
        "kw": {},
    }
    assert bound.defaults_used == ("b", "c", "m")
    assert bound.arguments["b"].source == DefaultsSource(LocalSource("f"), 0)
    assert bound.arguments["m"].source == DefaultsSource(LocalSource("f"), "m", is_kw=True)
    # Using a default depends on it still being there, so its presence is guarded.
    assert kinds(tx) == {(F, "CLOSURE_MATCH"), *DEFAULTS_PRESENT}


def test_keyword_arguments_for_positional_or_keyword_parameters() -> None:
    bound, _ = bind(every_kind, 1, c=9, k=0)
    assert shown(bound.arguments)["c"] == 9
    assert bound.defaults_used == ("b", "m")


def test_bind_args_function_is_the_method() -> None:
    with tracing({"f": every_kind}) as tx:
        a = bind_args(tx.local("f"), (1,), {"k": 2})
        b = tx.local("f").bind(1, k=2)
    assert shown(a.arguments) == shown(b.arguments)
    assert a.arguments["b"] is b.arguments["b"]
    assert kinds(tx) == {(F, "CLOSURE_MATCH"), *DEFAULTS_PRESENT}


def test_bind_args_needs_a_tracker() -> None:
    with pytest.raises(guards.UntrackableError, match="LazyTracker"):
        bind_args(every_kind, (), {})  # type: ignore[arg-type]


def test_caller_trackers_pass_through_unchanged() -> None:
    with tracing({"f": every_kind, "y": 3}) as tx:
        y = tx.local("y")
        bound = tx.local("f").bind(y, k=y)
    assert bound.arguments["a"] is y
    assert bound.arguments["k"] is y
    assert kinds(tx) == {(F, "CLOSURE_MATCH"), *DEFAULTS_PRESENT}


def sig_cases() -> list[Any]:
    def plain(a, b): ...  # type: ignore[no-untyped-def]
    def star(*args, **kwargs): ...  # type: ignore[no-untyped-def]
    def posonly(a, /, b=1): ...  # type: ignore[no-untyped-def]
    def kwonly(*, k, m=2): ...  # type: ignore[no-untyped-def]
    def var_and_kw(a, *rest, k=1, **kw): ...  # type: ignore[no-untyped-def]
    return [
        (plain, (1, 2), {}),
        (plain, (), {"b": 1, "a": 2}),
        (star, (), {}),
        (star, (1, 2), {"x": 3}),
        (posonly, (1,), {}),
        (posonly, (1,), {"b": 3}),
        (kwonly, (), {"k": 1}),
        (kwonly, (), {"k": 1, "m": 0}),
        (var_and_kw, (1, 2, 3), {"k": 4, "z": 5}),
        (var_and_kw, (1,), {}),
        (every_kind, (1,), {"k": 2, "a": 3}),  # a=3 goes to **kw: a is positional-only
    ]


@pytest.mark.parametrize(("fn", "args", "kwargs"), sig_cases())
def test_binding_agrees_with_inspect_signature(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    expected = inspect.signature(fn).bind(*args, **kwargs)
    expected.apply_defaults()
    bound, _ = bind(fn, *args, **kwargs)
    got = {
        name: value.peek() if isinstance(value, LazyTracker) else value
        for name, value in bound.arguments.items()
    }
    assert got == dict(expected.arguments)
    explicit = set(inspect.signature(fn).bind(*args, **kwargs).arguments)
    has_default = {
        name for name, p in inspect.signature(fn).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    assert set(bound.defaults_used) == has_default - explicit


# ------------------------------------------------------------------- defaults
def test_unused_defaults_get_no_guard() -> None:
    bound, tx = bind(every_kind, 1, 2, 3, k=4, m=5)
    assert bound.defaults_used == ()
    assert kinds(tx) == {(F, "CLOSURE_MATCH")}
    check = tx.compile()
    changed = _with_defaults(every_kind, (0, 0), {"m": 0})
    assert check.check({"f": changed})


def _with_defaults(fn: Any, defaults: Any, kwdefaults: Any) -> Any:
    """A copy of ``fn`` (same code) with other defaults."""
    import types

    copy = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, defaults, fn.__closure__)
    copy.__kwdefaults__ = kwdefaults
    return copy


def test_used_defaults_are_guarded_only_when_inspected() -> None:
    with tracing({"f": every_kind}) as tx:
        bound = tx.local("f").bind(1, k=4)
        assert kinds(tx) == {(F, "CLOSURE_MATCH"), *DEFAULTS_PRESENT}
        assert bound.arguments["c"].as_constant() == 3
        assert bound.arguments["m"].as_constant() == 5
    assert kinds(tx) == {
        (F, "CLOSURE_MATCH"),
        *DEFAULTS_PRESENT,
        ("L['f'].__defaults__[1]", "CONSTANT_MATCH"),
        ("L['f'].__kwdefaults__['m']", "CONSTANT_MATCH"),
    }
    check = tx.compile()
    assert check.check({"f": every_kind})
    # b's default (index 0) was used but never inspected: changing it is fine.
    assert check.check({"f": _with_defaults(every_kind, (99, 3), {"m": 5})})
    assert not check.check({"f": _with_defaults(every_kind, (2, 4), {"m": 5})})
    assert not check.check({"f": _with_defaults(every_kind, (2, 3), {"m": 6})})


def test_default_failure_names_the_parameter() -> None:
    with tracing({"f": every_kind}) as tx:
        bound = tx.local("f").bind(1, k=4)
        bound.arguments["c"].as_constant()
        bound.arguments["m"].as_constant()
    result = tx.compile().check_verbose({"f": _with_defaults(every_kind, (2, 4), {"m": 6})})
    assert not result.passed
    messages = sorted(f.message for f in result.failures)
    assert len(messages) == 2
    assert "(guard on 'c')" in messages[0]
    assert "(guard on 'm')" in messages[1]


def test_mutable_default_is_a_tracker_like_any_other() -> None:
    def f(x, acc=[]):  # type: ignore[no-untyped-def]  # noqa: B006
        return acc

    with tracing({"f": f}) as tx:
        acc = tx.local("f").bind(1).arguments["acc"]
        assert acc.len() == 0
    assert kinds(tx) == {
        (F, "CLOSURE_MATCH"),
        ("L['f'].__defaults__", "SEQUENCE_LENGTH"),
        ("L['f'].__defaults__[0]", "SEQUENCE_LENGTH"),
    }
    check = tx.compile()
    f.__defaults__[0].append(1)  # type: ignore[index]
    assert not check.check({"f": f})


# -------------------------------------------- skip_guards_on_constant_func_defaults
def literal_defaults(a, b=3, c=(1, "x", None), d=[1], e=2.5, *, k=5):  # type: ignore[no-untyped-def]  # noqa: B006
    return a


def test_skip_guards_on_constant_func_defaults_leaves_literals_untracked() -> None:
    with tracing({"f": literal_defaults}, skip_guards_on_constant_func_defaults=True) as tx:
        bound = tx.local("f").bind(0)
        args = bound.arguments
        assert args["b"] == 3 and not isinstance(args["b"], LazyTracker)
        assert args["c"] == (1, "x", None) and not isinstance(args["c"], LazyTracker)
        assert args["e"] == 2.5 and not isinstance(args["e"], LazyTracker)
        assert isinstance(args["d"], LazyTracker)  # a list is not a literal
        assert args["d"].source.name == "L['f'].__defaults__[2]"
        assert isinstance(args["k"], LazyTracker)  # keyword defaults stay tracked
        assert args["k"].source.name == "L['f'].__kwdefaults__['k']"
        present = {
            ("L['f'].__defaults__", "SEQUENCE_LENGTH"),  # for the tracked default d
            ("L['f'].__kwdefaults__['k']", "DICT_CONTAINS"),
        }
        assert kinds(tx) == {(F, "CLOSURE_MATCH"), *present}
        args["d"].len()
        args["k"].as_constant()
    assert bound.defaults_used == ("b", "c", "d", "e", "k")
    assert kinds(tx) == {
        (F, "CLOSURE_MATCH"),
        *present,
        ("L['f'].__defaults__[2]", "SEQUENCE_LENGTH"),
        ("L['f'].__kwdefaults__['k']", "CONSTANT_MATCH"),
    }
    # The option is documented as unsafe: a changed literal default goes unnoticed.
    check = tx.compile()
    assert check.check({"f": _with_defaults(literal_defaults, (4, (), [0], 0.0), {"k": 5})})
    assert not check.check({"f": _with_defaults(literal_defaults, (3, (), [0], 0.0), {"k": 6})})


def test_constant_defaults_tracked_by_default() -> None:
    bound, _ = bind(literal_defaults, 0)
    for name in ("b", "c", "d", "e", "k"):
        assert isinstance(bound.arguments[name], LazyTracker), name


# ---------------------------------------------------------------------- cells
def make_scaler(scale: int, offset: int = 0) -> Callable[[int], int]:
    def f(a: int) -> int:
        return a * scale + offset

    return f


def test_cells_are_trackers_on_cell_contents() -> None:
    bound, tx = bind(make_scaler(3), 2)
    assert {k: v.source.name for k, v in bound.cells.items()} == {
        "offset": "L['f'].__closure__[0].cell_contents",
        "scale": "L['f'].__closure__[1].cell_contents",
    }
    assert bound.cells["scale"].source == AttrSource(
        GetItemSource(ClosureSource(LocalSource("f")), 1), "cell_contents"
    )
    assert kinds(tx) == {(F, "CLOSURE_MATCH")}


def test_only_read_cells_are_guarded() -> None:
    with tracing({"f": make_scaler(3, 1)}) as tx:
        bound = tx.local("f").bind(2)
        assert bound.cells["scale"].as_constant() == 3
    assert kinds(tx) == {(F, "CLOSURE_MATCH"), ("L['f'].__closure__[1].cell_contents",
                                                 "CONSTANT_MATCH")}
    check = tx.compile()
    assert check.check({"f": make_scaler(3, 1)})
    assert check.check({"f": make_scaler(3, 100)})  # offset never read
    assert not check.check({"f": make_scaler(4, 1)})


def test_fresh_closure_of_same_def_passes_closure_match() -> None:
    original = make_scaler(3)
    _, tx = bind(original, 1)
    check = tx.compile()
    fresh = make_scaler(5)
    assert fresh is not original and fresh.__code__ is original.__code__
    assert check.check({"f": fresh})

    def lookalike(a: int) -> int:
        return a

    assert not check.check({"f": lookalike})
    assert not check.check({"f": len})


def test_cell_failure_message_names_the_variable() -> None:
    with tracing({"f": make_scaler(3)}) as tx:
        tx.local("f").bind(2).cells["scale"].as_constant()
    result = tx.compile().check_verbose({"f": make_scaler(4)})
    (failure,) = result.failures
    assert failure.guard.kind == "CONSTANT_MATCH"
    assert "L['f'].__closure__[1].cell_contents == 3 (guard on 'scale')" in failure.message
    assert (failure.expected, failure.actual) == (3, 4)


def make_maybe_empty(fill: bool) -> Callable[[int], int]:
    def f(a: int) -> int:
        return a * scale

    if fill:
        scale = 2
    return f


def test_empty_cell_raises_pythons_name_error() -> None:
    fn = make_maybe_empty(False)
    with pytest.raises(NameError) as python:
        fn(1)
    with tracing({"f": fn}) as tx:
        cell = tx.local("f").bind(1).cells["scale"]
        with pytest.raises(EmptyCellError) as ours:
            cell.as_constant()
    assert isinstance(ours.value, NameError)
    assert isinstance(ours.value, guards.GuardsError)
    assert str(ours.value) == str(python.value)
    assert ours.value.variable == "scale"
    assert kinds(tx) == {(F, "CLOSURE_MATCH"), ("L['f'].__closure__[0].cell_contents",
                                                 "CELL_EMPTY")}
    check = tx.compile()
    assert check.check({"f": make_maybe_empty(False)})
    assert not check.check({"f": make_maybe_empty(True)})
    result = check.check_verbose({"f": make_maybe_empty(True)})
    (failure,) = result.failures
    assert "(guard on 'scale')" in failure.message


@pytest.mark.parametrize(
    "inspect_cell",
    [
        lambda t: t.python_type(),
        lambda t: t.is_none(),
        lambda t: t.truthy(),
        lambda t: t.attr("x"),
        lambda t: t.item(0),
        lambda t: t.len(),
    ],
)
def test_every_inspection_of_empty_cell_reports_it(inspect_cell: Any) -> None:
    with tracing({"f": make_maybe_empty(False)}) as tx:
        cell = tx.local("f").bind(1).cells["scale"]
        with pytest.raises(EmptyCellError, match="'scale'"):
            inspect_cell(cell)
    assert ("L['f'].__closure__[0].cell_contents", "CELL_EMPTY") in kinds(tx)


def test_filled_cell_is_not_reported_empty() -> None:
    with tracing({"f": make_maybe_empty(True)}) as tx:
        assert tx.local("f").bind(1).cells["scale"].as_constant() == 2
    assert ("L['f'].__closure__[0].cell_contents", "CONSTANT_MATCH") in kinds(tx)
    assert not tx.compile().check({"f": make_maybe_empty(False)})


# ---------------------------------------------------------------- annotations
def annotated(a: int, b: str = "s") -> list[int]:
    return [a]


def test_annotations_are_read_through_skip_guard_source() -> None:
    with tracing({"f": annotated}) as tx:
        bound = tx.local("f").bind(1)
        ann = bound.annotations
        assert ann.source == SkipGuardSource(AttrSource(LocalSource("f"), "__annotations__"))
        assert ann.source.name == "L['f'].__annotations__"
        assert ann.keys() == ["a", "b", "return"]
        assert ann.item("a").as_constant() == "int"  # postponed evaluation: strings
    check = tx.compile()
    assert {(g.source.name, g.kind) for g in check.guards} == {
        (F, "CLOSURE_MATCH"),
        ("L['f'].__defaults__", "SEQUENCE_LENGTH"),  # b's default was used
    }
    assert {(g.source.name, g.kind) for g in check.dropped_guards} == {
        ("L['f'].__annotations__", "DICT_KEYS_MATCH"),
        ("L['f'].__annotations__['a']", "CONSTANT_MATCH"),
    }
    other = _with_defaults(annotated, ("s",), None)
    other.__annotations__ = {"zzz": float}
    assert check.check({"f": other})


# -------------------------------------------------------- qualname in messages
def _renaming(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(x, y):  # type: ignore[no-untyped-def]
        return fn(x, y)

    return wrapper


@_renaming
def wrapped(x: int, y: int) -> int:
    return x + y


def test_errors_name_the_functions_qualname_not_its_codes() -> None:
    """Python's binding errors use ``fn.__qualname__`` (set by functools.wraps), not co_qualname."""
    assert wrapped.__qualname__ != wrapped.__code__.co_qualname
    with pytest.raises(TypeError) as python:
        wrapped(1)
    with tracing({"f": wrapped}) as tx, pytest.raises(TypeError) as ours:
        tx.local("f").bind(1)
    assert str(ours.value) == str(python.value)
    assert str(ours.value).startswith("wrapped()")


def test_two_functions_sharing_code_keep_their_own_names_in_errors() -> None:
    """The binding stub cache is keyed by code; the name in errors is per function."""
    import types

    first = make_scaler(1)
    second = types.FunctionType(first.__code__, first.__globals__, "f", None, first.__closure__)
    second.__qualname__ = "renamed"
    for fn in (first, second, first):
        with pytest.raises(TypeError) as python:
            fn()
        with tracing({"f": fn}) as tx, pytest.raises(TypeError) as ours:
            tx.local("f").bind()
        assert str(ours.value) == str(python.value)


# ------------------------------------------------------------------ bad calls
def p_plain(a, b): ...  # type: ignore[no-untyped-def]
def p_none(): ...  # type: ignore[no-untyped-def]
def p_defaults(a, b=1, c=2): ...  # type: ignore[no-untyped-def]
def p_posonly(a, b=1, /, c=2): ...  # type: ignore[no-untyped-def]
def p_kwonly(a, *, k, m=1): ...  # type: ignore[no-untyped-def]
def p_star(a, *args, k): ...  # type: ignore[no-untyped-def]
def p_kw(a, /, **kw): ...  # type: ignore[no-untyped-def]


class Holder:
    def method(self, x): ...  # type: ignore[no-untyped-def]


def p_nested() -> Callable[..., Any]:
    def inner(a, *, k): ...  # type: ignore[no-untyped-def]

    return inner


BAD_CALLS = [
    ("missing-all", p_plain, (), {}),
    ("missing-one", p_plain, (1,), {}),
    ("missing-by-keyword", p_plain, (), {"b": 1}),
    ("too-many", p_plain, (1, 2, 3), {}),
    ("too-many-none", p_none, (1,), {}),
    ("unexpected-none", p_none, (), {"x": 1}),
    ("unexpected", p_plain, (1, 2), {"c": 3}),
    ("duplicate", p_plain, (1, 2), {"a": 3}),
    ("too-many-defaults", p_defaults, (1, 2, 3, 4), {}),
    ("missing-with-defaults", p_defaults, (), {"c": 1}),
    ("duplicate-default", p_defaults, (1, 2), {"b": 3}),
    ("posonly-by-keyword", p_posonly, (1,), {"b": 2}),
    ("posonly-required-by-keyword", p_posonly, (), {"a": 1}),
    ("posonly-too-many", p_posonly, (1, 2, 3, 4), {}),
    ("kwonly-missing", p_kwonly, (1,), {}),
    ("kwonly-missing-with-other", p_kwonly, (1,), {"m": 2}),
    ("kwonly-given-positionally", p_kwonly, (1, 2), {"k": 3}),
    ("kwonly-unexpected", p_kwonly, (1,), {"k": 1, "z": 2}),
    ("star-missing-kwonly", p_star, (1, 2, 3), {}),
    ("star-missing-positional", p_star, (), {"k": 1}),
    ("star-duplicate", p_star, (1,), {"a": 2, "k": 1}),
    ("kw-missing-posonly", p_kw, (), {"a": 1}),
    ("every-kind-missing", every_kind, (), {}),
    ("every-kind-missing-k", every_kind, (1,), {}),
    ("every-kind-posonly-kw", every_kind, (), {"a": 1, "k": 1}),
    ("every-kind-duplicate-c", every_kind, (1, 2, 3), {"c": 4, "k": 0}),
    ("method-missing", Holder.method, (Holder(),), {}),
    ("method-too-many", Holder.method, (Holder(), 1, 2), {}),
    ("nested-missing", p_nested(), (1,), {}),
    ("nested-unexpected", p_nested(), (1,), {"k": 1, "q": 2}),
    ("lambda-too-many", lambda x: x, (1, 2), {}),
]


@pytest.mark.parametrize(
    ("fn", "args", "kwargs"), [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS]
)
def test_bad_call_raises_pythons_type_error(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    with pytest.raises(TypeError) as python:
        fn(*args, **kwargs)
    with tracing({"f": fn}) as tx, pytest.raises(TypeError) as ours:
        tx.local("f").bind(*args, **kwargs)
    assert type(ours.value) is type(python.value)
    assert str(ours.value) == str(python.value)
