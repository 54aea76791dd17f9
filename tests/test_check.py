"""compile_guards and CheckFunction: the fast check, the verbose check, and what they show."""

from __future__ import annotations

import ast
import copy
import gc
import inspect
import linecache
import sys
import types
import weakref
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

import guards
import guards.testing as S
from guards import (
    AttrSource,
    CheckFunction,
    ClosureSource,
    DefaultsSource,
    GetItemSource,
    GlobalSource,
    Guard,
    GuardBuilder,
    LocalSource,
    Source,
    Unreadable,
    WeakRefCallSource,
    compile_guards,
)

x = LocalSource("x")
cfg = LocalSource("cfg")
fn = LocalSource("fn")


def cell(base: Source, i: int) -> AttrSource:
    return AttrSource(GetItemSource(ClosureSource(base), i), "cell_contents")


def verdicts(cf: CheckFunction, f_locals: Any, f_globals: Any = None) -> bool:
    """``check``'s verdict, asserting it is a bool and that ``check_verbose`` agrees."""
    fast = cf.check(f_locals, f_globals)
    assert type(fast) is bool
    # The C evaluator and the generated Python text agree (the same function without it).
    assert cf.python_check(f_locals, f_globals) is fast
    result = cf.check_verbose(f_locals, f_globals)
    assert result.passed is fast
    assert bool(result) is fast
    assert (not result.failures) is fast
    return fast


class Point:
    def __init__(self, a: Any) -> None:
        self.a = a


# --------------------------------------------------------------- never raises
class RaisingEq:
    def __init__(self, explode: bool) -> None:
        self.explode = explode

    def __eq__(self, other: object) -> bool:
        if self.explode or getattr(other, "explode", False):
            raise RuntimeError("__eq__ exploded")
        return True

    __hash__ = object.__hash__


class Elementwise:
    """Like an array: == answers with an object whose truth cannot be decided."""

    def __eq__(self, other: object) -> Any:
        return Ambiguous()

    __hash__ = object.__hash__


class Ambiguous:
    def __bool__(self) -> bool:
        raise ValueError("the truth value of an array is ambiguous")


class Flaky:
    """Its property works at build time and raises afterwards."""

    broken = False

    @property
    def p(self) -> int:
        if Flaky.broken:
            raise RuntimeError("property exploded")
        return 1


class Sized:
    def __init__(self, explode: bool) -> None:
        self.explode = explode

    def __len__(self) -> int:
        if self.explode:
            raise RuntimeError("__len__ exploded")
        return 1


class ContainsRaises:
    def __contains__(self, key: object) -> bool:
        raise RuntimeError("__contains__ exploded")


class GetattrRaises:
    def __getattr__(self, name: str) -> Any:
        raise RuntimeError("__getattr__ exploded")


def empty_cell_function() -> Any:
    def outer() -> Any:
        def inner() -> Any:
            return value

        value = 1
        return inner

    return outer()


