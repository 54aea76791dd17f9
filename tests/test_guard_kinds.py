"""Every guard kind: passes on the values it was built from, fails after the change it guards."""

from __future__ import annotations

import ast
import collections
import gc
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

import guards
from guards import (
    BUILTIN_KINDS,
    COST_CHEAP,
    AttrSource,
    CheckFunction,
    ClosureSource,
    DefaultsSource,
    GetItemSource,
    Guard,
    GuardBuilder,
    GuardBuildError,
    LocalSource,
    SkipGuardSource,
    Source,
    WeakRefCallSource,
    compile_guards,
)
from guards.testing import Obj

x = LocalSource("x")
y = LocalSource("y")
fn = LocalSource("fn")


def compiled(guard: Guard | list[Guard], value: Any) -> CheckFunction:
    """Compile guards made on ``L['x']`` against ``x=value``."""
    return compile_guards(guard if isinstance(guard, list) else [guard], {"x": value})


def passes(cf: CheckFunction, value: Any) -> bool:
    """The verdict on ``x=value``, asserting that both evaluation paths give it."""
    fast = cf.check({"x": value})
    assert cf.check_verbose({"x": value}).passed is fast
    return fast


def make_adder(n: Any) -> Any:
    def add(v: Any) -> Any:
        return v + n

    return add


def make_other(n: Any) -> Any:
    def add(v: Any) -> Any:
        return n - v

    return add


class Point:
    def __init__(self, a: Any) -> None:
        self.a = a


class SubInt(int):
    pass


# ------------------------------------------------------------------------ identity
def test_type_match_is_the_exact_type() -> None:
    cf = compiled(x.make_guard(GuardBuilder.TYPE_MATCH), 1)
    assert passes(cf, 1)
    assert passes(cf, -99)
    assert not passes(cf, True)  # bool is a subclass of int, not int
    assert not passes(cf, SubInt(1))
    assert not passes(cf, 1.0)
    assert not passes(cf, "1")


def test_id_match_is_the_same_object() -> None:
    p = Point(1)
    cf = compiled(x.make_guard(GuardBuilder.ID_MATCH), p)
    assert passes(cf, p)
    p.a = 2  # the same object, changed: still the same object
    assert passes(cf, p)
    assert not passes(cf, Point(2))
    assert not passes(cf, None)


def test_id_match_on_an_object_without_weakref_support() -> None:
    value = [1, 2]
    cf = compiled(x.make_guard(GuardBuilder.ID_MATCH), value)
    assert passes(cf, value)
    assert not passes(cf, [1, 2])


def test_id_match_does_not_keep_the_object_alive() -> None:
    """ID_MATCH holds a weak reference: the guarded object can die, and then nothing matches."""
    p = Point(1)
    alive = weakref.ref(p)
    cf = compiled(x.make_guard(GuardBuilder.ID_MATCH), p)
    del p
    gc.collect()
    assert alive() is None
    assert not passes(cf, None)
    assert not passes(cf, Point(1))


def test_function_match_is_the_same_function() -> None:
    f = make_adder(1)
    cf = compile_guards([fn.make_guard(GuardBuilder.FUNCTION_MATCH)], {"fn": f})
    assert cf.check({"fn": f})
    assert not cf.check({"fn": make_adder(1)})  # a fresh closure is another function


def test_closure_match_accepts_a_fresh_closure_of_the_same_def() -> None:
    cf = compile_guards([fn.make_guard(GuardBuilder.CLOSURE_MATCH)], {"fn": make_adder(1)})
    assert cf.check({"fn": make_adder(1)})
    assert cf.check({"fn": make_adder("other cell")})  # cells are guarded only when read
    assert not cf.check({"fn": make_other(1)})
    assert not cf.check({"fn": lambda v: v})
    assert not cf.check({"fn": len})
    assert not cf.check({"fn": None})


def test_closure_match_catches_a_reassigned_code() -> None:
    f = make_adder(1)
    cf = compile_guards([fn.make_guard(GuardBuilder.CLOSURE_MATCH)], {"fn": f})
    f.__code__ = make_other(1).__code__
    assert not cf.check({"fn": f})
    result = cf.check_verbose({"fn": f})
    assert not result.passed
    assert [failure.kind for failure in result.failures] == ["CLOSURE_MATCH"]


