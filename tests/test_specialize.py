"""@guards.specialize: hits, explanations, minimality, the soundness rules, controls and logs."""

from __future__ import annotations

import collections
import dataclasses
import inspect
import json
import logging
import math
import sys
import threading
import typing
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import guards
from guards import (
    GuardedCache,
    GuardsError,
    GuardsTypeError,
    GuardsValueError,
    StaleHitError,
    UntrackedCallError,
    config,
    specialize,
)
from guards.logs import configure_from_env
from guards.specialization.proxy import Tracked

THIS = sys.modules[__name__]

# Globals read by the functions below; tests that change them use monkeypatch.
TABLE = "orders"
OTHER_GLOBAL = "never read"
RATES = {"eu": 0.2, "us": 0.1}
COUNTER = 0

# Runs of function bodies, recorded without making the runs untrackable: a constant
# function is called with real values and never traced into.
RUNS: list[Any] = []


@guards.constant
def ran(tag: Any) -> int:
    RUNS.append(tag)
    return 0


@pytest.fixture(autouse=True)
def _fresh_runs() -> Iterator[None]:
    RUNS.clear()
    yield
    RUNS.clear()


def make_helper(k: int = 10) -> tuple[Callable[..., int], Callable[[int], None],
                                      Callable[[int], None]]:
    """A helper with a closure variable it reads, one it does not, and a default."""
    unused = 0

    def helper(x: int, d: int = 7) -> int:
        return x + k + d

    def set_k(value: int) -> None:
        nonlocal k
        k = value

    def set_unused(value: int) -> None:
        nonlocal unused
        unused = value

    return helper, set_k, set_unused


HELPER, _, _ = make_helper()


def only_failure(why: guards.MissExplanation) -> guards.GuardFailure:
    [entry] = why.entries
    [failure] = entry.result.failures
    return failure


def assert_uncached(f: Any, reason_part: str, *, calls: int = 1) -> str:
    """Every call of ``f`` so far ran uncached, for a reason containing ``reason_part``."""
    info = f.cache.info()
    assert (info.entries, info.hits, info.uncached) == (0, 0, calls)
    [reason] = f.specialized.uncached_reasons
    assert reason_part in reason
    assert f.specialized.uncached_reasons[reason] == calls
    return str(reason)


def uncached_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records
        if r.name == "guards.recompiles" and r.levelno == logging.WARNING
    ]


@dataclasses.dataclass
class Cfg:
    mode: str
    n: int
    other: int = 0

    def size(self) -> int:
        return self.n * 2


class Obj:
    """A plain object whose equality is identity."""

    def __init__(self, **attrs: Any) -> None:
        self.__dict__.update(attrs)


# -- hits -----------------------------------------------------------------------------------
def test_a_hit_returns_what_a_fresh_call_returns_without_running() -> None:
    @specialize
    def area(shape: dict[str, int], scale: int = 2) -> int:
        ran("area")
        return shape["w"] * shape["h"] * scale

    shape = {"w": 3, "h": 4}
    assert area(shape) == area.__wrapped__(shape) == 24
    RUNS.clear()
    assert area(shape) == 24
    assert area({"w": 3, "h": 4}) == 24  # another dict with the same values
    assert RUNS == []
    assert area.cache.info()[:3] == (2, 1, 1)
    shape["h"] = 5
    assert area(shape) == area.__wrapped__(shape) == 30
    assert area(shape, 3) == area.__wrapped__(shape, 3) == 45
    assert area.cache.info()[:3] == (2, 3, 3)


def test_no_tracked_value_escapes_into_the_result() -> None:
    @specialize
    def parts(cfg: dict[str, Any]) -> dict[str, Any]:
        return {"items": cfg["items"], "copy": list(cfg["items"]), "sub": cfg["sub"]}

    cfg = {"items": [1, 2], "sub": Obj(a=1)}
    for _ in range(2):
        result = parts(cfg)
        assert type(result["items"]) is list and type(result["copy"]) is list
        assert result["items"] is cfg["items"] and result["sub"] is cfg["sub"]
        assert not any(isinstance(v, Tracked) for v in result.values())
    assert parts.cache.info().hits == 1


def test_wrapper_keeps_name_doc_wrapped_and_signature() -> None:
    def original(a: int, /, b: int = 2, *args: int, c: int, d: int = 4, **kw: int) -> int:
        """Docstring."""
        return a + b + sum(args) + c + d + sum(kw.values())

    wrapped = specialize(original)
    assert wrapped.__name__ == "original"
    assert wrapped.__qualname__ == original.__qualname__
    assert wrapped.__doc__ == "Docstring."
    assert wrapped.__module__ == __name__
    assert wrapped.__wrapped__ is original
    assert inspect.signature(wrapped) == inspect.signature(original)
    assert isinstance(wrapped.cache, GuardedCache)
    assert callable(wrapped.explain)


def test_keyword_only_parameters_with_varargs_bind_correctly() -> None:
    """A function with *args, keyword-only parameters and **kwargs gets each argument right."""

    @specialize
    def f(a: int, /, b: int = 2, *args: int, c: int, d: int = 4, **kw: int) -> tuple[Any, ...]:
        return (a, b, args, c, d, kw)

    for call in [
        lambda g: g(1, c=3),
        lambda g: g(1, 5, 6, 7, c=3, e=8),
        lambda g: g(1, d=0, c=3),
        lambda g: g(1, 5, 6, 7, c=3, e=8),
    ]:
        assert call(f) == call(f.__wrapped__)
    assert f.cache.info()[:3] == (1, 3, 3)


BAD_CALLS: list[tuple[str, Callable[[Callable[..., Any]], Any]]] = [
    ("no arguments", lambda g: g()),
    ("missing keyword-only", lambda g: g(1)),
    ("positional-only by keyword", lambda g: g(a=1, c=2)),
    ("multiple values", lambda g: g(1, 2, b=3, c=4)),
    ("unexpected keyword", lambda g: g(1, c=2, z=3)),
    ("too many positional", lambda g: g(1, 2, 3, c=4)),
]


