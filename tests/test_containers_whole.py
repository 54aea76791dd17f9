"""A fully read list or tuple of scalars is guarded as one value (issue 12, item 2).

``@specialize def total(xs): return sum(xs)`` over 10,000 ints installs one
``SEQUENCE_VALUES_MATCH`` on ``xs`` (its exact type, its length, every item's
exact type and value, compared in C), not one guard per item.  A hit must still
return what a fresh call would: any change of an item's value or exact type,
of the length or of the container's type misses.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

import guards
from guards import GuardBuilder, GuardBuildError, LocalSource, compile_guards
from guards.core.values import item_addresses
from guards.specialization.tracer import WHOLE_AT

N = 10_000


def kinds(fast: Any) -> list[tuple[str, str]]:
    """(source, kind) of every guard of the function's one entry."""
    [entry] = fast.cache.entries
    return [(g.source.name, g.kind) for g in entry.check.guards]


def same(a: Any, b: Any) -> bool:
    """The same result, down to the exact types and the sign of zeros (NaN is NaN)."""
    return repr(a) == repr(b) and type(a) is type(b) and (
        type(a) not in (list, tuple) or list(map(type, a)) == list(map(type, b))
    )


def _total(xs: Any) -> Any:
    return sum(xs)


def _items(xs: Any) -> Any:
    return tuple(xs)


# ------------------------------------------------------------------ one guard, not 10,001
def test_sum_over_ten_thousand_ints_is_one_guard_on_the_list() -> None:
    fast = guards.specialize(_total)
    xs = list(range(N))
    assert fast(xs) == sum(xs)
    assert ("L['xs']", "SEQUENCE_VALUES_MATCH") in kinds(fast)
    assert len(kinds(fast)) <= 2  # the list, and the builtin `sum` itself
    assert fast(xs) == sum(xs)
    assert fast(list(range(N))) == sum(xs)  # an equal fresh list hits too
    assert fast.cache.info().hits == 2


