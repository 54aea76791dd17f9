"""Lazy trackers: each inspection installs exactly the guards it needs, and no more."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import guards
from guards import (
    AttrSource,
    GetItemSource,
    GlobalSource,
    LazyTracker,
    LocalSource,
    UntrackableError,
    tracing,
)

Guards = set[tuple[str, str]]
X = "L['x']"


def kinds(tx: guards.TracingContext) -> Guards:
    return {(g.source.name, g.kind) for g in tx.guards}


def names(out: Any) -> Any:
    """``out`` with every tracker replaced by its source's name, for comparison."""
    if isinstance(out, LazyTracker):
        return out.source.name
    if type(out) in (list, tuple):
        return type(out)(names(item) for item in out)
    return out


def verdict(check: guards.CheckFunction, f_locals: dict[str, Any]) -> bool:
    """The fast verdict, after checking that the verbose path agrees with it."""
    fast = check.check(f_locals)
    assert check.check_verbose(f_locals).passed is fast
    return fast


class Obj:
    """A plain object: no ``__bool__``, no ``__len__``, ``==`` is identity."""

    def __init__(self, **attributes: Any) -> None:
        self.__dict__.update(attributes)

    def __repr__(self) -> str:
        return f"Obj({self.__dict__})"


class Truthy:
    def __bool__(self) -> bool:
        return True


class Sized:
    def __len__(self) -> int:
        return 0


class MyInt(int):
    pass


ONE = Obj(a=1)


def case(
    id: str,
    value: Any,
    action: Callable[[LazyTracker], Any],
    expected: Guards,
    result: Any,
    passes: list[Any] = (),  # type: ignore[assignment]
    fails: list[Any] = (),  # type: ignore[assignment]
) -> Any:
    return pytest.param(value, action, expected, result, list(passes), list(fails), id=id)


