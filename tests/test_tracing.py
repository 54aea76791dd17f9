"""The tracing context: where guards are collected, per thread, and what compile() gives."""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

import pytest

import guards
from guards import (
    CheckFunction,
    GuardBuilder,
    GuardsError,
    LocalSource,
    NoTracingContextError,
    current_tracing,
    install_guard,
    tracing,
)


def kinds(tx: guards.TracingContext) -> set[tuple[str, str]]:
    return {(g.source.name, g.kind) for g in tx.guards}


def here() -> int:
    """The caller's current line number."""
    return sys._getframe(1).f_lineno


def type_guard(name: str) -> guards.Guard:
    return LocalSource(name).make_guard(GuardBuilder.TYPE_MATCH)


# ------------------------------------------------------------------ no context
def test_install_guard_without_context_raises() -> None:
    guard = type_guard("x")
    assert current_tracing() is None
    with pytest.raises(NoTracingContextError, match="tracing") as info:
        install_guard(guard)
    assert isinstance(info.value, GuardsError)


def test_install_guard_after_context_closed_raises() -> None:
    with tracing({"x": 1}):
        pass
    with pytest.raises(NoTracingContextError):
        install_guard(type_guard("x"))


def test_context_is_popped_when_body_raises() -> None:
    """An exception inside ``with tracing(...)`` still closes the context."""
    with pytest.raises(ZeroDivisionError), tracing({"x": 1}):
        1 / 0  # noqa: B018
    assert current_tracing() is None


def test_install_guard_goes_to_current_context() -> None:
    with tracing({"x": 1}) as tx:
        assert current_tracing() is tx
        install_guard(type_guard("x"))
    assert kinds(tx) == {("L['x']", "TYPE_MATCH")}


def test_install_guard_rejects_non_guards() -> None:
    with tracing({"x": 1}) as tx:
        with pytest.raises(guards.GuardsTypeError, match="guard"):
            install_guard("TYPE_MATCH")  # type: ignore[arg-type]
        assert tx.guards == ()


def test_tracing_validates_arguments() -> None:
    with pytest.raises(guards.GuardsTypeError, match="f_locals"), tracing([1]):  # type: ignore[arg-type]
        pass
    with pytest.raises(guards.GuardsTypeError, match="f_globals"), tracing({}, 3):  # type: ignore[arg-type]
        pass
    assert current_tracing() is None


# ----------------------------------------------------------------- nesting
def test_nested_contexts_are_independent() -> None:
    with tracing({"x": 1, "y": "s"}) as outer:
        install_guard(type_guard("x"))
        with tracing({"y": "s"}) as inner:
            assert current_tracing() is inner
            install_guard(type_guard("y"))
        assert current_tracing() is outer
        install_guard(type_guard("y"))
    assert current_tracing() is None
    assert kinds(inner) == {("L['y']", "TYPE_MATCH")}
    assert kinds(outer) == {("L['x']", "TYPE_MATCH"), ("L['y']", "TYPE_MATCH")}


def test_outer_trackers_install_into_outer_while_inner_is_open() -> None:
    with tracing({"x": 1}) as outer:
        t = outer.local("x")
        with tracing({"x": 2}) as inner:
            t.as_constant()
            inner.local("x").python_type()
    assert kinds(outer) == {("L['x']", "CONSTANT_MATCH")}
    assert kinds(inner) == {("L['x']", "TYPE_MATCH")}
    assert outer.compile().check({"x": 1})
    assert not outer.compile().check({"x": 2})
    assert inner.compile().check({"x": 7})


def test_trackers_of_two_contexts_are_distinct() -> None:
    with tracing({"x": 1}) as a, tracing({"x": 1}) as b:
        assert a.local("x") is not b.local("x")