def deep_list(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


NEVER_RAISES = [
    ("attribute deleted", AttrSource(x, "a"), "EQUALS_MATCH", Point(1), S.Obj()),
    ("index out of range", GetItemSource(x, 2), "EQUALS_MATCH", [1, 2, 3], [1]),
    ("key missing", GetItemSource(x, "k"), "EQUALS_MATCH", {"k": 1}, {}),
    ("not subscriptable", GetItemSource(x, "k"), "EQUALS_MATCH", {"k": 1}, 5),
    ("__eq__ raises", x, "EQUALS_MATCH", RaisingEq(False), RaisingEq(True)),
    ("__bool__ of == raises", x, "EQUALS_MATCH", Elementwise(), Elementwise()),
    ("__eq__ raises inside a list", x, "EQUALS_MATCH", [RaisingEq(False)], [RaisingEq(True)]),
    ("__bool__ raises inside a list", x, "EQUALS_MATCH", [1], [Elementwise()]),
    ("__len__ raises", x, "SEQUENCE_LENGTH", Sized(False), Sized(True)),
    ("__contains__ raises", GetItemSource(x, "k"), "DICT_CONTAINS", {"k": 1}, ContainsRaises()),
    ("__getattr__ raises", AttrSource(x, "b"), "HASATTR", Point(1), GetattrRaises()),
    ("empty cell", cell(fn, 0), "EQUALS_MATCH", None, None),
    ("no closure", cell(fn, 0), "EQUALS_MATCH", None, None),
    ("no defaults", DefaultsSource(x, 0), "EQUALS_MATCH", lambda a=1: a, lambda a: a),
    ("dead weak reference", WeakRefCallSource(x), "TYPE_MATCH", None, None),
    ("not callable", WeakRefCallSource(x), "TYPE_MATCH", None, 3),
]


def _never_raises_case(name: str, built: Any, then: Any) -> tuple[Any, Any]:
    if name == "empty cell":
        f = empty_cell_function()
        built = f
        fresh = empty_cell_function()
        del fresh.__closure__[0].cell_contents
        return {"fn": built}, {"fn": fresh}
    if name == "no closure":
        return {"fn": empty_cell_function()}, {"fn": lambda: None}
    if name in ("dead weak reference", "not callable"):
        keep = Point(1)
        dying = Point(1)
        ref = weakref.ref(dying)
        del dying
        gc.collect()
        return {"x": weakref.ref(keep), "keep": keep}, {"x": ref if name.startswith("dead")
                                                           else then}
    return {"x": built}, {"x": then}


@pytest.mark.parametrize(("name", "source", "kind", "built", "then"), NEVER_RAISES,
                         ids=[case[0] for case in NEVER_RAISES])
def test_check_never_raises(name: str, source: Source, kind: str, built: Any, then: Any) -> None:
    before, after = _never_raises_case(name, built, then)
    cf = compile_guards([source.make_guard(kind)], before)
    assert verdicts(cf, before) is True
    assert verdicts(cf, after) is False
    [failure] = cf.check_verbose(after).failures
    assert failure.kind == kind
    assert isinstance(failure.message, str)
    assert "\n" not in failure.message


def test_a_property_that_raises_is_a_failed_check() -> None:
    guard = AttrSource(x, "p").make_guard(GuardBuilder.EQUALS_MATCH)
    value = Flaky()
    cf = compile_guards([guard], {"x": value})
    Flaky.broken = True
    try:
        assert verdicts(cf, {"x": value}) is False
        [failure] = cf.check_verbose({"x": value}).failures
        assert isinstance(failure.actual, Unreadable)
        assert "property exploded" in failure.message
    finally:
        Flaky.broken = False
    assert verdicts(cf, {"x": value}) is True


def test_global_guards_with_no_globals_fail() -> None:
    g = GlobalSource("g")
    cf = compile_guards([g.make_guard(GuardBuilder.EQUALS_MATCH)], {}, {"g": 1})
    assert verdicts(cf, {}, {"g": 1}) is True
    assert verdicts(cf, {}, None) is False
    assert verdicts(cf, {}, {}) is False
    assert cf.check({}) is False


def test_check_of_something_that_is_not_a_mapping_is_false() -> None:
    cf = compile_guards([x.make_guard(GuardBuilder.TYPE_MATCH)], {"x": 1})
    assert cf.check(None) is False  # type: ignore[arg-type]
    assert cf.check([1]) is False  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="f_locals"):
        cf.check_verbose(None)  # type: ignore[arg-type]


def test_deep_recursion_in_eq_is_a_failed_check() -> None:
    cf = compile_guards([x.make_guard(GuardBuilder.EQUALS_MATCH)], {"x": deep_list(50)})
    assert verdicts(cf, {"x": deep_list(50)}) is True
    assert verdicts(cf, {"x": deep_list(sys.getrecursionlimit() * 2)}) is False


def test_a_value_of_the_wrong_type_is_rejected_before_its_paths_are_walked() -> None:
    """A value's own checks run before any path below it is read (no user code on a bad type)."""
    reads: list[str] = []

    class Spy:
        @property
        def a(self) -> int:
            reads.append("a")
            return 1

    guard_list = [
        x.make_guard(GuardBuilder.TYPE_MATCH),
        AttrSource(x, "a").make_guard(GuardBuilder.EQUALS_MATCH),
    ]
    cf = compile_guards(guard_list, {"x": Point(1)})
    assert cf.check({"x": Spy()}) is False
    assert reads == []


