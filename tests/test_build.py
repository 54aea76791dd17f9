"""Building guard sets: the collector pause around a build, and large sets split in parts."""

from __future__ import annotations

import gc
from typing import Any

import attrs
import pytest

from guards import (
    AttrSource,
    ClosureSource,
    DefaultsSource,
    GetItemSource,
    GuardBuilder,
    LocalSource,
    compile_guards,
)
from guards.checks.codegen import PART_LINES
from guards.core.builder import Check
from guards.core.guard import Guard


def _guards(n: int, *, item: bool = False) -> tuple[list, dict[str, object]]:  # type: ignore[type-arg]
    # One-item tuples are compared one by one; exact ints would be read as one tuple.
    f_locals: dict[str, object] = {f"x{i}": (i,) if item else i for i in range(n)}
    return [LocalSource(name).make_guard(GuardBuilder.EQUALS_MATCH) for name in f_locals], f_locals


@pytest.mark.parametrize("enabled", [True, False])
def test_compile_leaves_the_collector_as_it_found_it(enabled: bool) -> None:
    """The pause during a build ends with the build, and never turns a collector on."""
    guard_list, f_locals = _guards(5)
    (gc.enable if enabled else gc.disable)()
    try:
        compile_guards(guard_list, f_locals)
        assert gc.isenabled() is enabled
        with pytest.raises(TypeError):
            compile_guards(guard_list, "not a mapping")  # type: ignore[arg-type]
        assert gc.isenabled() is enabled
    finally:
        gc.enable()


def test_a_large_set_is_checked_in_parts_with_the_same_verdict() -> None:
    """Sets longer than one part compile to several functions and still check every guard."""
    guard_list, f_locals = _guards(PART_LINES, item=True)  # three lines a guard: several parts
    check = compile_guards(guard_list, f_locals)
    assert "def _part1(" in check.code
    assert check.check(f_locals)
    for name in ("x0", f"x{PART_LINES // 2}", f"x{PART_LINES - 1}"):
        changed = dict(f_locals, **{name: -1})
        assert not check.check(changed)
        [failure] = check.check_verbose(changed).failures
        assert failure.guard.source == LocalSource(name)


@pytest.mark.parametrize("constants", [
    (), (("V", 5),), (("V", 5), ("T", int)), (("A", "x"), ("B", None), ("C", 2.5)),
    (("A", [1]), ("B", [1]), ("C", (2,)), ("D", int)),
])
def test_a_checks_dedup_key_is_its_sources_expr_and_the_identity_of_each_constant(
    constants: tuple[tuple[str, Any], ...],
) -> None:
    source = LocalSource("x")
    check = Check(
        guard=Guard(source, "CONSTANT_MATCH"), sources=(source,), expr="{0} == {V}",
        constants=constants, description="x", expected=None, actual=id, cost=1, label=None,
    )
    # The key as first written, with zip (the commonest lengths are unpacked now).
    names = tuple(name for name, _ in constants)
    ids = tuple(id(value) for _, value in constants)
    assert check.dedup_key == ((source,), "{0} == {V}", tuple(zip(names, ids, strict=True)))
    same = Check(
        guard=Guard(source, "EQUALS_MATCH"), sources=(source,), expr="{0} == {V}",
        constants=tuple((name, value) for name, value in constants), description="y",
        expected=1, actual=type, cost=2, label="x",
    )
    assert same.dedup_key == check.dedup_key  # the same test, from another guard
    if constants:
        other = Check(
            guard=check.guard, sources=(source,), expr="{0} == {V}",
            constants=((constants[0][0], object()), *constants[1:]), description="x",
            expected=None, actual=id, cost=1, label=None,
        )
        assert other.dedup_key != check.dedup_key  # another object: another test


def _cells_and_defaults() -> Any:
    n, s = 7, "seven"

    def inner(x: int = 3, *, y: str = "why", z: float = 2.5) -> Any:
        return n, s

    return inner


@pytest.mark.parametrize("kind", ["TYPE_MATCH", "CONSTANT_MATCH", "EQUALS_MATCH"])
def test_scalar_check_builds_what_build_builds_field_by_field(kind: str) -> None:
    # GuardBuilder.scalar_check (which build() uses for these kinds) is the kind's own
    # method without add_check's lookups, for a miss's scalars (a label per base found
    # once, show() skipped for short ints and common types).
    class Holder:
        pass

    holder = Holder()
    values: dict[str, Any] = {
        "small": 12, "negative": -5, "big": 10**17, "bigger": 10**18, "wide": 10**150,
        "huge": 7**2000,
        "float": 2.5, "text": "a'b", "long": "x" * 500, "raw": b"\x00", "flag": True,
    }
    for name, value in values.items():
        setattr(holder, name, value)
    f_locals = {"h": holder, "xs": list(values.values()), "d": dict(values),
                "fn": _cells_and_defaults()}
    h, xs, d, fn = (LocalSource(name) for name in ("h", "xs", "d", "fn"))
    sources = [AttrSource(h, name) for name in values]
    sources += [GetItemSource(xs, i) for i in range(len(values))]
    sources += [GetItemSource(d, name) for name in values]
    sources += [  # a cell's and a default's value carry the user's name as their label
        AttrSource(GetItemSource(ClosureSource(fn), i), "cell_contents") for i in (0, 1)
    ] + [
        DefaultsSource(fn, 0),
        DefaultsSource(fn, "y", is_kw=True),
        DefaultsSource(fn, "z", is_kw=True),
    ]
    fast, slow = GuardBuilder(f_locals), GuardBuilder(f_locals)
    built = 0
    for source in sources:
        guard = Guard(source, kind)
        value = fast.get(source)
        if fast.scalar_check(guard, value):
            built += 1
            getattr(GuardBuilder, kind)(slow, guard)  # the kind itself, through add_check
            got, expected = fast.checks[-1], slow.checks[-1]
            for field in attrs.fields(Check):
                assert getattr(got, field.name) == getattr(expected, field.name), (source, field)
            assert got.dedup_key == expected.dedup_key
    assert built >= len(sources) - 8  # bools and cells of other kinds may be left to build()
    assert {check.label for check in fast.checks} >= {None, "x"} | (
        {"n", "y", "z"} if kind != "EQUALS_MATCH" else set()
    )


@pytest.mark.parametrize("n", [4, 10, 300])
def test_many_locals_compared_as_one_tuple_read_with_one_call(n: int) -> None:
    # The frame's locals of a group are read with one itemgetter on L: the check's text
    # is the same for any number of them (compiled once), and passes and fails as the
    # checks one by one do.
    values: dict[str, Any] = {f"x{i}": (i if i % 3 else f"s{i}") for i in range(n)}
    guards = [Guard(LocalSource(name), "CONSTANT_MATCH") for name in values]
    fn = compile_guards(guards, values)
    assert fn.code.replace(f": {n} roots", ": 4 roots") == compile_guards(guards[:4], values).code
    assert fn.check(values) and fn.check({**values, "other": 1})
    for name, value in [("x0", "s1"), (f"x{n - 1}", 1.5), ("x1", True), ("x1", 1.0)]:
        assert not fn.check({**values, name: value})
    missing = dict(values)
    del missing[f"x{n // 2}"]
    assert not fn.check(missing)
    assert [failure.guard for failure in fn.check_verbose({**values, "x2": 7}).failures] == [
        guards[2]
    ]
