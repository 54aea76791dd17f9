"""The leak net: nothing of a traced run reaches the caller.

A result, an iterator, an exception, a closure, a generator, a weak reference
or a class made during the run that still holds a piece of the trace (a proxy
or the traced globals) after it means the run is discarded: the caller gets a
plain run's result, and nothing is cached.  Each test calls the specialized
function, checks that what it returned holds the caller's real objects (as
the plain function's would), mutates, and calls again.
"""

from __future__ import annotations

import collections
import gc
import types
import weakref
from typing import Any

import pytest

import guards
from guards.specialization.proxy import is_proxy

MODE = "a"


def reasons(f: Any) -> list[str]:
    return list(f.specialized.uncached_reasons)


def holds_no_proxy(value: Any) -> bool:
    """Nothing within a few references of ``value`` (through gc referents) is a proxy."""
    seen: set[int] = set()
    layer = [value]
    for _ in range(4):  # a frame, its locals, a cell, its contents
        for obj in layer:
            if is_proxy(obj):
                return False
        layer = [
            ref for obj in layer if id(obj) not in seen and not seen.add(id(obj))
            for ref in gc.get_referents(obj)
            if not issubclass(type(ref), (type, types.ModuleType)) and ref is not globals()
        ]
    return True


class Pair:
    __slots__ = ("items",)

    def __init__(self, items: Any) -> None:
        self.items = items


class Items(list):  # type: ignore[type-arg]
    pass


def test_a_slots_object_holding_an_input_holds_the_input_itself() -> None:
    """The tracer rewrites __slots__ too: the result holds the input, and hits track it."""

    @guards.specialize
    def f(cfg: dict[str, Any]) -> Pair:
        return Pair((cfg["inner"], 1))

    cfg = {"inner": {"a": 1}}
    r = f(cfg)
    assert holds_no_proxy(r)
    assert r.items[0] is cfg["inner"]
    cfg["inner"]["a"] = 2
    assert f(cfg).items[0] == {"a": 2}
    assert f(cfg).items[0] is cfg["inner"]
    assert f.cache.info().hits == 2


@pytest.mark.parametrize(
    ("make", "use"),
    [
        pytest.param(lambda cfg: enumerate(cfg["rows"]), list, id="enumerate"),
        pytest.param(lambda cfg: map(len, cfg["rows"]), list, id="map"),
        pytest.param(lambda cfg: zip(cfg["rows"], cfg["rows"], strict=True), list, id="zip"),
        pytest.param(lambda cfg: iter(cfg["rows"]), list, id="iter"),
        pytest.param(lambda cfg: (row for row in cfg["rows"]), list, id="generator"),
        pytest.param(lambda cfg: collections.defaultdict(list, {"r": cfg["rows"]}), dict,
                     id="defaultdict"),
        pytest.param(lambda cfg: Items([cfg["rows"]]), list, id="list-subclass"),
        pytest.param(lambda cfg: KeyError(cfg["rows"]), lambda e: e.args, id="exception-args"),
        pytest.param(lambda cfg: collections.deque([cfg["rows"]]), list, id="deque"),
        pytest.param(lambda cfg: (lambda: cfg["rows"]), lambda fn: fn(), id="closure"),
    ],
)
def test_results_that_hold_a_piece_of_the_trace_are_plain_results(make: Any, use: Any) -> None:
    """Iterators, containers, exceptions and closures made on tracked values, used after
    the input changed, give what the plain function's would."""
    f = guards.specialize(make)
    for _ in range(2):
        cfg = {"rows": [[1], [2, 3]]}
        got = f(cfg)
        cfg["rows"].append([4])
        got_used = use(got)
        assert holds_no_proxy(got) and holds_no_proxy(got_used)
        cfg = {"rows": [[1], [2, 3]]}
        plain = make(cfg)
        cfg["rows"].append([4])
        assert type(got) is type(plain)
        assert got_used == use(plain)
    assert f.cache.info().hits == 0
    assert f.cache.info().uncached == 2


def test_a_weak_reference_to_an_input_stays_alive_with_the_input() -> None:
    class Box:
        pass

    @guards.specialize
    def f(box: Box) -> Any:
        return weakref.ref(box)

    box = Box()
    ref = f(box)
    assert ref() is box
    assert f.cache.info().entries == 0