# ----------------------------------------------------------------- threads
def test_contexts_are_thread_local() -> None:
    barrier = threading.Barrier(2, timeout=30)
    results: dict[str, Any] = {}

    def trace(name: str) -> None:
        try:
            with tracing({name: 1}) as tx:
                barrier.wait()  # both threads are inside a context now
                install_guard(type_guard(name))
                tx.local(name).as_constant()
                barrier.wait()  # both have installed before either reads
                results[name] = (kinds(tx), current_tracing() is tx)
            results[name + "_after"] = current_tracing()
        except BaseException as exc:  # pragma: no cover - reported below
            results[name] = exc
            barrier.abort()

    threads = [threading.Thread(target=trace, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results["a"] == ({("L['a']", "CONSTANT_MATCH")}, True)
    assert results["b"] == ({("L['b']", "CONSTANT_MATCH")}, True)
    assert results["a_after"] is None
    assert results["b_after"] is None


def test_context_in_main_thread_invisible_to_other_thread() -> None:
    seen: list[Any] = []
    with tracing({"x": 1}):
        worker = threading.Thread(target=lambda: seen.append(current_tracing()))
        worker.start()
        worker.join()
    assert seen == [None]


# ----------------------------------------------------------------- compile
def test_compile_gives_check_function_passing_on_traced_values() -> None:
    f_locals = {"x": 3, "cfg": {"mode": "fast", "n": [1, 2]}}
    f_globals = {"DEBUG": False}
    with tracing(f_locals, f_globals) as tx:
        assert tx.local("x").as_constant() == 3
        assert tx.local("cfg").item("mode").as_constant() == "fast"
        assert tx.local("cfg").item("n").len() == 2
        assert tx.global_var("DEBUG").truthy() is False
    check = tx.compile()
    assert isinstance(check, CheckFunction)
    assert set(check.guards) == set(tx.guards)
    assert check.check(f_locals, f_globals)
    assert check.check({"x": 3, "cfg": {"mode": "fast", "n": [7, 8], "z": 0}}, f_globals)
    assert not check.check({"x": 4, "cfg": f_locals["cfg"]}, f_globals)
    assert not check.check(f_locals, {"DEBUG": True})
    assert not check.check({"x": 3, "cfg": {"mode": "slow", "n": [1, 2]}}, f_globals)
    assert not check.check({"x": 3, "cfg": {"mode": "fast", "n": [1]}}, f_globals)


def test_compile_of_empty_context_passes_everything() -> None:
    with tracing({"x": 1}) as tx:
        tx.local("x")
    check = tx.compile()
    assert check.guards == ()
    assert check.check({"x": object()})


def test_guards_are_in_installation_order() -> None:
    with tracing({"a": 1, "b": 2, "c": 3}) as tx:
        for name in ("c", "a", "b"):
            tx.local(name).as_constant()
    assert [g.source.name for g in tx.guards] == ["L['c']", "L['a']", "L['b']"]


# ------------------------------------------------------------------- dedup
def test_duplicate_guards_are_removed() -> None:
    with tracing({"x": 1}) as tx:
        install_guard(type_guard("x"))
        install_guard(type_guard("x"), type_guard("x"))
        tx.local("x").python_type()
        tx.local("x").isinstance(int)
    assert len(tx.guards) == 1
    assert kinds(tx) == {("L['x']", "TYPE_MATCH")}


def test_duplicates_keep_the_first_provenance() -> None:
    with tracing({"x": 1}) as tx:
        first = here() + 1
        tx.local("x").as_constant()
        tx.local("x").as_constant()
    (guard,) = tx.guards
    assert guard.provenance is not None
    assert guard.provenance.lineno == first


def test_guards_with_different_arguments_are_kept() -> None:
    shared = [1]
    with tracing({"x": shared, "y": shared, "z": shared}) as tx:
        x, y, z = tx.local("x"), tx.local("y"), tx.local("z")
        x.is_(y)
        x.is_(z)
    assert [g.arguments for g in tx.guards] == [
        {"source_b": LocalSource("y")},
        {"source_b": LocalSource("z")},
    ]
    assert kinds(tx) == {("L['x']", "DUPLICATE_INPUT")}


# ----------------------------------------------------- TYPE_MATCH superseded
#: (value, inspection installing a kind that pins the exact type, that kind)
PINNING = [
    (3, lambda t: t.as_constant(), "CONSTANT_MATCH"),
    ("s", lambda t: t.as_constant(), "CONSTANT_MATCH"),
    (None, lambda t: t.is_none(), "NONE_MATCH"),
    (True, lambda t: t.truthy(), "BOOL_MATCH"),
    ([1, 2], lambda t: t.len(), "SEQUENCE_LENGTH"),
    ((1, 2), lambda t: t.len(), "SEQUENCE_LENGTH"),
    ({"a": 1}, lambda t: t.keys(), "DICT_KEYS_MATCH"),
    (object(), lambda t: t.identity(), "ID_MATCH"),
    (lambda: 0, lambda t: t.bind(), "CLOSURE_MATCH"),
]


@pytest.mark.parametrize("type_first", [True, False], ids=["type-first", "type-last"])
@pytest.mark.parametrize(("value", "inspect", "kind"), PINNING, ids=[p[2] + repr(i) for i, p in
                                                                    enumerate(PINNING)])
def test_type_match_left_out_when_type_is_pinned(
    value: Any, inspect: Any, kind: str, type_first: bool
) -> None:
    with tracing({"x": value}) as tx:
        t = tx.local("x")
        if type_first:
            t.python_type()
        inspect(t)
        if not type_first:
            t.python_type()
            t.isinstance(object)
    assert kinds(tx) == {("L['x']", kind)}
    assert tx.compile().check({"x": value})


@pytest.mark.parametrize("kind", ["EQUALS_MATCH", "FUNCTION_MATCH"])
def test_type_match_left_out_for_installed_pinning_kinds(kind: str) -> None:
    source = LocalSource("x")
    with tracing({"x": len}) as tx:
        install_guard(source.make_guard(GuardBuilder.TYPE_MATCH))
        install_guard(source.make_guard(getattr(GuardBuilder, kind)))
        install_guard(source.make_guard(GuardBuilder.TYPE_MATCH))
    assert kinds(tx) == {("L['x']", kind)}


def test_type_match_kept_beside_not_none() -> None:
    """NOT_NONE_MATCH says nothing about the exact type, so TYPE_MATCH stays."""
    with tracing({"x": 3}) as tx:
        t = tx.local("x")
        t.is_none()
        t.python_type()
    assert kinds(tx) == {("L['x']", "NOT_NONE_MATCH"), ("L['x']", "TYPE_MATCH")}
    check = tx.compile()
    assert not check.check({"x": "3"})


def test_type_match_kept_on_other_source() -> None:
    with tracing({"x": 3, "y": 4}) as tx:
        tx.local("x").as_constant()
        tx.local("y").python_type()
    assert kinds(tx) == {("L['x']", "CONSTANT_MATCH"), ("L['y']", "TYPE_MATCH")}


def test_type_match_kept_beside_hasattr_on_same_source() -> None:
    """HASATTR on ``L['x'].a`` checks ``L['x']``, so it does not pin ``L['x'].a``'s type."""
    class Box:
        a = 1

    with tracing({"x": Box()}) as tx:
        t = tx.local("x")
        t.hasattr("a")
        t.attr("a").python_type()
    assert kinds(tx) == {("L['x'].a", "HASATTR"), ("L['x'].a", "TYPE_MATCH")}


def test_pinned_set_stays_sound_after_type_match_dropped() -> None:
    with tracing({"x": [1, 2]}) as tx:
        t = tx.local("x")
        t.python_type()
        t.len()
    check = tx.compile()
    assert check.check({"x": [5, 6]})
    assert not check.check({"x": (5, 6)})
    assert not check.check({"x": [5]})


# -------------------------------------------------------------- provenance
def test_provenance_is_the_inspecting_line() -> None:
    with tracing({"x": 3}) as tx:
        line = here() + 1
        tx.local("x").as_constant()
    (guard,) = tx.guards
    prov = guard.provenance
    assert prov is not None
    assert prov.filename == __file__
    assert prov.lineno == line
    assert prov.function == "test_provenance_is_the_inspecting_line"
    assert prov.stack == ()
    assert prov.line == 'tx.local("x").as_constant()'


def test_provenance_of_install_guard_is_the_calling_line() -> None:
    with tracing({"x": 3}) as tx:
        line = here() + 1
        install_guard(LocalSource("x").make_guard(GuardBuilder.TYPE_MATCH))
    (guard,) = tx.guards
    assert guard.provenance is not None
    assert (guard.provenance.filename, guard.provenance.lineno) == (__file__, line)


def _inspect_in_helper(tx: guards.TracingContext) -> int:
    line = here() + 1
    tx.local("x").python_type()
    return line


def test_full_stack_provenance_has_several_frames() -> None:
    with tracing({"x": 3}, full_stack=True) as tx:
        line = _inspect_in_helper(tx)
        caller_line = here() - 1
    (guard,) = tx.guards
    prov = guard.provenance
    assert prov is not None
    assert (prov.filename, prov.lineno, prov.function) == (__file__, line, "_inspect_in_helper")
    assert len(prov.stack) >= 3
    innermost, caller = prov.stack[-1], prov.stack[-2]
    assert (innermost.filename, innermost.lineno) == (__file__, line)
    assert (caller.filename, caller.lineno) == (__file__, caller_line)
    assert caller.function == "test_full_stack_provenance_has_several_frames"
    library = os.path.dirname(guards.__file__)
    assert not any(p.filename.startswith(library) for p in prov.stack)


def test_default_provenance_is_one_line_in_helper() -> None:
    with tracing({"x": 3}) as tx:
        line = _inspect_in_helper(tx)
    (guard,) = tx.guards
    assert guard.provenance is not None
    assert (guard.provenance.lineno, guard.provenance.stack) == (line, ())


def test_full_stack_must_be_bool() -> None:
    with pytest.raises(guards.GuardsTypeError, match="full_stack"), tracing({}, full_stack=1):  # type: ignore[arg-type]
        pass


@pytest.mark.parametrize("keys_first", [True, False])
def test_sequence_length_is_left_out_next_to_dict_keys_match(keys_first: bool) -> None:
    """The same keys in the same order already fix a dict's length."""
    with guards.tracing({"d": {"a": 1, "b": 2}}) as tx:
        d = tx.local("d")
        if keys_first:
            d.keys()
            d.len()
        else:
            d.len()
            d.keys()
    assert {(g.source.name, g.kind) for g in tx.guards} == {("L['d']", "DICT_KEYS_MATCH")}
    check = tx.compile()
    assert check.check({"d": {"a": 5, "b": 6}})
    assert not check.check({"d": {"a": 1}})
