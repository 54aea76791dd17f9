"""Value-equal objects compared by value, and a function's annotations (issue 11, items 2 and 4).

Equal fresh ``slice``, ``range`` and ``functools.partial`` objects are one entry
of ``@specialize``: a slice and a range by their exact fields, a partial by what
its call reads (``func`` by ``CLOSURE_MATCH``, each bound argument as it is
used).  Anything that tells two of them apart misses.

A lazy tracker reads a function's ``__annotations__`` through ``SkipGuardSource``
(Dynamo's ``fn_var_getattr``), so a tracer's guards on them are dropped; the
tracer of ``specialize`` guards them where traced code reads them.
"""

from __future__ import annotations

import functools
import sys
import typing
from collections.abc import Callable
from typing import Any

import pytest

import guards
from guards import AttrSource, GuardBuilder, LocalSource, SkipGuardSource, compile_guards


def replay(fn: Callable[..., Any], *calls: tuple[Any, ...]) -> Any:
    """Call ``@specialize(fn)`` with each argument tuple; every result must be the plain
    function's.  Returns the specialized function (for its cache statistics)."""
    specialized = guards.specialize(max_entries=64)(fn)
    for args in calls:
        expected = fn(*args)
        got = specialized(*args)
        assert type(got) is type(expected) and got == expected, args
    return specialized


def misses(specialized: Any) -> int:
    info = specialized.cache.info()
    return int(info.misses)


def guard_names(specialized: Any) -> set[tuple[str, str]]:
    return {
        (guard.source.name, guard.kind)
        for entry in specialized.cache.entries
        for guard in entry.check.guards
    }


# ---------------------------------------------------------------------- slices
ROWS = [1, 2, 3, 4, 5]


def head(rows: list[int], sl: slice) -> list[int]:
    return rows[sl]


def test_equal_fresh_slices_are_one_entry() -> None:
    f = replay(head, *[(ROWS, slice(0, 2))] * 3, *[(ROWS, slice(1, 3))] * 2)
    assert misses(f) == 2
    assert f.cache.info().uncached == 0
    assert ("L['sl']", "CONSTANT_MATCH") in guard_names(f)


def test_a_slice_with_other_fields_misses() -> None:
    """Each field compared with its exact type: ``slice(0, 2)`` is not ``slice(False, 2)``,
    ``slice(None, 2)`` nor ``slice(0, 2, 1)``, though some select the same rows."""
    f = replay(
        head, (ROWS, slice(0, 2)), (ROWS, slice(False, 2)), (ROWS, slice(None, 2)),
        (ROWS, slice(0, 2, 1)), (ROWS, slice(0, 2, None)),
    )
    assert misses(f) == 4
    assert f.cache.info().hits == 1


def test_a_slice_field_of_another_type_misses_and_raises_as_a_plain_call() -> None:
    f = guards.specialize(head)
    assert f(ROWS, slice(0, 2)) == [1, 2]
    with pytest.raises(TypeError, match="slice indices must be integers"):
        f(ROWS, slice(0, 2.0))
    assert f(ROWS, slice(0, 2)) == [1, 2]


def test_a_slice_miss_is_explained_by_its_value() -> None:
    f = guards.specialize(head)
    f(ROWS, slice(0, 2))
    text = str(f.explain(ROWS, slice(1, 3)))
    assert "CONSTANT_MATCH L['sl'] == slice(0, 2, None)" in text
    assert "expected slice(0, 2, None), got slice(1, 3, None)" in text


def test_a_slice_read_in_python_is_cached_by_value() -> None:
    def describe(sl: slice, n: int) -> tuple[Any, ...]:
        return (sl.start, sl.stop, sl.step, sl.indices(n))

    f = replay(describe, (slice(1, 9, 2), 5), (slice(1, 9, 2), 5), (slice(1, 9, 3), 5))
    assert misses(f) == 2