#: (value of L['x'], inspection, exact guards, its result, other values of L['x']
#: the guards must accept, and values they must reject)
CASES = [
    case("python_type", 3, lambda t: t.python_type(), {(X, "TYPE_MATCH")}, int,
         passes=[4, -7], fails=["3", True, 3.0]),
    case("isinstance", 3, lambda t: t.isinstance(int), {(X, "TYPE_MATCH")}, True,
         passes=[5], fails=[MyInt(3), "s"]),
    case("isinstance-false", "s", lambda t: t.isinstance((int, float)), {(X, "TYPE_MATCH")},
         False, passes=["t"], fails=[1]),
    case("as_constant-int", 3, lambda t: t.as_constant(), {(X, "CONSTANT_MATCH")}, 3,
         passes=[3], fails=[4, 3.0, "3"]),
    case("as_constant-none", None, lambda t: t.as_constant(), {(X, "CONSTANT_MATCH")}, None,
         passes=[None], fails=[0, False]),
    case("as_constant-bool", True, lambda t: t.as_constant(), {(X, "CONSTANT_MATCH")}, True,
         passes=[True], fails=[1, False]),
    case("as_constant-list", [1, "a"], lambda t: t.as_constant(), {(X, "CONSTANT_MATCH")},
         [1, "a"], passes=[[1, "a"]], fails=[[1], (1, "a"), [1, "b"]]),
    case("is_none-true", None, lambda t: t.is_none(), {(X, "NONE_MATCH")}, True,
         passes=[None], fails=[0, False]),
    case("is_none-false", 0, lambda t: t.is_none(), {(X, "NOT_NONE_MATCH")}, False,
         passes=[1, "s", ONE], fails=[None]),
    case("truthy-none", None, lambda t: t.truthy(), {(X, "NONE_MATCH")}, False,
         passes=[None], fails=[0]),
    case("truthy-bool", True, lambda t: t.truthy(), {(X, "BOOL_MATCH")}, True,
         passes=[True], fails=[False, 1]),
    case("truthy-list", [1], lambda t: t.truthy(), {(X, "SEQUENCE_LENGTH")}, True,
         passes=[[9]], fails=[[], (1,)]),
    case("truthy-str", "", lambda t: t.truthy(), {(X, "SEQUENCE_LENGTH")}, False,
         passes=[""], fails=["a", b""]),
    case("truthy-dict", {}, lambda t: t.truthy(), {(X, "SEQUENCE_LENGTH")}, False,
         passes=[{}], fails=[{"a": 1}]),
    case("truthy-int", 0, lambda t: t.truthy(), {(X, "CONSTANT_MATCH")}, False,
         passes=[0], fails=[1, 0.0, False]),
    case("truthy-float", 2.5, lambda t: t.truthy(), {(X, "CONSTANT_MATCH")}, True,
         passes=[2.5], fails=[3.5]),
    case("truthy-plain-object", ONE, lambda t: t.truthy(), {(X, "TYPE_MATCH")}, True,
         passes=[Obj()], fails=[Truthy(), 0]),
    case("len-list", [1, 2, 3], lambda t: t.len(), {(X, "SEQUENCE_LENGTH")}, 3,
         passes=[[4, 5, 6]], fails=[[1, 2], (1, 2, 3)]),
    case("len-dict", {"a": 1}, lambda t: t.len(), {(X, "SEQUENCE_LENGTH")}, 1,
         passes=[{"b": 2}], fails=[{}]),
    case("len-str", "abc", lambda t: t.len(), {(X, "SEQUENCE_LENGTH")}, 3,
         passes=["xyz"], fails=["ab", b"abc"]),
    case("hasattr-present", ONE, lambda t: t.hasattr("a"), {("L['x'].a", "HASATTR")}, True,
         passes=[Obj(a=2)], fails=[Obj()]),
    case("hasattr-absent", ONE, lambda t: t.hasattr("b"), {("L['x'].b", "HASATTR")}, False,
         passes=[Obj(a=5)], fails=[Obj(b=1)]),
    case("hasattr-odd-name", ONE, lambda t: t.hasattr("a b"),
         {("getattr(L['x'], 'a b')", "HASATTR")}, False,
         passes=[Obj()], fails=[Obj(**{"a b": 1})]),
    case("identity", ONE, lambda t: t.identity(), {(X, "ID_MATCH")}, ONE,
         passes=[ONE], fails=[Obj(a=1)]),
    case("is-value", ONE, lambda t: t.is_(ONE), {(X, "ID_MATCH")}, True,
         passes=[ONE], fails=[Obj(a=1)]),
    case("is-none", ONE, lambda t: t.is_(None), {(X, "ID_MATCH")}, False,
         passes=[ONE], fails=[None]),
    case("attr-alone", ONE, lambda t: t.attr("a"), set(), "L['x'].a",
         passes=[Obj(), None, 3]),
    case("attr-then-constant", ONE, lambda t: t.attr("a").as_constant(),
         {("L['x'].a", "CONSTANT_MATCH")}, 1,
         passes=[Obj(a=1, b=2)], fails=[Obj(a=2), Obj(), None]),
    case("attr-then-type", ONE, lambda t: t.attr("a").python_type(),
         {("L['x'].a", "TYPE_MATCH")}, int, passes=[Obj(a=9)], fails=[Obj(a="1")]),
    case("item-alone", {"k": 1}, lambda t: t.item("k"), set(), "L['x']['k']",
         passes=[{}, [], None]),
    case("item-then-constant", {"k": 1, "j": 2}, lambda t: t.item("k").as_constant(),
         {("L['x']['k']", "CONSTANT_MATCH")}, 1,
         passes=[{"k": 1}, {"k": 1, "z": 0}], fails=[{"k": 2}, {}, {"j": 2}]),
    case("item-then-len", [[1, 2]], lambda t: t.item(0).len(),
         {("L['x'][0]", "SEQUENCE_LENGTH")}, 2,
         passes=[[[3, 4], 5]], fails=[[[1]], []]),
    case("item-negative", [1, 2], lambda t: t.item(-1).as_constant(),
         {("L['x'][-1]", "CONSTANT_MATCH")}, 2, passes=[[0, 0, 2]], fails=[[2, 1]]),
    case("item-slice", [1, 2], lambda t: t.item(slice(0, 1)).as_constant(),
         {("L['x'][slice(0, 1, None)]", "CONSTANT_MATCH")}, [1],
         passes=[[1, 3]], fails=[[2, 2], (1, 2)]),
    case("item-tuple-key", {(1, "a"): 5}, lambda t: t.item((1, "a")).as_constant(),
         {("L['x'][(1, 'a')]", "CONSTANT_MATCH")}, 5,
         passes=[{(1, "a"): 5, 2: 0}], fails=[{(1, "a"): 6}]),
    case("keys", {"a": 1, "b": 2}, lambda t: t.keys(), {(X, "DICT_KEYS_MATCH")}, ["a", "b"],
         passes=[{"a": 9, "b": 9}], fails=[{"b": 2, "a": 1}, {"a": 1}, {"a": 1, "b": 2, "c": 3}]),
    case("items", {"a": 1, "b": 2}, lambda t: t.items(), {(X, "DICT_KEYS_MATCH")},
         [("a", "L['x']['a']"), ("b", "L['x']['b']")],
         passes=[{"a": "z", "b": None}], fails=[{"a": 1}]),
    case("iterate-list", [1, 2], lambda t: list(t.iterate()), {(X, "SEQUENCE_LENGTH")},
         ["L['x'][0]", "L['x'][1]"], passes=[[3, 4]], fails=[[1], (1, 2)]),
    case("iterate-tuple", (1, 2), lambda t: list(t), {(X, "SEQUENCE_LENGTH")},
         ["L['x'][0]", "L['x'][1]"], passes=[("a", "b")], fails=[[1, 2], (1, 2, 3)]),
    case("iterate-dict", {"a": 1}, lambda t: list(t), {(X, "DICT_KEYS_MATCH")}, ["a"],
         passes=[{"a": 2}], fails=[{"b": 1}]),
    case("iterate-str", "ab", lambda t: list(t), {(X, "SEQUENCE_LENGTH")},
         ["L['x'][0]", "L['x'][1]"], passes=["cd"], fails=["abc"]),
    case("contains-present", {"a": 1}, lambda t: t.contains("a"),
         {("L['x']['a']", "DICT_CONTAINS")}, True,
         passes=[{"a": 2, "b": 3}], fails=[{"b": 1}]),
    case("contains-absent", {"a": 1}, lambda t: t.contains("z"),
         {("L['x']['z']", "DICT_CONTAINS")}, False,
         passes=[{"b": 1}], fails=[{"z": 0}]),
    case("contains-list", [1, 2], lambda t: t.contains(2), {(X, "CONSTANT_MATCH")}, True,
         passes=[[1, 2]], fails=[[1, 3]]),
    case("bind", lambda: 0, lambda t: t.bind().arguments, {(X, "CLOSURE_MATCH")}, {},
         passes=[], fails=[lambda: 0, len]),
    case("peek", ONE, lambda t: t.peek(), set(), ONE, passes=[None]),
    case("peek_type", ONE, lambda t: t.peek_type(), set(), Obj, passes=[None]),
    case("repr", ONE, lambda t: repr(t), set(), "LazyTracker(L['x'])", passes=[None]),
    case("peek-deep", {"a": [ONE]}, lambda t: t.item("a").item(0).attr("a").peek(), set(), 1,
         passes=[None]),
]


