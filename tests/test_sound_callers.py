"""Every piece of user code is traced, or the run is not cached (soundness, kind 3).

Each test calls a specialized function, changes what user code reached
through a class or a library wrapper reads, and calls again: the result must
equal a plain call's, and the call must hit, miss or run uncached as stated.
"""

from __future__ import annotations

import enum
import functools
import sys
import types
import typing
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

import guards

SCALE = {"v": 1}
PRECISION = 2
SUFFIX = "!"
FACTOR = 2


class Units:
    def factor(self) -> int:
        return SCALE["v"]


class Settings:
    factor = 1.0
    names: typing.ClassVar[list[str]] = ["a"]


class Util:
    @staticmethod
    def fmt(x: float) -> float:
        return round(x, PRECISION)


class Maker:
    base = 10

    @classmethod
    def make(cls, x: int) -> int:
        return cls.base + x


class Point:
    def __init__(self, x: int) -> None:
        self.x = x * FACTOR


class Color(enum.Enum):
    RED = 1

    def label(self) -> str:
        return self.name.lower() + SUFFIX


def scale(x: int, k: int) -> int:
    return x * k * FACTOR


@functools.singledispatch
def fmt(x: Any) -> str:
    return str(x) + SUFFIX


@fmt.register(int)
def _(x: int) -> str:
    return f"int {x}{SUFFIX}"


@functools.lru_cache
def cached_factor() -> int:
    return FACTOR


def agrees(f: Any, *args: Any) -> Any:
    result = f(*args)
    assert result == f.__wrapped__(*args)
    return result


@pytest.fixture(autouse=True)
def _restore() -> Any:
    global PRECISION, SUFFIX, FACTOR
    saved = (SCALE["v"], Settings.factor, list(Settings.names), Maker.base, PRECISION, SUFFIX,
             FACTOR)
    yield
    SCALE["v"], Settings.factor, Settings.names[:], Maker.base = saved[:4]
    PRECISION, SUFFIX, FACTOR = saved[4:]


# -- the net ------------------------------------------------------------------------------
def test_a_method_of_an_object_made_inside_runs_uncached_not_stale() -> None:
    """A method called on a real object runs untraced: the net makes the run uncached."""

    @guards.specialize
    def convert(x: int) -> int:
        return x * Units().factor()

    assert agrees(convert, 2) == 2
    SCALE["v"] = 5
    assert agrees(convert, 2) == 10
    assert convert.cache.info().uncached == 2
    [reason] = convert.specialized.uncached_reasons
    assert reason.startswith("Units.factor (test_sound_callers.py:")
    assert "ran untraced" in reason


def test_user_code_called_back_by_c_code_runs_uncached() -> None:
    """``map`` calls a method of a class read as itself: untraced, so uncached."""
    items = [1, 2]

    @guards.specialize
    def total(xs: list[int]) -> int:
        return sum(map(Util.fmt, xs)) + len(xs)

    assert agrees(total, items) == 5
    assert total.cache.info().uncached == 0  # Util.fmt passed through a traced proxy


def test_the_net_restores_a_previous_profile_function() -> None:
    events: list[str] = []

    def profiler(frame: Any, event: str, arg: Any) -> None:
        events.append(event)

    @guards.specialize
    def f(x: int) -> int:
        return x + 1

    sys.setprofile(profiler)
    try:
        assert f(1) == 2
    finally:
        sys.setprofile(None)
    assert events  # the profiler kept seeing events during the trace


# -- classes --------------------------------------------------------------------------
def test_a_class_attribute_read_through_the_class_is_guarded() -> None:
    @guards.specialize
    def scaled(x: float) -> float:
        return x * Settings.factor

    assert agrees(scaled, 4.0) == 4.0
    assert agrees(scaled, 4.0) == 4.0
    Settings.factor = 10.0
    assert agrees(scaled, 4.0) == 40.0
    assert scaled.cache.info().hits == 1


