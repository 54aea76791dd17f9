"""What a miss does per value read (issue 12, item 3), counted rather than timed.

A miss builds each guard once, compiles a bounded number of texts however many
values were read (values of one object, one container or the arguments are
compared as one tuple), and keeps every guarantee: a changed value or type
misses, the explanation names the guard that failed and the line that read it,
and a check never runs ``__missing__``.  Timing lives in
``benchmarks/miss_per_value.py``.
"""

from __future__ import annotations

import collections
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

import guards
from guards.checks import generated
from guards.core.builder import GuardBuilder
from guards.core.sources import AttrSource
from guards.specialization.library import has_library_frames
from guards.specialization.proxy import UNSET, TrackedScalar, tracer_of, tracker_of
from guards.specialization.scalars import ScalarTracer

FILE = os.path.basename(__file__)


class Bag:
    """An object with attributes a0, a1, ..."""

    def __init__(self, n: int) -> None:
        for i in range(n):
            setattr(self, f"a{i}", i)


def reader(params: str, body: str) -> Callable[..., Any]:
    namespace: dict[str, Any] = {}
    exec(f"def read({params}):\n    return {body}\n", namespace)
    return namespace["read"]  # type: ignore[no-any-return]


def attribute_reader(n: int) -> Callable[..., Any]:
    return reader("o", " + ".join(f"o.a{i}" for i in range(n)))


def argument_reader(n: int) -> Callable[..., Any]:
    names = ", ".join(f"x{i}" for i in range(n))
    return reader(names, " + ".join(f"x{i}" for i in range(n)))


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> Iterator[collections.Counter[str]]:
    """Texts compiled, by kind (``check``, ``specialize``...), while the fixture is used."""
    counts: collections.Counter[str] = collections.Counter()
    real = generated.compile_generated

    def counting(text: str, *, kind: Any, **rest: Any) -> Any:
        counts[kind] += 1
        return real(text, kind=kind, **rest)

    for module in ("guards.checks.codegen", "guards.specialization.dispatcher"):
        monkeypatch.setattr(f"{module}.compile_generated", counting)
    yield counts


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> Iterator[collections.Counter[Any]]:
    """Guards built (turned into checks), each with how often."""
    counts: collections.Counter[Any] = collections.Counter()
    real = GuardBuilder.build
    real_scalar = GuardBuilder.scalar_check

    inside: list[Any] = []

    def counting(self: GuardBuilder, guard: Any) -> None:
        counts[guard] += 1
        inside.append(guard)
        try:
            real(self, guard)
        finally:
            inside.pop()

    def counting_scalar(self: GuardBuilder, guard: Any, value: Any) -> bool:
        built = real_scalar(self, guard, value)
        if built and not inside:  # not inside build(), which counted it
            counts[guard] += 1
        return built

    monkeypatch.setattr(GuardBuilder, "build", counting)
    monkeypatch.setattr(GuardBuilder, "scalar_check", counting_scalar)
    yield counts


# -- work done once per miss ------------------------------------------------------------
@pytest.mark.parametrize("n", [10, 100])
def test_each_guard_is_built_once_per_miss(n: int, builds: collections.Counter[Any]) -> None:
    read = guards.specialize(attribute_reader(n))
    assert read(Bag(n)) == sum(range(n))
    [entry] = read.cache.entries
    assert set(entry.check.guards) <= set(builds)
    assert max(builds.values()) == 1  # at install; compiling uses those checks


def test_a_miss_builds_only_the_guards_its_entry_checks(
    builds: collections.Counter[Any],
) -> None:
    # In `o.a0 + o.a1 + o.a2 ...`, every second value is first asked its type (for a
    # derived value) and then guarded by value: the type guard is taken out again,
    # and is never built.
    read = guards.specialize(attribute_reader(10))
    assert read(Bag(10)) == 45
    [entry] = read.cache.entries
    assert set(builds) == set(entry.check.guards)
    assert all(guard.kind != "TYPE_MATCH" for guard in builds)