def test_a_slice_of_objects_is_still_tracked() -> None:
    """A slice holding an object (its ``__index__`` is user code) is not a value: the call
    is right every time, and a change of the object is never a stale hit."""

    class Index:
        def __init__(self, i: int) -> None:
            self.i = i

        def __index__(self) -> int:
            return self.i

    at = Index(1)
    f = guards.specialize(head)
    assert f(ROWS, slice(at, None)) == [2, 3, 4, 5]
    at.i = 3
    assert f(ROWS, slice(at, None)) == [4, 5]


def test_equals_match_compares_slices_field_by_field() -> None:
    x = LocalSource("x")

    def passes(value: Any, other: Any) -> bool:
        cf = compile_guards([x.make_guard(GuardBuilder.EQUALS_MATCH)], {"x": value})
        fast = cf.check({"x": other})
        assert bool(cf.check_verbose({"x": other})) is fast
        return fast

    assert passes(slice(1, 2), slice(1, 2))
    assert not passes(slice(1, 2), slice(True, 2))
    assert not passes(slice(1, 2), slice(1.0, 2))
    assert not passes(slice(0.0, 2), slice(-0.0, 2))
    assert not passes(slice(1, 2), (1, 2, None))
    held = [1]
    guard_on = slice(held, 2)
    cf = compile_guards([x.make_guard(GuardBuilder.EQUALS_MATCH)], {"x": guard_on})
    held.append(2)  # the guard compares with the list as it was
    assert not cf.check({"x": guard_on})
    assert cf.check({"x": slice([1], 2)})


def test_a_huge_int_in_a_slice_guards_the_digit_limit() -> None:
    @guards.specialize
    def text(sl: slice) -> str:
        return str(sl)

    sl = slice(10**3000)
    old = sys.get_int_max_str_digits()
    try:
        sys.set_int_max_str_digits(5000)
        assert text(sl) == text(slice(10**3000)) == str(sl)
        assert text.cache.info().hits == 1
        sys.set_int_max_str_digits(1000)
        with pytest.raises(ValueError, match="Exceeds the limit"):
            text(sl)
    finally:
        sys.set_int_max_str_digits(old)


# ---------------------------------------------------------------------- ranges
def span(r: range) -> tuple[int, int, list[int]]:
    return r.stop, len(r), list(r)


def test_equal_fresh_ranges_are_one_entry() -> None:
    f = replay(span, *[(range(0, 10),)] * 3, (range(0, 10, 2),), (range(0, 10, 2),))
    assert misses(f) == 2


def test_equal_ranges_with_another_stop_miss() -> None:
    """``range(0, 3, 2) == range(0, 4, 2)``, but their ``stop`` differs."""
    f = replay(span, (range(0, 3, 2),), (range(0, 4, 2),), (range(0, 3, 2),))
    assert misses(f) == 2


# -------------------------------------------------------------------- partials
def power(x: int, p: int) -> int:
    return int(x**p)


def cube(x: int, p: int) -> int:
    return x * x * x


def apply(fn: Callable[[int], int], x: int) -> int:
    return fn(x)


def test_equal_fresh_partials_are_one_entry() -> None:
    f = replay(
        apply, *[(functools.partial(power, p=2), 3)] * 3,
        (functools.partial(power, p=3), 3), (functools.partial(power, p=3), 3),
    )
    assert misses(f) == 2
    assert f.cache.info().uncached == 0
    names = guard_names(f)
    assert ("L['fn'].func", "CLOSURE_MATCH") in names
    assert ("L['fn'].keywords['p']", "CONSTANT_MATCH") in names
    assert not any(kind == "ID_MATCH" for _, kind in names)


def test_a_partial_with_other_arguments_or_function_misses() -> None:
    f = replay(
        apply,
        (functools.partial(power, 3), 2), (functools.partial(power, 3), 2),
        (functools.partial(power, 4), 2),  # another positional argument
        (functools.partial(cube, p=0), 2), (functools.partial(power, p=0), 2),  # another func
        (functools.partial(power, p=2), 2),
    )
    assert misses(f) == 5
    assert f.cache.info().hits == 1


