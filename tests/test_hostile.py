"""Hostile values: guards build or refuse cleanly, checks never raise, explanations explain.

Each hostile value goes through three doors:

* ``compile_guards``: building works or raises :class:`GuardBuildError` naming the source
  and the reason; ``check`` returns a bool and never raises; ``check_verbose`` agrees
  and explains every failure;
* lazy trackers (``guards.tracing``): an inspection answers, or raises the user's own
  error or :class:`UntrackableError`, and what was installed compiles or raises
  :class:`GuardBuildError`;
* ``@guards.specialize``: every call returns (or raises) exactly what a plain call
  does, so no stale hit and no internal exception; a value it cannot follow runs
  uncached, with a reason.
"""

from __future__ import annotations

import math
import types
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

import attrs
import pytest

import guards
from guards import (
    AttrSource,
    CheckFunction,
    ClosureSource,
    CodeSource,
    DefaultsSource,
    GetItemSource,
    Guard,
    GuardBuilder,
    GuardBuildError,
    LocalSource,
    Source,
    TracingContext,
    UntrackableError,
    compile_guards,
)

x = LocalSource("x")


pytestmark = pytest.mark.usefixtures("quiet_recompiles")


# ------------------------------------------------------------------------ hostile values
class RaisingProperty:
    def __init__(self, ok: bool = True) -> None:
        self.ok = ok

    @property
    def p(self) -> int:
        if not self.ok:
            raise RuntimeError("property exploded")
        return 1


class CountingProperty:
    """A getter with a side effect: it counts its reads (and always gives 1)."""

    reads = 0

    @property
    def p(self) -> int:
        type(self).reads += 1
        return 1


class DriftingProperty:
    """A getter whose value changes at every read: no guard can hold on it."""

    def __init__(self) -> None:
        self.n = 0

    @property
    def p(self) -> int:
        self.n += 1
        return self.n


class GetattrRaises:
    def __getattr__(self, name: str) -> Any:
        raise KeyError(name)  # not an AttributeError: hasattr() does not swallow it


class GetattrComputes:
    calls = 0

    def __getattr__(self, name: str) -> Any:
        type(self).calls += 1
        if name == "size":
            return 3
        raise AttributeError(name)


class EqRaises:
    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("no equality here")


class ArrayLike:
    """``==`` is elementwise and its result has no truth, as in NumPy."""

    __hash__ = None  # type: ignore[assignment]

    def __init__(self, *items: int) -> None:
        self.items = list(items)

    def __eq__(self, other: object) -> ArrayLike:  # type: ignore[override]
        theirs = other.items if isinstance(other, ArrayLike) else [other] * len(self.items)
        return ArrayLike(*(int(a == b) for a, b in zip(self.items, theirs, strict=False)))

    def __bool__(self) -> bool:
        raise ValueError("the truth value of an array with more than one element is ambiguous")

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        return f"ArrayLike{tuple(self.items)}"


class LenRaises:
    def __init__(self, n: int | None = None) -> None:
        self.n = n

    def __len__(self) -> int:
        if self.n is None:
            raise RuntimeError("no length")
        return self.n


class HashRaisesLater:
    """Hashable while ``broken`` is false; afterwards its __hash__ raises."""

    broken = False

    def __hash__(self) -> int:
        if HashRaisesLater.broken:
            raise RuntimeError("hash is gone")
        return 7

    def __repr__(self) -> str:
        return "HashRaisesLater()"


class ClassLies:
    """Claims to be an int."""

    def __init__(self, n: int = 1) -> None:
        self.n = n

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return int


class ClassRaises:
    def __init__(self, n: int = 1) -> None:
        self.n = n

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        raise RuntimeError("no class for you")


class Slotted:
    __slots__ = ("a",)

    def __init__(self, *a: int) -> None:
        if a:
            self.a = a[0]


class TagStr(str):
    """A str subclass whose instances carry an attribute."""


class TagInt(int):
    """An int subclass whose instances carry an attribute."""


class SubDict(dict):  # type: ignore[type-arg]
    pass


class SubList(list):  # type: ignore[type-arg]
    pass


def recursive_list() -> list[Any]:
    lst: list[Any] = [1]
    lst.append(lst)
    return lst


def recursive_dict() -> dict[str, Any]:
    d: dict[str, Any] = {"a": 1}
    d["self"] = d
    return d


def closure_over(value: Any) -> types.FunctionType:
    def fn() -> Any:
        return value

    return fn  # type: ignore[return-value]


def closure_over_nothing() -> types.FunctionType:
    def fn() -> Any:
        return value

    if False:
        value = None  # makes `value` a cell variable that is never assigned
    return fn  # type: ignore[return-value]


def with_defaults(defaults: Any) -> types.FunctionType:
    def fn(a: int = 1) -> int:
        return a

    fn.__defaults__ = defaults
    return fn  # type: ignore[return-value]


def with_code_of(other: Callable[..., Any]) -> types.FunctionType:
    def fn(a: int = 1) -> int:
        return a

    fn.__code__ = other.__code__
    return fn  # type: ignore[return-value]