@pytest.mark.parametrize(("label", "call"), BAD_CALLS, ids=[label for label, _ in BAD_CALLS])
def test_bad_calls_raise_pythons_own_type_error(
    label: str, call: Callable[[Callable[..., Any]], Any]
) -> None:
    def target(a: int, /, b: int = 2, *, c: int) -> int:
        return a + b + c

    with pytest.raises(TypeError) as plain:
        call(target)
    with pytest.raises(TypeError) as wrapped:
        call(specialize(target))
    assert str(wrapped.value) == str(plain.value)
    assert not isinstance(wrapped.value, GuardsError)


@pytest.mark.parametrize(
    ("call", "args"),
    [("too many", (1, 2, 3)), ("unknown keyword", (1,))],
)
def test_bad_calls_of_a_simple_function(call: str, args: tuple[int, ...]) -> None:
    def simple(x: int, n: int = 3) -> int:
        return x * n

    kwargs = {"m": 1} if call == "unknown keyword" else {}
    with pytest.raises(TypeError) as plain:
        simple(*args, **kwargs)
    with pytest.raises(TypeError) as wrapped:
        specialize(simple)(*args, **kwargs)
    assert str(wrapped.value) == str(plain.value)


def test_specialize_rejects_what_it_cannot_cache() -> None:
    def gen() -> Iterator[int]:
        yield 1

    async def coro() -> None:
        pass

    with pytest.raises(GuardsTypeError, match="needs a Python function, got <built-in function"):
        specialize(len)  # type: ignore[arg-type]
    with pytest.raises(GuardsTypeError, match="a generator or coroutine function"):
        specialize(gen)
    with pytest.raises(GuardsTypeError, match="a generator or coroutine function"):
        specialize(coro)
    with pytest.raises(GuardsTypeError, match="strict must be a bool or None, got 'yes'"):
        specialize(strict="yes")(lambda: 1)  # type: ignore[arg-type]
    with pytest.raises(
        GuardsTypeError, match=r"verify must be a bool or a float share of hits in \[0, 1\], got 1"
    ):
        specialize(verify=1)(lambda: 1)  # type: ignore[arg-type]
    with pytest.raises(GuardsValueError, match="max_entries must be at least 1"):
        specialize(max_entries=0)(lambda: 1)
    with pytest.raises(GuardsValueError, match="on_limit must be one of"):
        specialize(on_limit="lru")(lambda: 1)  # type: ignore[arg-type]


# -- explanations ---------------------------------------------------------------------------
def test_explain_a_closure_cell_of_the_function_itself() -> None:
    scale = 2

    @specialize
    def area(x: int) -> int:
        return x * scale

    first = area(5)
    assert first == 10
    scale = 3
    failure = only_failure(area.explain(5))
    assert (failure.source.name, failure.kind, failure.expected, failure.actual) == (
        "L['scale']", "CONSTANT_MATCH", 2, 3,
    )
    assert failure.provenance is not None
    assert failure.provenance.filename == __file__
    assert failure.provenance.line == "return x * scale"  # the line that read it
    assert failure.message == (
        f"CONSTANT_MATCH L['scale'] == 2: expected 2, got 3; installed at {failure.provenance}"
    )
    assert area(5) == 15


def test_explain_a_closure_cell_of_a_called_helper_passed_in() -> None:
    helper, set_k, _ = make_helper(k=10)

    @specialize
    def f(fn: Callable[[int], int], x: int) -> int:
        return fn(x) * 2

    assert f(helper, 1) == 36
    set_k(11)
    failure = only_failure(f.explain(helper, 1))
    assert failure.label == "k"
    assert failure.provenance is not None and failure.provenance.line == "return x + k + d"
    assert failure.message == (
        "CONSTANT_MATCH L['fn'].__closure__[0].cell_contents == 10 (guard on 'k'): "
        f"expected 10, got 11; installed at {failure.provenance}"
    )
    assert f(helper, 1) == 38


def test_explain_a_closure_cell_of_a_global_helper(monkeypatch: pytest.MonkeyPatch) -> None:
    helper, set_k, _ = make_helper(k=10)
    monkeypatch.setattr(THIS, "HELPER", helper)

    @specialize
    def f(x: int) -> int:
        return HELPER(x) + 0

    assert f(1) == 18
    set_k(11)
    failure = only_failure(f.explain(1))
    assert (failure.source.name, failure.kind, failure.expected, failure.actual) == (
        "G['HELPER'].__closure__[0].cell_contents", "CONSTANT_MATCH", 10, 11,
    )
    assert failure.provenance is not None
    assert failure.provenance.filename == __file__
    assert failure.provenance.line == "return x + k + d"  # in the helper, which read it
    assert failure.message == (
        "CONSTANT_MATCH G['HELPER'].__closure__[0].cell_contents == 10 (guard on 'k'): "
        f"expected 10, got 11; installed at {failure.provenance}"
    )


def test_explain_a_default_of_the_function_itself() -> None:
    @specialize
    def scaled(x: int, n: int = 3) -> int:
        return x * n

    first = scaled(2)
    assert first == 6
    scaled.__wrapped__.__defaults__ = (4,)
    failure = only_failure(scaled.explain(2))
    assert failure.provenance is not None and failure.provenance.line == "return x * n"
    assert failure.message == (
        f"CONSTANT_MATCH L['n'] == 3: expected 3, got 4; installed at {failure.provenance}"
    )
    assert scaled(2) == 8
    assert scaled(2, 3) == 6  # the first entry, by the argument now
    assert scaled.cache.info()[:3] == (1, 2, 2)


def test_explain_a_default_of_a_called_helper(monkeypatch: pytest.MonkeyPatch) -> None:
    helper, _, _ = make_helper(k=10)
    monkeypatch.setattr(THIS, "HELPER", helper)

    @specialize
    def f(x: int) -> int:
        return HELPER(x) + 0

    assert f(1) == 18
    helper.__defaults__ = (8,)
    failure = only_failure(f.explain(1))
    assert failure.label == "d"
    assert failure.message == (
        "CONSTANT_MATCH G['HELPER'].__defaults__[0] == 7 (guard on 'd'): "
        f"expected 7, got 8; installed at {failure.provenance}"
    )
    assert f(1) == 19


