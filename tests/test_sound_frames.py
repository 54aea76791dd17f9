"""Code that reads the call stack sees a plain run's stack, or runs plainly.

A traced run has the tracer's frames between the user's frames.  A function
that reads frames (``sys._getframe``, ``inspect.stack``, ``f_back``), itself or
in a function it calls, runs plainly and uncached; a logging call is run so
that its record names the user's function and line, and the function caches.
"""

from __future__ import annotations

import inspect
import logging
import sys
from sys import _getframe as frame_at
from typing import Any

import pytest

import guards


def caller_name() -> str:
    return sys._getframe(2).f_code.co_name  # who called my caller


def log_prefix() -> str:
    return f"[{caller_name()}]"


def outer_name_by_inspect() -> str:
    return inspect.stack()[2].function


def outer_name_by_alias() -> str:
    return frame_at(2).f_code.co_name


def outer_name_in_a_comprehension() -> str:
    return next(sys._getframe(3).f_code.co_name for _ in range(1))


@pytest.mark.parametrize(
    "reader",
    [caller_name, outer_name_by_inspect, outer_name_by_alias, outer_name_in_a_comprehension],
)
def test_a_callee_that_reads_the_stack_sees_the_plain_stack(reader: Any) -> None:
    def via(x: int) -> str:
        return reader() + str(x)

    namespace = {"via": via}

    def compute(x: int) -> str:
        return namespace["via"](x)

    spec = guards.specialize(compute)
    for _ in range(2):
        assert spec(1) == compute(1) == "compute1"
    assert spec.cache.info().hits == 0
    assert any("call stack" in reason for reason in spec.specialized.uncached_reasons)


def test_the_specialized_function_itself_may_read_its_frame() -> None:
    @guards.specialize
    def where(x: int) -> str:
        return sys._getframe(0).f_code.co_name + str(x)

    assert where(1) == where.__wrapped__(1) == "where1"


def callers_caller_from_a_traceback() -> str:
    try:
        raise ValueError
    except ValueError as exc:
        assert exc.__traceback__ is not None
        back = exc.__traceback__.tb_frame.f_back
        assert back is not None
        return back.f_code.co_name


def test_f_back_of_a_frame_from_a_traceback_sees_the_plain_stack() -> None:
    def who(x: int) -> str:
        return callers_caller_from_a_traceback() + str(x)

    spec = guards.specialize(who)
    assert spec(1) == who(1) == "who1"


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def records() -> Any:
    logger = logging.getLogger("guards.test.frames")
    handler = Records()
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.DEBUG)
    yield logger, handler.records
    logger.removeHandler(handler)
    logger.setLevel(old)


def test_a_logging_call_names_the_users_function_and_still_caches(records: Any) -> None:
    log, seen = records

    @guards.specialize
    def double(cfg: dict[str, int]) -> int:
        log.debug("computing %s", cfg["n"])
        logging.getLogger("guards.test.frames").info("again")
        return cfg["n"] * 2

    cfg = {"n": 2}
    assert double(cfg) == 4
    plain_line = inspect.getsourcelines(double.__wrapped__)[1] + 2
    assert [(r.funcName, r.lineno, r.getMessage()) for r in seen] == [
        ("double", plain_line, "computing 2"),
        ("double", plain_line + 1, "again"),
    ]
    assert double(cfg) == 4
    assert double.cache.info().hits == 1, double.specialized.uncached_reasons
    assert len(seen) == 2  # a hit skips the body, as it skips printing


def test_a_logging_call_with_stack_info_runs_plainly(records: Any) -> None:
    log, seen = records

    @guards.specialize
    def noisy(x: int) -> int:
        log.info("x=%s", x, stack_info=True)
        return x

    assert noisy(1) == 1
    assert "call_function" not in seen[0].stack_info
    assert noisy.cache.info().entries == 0


def test_a_library_function_that_reads_the_stack_a_few_calls_down_sees_the_plain_stack() -> None:
    """typing.NamedTuple names its caller's module through typing._caller (sys._getframe)."""
    import typing

    @guards.specialize
    def make(n: int) -> tuple[str, int]:
        point = typing.NamedTuple("Point", [("x", int)])  # noqa: UP014 (the functional form)
        return point.__module__, n

    assert make(1) == make.__wrapped__(1) == (__name__, 1)
    assert make.cache.info().entries == 0


def test_walking_a_traceback_sees_a_plain_runs_frames() -> None:
    """The traceback of an error raised for a tracked value passed through the tracer."""

    @guards.specialize
    def depth(d: dict[str, int]) -> int:
        try:
            return d["missing"]
        except KeyError as exc:
            tb, n = exc.__traceback__, 0
            while tb is not None:
                n, tb = n + 1, tb.tb_next
            return n

    assert depth({"a": 1}) == depth.__wrapped__({"a": 1}) == 1


def test_reading_a_stack_reader_without_calling_it_still_caches() -> None:
    """Traced code gets a stand-in, which stops the run only when called."""

    @guards.specialize
    def reader(mod: Any, x: int) -> Any:
        return mod._getframe, x

    assert reader(sys, 1) == reader(sys, 1) == (sys._getframe, 1)
    assert reader(sys, 1)[0] is sys._getframe
    assert reader.cache.info().hits == 2