NAN = float("nan")
HUGE = 10**5000  # more digits than str() of an int allows by default
CELL = AttrSource(GetItemSource(ClosureSource(x), 0), "cell_contents")


# ------------------------------------------------------------------------ compile_guards
@attrs.frozen
class Case:
    """Guards built from ``built``; each candidate with its verdict (None: either is fine)."""

    guards: tuple[Guard, ...]
    built: Any
    candidates: tuple[tuple[Any, bool | None], ...] = ()
    #: Words the GuardBuildError must contain; None when building must work.
    build_error: tuple[str, ...] | None = None
    #: Words the explanation of the first failing candidate must contain.
    explains: tuple[str, ...] = ()


def g(source: Source, kind: Any, **args: Any) -> Guard:
    return source.make_guard(kind, **args)


P = AttrSource(x, "p")

CASES: dict[str, Case] = {
    "property raises at build": Case(
        (g(P, GuardBuilder.EQUALS_MATCH),), RaisingProperty(ok=False),
        build_error=("L['x'].p", "RuntimeError", "property exploded"),
    ),
    "property raises at check": Case(
        (g(P, GuardBuilder.EQUALS_MATCH),), RaisingProperty(),
        ((RaisingProperty(ok=False), False), (RaisingProperty(), True)),
        explains=("L['x'].p", "RuntimeError", "property exploded"),
    ),
    "property with a side effect": Case(
        (g(P, GuardBuilder.EQUALS_MATCH),), CountingProperty(),
        ((CountingProperty(), True), (RaisingProperty(), True), (object(), False)),
        explains=("L['x'].p", "AttributeError"),
    ),
    "property that drifts": Case(
        (g(P, GuardBuilder.EQUALS_MATCH),), DriftingProperty(),
        build_error=("reject the values they were built from", "L['x'].p"),
    ),
    "__getattr__ raising KeyError under HASATTR": Case(
        (g(AttrSource(x, "size"), GuardBuilder.HASATTR),), GetattrRaises(),
        build_error=("HASATTR", "L['x'].size", "KeyError"),
    ),
    "__getattr__ raising KeyError at check": Case(
        (g(AttrSource(x, "size"), GuardBuilder.HASATTR),), GetattrComputes(),
        ((GetattrRaises(), False), (GetattrComputes(), True)),
        explains=("hasattr(L['x'], 'size')", "KeyError"),
    ),
    "__getattr__ computing a value": Case(
        (g(AttrSource(x, "size"), GuardBuilder.CONSTANT_MATCH),
         g(AttrSource(x, "other"), GuardBuilder.HASATTR)),
        GetattrComputes(),
        ((GetattrComputes(), True), (types.SimpleNamespace(size=3), True),
         (types.SimpleNamespace(size=3, other=0), False), (GetattrRaises(), False)),
        explains=("hasattr(L['x'], 'other')",),
    ),
    "__eq__ raises": Case(
        (g(x, GuardBuilder.EQUALS_MATCH),), EqRaises(),
        ((EqRaises(), False),),
        explains=("EQUALS_MATCH", "RuntimeError", "no equality here"),
    ),
    "__eq__ elementwise, its truth raises": Case(
        (g(x, GuardBuilder.EQUALS_MATCH),), ArrayLike(1, 2),
        ((ArrayLike(1, 2), False), (ArrayLike(1, 3), False), ([1, 2], False)),
        explains=("EQUALS_MATCH", "ValueError", "ambiguous"),
    ),
    "__eq__ elementwise under SEQUENCE_LENGTH": Case(
        (g(x, GuardBuilder.SEQUENCE_LENGTH),), ArrayLike(1, 2),
        ((ArrayLike(5, 6), True), (ArrayLike(1), False)),
        explains=("len(L['x']) == 2",),
    ),
    "__len__ raises at build": Case(
        (g(x, GuardBuilder.SEQUENCE_LENGTH),), LenRaises(),
        build_error=("SEQUENCE_LENGTH", "L['x']", "RuntimeError", "no length"),
    ),
    "__len__ raises at check": Case(
        (g(x, GuardBuilder.SEQUENCE_LENGTH),), LenRaises(2),
        ((LenRaises(), False), (LenRaises(2), True), (LenRaises(3), False)),
        explains=("len(L['x']) == 2", "RuntimeError"),
    ),
    "__len__ raises under TRUTH_MATCH": Case(
        (g(x, GuardBuilder.TRUTH_MATCH),), [1],
        ((LenRaises(), False), ([2], True), ([], False)),
        explains=("bool(L['x'])", "RuntimeError"),
    ),
    "unhashable value under EQUALS_MATCH": Case(
        (g(x, GuardBuilder.EQUALS_MATCH),), {"a": [1]},
        (({"a": [1]}, True), ({"a": [2]}, False), (ArrayLike(1), False)),
    ),
    "__class__ lies under TYPE_MATCH": Case(
        (g(x, GuardBuilder.TYPE_MATCH),), ClassLies(),
        ((ClassLies(), True), (1, False), (ClassRaises(), False)),
        explains=("type(L['x']) is", "ClassLies", "got int"),
    ),
    "__class__ raises under TYPE_MATCH": Case(
        (g(x, GuardBuilder.TYPE_MATCH),), ClassRaises(),
        ((ClassRaises(), True), (ClassLies(), False)),
        explains=("type(L['x'])", "ClassRaises"),
    ),
    "__class__ raises under EQUALS_MATCH and DICT_KEYS_MATCH": Case(
        (g(x, GuardBuilder.EQUALS_MATCH), g(x, GuardBuilder.DICT_KEYS_MATCH)), {"a": 1},
        ((ClassRaises(), False), (ClassLies(), False), ({"a": 2}, False), ({"a": 1}, True)),
        explains=("DICT_KEYS_MATCH", "type(L['x'])"),
    ),
    "recursive list under EQUALS_MATCH": Case(
        (g(x, GuardBuilder.EQUALS_MATCH),), recursive_list(),
        build_error=("EQUALS_MATCH", "L['x']", "RecursionError"),
    ),
    "recursive list checked against a flat one": Case(
        (g(x, GuardBuilder.EQUALS_MATCH),), [1, [1]],
        ((recursive_list(), False), ([1, [1]], True)),
        explains=("L['x'] == [1, [1]]",),
    ),
    "recursive list under SEQUENCE_LENGTH": Case(
        (g(x, GuardBuilder.SEQUENCE_LENGTH), g(GetItemSource(x, 0), GuardBuilder.EQUALS_MATCH)),
        recursive_list(),
        ((recursive_list(), True), ([1, 2], True), ([1], False), ([2, 2], False)),
        explains=("len(L['x']) == 2",),
    ),
    "recursive dict under DICT_KEYS_MATCH": Case(
        (g(x, GuardBuilder.DICT_KEYS_MATCH),), recursive_dict(),
        ((recursive_dict(), True), ({"a": 0, "self": None}, True), ({"self": 0}, False)),
    ),
    "NaN": Case(
        (g(x, GuardBuilder.EQUALS_MATCH),), NAN,
        ((float("nan"), True), (math.inf, False), (0.0, False), (complex(NAN, 0), False)),
        explains=("L['x']", "nan"),
    ),
    # Inside a container, == compares items by identity first, so [nan] == [nan] only
    # for the same NaN object: a guard that let another NaN match could return a stale
    # `t == (NAN, 1)`.  The same NaN objects in a fresh container do match.
    "NaN inside containers": Case(
        (g(x, GuardBuilder.EQUALS_MATCH),), [NAN, (1.0, {"k": NAN})],
        (([NAN, (1.0, {"k": NAN})], True), ([float("nan"), (1.0, {"k": NAN})], False),
         ([NAN, (1.0, {"k": 0.0})], False), ([1.0, (1.0, {"k": NAN})], False)),
        explains=("L['x'] == [nan",),
    ),
    "huge int": Case(
        (g(x, GuardBuilder.EQUALS_MATCH),), HUGE,
        ((10**5000, True), (HUGE + 1, False), (float(2**1000), False)),
        explains=("int of 16610 bits", "...00000000", "...00000001"),
    ),
    "huge int as a key": Case(
        (g(GetItemSource(x, HUGE), GuardBuilder.CONSTANT_MATCH),
         g(GetItemSource(x, HUGE), GuardBuilder.DICT_CONTAINS)),
        {HUGE: 1},
        (({10**5000: 1}, True), ({HUGE + 1: 1}, False)),
        explains=("L['x'][0x",),
    ),
    "empty closure cell at build": Case(
        (g(CELL, GuardBuilder.EQUALS_MATCH),), closure_over_nothing(),
        build_error=("L['x'].__closure__[0].cell_contents", "ValueError"),
    ),
    "closure cell emptied at check": Case(
        (g(CELL, GuardBuilder.EQUALS_MATCH),), closure_over(1),
        ((closure_over_nothing(), False), (closure_over(1), True), (len, False)),
        explains=("L['x'].__closure__[0].cell_contents", "ValueError"),
    ),
    "CELL_EMPTY": Case(
        (g(CELL, GuardBuilder.CELL_EMPTY),), closure_over_nothing(),
        ((closure_over_nothing(), True), (closure_over(1), False), (3, False)),
        explains=("the cell L['x'].__closure__[0] is empty",),
    ),
    "__defaults__ reassigned to None": Case(
        (g(DefaultsSource(x, 0), GuardBuilder.CONSTANT_MATCH),
         g(x, GuardBuilder.CLOSURE_MATCH)),
        with_defaults((1,)),
        ((with_defaults(None), False), (with_defaults((2,)), False), (with_defaults((1,)), True),
         (with_defaults(()), False)),
        explains=("L['x'].__defaults__[0]", "TypeError"),
    ),
    "__defaults__ of another length": Case(
        (g(AttrSource(x, "__defaults__"), GuardBuilder.SEQUENCE_LENGTH),),
        with_defaults((1,)),
        ((with_defaults((1, 2)), False), (with_defaults(None), False), (with_defaults((3,)), True)),
        explains=("len(L['x'].__defaults__) == 1",),
    ),
    "__code__ reassigned": Case(
        (g(x, GuardBuilder.CLOSURE_MATCH), g(CodeSource(x), GuardBuilder.ID_MATCH)),
        with_defaults((1,)),
        ((with_code_of(lambda a=1: a + 1), False), (with_defaults((1,)), True)),
        explains=("L['x'].__code__ is",),
    ),
    "object without __dict__": Case(
        (g(x, GuardBuilder.ID_MATCH), g(AttrSource(x, "a"), GuardBuilder.HASATTR)),
        object(),
        ((object(), False), (types.SimpleNamespace(), False)),
        explains=("ID_MATCH",),
    ),
    "__slots__, set": Case(
        (g(AttrSource(x, "a"), GuardBuilder.EQUALS_MATCH), g(x, GuardBuilder.TYPE_MATCH)),
        Slotted(1),
        ((Slotted(1), True), (Slotted(), False), (Slotted(2), False),
         (types.SimpleNamespace(a=1), False)),
        explains=("L['x'].a", "AttributeError"),
    ),
    "__slots__, unset": Case(
        (g(AttrSource(x, "a"), GuardBuilder.HASATTR),), Slotted(),
        ((Slotted(), True), (Slotted(1), False)),
        explains=("hasattr(L['x'], 'a') is False",),
    ),
    "dict subclass": Case(
        (g(x, GuardBuilder.EQUALS_MATCH), g(x, GuardBuilder.DICT_KEYS_MATCH)), SubDict(a=1),
        ((SubDict(a=1), True), ({"a": 1}, False), (SubDict(a=2), False)),
        explains=("SubDict",),
    ),
    "list subclass": Case(
        (g(x, GuardBuilder.EQUALS_MATCH), g(x, GuardBuilder.SEQUENCE_LENGTH)), SubList([1]),
        ((SubList([1]), True), ([1], False), (SubList([1, 2]), False)),
        explains=("SubList",),
    ),
    "str subclass": Case(
        (g(x, GuardBuilder.CONSTANT_MATCH),), TagStr("a"),
        ((TagStr("a"), True), ("a", False), (TagStr("b"), False)),
        explains=("TagStr",),
    ),
    "int subclass": Case(
        (g(x, GuardBuilder.CONSTANT_MATCH),), TagInt(1),
        ((TagInt(1), True), (1, False), (True, False), (1.0, False)),
        explains=("TagInt",),
    ),
}