def test_explain_a_global(monkeypatch: pytest.MonkeyPatch) -> None:
    @specialize
    def query() -> str:
        return "SELECT * FROM " + TABLE

    assert query() == "SELECT * FROM orders"
    monkeypatch.setattr(THIS, "TABLE", "users")
    failure = only_failure(query.explain())
    assert failure.provenance is not None
    assert failure.provenance.line == 'return "SELECT * FROM " + TABLE'
    assert failure.message == (
        "CONSTANT_MATCH G['TABLE'] == 'orders': expected 'orders', got 'users'; "
        f"installed at {failure.provenance}"
    )
    assert query() == "SELECT * FROM users"


def test_explain_an_attribute() -> None:
    @specialize
    def describe(cfg: Cfg) -> str:
        return cfg.mode.upper()

    cfg = Cfg("fast", 1)
    assert describe(cfg) == "FAST"
    cfg.mode = "slow"
    failure = only_failure(describe.explain(cfg))
    assert failure.provenance is not None and failure.provenance.line == "return cfg.mode.upper()"
    assert failure.message == (
        "CONSTANT_MATCH L['cfg'].mode == 'fast': expected 'fast', got 'slow'; "
        f"installed at {failure.provenance}"
    )
    assert str(describe.explain(cfg)) == f"no entry matched:\n  - entry 1: {failure.message}"


def test_explain_a_dict_key() -> None:
    @specialize
    def pick(opts: dict[str, int]) -> int:
        return opts["k"] * 2

    opts = {"k": 1, "j": 2}
    assert pick(opts) == 2
    opts["k"] = 5
    failure = only_failure(pick.explain(opts))
    assert failure.message == (
        "CONSTANT_MATCH L['opts']['k'] == 1: expected 1, got 5; "
        f"installed at {failure.provenance}"
    )
    del opts["k"]
    failure = only_failure(pick.explain(opts))
    assert failure.source.name == "L['opts']['k']"
    assert "cannot read L['opts']['k']: KeyError" in failure.message


def test_explain_without_entries_and_when_it_would_hit() -> None:
    @specialize
    def double(x: int) -> int:
        return 2 * x

    assert str(double.explain(1)) == "no entries: nothing to reuse yet"
    double(1)
    assert double.explain(1).hit
    assert double.cache.info()[:2] == (0, 1)  # explain neither calls nor counts


def test_explain_lists_every_entry_most_recent_first() -> None:
    @specialize
    def pick(opts: dict[str, int]) -> int:
        return opts["k"]

    pick({"k": 1})
    pick({"k": 2})
    why = pick.explain({"k": 3})
    assert [(e.index, e.result.failures[0].expected) for e in why.entries] == [(0, 2), (1, 1)]
    assert len(why.failure_lines()) == 2


# -- minimality ---------------------------------------------------------------------------------
def test_an_unread_attribute_does_not_cause_a_miss() -> None:
    @specialize
    def describe(cfg: Cfg) -> str:
        return cfg.mode

    cfg = Cfg("fast", 1)
    describe(cfg)
    cfg.other = 99
    cfg.n = 5
    cfg.extra = "new"  # type: ignore[attr-defined]
    assert describe(cfg) == "fast"
    assert describe(Cfg("fast", 7)) == "fast"  # another object, same value read
    assert describe.cache.info()[:3] == (2, 1, 1)


def test_an_unread_dict_value_does_not_cause_a_miss() -> None:
    @specialize
    def pick(opts: dict[str, Any]) -> int:
        return opts["k"] * 2

    opts: dict[str, Any] = {"k": 1, "j": [1]}
    pick(opts)
    opts["j"].append(2)
    opts["j"] = "changed"
    opts["new"] = 3
    assert pick(opts) == 2
    assert pick.cache.info()[:3] == (1, 1, 1)