def test_closure_match_on_other_callables_is_identity() -> None:
    cf = compile_guards([fn.make_guard(GuardBuilder.CLOSURE_MATCH)], {"fn": len})
    assert cf.check({"fn": len})
    assert not cf.check({"fn": abs})
    method = Point(1).__init__
    cf = compile_guards([fn.make_guard(GuardBuilder.CLOSURE_MATCH)], {"fn": method})
    assert cf.check({"fn": method})
    assert not cf.check({"fn": Point(1).__init__})


def test_closure_match_with_a_cell_guard_guards_the_cell() -> None:
    cell = AttrSource(GetItemSource(ClosureSource(fn), 0), "cell_contents")
    cf = compile_guards(
        [fn.make_guard(GuardBuilder.CLOSURE_MATCH), cell.make_guard(GuardBuilder.EQUALS_MATCH)],
        {"fn": make_adder(3)},
    )
    assert cf.check({"fn": make_adder(3)})
    assert not cf.check({"fn": make_adder(4)})
    assert not cf.check({"fn": make_other(3)})


# ------------------------------------------------------------------------ equality
NAN = float("nan")


@pytest.mark.parametrize(
    ("built", "other", "matches"),
    [
        (1, 1, True),
        (10**20, int("1" + "0" * 20), True),
        (1, 2, False),
        (1, True, False),
        (True, 1, False),
        (0, False, False),
        (1, 1.0, False),
        (1.0, 1, False),
        (1, SubInt(1), False),
        (1.5, 1.5, True),
        (NAN, float("nan"), True),
        (NAN, 1.0, False),
        (1.0, float("nan"), False),
        (-0.0, float("-0.0"), True),
        (-0.0, 0.0, False),
        (0.0, float("-0.0"), False),
        (0.0, 0, False),
        (complex(1, 2), complex(1, 2), True),
        (complex(NAN, 1), complex(float("nan"), 1), True),
        (complex(NAN, 1), complex(1, NAN), False),
        (complex(NAN, 1), complex(NAN, 2), False),
        (complex(0, -0.0), complex(0, 0.0), False),
        ("abc", "abc", True),
        ("abc", "abd", False),
        (b"x", "x", False),
        ((1, 2), (1, 2), True),
        ((1, 2), [1, 2], False),
        ([1, 2], [1, 2], True),
        ([1, 2], [1, 2, 3], False),
        ({"a": [1]}, {"a": [1]}, True),
        ({"a": [1]}, {"a": [2]}, False),
        (None, None, True),
        (int, int, True),
        (int, bool, False),
    ],
    ids=repr,
)
def test_equals_match(built: Any, other: Any, matches: bool) -> None:
    cf = compiled(x.make_guard(GuardBuilder.EQUALS_MATCH), built)
    assert passes(cf, built)
    assert passes(cf, other) is matches


def test_complex_nan_matches_only_the_same_complex() -> None:
    """complex(nan, 1) matches only a complex with NaN in the same part and the rest equal."""
    cf = compiled(x.make_guard(GuardBuilder.EQUALS_MATCH), complex(NAN, 1.0))
    assert passes(cf, complex(float("nan"), 1.0))
    assert not passes(cf, complex(1.0, NAN))
    assert not passes(cf, complex(NAN, NAN))
    assert not passes(cf, complex(NAN, -1.0))


def test_equals_match_compares_against_a_snapshot_of_a_list() -> None:
    """A list mutated after building no longer matches: the guard compares with a copy."""
    value = [1, [2, 3]]
    cf = compiled(x.make_guard(GuardBuilder.EQUALS_MATCH), value)
    value.append(4)
    assert not passes(cf, value)
    value.pop()
    assert passes(cf, value)
    value[1].append(5)  # a nested change counts too
    assert not passes(cf, value)


def test_equals_match_snapshots_dicts_and_tuples_holding_lists() -> None:
    d = {"k": 1}
    cf = compiled(x.make_guard(GuardBuilder.EQUALS_MATCH), d)
    d["k"] = 2
    assert not passes(cf, d)
    t = ([1],)
    cf = compiled(x.make_guard(GuardBuilder.EQUALS_MATCH), t)
    t[0].append(2)
    assert not passes(cf, t)