def verdict(check: CheckFunction, f_locals: Mapping[str, Any]) -> bool:
    """check and check_verbose on one frame: they must agree, and a failure must explain."""
    passed = check.check(f_locals)
    assert type(passed) is bool
    result = check.check_verbose(f_locals)
    assert result.passed is passed
    assert bool(result.failures) is not passed
    for failure in result.failures:
        assert "L['x']" in failure.message
        assert failure.guard in check.guards
        str(failure)  # displays every value, hostile or not, without raising
    return passed


@pytest.mark.parametrize("name", list(CASES))
def test_building_works_or_says_why_and_checks_never_raise(name: str) -> None:
    case = CASES[name]
    if case.build_error is not None:
        with pytest.raises(GuardBuildError) as info:
            compile_guards(case.guards, {"x": case.built})
        for word in case.build_error:
            assert word in str(info.value), (word, str(info.value))
        return
    check = compile_guards(case.guards, {"x": case.built})
    assert verdict(check, {"x": case.built}) is True
    explained = False
    for candidate, expected in case.candidates:
        passed = verdict(check, {"x": candidate})
        if expected is not None:
            assert passed is expected, candidate
        if not passed and not explained:
            message = str(check.check_verbose({"x": candidate}))
            for word in case.explains:
                assert word in message, (word, message)
            explained = True
    assert explained or not case.explains
    assert verdict(check, {}) is False  # the local itself is missing