def test_an_unused_closure_variable_of_a_called_helper_does_not_cause_a_miss(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    helper, _, set_unused = make_helper(k=10)
    monkeypatch.setattr(THIS, "HELPER", helper)

    @specialize
    def f(x: int) -> int:
        return HELPER(x)

    assert f(1) == 18
    set_unused(5)
    assert f(1) == 18
    assert f.cache.info()[:3] == (1, 1, 1)


def test_an_unread_global_does_not_cause_a_miss(monkeypatch: pytest.MonkeyPatch) -> None:
    @specialize
    def query() -> str:
        return TABLE

    query()
    monkeypatch.setattr(THIS, "OTHER_GLOBAL", "changed")
    monkeypatch.setattr(THIS, "RATES", {"eu": 0.5})
    assert query() == "orders"
    assert query.cache.info()[:3] == (1, 1, 1)


def test_a_truth_test_of_a_container_guards_only_its_truth() -> None:
    @specialize
    def has_items(items: list[int]) -> str:
        return "yes" if items else "no"

    assert has_items([1]) == "yes"
    assert has_items([5, 6, 7]) == "yes"
    assert has_items([]) == "no"
    assert has_items.cache.info()[:3] == (1, 2, 2)


# -- soundness rules: each makes the call run uncached, with a reason and a warning --------------
def test_setting_an_attribute_of_an_input_runs_uncached(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="guards.recompiles")

    @specialize
    def touch(obj: Obj) -> int:
        obj.seen = obj.seen + 1
        return int(obj.seen)

    obj = Obj(seen=0)
    assert touch(obj) == 1 and obj.seen == 1
    assert touch(obj) == 2 and obj.seen == 2
    reason = assert_uncached(
        touch, "sets the attribute 'seen' of L['obj'], a tracked input", calls=2
    )
    assert uncached_warnings(caplog) == [f"running {touch.__qualname__} uncached: {reason}"]


def test_setting_an_item_of_an_input_runs_uncached(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="guards.recompiles")

    @specialize
    def count(d: dict[str, int]) -> int:
        d["n"] = d.get("n", 0) + 1
        return len(d)

    d: dict[str, int] = {}
    assert count(d) == 1 and d == {"n": 1}
    assert count(d) == 1 and d == {"n": 2}
    reason = assert_uncached(count, "sets an item of L['d'], a tracked input", calls=2)
    assert len(uncached_warnings(caplog)) == 1 and reason in uncached_warnings(caplog)[0]


def test_appending_to_an_input_list_runs_uncached(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="guards.recompiles")

    @specialize
    def register(registry: list[str], name: str) -> int:
        registry.append(name)
        return len(registry)

    names: list[str] = []
    assert register(names, "a") == 1
    assert register(names, "b") == 2
    assert names == ["a", "b"]
    assert_uncached(register, "calls .append() on L['registry'], a tracked input", calls=2)
    assert len(uncached_warnings(caplog)) == 1


def test_reads_after_a_write_see_the_written_value() -> None:
    """A value read after the function wrote it is the new value, not the traced snapshot."""

    @specialize
    def bump(obj: Obj, items: list[int], d: dict[str, int]) -> tuple[int, int, int]:
        before = obj.n
        obj.n = before + 1
        items[0] = items[0] + 5
        d["k"] = d["k"] * 10
        return obj.n, items[0], d["k"] + len(d)

    def world() -> tuple[Obj, list[int], dict[str, int]]:
        return Obj(n=1), [1], {"k": 2}

    assert bump(*world()) == bump.__wrapped__(*world()) == (2, 6, 21)


def test_a_write_happens_once_per_call_even_when_the_function_then_raises() -> None:
    """The write of a call that raises afterwards is not repeated by a rerun."""

    @specialize
    def add_then_fail(items: list[int]) -> None:
        items.append(1)
        raise ValueError("after the write")

    items: list[int] = []
    with pytest.raises(ValueError, match="after the write"):
        add_then_fail(items)
    assert items == [1]


def test_a_write_inside_a_bare_except_still_happens_once() -> None:
    """A function that swallows everything around a write still runs it once, uncached."""

    @specialize
    def add_quietly(items: list[int]) -> int:
        try:  # noqa: SIM105 - a bare except is the point of the test
            items.append(1)
        except:  # noqa: E722
            pass
        return len(items)

    items: list[int] = []
    assert add_quietly(items) == 1 and items == [1]
    assert add_quietly(items) == 2 and items == [1, 1]
    assert_uncached(add_quietly, "calls .append() on L['items']", calls=2)


def test_calling_globals_runs_uncached(monkeypatch: pytest.MonkeyPatch) -> None:
    @specialize
    def table() -> str:
        return str(globals()["TABLE"])

    assert table() == "orders"
    monkeypatch.setattr(THIS, "TABLE", "users")
    assert table() == "users"
    assert_uncached(table, "calls globals(), which the trace cannot follow", calls=2)


def test_assigning_a_global_runs_uncached(caplog: pytest.LogCaptureFixture,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.WARNING, logger="guards.recompiles")
    monkeypatch.setattr(THIS, "COUNTER", 0)

    @specialize
    def tick(step: int) -> int:
        global COUNTER
        COUNTER += step
        return COUNTER

    assert (tick(1), tick(1), COUNTER) == (1, 2, 2)
    assert_uncached(tick, "assigns the global 'COUNTER'", calls=2)
    assert len(uncached_warnings(caplog)) == 1


def test_a_called_function_that_assigns_a_global_runs_the_call_uncached(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(THIS, "COUNTER", 0)

    def bump() -> None:
        global COUNTER
        COUNTER += 1

    @specialize
    def f() -> int:
        before = COUNTER
        bump()
        return COUNTER - before

    assert (f(), f(), COUNTER) == (1, 1, 2)
    assert_uncached(f, "bump assigns the global 'COUNTER'", calls=2)


def test_rebinding_a_nonlocal_runs_uncached(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="guards.recompiles")
    n = 0

    @specialize
    def increment() -> int:
        nonlocal n
        n += 1
        return n

    assert (increment(), increment(), n) == (1, 2, 2)
    assert_uncached(increment, "rebinds the nonlocal 'n'", calls=2)
    assert len(uncached_warnings(caplog)) == 1


def test_calling_a_disabled_function_runs_uncached(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="guards.recompiles")
    calls: list[int] = []

    @guards.disable
    def audit(x: int) -> int:
        calls.append(x)
        return x + 1

    @specialize
    def f(x: int) -> int:
        return audit(x) * 2

    assert (f(1), f(1)) == (4, 4)
    assert calls == [1, 1]  # once per call: the function runs for real, once
    assert_uncached(f, "calls " + audit.__qualname__ + ", which guards.disable marks opaque",
                    calls=2)
    assert len(uncached_warnings(caplog)) == 1


def test_an_exception_propagates_and_nothing_is_cached(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="guards.recompiles")

    @specialize
    def check(limit: int) -> int:
        if limit > 3:
            raise ValueError(f"limit {limit} too high")
        return limit

    for _ in range(2):
        with pytest.raises(ValueError, match="limit 5 too high"):
            check(5)
    raise_line = check.__wrapped__.__code__.co_firstlineno + 3
    # The reason names the exception and its line, not its message (which may vary).
    assert_uncached(check, f"raised ValueError at test_specialize.py:{raise_line}", calls=2)
    assert check(2) == 2 and check(2) == 2
    assert check.cache.info()[:4] == (1, 3, 1, 8)
    assert len(uncached_warnings(caplog)) == 1


def test_returning_a_generator_runs_uncached(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="guards.recompiles")

    @specialize
    def evens(items: list[int]) -> Iterator[int]:
        return (x for x in items if x % 2 == 0)

    items = [1, 2, 4]
    assert list(evens(items)) == [2, 4]
    items.append(6)
    assert list(evens(items)) == [2, 4, 6]
    assert_uncached(evens, "returns a generator", calls=2)
    assert len(uncached_warnings(caplog)) == 1


def test_returning_an_input_returns_that_same_object() -> None:
    @specialize
    def same(items: list[int]) -> list[int]:
        return items

    a = [1, 2]
    assert same(a) is a
    assert same(a) is a
    b = [1, 2]
    assert same(b) is b  # equal but another object: a miss, not the stored one
    assert same.cache.info()[:3] == (1, 2, 2)


def test_an_input_handed_back_by_library_code_keeps_its_identity() -> None:
    """An input returned through untraced code (typing.cast) is still that input on a hit."""

    @specialize
    def same(items: list[int]) -> list[int]:
        return typing.cast(list, items)

    a = [1, 2]
    assert same(a) is a
    assert same(a) is a
    b = [1, 2]
    assert same(b) is b
    assert same.cache.info().hits == 1


def test_part_of_an_input_handed_back_by_library_code_is_not_cached() -> None:
    """A part of an input returned through untraced code runs uncached, so it stays itself."""

    @specialize
    def first(rows: list[list[int]]) -> list[int]:
        return typing.cast(list, rows)[0]

    rows = [[1], [2]]
    assert first(rows) is rows[0]
    assert first(rows) is rows[0]
    assert_uncached(first, "returns part of an input", calls=2)


def test_mutating_a_returned_result_does_not_change_the_next_hit() -> None:
    @specialize
    def build(n: int) -> list[Any]:
        return [n, [n], {"n": n}]

    result = build(1)
    result.append("junk")
    result[1].append("junk")
    result[2]["junk"] = True
    again = build(1)
    assert again == [1, [1], {"n": 1}]
    again[1].append("more")
    assert build(1) == [1, [1], {"n": 1}]
    assert build.cache.info()[:3] == (2, 1, 1)


def test_a_slice_of_an_input_is_cached_by_value() -> None:
    """Returning xs[:2] (a new object at each read) is cached, and hits return a new list."""

    @specialize
    def head(xs: list[int]) -> list[int]:
        return xs[:2]

    xs = [1, 2, 3]
    first = head(xs)
    second = head(xs)
    assert first == second == [1, 2] and first is not second
    xs[0] = 9
    assert head(xs) == [9, 2]
    xs[2] = 0  # not in the slice, but the slice is guarded as a whole value
    assert head(xs) == [9, 2]
    assert head.cache.info().uncached == 0


def test_a_result_that_cannot_be_copied_runs_uncached() -> None:
    """A result deepcopy refuses (it holds a lock) is returned, not an error."""

    @specialize
    def make(x: int) -> dict[str, Any]:
        return {"lock": threading.Lock(), "x": x}

    assert make(1)["x"] == 1
    assert make(1)["x"] == 1
    assert_uncached(make, "its result cannot be copied for reuse", calls=2)


def test_is_none_on_a_tracked_object_is_guarded() -> None:
    """`x is None` on an object stays false only while it is: None later is a miss."""

    @specialize
    def kind(x: Any) -> str:
        return "none" if x is None else "some"

    @specialize
    def kind_in_branch(x: Any) -> str:
        if x is not None:
            return "some"
        return "none"

    for f in (kind, kind_in_branch):
        assert f([1]) == "some"
        assert f(None) == "none"
        assert f([2]) == "some"
        assert f.cache.info()[:3] == (1, 2, 2)


def test_is_none_in_a_called_helper_is_guarded() -> None:
    def missing(value: Any) -> bool:
        return value is None

    @specialize
    def f(cfg: dict[str, Any]) -> bool:
        return missing(cfg["sub"])

    assert f({"sub": {"a": 1}}) is False
    assert f({"sub": None}) is True


# -- controls -----------------------------------------------------------------------------------
def test_a_constant_function_gets_real_values_and_guards_its_arguments() -> None:
    seen: list[type] = []

    @guards.constant
    def rate(region: str, tiers: list[int]) -> float:
        seen.append(type(region))
        seen.append(type(tiers))
        return {"eu": 0.2, "us": 0.1}[region] * len(tiers)

    @specialize
    def price(order: dict[str, Any]) -> float:
        return order["amount"] * (1 + rate(order["region"], order["tiers"]))

    order = {"amount": 10, "region": "eu", "tiers": [1], "note": "x"}
    assert price(order) == pytest.approx(12.0)
    assert seen == [str, list]
    assert price(order) == pytest.approx(12.0)
    assert seen == [str, list]  # a hit: the constant function is not called again
    order["note"] = "y"
    assert price(order) == pytest.approx(12.0) and price.cache.info().hits == 2
    order["tiers"] = [1, 2]
    assert price(order) == pytest.approx(14.0)  # its argument is guarded by value
    order["region"] = "us"
    assert price(order) == pytest.approx(12.0)
    kinds = {(g.source.name, g.kind) for g in price.cache.entries[0].check.guards}
    assert ("L['rate']", "ID_MATCH") in kinds  # a closure variable of price
    assert ("L['order']['tiers']", "CONSTANT_MATCH") in kinds
    assert not any("note" in name for name, _ in kinds)


def test_disable_recursive_runs_specialized_callees_uncached() -> None:
    @specialize
    def inner(x: int) -> int:
        ran(("inner", x))
        return x * 2

    @guards.disable
    def outer(x: int) -> int:
        return inner(x)

    assert inner(1) == 2  # builds an entry
    before = inner.cache.info()
    RUNS.clear()
    assert outer(1) == 2
    assert RUNS == [("inner", 1)]  # the body ran: the entry was not used
    after = inner.cache.info()
    assert (after.hits, after.misses, after.entries) == (before.hits, before.misses, 1)
    assert after.uncached == before.uncached + 1
    call_line = inner.__wrapped__.__code__.co_firstlineno + 7  # outer's `return inner(x)`
    assert inner.specialized.uncached_reasons == {
        "runs inside a function marked guards.disable(recursive=True)"
        f" at test_specialize.py:{call_line}": 1
    }
    RUNS.clear()
    assert inner(1) == 2 and RUNS == []  # outside the region: a hit again
    assert inner.cache.info().hits == before.hits + 1


def test_disable_not_recursive_keeps_callees_cached() -> None:
    @specialize
    def inner(x: int) -> int:
        ran(("inner", x))
        return x * 2

    @guards.disable(recursive=False)
    def outer(x: int) -> int:
        return inner(x)

    assert inner(1) == 2
    RUNS.clear()
    assert outer(1) == 2
    assert RUNS == []
    assert inner.cache.info()[:2] == (1, 1)
    assert inner.cache.info().uncached == 0


def test_disable_marks_opaque_for_tracing_either_way() -> None:
    @guards.disable(recursive=False)
    def shallow(x: int) -> int:
        return x

    @guards.disable
    def deep(x: int) -> int:
        return x

    for opaque in (shallow, deep):

        def use(x: int, g: Callable[[int], int] = opaque) -> int:
            return g(x) + 1

        f = specialize(use)
        assert f(1) == 2 and f(1) == 2
        assert_uncached(f, "which guards.disable marks opaque", calls=2)


def test_disable_rejects_what_is_not_callable() -> None:
    with pytest.raises(TypeError, match="disable\\(\\) needs a callable"):
        guards.disable(3)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="constant\\(\\) needs a callable"):
        guards.constant(3)  # type: ignore[type-var]


def test_strict_mode_raises_before_any_write() -> None:
    """Strict mode raises UntrackedCallError, and the write it refused did not happen."""

    @specialize(strict=True)
    def register(registry: list[str], name: str) -> int:
        registry.append(name)
        return len(registry)

    names: list[str] = []
    with pytest.raises(UntrackedCallError) as info:
        register(names, "a")
    append_line = register.__wrapped__.__code__.co_firstlineno + 2
    assert info.value.reasons == (
        f"calls .append() on L['registry'], a tracked input at test_specialize.py:{append_line}",
    )
    assert isinstance(info.value, GuardsError)
    assert str(info.value).startswith(f"{register.__qualname__} cannot be cached (strict mode)")
    assert names == []
    assert register.cache.info().uncached == 1


def test_strict_mode_from_config_patch() -> None:
    @specialize
    def register(registry: list[str]) -> int:
        registry.append("x")
        return len(registry)

    @specialize(strict=False)
    def lenient(registry: list[str]) -> int:
        registry.append("x")
        return len(registry)

    names: list[str] = []
    with config.patch(strict=True):
        with pytest.raises(UntrackedCallError) as info:
            register(names)
        assert lenient(names) == 1  # strict=False on the decorator wins
    assert "append" in info.value.reasons[0]
    assert register(names) == 2  # not strict any more


def test_verify_mode_raises_on_a_stale_hit() -> None:
    state = {"value": 1}

    @guards.constant
    def current() -> int:  # breaks the rule of guards.constant: it reads state
        return state["value"]

    @specialize
    def read(x: int) -> int:
        return current() + x

    assert read(1) == 2
    state["value"] = 5
    assert read(1) == 2  # stale, and nothing notices without verify mode
    with config.patch(verify=True), pytest.raises(StaleHitError) as info:
        read(1)
    error = info.value
    assert isinstance(error, GuardsError)
    assert error.entry is read.cache.entries[0]
    assert [str(g) for g in error.entry.check.guards] == [
        "ID_MATCH(L['current'])", "CONSTANT_MATCH(L['x'])"
    ]
    assert str(error).startswith(
        f"stale hit in {read.__qualname__}: the cache returned 2 but a fresh call returns 6"
    )
    assert "CONSTANT_MATCH(L['x'])" in str(error)


def test_verify_decorator_option_raises_on_a_stale_hit() -> None:
    state = {"value": 1}

    @guards.constant
    def current() -> int:  # breaks the rule of guards.constant: it reads state
        return state["value"]

    @specialize(verify=True)
    def read() -> int:
        return current()

    assert read() == 1
    assert read() == 1  # a verified hit
    state["value"] = 2
    with pytest.raises(StaleHitError):
        read()


def test_verify_mode_passes_when_results_agree() -> None:
    """Verify mode accepts equal fresh results, including objects without __eq__."""

    @specialize(verify=True)
    def build(x: int) -> Any:
        return [Obj(x=x, items=[x]), {"nan": math.nan}, x]

    first = build(1)
    second = build(1)
    assert build.cache.info().hits == 1
    assert second[0].x == first[0].x == 1 and second[2] == 1

    @specialize
    def plain(x: int) -> list[int]:
        return [x]

    plain(1)
    with config.patch(verify=True):
        assert plain(1) == [1]
    assert plain.cache.info().hits == 1


def test_config_patch_is_a_context_manager_and_restores() -> None:
    assert (config.strict, config.verify) == (False, False)
    with config.patch(strict=True, verify=True):
        assert (config.strict, config.verify) == (True, True)
        with config.patch(strict=False):
            assert (config.strict, config.verify) == (False, True)
        assert config.strict is True
    assert (config.strict, config.verify) == (False, False)
    with pytest.raises(KeyError), config.patch(warn_uncached=False):
        assert config.warn_uncached is False
        raise KeyError
    assert config.warn_uncached is True


def test_config_patch_is_a_decorator_and_restores() -> None:
    patch = config.patch(trace_library_code=True)

    @patch
    def inside() -> bool:
        return config.trace_library_code

    assert inside() is True
    assert config.trace_library_code is False
    with patch:
        assert inside() is True  # the same patch, nested
        assert config.trace_library_code is True
    assert config.trace_library_code is False


def test_config_patch_rejects_unknown_options_and_non_bools() -> None:
    with pytest.raises(GuardsValueError, match="unknown option 'nope'; options: "):
        config.patch(nope=True)
    with pytest.raises(GuardsTypeError, match="option strict must be a bool, got 1 \\(type int\\)"):
        config.patch(strict=1)
    with pytest.raises(
        GuardsTypeError,
        match=r"option verify must be a bool or a float share of hits in \[0, 1\], got 'yes'",
    ):
        config.patch(verify="yes")
    assert (config.strict, config.verify) == (False, False)


def test_warn_uncached_off_silences_the_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="guards.recompiles")

    @specialize
    def register(registry: list[str]) -> int:
        registry.append("x")
        return len(registry)

    with config.patch(warn_uncached=False):
        register([])
    assert uncached_warnings(caplog) == []
    assert register.cache.info().uncached == 1