def test_equals_match_on_a_user_object_uses_its_eq() -> None:
    class Money:
        def __init__(self, cents: int) -> None:
            self.cents = cents

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Money) and other.cents == self.cents

        __hash__ = None  # type: ignore[assignment]

    cf = compiled(x.make_guard(GuardBuilder.EQUALS_MATCH), Money(5))
    assert passes(cf, Money(5))
    assert not passes(cf, Money(6))


@pytest.mark.parametrize(
    ("built", "other", "matches"),
    [
        (None, None, True),
        (None, 0, False),
        (None, False, False),
        (None, "", False),
        (True, True, True),
        (True, 1, False),
        (True, False, False),
        (False, 0, False),
        (False, None, False),
        (3, 3, True),
        (3, 3.0, False),
        ("s", "s", True),
        (NAN, float("nan"), True),
    ],
    ids=repr,
)
def test_constant_match(built: Any, other: Any, matches: bool) -> None:
    cf = compiled(x.make_guard(GuardBuilder.CONSTANT_MATCH), built)
    assert passes(cf, built)
    assert passes(cf, other) is matches


def test_none_and_not_none_match() -> None:
    cf = compiled(x.make_guard(GuardBuilder.NONE_MATCH), None)
    assert not passes(cf, 0)
    assert not passes(cf, False)
    cf = compiled(x.make_guard(GuardBuilder.NOT_NONE_MATCH), 0)
    assert passes(cf, "anything")
    assert passes(cf, False)
    assert not passes(cf, None)


def test_bool_match() -> None:
    cf = compiled(x.make_guard(GuardBuilder.BOOL_MATCH), True)
    assert passes(cf, True)
    assert not passes(cf, 1)
    assert not passes(cf, False)
    cf = compiled(x.make_guard(GuardBuilder.BOOL_MATCH), False)
    assert passes(cf, False)
    assert not passes(cf, 0)
    assert not passes(cf, None)


# --------------------------------------------------------------------- structure
def test_hasattr_present() -> None:
    p = Point(1)
    cf = compiled(AttrSource(x, "a").make_guard(GuardBuilder.HASATTR), p)
    p.a = "another value"  # HASATTR does not guard the value
    assert passes(cf, p)
    del p.a
    assert not passes(cf, p)


def test_hasattr_absent() -> None:
    p = Point(1)
    cf = compiled(AttrSource(x, "b").make_guard(GuardBuilder.HASATTR), p)
    assert passes(cf, p)
    p.b = None
    assert not passes(cf, p)


def test_hasattr_with_a_name_that_is_not_an_identifier() -> None:
    p = Point(1)
    setattr(p, "a b", 1)
    cf = compiled(AttrSource(x, "a b").make_guard(GuardBuilder.HASATTR), p)
    assert passes(cf, p)
    delattr(p, "a b")
    assert not passes(cf, p)


def test_sequence_length() -> None:
    cf = compiled(x.make_guard(GuardBuilder.SEQUENCE_LENGTH), [1, 2])
    assert passes(cf, ["a", "b"])
    assert not passes(cf, [1])
    assert not passes(cf, [1, 2, 3])
    assert not passes(cf, (1, 2))  # exact type too
    cf = compiled(x.make_guard(GuardBuilder.SEQUENCE_LENGTH), {"a": 1})
    assert passes(cf, {"b": 2})
    assert not passes(cf, {})


def test_dict_keys_match_order_matters() -> None:
    cf = compiled(x.make_guard(GuardBuilder.DICT_KEYS_MATCH), {"a": 1, "b": 2})
    assert passes(cf, {"a": "other", "b": "values"})
    assert not passes(cf, {"b": 2, "a": 1})
    assert not passes(cf, {"a": 1})
    assert not passes(cf, {"a": 1, "b": 2, "c": 3})
    assert not passes(cf, collections.OrderedDict(a=1, b=2))  # exact type too