def test_a_hash_that_starts_raising_fails_the_check() -> None:
    """A key whose __hash__ raises after the guard was built makes the check fail."""
    key = HashRaisesLater()
    item = GetItemSource(x, key)
    check = compile_guards(
        [g(item, GuardBuilder.DICT_CONTAINS), g(item, GuardBuilder.EQUALS_MATCH)], {"x": {key: 1}}
    )
    try:
        HashRaisesLater.broken = True
        assert verdict(check, {"x": {}}) is False
        assert "hash is gone" in str(check.check_verbose({"x": {}}))
    finally:
        HashRaisesLater.broken = False
    assert verdict(check, {"x": {key: 1}}) is True


def test_an_unhashable_key_is_refused_when_the_source_is_made() -> None:
    with pytest.raises(guards.GuardsTypeError, match="index must be hashable"):
        GetItemSource(x, ArrayLike(1))


def test_a_key_whose_repr_raises_still_renders() -> None:
    """The name falls back to object.__repr__; the key itself is still the one looked up."""

    class Key:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    key = Key()
    source = GetItemSource(x, key)
    assert source.name.startswith("L['x'][<") and "Key object at 0x" in source.name
    check = compile_guards([g(source, GuardBuilder.EQUALS_MATCH)], {"x": {key: 5}})
    assert verdict(check, {"x": {key: 5}}) is True
    assert verdict(check, {"x": {key: 6}}) is False