@pytest.mark.parametrize("make", [attribute_reader, argument_reader])
def test_the_texts_compiled_by_a_miss_do_not_grow_with_the_values_read(
    make: Callable[[int], Callable[..., Any]], compiles: collections.Counter[str]
) -> None:
    counted = []
    for n in (20, 200):
        read = guards.specialize(make(n))
        compiles.clear()
        args = (Bag(n),) if make is attribute_reader else tuple(range(n))
        assert read(*args) == sum(range(n))
        assert read(*args) == sum(range(n)) and read.cache.info().hits == 1
        counted.append(dict(compiles))
        [entry] = read.cache.entries
        # One tuple comparison for all the values: a text that stays short.
        assert len(entry.check.code.splitlines()) < 15
    # The check alone: an entry of many checks is looked up from a tuple of such
    # entries by the body written when the function was specialized.  The C
    # evaluator runs a check with no text compiled (its text is made when asked).
    native = entry.check.native
    assert counted[0] == counted[1] == ({} if native else {"check": 1})
    # An entry of few checks is written into the body: compiled again.
    read = guards.specialize(make(3))
    compiles.clear()
    assert read(*((Bag(3),) if make is attribute_reader else (0, 1, 2))) == 3
    assert dict(compiles) == ({"specialize": 1} if native else {"check": 1, "specialize": 1})


# -- the grouped comparison keeps every guarantee ---------------------------------------
@settings(max_examples=40, deadline=None)
@given(
    index=st.integers(0, 11),
    new=st.one_of(st.integers(-3, 20), st.booleans(), st.floats(allow_nan=True),
                  st.text(max_size=2), st.none()),
)
def test_a_hit_equals_a_fresh_call_whatever_value_changes(index: int, new: Any) -> None:
    """Any one of twelve attributes, set to any value of any type: the specialized
    function answers as the plain one (1.0 and True are not 1)."""
    read = reader("o", "[" + ", ".join(f"o.a{i}" for i in range(12)) + "]")
    specialized = guards.specialize(read)
    bag = Bag(12)
    assert specialized(bag) == read(bag)
    setattr(bag, f"a{index}", new)
    fresh = read(bag)
    got = specialized(bag)
    assert got == fresh and [type(v) for v in got] == [type(v) for v in fresh]
    same = type(new) is int and new == index
    assert specialized.cache.info().misses == (1 if same else 2)


@pytest.mark.parametrize(
    "container",
    [{f"k{i}": i for i in range(8)}, list(range(8)), tuple(range(8))],
    ids=["dict", "list", "tuple"],
)
def test_items_read_together_miss_on_a_changed_item_or_type(container: Any) -> None:
    keys = list(container) if isinstance(container, dict) else list(range(8))
    read = reader("c", " + ".join(f"c[{k!r}]" for k in keys))
    specialized = guards.specialize(read)
    assert specialized(container) == read(container)
    changed = dict(container) if isinstance(container, dict) else list(container)
    changed[keys[5]] = 5.0  # equal, but a float
    assert specialized(changed) == read(changed)
    assert specialized.cache.info().misses == 2
    again = type(container)(container) if not isinstance(container, dict) else dict(container)
    assert specialized(again) == read(again) and specialized.cache.info().hits == 1


def test_a_check_of_items_never_runs_missing() -> None:
    """A defaultdict that lost a key is a failed check, not a key inserted by it."""
    read = reader("d", " + ".join(f"d['k{i}']" for i in range(6)))
    specialized = guards.specialize(read)
    d = collections.defaultdict(int, {f"k{i}": i for i in range(6)})
    assert specialized(d) == 15
    del d["k3"]
    assert specialized.explain(d)  # would miss
    assert "k3" not in d
    assert specialized(d) == read(d) == 12


def test_the_explanation_names_the_one_failing_value_and_its_line() -> None:
    def total(o: Bag) -> int:
        return o.a0 + o.a1 + o.a2 + o.a3 + o.a4 + o.a5 + o.a6 + o.a7  # the reading line

    specialized = guards.specialize(total)
    bag = Bag(8)
    assert specialized(bag) == 28
    bag.a6 = 60
    explanation = specialized.explain(bag)
    lines = explanation.failure_lines()
    assert len(lines) == 1, lines
    assert "L['o'].a6" in lines[0] and "6" in lines[0] and "60" in lines[0]
    assert f"{FILE}:" in str(explanation) and "the reading line" in str(explanation)


