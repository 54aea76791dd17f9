"""Explanations a user can act on (issue 14, item 5), each tried as a user would.

Uncached reasons say where, explanations of functions that never cache say why,
``bool(f.explain(...))`` answers "would it miss", long containers show where they
differ, identity guards show their object, methods explain through the instance,
wrong decorator orders say which order works, and the logs and the command line
print plain, single lines.
"""

from __future__ import annotations

import functools
import gc
import inspect
import logging
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import pytest

import guards
from guards import GuardsTypeError, UntrackedCallError, specialize

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


# -- explain of a function that never caches -------------------------------------------------
def test_explain_of_a_function_that_never_caches_says_why() -> None:
    @specialize
    def push(items: list[int]) -> int:
        items.append(0)
        return len(items)

    push([]), push([1])
    why = push.explain([])
    assert why and not why.entries
    where = line_of(push, "items.append(0)")
    reason = f"calls .append() on L['items'], a tracked input at {where}"
    assert why.uncached == ((reason, 2),)
    text = str(why)
    assert "ran uncached" in text and f"{reason} (2 calls)" in text


def test_explain_before_any_call_says_there_is_nothing_yet() -> None:
    @specialize
    def double(x: int) -> int:
        return 2 * x

    why = double.explain(1)
    assert why and str(why) == "no entries: nothing to reuse yet"


# -- bool(explain) -----------------------------------------------------------------------------
def test_explanation_is_false_exactly_when_the_call_would_hit() -> None:
    @specialize
    def double(x: int) -> int:
        return 2 * x

    double(3)
    assert not double.explain(3) and double.explain(3).hit
    assert double.explain(4) and not double.explain(4).hit
    hits = double.cache.info().hits
    assert [x for x in (1, 3, 4) if double.explain(x)] == [1, 4]
    assert double.cache.info().hits == hits  # explaining is not calling


# -- long containers ---------------------------------------------------------------------------
TABLE = list(range(200))
NAMES = {f"key{i}": i for i in range(50)}
TEXT = "lorem ipsum " * 40


@specialize
def same_table(xs: list[int]) -> bool:
    return xs == TABLE


@specialize
def same_names(d: dict[str, int]) -> bool:
    return d == NAMES


@specialize
def same_text(s: str) -> bool:
    # str(s) reads the whole value (a comparison alone would guard only its outcome).
    return str(s) == TEXT


def only_message(why: guards.MissExplanation) -> str:
    [entry] = why.entries
    [failure] = entry.result.failures
    return failure.message


def test_a_long_list_shows_where_it_first_differs() -> None:
    assert same_table(list(range(200)))
    changed = list(range(200))
    changed[150] = -7
    message = only_message(same_table.explain(changed))
    assert "expected a list of 200 items, got one of 200" in message
    assert "first difference at index 150: expected 150, got -7" in message
    assert "199" not in message  # not the whole list
    shorter = only_message(same_table.explain(list(range(180))))
    assert "the first 180 are the same; then expected 180 at index 180, got the end" in shorter


def test_a_long_dict_shows_the_first_key_that_differs() -> None:
    assert same_names(dict(NAMES))
    changed = dict(NAMES, key30=-1)
    message = only_message(same_names.explain(changed))
    assert "first difference at key 'key30': expected 30, got -1" in message
    reordered = {"key1": 1, "key0": 0, **NAMES}
    message = only_message(same_names.explain(reordered))
    assert "first difference at position 0: expected the key 'key0', got the key 'key1'" in message


def test_a_long_string_shows_the_characters_where_it_first_differs() -> None:
    assert same_text(TEXT)
    changed = TEXT[:300] + "X" + TEXT[301:]
    message = only_message(same_text.explain(changed))
    assert "expected a str of 480 characters, got one of 480" in message
    assert "first difference at index 300: expected 'lorem ipsum lorem ip'..., " in message
    assert "got 'Xorem ipsum lorem ip'..." in message


def test_a_short_value_is_shown_whole() -> None:
    @specialize
    def is_pair(xs: list[int]) -> bool:
        return xs == [1, 2]

    is_pair([1, 2])
    assert "expected [1, 2], got [1, 3]" in only_message(is_pair.explain([1, 3]))


# -- what identity guards show ------------------------------------------------------------------
class Token:
    """Compared by identity; its repr does not tell two apart."""

    def __repr__(self) -> str:
        return "Token()"


def test_a_returned_input_is_shown_as_itself() -> None:
    @specialize
    def same(token: Token) -> Token:
        return token

    first = Token()
    assert same(first) is first
    message = only_message(same.explain(Token()))
    assert "weakref" not in message
    assert message.startswith(
        "ID_MATCH L['token'] is Token(): expected Token(), got another object that looks the same"
    )
    assert "an input returned as itself" in repr(same.cache.entries[0])
    assert "_Stored" not in repr(same.cache.entries[0])