def test_a_class_level_list_is_guarded_by_value() -> None:
    @guards.specialize
    def first(x: int) -> str:
        return Settings.names[0] * x

    assert agrees(first, 2) == "aa"
    Settings.names[0] = "b"
    assert agrees(first, 2) == "bb"


def test_a_staticmethod_via_the_class_is_traced() -> None:
    global PRECISION

    @guards.specialize
    def f(x: float) -> float:
        return Util.fmt(x)

    assert agrees(f, 3.14159) == 3.14
    assert agrees(f, 3.14159) == 3.14
    PRECISION = 4
    assert agrees(f, 3.14159) == 3.1416
    assert (f.cache.info().hits, f.cache.info().uncached) == (1, 0)


def test_a_classmethod_reading_cls_attr_is_guarded() -> None:
    @guards.specialize
    def f(m: Maker, x: int) -> int:
        return m.make(x)

    m = Maker()
    assert agrees(f, m, 1) == 11
    assert agrees(f, m, 1) == 11
    Maker.base = 20
    assert agrees(f, m, 1) == 21
    assert f.cache.info().hits == 1


def test_type_of_a_value_pins_its_class() -> None:
    @guards.specialize
    def f(m: Maker) -> int:
        return type(m).base  # type: ignore[no-any-return]

    m = Maker()
    assert agrees(f, m) == 10
    Maker.base = 30
    assert agrees(f, m) == 30


def test_a_class_written_to_abandons_the_trace() -> None:
    @guards.specialize
    def bump(x: int) -> float:
        Settings.factor = x
        return Settings.factor

    assert bump(3) == 3
    assert bump.cache.info().uncached == 1


def test_construction_traces_init() -> None:
    global FACTOR

    @guards.specialize
    def make(x: int) -> int:
        return Point(x).x

    assert agrees(make, 2) == 4
    assert agrees(make, 2) == 4
    FACTOR = 3
    assert agrees(make, 2) == 6
    assert (make.cache.info().hits, make.cache.info().uncached) == (1, 0)


def test_isinstance_with_a_class_does_not_pin_it() -> None:
    """The class argument of isinstance is a proxy site: no whole-class guard."""

    @guards.specialize
    def is_point(p: Any) -> bool:
        return isinstance(p, Point)

    p = Point(1)
    assert agrees(is_point, p) is True
    guard_names = [str(g) for g in is_point.cache.entries[0].check.guards]
    assert not any("__dict__" in name for name in guard_names)


def test_an_enum_method_reading_a_global_is_never_stale() -> None:
    global SUFFIX

    @guards.specialize
    def label(c: Color) -> str:
        return c.label()

    assert agrees(label, Color.RED) == "red!"
    SUFFIX = "?"
    assert agrees(label, Color.RED) == "red?"


# -- library wrappers ---------------------------------------------------------------------
def test_a_partial_global_is_traced_with_its_arguments_guarded() -> None:
    global FACTOR
    p = functools.partial(scale, k=2)

    @guards.specialize
    def f(g: Any, x: int) -> int:
        return g(x)  # type: ignore[no-any-return]

    assert agrees(f, p, 3) == 12
    assert agrees(f, p, 3) == 12
    p.keywords["k"] = 5
    assert agrees(f, p, 3) == 30
    FACTOR = 10
    assert agrees(f, p, 3) == 150
    assert agrees(f, functools.partial(scale, 1), 3) == 30
    assert f.cache.info().uncached == 0 and f.cache.info().hits == 1


def test_singledispatch_dispatches_on_the_guarded_type() -> None:
    global SUFFIX

    @guards.specialize
    def f(x: Any) -> str:
        return fmt(x)

    assert agrees(f, 3) == "int 3!"
    assert agrees(f, 3) == "int 3!"
    assert agrees(f, "a") == "a!"
    SUFFIX = "?"
    assert agrees(f, 3) == "int 3?"
    assert f.cache.info().uncached == 0