def test_dict_contains_present() -> None:
    d = {"k": 1}
    cf = compiled(GetItemSource(x, "k").make_guard(GuardBuilder.DICT_CONTAINS), d)
    d["k"] = 2  # the value is not guarded
    assert passes(cf, d)
    del d["k"]
    assert not passes(cf, d)


def test_dict_contains_absent() -> None:
    d = {"k": 1}
    cf = compiled(GetItemSource(x, "missing").make_guard(GuardBuilder.DICT_CONTAINS), d)
    assert passes(cf, d)
    d["missing"] = 0
    assert not passes(cf, d)


def test_dict_contains_with_a_tuple_key() -> None:
    cf = compiled(GetItemSource(x, (1, "a")).make_guard(GuardBuilder.DICT_CONTAINS), {(1, "a"): 0})
    assert passes(cf, {(1, "a"): 5})
    assert not passes(cf, {(1, "b"): 5})


def test_duplicate_input() -> None:
    shared = Point(1)
    guard = x.make_guard(GuardBuilder.DUPLICATE_INPUT, source_b=y)
    assert guard.arguments == {"source_b": y}
    cf = compile_guards([guard], {"x": shared, "y": shared})
    other = Point(1)
    assert cf.check({"x": other, "y": other})
    assert not cf.check({"x": shared, "y": Point(1)})
    assert not cf.check_verbose({"x": shared, "y": Point(1)}).passed
    assert not cf.check({"x": shared})


def test_duplicate_input_needs_source_b() -> None:
    with pytest.raises(TypeError, match="source_b"):
        compile_guards([x.make_guard(GuardBuilder.DUPLICATE_INPUT)], {"x": 1})


def test_duplicate_input_on_distinct_objects_does_not_build() -> None:
    guard = x.make_guard(GuardBuilder.DUPLICATE_INPUT, source_b=y)
    with pytest.raises(GuardBuildError):
        compile_guards([guard], {"x": Point(1), "y": Point(1)})


@pytest.mark.parametrize("on_call", [True, False], ids=["on r()", "on r"])
def test_weakref_alive(on_call: bool) -> None:
    source: Source = WeakRefCallSource(x) if on_call else x
    target = Point(1)
    ref = weakref.ref(target)
    cf = compiled(source.make_guard(GuardBuilder.WEAKREF_ALIVE), ref)
    assert passes(cf, ref)
    del target
    gc.collect()
    assert ref() is None
    assert not passes(cf, ref)


def test_weakref_alive_on_a_dead_reference_does_not_build() -> None:
    ref = weakref.ref(Point(1))
    gc.collect()
    with pytest.raises(GuardBuildError):
        compiled(WeakRefCallSource(x).make_guard(GuardBuilder.WEAKREF_ALIVE), ref)


# ------------------------------------------------------------------- guard records
def test_guard_equality_ignores_provenance() -> None:
    first = AttrSource(x, "a").make_guard(GuardBuilder.EQUALS_MATCH)
    second = AttrSource(x, "a").make_guard(GuardBuilder.EQUALS_MATCH)
    assert first.provenance is not None
    assert second.provenance is not None
    assert first.provenance.lineno != second.provenance.lineno
    assert first == second
    assert hash(first) == hash(second)
    assert first != AttrSource(x, "a").make_guard(GuardBuilder.TYPE_MATCH)
    assert first != AttrSource(x, "b").make_guard(GuardBuilder.EQUALS_MATCH)
    assert x.make_guard(GuardBuilder.DUPLICATE_INPUT, source_b=y) != x.make_guard(
        GuardBuilder.DUPLICATE_INPUT, source_b=LocalSource("z")
    )


def test_a_kind_may_be_named_by_its_name() -> None:
    assert x.make_guard("TYPE_MATCH") == x.make_guard(GuardBuilder.TYPE_MATCH)


def test_unknown_kinds_are_refused() -> None:
    with pytest.raises(guards.GuardsValueError, match="NOPE"):
        x.make_guard("NOPE")
    with pytest.raises(guards.GuardsTypeError, match="kind"):
        x.make_guard(len)


def test_unhashable_kind_arguments_are_refused() -> None:
    with pytest.raises(TypeError, match="source_b"):
        x.make_guard(GuardBuilder.DUPLICATE_INPUT, source_b=[y])