@pytest.mark.parametrize(("value", "action", "expected", "result", "passes", "fails"), CASES)
def test_inspection_installs_exactly(
    value: Any,
    action: Callable[[LazyTracker], Any],
    expected: Guards,
    result: Any,
    passes: list[Any],
    fails: list[Any],
) -> None:
    with tracing({"x": value}) as tx:
        out = action(tx.local("x"))
    assert kinds(tx) == expected
    assert names(out) == result
    check = tx.compile()
    assert verdict(check, {"x": value})
    for other in passes:
        assert verdict(check, {"x": other}), other
    for other in fails:
        assert not verdict(check, {"x": other}), other


# ------------------------------------------------------------- nothing installed
def test_making_trackers_installs_nothing() -> None:
    with tracing({"x": {"a": [ONE]}}, {"g": 1}) as tx:
        t = tx.local("x")
        t.item("a").item(0).attr("a")
        tx.global_var("g")
        tx.track(AttrSource(LocalSource("x"), "missing_but_never_read"))
    assert tx.guards == ()


def test_one_tracker_per_source() -> None:
    with tracing({"x": Obj(a={"k": [1, 2]})}) as tx:
        t = tx.local("x")
        assert tx.local("x") is t
        assert tx.track(LocalSource("x")) is t
        assert t.attr("a") is t.attr("a")
        assert t.attr("a") is tx.track(AttrSource(LocalSource("x"), "a"))
        lst = t.attr("a").item("k")
        assert lst.item(0) is lst.item(0)
        assert list(lst) == [lst.item(0), lst.item(1)]
        assert t.attr("a").items() == [("k", lst)]
        assert tx.global_var("x") is not t