# -- limits in specialize -------------------------------------------------------------------------
def test_on_limit_policies_in_specialize() -> None:
    @specialize(max_entries=1, on_limit="evict")
    def evicting(x: int) -> int:
        return x + 1

    @specialize(max_entries=1, on_limit="run")
    def running(x: int) -> int:
        return x + 1

    @specialize(max_entries=1, on_limit="raise")
    def raising(x: int) -> int:
        return x + 1

    for f in (evicting, running, raising):
        assert f(1) == 2
    assert evicting(2) == 3 and evicting.cache.info().evictions == 1
    assert running(2) == 3 and running(2) == 3
    assert running.cache.info().uncached == 2 and running(1) == 2
    assert running.cache.info().hits == 1
    with pytest.raises(guards.CacheLimitError) as info:
        raising(2)
    assert "CONSTANT_MATCH L['x'] == 1: expected 1, got 2" in str(info.value)
    assert [f.kind for e in info.value.explanation.entries for f in e.result.failures] == [
        "CONSTANT_MATCH"
    ]


# -- logging --------------------------------------------------------------------------------------
def test_a_recompile_logs_every_failing_guard(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="guards.recompiles")

    @specialize
    def render(cfg: dict[str, Any]) -> str:
        return f"{cfg['mode']}:{cfg['n']}"

    render({"mode": "a", "n": 1})
    render({"mode": "b", "n": 1})
    assert caplog.records[-1].getMessage().count("\n    - ") == 1
    caplog.clear()
    new = {"mode": "c", "n": 2}
    expected = render.explain(new).failure_lines()
    assert len(expected) == 4  # both entries, both keys
    render(new)
    [record] = [r for r in caplog.records if r.name == "guards.recompiles"]
    assert record.levelno == logging.INFO
    code = render.__wrapped__.__code__
    assert record.getMessage() == (
        f"Recompiling function {code.co_qualname} in {code.co_filename}:{code.co_firstlineno}\n"
        "    triggered by the following guard failure(s):\n"
        + "\n".join(f"    - {line}" for line in expected)
    )