def test_many_arguments_checked_together_and_a_missing_one_raises_as_python_does() -> None:
    read = argument_reader(40)
    specialized = guards.specialize(read)
    args = tuple(range(40))
    assert specialized(*args) == read(*args)
    assert specialized(*args) == read(*args) and specialized.cache.info().hits == 1
    assert specialized(*args[:-1], 39.0) == read(*args[:-1], 39.0)
    assert specialized.cache.info().misses == 2
    with pytest.raises(TypeError) as plain:
        read(*args[:-1])
    with pytest.raises(TypeError) as ours:
        specialized(*args[:-1])
    assert str(ours.value) == str(plain.value)


@pytest.mark.parametrize("name", ["type", "map", "all", "len"])
def test_a_parameter_named_like_a_builtin_never_stands_in_for_it(name: str) -> None:
    """The generated guards call builtins: a parameter of that name is not called in
    their place (``type(x) is int`` asked of the caller's function would pass 2.0)."""
    read = reader(f"{name}, x", "x * 2")
    many = reader(f"{name}, o", " + ".join(f"o.a{i}" for i in range(6)))
    specialized, specialized_many = guards.specialize(read), guards.specialize(many)
    assert specialized(lambda v: 0, 2) == 4
    got = specialized(lambda v: int, 2.0)
    assert got == 4.0 and type(got) is float
    assert specialized(lambda v: 0, 2) == 4 and specialized.cache.info().hits == 1
    bag = Bag(6)
    assert specialized_many(None, bag) == 15
    bag.a2 = 2.0
    assert type(specialized_many(lambda *a: True, bag)) is float


# -- a big entry in the front -------------------------------------------------------
def _slow_calls(read: Any) -> list[dict[str, Any]]:
    """The calls that go past the generated front to the slow path, as they happen."""
    front = read
    name = next(n for n in front.__code__.co_names if n.endswith("slow"))
    calls: list[dict[str, Any]] = []
    original = front.__globals__[name]

    def counting(f_locals: dict[str, Any]) -> Any:
        calls.append(f_locals)
        return original(f_locals)

    front.__globals__[name] = counting
    return calls