def test_keys_one_and_true_are_different_trackers() -> None:
    """``d[1]`` and ``d[True]`` read the same entry but are different paths."""
    with tracing({"x": {1: "a"}}) as tx:
        t = tx.local("x")
        one, true = t.item(1), t.item(True)
        assert one is not true
        assert (one.source.name, true.source.name) == ("L['x'][1]", "L['x'][True]")


def test_only_the_inspected_leaf_is_guarded_on_a_long_path() -> None:
    value = Obj(a={"k": [0, "v"], "other": 1}, b=2)
    with tracing({"x": value}) as tx:
        assert tx.local("x").attr("a").item("k").item(1).as_constant() == "v"
    assert kinds(tx) == {("L['x'].a['k'][1]", "CONSTANT_MATCH")}
    check = tx.compile()
    assert verdict(check, {"x": Obj(a={"k": (None, "v", 3)}, b=7)})
    assert not verdict(check, {"x": Obj(a={"k": [0, "w"]})})
    assert not verdict(check, {"x": Obj(a={"k": [0]})})
    assert not verdict(check, {"x": Obj(b={"k": [0, "v"]})})


def test_child_inspection_does_not_guard_parent() -> None:
    with tracing({"x": {"k": 1}}) as tx:
        tx.local("x").item("k").python_type()
    assert kinds(tx) == {("L['x']['k']", "TYPE_MATCH")}


def test_global_tracker() -> None:
    with tracing({}, {"DEBUG": False}) as tx:
        assert tx.global_var("DEBUG").as_constant() is False
    assert kinds(tx) == {("G['DEBUG']", "CONSTANT_MATCH")}
    assert {g.source for g in tx.guards} == {GlobalSource("DEBUG")}
    check = tx.compile()
    assert check.check({}, {"DEBUG": False})
    assert not check.check({}, {"DEBUG": True})


# ---------------------------------------------------------------- is_ on trackers
def test_is_two_trackers_of_one_object_installs_duplicate_input() -> None:
    shared = [1]
    with tracing({"x": shared, "y": shared}) as tx:
        assert tx.local("x").is_(tx.local("y")) is True
    assert kinds(tx) == {(X, "DUPLICATE_INPUT")}
    (guard,) = tx.guards
    assert guard.arguments == {"source_b": LocalSource("y")}
    check = tx.compile()
    other = [2, 3]
    assert verdict(check, {"x": other, "y": other})
    assert not verdict(check, {"x": [1], "y": [1]})


