"""The C evaluator (``guards._evaluator``) against the generated Python check.

Every other test runs on whichever path is active: the C evaluator when it is
built, the generated Python function under ``GUARDS_PURE_PYTHON=1`` (CI runs the
suite both ways, as CPython tests its C and Python ``lru_cache``).  The tests
here build evaluators directly, so they test the C path in either run: the
same verdicts as the Python text on random guard sets and mutations, the
exceptions that must and must not escape, plans it must refuse, and references
it must not leak.
"""

from __future__ import annotations

import collections
import copy
import gc
import os
import subprocess
import sys
import types
import weakref
from typing import Any

import attrs
import pytest
from hypothesis import given, settings, strategies as st

import guards
import guards.testing as S
from guards import (
    AttrSource,
    CheckFunction,
    GetItemSource,
    GlobalSource,
    Guard,
    GuardBuilder,
    LocalSource,
    Source,
    compile_guards,
)
from guards.checks import plan as plans


def _module() -> Any:
    """The extension; a test without it is skipped, but fails under CI (which builds it)."""
    module = plans.load_extension()
    if module is None:
        reason = "guards._evaluator is not built (no C compiler when installed)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must build the C evaluator: {reason}")
        pytest.skip(reason)
    return module


def in_c(cf: CheckFunction) -> Any:
    """``cf``'s checks run in the C evaluator, whatever path ``cf.check`` takes."""
    plan = plans.build_plan(cf.checks, "test")
    return _module().Evaluator(plan.steps, plan.registers)


x, y = LocalSource("x"), LocalSource("y")


# -- the same verdicts as the generated Python text --------------------------------------
@settings(max_examples=200, deadline=None)
@given(S.scenarios(max_guards=12), st.data())
def test_the_evaluator_agrees_with_the_python_text_after_any_mutations(
    scenario: S.Scenario, data: st.DataObject
) -> None:
    f_locals, f_globals = scenario.f_locals, scenario.f_globals
    cf = compile_guards(scenario.guards, f_locals, f_globals)
    check = in_c(cf)
    assert check(f_locals, f_globals) is True
    for mutation in data.draw(st.lists(S.mutations(scenario.found), max_size=4)):
        mutation.apply(f_locals, f_globals)
        verdict = check(f_locals, f_globals)
        assert verdict is cf.python_check(f_locals, f_globals)
        assert verdict is cf.check_verbose(f_locals, f_globals).passed
    assert check(f_locals, None) is cf.python_check(f_locals, None)


def test_the_active_path_is_the_c_evaluator_when_built() -> None:
    cf = compile_guards([x.make_guard(GuardBuilder.TYPE_MATCH)], {"x": 1})
    assert cf.native is (plans.EVALUATOR is not None)
    if cf.native:
        assert type(cf.check).__name__ == "Evaluator"
        assert cf.check is not cf.python_check
    else:
        assert cf.check is cf.python_check