def test_a_returned_closure_reads_the_live_globals_and_is_new_at_each_call() -> None:
    """A function made during the call keeps the traced globals: plain run, uncached."""
    global MODE

    @guards.specialize
    def make(k: int) -> Any:
        def inner() -> tuple[str, int]:
            return MODE, k

        return inner

    fn = make(1)
    assert fn.__globals__ is globals()
    MODE = "b"
    try:
        assert fn() == ("b", 1)
        assert make(1) is not make(1)
    finally:
        MODE = "a"
    [reason] = reasons(make)
    assert reason == (
        "the function test_a_returned_closure_reads_the_live_globals_and_is_new_at_each_call"
        ".<locals>.make.<locals>.inner made during the call keeps the traced globals"
        f" at test_sound_leaks.py:{make.__wrapped__.__code__.co_firstlineno + 5}"  # its return
    )


def test_a_class_made_during_the_call_is_new_at_each_call() -> None:
    """A class statement in the function: a plain call makes a new class each time."""

    @guards.specialize
    def make(n: int) -> Any:
        class Point:
            size = n

        return Point

    a, b = make(1), make(1)
    assert a is not b
    assert a.size == b.size == 1
    assert make.cache.info().hits == 0
    assert any("the class" in r and "Point" in r for r in reasons(make))


def test_an_instance_of_a_class_made_during_the_call_is_not_cached() -> None:
    @guards.specialize
    def make(n: int) -> Any:
        Point = type("Point", (), {})
        p = Point()
        p.n = n
        return p

    a, b = make(1), make(1)
    assert type(a) is not type(b)
    assert make.cache.info().hits == 0


def test_functions_and_classes_used_only_inside_the_call_still_cache() -> None:
    """The net is about what outlives the run: lambdas, local helpers and cycles do not."""

    @guards.specialize
    def f(cfg: dict[str, Any]) -> list[int]:
        def walk(n: int) -> int:  # a recursive closure: a cycle freed by the collector
            return 0 if n == 0 else 1 + walk(n - 1)

        class Local:
            pass

        Local()
        return [*sorted(cfg["xs"], key=lambda x: -x), walk(2)]

    cfg = {"xs": [1, 3, 2]}
    assert f(cfg) == [3, 2, 1, 2]
    assert f(cfg) == [3, 2, 1, 2]
    assert f.cache.info().hits == 1, reasons(f)
    cfg["xs"].append(5)
    assert f(cfg) == [5, 3, 2, 1, 2]


def test_an_exception_stored_in_a_local_does_not_count_as_a_leak() -> None:
    """A caught exception kept in a local makes a frame cycle; the collector frees it."""

    @guards.specialize
    def f(cfg: dict[str, Any]) -> str:
        try:
            cfg["missing"]
        except KeyError as exc:
            err = exc
        return type(err).__name__ + str(cfg["n"])

    cfg = {"n": 1}
    assert f(cfg) == f(cfg) == "KeyError1"
    assert f.cache.info().hits == 1, reasons(f)


X = 1


def read_x() -> int:
    return X


def test_a_function_argument_reads_the_globals_it_was_made_with() -> None:
    """Same code, other globals: its reads are guarded through its own __globals__."""
    other = types.FunctionType(read_x.__code__, {"X": 100}, "read_x")

    @guards.specialize
    def call(h: Any) -> int:
        return h()  # type: ignore[no-any-return]

    assert call(read_x) == 1
    assert call(other) == 100
    assert call(read_x) == 1
    assert call.cache.info().hits == 1


REGISTRY: collections.deque[Any] = collections.deque()


def test_storing_into_a_registry_through_a_c_method_happens_once_with_the_real_object() -> None:
    """The run stops before the C method runs: no proxy is stored, the plain run stores."""

    @guards.specialize
    def register(cfg: dict[str, int]) -> int:
        REGISTRY.append(cfg)
        return len(REGISTRY)

    REGISTRY.clear()
    cfg = {"a": 1}
    assert register(cfg) == 1
    assert list(REGISTRY) == [cfg]
    assert REGISTRY[0] is cfg
    assert register.cache.info().entries == 0


@pytest.mark.parametrize(
    "make",
    [iter, lambda d: iter(d.items()), lambda d: iter(d.values()), lambda d: zip(d, d, strict=True)],
)
def test_a_returned_c_iterator_over_a_dict_is_a_plain_runs(make: Any) -> None:
    """An iterator over a dict input, returned unconsumed, is the plain run's: its type,
    and the error it raises when the dict grows before it is consumed."""

    def f(d: dict[str, int]) -> Any:
        return make(d)

    fast = guards.specialize(f)
    d = {"a": 1}
    got, plain = fast(d), f(d)
    assert type(got) is type(plain)
    d["b"] = 2
    for it in (got, plain):
        with pytest.raises(RuntimeError, match="changed size during iteration"):
            list(it)
    assert fast.cache.info().entries == 0
    [reason] = fast.specialized.uncached_reasons
    assert "reads its input when consumed" in reason