def test_the_first_miss_logs_no_recompile(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="guards")

    @specialize
    def f(x: int) -> int:
        return x

    f(1)
    assert not [r for r in caplog.records if r.name == "guards.recompiles"]


def test_the_guards_logger_shows_each_new_guard_tree(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="guards.guards")

    @specialize
    def pick(opts: dict[str, int]) -> int:
        return opts["k"]

    pick({"k": 1})
    [record] = [r for r in caplog.records if r.name == "guards.guards"]
    assert record.levelno == logging.DEBUG
    check = pick.cache.entries[0].check
    assert record.getMessage() == f"GUARDS for {pick.__wrapped__.__code__.co_qualname}:\n{check}"
    assert "L['opts']['k']" in record.getMessage()
    assert "CONSTANT_MATCH: L['opts']['k'] == 1" in record.getMessage()


@pytest.fixture
def restore_loggers() -> Iterator[None]:
    loggers = [logging.getLogger("guards.recompiles"), logging.getLogger("guards.guards")]
    saved = [(lg.level, list(lg.handlers), lg.propagate) for lg in loggers]
    yield
    for lg, (level, handlers, propagate) in zip(loggers, saved, strict=True):
        lg.setLevel(level)
        lg.propagate = propagate
        for handler in list(lg.handlers):
            if handler not in handlers:
                lg.removeHandler(handler)