def test_guards_pure_python_makes_every_check_python() -> None:
    code = (
        "import guards; from guards.checks import plan\n"
        "cf = guards.compile_guards([guards.LocalSource('x').make_guard("
        "guards.GuardBuilder.TYPE_MATCH)], {'x': 1})\n"
        "print(plan.EVALUATOR is None, cf.native, cf.check is cf.python_check)"
    )
    env = {**os.environ, plans.PURE_PYTHON_VARIABLE: "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["True", "False", "True"]


def test_the_extension_numbers_the_steps_as_the_plan_does() -> None:
    module = _module()
    assert {name: getattr(module, name) for name in plans.CODES} == plans.CODES


# -- each step, on values that pass and fail ---------------------------------------------
class Slots:
    __slots__ = ("a",)

    def __init__(self, a: Any) -> None:
        self.a = a


class Missing(dict[str, int]):
    def __missing__(self, key: str) -> int:
        self[key] = 0  # a check must never call this: it changes what it reads
        return 0


def closure_fn(value: Any) -> types.FunctionType:
    def fn(n: int = 3, *, k: str = "kw") -> Any:
        return value

    return fn  # type: ignore[return-value]


SHARED = [1]
CASES: list[tuple[str, list[Guard], dict[str, Any], list[dict[str, Any]]]] = [
    ("attribute by value", [AttrSource(x, "a").make_guard(GuardBuilder.EQUALS_MATCH)],
     {"x": Slots(1)}, [{"x": Slots(2)}, {"x": Slots(True)}, {"x": Slots(1.0)}, {"x": 1}]),
    ("slot emptied", [AttrSource(x, "a").make_guard(GuardBuilder.TYPE_MATCH)],
     {"x": Slots(1)}, [{"x": Slots.__new__(Slots)}]),
    ("dict item", [GetItemSource(x, "k").make_guard(GuardBuilder.EQUALS_MATCH)],
     {"x": {"k": "v"}}, [{"x": {"k": "w"}}, {"x": {}}, {"x": Missing()}, {"x": ["v"]}]),
    ("list item", [GetItemSource(x, 1).make_guard(GuardBuilder.EQUALS_MATCH)],
     {"x": [0, 5]}, [{"x": [0, 6]}, {"x": [0]}, {"x": (0, 6)}, {"x": "05"}]),
    ("str item", [GetItemSource(x, 0).make_guard(GuardBuilder.EQUALS_MATCH)],
     {"x": "ab"}, [{"x": "bb"}, {"x": ""}]),
    ("slice", [GetItemSource(x, slice(0, 2), index_is_slice=True)
               .make_guard(GuardBuilder.EQUALS_MATCH)],
     {"x": [1, 2, 3]}, [{"x": [1, 3, 3]}, {"x": (1, 2)}]),
    ("length", [x.make_guard(GuardBuilder.SEQUENCE_LENGTH)],
     {"x": (1, 2)}, [{"x": (1,)}, {"x": [1, 2]}, {"x": None}]),
    ("dict keys in order", [x.make_guard(GuardBuilder.DICT_KEYS_MATCH)],
     {"x": {"a": 1, "b": 2}}, [{"x": {"b": 2, "a": 1}}, {"x": {"a": 1}},
                               {"x": {"a": 1, "b": 2, "c": 3}}, {"x": Missing(a=1, b=2)}]),
    ("non-str dict keys", [x.make_guard(GuardBuilder.DICT_KEYS_MATCH)],
     {"x": {1: "a", (2, 3): "b"}}, [{"x": {True: "a", (2, 3): "b"}}, {"x": {1: "a"}}]),
    ("closure cell and defaults", [
        LocalSource("fn").make_guard(GuardBuilder.CLOSURE_MATCH),
        guards.AttrSource(guards.GetItemSource(guards.ClosureSource(LocalSource("fn")), 0),
                          "cell_contents").make_guard(GuardBuilder.EQUALS_MATCH),
        guards.DefaultsSource(LocalSource("fn"), 0).make_guard(GuardBuilder.EQUALS_MATCH),
        guards.DefaultsSource(LocalSource("fn"), "k", is_kw=True)
        .make_guard(GuardBuilder.EQUALS_MATCH),
    ], {"fn": closure_fn(7)}, [{"fn": closure_fn(8)}, {"fn": len}, {"fn": lambda n=3: 7}]),
    ("none and bools", [AttrSource(x, "a").make_guard(GuardBuilder.NONE_MATCH),
                        GetItemSource(y, 0).make_guard(GuardBuilder.BOOL_MATCH)],
     {"x": Slots(None), "y": [True]}, [{"x": Slots(0), "y": [True]},
                                       {"x": Slots(None), "y": [1]}]),
    ("duplicate input", [x.make_guard(GuardBuilder.DUPLICATE_INPUT, source_b=y)],
     {"x": SHARED, "y": SHARED}, [{"x": [1], "y": [1]}, {"x": SHARED, "y": [1]}]),
    ("hasattr and contains (Python steps)", [
        AttrSource(x, "b").make_guard(GuardBuilder.HASATTR),
        GetItemSource(y, "k").make_guard(GuardBuilder.DICT_CONTAINS),
    ], {"x": Slots(1), "y": {"k": 1}}, [{"x": types.SimpleNamespace(b=1), "y": {"k": 1}},
                                        {"x": Slots(1), "y": {}}]),
]


@pytest.mark.parametrize(("guard_list", "f_locals", "others"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_each_step_gives_the_verdicts_of_the_python_text(
    guard_list: list[Guard], f_locals: dict[str, Any], others: list[dict[str, Any]]
) -> None:
    f_globals = {"g": 1.5}
    cf = compile_guards(guard_list, f_locals, f_globals)
    check = in_c(cf)
    assert check(f_locals, f_globals) is True
    assert check(L=f_locals, G=f_globals) is True  # by name too, as def check(L, G=None)
    for frame in [*others, {}, {"x": object(), "y": object(), "fn": object()}]:
        verdict = check(frame, f_globals)
        assert verdict is cf.python_check(frame, f_globals), frame
        assert verdict is cf.check_verbose(frame, f_globals).passed, frame
        assert verdict is False or frame is f_locals
    for frame in others:  # __missing__ was never called: nothing was added
        for value in frame.values():
            if isinstance(value, Missing):
                assert "k" not in value and len(value) in (0, 2)


def test_globals_are_read_from_g_and_fail_without_it() -> None:
    cf = compile_guards([GlobalSource("g").make_guard(GuardBuilder.EQUALS_MATCH)], {},
                        {"g": 1.5})
    check = in_c(cf)
    for f_globals, expected in [({"g": 1.5}, True), ({"g": 2.5}, False), ({}, False),
                                (None, False), (collections.ChainMap({"g": 1.5}), True)]:
        assert check({}, f_globals) is expected
        assert cf.python_check({}, f_globals) is expected
    assert check({}) is False


def test_a_source_of_the_users_own_runs_its_step_code_in_the_evaluator() -> None:
    class Doubled(guards.ChainedSource):  # type: ignore[misc]
        def _render(self) -> str:
            return f"2 * {self.base.name}"

        def step(self, base_value: Any) -> Any:
            return 2 * base_value

        def step_code(self, base_expr: str, bind: Any) -> str:
            return f"({bind(2, 'two')} * {base_expr})"

    doubled = attrs.frozen(Doubled)  # an attrs class, like every source
    guard = doubled(x).make_guard(GuardBuilder.EQUALS_MATCH)
    cf = compile_guards([guard], {"x": 4})
    check = in_c(cf)
    assert plans.CALL in [step[0] for step in check.steps]
    assert check({"x": 4}) is True
    assert check({"x": 5}) is False
    assert check({"x": "ab"}) is False


# -- exceptions ------------------------------------------------------------------------------
class Interrupt(BaseException):
    """Not an Exception: ``except Exception`` in the Python check lets it through."""


class Raising:
    def __init__(self, error: BaseException) -> None:
        self.error = error

    @property
    def a(self) -> int:
        raise self.error

    def __eq__(self, other: object) -> bool:
        raise self.error

    __hash__ = object.__hash__


@pytest.mark.parametrize("error", [ValueError("no"), KeyError("k"), RecursionError(),
                                   StopIteration(), MemoryError()])
def test_an_exception_in_a_step_makes_the_check_false(error: BaseException) -> None:
    cf = compile_guards([AttrSource(x, "a").make_guard(GuardBuilder.EQUALS_MATCH)],
                        {"x": Slots(1)})
    check = in_c(cf)
    assert check({"x": Raising(error)}) is False
    assert check({"x": Slots(Raising(error))}) is False  # from __eq__: not equal


@pytest.mark.parametrize("error", [Interrupt(), KeyboardInterrupt(), SystemExit(3),
                                   GeneratorExit()])
def test_a_base_exception_propagates_unchanged(error: BaseException) -> None:
    cf = compile_guards([AttrSource(x, "a").make_guard(GuardBuilder.EQUALS_MATCH)],
                        {"x": Slots(1)})
    for check in (in_c(cf), cf.python_check, cf.check):
        with pytest.raises(type(error)) as info:
            check({"x": Raising(error)})
        assert info.value is error


def _equals_step_on_x_a(target: Any) -> Any:
    """An evaluator of ``type(x) is Slots`` then ``x.a is target or (type(x.a) is
    type(target) and x.a == target)``, for any ``target`` (EQUALS on a user's class)."""
    holder = Slots(target)
    plan = plans.build_plan(compile_guards(
        [AttrSource(x, "a").make_guard(GuardBuilder.TYPE_MATCH)], {"x": holder}).checks, "t")
    read_a = [step for step in plan.steps if step[0] == plans.ATTR]
    steps = ((plans.LOCAL, 0, -1, "x", None, 0, ()), *read_a,
             (plans.EQUALS, 0, 1, target, type(target), 0, ()))
    return _module().Evaluator(steps, plan.registers)


def test_a_check_called_again_from_inside_itself_answers() -> None:
    """A user's __eq__ may run the same check: the evaluator keeps no state across calls."""
    inner: list[bool] = []

    class Reentrant:
        def __eq__(self, other: object) -> bool:
            inner.append(check({"x": Slots(target)}))  # identical: no __eq__ again
            inner.append(check({"x": Slots(1)}))
            return True

        __hash__ = object.__hash__

    target = Reentrant()
    check = _equals_step_on_x_a(target)
    assert check({"x": Slots(target)}) is True  # identity: no __eq__
    assert inner == []
    assert check({"x": Slots(Reentrant())}) is True  # __eq__, which checks twice
    assert inner == [True, False]


def test_a_check_recursing_without_end_through_eq_is_false() -> None:
    calls: list[int] = []

    class Recursing:
        def __eq__(self, other: object) -> bool:
            calls.append(1)
            return bool(check({"x": Slots(Recursing())}))

        __hash__ = object.__hash__

    check = _equals_step_on_x_a(Recursing())
    assert check({"x": Slots(Recursing())}) is False  # RecursionError in the end
    assert len(calls) > 10


def test_the_evaluator_keeps_no_reference_to_what_it_read() -> None:
    class Value:
        pass

    value = Value()
    cf = compile_guards([AttrSource(x, "a").make_guard(GuardBuilder.TYPE_MATCH),
                         GetItemSource(y, 0).make_guard(GuardBuilder.TYPE_MATCH)],
                        {"x": Slots(value), "y": [value]})
    check = in_c(cf)
    before = sys.getrefcount(value)
    for _ in range(1000):
        assert check({"x": Slots(value), "y": [value]}) is True
        assert check({"x": Slots(value), "y": {}}) is False
    gc.collect()
    assert sys.getrefcount(value) == before
    ref = weakref.ref(value)
    del value, check, cf
    gc.collect()
    assert ref() is None


def test_an_evaluator_in_a_cycle_is_collected() -> None:
    class Node:
        pass

    node = Node()
    check = in_c(compile_guards([x.make_guard(GuardBuilder.ID_MATCH)], {"x": node}))
    node.check = check  # type: ignore[attr-defined]  # node -> check -> node
    ref = weakref.ref(node)
    del node, check
    gc.collect()
    assert ref() is None


# -- plans it refuses ---------------------------------------------------------------------
@pytest.mark.parametrize(("steps", "registers", "message"), [
    ((("x",),), 1, "a tuple of 7"),
    (((plans.ATTR, 5, 0, "a", None, 0, ()),), 1, "register out of range"),
    (((plans.ATTR, 0, -1, "a", None, 0, ()),), 1, "register out of range"),
    (((99, 0, 0, None, None, 0, ()),), 1, "unknown code"),
    (((plans.PRED, 0, 0, "not callable", None, 0, (0,)),), 1, "not callable"),
    (((plans.IS_REG, 0, 0, None, None, 0, ()),), 1, "wrong number of registers"),
    (((plans.PRED, 0, 0, len, None, 0, (3,)),), 1, "register out of range"),
    (((plans.LOCAL, 0, -1, "x", None, 0, [0]),), 1, "args must be a tuple"),
])
def test_a_malformed_plan_is_refused_when_built(
    steps: tuple[Any, ...], registers: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _module().Evaluator(steps, registers)


def test_the_evaluator_takes_its_arguments_as_def_check_l_g_none() -> None:
    check = in_c(compile_guards([x.make_guard(GuardBuilder.TYPE_MATCH)], {"x": 1}))
    assert check({"x": 1}) is True and check({"x": 1}, None) is True
    assert check(L={"x": 1}) is True
    for args, kwargs, error in [
        ((), {}, "missing 1 required positional argument: 'L'"),
        (({}, None, None), {}, "takes from 1 to 2 positional arguments but 3 were given"),
        (({},), {"L": {}}, "multiple values for argument 'L'"),
        (({},), {"H": {}}, "unexpected keyword argument 'H'"),
    ]:
        with pytest.raises(TypeError, match=error):
            check(*args, **kwargs)


def test_frames_that_are_not_dicts_are_read_as_mappings() -> None:
    check = in_c(compile_guards([x.make_guard(GuardBuilder.EQUALS_MATCH)], {"x": 1}))
    assert check(collections.ChainMap({}, {"x": 1})) is True
    assert check(types.MappingProxyType({"x": 2})) is False
    assert check(collections.defaultdict(int)) is False  # a dict subclass: __missing__ runs
    assert check(None) is False


def test_a_plan_runs_the_checks_in_the_order_of_the_python_text() -> None:
    """A value's own checks run before the paths below it, cheapest first."""
    order: list[str] = []

    class Watched:
        def __getattribute__(self, name: str) -> Any:
            order.append(name)
            return object.__getattribute__(self, name)

    class Inner:
        def __init__(self) -> None:
            self.b = 1

    watched = Watched()
    watched.a = Inner()  # type: ignore[attr-defined]
    watched.c = 2  # type: ignore[attr-defined]
    guard_list = [
        AttrSource(AttrSource(x, "a"), "b").make_guard(GuardBuilder.EQUALS_MATCH),
        AttrSource(x, "c").make_guard(GuardBuilder.EQUALS_MATCH),
        AttrSource(x, "a").make_guard(GuardBuilder.TYPE_MATCH),
    ]
    cf = compile_guards(guard_list, {"x": watched})
    order.clear()
    assert in_c(cf)({"x": watched}) is True
    in_c_order = list(order)
    order.clear()
    assert cf.python_check({"x": watched}) is True
    assert in_c_order == order


def test_the_plan_has_one_register_per_depth_and_one_per_value_compared_across_paths() -> None:
    deep: Source = x
    for _ in range(5):
        deep = GetItemSource(deep, 0)
    value: Any = 7
    for _ in range(5):
        value = [value]
    cf = compile_guards([deep.make_guard(GuardBuilder.EQUALS_MATCH),
                         x.make_guard(GuardBuilder.DUPLICATE_INPUT, source_b=y)],
                        {"x": value, "y": value})
    plan = plans.build_plan(cf.checks, "t")
    assert plan.registers == 6 + 2  # depths 0..5, then x and y kept for the `is`
    assert in_c(cf)({"x": value, "y": value}) is True
    assert in_c(cf)({"x": value, "y": [[[[[7]]]]]}) is False


# -- the same reads, in the same order, as the Python text -------------------------------
READS: list[tuple[int, str]] = []


class Logged:
    """Every attribute read is logged (the object, the name), as a property's effects."""

    def __getattribute__(self, name: str) -> Any:
        READS.append((id(self), name))
        return object.__getattribute__(self, name)


leaves = st.one_of(st.integers(-3, 3), st.sampled_from(["a", "b", ""]), st.none(),
                   st.booleans())


def _logged_tree(draw: st.DrawFn, depth: int) -> Logged:
    node = Logged()
    for i in range(draw(st.integers(0, 6))):
        if depth < 2 and draw(st.booleans()):
            setattr(node, f"a{i}", _logged_tree(draw, depth + 1))
        else:
            setattr(node, f"a{i}", draw(leaves))
    return node


def _paths(source: Source, value: Any) -> list[tuple[Source, Any]]:
    found = [(source, value)]
    if type(value) is Logged:
        for name, item in vars(value).items():
            found += _paths(AttrSource(source, name), item)
    return found


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_the_evaluator_reads_what_the_python_text_reads_in_its_order(
    data: st.DataObject,
) -> None:
    """Reads have effects (properties): the C steps run the Python text's reads, in its
    order, grouped reads of many scalar siblings included (they are read together first)."""
    f_locals = {f"r{i}": _logged_tree(data.draw, 0) for i in range(data.draw(st.integers(1, 5)))}
    found = [p for name, root in f_locals.items() for p in _paths(LocalSource(name), root)]
    chosen = data.draw(st.lists(st.sampled_from(found), min_size=1, max_size=25))
    guard_list = [
        source.make_guard(GuardBuilder.TYPE_MATCH if type(value) is Logged
                          else GuardBuilder.EQUALS_MATCH)
        for source, value in chosen
    ]
    pairs = [p for p in found if type(p[1]) is Logged]
    if len(pairs) >= 2 and data.draw(st.booleans()):
        a, b = data.draw(st.sampled_from(pairs)), data.draw(st.sampled_from(pairs))
        if a[1] is b[1] and a[0] != b[0]:
            guard_list.append(a[0].make_guard(GuardBuilder.DUPLICATE_INPUT, source_b=b[0]))
    cf = compile_guards(guard_list, f_locals)
    check = in_c(cf)
    for _ in range(data.draw(st.integers(0, 3)) + 1):
        READS.clear()
        verdict = check(f_locals)
        in_c_reads = list(READS)
        READS.clear()
        assert cf.python_check(f_locals) is verdict
        assert in_c_reads == READS
        source, _ = data.draw(st.sampled_from(found))
        if isinstance(source, AttrSource):  # change one value in place
            try:
                owner = source.base.get(f_locals)
            except AttributeError:  # an earlier change cut the path
                continue
            if type(owner) is Logged:
                setattr(owner, source.member, data.draw(leaves))


def test_many_scalar_siblings_are_all_read_before_any_is_compared() -> None:
    """The Python text reads four or more scalar siblings with one attrgetter: a read
    that changes another sibling is seen by both paths alike."""

    class Tricky:
        def __init__(self) -> None:
            self._a, self.b, self.c, self.d = 1, 2, 3, 4

        @property
        def a(self) -> int:
            return self._a

        @property
        def e(self) -> int:  # read last, changes a: too late for the comparison of a
            self._a = 99
            return 5

    guard_list = [AttrSource(x, name).make_guard(GuardBuilder.EQUALS_MATCH) for name in "abcde"]
    cf = compile_guards(guard_list, {"x": types.SimpleNamespace(a=1, b=2, c=3, d=4, e=5)})
    for check in (in_c(cf), cf.python_check):
        assert check({"x": Tricky()}) is True
    # Three siblings are not grouped: read in the order the guards came, e first.
    cf = compile_guards([guard_list[4], guard_list[0], guard_list[1]],
                        {"x": types.SimpleNamespace(a=1, b=2, e=5)})
    for check in (in_c(cf), cf.python_check):
        assert check({"x": Tricky()}) is False  # a is read after e: 99


def test_a_register_no_step_wrote_is_refused_when_built() -> None:
    with pytest.raises(ValueError, match="reads a register that no earlier step wrote"):
        _module().Evaluator(((plans.TYPE_IS, 0, 0, int, None, 0, ()),), 1)
    with pytest.raises(ValueError, match="reads a register that no earlier step wrote"):
        _module().Evaluator(((plans.LOCAL, 0, -1, "x", None, 0, ()),
                             (plans.PRED, 0, 0, len, None, 0, (0, 1))), 2)


def test_plan_fields_must_be_ints_so_no_user_code_runs_while_it_is_built() -> None:
    class Index:
        def __index__(self) -> int:
            raise AssertionError("user code ran while a plan was parsed")

    for bad in ((plans.LOCAL, 0, Index(), "x", None, 0, ()),
                (Index(), 0, -1, "x", None, 0, ()),
                (plans.LOCAL, 0, -1, "x", None, Index(), ()),
                (plans.LOCAL, True, -1, "x", None, 0, ())):
        with pytest.raises(ValueError, match="must be an int"):
            _module().Evaluator((bad,), 1)


def test_an_evaluator_is_copied_as_itself_and_weakly_referenced_like_a_function() -> None:


    check = in_c(compile_guards([x.make_guard(GuardBuilder.TYPE_MATCH)], {"x": 1}))
    assert copy.copy(check) is check and copy.deepcopy({"c": check})["c"] is check
    ref = weakref.ref(check)
    assert ref() is check and check.__name__ == "check"
    del check
    gc.collect()
    assert ref() is None


@pytest.mark.parametrize("depth", [50, 300])
def test_deep_paths_compile_on_both_paths(depth: int) -> None:
    """An item path hundreds of steps deep: the Python text stores every few steps
    (CPython refuses expressions nested 200 deep), the evaluator a register per step."""
    source: Source = x
    value: Any = 7
    for _ in range(depth):
        source = GetItemSource(source, 0)
        value = [value]
    cf = compile_guards([source.make_guard(GuardBuilder.EQUALS_MATCH)], {"x": value})
    for check in (cf.check, cf.python_check, in_c(cf)):
        assert check({"x": value}) is True
    changed: Any = 8
    for _ in range(depth):
        changed = [changed]
    for check in (cf.check, cf.python_check, in_c(cf)):
        assert check({"x": changed}) is False


@pytest.mark.parametrize("roots", [4, 5, 40])
def test_roots_that_are_all_scalars_are_read_together(roots: int) -> None:
    """Every root a scalar leaf: the plan's one group is the whole walk."""
    names = [f"x{i}" for i in range(roots)]
    f_locals = {name: i for i, name in enumerate(names)}
    cf = compile_guards([LocalSource(n).make_guard(GuardBuilder.EQUALS_MATCH) for n in names],
                        f_locals)
    plan = plans.build_plan(cf.checks, "t")
    assert plan.registers == roots
    for check in (in_c(cf), cf.check, cf.python_check):
        assert check(f_locals) is True
        assert check({**f_locals, names[-1]: -1}) is False
        assert check({**f_locals, names[0]: True}) is False