# -------------------------------------------------------------- check_verbose
def test_failures_carry_guard_expected_actual_message_and_the_user_line() -> None:
    guard, line = AttrSource(cfg, "mode").make_guard(GuardBuilder.EQUALS_MATCH), inspect.currentframe().f_lineno  # type: ignore[union-attr]  # noqa: E501
    before, after = S.Obj(), S.Obj()
    before.mode, after.mode = "fast", "slow"
    cf = compile_guards([guard], {"cfg": before})
    result = cf.check_verbose({"cfg": after})
    assert not result.passed
    [failure] = result.failures
    assert failure.guard == guard
    assert failure.guard.source == AttrSource(cfg, "mode")
    assert failure.guard.kind == "EQUALS_MATCH"
    assert failure.expected == "fast"
    assert failure.actual == "slow"
    provenance = failure.guard.provenance
    assert provenance is not None
    assert (provenance.filename, provenance.lineno) == (__file__, line)
    assert provenance.function.endswith(
        "test_failures_carry_guard_expected_actual_message_and_the_user_line"
    )
    message = failure.message
    assert "L['cfg'].a" not in message
    assert "L['cfg'].mode" in message
    assert "EQUALS_MATCH" in message
    assert "'fast'" in message
    assert "'slow'" in message
    assert f"{__file__}:{line}" in message
    assert 'make_guard(GuardBuilder.EQUALS_MATCH)' in message
    assert "\n" not in message
    assert "L['cfg'].mode" in str(result)


def test_check_verbose_lists_every_failure_in_order() -> None:
    guard_list = [
        AttrSource(cfg, "a").make_guard(GuardBuilder.EQUALS_MATCH),
        AttrSource(cfg, "b").make_guard(GuardBuilder.EQUALS_MATCH),
        AttrSource(cfg, "c").make_guard(GuardBuilder.EQUALS_MATCH),
    ]
    value = S.Obj()
    value.a, value.b, value.c = 1, 2, 3
    cf = compile_guards(guard_list, {"cfg": value})
    value.a, value.c = 10, 30
    result = cf.check_verbose({"cfg": value})
    assert [(f.guard.source.name, f.expected, f.actual) for f in result.failures] == [
        ("L['cfg'].a", 1, 10),
        ("L['cfg'].c", 3, 30),
    ]
    assert cf.check_verbose({"cfg": S.Obj()}).failures[0].actual.__class__ is Unreadable


def test_failure_on_a_closure_cell_names_the_variable() -> None:
    def make(scale: int) -> Any:
        def inner(v: int) -> int:
            return v * scale

        return inner

    cf = compile_guards([cell(fn, 0).make_guard(GuardBuilder.EQUALS_MATCH)], {"fn": make(3)})
    [failure] = cf.check_verbose({"fn": make(5)}).failures
    assert (failure.expected, failure.actual) == (3, 5)
    assert "L['fn'].__closure__[0].cell_contents" in failure.message
    assert "'scale'" in failure.message


def test_passing_result() -> None:
    cf = compile_guards([x.make_guard(GuardBuilder.TYPE_MATCH)], {"x": 1})
    result = cf.check_verbose({"x": 2})
    assert result.passed
    assert result.failures == ()


# ----------------------------------------------------------------- the code
def _attribute_count(cf: CheckFunction, attr: str) -> int:
    return sum(
        isinstance(node, ast.Attribute) and node.attr == attr
        for node in ast.walk(ast.parse(cf.code))
    )


def _subscripts_of(cf: CheckFunction, name: str) -> int:
    return sum(
        isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
        and node.value.id == name
        for node in ast.walk(ast.parse(cf.code))
    )


def make_two_cells(a: Any, b: Any) -> Any:
    def inner() -> Any:
        return a, b

    return inner


