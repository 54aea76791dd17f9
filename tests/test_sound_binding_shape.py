"""A specialized function binds every call as the function binds it *now*.

``__defaults__``, ``__kwdefaults__`` and ``__code__`` can be reassigned after
``@specialize``; every call must then behave as a plain call of the function:
the same result, or the same ``TypeError`` with the same message.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, strategies as st

import guards


def outcome(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str, Any]:
    try:
        return ("value", fn(*args, **kwargs))
    except TypeError as exc:
        return ("raises", str(exc))


def shaped(p: int, q: int = 2, /, r: int = 3, *, k: int, m: int = 5) -> tuple[int, ...]:
    return (p, q, r, k, m)


POSITIONAL_DEFAULTS = st.lists(st.integers(10, 19), max_size=4).map(lambda d: tuple(d) or None)
KW_DEFAULTS = st.dictionaries(st.sampled_from(["k", "m"]), st.integers(20, 29)).map(
    lambda d: d or None
)
CALLS = st.tuples(
    st.lists(st.integers(0, 9), max_size=5).map(tuple),
    st.dictionaries(st.sampled_from(["p", "q", "r", "k", "m", "z"]), st.integers(0, 9)),
)


@given(defaults=POSITIONAL_DEFAULTS, kwdefaults=KW_DEFAULTS, calls=st.lists(CALLS, max_size=4))
def test_calls_after_the_defaults_are_reassigned_bind_as_plain_calls(
    defaults: tuple[int, ...] | None, kwdefaults: dict[str, int] | None,
    calls: list[tuple[tuple[int, ...], dict[str, int]]],
) -> None:
    """Any new __defaults__ / __kwdefaults__ (longer, shorter, gone): results and errors."""
    function: Any = type(shaped)(shaped.__code__, shaped.__globals__, "shaped", shaped.__defaults__)
    function.__kwdefaults__ = dict(shaped.__kwdefaults__ or {})
    function.__qualname__ = "shaped"
    fast = guards.specialize(function)
    assert outcome(fast, (1,), {"k": 4}) == ("value", (1, 2, 3, 4, 5))
    function.__defaults__ = defaults
    function.__kwdefaults__ = kwdefaults
    for args, kwargs in [*calls, ((1,), {"k": 4}), ((), {})]:
        for _ in range(2):  # the second call may hit
            assert outcome(fast, args, kwargs) == outcome(function, args, kwargs)


def test_a_parameter_that_gains_a_default_may_be_omitted() -> None:
    """The wrapper's own signature does not reject a call the function now accepts."""

    def f(a: int, b: int = 1) -> int:
        return a + b

    fast = guards.specialize(f)
    assert fast(1) == 2
    f.__defaults__ = (10, 20)
    assert fast() == f() == 30
    assert fast() == 30
    assert fast.cache.info().hits == 1


def test_a_parameter_that_loses_its_default_is_reported_missing_as_python_does() -> None:
    def f(a: int, b: int = 1, *, k: int = 2) -> int:
        return a + b + k

    fast = guards.specialize(f)
    assert fast(1) == 4
    f.__defaults__ = None
    f.__kwdefaults__ = None
    assert outcome(fast, (1,), {}) == outcome(f, (1,), {})
    assert outcome(fast, (), {}) == (
        "raises", "test_a_parameter_that_loses_its_default_is_reported_missing_as_python_does."
        "<locals>.f() missing 2 required positional arguments: 'a' and 'b'"
    )
    assert outcome(fast, (1, 2), {}) == outcome(f, (1, 2), {})
    assert fast(1, 2, k=3) == 6


def test_too_many_arguments_are_reported_with_the_current_defaults() -> None:
    def f(a: int, b: int = 1) -> int:
        return a + b

    fast = guards.specialize(f)
    for defaults in [(1,), None, (1, 2)]:
        f.__defaults__ = defaults
        assert outcome(fast, (1, 2, 3), {}) == outcome(f, (1, 2, 3), {})
        assert outcome(fast, (1, 2, 3), {"a": 1}) == outcome(f, (1, 2, 3), {"a": 1})


def test_a_replaced_code_runs_uncached_and_the_old_entries_serve_again_when_it_is_back() -> None:
    def f(x: int) -> int:
        return x + 1

    def g(x: int) -> int:
        return x * 100

    fast = guards.specialize(f)
    original = f.__code__
    assert fast(2) == 3
    assert fast(2) == 3
    f.__code__ = g.__code__
    assert fast(2) == f(2) == 200
    assert fast(2) == 200
    info = fast.cache.info()
    assert info.uncached == 2
    assert any("__code__ of" in reason and "replaced" in reason
               for reason in fast.specialized.uncached_reasons)
    f.__code__ = original
    assert fast(2) == 3
    assert fast.cache.info().hits == info.hits + 1


def test_a_replaced_code_binds_its_own_parameters() -> None:
    def f(x: int, y: int = 1) -> int:
        return x + y

    def g(x: int, y: int = 1, z: int = 5) -> int:
        return x + y + z

    fast = guards.specialize(f)
    assert fast(1) == 2
    f.__code__, f.__defaults__ = g.__code__, g.__defaults__
    assert fast(1) == f(1) == 7
    assert fast(1, 2, 3) == f(1, 2, 3) == 6
