"""Explanations a user can act on (issue 14, item 5), each tried as a user would.

Uncached reasons say where, explanations of functions that never cache say why,
``bool(f.explain(...))`` answers "would it miss", long containers show where they
differ, identity guards show their object, methods explain through the instance,
wrong decorator orders say which order works, and the logs and the command line
print plain, single lines.
"""

from __future__ import annotations

import inspect
import logging
import os
import re
from collections.abc import Callable
from typing import Any

import pytest

from guards import UntrackedCallError, specialize

FILE = os.path.basename(__file__)
ADDRESS = re.compile(r"0x[0-9a-fA-F]{4,}")


def line_of(function: Callable[..., Any], text: str) -> str:
    """``file:line`` of the one line of ``function``'s source that contains ``text``."""
    function = inspect.unwrap(function)
    lines, start = inspect.getsourcelines(function)
    [line] = [start + i for i, source in enumerate(lines) if text in source]
    return f"{FILE}:{line}"


def recompile_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records
        if r.name == "guards.recompiles" and r.levelno == logging.WARNING
    ]


# -- uncached reasons name the line ---------------------------------------------------------
def test_a_reason_names_the_line_of_the_operation_in_log_and_counts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The reason ends with the user's file and line, the same at every call: one key,
    counted twice, logged once."""
    caplog.set_level(logging.WARNING, logger="guards.recompiles")

    @specialize
    def register(names: list[str], name: str) -> int:
        size = len(names)
        names.append(name)
        return size

    assert register([], "a") == 0 and register(["x"], "b") == 1
    where = line_of(register, "names.append(name)")
    reason = f"calls .append() on L['names'], a tracked input at {where}"
    assert register.specialized.uncached_reasons == {reason: 2}
    assert recompile_warnings(caplog) == [f"running {register.__qualname__} uncached: {reason}"]


def test_a_reason_in_a_called_function_names_that_functions_line() -> None:
    def store(box: dict[str, int], value: int) -> None:
        box["v"] = value

    @specialize
    def fill(box: dict[str, int]) -> int:
        store(box, 1)
        return 1

    assert fill({}) == 1
    [reason] = fill.specialized.uncached_reasons
    assert reason.endswith(f" at {line_of(store, '] = value')}"), reason


def test_strict_mode_reasons_name_the_line() -> None:
    @specialize(strict=True)
    def push(items: list[int]) -> int:
        items.append(1)
        return len(items)

    with pytest.raises(UntrackedCallError) as info:
        push([])
    [reason] = info.value.reasons
    assert reason.endswith(f" at {line_of(push, 'items.append(1)')}")
    assert line_of(push, "items.append(1)") in str(info.value)


def test_an_exception_is_one_reason_at_its_line_whatever_its_message() -> None:
    """The message (here holding an address, and different at each call) is left out."""

    @specialize
    def check(limit: int) -> int:
        if limit > 3:
            raise ValueError(f"limit {limit} too high for {object()}")
        return limit

    for limit in (4, 5, 6):
        with pytest.raises(ValueError, match="too high"):
            check(limit)
    where = line_of(check, "raise ValueError")
    assert check.specialized.uncached_reasons == {f"raised ValueError at {where}": 3}


def test_a_reason_about_the_result_names_the_return_line() -> None:
    @specialize
    def numbers(xs: list[int]) -> Any:
        doubled = [x * 2 for x in xs]
        return iter(doubled), xs.__iter__()

    numbers([1, 2])
    [reason] = numbers.specialized.uncached_reasons
    assert reason.endswith(f" at {line_of(numbers, 'return iter(doubled)')}"), reason


def test_a_global_assignment_names_the_assignment() -> None:
    @specialize
    def bump(x: int) -> int:
        global COUNTER
        total = x + 1
        COUNTER = total
        return total

    assert bump(1) == 2
    assert list(bump.specialized.uncached_reasons) == [
        f"{bump.__wrapped__.__qualname__} assigns the global 'COUNTER' at "
        f"{line_of(bump, 'COUNTER = total')}"
    ]


COUNTER = 0


def test_user_code_that_runs_untraced_is_named_with_the_line_that_led_to_it() -> None:
    class Meta(type):
        pass

    class Box(metaclass=Meta):
        def __init__(self, v: int) -> None:
            self.v = v

    @specialize
    def unbox(v: int) -> int:
        return Box(v).v

    assert unbox(2) == 2
    [reason] = unbox.specialized.uncached_reasons
    assert "Box.__init__" in reason and "ran untraced" in reason
    assert reason.endswith(f" at {line_of(unbox, 'return Box(v).v')}")


def test_no_reason_holds_a_memory_address() -> None:
    class Opaque:
        pass

    @specialize
    def fail(x: Any) -> Any:
        raise TypeError(f"cannot use {x!r}")

    for _ in range(2):
        with pytest.raises(TypeError):
            fail(Opaque())
    assert len(fail.specialized.uncached_reasons) == 1
    for reason in fail.specialized.uncached_reasons:
        assert not ADDRESS.search(reason), reason


