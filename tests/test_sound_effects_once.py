"""Effects of a specialized call happen once, even when its traced run is given up.

A run the trace cannot finish (it raises, or meets an effect it cannot replay) is
made again plainly.  So the traced run must not have had an effect of its own
before that point: a call of library code that guards does not know to read only
its arguments is stopped before it happens, and the plain run makes it, once.
"""

from __future__ import annotations

import io
import random
from contextlib import redirect_stdout, suppress
from typing import Any

import guards


def test_a_print_before_an_exception_prints_once() -> None:
    @guards.specialize
    def checked(x: int) -> int:
        print("checking", x)
        if x < 0:
            raise ValueError("negative")
        return x

    out = io.StringIO()
    with redirect_stdout(out), suppress(ValueError):
        checked(-1)
    assert out.getvalue() == "checking -1\n"


def test_a_print_before_a_write_to_an_input_prints_once() -> None:
    @guards.specialize
    def push(items: list[int], x: int) -> int:
        print("pushing", x)
        items.append(x)
        return len(items)

    out = io.StringIO()
    items: list[int] = []
    with redirect_stdout(out):
        assert push(items, 1) == 1
    assert out.getvalue() == "pushing 1\n"
    assert items == [1]


def test_a_random_draw_before_an_exception_draws_once() -> None:
    """The random stream after the call is the one a plain call leaves."""

    def draw(x: int) -> Any:
        r = random.random()
        return r / x

    fast = guards.specialize(draw)
    random.seed(7)
    with suppress(ZeroDivisionError):
        fast(0)
    after_specialized = random.random()
    random.seed(7)
    with suppress(ZeroDivisionError):
        draw(0)
    assert after_specialized == random.random()


def test_a_call_that_prints_still_returns_the_plain_result() -> None:
    @guards.specialize
    def shout(word: str) -> str:
        print(word)
        return word.upper()

    out = io.StringIO()
    with redirect_stdout(out):
        assert shout("a") == "A"
        assert shout("a") == "A"
    assert out.getvalue() == "a\na\n"
    assert shout.cache.info().hits == 0
