"""What the tracer reads from bytecode holds for every Python the package declares.

3.11, 3.12 and 3.13 compile one source differently: 3.12 inlines comprehensions
into the function, 3.13 fuses pairs of instructions (``LOAD_FAST_LOAD_FAST``, and
``STORE_FAST_LOAD_FAST``: a comprehension's loop variable stored, then a
parameter loaded).  A parameter the bytecode reads only through such a fused
instruction is still read: it is guarded, and handed to the code as a tracked
value, so a call with another value misses instead of returning the first
call's result.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest

import guards


def scaled(xs: list[int], n: int) -> list[int]:
    return [n * x for x in xs]  # 3.13: STORE_FAST_LOAD_FAST (x, n)


def keyed(pairs: list[tuple[str, int]], n: int) -> dict[str, int]:
    return {k: n for k, _ in pairs}  # 3.13: LOAD_FAST_LOAD_FAST (k, n)


def shifted(xs: list[int], n: int) -> set[int]:
    return {x + n for x in xs}


def power(x: int, p: int) -> int:
    return x**p


def applied(fn: Callable[[int], int], xs: list[int]) -> list[int]:
    return [fn(x) for x in xs]  # 3.13: STORE_FAST_LOAD_FAST (x, fn)


@pytest.mark.parametrize("fn", [scaled, keyed, shifted], ids=lambda f: f.__name__)
def test_a_parameter_read_only_inside_a_comprehension_is_guarded(fn: Callable[..., Any]) -> None:
    fast = guards.specialize(fn)
    rows: Any = [("a", 1), ("b", 2)] if fn is keyed else [1, 2]
    for n in (1, 2, 2, 3):
        assert fast(rows, n) == fn(rows, n), n
    info = fast.cache.info()
    assert (info.hits, info.misses, info.uncached) == (1, 3, 0)


def test_a_callable_called_inside_a_comprehension_is_traced_into() -> None:
    """The partial is a tracked value: an equal fresh one hits, another exponent misses
    (were it handed over as itself, its function would run untraced: uncached)."""
    fast = guards.specialize(applied)
    assert fast(functools.partial(power, p=2), [1, 2]) == [1, 4]
    assert fast(functools.partial(power, p=2), [1, 2]) == [1, 4]
    assert fast(functools.partial(power, p=3), [1, 2]) == [1, 8]
    info = fast.cache.info()
    assert (info.hits, info.misses, info.uncached) == (1, 2, 0)