def test_property_side_effects_run_once_per_check() -> None:
    """A getter on an access path runs at each check (documented): once, not once per guard."""
    check = compile_guards(
        [g(P, GuardBuilder.EQUALS_MATCH), g(P, GuardBuilder.TYPE_MATCH)], {"x": CountingProperty()}
    )
    before = CountingProperty.reads
    assert check.check({"x": CountingProperty()}) is True
    assert CountingProperty.reads == before + 1


# -------------------------------------------------------------------------- trackers
def test_tracker_on_a_raising_property_raises_the_users_error_and_compiles() -> None:
    with guards.tracing({"x": RaisingProperty(ok=False)}) as tx:
        with pytest.raises(RuntimeError, match="property exploded"):
            tx.local("x").attr("p")
        check = tx.compile()
    assert check.check({"x": RaisingProperty(ok=False)})


def test_tracker_len_that_raises_leaves_a_guard_that_does_not_build() -> None:
    with guards.tracing({"x": LenRaises()}) as tx:
        with pytest.raises(RuntimeError, match="no length"):
            tx.local("x").len()
        with pytest.raises(GuardBuildError, match=r"SEQUENCE_LENGTH.*L\['x'\].*no length"):
            tx.compile()


def test_tracker_isinstance_refuses_a_lying_class() -> None:
    """isinstance() would ask __class__ (user code); the tracker says so instead of guessing."""
    for value in (ClassLies(), ClassRaises()):
        tx = TracingContext({"x": value})
        with pytest.raises(UntrackableError, match="__class__"):
            tx.local("x").isinstance(int)
        assert tx.guards == ()
    tx = TracingContext({"x": ClassLies()})
    assert tx.local("x").python_type() is ClassLies  # type() is never fooled


def test_tracker_isinstance_refuses_a_custom_instancecheck() -> None:
    class Meta(type):
        def __instancecheck__(cls, obj: object) -> bool:
            return getattr(obj, "n", 0) > 0

    class Positive(metaclass=Meta):
        pass

    tx = TracingContext({"x": types.SimpleNamespace(n=1)})
    with pytest.raises(UntrackableError, match="__instancecheck__"):
        tx.local("x").isinstance(Positive)
    tx = TracingContext({"x": {}})
    assert tx.local("x").isinstance(Mapping) is True  # ABCs decide by the type
    assert [guard.kind for guard in tx.guards] == ["TYPE_MATCH"]


def test_tracker_truth_of_an_array_like_is_untrackable() -> None:
    tx = TracingContext({"x": ArrayLike(1, 2)})
    with pytest.raises(UntrackableError, match="__bool__ or __len__"):
        tx.local("x").truthy()


def test_tracker_keys_of_a_mapping_whose_iteration_raises() -> None:
    class BadMapping(Mapping[str, int]):
        def __getitem__(self, key: str) -> int:
            return 1

        def __len__(self) -> int:
            return 1

        def __iter__(self) -> Iterator[str]:
            raise RuntimeError("no keys")

    with guards.tracing({"x": BadMapping()}) as tx:
        with pytest.raises(RuntimeError, match="no keys"):
            tx.local("x").keys()
        with pytest.raises(GuardBuildError, match=r"DICT_KEYS_MATCH.*no keys"):
            tx.compile()


def test_tracker_on_a_recursive_list() -> None:
    lst = recursive_list()
    with guards.tracing({"x": lst}) as tx:
        tracked = tx.local("x")
        assert tracked.len() == 2
        assert tracked.item(1).item(1).len() == 2
        check = tx.compile()
    assert check.check({"x": recursive_list()})
    assert not check.check({"x": [1, [1, 2, 3]]})


def test_tracker_on_an_empty_cell_guards_that_it_is_empty() -> None:
    fn = closure_over_nothing()
    with guards.tracing({"fn": fn}) as tx:
        call = tx.local("fn").bind()
        with pytest.raises(guards.EmptyCellError, match="value"):
            call.cells["value"].as_constant()
        check = tx.compile()
    assert check.check({"fn": closure_over_nothing()})
    assert not check.check({"fn": closure_over(1)})