def test_an_lru_cache_of_user_code_runs_uncached() -> None:
    """Its result is what its own cache holds, which no guard can see."""
    global FACTOR

    @guards.specialize
    def f(x: int) -> int:
        return x * cached_factor()

    assert agrees(f, 2) == 4
    assert agrees(f, 2) == 4
    FACTOR = 7
    cached_factor.cache_clear()
    assert agrees(f, 2) == 14
    assert f.cache.info().hits == 0
    assert any("lru_cache" in r for r in f.specialized.uncached_reasons)


# -- imports ------------------------------------------------------------------------------
def test_a_module_imported_inside_the_function_is_tracked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = types.ModuleType("guards_test_inner_import")
    module.X = 1  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "guards_test_inner_import", module)

    @guards.specialize
    def read() -> int:
        import guards_test_inner_import as m

        return m.X  # type: ignore[no-any-return]

    assert agrees(read) == 1
    assert agrees(read) == 1
    module.X = 55  # type: ignore[attr-defined]
    assert agrees(read) == 55
    assert read.cache.info().hits == 1
    assert "sys.modules['guards_test_inner_import'].X" in str(read.cache.entries[0].check)


def test_from_import_inside_the_function_is_tracked(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("guards_test_from_import")
    module.X = 1  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "guards_test_from_import", module)

    @guards.specialize
    def read() -> int:
        from guards_test_from_import import X  # type: ignore[attr-defined]

        return X  # type: ignore[no-any-return]

    assert agrees(read) == 1
    module.X = 2  # type: ignore[attr-defined]
    assert agrees(read) == 2


# -- dict subclasses and __getitem__ ----------------------------------------------------
class Loud(dict):  # type: ignore[type-arg]
    def get(self, key: Any, default: Any = None) -> Any:
        return "overridden"


class Cfg:
    def __init__(self, d: dict[str, int]) -> None:
        self._d = d

    def __getitem__(self, k: str) -> int:
        return self._d[k]


def test_a_dict_subclass_overriding_get_misses_a_plain_dict_entry() -> None:
    @guards.specialize
    def mode(options: dict[str, str]) -> Any:
        return options.get("mode")

    assert agrees(mode, {"mode": "a"}) == "a"
    assert agrees(mode, Loud(mode="a")) == "overridden"


def test_a_missing_key_of_a_python_getitem_is_guarded() -> None:
    @guards.specialize
    def f(c: Cfg) -> Any:
        try:
            return c["x"]
        except KeyError:
            return "default"

    c = Cfg({})
    assert agrees(f, c) == "default"
    assert agrees(f, c) == "default"
    c._d["x"] = 1
    assert agrees(f, c) == 1


class CfgMapping(Mapping[str, int]):
    """A Mapping whose ``__getitem__`` is Python: a missing key is guarded absent."""

    def __init__(self, d: dict[str, int]) -> None:
        self._d = d

    def __getitem__(self, k: str) -> int:
        return self._d[k]

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)


def test_a_missing_key_of_a_mapping_is_guarded_absent() -> None:
    @guards.specialize
    def f(c: CfgMapping) -> Any:
        try:
            return c["x"]
        except KeyError:
            return "default"

    c = CfgMapping({})
    assert agrees(f, c) == "default"
    assert agrees(f, c) == "default"
    assert f.cache.info().hits == 1
    c._d["x"] = 1
    assert agrees(f, c) == 1


class Token:
    """An object with a ``__repr__`` of its own."""

    def __repr__(self) -> str:
        return "Token()"


def test_a_guard_built_during_the_run_may_run_user_code() -> None:
    # Guards are built while the run is traced, and ID_MATCH on the returned input
    # shows its repr: that repr is the guard's own code, not the traced code's, so
    # the net lets it run and the run is cached.
    @guards.specialize
    def same(token: Token) -> Token:
        return token

    token = Token()
    assert same(token) is token
    assert same(token) is token
    assert same.cache.info().hits == 1
    assert same.cache.info().uncached == 0
    other = Token()
    assert same(other) is other