@pytest.mark.parametrize("read", [
    sum, min, max, sorted, list, tuple, lambda xs: 5 in xs, lambda xs: [x * 2 for x in xs],
    lambda xs: len(xs) + sum(x for x in xs if x % 2),
], ids=["sum", "min", "max", "sorted", "list", "tuple", "in", "listcomp", "genexpr"])
def test_every_way_of_reading_all_items_is_one_guard(read: Any) -> None:
    def f(xs: list[int]) -> Any:
        return read(xs)

    fast = guards.specialize(f)
    xs = list(range(N))
    assert fast(xs) == f(xs)
    assert [k for s, k in kinds(fast) if s.startswith("L['xs']")] == ["SEQUENCE_VALUES_MATCH"]
    changed = list(xs)
    changed[N // 2] = -1
    assert fast(changed) == f(changed)
    assert fast(xs) == f(xs)
    assert fast.cache.info().hits == 1


def test_a_tuple_is_guarded_whole_and_the_same_tuple_hits() -> None:
    fast = guards.specialize(_total)
    xs = tuple(i * 0.5 for i in range(N))
    assert fast(xs) == sum(xs)
    assert fast(xs) == sum(xs)
    assert fast(list(xs)) == sum(xs)  # a list is another exact type: a miss
    assert fast.cache.info().hits == 1
    assert fast.cache.info().misses == 2


# ------------------------------------------------------------------ soundness
def _mutations() -> list[tuple[str, Any]]:
    def append(xs: list[Any]) -> None:
        xs.append(0)

    def pop(xs: list[Any]) -> None:
        xs.pop()

    def set_at(index: int, value: Any) -> Any:
        def mutate(xs: list[Any]) -> None:
            xs[index] = value
        return mutate

    return [
        ("append", append), ("pop", pop), ("change", set_at(7, 8)),
        ("int to float", set_at(1, 1.0)), ("int to bool", set_at(1, True)),
        ("int to int subclass", set_at(1, _Int(1))), ("int to str", set_at(1, "1")),
        ("last item", set_at(-1, -1)), ("to None", set_at(0, None)),
    ]


class _Int(int):
    pass


@pytest.mark.parametrize(("name", "mutate"), _mutations(), ids=[n for n, _ in _mutations()])
def test_a_mutation_of_the_list_after_the_call_misses(name: str, mutate: Any) -> None:
    fast = guards.specialize(_items)
    xs: list[Any] = list(range(WHOLE_AT * 2))
    assert fast(xs) == tuple(xs)
    mutate(xs)
    assert same(fast(xs), _items(xs))
    assert fast.cache.info().hits == 0


def test_one_to_one_point_oh_to_true_each_miss() -> None:
    """1 == 1.0 == True: the exact types tell them apart, at any position."""
    fast = guards.specialize(_total)
    for item in (1, 1.0, True, 1, 1.0, True):
        xs = [0] * (WHOLE_AT - 1) + [item]
        assert same(fast(xs), _total(xs))
    assert fast.cache.info().misses == 3
    assert fast.cache.info().hits == 3


def test_the_sign_of_a_zero_is_compared() -> None:
    fast = guards.specialize(_items)
    zeros = [0.0] * WHOLE_AT
    assert same(fast(zeros), _items(zeros))
    negative = list(zeros)
    negative[100] = -0.0
    assert same(fast(negative), _items(negative))  # -0.0 == 0.0, yet it prints apart
    assert fast.cache.info().misses == 2
    mixed = [1, "a", 0.0, complex(0.0, 0.0)] * (WHOLE_AT // 4)
    assert same(fast(mixed), _items(mixed))
    flipped = list(mixed)
    flipped[-1] = complex(0.0, -0.0)
    assert same(fast(flipped), _items(flipped))
    assert same(fast(list(mixed)), _items(mixed))
    assert fast.cache.info().hits == 1


def test_a_nan_item_matches_itself_only() -> None:
    """NaN equals nothing, but `nan in xs` and `xs.index(nan)` find the very object: an
    entry made with one NaN object is reused for that object only."""
    nan = float("nan")

    @guards.specialize
    def where(xs: list[float], x: float) -> Any:
        return x in xs

    xs = [1.0] * WHOLE_AT + [nan]
    assert where(xs, nan) is True
    assert where(list(xs), nan) is True  # the same NaN object: a hit
    other = [1.0] * WHOLE_AT + [float("nan")]
    assert where(other, nan) is False  # another NaN: `nan in other` is False
    assert where.cache.info().hits == 1


def test_int_subclass_items_are_tracked_one_by_one() -> None:
    """Items of a user type are not scalars: the whole-value guard is not used."""
    fast = guards.specialize(_items)
    xs = [_Int(i) for i in range(WHOLE_AT)]
    assert same(fast(xs), _items(xs))
    assert all(
        g.kind != "SEQUENCE_VALUES_MATCH" for e in fast.cache.entries for g in e.check.guards
    )
    xs[3] = 3  # an exact int now
    assert same(fast(xs), _items(xs))


def test_a_nested_list_keeps_its_item_by_item_guards() -> None:
    @guards.specialize
    def firsts(rows: list[list[int]]) -> int:
        return sum(row[0] for row in rows)

    rows = [[i, -i] for i in range(WHOLE_AT)]
    assert firsts(rows) == sum(range(WHOLE_AT))
    assert ("L['rows']", "SEQUENCE_VALUES_MATCH") not in kinds(firsts)
    rows[3][1] = 99  # not read: still a hit
    assert firsts(rows) == sum(range(WHOLE_AT))
    rows[3][0] = 1000
    assert firsts(rows) == sum(row[0] for row in rows)
    assert firsts.cache.info().hits == 1


def test_huge_ints_guard_the_digit_limit() -> None:
    """str() of a huge int reads sys.get_int_max_str_digits(): a whole-value read of
    huge ints guards it too, so a lower limit misses (and raises as a fresh call does)."""

    @guards.specialize
    def digits(xs: list[int]) -> list[int]:
        return [len(str(x)) for x in xs]

    xs = [10**1000 + i for i in range(WHOLE_AT)]
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(5000)
    try:
        assert digits(xs)[0] == 1001
        sys.set_int_max_str_digits(640)
        with pytest.raises(ValueError):
            digits(xs)
    finally:
        sys.set_int_max_str_digits(old)


# ------------------------------------------------------------------ precision
def test_reading_one_item_guards_only_that_item() -> None:
    @guards.specialize
    def first(xs: list[int]) -> int:
        return xs[0] * 2

    xs = list(range(N))
    assert first(xs) == 0
    xs[5] = -7
    xs.append(3)
    assert first(xs) == 0
    assert first.cache.info().hits == 1
    assert ("L['xs']", "SEQUENCE_VALUES_MATCH") not in kinds(first)


def test_item_guards_are_dropped_when_the_whole_list_is_guarded() -> None:
    """A read of xs[0] and then of all of xs: the whole-value guard says all."""

    @guards.specialize
    def f(xs: list[int]) -> Any:
        head = xs[0] if xs[0] > 0 else -1
        return head, sum(xs), xs[-1] == 5

    xs = list(range(1, N))
    assert f(xs) == (1, sum(xs), False)
    assert len(kinds(f)) <= 2
    assert [k for s, k in kinds(f) if s.startswith("L['xs'][")] == []
    xs[0] = -3
    assert f(xs) == (-1, sum(xs), False)
    assert f.cache.info().hits == 0


def test_len_and_every_item_read_by_index_become_one_guard() -> None:
    @guards.specialize
    def total(xs: list[int]) -> int:
        t = 0
        for i in range(len(xs)):
            t += xs[i]
        return t

    xs = list(range(WHOLE_AT + 10))
    assert total(xs) == sum(xs)
    assert [k for s, k in kinds(total) if s.startswith("L['xs']")] == ["SEQUENCE_VALUES_MATCH"]
    assert total(list(xs)) == sum(xs)
    xs[7] = True
    assert total(xs) == sum(xs)
    xs.append(1)
    assert total(xs) == sum(xs)
    assert total.cache.info().hits == 1


def test_items_read_by_index_without_the_length_stay_apart() -> None:
    """Guarding the whole list would add its length, which the function never read."""

    @guards.specialize
    def firsts(xs: list[int]) -> int:
        return sum(xs[i] for i in range(WHOLE_AT))

    xs = list(range(WHOLE_AT))
    assert firsts(xs) == sum(xs)
    assert ("L['xs']", "SEQUENCE_VALUES_MATCH") not in kinds(firsts)
    assert firsts([*xs, 5]) == sum(xs)  # a longer list: still a hit
    assert firsts.cache.info().hits == 1


# ------------------------------------------------------------------ the law
_scalars = st.one_of(
    st.integers(-3, 3),
    st.sampled_from([0.0, -0.0, 1.0, float("inf"), float("nan"), True, False, None]),
    st.text(max_size=2), st.binary(max_size=2), st.complex_numbers(max_magnitude=2),
)


@settings(max_examples=60, deadline=None)
@given(
    base=st.lists(_scalars, min_size=WHOLE_AT, max_size=WHOLE_AT + 20),
    edits=st.lists(st.tuples(st.integers(0, WHOLE_AT - 1), _scalars), max_size=3),
    as_tuple=st.booleans(),
)
def test_a_hit_equals_a_fresh_call(
    base: list[Any], edits: list[tuple[int, Any]], as_tuple: bool
) -> None:
    fast = guards.specialize(_items)
    assert same(fast(base), _items(base))
    changed = list(base)
    for index, value in edits:
        changed[index] = value
    arg: Any = tuple(changed) if as_tuple else changed
    hits = fast.cache.info().hits
    assert same(fast(arg), _items(arg))
    assert same(fast(arg), _items(arg))
    assert fast.cache.info().hits >= hits + 1


# ------------------------------------------------------------------ the guard kind
x = LocalSource("x")


def _check(value: Any) -> Any:
    return compile_guards([x.make_guard(GuardBuilder.SEQUENCE_VALUES_MATCH)], {"x": value})


def test_the_kind_compares_type_length_values_and_item_types() -> None:
    nan = float("nan")
    base = [1, 2.0, True, None, "a", b"b", 0.0, -0.0, nan, 1 + 0j]
    check = _check(base)
    assert check.check({"x": list(base)})
    assert not check.check({"x": tuple(base)})
    assert not check.check({"x": [*base, 1]})
    for index, other in [(0, True), (0, 1.0), (0, _Int(1)), (1, 2), (2, 1), (6, -0.0),
                         (7, 0.0), (8, float("nan")), (9, complex(1, -0.0)), (4, "b")]:
        changed = list(base)
        changed[index] = other
        assert not check.check({"x": changed}), (index, other)


def test_a_miss_says_which_index_differs_in_a_few_words() -> None:
    check = _check(list(range(N)))
    changed = list(range(N))
    changed[5000] = True
    text = str(check.check_verbose({"x": changed}))
    assert "first difference at index 5000: expected 5000, got True" in text
    assert len(text) < 1000
    changed[5000] = _Int(5000)
    text = str(check.check_verbose({"x": changed}))
    assert "expected 5000 (int), got 5000 (test_containers_whole._Int)" in text
    assert len(str(check)) < 1000  # rendered with the list cut short


def test_the_kind_refuses_items_that_are_not_exact_scalars() -> None:
    for value in ([[1]], [_Int(1)], {1: 2}, "abc", [object()]):
        with pytest.raises(GuardBuildError, match="needs a list, tuple, set or frozenset of"):
            _check(value)


def test_nan_signs_are_told_apart_by_repr_only_where_needed() -> None:
    """The explanation of a NaN item that is another object still points at it."""
    nan = float("nan")
    check = _check([nan])
    assert check.check({"x": [nan]})
    assert not check.check({"x": [float("nan")]})
    assert math.isnan(check.check_verbose({"x": [float("nan")]}).failures[0].actual[0])


def test_the_same_objects_pass_by_address_and_equal_others_by_value() -> None:
    floats = [i + 0.5 for i in range(WHOLE_AT)]
    check = _check(floats)
    assert item_addresses(floats) == item_addresses(tuple(floats))
    copy = [float(repr(f)) for f in floats]  # equal, other objects
    assert item_addresses(copy) != item_addresses(floats)
    assert check.check({"x": floats})
    assert check.check({"x": copy})
    copy[9] = 1.25
    assert not check.check({"x": copy})

    class MyList(list):  # type: ignore[type-arg]
        pass

    assert not check.check({"x": MyList(floats)})


def test_the_guard_keeps_its_items_alive() -> None:
    """The addresses it compares stay those of its own items: none is freed and reused."""
    check = _check([float(i) + 0.5 for i in range(WHOLE_AT)])
    for _ in range(3):
        garbage = [float(i) + 0.25 for i in range(WHOLE_AT)]
        assert not check.check({"x": garbage})
    assert check.check({"x": [float(i) + 0.5 for i in range(WHOLE_AT)]})


# ------------------------------------------------------------------ sets
def test_a_long_set_of_scalars_is_one_guard_in_iteration_order() -> None:
    fast = guards.specialize(_items)
    first = list(range(WHOLE_AT + 44))
    colliding = [2048 + k for k in range(10)] + [4096 + k for k in range(10)]
    s1, s2 = set(first + colliding), set(colliding + first)
    assert s1 == s2 and list(s1) != list(s2)  # equal sets, iterated in other orders
    assert fast(s1) == tuple(s1)
    assert [k for s, k in kinds(fast) if s.startswith("L['xs']")] == ["SEQUENCE_VALUES_MATCH"]
    assert fast(set(s1)) == tuple(set(s1))
    assert fast(s2) == tuple(s2)  # another order: a miss, and the result in that order
    assert fast(frozenset(s1)) == tuple(frozenset(s1))  # another exact type
    changed = set(s1)
    changed.discard(7)
    changed.add(7.0)
    assert same(fast(changed), _items(changed))
    assert fast.cache.info().misses == 4


@settings(max_examples=40, deadline=None)
@given(items=st.lists(_scalars, min_size=WHOLE_AT, max_size=WHOLE_AT + 40),
       other=st.lists(_scalars, min_size=WHOLE_AT, max_size=WHOLE_AT + 40))
def test_a_hit_on_a_set_equals_a_fresh_call(items: list[Any], other: list[Any]) -> None:
    fast = guards.specialize(_items)
    for value in (frozenset(items), frozenset(other), frozenset(items), frozenset(other)):
        assert same(fast(value), _items(value))