@pytest.mark.usefixtures("restore_loggers")
def test_guards_logs_environment_variable_turns_on_the_loggers() -> None:
    recompiles = logging.getLogger("guards.recompiles")
    guards_logger = logging.getLogger("guards.guards")
    before = len(recompiles.handlers), len(guards_logger.handlers)
    assert configure_from_env({"GUARDS_LOGS": "recompiles,guards"}) == ["recompiles", "guards"]
    for logger, n in zip((recompiles, guards_logger), before, strict=True):
        assert logger.level == logging.DEBUG
        assert len(logger.handlers) == n + 1
        handler = logger.handlers[-1]
        assert isinstance(handler, logging.StreamHandler)
    # Configuring again adds no second handler.
    assert configure_from_env({"GUARDS_LOGS": " guards , recompiles "}) == ["guards", "recompiles"]
    assert (len(recompiles.handlers), len(guards_logger.handlers)) == (before[0] + 1, before[1] + 1)


@pytest.mark.usefixtures("restore_loggers")
def test_guards_logs_all_and_unknown_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert configure_from_env({"GUARDS_LOGS": "all"}) == ["recompiles", "guards"]
    assert configure_from_env({"GUARDS_LOGS": "nope,guards"}) == ["guards"]
    assert "GUARDS_LOGS names unknown logger 'nope'" in capsys.readouterr().err
    assert configure_from_env({}) == []


@pytest.mark.usefixtures("restore_loggers")
def test_guards_logs_only_what_is_named() -> None:
    recompiles = logging.getLogger("guards.recompiles")
    level = recompiles.level
    assert configure_from_env({"GUARDS_LOGS": "guards"}) == ["guards"]
    assert logging.getLogger("guards.guards").level == logging.DEBUG
    assert recompiles.level == level


# -- methods, library code, recursion -------------------------------------------------------------
def test_a_method_of_a_tracked_object_is_traced() -> None:
    @specialize
    def size(cfg: Cfg) -> int:
        return cfg.size()

    cfg = Cfg("fast", 3)
    assert size(cfg) == 6
    guards_ = {(g.source.name, g.kind) for g in size.cache.entries[0].check.guards}
    assert ("L['cfg'].size.__func__", "CLOSURE_MATCH") in guards_
    assert ("L['cfg'].n", "CONSTANT_MATCH") in guards_
    cfg.mode = "slow"
    cfg.other = 1
    assert size(cfg) == 6 and size.cache.info().hits == 1
    cfg.n = 4
    assert size(cfg) == 8
    assert size.cache.info()[:3] == (1, 2, 2)


def test_calling_a_method_installs_no_type_match_on_the_object() -> None:
    """Library-internal isinstance checks (binding a method call) add no TYPE_MATCH guards."""

    @specialize
    def size(cfg: Cfg) -> int:
        return cfg.size()

    size(Cfg("a", 1))
    kinds = [(g.source.name, g.kind) for g in size.cache.entries[0].check.guards]
    assert not [k for k in kinds if k[1] == "TYPE_MATCH"], kinds