def _if_count(cf: CheckFunction) -> int:
    return sum(isinstance(node, ast.If) for node in ast.walk(ast.parse(cf.code)))


def _type_calls(cf: CheckFunction) -> int:
    return sum(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "type"
        for node in ast.walk(ast.parse(cf.code))
    )


def test_duplicate_guards_build_once() -> None:
    first = x.make_guard(GuardBuilder.EQUALS_MATCH)
    second = x.make_guard(GuardBuilder.EQUALS_MATCH)
    once = compiled(first, [1])
    twice = compiled([first, second, first], [1])
    assert len(twice.guards) == 1
    assert _if_count(twice) == _if_count(once)


def test_a_check_shared_by_two_kinds_runs_once() -> None:
    """TYPE_MATCH and the type test inside SEQUENCE_LENGTH are one check."""
    cf = compiled(
        [x.make_guard(GuardBuilder.TYPE_MATCH), x.make_guard(GuardBuilder.SEQUENCE_LENGTH)], [1]
    )
    assert len(cf.guards) == 2
    assert _type_calls(cf) == 1
    assert not passes(cf, (1,))
    assert not passes(cf, [1, 2])


def test_every_builtin_kind_is_a_builder_method() -> None:
    assert set(BUILTIN_KINDS) >= {
        "TYPE_MATCH", "ID_MATCH", "FUNCTION_MATCH", "CLOSURE_MATCH", "EQUALS_MATCH",
        "CONSTANT_MATCH", "NONE_MATCH", "NOT_NONE_MATCH", "BOOL_MATCH", "HASATTR",
        "SEQUENCE_LENGTH", "DICT_KEYS_MATCH", "DICT_CONTAINS", "DUPLICATE_INPUT",
        "WEAKREF_ALIVE",
    }
    for name in BUILTIN_KINDS:
        assert x.make_guard(getattr(GuardBuilder, name)).kind == name


# ---------------------------------------------------------------- SkipGuardSource
def test_guards_on_a_skipped_source_are_dropped_and_listed() -> None:
    skipped = SkipGuardSource(x)
    on_it = skipped.make_guard(GuardBuilder.EQUALS_MATCH)
    through_it = AttrSource(skipped, "a").make_guard(GuardBuilder.EQUALS_MATCH)
    kept = x.make_guard(GuardBuilder.TYPE_MATCH)
    cf = compiled([on_it, through_it, kept], Point(1))
    assert set(cf.dropped_guards) == {on_it, through_it}
    assert cf.guards == (kept,)
    assert passes(cf, Point("changed"))
    assert not passes(cf, 1)


def test_annotations_read_through_a_skipped_source_are_not_guarded() -> None:
    def f(a: int) -> int:
        return a

    annotations = AttrSource(SkipGuardSource(fn), "__annotations__")
    guard = annotations.make_guard(GuardBuilder.EQUALS_MATCH)
    cf = compile_guards([guard], {"fn": f})
    assert cf.dropped_guards == (guard,)
    assert cf.check({"fn": make_adder(1)})
    assert cf.check({})  # nothing is read at all


def test_duplicate_input_with_a_skipped_second_source_is_dropped() -> None:
    guard = x.make_guard(GuardBuilder.DUPLICATE_INPUT, source_b=SkipGuardSource(y))
    shared = Point(1)
    cf = compile_guards([guard], {"x": shared, "y": shared})
    assert cf.dropped_guards == (guard,)
    assert cf.check({"x": 1, "y": 2})


def test_a_skipped_path_that_cannot_be_read_still_builds() -> None:
    guard = AttrSource(SkipGuardSource(x), "missing").make_guard(GuardBuilder.EQUALS_MATCH)
    cf = compiled(guard, Point(1))
    assert cf.dropped_guards == (guard,)


# ----------------------------------------------------------------- build errors
class AlwaysUnequal:
    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = object.__hash__