def make_scaler(k: int) -> Callable[..., int]:
    def scale(x: int, p: int) -> int:
        return x * k + p

    return scale


def test_a_partial_of_a_fresh_closure_of_one_def_matches_while_its_cells_do() -> None:
    """``func`` is guarded by ``CLOSURE_MATCH``: a fresh closure of the same ``def`` matches,
    and the cell it reads is guarded by value."""
    f = replay(
        apply,
        (functools.partial(make_scaler(2), p=1), 5), (functools.partial(make_scaler(2), p=1), 5),
        (functools.partial(make_scaler(3), p=1), 5),
    )
    assert misses(f) == 2


def test_a_partial_of_a_builtin_is_one_entry_per_value() -> None:
    def parse(fn: Callable[[str], int], text: str) -> int:
        return fn(text)

    f = replay(
        parse, *[(functools.partial(int, base=2), "101")] * 3,
        (functools.partial(int, base=8), "101"), (functools.partial(int), "101"),
    )
    assert misses(f) == 3
    assert ("L['fn'].func", "ID_MATCH") in guard_names(f)


def test_a_partial_rebound_by_setstate_misses() -> None:
    """``func``, ``args`` and ``keywords`` are read-only attributes, but ``__setstate__``
    rebinds them in place: they are guarded as read, at every check."""
    f = guards.specialize(apply)
    p: Any = functools.partial(power, p=2)
    assert f(p, 3) == 9
    p.__setstate__((power, (), {"p": 3}, None))
    assert f(p, 3) == 27
    p.__setstate__((cube, (), {"p": 3}, None))
    assert f(p, 2) == 8
    p.__setstate__((power, (3,), {}, None))
    assert f(p, 2) == 9
    p.__setstate__((power, (2,), {}, None))
    assert f(p, 2) == 4
    assert f.cache.info().hits == 0


def test_attributes_of_a_partial_are_guarded_where_they_are_read() -> None:
    """A partial's own attributes play no part in its call: setting one the function never
    reads is not a miss.  One the function reads is guarded like any attribute."""
    f = guards.specialize(apply)
    p = functools.partial(power, p=2)
    assert f(p, 3) == 9
    p.note = "unread"  # type: ignore[attr-defined]
    assert f(p, 3) == 9
    assert f.cache.info().hits == 1

    def tagged(fn: Any, x: int) -> tuple[Any, int]:
        return getattr(fn, "tag", None), fn(x)

    q = functools.partial(power, p=2)
    g = guards.specialize(tagged)
    assert g(q, 3) == (None, 9)
    q.tag = "a"  # type: ignore[attr-defined]
    assert g(q, 3) == ("a", 9)
    q.tag = "b"  # type: ignore[attr-defined]
    assert g(q, 3) == ("b", 9)
    assert g(functools.partial(power, p=2), 3) == (None, 9)
    assert g.cache.info().hits == 1


class Box:
    def __init__(self, v: int, w: int = 0) -> None:
        self.v = v
        self.w = w


def test_a_partial_of_a_user_class_is_traced_into() -> None:
    def build(fn: Callable[[], Box], x: int) -> int:
        return fn().v + x

    f = replay(
        build, *[(functools.partial(Box, v=1), 1)] * 3, (functools.partial(Box, v=2), 1),
        (functools.partial(Box, 5), 1),
    )
    assert f.cache.info().uncached == 0
    assert misses(f) == 3


def test_a_partial_in_a_global_compared_by_value() -> None:
    namespace: dict[str, Any] = {"functools": functools, "power": power}
    exec("def run(x):\n    return CONVERT(x)\n", namespace)
    run = namespace["run"]
    namespace["CONVERT"] = functools.partial(power, p=2)
    f = guards.specialize(run)
    assert f(3) == 9
    namespace["CONVERT"] = functools.partial(power, p=2)  # fresh and equal
    assert f(3) == 9
    namespace["CONVERT"] = functools.partial(power, p=3)
    assert f(3) == 27
    assert f.cache.info()[:2] == (1, 2)


