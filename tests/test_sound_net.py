"""The net under a traced run, on every Python the package declares (3.11 to 3.13).

The net (:mod:`guards.tracking.net`) sees frames start and C code raise through
``sys.setprofile`` on 3.11 and through ``sys.monitoring`` on 3.12 and later.  What
users get must not depend on which: C code that rejects a scalar stand-in, even
where the function swallows the error without looking at it (a bare
``except:``), makes the run fall back to the exact values; and after any number
of runs (misses, errors, nested and concurrent traces) no hook is left behind:
``sys.getprofile()`` is what it was, and no ``sys.monitoring`` tool id stays taken.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest

import guards

#: ``sys.monitoring`` where the Python has it (3.12 and later), else None.
MONITORING: Any = getattr(sys, "monitoring", None)


class Named:
    x = 1
    y = 2


def joined(a: str) -> str:
    try:
        return ",".join([a, "q"])
    except:  # noqa: E722 - the point: no name is looked up while handling
        return "caught"


def attribute(a: str) -> Any:
    try:
        return getattr(Named, a)
    except:  # noqa: E722
        return "caught"


def unpacked(a: str) -> str:
    try:
        return ",".join(*[[a, "q"]])  # CALL_FUNCTION_EX
    except:  # noqa: E722
        return "caught"


def keyword(a: str) -> Any:
    try:
        return "abc".split(sep=a)  # CALL_KW on 3.13
    except:  # noqa: E722
        return "caught"


def nested(a: str) -> str:
    def inner(s: str) -> str:
        return ",".join([s, "q"])  # raises in the callee's frame

    try:
        return inner(a)
    except:  # noqa: E722
        return "caught"


@pytest.mark.parametrize(
    ("fn", "values"),
    [
        (joined, ["x", "x", "y"]),
        (attribute, ["x", "x", "y"]),
        (unpacked, ["x", "x", "y"]),
        (keyword, ["b", "b", "c"]),
        (nested, ["x", "x", "y"]),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_c_code_rejecting_a_stand_in_falls_back_though_the_error_is_swallowed(
    fn: Callable[[str], Any], values: list[str]
) -> None:
    """Each call returns what the plain function returns (never "caught"), and the
    run that fell back is cached by value: the repeated value hits."""
    fast = guards.specialize(max_entries=8)(fn)
    for value in values:
        assert fast(value) == fn(value) != "caught", value
    info = fast.cache.info()
    assert (info.hits, info.misses, info.uncached) == (1, 2, 0)


def hooks() -> tuple[Any, ...]:
    """The profile function, the trace function, and the name of every
    ``sys.monitoring`` tool id (3.12+)."""
    tools = () if MONITORING is None else tuple(MONITORING.get_tool(t) for t in range(6))
    return (sys.getprofile(), sys.gettrace(), *tools)


class _Watch(logging.Handler):
    """A handler that notes the hooks as they are while a traced run logs."""

    def __init__(self) -> None:
        super().__init__()
        self.during: list[tuple[Any, ...]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.during.append(hooks())


def test_the_net_holds_a_hook_while_tracing_and_leaves_none_after_many_runs() -> None:
    before = hooks()
    log = logging.getLogger("guards.tests.net")
    log.propagate = False
    watch = _Watch()
    log.addHandler(watch)
    log.setLevel(logging.INFO)

    @guards.specialize(max_entries=4)
    def logged(n: int) -> int:
        log.info("n")
        return n * 2

    @guards.specialize(max_entries=4)
    def fails(n: int) -> int:
        if n % 3 == 0:
            raise ValueError(n)
        return logged(n) + 1  # a trace inside a trace

    @guards.specialize(max_entries=4)
    def rejected(a: str) -> str:
        try:
            return ",".join([a])
        except:  # noqa: E722
            return "caught"

    def work(offset: int) -> None:
        for i in range(offset, offset + 60):
            assert logged(i) == i * 2
            try:
                assert fails(i) == i * 2 + 1
            except ValueError:
                assert i % 3 == 0
            assert rejected(str(i)) == str(i)

    try:
        work(0)
        threads = [threading.Thread(target=work, args=(1000 * k,)) for k in range(1, 3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        log.removeHandler(watch)
    assert logged.cache.info().misses > 60
    assert hooks() == before
    assert watch.during  # the handler ran inside traced runs, with the net open
    if MONITORING is None:  # 3.11: the net is the tracing thread's trace function
        assert all(seen[1] is not None for seen in watch.during)
    else:  # 3.12+: a tool id of its own, no profile function
        assert all(seen[0] is None for seen in watch.during)
        assert all(
            "guards untraced-code net" in seen[2:] for seen in watch.during
        ), watch.during[:3]
