"""One object reached by two paths (an argument and a global), then an equal but distinct one.

When no traced code compares identities, each path gets its own proxy and guards what
is read through it: passing the global's object, then an equal distinct one, is one
miss (issue 11).  Where identity can matter (``is``, ``id()``, ``==`` and ``hash`` by
identity, dict and set keys, weakrefs, a result holding the object, a write through
one path), every call here still answers as the plain function (``f.__wrapped__``).
"""

from __future__ import annotations

import operator
import weakref
from collections.abc import Callable
from typing import Any

import guards


class Box:
    def __init__(self, v: int) -> None:
        self.v = v


class Never:
    """Equal to nothing, itself included: only identity makes ``x in [x]`` true."""

    def __init__(self, v: int) -> None:
        self.v = v

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = object.__hash__


SHARED = Box(1)
OTHER = Box(1)
ODD = Never(1)
ODD_OTHER = Never(1)
IDENTITY_FUNCTIONS = ("is_", "is_not")


def replay(fn: Callable[..., Any], *calls: Any, reset: Callable[[], None] = lambda: None) -> Any:
    """``@specialize(fn)`` called with each argument; every result must be the plain
    function's, down to which parts are the inputs themselves.  Returns it."""
    specialized = guards.specialize(max_entries=64)(fn)
    for arg in calls:
        reset()
        expected = specialized.__wrapped__(arg)
        reset()
        got = specialized(arg)
        assert shape(got, arg) == shape(expected, arg), (fn.__name__, arg)
    return specialized


def shape(result: Any, arg: Any) -> Any:
    """A result's value, and for each part that is a Box, which object it is."""
    if isinstance(result, (list, tuple)):
        return [shape(item, arg) for item in result]
    if isinstance(result, (Box, Never)):
        return ("box", result.v, result is arg, result is SHARED, result is OTHER)
    return result


def misses(specialized: Any) -> int:
    return int(specialized.cache.info().misses)


def guard_kinds(specialized: Any) -> set[str]:
    return {guard.kind for entry in specialized.cache.entries for guard in entry.check.guards}


# ------------------------------------------------------------------ the precision case
def combine(a: Box) -> int:
    return a.v + SHARED.v


def test_two_paths_to_one_object_guard_each_path_not_their_aliasing() -> None:
    f = replay(combine, SHARED, OTHER, SHARED, OTHER)
    assert misses(f) == 1
    assert "DUPLICATE_INPUT" not in guard_kinds(f)


def test_a_changed_value_read_through_either_path_still_misses() -> None:
    f = replay(combine, SHARED, OTHER, Box(5))
    assert misses(f) == 2


# ------------------------------------------------------------------ identity tests
def same(a: Box) -> bool:
    return a is SHARED


def compares_later(a: Box) -> bool:
    return is_same(a, SHARED)  # both paths have proxies before is_same is entered


def reads_then_compares(a: Box) -> tuple[int, bool]:
    return a.v + SHARED.v, is_same(a, SHARED)


def is_same(x: Box, y: Box) -> bool:
    return x is y


def op_same(a: Box) -> tuple[int, bool]:
    return a.v + SHARED.v, operator.is_(a, SHARED)


def op_same_by_getattr(a: Box) -> tuple[int, bool, bool]:
    is_, is_not = (getattr(operator, name) for name in IDENTITY_FUNCTIONS)  # no name to scan
    return a.v + SHARED.v, is_(a, SHARED), is_not(SHARED, a)


def ids(a: Box) -> bool:
    return id(a) == id(SHARED) and a.v == SHARED.v


def equal(a: Box) -> int:
    return a.v + SHARED.v if a == SHARED else -1


def not_equal(a: Box) -> bool:
    return a != SHARED


def test_identity_tests_see_one_object_or_two() -> None:
    for fn in (same, compares_later, reads_then_compares, op_same, op_same_by_getattr, ids,
               equal, not_equal):
        f = replay(fn, SHARED, OTHER, SHARED, OTHER, SHARED)
        assert misses(f) == 2, fn.__name__


def test_an_identity_test_entered_after_the_split_retraces_the_run() -> None:
    f = replay(compares_later, SHARED)
    assert "DUPLICATE_INPUT" in guard_kinds(f)


# ------------------------------------------------------------------ keys and weakrefs
def keyed(a: Box) -> int:
    table = {a: 10}
    return table.get(SHARED, 0) + a.v


def in_set(a: Box) -> int:
    return len({a, SHARED})


def in_list(a: Never) -> bool:
    return ODD in [a]


def weakly(a: Box) -> bool:
    ref = weakref.ref(a)
    return ref() == SHARED


def weak_key(a: Box) -> Any:
    table: weakref.WeakKeyDictionary[Box, int] = weakref.WeakKeyDictionary()
    table[a] = 3
    return table.get(SHARED)


def matched(a: Box) -> int:
    match a:
        case Box(v=v):
            return v + SHARED.v
    return 0


def test_objects_as_keys_and_weak_references_see_one_object_or_two() -> None:
    for fn in (keyed, in_set, weakly, weak_key):
        replay(fn, SHARED, OTHER, SHARED, OTHER)


def test_an_object_whose_eq_is_not_identity_keeps_one_proxy() -> None:
    # `x in [x]` is true by identity alone: two proxies would answer False.
    f = replay(in_list, ODD, ODD)
    assert "DUPLICATE_INPUT" in guard_kinds(f)


def test_class_patterns_read_each_path() -> None:
    f = replay(matched, SHARED, OTHER, SHARED, Box(2))
    assert misses(f) == 2


# ------------------------------------------------------------------ results and writes
def returns_input(a: Box) -> tuple[Box, int]:
    return a, SHARED.v


def returns_both(a: Box) -> list[Box]:
    return [a, SHARED]


def returns_global(a: Box) -> tuple[int, Box]:
    return a.v, SHARED


def test_a_result_holding_the_object_keeps_aliasing_as_a_plain_call() -> None:
    for fn in (returns_input, returns_both, returns_global):
        replay(fn, SHARED, OTHER, SHARED, OTHER, SHARED)


def bump(a: Box) -> int:
    a.v += 1
    return SHARED.v


def test_a_write_through_one_path_is_seen_through_the_other() -> None:
    def reset() -> None:
        SHARED.v = OTHER.v = 1

    try:
        replay(bump, SHARED, OTHER, SHARED, OTHER, reset=reset)
    finally:
        reset()