def test_guards_that_reject_their_own_values_do_not_build() -> None:
    """EQUALS_MATCH on a list holding an object that is never equal fails its self-check."""
    with pytest.raises(GuardBuildError) as info:
        compiled(x.make_guard(GuardBuilder.EQUALS_MATCH), [AlwaysUnequal()])
    assert isinstance(info.value, guards.GuardsError)
    [failure] = info.value.failures
    assert failure.kind == "EQUALS_MATCH"
    assert failure.source == x
    assert "L['x']" in str(info.value)


def test_equals_match_on_an_object_never_equal_matches_only_itself() -> None:
    value = AlwaysUnequal()
    cf = compiled(x.make_guard(GuardBuilder.EQUALS_MATCH), value)
    assert passes(cf, value)
    assert not passes(cf, AlwaysUnequal())


def test_a_path_that_cannot_be_read_does_not_build() -> None:
    guard = AttrSource(x, "missing").make_guard(GuardBuilder.EQUALS_MATCH)
    with pytest.raises(GuardBuildError, match=r"L\['x'\]\.missing") as info:
        compiled(guard, Point(1))
    assert info.value.guard == guard


@pytest.mark.parametrize(
    ("guard", "value"),
    [
        (x.make_guard(GuardBuilder.BOOL_MATCH), 1),
        (x.make_guard(GuardBuilder.HASATTR), Point(1)),
        (x.make_guard(GuardBuilder.DICT_CONTAINS), {}),
        (x.make_guard(GuardBuilder.DICT_KEYS_MATCH), [1]),
        (x.make_guard(GuardBuilder.WEAKREF_ALIVE), Point(1)),
        (x.make_guard(GuardBuilder.NONE_MATCH), 0),
        (x.make_guard(GuardBuilder.NOT_NONE_MATCH), None),
        (DefaultsSource(x, 0).make_guard(GuardBuilder.EQUALS_MATCH), make_adder(1)),
    ],
    ids=lambda v: str(v) if isinstance(v, Guard) else "",
)
def test_a_kind_on_a_value_it_does_not_fit_does_not_build(guard: Guard, value: Any) -> None:
    with pytest.raises(GuardBuildError):
        compiled(guard, value)


# ------------------------------------------------------------------ custom kinds
class FakeArray:
    def __init__(self, dtype: str, shape: tuple[int, ...]) -> None:
        self.dtype, self.shape = dtype, shape


def _array_match(builder: GuardBuilder, guard: Guard) -> None:
    """Exact type, dtype and shape of an array."""
    value = builder.get(guard.source)
    builder.add_check(
        guard,
        "type({0}) is {T} and {0}.dtype == {dtype} and {0}.shape == {shape}",
        T=type(value), dtype=value.dtype, shape=value.shape,
        expected=(value.dtype, value.shape),
        describe="(dtype, shape) of {0} == {expected}",
        actual=lambda v: (v.dtype, v.shape),
        cost=COST_CHEAP,
    )


@pytest.fixture
def array_kind() -> Iterator[Any]:
    guards.register_guard_kind(_array_match, name="ARRAY_MATCH")
    yield GuardBuilder.ARRAY_MATCH  # type: ignore[attr-defined]
    guards.unregister_guard_kind("ARRAY_MATCH")


def test_custom_kind_checks_dtype_and_shape(array_kind: Any) -> None:
    guard = x.make_guard(array_kind)
    assert guard.kind == "ARRAY_MATCH"
    cf = compiled(guard, FakeArray("float32", (2, 3)))
    assert passes(cf, FakeArray("float32", (2, 3)))
    assert not passes(cf, FakeArray("float64", (2, 3)))
    assert not passes(cf, FakeArray("float32", (3, 2)))
    assert not passes(cf, [1, 2])
    [failure] = cf.check_verbose({"x": FakeArray("float64", (2, 3))}).failures
    assert failure.kind == "ARRAY_MATCH"
    assert failure.expected == ("float32", (2, 3))
    assert failure.actual == ("float64", (2, 3))
    assert "float32" not in cf.code  # the constants are bound, not pasted


