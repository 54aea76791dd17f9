"""``copy_results`` and results that are never copied (issue 12, item 4).

By default a result holding mutable parts is copied when stored and for every
caller, so no caller can change what the next one gets; ``copy_results=False``
hands out the stored object itself, as ``functools.lru_cache`` does.  A result
nothing of which can change (numbers, tuples and frozensets of them, named
tuples, frozen dataclasses and attrs classes, dates, decimals...) is handed out
as itself either way: identity shows it.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import fractions
import functools
import pathlib
import uuid
from decimal import Decimal
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import guards

Pair = collections.namedtuple("Pair", "left right")


@dataclasses.dataclass(frozen=True, slots=True)
class Frozen:
    name: str
    sizes: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class FrozenWithDict:
    """Frozen, but its instances have a ``__dict__``, where state can be filled in later."""

    name: str


@dataclasses.dataclass(frozen=True)
class FrozenCachedProperty:
    n: int

    @functools.cached_property
    def setting(self) -> int:
        return SETTING["v"]


@attrs.frozen
class AttrsFrozenCachedProperty:
    """attrs makes the cached property an extra slot, filled on first use."""

    n: int

    @functools.cached_property
    def setting(self) -> int:
        return SETTING["v"]


@dataclasses.dataclass(frozen=True)
class FrozenMemo:
    n: int

    def setting(self) -> int:
        try:
            return self._memo  # type: ignore[no-any-return,attr-defined]
        except AttributeError:
            object.__setattr__(self, "_memo", SETTING["v"])
            return self._memo  # type: ignore[no-any-return,attr-defined]


SETTING = {"v": 1}


@dataclasses.dataclass(frozen=True)
class FrozenHoldingList:
    items: list[int]


@dataclasses.dataclass
class Plain:
    name: str


@attrs.frozen
class AttrsFrozen:
    when: datetime.date
    share: Decimal


@attrs.define
class AttrsMutable:
    n: int


class PairWithDict(Pair):
    """A subclass of a named tuple without ``__slots__``: its instances have a ``__dict__``."""


def test_copy_results_false_returns_the_stored_object_itself() -> None:
    @guards.specialize(copy_results=False)
    def rows(n: int) -> list[list[int]]:
        return [[i] for i in range(n)]

    first = rows(3)
    assert rows(3) is first
    assert rows.cache.info().hits == 1
    first[0].append(99)  # lru_cache's contract: the caller changed the stored result
    assert rows(3)[0] == [0, 99]


def test_by_default_a_caller_cannot_change_the_next_result() -> None:
    @guards.specialize
    def rows(n: int) -> list[list[int]]:
        return [[i] for i in range(n)]

    first = rows(3)
    first[0].append(99)
    second = rows(3)
    assert second == [[0], [1], [2]] and second is not first
    second[1].clear()
    assert rows(3) == [[0], [1], [2]]
    assert rows.cache.info().hits == 2


DATE = datetime.date(2020, 1, 2)
#: (name, function, its argument)
FROZEN_RESULTS: list[tuple[str, Any, Any]] = [
    ("tuple", lambda n: (n, "a", (1.5, None)), 1),
    ("frozenset", lambda n: frozenset({n, "a"}), 1),
    ("named tuple", lambda n: Pair(n, ("x", 2)), 1),
    ("frozen dataclass", lambda n: Frozen("a", (n, n)), 1),
    ("frozen attrs", lambda d: AttrsFrozen(d, Decimal("1.5")), DATE),
    ("date", lambda d: d.replace(day=1), DATE),
    ("Decimal", lambda n: Decimal(n) / 7, 1),
    ("Fraction", lambda n: fractions.Fraction(n, 3), 1),
    ("UUID", lambda n: uuid.UUID(int=n), 1),
    ("pure path", lambda p: p / "b", pathlib.PurePosixPath("a")),
    ("numpy scalar", lambda a: a.sum() / 3, np.arange(3.0)),
    ("tuple of frozen", lambda n: (Frozen("b", ()), Pair(n, n)), 1),
]


@pytest.mark.parametrize(("make", "argument"), [case[1:] for case in FROZEN_RESULTS],
                         ids=[case[0] for case in FROZEN_RESULTS])
def test_a_frozen_result_is_never_copied(make: Any, argument: Any) -> None:
    """Handed out as itself, with the default copy_results=True."""
    f = guards.specialize(lambda x: make(x), strict=True)
    first = f(argument)
    assert f(argument) is first
    assert f.cache.info().hits == 1


MUTABLE_RESULTS: list[tuple[str, Any, Any]] = [
    ("list", lambda n: [n], 1),
    ("tuple holding a list", lambda n: (n, [n]), 1),
    ("frozen dataclass holding a list", lambda n: FrozenHoldingList([n]), 1),
    ("dataclass", lambda n: Plain(str(n)), 1),
    ("attrs class", lambda n: AttrsMutable(n), 1),
    ("named tuple subclass with a __dict__", lambda n: PairWithDict(n, n), 1),
    ("frozen dataclass with a __dict__", lambda n: FrozenWithDict(str(n)), 1),
    ("named tuple holding a dict", lambda n: Pair(n, {"k": n}), 1),
    ("numpy array", lambda a: a * 2, np.arange(3)),
]


@pytest.mark.parametrize(("make", "argument"), [case[1:] for case in MUTABLE_RESULTS],
                         ids=[case[0] for case in MUTABLE_RESULTS])
def test_a_result_that_can_change_is_copied(make: Any, argument: Any) -> None:
    f = guards.specialize(lambda x: make(x), strict=True)
    first = f(argument)
    second = f(argument)
    assert f.cache.info().hits == 1
    assert second is not first
    if isinstance(first, np.ndarray):
        assert np.array_equal(first, second)
    else:
        assert second == first


def test_copy_results_must_be_a_bool() -> None:
    with pytest.raises(guards.GuardsTypeError, match=r"copy_results must be a bool, got 1"):
        guards.specialize(lambda n: n, copy_results=1)  # type: ignore[arg-type]
    with pytest.raises(guards.GuardsTypeError, match=r"copy_results must be a bool, got None"):
        guards.specialize(copy_results=None)  # type: ignore[call-overload]


def test_copy_results_is_shown_in_the_report() -> None:
    @guards.specialize(copy_results=False)
    def f(n: int) -> list[int]:
        return [n]

    f(1)
    assert f.specialized.copy_results is False
    assert "copy_results=False" in f.specialized.report()


def test_an_input_returned_as_itself_stays_itself_with_copy_results_false() -> None:
    @guards.specialize(copy_results=False)
    def same(xs: list[int]) -> Any:
        return xs, [len(xs)]

    xs = [1, 2]
    assert same(xs)[0] is xs
    assert same(xs)[0] is xs and same.cache.info().hits == 1


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(-5, 5), max_size=4))
def test_a_hit_equals_a_fresh_call_whatever_the_caller_did(items: list[int]) -> None:
    """With the default, mutating what a call returned never shows in a later hit."""

    def grouped(xs: list[int]) -> Any:
        return {"items": list(xs), "pairs": [(x, [x]) for x in xs]}

    f = guards.specialize(grouped)
    for _ in range(3):
        result = f(items)
        assert result == grouped(items)
        result["items"].append(0)
        for _, box in result["pairs"]:
            box.append(1)


@guards.specialize
def _cached_property_result(n: int) -> FrozenCachedProperty:
    return FrozenCachedProperty(n)


@guards.specialize
def _attrs_cached_property_result(n: int) -> AttrsFrozenCachedProperty:
    return AttrsFrozenCachedProperty(n)


@guards.specialize
def _memo_result(n: int) -> FrozenMemo:
    return FrozenMemo(n)


@pytest.mark.parametrize(("make", "read"), [
    (_cached_property_result, lambda result: result.setting),
    (_attrs_cached_property_result, lambda result: result.setting),
    (_memo_result, lambda result: result.setting()),
], ids=["cached_property", "attrs cached_property", "object.__setattr__ memo"])
def test_state_a_frozen_result_fills_in_later_stays_the_callers(make: Any, read: Any) -> None:
    """A frozen class whose instances fill in state after they are made (a cached
    property, a memo set past the frozen ``__setattr__``): one caller's filling does not
    reach the next caller's hit."""
    make.cache_clear()
    SETTING["v"] = 1
    assert read(make(1)) == 1
    SETTING["v"] = 2
    try:
        assert read(make(1)) == read(make.__wrapped__(1)) == 2
        assert make.cache_info().hits == 1
    finally:
        SETTING["v"] = 1