def test_an_identity_guard_on_a_collected_object_says_so() -> None:
    token = Token()
    check = guards.compile_guards(
        [guards.LocalSource("t").make_guard(guards.GuardBuilder.ID_MATCH)], {"t": token}
    )
    del token
    gc.collect()
    [failure] = check.check_verbose({"t": Token()}).failures
    assert "expected <collected object>, got Token()" in failure.message


# -- methods -----------------------------------------------------------------------------------
class Cart:
    def __init__(self, prices: list[float]) -> None:
        self.prices = prices

    @specialize
    def total(self, tax: float = 0.0) -> float:
        return sum(self.prices) * (1 + tax)

    @classmethod
    @specialize
    def unit(cls, name: str) -> str:
        return f"{name} per {cls.__name__}"


def test_guards_explain_takes_a_bound_method_as_it_is_called() -> None:
    cart = Cart([1.0, 2.0])
    assert cart.total(0.5) == 4.5
    assert not guards.explain(cart.total, 0.5)
    why = guards.explain(cart.total, 0.25)
    assert "expected 0.5, got 0.25" in only_message(why)
    other = Cart([1.0])
    assert guards.explain(other.total, 0.5)
    assert Cart.unit("kg") == "kg per Cart"
    assert not guards.explain(Cart.unit, "kg") and guards.explain(Cart.unit, "g")
    assert guards.explain(Cart.total, cart, 0.5) == cart.total.explain(cart, 0.5)


def test_guards_explain_refuses_what_specialize_did_not_make() -> None:
    with pytest.raises(GuardsTypeError, match="function must be a function made by guards"):
        guards.explain(len, [1])  # type: ignore[call-overload]


def test_a_bound_methods_own_explain_without_the_instance_says_how() -> None:
    cart = Cart([1.0])
    with pytest.raises(TypeError) as info:
        cart.total.explain()  # type: ignore[call-arg]
    note = "\n".join(getattr(info.value, "__notes__", []))
    assert "guards.explain(obj.total, ...)" in note


# -- decorator order and stacking ----------------------------------------------------------------
def test_specialize_over_staticmethod_says_which_order_works() -> None:
    with pytest.raises(GuardsTypeError, match=r"put @staticmethod above @specialize"):

        class Bad:
            @specialize  # type: ignore[arg-type]
            @staticmethod
            def twice(x: int) -> int:
                return 2 * x


def test_specialize_over_classmethod_says_which_order_works() -> None:
    with pytest.raises(GuardsTypeError, match=r"put @classmethod above @specialize"):

        class Bad:
            @specialize(max_entries=2)  # type: ignore[arg-type]
            @classmethod
            def make(cls) -> int:
                return 1


def test_specializing_twice_is_refused() -> None:
    @specialize
    def double(x: int) -> int:
        return 2 * x

    with pytest.raises(GuardsTypeError, match=r"double is specialized already"):
        specialize(double)
    with pytest.raises(GuardsTypeError, match=r"double.__wrapped__"):
        specialize(max_entries=2)(double)


def test_a_function_that_wraps_a_specialized_one_can_be_specialized() -> None:
    @specialize
    def double(x: int) -> int:
        return 2 * x

    @functools.wraps(double)
    def logged(x: int) -> int:
        return double(x)

    outer = specialize(logged)
    assert outer(2) == 4 and outer(2) == 4


# -- logs and the command line ---------------------------------------------------------------------
UNCACHED_SCRIPT = textwrap.dedent("""
    import logging
    import guards

    logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")

    @guards.specialize
    def push(items):
        items.append(1)
        return len(items)

    @guards.specialize
    def double(x):
        return 2 * x

    push([]), double(1), double(2)
""")


@pytest.mark.parametrize("guards_logs", [None, "recompiles", "all"])
def test_with_the_users_basic_config_no_line_prints_twice(guards_logs: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if k != "GUARDS_LOGS"}
    if guards_logs is not None:
        env["GUARDS_LOGS"] = guards_logs
    result = subprocess.run(
        [sys.executable, "-c", UNCACHED_SCRIPT], capture_output=True, text=True, env=env,
        check=True, timeout=120,
    )
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    uncached = [line for line in lines if "running push uncached" in line]
    assert len(uncached) == 1, result.stderr
    recompiles = [line for line in lines if "Recompiling function double" in line]
    assert len(recompiles) == 1, result.stderr
    new_guards = [line for line in lines if "GUARDS for double" in line]
    assert len(new_guards) == 2, result.stderr  # one per entry, each once


def test_command_line_help_is_plain_text_listing_each_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "guards", "--help"], capture_output=True, text=True,
        check=False, timeout=120,
    )
    assert result.returncode == 0 and not result.stderr
    text = result.stdout
    assert text.isascii() and "\x1b" not in text
    assert "``" not in text and ":func:" not in text and "{" not in text
    assert text.startswith("usage: python -m guards")
    section = text.split("\ncommands:\n", 1)[1]
    commands = [line.split(None, 1) for line in section.splitlines() if line.startswith("    ")]
    assert ["demo", "build guards, show the generated check and explain a miss"] in commands
    assert commands and all(len(c) == 2 and c[1].strip() for c in commands), text