def test_each_access_path_prefix_is_walked_once() -> None:
    guard_list = [
        fn.make_guard(GuardBuilder.CLOSURE_MATCH),
        cell(fn, 0).make_guard(GuardBuilder.EQUALS_MATCH),
        cell(fn, 1).make_guard(GuardBuilder.EQUALS_MATCH),
        AttrSource(cell(fn, 1), "real").make_guard(GuardBuilder.EQUALS_MATCH),
        DefaultsSource(fn, 0).make_guard(GuardBuilder.CONSTANT_MATCH),
    ]
    f = make_two_cells(1, 2)
    f.__defaults__ = (None,)
    cf = compile_guards(guard_list, {"fn": f})
    assert _attribute_count(cf, "__closure__") == 1
    assert _attribute_count(cf, "cell_contents") == 2
    assert _attribute_count(cf, "__defaults__") == 1
    assert _subscripts_of(cf, "L") == 1
    g = make_two_cells(1, 2)
    g.__defaults__ = (None,)
    assert verdicts(cf, {"fn": g}) is True
    assert verdicts(cf, {"fn": make_two_cells(1, 3)}) is False


def test_code_is_registered_in_linecache_until_the_check_dies() -> None:
    cf = compile_guards([x.make_guard(GuardBuilder.EQUALS_MATCH)], {"x": 1})
    filename = cf.filename
    assert filename.startswith("<") and filename.endswith(">")
    assert filename in linecache.cache
    lines = cf.code.splitlines()
    assert [linecache.getline(filename, i + 1).rstrip("\n") for i in range(len(lines))] == lines
    assert inspect.getsource(cf.python_check) in cf.code
    compile(cf.code, filename, "exec")  # the registered text is the real, valid source
    del cf
    gc.collect()
    assert filename not in linecache.cache


def test_each_check_function_has_its_own_filename() -> None:
    first = compile_guards([x.make_guard(GuardBuilder.EQUALS_MATCH)], {"x": 1})
    second = compile_guards([x.make_guard(GuardBuilder.EQUALS_MATCH)], {"x": 1})
    assert first.filename != second.filename
    assert "L['x']" in first.filename


def test_guards_attribute_and_repr() -> None:
    guard_list = [x.make_guard(GuardBuilder.TYPE_MATCH), x.make_guard(GuardBuilder.TYPE_MATCH)]
    cf = compile_guards(guard_list, {"x": 1})
    assert cf.guards == (guard_list[0],)
    assert cf.dropped_guards == ()
    assert "CheckFunction" in repr(cf)


def test_empty_guard_set_always_passes() -> None:
    cf = compile_guards([], {})
    assert verdicts(cf, {}) is True
    assert verdicts(cf, {"anything": 1}) is True


@pytest.mark.parametrize(
    ("call", "word"),
    [
        (lambda: compile_guards(x.make_guard(GuardBuilder.TYPE_MATCH), {"x": 1}), "guard_list"),
        (lambda: compile_guards([x.make_guard(GuardBuilder.TYPE_MATCH), "TYPE_MATCH"],
                                {"x": 1}), "guard_list[1]"),
        (lambda: compile_guards([], None), "f_locals"),
        (lambda: compile_guards([], {}, [1]), "f_globals"),
    ],
)
def test_bad_arguments_to_compile_guards(call: Any, word: str) -> None:
    with pytest.raises(guards.GuardsTypeError) as info:
        call()
    assert word in str(info.value)


