"""Values guarded by value are compared as exactly as the function can tell them apart.

Issue 9, kind 4: two equal sets can iterate in different orders; ``-0.0`` and
``0.0`` are equal members; ``range(0, 3, 2) == range(0, 4, 2)`` though their
``stop`` differs; ``Decimal('1.0') == Decimal('1.00')`` though their ``str``
differs; two aware datetimes of one instant print differently.
"""

from __future__ import annotations

import datetime
import decimal
import enum
from typing import Any

import pytest

import guards
from guards import GuardBuilder, compile_guards
from guards.core.sources import GetItemSource, LocalSource

X = LocalSource("x")


def passes(value: Any, other: Any) -> bool:
    cf = compile_guards([X.make_guard(GuardBuilder.EQUALS_MATCH)], {"x": value})
    fast = cf.check({"x": other})
    assert bool(cf.check_verbose({"x": other})) is fast
    return fast


def colliding_sets() -> tuple[set[int], set[int]]:
    """Two equal sets that iterate in different orders (8 and 16 collide in 8 slots)."""
    a, b = {8, 16}, {16, 8}
    assert a == b and list(a) != list(b)
    return a, b


def test_a_set_is_guarded_with_its_order() -> None:
    a, b = colliding_sets()
    assert passes(a, a)
    assert passes(a, {8, 16})
    assert not passes(a, b)


def test_a_set_with_deletions_still_matches_itself() -> None:
    """A copy of a set may iterate in another order: the guard remembers the order itself."""
    s = set(range(0, 200, 8))
    for item in range(0, 200, 16):
        s.discard(item)
    assert passes(s, s)


def test_minus_zero_in_a_set_is_not_zero() -> None:
    assert not passes({-0.0}, {0.0})
    assert not passes({0.0}, {-0.0})
    assert not passes([{-0.0}], [{0.0}])
    assert passes({-0.0, 1}, {-0.0, 1})


@pytest.mark.parametrize(("built", "other"), [
    (range(0, 3, 2), range(0, 4, 2)),
    (range(0), range(5, 5)),
    (range(0, 1, 3), range(0, 1, 2)),
    ([range(0, 3, 2)], [range(0, 4, 2)]),
    (decimal.Decimal("1.0"), decimal.Decimal("1.00")),
    (decimal.Decimal("0"), decimal.Decimal("-0")),
    ((decimal.Decimal("1.0"),), (decimal.Decimal("1.00"),)),
    (datetime.datetime(2020, 1, 1, 12, tzinfo=datetime.UTC),
     datetime.datetime(2020, 1, 1, 13, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))),
    (datetime.datetime(2020, 11, 1, 1, 30), datetime.datetime(2020, 11, 1, 1, 30, fold=1)),
], ids=repr)
def test_equal_values_that_behave_differently_do_not_match(built: Any, other: Any) -> None:
    assert built == other  # what == forgives...
    assert not passes(built, other)  # ...a guard does not
    assert passes(built, built)


def test_a_range_key_names_its_own_source() -> None:
    """Sources keyed by equal ranges are different sources (their names differ too)."""
    a = GetItemSource(X, range(0, 3, 2))
    b = GetItemSource(X, range(0, 4, 2))
    assert a != b
    assert a.name != b.name
    assert GetItemSource(X, decimal.Decimal("1.0")) != GetItemSource(X, decimal.Decimal("1.00"))


def test_specialize_on_a_set_sees_its_order() -> None:
    @guards.specialize
    def f(s: set[int]) -> list[int]:
        return list(s)

    a, b = colliding_sets()
    assert f(a) == list(a)
    assert f(b) == list(b) == f.__wrapped__(b)
    assert f(a) == list(a)
    assert f.cache.info().hits == 1


def test_specialize_on_a_set_of_zeros() -> None:
    @guards.specialize
    def f(s: set[float]) -> str:
        return str(s)

    assert f({0.0}) == "{0.0}"
    assert f({-0.0}) == "{-0.0}"


def test_specialize_on_ranges() -> None:
    @guards.specialize
    def f(r: range) -> tuple[int, str]:
        return r.stop, str(r)

    for r in (range(0, 3, 2), range(0, 4, 2), range(0), range(5, 5), range(0, 3, 2)):
        assert f(r) == f.__wrapped__(r)
    assert f.cache.info().hits == 1


# -- enum members with state of their own are tracked, not values ------------------------


class Plan(enum.Enum):
    FREE = {"seats": 1}  # noqa: RUF012 - a mutable value, on purpose
    PRO = {"seats": 5}  # noqa: RUF012


class Level(enum.Enum):
    LOW = 1
    HIGH = 2


class Mode(enum.Enum):
    FAST = "fast"

    def __init__(self, _value: str) -> None:
        self.options = {"threads": 1}


def test_an_enum_member_with_a_mutable_value_is_tracked() -> None:
    @guards.specialize
    def seats(p: Plan) -> int:
        return int(p.value["seats"])

    assert seats(Plan.FREE) == 1
    assert seats(Plan.FREE) == 1
    try:
        Plan.FREE.value["seats"] = 2
        assert seats(Plan.FREE) == 2
        assert seats(Plan.PRO) == 5
    finally:
        Plan.FREE.value["seats"] = 1
    assert seats.cache.info().hits == 1


def test_an_enum_member_with_attributes_of_its_own_is_tracked() -> None:
    Level.LOW.limits = [10]  # type: ignore[attr-defined]

    @guards.specialize
    def limit(level: Level) -> int:
        return int(level.limits[0])

    assert limit(Level.LOW) == 10
    assert limit(Level.LOW) == 10
    Level.LOW.limits[0] = 20  # type: ignore[attr-defined]
    assert limit(Level.LOW) == 20
    assert limit.cache.info().hits == 1


def test_an_enum_member_read_as_a_global_is_tracked() -> None:
    @guards.specialize
    def threads() -> int:
        return Mode.FAST.options["threads"]

    assert threads() == 1
    assert threads() == 1
    Mode.FAST.options["threads"] = 8
    assert threads() == 8
    assert threads.cache.info().hits == 1


def test_a_plain_enum_member_is_still_a_value() -> None:
    @guards.specialize
    def name(level: Level) -> str:
        return level.name.lower()

    assert name(Level.HIGH) == "high"
    assert name(Level.HIGH) == "high"
    assert name(Level.LOW) == "low"
    assert name.cache.info().hits == 1
