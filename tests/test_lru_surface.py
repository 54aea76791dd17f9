"""``cache_info()``, ``cache_clear()``, ``cache_parameters()``: ``functools.lru_cache``'s surface.

The same user code runs under ``functools.lru_cache(typed=True)`` and under
``@guards.specialize``, and where the two agree on what a hit is (arguments
passed positionally, every argument read, fewer distinct calls than the limit)
both must report the same statistics after every call.  Then what is ours:
uncached runs are misses, a clear reaches the generated front, methods share
one cache.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

import guards

#: Values lru_cache(typed=True) and guards both tell apart: 1, 1.0 and True are
#: three keys in both (0.0 and -0.0, or two NaNs, are where they differ).
VALUES = st.sampled_from([0, 1, 2, 1.0, 2.5, True, False, "a"])


def ratio(a: Any, b: Any) -> Any:
    """Raises for some inputs (``b == 0``, a string): neither cache stores those."""
    return a / b


def outcome(fn: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    try:
        return ("value", fn(*args))
    except Exception as exc:
        return ("raised", type(exc))


@settings(max_examples=60, deadline=None)
@given(calls=st.lists(st.tuples(VALUES, VALUES), max_size=30), verify=st.booleans())
def test_the_same_calls_report_what_lru_cache_reports(
    calls: list[tuple[Any, Any]], verify: bool
) -> None:
    """Same results, same CacheInfo after every call, same parameters, same after a clear."""
    lru = functools.lru_cache(maxsize=64, typed=True)(ratio)
    ours = guards.specialize(ratio, max_entries=64, verify=verify)
    assert ours.cache_parameters() == lru.cache_parameters()
    for round_ in range(2):
        for args in calls:
            assert outcome(ours, *args) == outcome(lru, *args)
            assert ours.cache_info() == lru.cache_info(), (round_, args)
        ours.cache_clear()
        lru.cache_clear()
        assert ours.cache_info() == lru.cache_info()


def test_cache_info_is_lru_caches_own_named_tuple() -> None:
    """The same type, fields and repr as lru_cache's, so code that reads it keeps working."""
    lru = functools.lru_cache(maxsize=8, typed=True)(abs)
    ours = guards.specialize(ratio, max_entries=8)
    ours(1, 2)
    ours(1, 2)
    lru(-1)
    lru(-1)
    info = ours.cache_info()
    assert type(info) is type(lru.cache_info())
    assert info._fields == ("hits", "misses", "maxsize", "currsize")
    assert repr(info) == repr(lru.cache_info()) == (
        "CacheInfo(hits=1, misses=1, maxsize=8, currsize=1)"
    )


def test_cache_parameters_are_exactly_lru_caches_keys() -> None:
    """lru_cache(**f.cache_parameters()) works; a changed dict changes nothing."""
    f = guards.specialize(ratio, max_entries=3, on_limit="run")
    parameters = f.cache_parameters()
    assert parameters == {"maxsize": 3, "typed": True}
    parameters["maxsize"] = 100
    assert f.cache_parameters()["maxsize"] == 3 and f.cache.max_entries == 3
    again = functools.lru_cache(**f.cache_parameters())(ratio)
    assert again.cache_parameters() == f.cache_parameters()


def test_values_of_different_types_are_cached_separately_as_typed_says() -> None:
    """typed=True: f(1), f(1.0) and f(True) are three entries, never one result for all."""
    f = guards.specialize(lambda x: (type(x).__name__, x * 2))
    assert [f(1), f(1.0), f(True)] == [("int", 2), ("float", 2.0), ("bool", 2)]
    assert f.cache_info().currsize == 3


def test_after_cache_clear_the_next_call_misses_even_on_the_inlined_front() -> None:
    """The generated front checks recent entries inline: a clear removes them there too."""
    f = guards.specialize(ratio)
    f(6, 3)
    f(6, 3)
    old = f.cache.entries[0]
    assert old.hits == 1
    f.cache_clear()
    assert f.cache_info() == (0, 0, 8, 0)
    assert f(6, 3) == 2
    assert old.hits == 1  # the cleared entry did not answer
    assert f.cache_info() == (0, 1, 8, 1)
    assert f(6, 3) == 2 and f.cache_info() == (1, 1, 8, 1)


def test_uncached_runs_are_misses_so_hits_and_misses_add_up_to_the_calls(
    quiet_recompiles: None,
) -> None:
    """A run that cannot be cached ran the function: lru_cache would call it a miss."""
    seen: list[int] = []

    @guards.specialize
    def record(x: int) -> int:
        seen.append(x)  # a write to a global list: never cached
        return x

    for x in (1, 1, 2):
        record(x)
    assert record.cache_info() == (0, 3, 8, 0)
    assert record.cache.info().uncached == 3
    record.cache_clear()
    assert record.cache_info() == (0, 0, 8, 0)
    assert record.specialized.uncached_reasons  # kept: why it cannot be cached still holds


def test_calls_that_skip_the_lookup_are_misses_too(quiet_recompiles: None) -> None:
    """In a disabled region the cache is not even looked at; cache_info still counts the call."""
    @guards.specialize
    def double(x: int) -> int:
        return 2 * x

    @guards.disable
    def outside(x: int) -> int:
        return double(x)

    assert double(1) == 2 and double(1) == 2 and outside(1) == 2
    assert double.cache_info() == (1, 2, 8, 1)
    assert double.cache.info().misses == 1  # GuardedCache counts lookups only
    assert double.cache.bypassed == 1
    double.cache_clear()
    assert double.cache.bypassed == 0 and double.cache_info() == (0, 0, 8, 0)


def test_keyword_or_positional_is_one_entry_where_lru_cache_keeps_two() -> None:
    """Where the two disagree: guards key on the values read, not on how they were passed."""
    lru = functools.lru_cache(typed=True)(ratio)
    ours = guards.specialize(ratio)
    for f in (lru, ours):
        f(1, 2)
        f(1, b=2)
    assert lru.cache_info() == (0, 2, 128, 2)
    assert ours.cache_info() == (1, 1, 8, 1)


class Cart:
    def __init__(self, prices: list[float]) -> None:
        self.prices = prices

    @guards.specialize(max_entries=4)
    def total(self) -> float:
        return sum(self.prices)

    @classmethod
    @guards.specialize
    def unit(cls, amount: float) -> str:
        return f"{amount} {cls.__name__}"


@pytest.mark.parametrize("clear_through", ["instance", "class"])
def test_a_methods_surface_is_its_one_cache_for_every_instance(clear_through: str) -> None:
    """obj.f.cache_info() takes no instance: it is the method's cache, as lru_cache's is."""
    a, b = Cart([1.0]), Cart([2.0])
    Cart.total.cache_clear()
    a.total()
    b.total()
    a.total()
    assert a.total.cache_info() == b.total.cache_info() == Cart.total.cache_info()
    assert Cart.total.cache_info() == (1, 2, 4, 2)
    assert a.total.cache_parameters() == {"maxsize": 4, "typed": True}
    (a.total if clear_through == "instance" else Cart.total).cache_clear()
    assert b.total.cache_info() == (0, 0, 4, 0)


def test_a_classmethods_surface_is_reached_through_the_class() -> None:
    Cart.unit.cache_clear()
    assert Cart.unit(2.0) == Cart.unit(2.0) == "2.0 Cart"
    assert Cart.unit.cache_info() == (1, 1, 8, 1)
    assert Cart.unit.cache_parameters() == {"maxsize": 8, "typed": True}