def test_str_is_a_tree_grouped_by_access_path() -> None:
    value = S.Obj()
    value.mode, value.size = "fast", 3
    guard_list = [
        AttrSource(cfg, "size").make_guard(GuardBuilder.EQUALS_MATCH),
        cfg.make_guard(GuardBuilder.TYPE_MATCH),
        AttrSource(cfg, "mode").make_guard(GuardBuilder.EQUALS_MATCH),
        AttrSource(cfg, "mode").make_guard(GuardBuilder.NOT_NONE_MATCH),
        fn.make_guard(GuardBuilder.CLOSURE_MATCH),
        cell(fn, 0).make_guard(GuardBuilder.EQUALS_MATCH),
    ]
    cf = compile_guards(guard_list, {"cfg": value, "fn": make_two_cells(1, 2)})
    lines = str(cf).splitlines()[1:]
    paths: dict[str, tuple[int, int]] = {}  # name -> (line index, indentation)
    kinds: dict[str, list[str]] = {}
    current = ""
    for i, line in enumerate(lines):
        text = line.strip()
        if text.startswith("- "):
            kinds[current].append(text[2:].split(":")[0])
            continue
        assert text not in paths, f"{text} is shown twice"
        paths[text] = (i, len(line) - len(line.lstrip()))
        kinds[text] = []
        current = text
    assert kinds["L['cfg']"] == ["TYPE_MATCH"]
    assert sorted(kinds["L['cfg'].mode"]) == ["EQUALS_MATCH", "NOT_NONE_MATCH"]
    assert kinds["L['cfg'].size"] == ["EQUALS_MATCH"]
    assert "CLOSURE_MATCH" in kinds["L['fn']"]
    assert kinds["L['fn'].__closure__[0].cell_contents"] == ["EQUALS_MATCH"]
    # every path is shown under the nearest shorter path it extends
    for name, (index, indent) in paths.items():
        parents = [
            other for other, (i, ind) in paths.items() if i < index and ind < indent
        ]
        if indent == 0:
            assert name.startswith("L[")
        else:
            parent = max(parents, key=lambda p: paths[p][0])
            assert name.startswith(parent), (name, parent)
    assert paths["L['cfg'].mode"][1] > paths["L['cfg']"][1]
    assert paths["L['fn'].__closure__[0].cell_contents"][1] > paths["L['fn']"][1]


# ------------------------------------------------------------------ properties
#: A reference model of each kind, written from the contract: does the guard
#: hold on the current values, given what was recorded when it was built?
def record(guard: Guard, f_locals: Mapping[str, Any], f_globals: Mapping[str, Any]) -> Any:
    """What a model needs to remember about the values a guard was built on."""
    kind, source = guard.kind, guard.source
    if kind in ("HASATTR", "DICT_CONTAINS"):
        return _holds_now(guard, f_locals, f_globals, None)
    value = source.get(f_locals, f_globals)
    if kind in ("EQUALS_MATCH", "CONSTANT_MATCH"):
        return copy.deepcopy(value)
    if kind == "SEQUENCE_LENGTH":
        return type(value), len(value)
    if kind == "DICT_KEYS_MATCH":
        return type(value), list(value)
    if kind == "CLOSURE_MATCH":
        return value.__code__
    return value


def _holds_now(guard: Guard, f_locals: Any, f_globals: Any, then: Any) -> bool:
    kind, source = guard.kind, guard.source
    if kind == "HASATTR":
        assert isinstance(source, AttrSource)
        present = hasattr(source.base.get(f_locals, f_globals), source.member)
        return present if then is None else present is then
    if kind == "DICT_CONTAINS":
        assert isinstance(source, GetItemSource)
        present = source.index in source.base.get(f_locals, f_globals)
        return present if then is None else present is then
    if kind == "DUPLICATE_INPUT":
        other = guard.arguments["source_b"]
        assert isinstance(other, Source)
        return source.get(f_locals, f_globals) is other.get(f_locals, f_globals)
    now = source.get(f_locals, f_globals)
    if kind == "TYPE_MATCH":
        return type(now) is type(then)
    if kind in ("ID_MATCH", "FUNCTION_MATCH", "BOOL_MATCH"):
        return now is then
    if kind in ("EQUALS_MATCH", "CONSTANT_MATCH"):
        return S.strict_same(now, then)
    if kind == "NONE_MATCH":
        return now is None
    if kind == "NOT_NONE_MATCH":
        return now is not None
    if kind == "SEQUENCE_LENGTH":
        return type(now) is then[0] and len(now) == then[1]
    if kind == "DICT_KEYS_MATCH":
        return type(now) is then[0] and S.strict_same(list(now), then[1])
    if kind == "CLOSURE_MATCH":
        return type(now) is types.FunctionType and now.__code__ is then
    if kind == "WEAKREF_ALIVE":
        return (now if isinstance(source, WeakRefCallSource) else now()) is not None
    raise AssertionError(kind)


