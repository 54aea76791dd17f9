"""``a is b`` stays what it was: false as well as true (issue 9, kind 4).

Two paths to one object are guarded by ``DUPLICATE_INPUT``; when traced code
compares two values with ``is``, the tracked objects that were distinct are
guarded distinct by one ``NO_ALIASING`` check (Dynamo's ``NO_TENSOR_ALIASING``
for any object): ``a is b`` false, and ``x is SENTINEL`` with a default sentinel.
"""

from __future__ import annotations

from typing import Any

import pytest

import guards
from guards import GuardBuilder, GuardsTypeError, LocalSource, compile_guards

_MISSING = object()


def test_no_aliasing_passes_while_the_objects_are_distinct() -> None:
    a, b, c = [1], [1], [2]
    guard = LocalSource("a").make_guard(
        GuardBuilder.NO_ALIASING, others=(LocalSource("b"), LocalSource("c"))
    )
    cf = compile_guards([guard], {"a": a, "b": b, "c": c})
    assert cf.check({"a": a, "b": b, "c": c})
    assert cf.check({"a": c, "b": a, "c": b})
    assert not cf.check({"a": a, "b": a, "c": c})
    result = cf.check_verbose({"a": a, "b": b, "c": b})
    assert not result
    assert "L['a'], L['b'], L['c'] are distinct objects" in str(result)


def test_no_aliasing_needs_sources() -> None:
    with pytest.raises(GuardsTypeError, match="others"):
        compile_guards([LocalSource("a").make_guard(GuardBuilder.NO_ALIASING)], {"a": 1})


def test_two_arguments_that_were_distinct_stay_distinct() -> None:
    """The soundness case a060: (x, x), then (x, y), then (y, y) must not hit (x, y)'s entry."""

    @guards.specialize
    def f(a: list[int], b: list[int]) -> tuple[int, bool, bool]:
        return len(a) + len(b), a == b, a is b

    x, y = [1], [1]
    calls = [(x, x), (x, x), (x, y), (y, y), (y, x), (x, x)]
    for args in calls:
        assert f(*args) == f.__wrapped__(*args)
    assert f.cache.info().hits >= 2


def test_a_default_sentinel() -> None:
    """``x is _MISSING`` where the default is a module-level sentinel object."""

    @guards.specialize
    def f(x: Any = _MISSING) -> str:
        return "default" if x is _MISSING else "given"

    other = object()
    assert f() == "default"
    assert f(other) == "given"
    assert f() == "default"
    assert f(_MISSING) == "default"
    assert f(other) == "given"
    assert f.cache.info().hits >= 2


def test_only_comparisons_to_constants_need_no_aliasing_guard() -> None:
    """``x is None`` alone installs no NO_ALIASING check."""

    @guards.specialize
    def f(a: list[int], b: list[int]) -> int:
        return len(a) if a is not None else len(b)

    f([1], [2])
    kinds = {g.kind for g in f.cache.entries[0].check.guards}
    assert "NO_ALIASING" not in kinds


def test_identity_tests_inside_a_comprehension_count() -> None:
    """The comprehension's own code object tests identity; the tracer never enters it."""

    @guards.specialize
    def positions(items: list[Any], target: Any) -> list[int]:
        return [i for i, item in enumerate(items) if item is target]

    x, y = object(), object()
    for args in (([x, y], x), ([x, y], y), ([x, x], x), ([y, x], x), ([x, y], y)):
        assert positions(*args) == positions.__wrapped__(*args)
    assert positions.cache.info().hits >= 1