def test_is_two_trackers_of_different_objects_pins_both() -> None:
    a, b = Obj(), Obj()
    with tracing({"x": a, "y": b}) as tx:
        assert tx.local("x").is_(tx.local("y")) is False
    assert kinds(tx) == {(X, "ID_MATCH"), ("L['y']", "ID_MATCH")}
    check = tx.compile()
    assert verdict(check, {"x": a, "y": b})
    assert not verdict(check, {"x": a, "y": a})


# ------------------------------------------------------------- missing things
def test_missing_attribute_installs_hasattr_then_raises() -> None:
    with tracing({"x": ONE}) as tx, pytest.raises(AttributeError, match="zz"):
        tx.local("x").attr("zz")
    assert kinds(tx) == {("L['x'].zz", "HASATTR")}
    check = tx.compile()
    assert verdict(check, {"x": Obj(a=2)})
    assert verdict(check, {"x": 5})
    assert not verdict(check, {"x": Obj(zz=0)})


def test_missing_attribute_on_none() -> None:
    with tracing({"x": None}) as tx, pytest.raises(AttributeError):
        tx.local("x").attr("a")
    assert kinds(tx) == {("L['x'].a", "HASATTR")}
    assert not verdict(tx.compile(), {"x": ONE})


def test_missing_key_installs_dict_contains_then_raises() -> None:
    with tracing({"x": {"a": 1}}) as tx, pytest.raises(KeyError, match="zz"):
        tx.local("x").item("zz")
    # The type too: `key not in base` says `base[key]` raises of a mapping only.
    assert kinds(tx) == {("L['x']['zz']", "DICT_CONTAINS"), (X, "TYPE_MATCH")}
    check = tx.compile()
    assert verdict(check, {"x": {"a": 2, "b": 3}})
    assert verdict(check, {"x": {}})
    assert not verdict(check, {"x": {"a": 1, "zz": 0}})
    assert not verdict(check, {"x": ["a"]})


def test_index_out_of_range_installs_length_then_raises() -> None:
    with tracing({"x": [1, 2]}) as tx, pytest.raises(IndexError):
        tx.local("x").item(2)
    assert kinds(tx) == {(X, "SEQUENCE_LENGTH")}
    check = tx.compile()
    assert verdict(check, {"x": [5, 6]})
    assert not verdict(check, {"x": [1, 2, 3]})
    assert not verdict(check, {"x": (1, 2)})


def test_index_out_of_range_on_string() -> None:
    with tracing({"x": "ab"}) as tx, pytest.raises(IndexError):
        tx.local("x").item(5)
    assert kinds(tx) == {(X, "SEQUENCE_LENGTH")}


def test_item_with_wrong_key_type_guards_the_type() -> None:
    """A TypeError from ``x[key]`` (a str index into a list) depends on the type: TYPE_MATCH."""
    with tracing({"x": [1, 2]}) as tx, pytest.raises(TypeError, match="indices"):
        tx.local("x").item("k")
    assert kinds(tx) == {(X, "TYPE_MATCH")}
    check = tx.compile()
    assert verdict(check, {"x": [3]})
    assert not verdict(check, {"x": {"k": 1}})


def test_item_on_unsubscriptable_guards_the_type() -> None:
    """Subscripting an int raises TypeError; the guard set must notice a dict there later."""
    with tracing({"x": 3}) as tx, pytest.raises(TypeError, match="subscriptable"):
        tx.local("x").item(0)
    assert kinds(tx) == {(X, "TYPE_MATCH")}
    assert not verdict(tx.compile(), {"x": {0: "a"}})


def test_unhashable_key_is_rejected_before_anything_is_installed() -> None:
    with (
        tracing({"x": {"a": 1}}) as tx,
        pytest.raises(guards.GuardsTypeError, match="hashable"),
    ):
        tx.local("x").item(["a"])
    assert tx.guards == ()