@pytest.mark.parametrize("n", [20, 300])
def test_an_entry_of_many_checks_hits_in_the_front_and_misses_on_any_change(n: int) -> None:
    # Values of different types and objects: many checks, not one tuple comparison.
    read = guards.specialize(reader("o, p, xs", " + ".join(
        f"o.a{i} + p.a{i} + xs[{i}]" for i in range(n))))
    o, p, xs = Bag(n), Bag(n), list(range(n))
    p.a3 = 3.5  # a float among the ints
    expected = sum(range(n)) * 3 + 0.5
    assert read(o, p, xs) == expected
    calls = _slow_calls(read)
    assert read(o, p, xs) == expected and read.cache.info().hits == 1
    assert calls == []  # answered by the front itself
    for target, name in ((o, f"a{n - 1}"), (p, "a3"), (p, "a0")):
        old = getattr(target, name)
        setattr(target, name, old + 1)
        assert read(o, p, xs) == expected + 1
        setattr(target, name, old)
    xs[n // 2] = True  # True == 1, but not the same type
    assert read(o, p, xs) == sum(range(n)) * 3 + 0.5 - n // 2 + 1
    assert read.cache.info().misses == 5


def test_the_net_leaves_guards_own_generated_code_for_good() -> None:
    """attrs' methods of guards' own records, and guards' check functions, are library
    code whose frames need no watching; a specialized function's wrapper is not."""
    assert has_library_frames(AttrSource.__eq__.__code__)
    assert has_library_frames(AttrSource.__init__.__code__)
    read = guards.specialize(attribute_reader(3))
    assert read(Bag(3)) == 3
    [entry] = read.cache.entries
    assert has_library_frames(entry.check.python_check.__code__)
    assert not has_library_frames(read.__code__)
    assert not has_library_frames(attribute_reader(3).__code__)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring is new in 3.12")
def test_a_miss_raises_nothing_per_value_read() -> None:
    """With sys.monitoring (3.12+) every exception raised is an event the net is
    called for: a miss's own reads raise nothing (no KeyError or AttributeError as a
    test for "not read yet"), so the raises of a miss do not grow with its values."""
    monitoring: Any = vars(sys)["monitoring"]
    raised: list[str] = []
    tool = next(t for t in range(6) if monitoring.get_tool(t) is None)
    monitoring.use_tool_id(tool, "test")
    counts = []
    try:
        monitoring.register_callback(
            tool, monitoring.events.RAISE,
            lambda code, offset, exc: raised.append(f"{code.co_qualname}: {exc!r}"),
        )
        for n in (5, 100):
            read = guards.specialize(attribute_reader(n))
            raised.clear()
            monitoring.set_events(tool, monitoring.events.RAISE)
            assert read(Bag(n)) == sum(range(n))
            monitoring.set_events(tool, 0)
            counts.append(len(raised))
    finally:
        monitoring.set_events(tool, 0)
        monitoring.register_callback(tool, monitoring.events.RAISE, None)
        monitoring.free_tool_id(tool)
    assert counts[0] == counts[1] <= 2, raised


# -- functions of many parameters -------------------------------------------------------
@pytest.fixture
def compiled_texts(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The texts the dispatcher compiles while the fixture is used."""
    texts: list[str] = []
    real = generated.compile_generated

    def keeping(text: str, **rest: Any) -> Any:
        texts.append(text)
        return real(text, **rest)

    monkeypatch.setattr("guards.specialization.dispatcher.compile_generated", keeping)
    yield texts


def test_a_miss_of_a_function_of_many_parameters_compiles_as_many_lines_for_any_number(
    compiled_texts: list[str],
) -> None:
    # The wrapper reads each omitted parameter's default now (two lines a parameter):
    # written once, not again at every miss.  Its entries of many checks are looked up
    # by a front that is no generated text; one of few checks is written into a front.
    lines = []
    for n in (20, 100):
        read = guards.specialize(argument_reader(n))
        compiled_texts.clear()
        assert read(*range(n)) == sum(range(n))
        assert read(*range(1, n + 1)) == sum(range(1, n + 1))
        assert read(*range(n)) == sum(range(n)) and read.cache.info().hits == 1
        assert compiled_texts == []
        first = guards.specialize(reader(
            ", ".join(f"x{i}" for i in range(n)), "x0 + x1"
        ))
        compiled_texts.clear()
        assert first(*range(n)) == 1 and first(*range(n)) == 1
        assert first.cache.info().hits == 1
        assert len(compiled_texts) == 1  # its front
        lines.append([len(text.splitlines()) for text in compiled_texts])
    assert lines[0] == lines[1]


@pytest.mark.parametrize("make", [attribute_reader, argument_reader])
def test_entries_of_many_checks_hit_in_the_front_beside_entries_of_few(
    make: Callable[[int], Callable[..., Any]], compiled_texts: list[str]
) -> None:
    """Entries of many checks (looked up from a tuple, nothing compiled) and of few
    (written into the front) hit in the front, most recent first, as the cache
    changes: a new entry of either kind, an eviction, a clear."""
    n = 30
    if make is attribute_reader:
        body = " + ".join(f"o.a{i}" for i in range(n))
        read = guards.specialize(max_entries=3)(
            reader("o, few=False", f"o.a0 if few else {body}")
        )

        def call(start: int, *, few: bool = False) -> Any:
            bag = Bag(n)
            for i in range(n):
                setattr(bag, f"a{i}", start + i)
            return read(bag, few=few) if few else read(bag)
    else:
        names = [f"x{i}" for i in range(n)]
        read = guards.specialize(max_entries=3)(
            reader(f"{', '.join(names)}, few=False", f"x0 if few else {' + '.join(names)}")
        )

        def call(start: int, *, few: bool = False) -> Any:
            args = range(start, start + n)
            return read(*args, few=few) if few else read(*args)

    def expected(start: int, *, few: bool = False) -> int:
        return start if few else sum(range(start, start + n))

    calls = _slow_calls(read)
    compiled_texts.clear()
    for start in (0, 100):  # two entries of many checks: nothing compiled
        assert call(start) == expected(start)
    assert compiled_texts == [] and len(calls) == 2
    for start in (0, 100, 0):
        assert call(start) == expected(start)
    assert len(calls) == 2 and read.cache.info().hits == 3  # hits in the front
    assert call(7, few=True) == 7  # an entry of few checks: a front written
    assert len(compiled_texts) == 1 and len(calls) == 3
    for start, few in ((7, True), (0, False), (100, False), (7, True)):
        assert call(start, few=few) == expected(start, few=few)
    assert len(calls) == 3 and read.cache.info().hits == 7
    assert call(200) == expected(200)  # evicts the least recently used
    assert len(calls) == 4 and read.cache.info().evictions == 1
    for start, few in ((200, False), (7, True), (100, False)):
        assert call(start, few=few) == expected(start, few=few)
    assert len(calls) == 4
    assert call(300) == expected(300) and call(400) == expected(400)  # the few one goes
    assert all(len(entry.check.checks) > 16 for entry in read.cache.entries)
    texts = len(compiled_texts)
    for start in (300, 400, 200, 300):
        assert call(start) == expected(start)
    assert len(calls) == 6 and len(compiled_texts) == texts
    read.cache.clear()
    assert call(300) == expected(300) and len(calls) == 7
    assert call(300) == expected(300) and len(calls) == 7


def test_a_function_of_many_parameters_hits_in_the_front_and_binds_as_python_does() -> None:
    names = [f"x{i}" for i in range(30)]
    namespace: dict[str, Any] = {}
    exec(
        f"def read({', '.join(names)}, *rest, k=1, **kw):\n"
        f"    return ({' + '.join(names)}, k, rest, sorted(kw))\n",
        namespace,
    )
    plain = namespace["read"]
    read = guards.specialize(max_entries=64)(plain)
    calls = _slow_calls(read)
    args = tuple(range(30))
    for call in [args, (*args, 5), args, (*args[:-1], 7)]:
        assert read(*call) == plain(*call)
    assert read(*args, k=3, z=1) == plain(*args, k=3, z=1)
    assert read(*args) == plain(*args) and len(calls) == 4  # the misses
    plain.__kwdefaults__ = {"k": 2}  # read at call time, as Python does
    assert read(*args) == plain(*args) == (sum(args), 2, (), [])
    plain.__defaults__ = tuple(range(29))  # every parameter but x0 has a default now
    assert read(9) == plain(9)
    with pytest.raises(TypeError) as raised:
        read()
    with pytest.raises(TypeError) as expected:
        plain()
    assert str(raised.value) == str(expected.value)


def test_a_stand_in_made_for_a_value_read_is_the_one_its_class_makes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ScalarTracer.proxy and derive make each stand-in without its class's
    ``__init__``: every slot as ``cls(tracker, tracer, apply)`` sets it."""
    scalar_tracers: list[ScalarTracer] = []
    real = ScalarTracer.__init__

    def keeping(self: ScalarTracer, *args: Any, **kwargs: Any) -> None:
        # Runs before the run's net opens (a wrapper in the run would be user code).
        real(self, *args, **kwargs)
        scalar_tracers.append(self)

    monkeypatch.setattr(ScalarTracer, "__init__", keeping)
    read = guards.specialize(reader("o, x, d", "o.a0 + o.a1 + x + d['k'] + len(d['s'])"))
    assert read(Bag(2), 2.5, {"k": 3, "s": "ab"}) == 8.5
    [scalars] = scalar_tracers
    made = [*scalars.proxies.values(), *scalars.derived.values()]
    assert len(scalars.proxies) == 5 and len(scalars.derived) >= 2
    slots = ("_guards_tracker", "_guards_tracer", "_guards_apply", "_guards_real")
    for proxy in made:
        cls = type(proxy)
        assert cls.__init__ is TrackedScalar.__init__  # what the written-out one follows
        tracker, tracer = tracker_of(proxy), tracer_of(proxy)
        apply = object.__getattribute__(proxy, "_guards_apply")
        normal = cls(tracker, tracer, apply)
        fields = [object.__getattribute__(proxy, name) for name in slots]
        expected = [object.__getattribute__(normal, name) for name in slots]
        assert fields[:3] == expected[:3] and fields[0] is tracker and fields[1] is tracer
        # Guarded by value since (realized), a stand-in keeps the value: else unset.
        assert fields[3] is expected[3] is UNSET or (
            not apply and fields[3] == tracker.unguarded_value()
        )