# ----------------------------------------------------------------- annotations
def annotated(a: int, b: str = "s") -> list[int]:
    return [a]


class Annotated:
    x: int


def test_a_trackers_read_of_function_annotations_installs_no_guard() -> None:
    """Dynamo's rule for function attributes: ``__annotations__`` through ``SkipGuardSource``
    whenever it is read, not only when binding a call."""
    with guards.tracing({"fn": annotated}) as tx:
        ann = tx.local("fn").attr("__annotations__")
        assert ann.source == SkipGuardSource(AttrSource(LocalSource("fn"), "__annotations__"))
        assert ann.source.name == "L['fn'].__annotations__"
        assert ann.keys() == ["a", "b", "return"]
        assert ann.item("a").as_constant() == "int"  # postponed evaluation: strings
    assert tx.guards == () or all(g.source.is_skipped for g in tx.guards)
    check = tx.compile()
    assert check.guards == ()
    assert {(g.source.name, g.kind) for g in check.dropped_guards} == {
        ("L['fn'].__annotations__", "DICT_KEYS_MATCH"),
        ("L['fn'].__annotations__['a']", "CONSTANT_MATCH"),
    }

    def other(a: float) -> None: ...

    assert check.check({"fn": other})


def test_annotations_of_other_objects_are_guarded_as_read() -> None:
    """The rule is for functions: a class's ``__annotations__`` is an attribute like any other."""
    with guards.tracing({"cls": Annotated}) as tx:
        ann = tx.local("cls").attr("__annotations__")
        assert ann.source == AttrSource(LocalSource("cls"), "__annotations__")
        assert ann.keys() == ["x"]
    assert not tx.compile().check({"cls": type("Other", (), {"__annotations__": {"y": int}})})


def test_specialize_guards_annotations_its_function_reads() -> None:
    def hint(fn: Any) -> str:
        return str(fn.__annotations__["a"])

    f = guards.specialize(hint)

    def one(a: int) -> None: ...

    def two(a: float) -> None: ...

    assert f(one) == "int"
    assert f(two) == "float"
    one.__annotations__ = {"a": "bytes"}
    assert f(one) == "bytes"
    assert f.cache.info().hits == 0
    assert any(
        (guard.source.name, guard.source.is_skipped) == ("L['fn'].__annotations__['a']", False)
        for entry in f.cache.entries for guard in entry.check.guards
    )


def test_specialize_guards_annotations_read_with_getattr() -> None:
    def hint(fn: Any) -> list[str]:
        return list(getattr(fn, "__annotations__"))  # noqa: B009 - the read under test

    f = guards.specialize(hint)
    assert f(annotated) == ["a", "b", "return"]
    assert f(annotated) == ["a", "b", "return"]

    def other(z: int) -> None: ...

    assert f(other) == ["z", "return"]
    assert f.cache.info()[:2] == (1, 2)


def test_calling_a_function_does_not_guard_its_annotations() -> None:
    """Binding a call never reads annotations: changing them is not a miss."""
    namespace: dict[str, Any] = {}
    exec("def callee(x: int) -> int:\n    return x + 1\n"
         "def caller(x):\n    return callee(x)\n", namespace)
    f = guards.specialize(namespace["caller"])
    assert f(1) == 2
    namespace["callee"].__annotations__ = {"x": str}
    assert f(1) == 2
    assert f.cache.info()[:2] == (1, 1)


def test_library_code_reading_annotations_runs_uncached() -> None:
    """``typing.get_type_hints`` reads all of the function, untraced: never a stale hit."""

    def hints(fn: Any) -> str:
        return str(typing.get_type_hints(fn))

    f = guards.specialize(hints)

    def one(a: int) -> None: ...

    assert f(one) == hints(one)
    one.__annotations__ = {"a": float}
    assert f(one) == hints(one)
    assert f.cache.info().hits == 0