def test_a_user_isinstance_guards_the_type() -> None:
    @specialize
    def kind(x: Any) -> str:
        return "list" if isinstance(x, list) else "other"

    assert kind([1]) == "list"
    assert kind((1,)) == "other"
    assert kind([2, 3]) == "list"
    assert kind.cache.info()[:3] == (1, 2, 2)


def test_library_functions_work_on_tracked_inputs() -> None:
    @specialize
    def summary(cfg: dict[str, Any], xs: list[float]) -> tuple[str, float, list[float]]:
        return json.dumps(cfg, sort_keys=True), math.sqrt(xs[0]), sorted(xs)

    cfg: dict[str, Any] = {"b": [1, 2], "a": "x"}
    xs = [4.0, 1.0, 3.0]
    expected = ('{"a": "x", "b": [1, 2]}', 2.0, [1.0, 3.0, 4.0])
    assert summary(cfg, xs) == expected
    assert summary(cfg, xs) == expected and summary.cache.info().hits == 1
    cfg["b"].append(3)
    xs[1] = 0.5
    assert summary(cfg, xs) == summary.__wrapped__(cfg, xs)
    assert summary.cache.info()[:3] == (1, 2, 2)


def test_a_specialized_function_can_recurse() -> None:
    @specialize
    def fact(n: int) -> int:
        return 1 if n <= 1 else n * fact(n - 1)

    assert fact(5) == 120  # fact(5) .. fact(1): an entry each, through the cache
    assert fact(5) == 120
    assert fact(6) == 720  # its inner fact(5) hits
    assert fact.cache.info()[:3] == (2, 6, 6)


def test_a_specialized_callee_is_traced_through() -> None:
    @specialize
    def inner(cfg: dict[str, int]) -> int:
        return cfg["a"]

    @specialize
    def outer(cfg: dict[str, int]) -> int:
        return inner(cfg) + 1

    cfg = {"a": 1, "b": 2}
    assert outer(cfg) == 2
    cfg["b"] = 3
    assert outer(cfg) == 2 and outer.cache.info().hits == 1
    cfg["a"] = 5
    assert outer(cfg) == 6


def test_globals_read_through_a_module_are_guarded(monkeypatch: pytest.MonkeyPatch) -> None:
    @specialize
    def counts() -> int:
        return len(collections.Counter("aab"))

    assert counts() == 2
    assert counts() == 2 and counts.cache.info().hits == 1
    kinds = {(g.source.name, g.kind) for g in counts.cache.entries[0].check.guards}
    assert ("G['collections'].Counter", "ID_MATCH") in kinds


def test_specialize_accepts_a_lambda() -> None:
    """A lambda's name is no identifier; the wrapper still keeps it and binds like it."""
    add = guards.specialize(lambda x, y=2: x + y)
    assert add(1) == 3 and add(1) == 3
    assert add.cache.info().hits == 1
    assert add.__name__ == "<lambda>"
    with pytest.raises(TypeError, match=r"<lambda>\(\) missing 1 required positional"):
        add()


@dataclasses.dataclass
class _Layer:
    name: str
    width: int
    act: str = "relu"


def _layer_text(layer: _Layer) -> str:
    return f"{layer.name}:{layer.width}/{layer.act}"


def test_a_realistic_function_with_builtins_and_the_standard_library() -> None:
    """Comprehensions, max(key=), sorted items, json, Counter, math: cached and exact."""

    @guards.specialize
    def describe(layers: list[_Layer], opts: dict[str, float], sep: str = ", ") -> object:
        parts = [_layer_text(layer) for layer in layers if layer.width > 0]
        widest = max(layers, key=lambda layer: layer.width).name
        pairs = {k: v for k, v in sorted(opts.items())}
        counts = collections.Counter(layer.act for layer in layers)
        total = sum(layer.width for layer in layers)
        return sep.join(parts), widest, json.dumps(pairs), dict(counts), round(math.log(total), 6)

    layers = [_Layer("a", 3), _Layer("b", 5, "gelu")]
    opts = {"wd": 0.0, "lr": 0.1}
    first = describe(layers, opts)
    assert first == describe.__wrapped__(layers, opts)
    assert describe(layers, opts) == first
    assert describe.cache.info().hits == 1
    layers[1].act = "relu"  # read: a miss with the fresh result
    assert describe(layers, opts) == describe.__wrapped__(layers, opts)
    opts["lr"] = 0.2  # read through sorted(opts.items()): a miss too
    assert describe(layers, opts) == describe.__wrapped__(layers, opts)
    info = describe.cache.info()
    assert (info.hits, info.misses, info.uncached) == (1, 3, 0)


def test_a_parameter_the_code_never_reads_is_not_guarded() -> None:
    """Changing an argument the function ignores is not a miss."""

    @guards.specialize
    def handler(event: int, context: str, retries: int = 3) -> int:
        return event * 2

    assert handler(1, "a") == handler(1, "b") == handler(1, "c", 5) == 2
    info = handler.cache.info()
    assert (info.misses, info.hits) == (1, 2)
    assert handler(2, "a") == 4  # the parameter it reads still is
    assert handler.cache.info().misses == 2


def test_a_function_that_can_read_its_frame_guards_every_parameter() -> None:
    """locals() reads parameters without loading them: they stay guarded."""

    @guards.specialize
    def names(a: int, b: int) -> list[str]:
        return sorted(k for k, v in locals().items() if v)

    assert names(1, 0) == ["a"]
    assert names(1, 2) == ["a", "b"]  # b changed: a miss, not a stale ["a"]
    assert names.cache.info().misses == 2


def test_a_parameter_read_only_through_super_is_guarded() -> None:
    """Zero-argument super() reads the first parameter from the frame: it stays guarded."""

    class Base:
        def __init__(self, width: int) -> None:
            self.width = width

        def size(self) -> int:
            return self.width

    class Box(Base):
        @guards.specialize
        def size(self) -> int:
            return super().size() + 1

    assert Box(2).size() == 3
    assert Box(5).size() == 6  # not the stale 3