# ------------------------------------------------------------------------ specialize
def outcome(fn: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    """What a call gives: its value, or its exception's type and message."""
    try:
        return ("value", fn(*args))
    except Exception as exc:
        return ("raised", (type(exc), str(exc)))


def same(a: tuple[str, Any], b: tuple[str, Any]) -> bool:
    if a[0] != b[0]:
        return False
    if a[0] == "raised":
        return bool(a[1] == b[1])
    return same_value(a[1], b[1])


def same_value(a: Any, b: Any) -> bool:
    """Equal and of one type; for NaN and array-likes, whose == does not say, equal text."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    try:
        if a == b:
            return True
    except Exception:
        pass
    try:
        return repr(a) == repr(b)
    except Exception:  # a huge int has no repr
        return False


class SpecializedRun:
    """A specialized function and its plain twin; every call compares the two."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.plain = fn
        self.fast = guards.specialize(fn)
        self.calls = 0

    def __call__(self, *args: Any) -> Any:
        expected = outcome(self.plain, *args)
        got = outcome(self.fast, *args)
        self.calls += 1
        assert same(got, expected), (got, expected)
        return got

    def check_books(self) -> None:
        info = self.fast.cache.info()
        assert info.hits + info.misses == self.calls
        assert info.uncached <= info.misses
        reasons = self.fast.specialized.uncached_reasons
        assert sum(reasons.values()) >= info.uncached
        assert all(isinstance(reason, str) and reason for reason in reasons)


def test_specialize_property_that_raises() -> None:
    run = SpecializedRun(lambda o: o.p + 1)
    run(RaisingProperty())
    run(RaisingProperty(ok=False))
    run(RaisingProperty())
    run(RaisingProperty(ok=False))
    run.check_books()
    assert run.fast.cache.info().hits == 1


def test_specialize_eq_that_raises_or_returns_an_array() -> None:
    run = SpecializedRun(lambda a, b: a == b)
    run(EqRaises(), 1)
    run(ArrayLike(1, 2), ArrayLike(1, 3))
    run(ArrayLike(1, 2), ArrayLike(1, 2))
    run.check_books()
    truth = SpecializedRun(lambda a: "yes" if a else "no")
    truth(ArrayLike(1, 2))
    truth(ArrayLike(1, 2))
    truth.check_books()


def test_specialize_len_and_hash_that_raise() -> None:
    run = SpecializedRun(lambda o: len(o))
    run(LenRaises())
    run(LenRaises(2))
    run(LenRaises())
    run.check_books()
    lookup = SpecializedRun(lambda d, k: k in d)

    class BadHash:
        def __hash__(self) -> int:
            raise RuntimeError("no hash")

    lookup({1: 2}, BadHash())
    lookup({1: 2}, 1)
    lookup({1: 2}, BadHash())
    lookup.check_books()


def test_specialize_a_lying_class_is_never_a_stale_hit() -> None:
    """A value claiming to be an int is still read through its attributes, and guarded."""
    run = SpecializedRun(lambda o: o.n * 2)
    liar = ClassLies(1)
    run(liar)
    liar.n = 5
    run(liar)  # a stale hit returned 2 here
    run(ClassRaises(3))  # isinstance() on it would raise inside the library
    run(ClassRaises(3))
    run.check_books()
    checked = SpecializedRun(lambda o: isinstance(o, int))
    checked(ClassLies())
    checked(ClassLies())
    checked(3)
    checked.check_books()


def test_specialize_subclasses_of_builtin_scalars_are_tracked_not_trusted() -> None:
    """A str or int subclass may carry attributes: reading one is guarded (was a stale hit)."""
    run = SpecializedRun(lambda s: s.tag + s)
    tagged = TagStr("a")
    tagged.tag = "x"  # type: ignore[attr-defined]
    run(tagged)
    tagged.tag = "y"  # type: ignore[attr-defined]
    run(tagged)
    number = TagInt(1)
    number.extra = 5  # type: ignore[attr-defined]
    extra = SpecializedRun(lambda i: i.extra + len(str(i)))
    extra(number)
    extra(number)
    number.extra = 6  # type: ignore[attr-defined]
    extra(number)
    run.check_books()
    extra.check_books()
    arithmetic = SpecializedRun(lambda i: i + 1)
    arithmetic(TagInt(1))
    arithmetic(TagInt(2))
    arithmetic(2)
    arithmetic.check_books()


def test_specialize_builtin_container_subclasses() -> None:
    run = SpecializedRun(lambda d: (d["a"], len(d)))
    run(SubDict(a=1))
    run({"a": 1})
    run(SubDict(a=2))
    run(SubDict(a=1))
    run.check_books()
    items = SpecializedRun(lambda xs: sum(xs) + len(xs))
    items(SubList([1, 2]))
    items([1, 2])
    items(SubList([1, 3]))
    items.check_books()


def test_specialize_recursive_containers() -> None:
    lst = recursive_list()
    for fn in (lambda v: len(v), lambda v: v[1] is v, lambda v: v == [1], lambda v: v,
               lambda v: sum(1 for _ in v)):
        run = SpecializedRun(fn)
        run(lst)
        run(lst)
        run([1, 2])
        run.check_books()


def test_specialize_nan_and_huge_ints() -> None:
    run = SpecializedRun(lambda v: v * 2)
    run(NAN)
    run(float("nan"))
    run(1.5)
    run(HUGE)
    run(10**5000)
    run(HUGE + 1)
    run.check_books()
    # An equal huge int hits; a fresh NaN does not: which NaN object it is shows where C
    # compares identity first (`[a] == [b]`), so a NaN is guarded by identity.
    assert run.fast.cache.info().hits == 1
    same = SpecializedRun(lambda a, b: ([a] == [b], a in (b,)))
    same(NAN, NAN)  # (True, True): one object
    same(NAN, float("nan"))  # (False, False): a hit would say True
    same(NAN, NAN)
    same.check_books()
    pair = SpecializedRun(lambda t: t == (NAN, 1))
    pair((NAN, 1))
    pair((float("nan"), 1))  # False: another NaN object; a hit would say True
    pair((NAN, 1))
    pair.check_books()
    assert pair.fast.cache.info().hits == 1


def test_specialize_deleted_cells_and_reassigned_functions() -> None:
    call = SpecializedRun(lambda fn: fn())
    call(closure_over(1))
    call(closure_over_nothing())
    call(closure_over(2))
    call(closure_over_nothing())
    call(with_defaults((1,)))
    call(with_defaults((5,)))
    call(with_defaults(None))
    call(with_code_of(lambda a=1: a * 100))
    call(with_defaults((1,)))
    call.check_books()


def test_specialize_a_function_whose_defaults_change_after_decoration() -> None:
    def scaled(v: int, k: int = 2) -> int:
        return v * k

    fast = guards.specialize(scaled)
    assert fast(3) == 6
    scaled.__defaults__ = (10,)
    assert fast(3) == 30  # defaults are read at call time, and guarded
    scaled.__defaults__ = None  # k is now required: Python's own error, as a plain call
    with pytest.raises(TypeError, match=r"scaled\(\) missing 1 required positional argument: 'k'"):
        fast(3)


def test_specialize_objects_without_dict_and_slots() -> None:
    run = SpecializedRun(lambda o: getattr(o, "a", "missing"))
    run(Slotted(1))
    run(Slotted())
    run(Slotted(1))
    run(object())
    run(Slotted(2))
    run.check_books()


def test_specialize_getattr_and_properties_with_side_effects() -> None:
    run = SpecializedRun(lambda o: o.size * 2)
    run(GetattrComputes())
    run(GetattrComputes())
    run(GetattrRaises())
    run.check_books()
    drifting = guards.specialize(lambda o: o.p)
    obj = DriftingProperty()
    first, second = drifting(obj), drifting(obj)
    assert second > first  # each call reads it afresh: nothing stale is returned
    assert drifting.cache.info().entries == 0  # its guards could never hold: nothing cached
    reasons = drifting.specialized.uncached_reasons
    assert any("could not be built" in reason for reason in reasons)


def test_specialize_never_leaks_an_internal_error() -> None:
    """Whatever the hostile inputs, a specialized call raises only what a plain call raises."""
    hostile = [
        RaisingProperty(ok=False), EqRaises(), ArrayLike(1), LenRaises(), ClassLies(),
        ClassRaises(), recursive_list(), recursive_dict(), NAN, HUGE, closure_over_nothing(),
        with_defaults(None), object(), Slotted(), TagStr("t"), TagInt(3), SubDict(a=1),
        SubList([1]), GetattrRaises(),
    ]
    bodies: list[Callable[[Any], Any]] = [
        lambda v: v.p, lambda v: v == v, lambda v: len(v), lambda v: bool(v),
        lambda v: [item for item in v], lambda v: str(type(v)), lambda v: v.__class__,
        lambda v: isinstance(v, (int, list)), lambda v: v(), lambda v: hash(v),
        lambda v: {"k": v}["k"], lambda v: v.a, lambda v: v["a"],
    ]
    for body in bodies:
        run = SpecializedRun(body)
        for value in hostile:
            run(value)
            run(value)
        run.check_books()


# ----------------------------------------------------- which kinds may run user code
class Spy:
    """Records every special method and attribute lookup that reaches it."""

    calls: ClassVar[list[str]] = []

    def __getattribute__(self, name: str) -> Any:
        Spy.calls.append(f"getattribute {name}")
        return object.__getattribute__(self, name)

    def __getattr__(self, name: str) -> Any:
        Spy.calls.append(f"getattr {name}")
        raise AttributeError(name)

    def __eq__(self, other: object) -> bool:
        Spy.calls.append("eq")
        return True

    def __ne__(self, other: object) -> bool:
        Spy.calls.append("ne")
        return False

    def __hash__(self) -> int:
        Spy.calls.append("hash")
        return 0

    def __len__(self) -> int:
        Spy.calls.append("len")
        return 1

    def __bool__(self) -> bool:
        Spy.calls.append("bool")
        return True

    def __iter__(self) -> Iterator[Any]:
        Spy.calls.append("iter")
        return iter(())

    def __contains__(self, item: object) -> bool:
        Spy.calls.append("contains")
        return True

    def __call__(self) -> Any:
        Spy.calls.append("call")
        return self


def _function() -> None:
    pass


_KEEP = RaisingProperty()  # any object that takes weak references
_REF = weakref.ref(_KEEP)
y = LocalSource("y")

#: Kinds whose check never runs code of the value it finds: identity and exact-type
#: tests; and kinds that test the exact type before anything else (a Spy's type is
#: not the type they were built on, so its methods are never reached).
NEVER_RUN_USER_CODE: list[tuple[str, Guard, dict[str, Any]]] = [
    ("TYPE_MATCH", g(x, GuardBuilder.TYPE_MATCH), {"x": 1}),
    ("ID_MATCH", g(x, GuardBuilder.ID_MATCH), {"x": _KEEP}),
    ("FUNCTION_MATCH", g(x, GuardBuilder.FUNCTION_MATCH), {"x": _function}),
    ("CLOSURE_MATCH", g(x, GuardBuilder.CLOSURE_MATCH), {"x": _function}),
    ("NONE_MATCH", g(x, GuardBuilder.NONE_MATCH), {"x": None}),
    ("NOT_NONE_MATCH", g(x, GuardBuilder.NOT_NONE_MATCH), {"x": 1}),
    ("BOOL_MATCH", g(x, GuardBuilder.BOOL_MATCH), {"x": True}),
    ("DUPLICATE_INPUT", g(x, GuardBuilder.DUPLICATE_INPUT, source_b=y), {"x": _KEEP, "y": _KEEP}),
    ("WEAKREF_ALIVE", g(x, GuardBuilder.WEAKREF_ALIVE), {"x": _REF}),
    ("NO_ALIASING", g(x, GuardBuilder.NO_ALIASING, others=(y,)), {"x": _KEEP, "y": _REF}),
    ("CELL_EMPTY", g(AttrSource(x, "cell_contents"), GuardBuilder.CELL_EMPTY),
     {"x": closure_over(1).__closure__[0]}),  # type: ignore[index]
    ("EQUALS_MATCH on an int", g(x, GuardBuilder.EQUALS_MATCH), {"x": 1}),
    ("EQUALS_MATCH on a list", g(x, GuardBuilder.EQUALS_MATCH), {"x": [1]}),
    ("CONSTANT_MATCH on a str", g(x, GuardBuilder.CONSTANT_MATCH), {"x": "s"}),
    ("SEQUENCE_LENGTH on a tuple", g(x, GuardBuilder.SEQUENCE_LENGTH), {"x": (1,)}),
    ("DICT_KEYS_MATCH on a dict", g(x, GuardBuilder.DICT_KEYS_MATCH), {"x": {"k": 1}}),
]

#: Kinds whose check calls into whatever value it finds.
MAY_RUN_USER_CODE: list[tuple[str, Guard, dict[str, Any], str]] = [
    ("HASATTR", g(AttrSource(x, "k"), GuardBuilder.HASATTR), {"x": types.SimpleNamespace(k=1)},
     "getattribute k"),
    ("DICT_CONTAINS", g(GetItemSource(x, "k"), GuardBuilder.DICT_CONTAINS), {"x": {"k": 1}},
     "contains"),
    ("TRUTH_MATCH", g(x, GuardBuilder.TRUTH_MATCH), {"x": [1]}, "bool"),
]


@pytest.mark.parametrize(("name", "guard", "built"), NEVER_RUN_USER_CODE,
                         ids=[n for n, *_ in NEVER_RUN_USER_CODE])
def test_kinds_that_never_run_the_code_of_what_they_find(
    name: str, guard: Guard, built: dict[str, Any]
) -> None:
    check = compile_guards([guard], built)
    Spy.calls.clear()
    check.check({"x": Spy(), "y": Spy()})
    assert Spy.calls == []


@pytest.mark.parametrize(("name", "guard", "built", "call"), MAY_RUN_USER_CODE,
                         ids=[n for n, *_ in MAY_RUN_USER_CODE])
def test_kinds_that_may_run_the_code_of_what_they_find(
    name: str, guard: Guard, built: dict[str, Any], call: str
) -> None:
    check = compile_guards([guard], built)
    Spy.calls.clear()
    check.check({"x": Spy()})
    assert call in Spy.calls


def test_equals_match_runs_only_the_eq_of_the_type_it_was_built_on() -> None:
    """A user's __eq__ runs for values of that exact type, never for a stranger's."""
    check = compile_guards([g(x, GuardBuilder.EQUALS_MATCH)], {"x": Spy()})
    Spy.calls.clear()
    assert check.check({"x": 1}) is False
    assert Spy.calls == []
    assert check.check({"x": Spy()}) is True  # Spy.__eq__ says so
    assert Spy.calls == ["eq"]


def test_an_access_path_runs_the_getters_it_walks() -> None:
    """Any kind on AttrSource(x, ...) reads the attribute: a property or __getattr__ runs."""
    check = compile_guards([g(AttrSource(x, "k"), GuardBuilder.TYPE_MATCH)],
                           {"x": types.SimpleNamespace(k=1)})
    Spy.calls.clear()
    assert check.check({"x": Spy()}) is False
    assert Spy.calls == ["getattribute k", "getattr k"]