# ------------------------------------------------------------------ refusals
@pytest.mark.parametrize("value", [Truthy(), Sized(), MyInt(0)], ids=repr)
def test_truthy_with_user_truth_hook_is_untrackable(value: Any) -> None:
    with (
        tracing({"x": value}) as tx,
        pytest.raises(UntrackableError, match=r"L\['x'\]") as info,
    ):
        tx.local("x").truthy()
    assert isinstance(info.value, guards.GuardsError)
    assert isinstance(info.value, TypeError)
    assert tx.guards == ()


def test_keys_of_non_mapping_is_refused() -> None:
    """``keys()`` of a list used to install a DICT_KEYS_MATCH that could not be compiled."""
    with tracing({"x": [1, 2]}) as tx:
        with pytest.raises(UntrackableError, match="mapping"):
            tx.local("x").keys()
        with pytest.raises(UntrackableError, match="mapping"):
            tx.local("x").items()
    assert tx.guards == ()
    tx.compile()


@pytest.mark.parametrize("value", [{1, 2}, ONE, 3], ids=repr)
def test_iterating_untrackable_values_is_refused(value: Any) -> None:
    with tracing({"x": value}) as tx, pytest.raises(UntrackableError):
        list(tx.local("x"))
    assert tx.guards == ()


def test_contains_on_plain_object_is_refused() -> None:
    with tracing({"x": ONE}) as tx, pytest.raises(UntrackableError):
        tx.local("x").contains("a")
    assert tx.guards == ()


@pytest.mark.parametrize("value", [len, ONE, Obj.__init__.__get__(ONE)], ids=repr)
def test_bind_of_non_python_function_is_refused(value: Any) -> None:
    with tracing({"x": value}) as tx, pytest.raises(UntrackableError):
        tx.local("x").bind()
    assert tx.guards == ()


def test_repr_never_forces_a_missing_value() -> None:
    with tracing({}) as tx:
        t = tx.track(GetItemSource(LocalSource("nowhere"), 0))
        assert repr(t) == "LazyTracker(L['nowhere'][0])"
    assert tx.guards == ()


def test_iteration_installs_length_eagerly() -> None:
    """``iterate()`` guards the length when called, not when the iterator is first advanced."""
    with tracing({"x": [1, 2]}) as tx:
        tx.local("x").iterate()
    assert kinds(tx) == {(X, "SEQUENCE_LENGTH")}


def test_track_needs_a_source() -> None:
    with tracing({"x": 1}) as tx, pytest.raises(guards.GuardsTypeError, match="source"):
        tx.track("L['x']")  # type: ignore[arg-type]
    assert tx.guards == ()


def test_tracer_authors_read_unguarded_then_install_what_they_decide_on() -> None:
    """``unguarded_value`` installs nothing; ``install`` installs the named kind, on the
    tracker's source or on a path through it, into the tracker's ``context``."""
    with tracing({"x": Obj(mode="fast")}) as tx:
        t = tx.local("x")
        assert t.context is tx
        assert t.unguarded_value().mode == "fast"
        assert kinds(tx) == set()
        t.install(guards.GuardBuilder.TYPE_MATCH)
        t.install(guards.GuardBuilder.HASATTR, AttrSource(t.source, "mode"))
    assert kinds(tx) == {(X, "TYPE_MATCH"), ("L['x'].mode", "HASATTR")}


def test_unguarded_value_of_an_empty_cell_guards_it_empty_and_raises() -> None:
    """An empty closure cell reads as Python reports it: ``EmptyCellError``, ``CELL_EMPTY``."""

    def outer() -> Callable[[], Any]:
        def inner() -> Any:
            return late

        return inner
        late = 1  # never runs: the cell stays empty

    with tracing({"f": outer()}) as tx:
        cell = tx.track(AttrSource(GetItemSource(guards.ClosureSource(LocalSource("f")), 0),
                                   "cell_contents"))
        with pytest.raises(guards.EmptyCellError, match="'late'"):
            cell.unguarded_value()
    assert ("L['f'].__closure__[0].cell_contents", "CELL_EMPTY") in kinds(tx)