def holds(guard: Guard, then: Any, f_locals: Any, f_globals: Any) -> bool:
    try:
        return _holds_now(guard, f_locals, f_globals, then)
    except Exception:
        return False


@settings(max_examples=150, deadline=None)
@given(S.scenarios(), st.data())
def test_check_agrees_with_check_verbose_and_with_a_model_of_every_kind(
    scenario: S.Scenario, data: st.DataObject
) -> None:
    """After any mutations, check == check_verbose == (every guard holds, per the kind's model)."""
    f_locals, f_globals = scenario.f_locals, scenario.f_globals
    cf = compile_guards(scenario.guards, f_locals, f_globals)
    then = {g: record(g, f_locals, f_globals) for g in cf.guards}
    assert all(holds(g, then[g], f_locals, f_globals) for g in cf.guards)
    assert verdicts(cf, f_locals, f_globals) is True
    for mutation in data.draw(st.lists(S.mutations(scenario.found), max_size=3)):
        mutation.apply(f_locals, f_globals)
        expected = all(holds(g, then[g], f_locals, f_globals) for g in cf.guards)
        assert verdicts(cf, f_locals, f_globals) is expected
        failing = {f.guard for f in cf.check_verbose(f_locals, f_globals).failures}
        assert all(not holds(g, then[g], f_locals, f_globals) for g in failing)
    verdicts(cf, f_locals, None)


@settings(max_examples=100, deadline=None)
@given(S.scenarios())
def test_guards_pass_on_an_equal_fresh_copy_unless_they_pin_identity(
    scenario: S.Scenario,
) -> None:
    """Minimal: rebuilding the same data passes every guard but those about object identity."""
    cf = compile_guards(scenario.guards, scenario.f_locals, scenario.f_globals)
    f_locals, f_globals = scenario.world.build()
    pins_identity = any(g.kind in S.IDENTITY_KINDS for g in cf.guards)
    if not pins_identity:
        assert verdicts(cf, f_locals, f_globals) is True
    else:
        verdicts(cf, f_locals, f_globals)


@settings(max_examples=100, deadline=None)
@given(S.scenarios(max_guards=4), st.data())
def test_compiling_the_same_guards_twice_gives_the_same_verdicts(
    scenario: S.Scenario, data: st.DataObject
) -> None:
    first = compile_guards(scenario.guards, scenario.f_locals, scenario.f_globals)
    second = compile_guards(list(reversed(scenario.guards)), scenario.f_locals, scenario.f_globals)
    assert set(first.guards) == set(second.guards)
    for mutation in data.draw(st.lists(S.mutations(scenario.found), max_size=2)):
        mutation.apply(scenario.f_locals, scenario.f_globals)
    assert first.check(scenario.f_locals, scenario.f_globals) is second.check(
        scenario.f_locals, scenario.f_globals
    )


def test_equals_match_inside_containers_is_exact() -> None:
    """[True] does not match [1], (0.0,) not (-0.0,), {1: x} not {True: x}."""
    for built, other in [
        ([1], [True]),
        ((1,), (1.0,)),
        ((0.0,), (-0.0,)),
        ([float("nan")], [1.0]),
        ({1: "a"}, {True: "a"}),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}),
        ({"k": [1]}, {"k": [True]}),
        (frozenset({1}), frozenset({True})),
    ]:
        cf = compile_guards([x.make_guard(GuardBuilder.EQUALS_MATCH)], {"x": built})
        assert verdicts(cf, {"x": copy.deepcopy(built)}) is True, built
        assert verdicts(cf, {"x": other}) is False, (built, other)


def test_dict_keys_match_tells_true_from_one() -> None:
    """DICT_KEYS_MATCH on {1: ...} does not match {True: ...}."""
    cf = compile_guards([x.make_guard(GuardBuilder.DICT_KEYS_MATCH)], {"x": {1: "a"}})
    assert verdicts(cf, {"x": {1: "b"}}) is True
    assert verdicts(cf, {"x": {True: "a"}}) is False