def test_custom_kind_is_gone_after_unregistering() -> None:
    guards.register_guard_kind(_array_match, name="SHORT_LIVED")
    guard = x.make_guard(GuardBuilder.SHORT_LIVED)  # type: ignore[attr-defined]
    guards.unregister_guard_kind("SHORT_LIVED")
    assert not hasattr(GuardBuilder, "SHORT_LIVED")
    with pytest.raises(guards.GuardsValueError):
        x.make_guard("SHORT_LIVED")
    with pytest.raises(guards.GuardsError):
        compiled(guard, FakeArray("f", (1,)))
    with pytest.raises(guards.GuardsValueError):
        guards.unregister_guard_kind("SHORT_LIVED")


def test_registering_a_name_twice_is_an_error(array_kind: Any) -> None:
    with pytest.raises(guards.GuardsValueError, match="ARRAY_MATCH"):
        guards.register_guard_kind(_array_match, name="ARRAY_MATCH")
    assert GuardBuilder.ARRAY_MATCH is array_kind  # type: ignore[attr-defined]


def test_builtin_kinds_cannot_be_replaced_or_unregistered() -> None:
    original = GuardBuilder.TYPE_MATCH
    with pytest.raises(guards.GuardsValueError):
        guards.register_guard_kind(_array_match, name="TYPE_MATCH")
    with pytest.raises(guards.GuardsValueError):
        guards.unregister_guard_kind("TYPE_MATCH")
    assert GuardBuilder.TYPE_MATCH is original


@pytest.mark.parametrize("name", ["get", "build", "add_check", "__init__"])
def test_a_kind_cannot_take_the_name_of_a_builder_method(name: str) -> None:
    """Registering a kind called 'get' (a GuardBuilder method) is refused, not a silent clobber."""
    original = getattr(GuardBuilder, name)
    with pytest.raises(guards.GuardsValueError, match=name):
        guards.register_guard_kind(_array_match, name=name)
    assert getattr(GuardBuilder, name) is original
    assert compiled(x.make_guard(GuardBuilder.TYPE_MATCH), 1).check({"x": 2})


def test_a_kind_name_must_be_an_identifier() -> None:
    with pytest.raises(guards.GuardsValueError):
        guards.register_guard_kind(_array_match, name="not a name")


def test_register_as_a_decorator() -> None:
    @guards.register_guard_kind
    def POSITIVE(builder: GuardBuilder, guard: Guard) -> None:
        builder.add_check(guard, "{0} > 0", expected="> 0", describe="{0} > 0")

    try:
        assert GuardBuilder.POSITIVE is POSITIVE  # type: ignore[attr-defined]
        cf = compiled(x.make_guard(GuardBuilder.POSITIVE), 5)  # type: ignore[attr-defined]
        assert passes(cf, 1)
        assert not passes(cf, -1)
        assert not passes(cf, "not comparable")
    finally:
        guards.unregister_guard_kind("POSITIVE")


@pytest.mark.parametrize(
    ("template", "word"),
    [("{0} == {missing}", "missing"), ("{0} is {1}", "{1}"), ("{0} == {", "malformed")],
)
def test_a_template_using_an_unbound_name_is_an_error(template: str, word: str) -> None:
    """A template naming a constant or source it was not given raises GuardsValueError."""

    def BAD_TEMPLATE(builder: GuardBuilder, guard: Guard) -> None:
        builder.add_check(guard, template, expected=None, describe="bad")

    guards.register_guard_kind(BAD_TEMPLATE)
    try:
        with pytest.raises(guards.GuardsValueError, match=word.replace("{", r"\{")):
            compiled(x.make_guard(GuardBuilder.BAD_TEMPLATE), 1)  # type: ignore[attr-defined]
    finally:
        guards.unregister_guard_kind("BAD_TEMPLATE")


def test_a_custom_kind_that_rejects_its_own_value_does_not_build() -> None:
    @guards.register_guard_kind
    def NEVER(builder: GuardBuilder, guard: Guard) -> None:
        builder.add_check(guard, "{0} is not {0}", expected="never", describe="never")

    try:
        with pytest.raises(GuardBuildError) as info:
            compiled(x.make_guard(GuardBuilder.NEVER), Obj())  # type: ignore[attr-defined]
        assert [f.kind for f in info.value.failures] == ["NEVER"]
    finally:
        guards.unregister_guard_kind("NEVER")
