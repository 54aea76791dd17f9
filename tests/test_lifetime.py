"""Object lifetime: guards and caches never keep users' objects alive longer than needed.

* Identity guards (``ID_MATCH``, ``FUNCTION_MATCH``, ``CLOSURE_MATCH`` on other
  callables) hold a weak reference where the object allows one: once it dies the
  guard can never pass again, even for a new object at the same address.
* Caches keep no argument alive after a hit, a miss, an explanation or an uncached run.
* Memory stays flat: 100,000 calls of a specialized function with fresh arguments,
  and long runs of misses, evictions and uncached runs (the growth is bounded; no time
  is measured).
* Generated code stays in ``linecache`` exactly as long as the function made from it.
"""

from __future__ import annotations

import gc
import linecache
import sys
import tracemalloc
import types
import weakref
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest

import guards
from guards import GuardBuilder, GuardedCache, LocalSource, compile_guards

x = LocalSource("x")


pytestmark = pytest.mark.usefixtures("quiet_recompiles")


class Cfg:
    """An argument object: its guards only read its scalar attributes."""

    def __init__(self, n: int, mode: str = "fast") -> None:
        self.n = n
        self.mode = mode
        self.payload = list(range(50))  # never read; makes a leak of it visible


class NoWeakref:
    """An object that cannot be weakly referenced; records its own death."""

    __slots__ = ("tag",)
    deaths: ClassVar[list[str]] = []

    def __init__(self, tag: str) -> None:
        self.tag = tag

    def __del__(self) -> None:
        NoWeakref.deaths.append(self.tag)


def dead(ref: weakref.ref[Any]) -> bool:
    gc.collect()
    return ref() is None


def objects_at(address: int, make: Callable[[], Any], attempts: int = 2000) -> Iterator[Any]:
    """New objects, some of which (CPython reuses freed memory) sit at ``address``."""
    keep = []
    for _ in range(attempts):
        obj = make()
        if id(obj) == address:
            yield obj
        keep.append(obj)  # so that the next object gets another address
    yield make()


# ----------------------------------------------------------------------- identity guards
@pytest.mark.parametrize("kind", ["ID_MATCH", "FUNCTION_MATCH", "CLOSURE_MATCH"])
def test_an_identity_guard_does_not_keep_its_object_alive(kind: str) -> None:
    class Callable_:
        def __call__(self) -> None:
            pass

    obj = Callable_()  # CLOSURE_MATCH on a callable that is not a function: identity
    address = id(obj)
    ref = weakref.ref(obj)
    check = compile_guards([x.make_guard(kind)], {"x": obj})
    assert check.check({"x": obj})
    del obj
    assert dead(ref)
    reused = 0
    for new in objects_at(address, Callable_):
        reused += id(new) == address
        assert check.check({"x": new}) is False
        assert check.check_verbose({"x": new}).passed is False
    message = check.check_verbose({"x": Callable_()}).failures[0].message
    assert "expected <collected object>, got" in message


def test_a_dead_function_under_function_match_never_matches_its_successor() -> None:
    def make() -> Callable[[], int]:
        def fn() -> int:
            return 1

        return fn

    fn = make()
    address, ref = id(fn), weakref.ref(fn)
    check = compile_guards([x.make_guard(GuardBuilder.FUNCTION_MATCH)], {"x": fn})
    del fn
    assert dead(ref)
    for new in objects_at(address, make):
        assert check.check({"x": new}) is False


def test_an_object_without_weak_references_is_held_by_its_guard() -> None:
    """Held strongly instead, so its address cannot be reused while the guard lives."""
    obj = NoWeakref("held")
    check = compile_guards([x.make_guard(GuardBuilder.ID_MATCH)], {"x": obj})
    del obj
    gc.collect()
    assert "held" not in NoWeakref.deaths
    del check
    gc.collect()
    assert "held" in NoWeakref.deaths


def test_cache_entries_guarding_a_dead_object_can_no_longer_match() -> None:
    class Token:
        pass

    cache = GuardedCache()
    token = Token()
    address, ref = id(token), weakref.ref(token)
    cache.add(compile_guards([x.make_guard(GuardBuilder.ID_MATCH)], {"x": token}), "value")
    assert cache.lookup({"x": token}) == "value"
    del token
    assert dead(ref)
    for new in objects_at(address, Token):
        assert cache.lookup({"x": new}) is guards.MISS


def test_specialized_entries_on_a_dead_class_can_no_longer_match() -> None:
    """A class argument is guarded by identity (weakly): a new class never hits its entry."""

    @guards.specialize
    def size_of(cls: type) -> int:
        return len(cls.__name__)

    def new_class() -> type:
        return type("Short", (), {})

    cls = new_class()
    address, ref = id(cls), weakref.ref(cls)
    assert size_of(cls) == 5
    assert size_of(cls) == 5
    assert size_of.cache.info().hits == 1
    del cls
    assert dead(ref)
    hits = size_of.cache.info().hits
    for new in objects_at(address, new_class, attempts=200):
        assert size_of(new) == 5
    assert size_of.cache.info().hits == hits  # a dead class's entry never answers


# ----------------------------------------------------------------- arguments stay free
def scalar_reader(cfg: Cfg, k: int = 2) -> int:
    return cfg.n * k if cfg.mode == "fast" else 0


def assert_released(make: Callable[[], Any], use: Callable[[Any], Any]) -> None:
    obj = make()
    ref = weakref.ref(obj)
    use(obj)
    del obj
    assert dead(ref), gc.get_referrers(ref()) if ref() is not None else None


def test_specialize_keeps_no_argument_alive() -> None:
    fast = guards.specialize(max_entries=2)(scalar_reader)
    assert_released(lambda: Cfg(1), fast)  # the first miss
    assert_released(lambda: Cfg(1), fast)  # a hit
    assert_released(lambda: Cfg(2), fast)  # a miss with an entry to explain it
    assert_released(lambda: Cfg(3), fast)  # a miss that evicts
    assert_released(lambda: Cfg(4), fast.explain)
    assert_released(lambda: Cfg(4, "slow"), lambda cfg: fast(cfg, 3))
    assert fast.cache.info().hits == 1


def test_specialize_keeps_no_argument_alive_when_it_runs_uncached() -> None:
    @guards.specialize
    def fails(cfg: Cfg) -> int:
        raise ValueError(f"no plan for {cfg.n}")

    def call(cfg: Cfg) -> None:
        with pytest.raises(ValueError, match="no plan"):
            fails(cfg)

    assert_released(lambda: Cfg(1), call)
    assert_released(lambda: Cfg(1), call)
    assert fails.cache.info().uncached == 2

    @guards.specialize
    def writes(cfg: Cfg) -> int:
        cfg.seen = True  # a write to an input: uncached
        return cfg.n

    assert_released(lambda: Cfg(1), writes)


def test_guarded_cache_keeps_no_argument_alive() -> None:
    cache = GuardedCache()
    cache.add(compile_guards([guards.AttrSource(x, "n").make_guard(GuardBuilder.EQUALS_MATCH)],
                             {"x": Cfg(1)}), "one")
    assert_released(lambda: Cfg(1), lambda cfg: cache.lookup({"x": cfg}))  # a hit
    assert_released(lambda: Cfg(2), lambda cfg: cache.lookup({"x": cfg}))  # a miss
    assert_released(lambda: Cfg(2), lambda cfg: cache.explain({"x": cfg}))
    assert_released(lambda: Cfg(2), lambda cfg: cache.find({"x": cfg}))
    assert cache.info()[:2] == (1, 2)


def test_a_check_keeps_no_checked_value_alive() -> None:
    check = compile_guards([guards.AttrSource(x, "n").make_guard(GuardBuilder.EQUALS_MATCH)],
                           {"x": Cfg(1)})
    assert_released(lambda: Cfg(1), lambda cfg: check.check({"x": cfg}))
    assert_released(lambda: Cfg(2), lambda cfg: check.check_verbose({"x": cfg}))
    built_from = Cfg(1)
    ref = weakref.ref(built_from)
    other = compile_guards([guards.AttrSource(x, "n").make_guard(GuardBuilder.EQUALS_MATCH)],
                           {"x": built_from})
    del built_from
    assert dead(ref)  # the guard keeps the value 1, not the object it was read from
    assert other.check({"x": Cfg(1)})


def test_a_tracing_context_keeps_nothing_once_compiled() -> None:
    cfg = Cfg(1)
    ref = weakref.ref(cfg)
    with guards.tracing({"cfg": cfg}) as tx:
        assert tx.local("cfg").attr("n").as_constant() == 1
    check = tx.compile()
    del cfg, tx
    assert dead(ref)
    assert check.check({"cfg": Cfg(1)})


# ------------------------------------------------------------------------ flat memory
def traced_growth(run: Callable[[int], None], warm_up: int, calls: int) -> int:
    """Bytes still allocated after ``calls`` more calls than after ``warm_up`` calls."""
    run(warm_up)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        run(calls)
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("values", [3, 6])  # 3: entries checked inline; 6: through the index
def test_memory_stays_flat_over_100000_calls_with_fresh_arguments(values: int) -> None:
    fast = guards.specialize(max_entries=8)(scalar_reader)

    def run(calls: int) -> None:
        for i in range(calls):
            cfg = Cfg(i % values)
            assert fast(cfg) == (i % values) * 2

    growth = traced_growth(run, warm_up=10_000, calls=100_000)
    assert growth < 256 * 1024, growth
    info = fast.cache.info()
    assert (info.entries, info.misses) == (values, values)


def block_growth(run: Callable[[int], None], warm_up: int, calls: int) -> int:
    """Memory blocks still allocated after ``calls`` more calls than after the warm-up.

    Counted with ``sys.getallocatedblocks``, not tracemalloc: tracemalloc keeps the
    file name of every frame it sees, and each generated function has its own.
    """
    run(warm_up)
    gc.collect()
    before = sys.getallocatedblocks()
    run(calls)
    gc.collect()
    return sys.getallocatedblocks() - before


@pytest.mark.parametrize("values", [6, 20])  # inline entries / indexed entries
def test_memory_stays_flat_over_misses_and_evictions(values: int) -> None:
    """Every call misses and evicts (a cycle longer than the cache): nothing accumulates."""
    fast = guards.specialize(max_entries=4 if values == 6 else 8)(scalar_reader)
    counter = iter(range(10**9))

    def run(calls: int) -> None:
        for _ in range(calls):
            n = next(counter) % values
            assert fast(Cfg(n)) == n * 2

    growth = block_growth(run, warm_up=200, calls=800)
    assert growth < 400, growth  # one block per miss would be 800
    info = fast.cache.info()
    assert info.hits == 0 and info.evictions > 900


def test_the_names_generated_code_uses_are_bounded_over_misses() -> None:
    """Python 3.12 and 3.13 keep every identifier they compile for as long as the
    process lives (interned and immortal): the fronts generated at every miss must
    reuse their names, not take new ones (which 3.11 would free, and hide)."""
    for values, max_entries in [(6, 4), (20, 8)]:  # inline entries / indexed entries
        fast = guards.specialize(max_entries=max_entries)(scalar_reader)
        seen: set[str] = set()
        sizes = []
        for i in range(200):
            assert fast(Cfg(i % values)) == i % values * 2
            seen.update(_names(fast.__code__))
            sizes.append(len(seen))
        assert fast.cache.info().hits == 0
        assert sizes[-1] == sizes[len(sizes) // 2], (values, sizes[::20])


def _names(code: types.CodeType) -> set[str]:
    """Every name ``code`` and the code objects in it use."""
    names = {*code.co_names, *code.co_varnames}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def test_memory_stays_flat_over_uncached_runs_with_distinct_reasons() -> None:
    """A reason can hold an exception's text, different at every call: only so many are kept."""

    @guards.specialize
    def fails(cfg: Cfg) -> int:
        raise ValueError(f"no plan for {cfg.n}")

    counter = iter(range(10**9))

    def run(calls: int) -> None:
        for _ in range(calls):
            with pytest.raises(ValueError):
                fails(Cfg(next(counter)))

    growth = block_growth(run, warm_up=200, calls=800)
    assert growth < 400, growth
    reasons = fails.specialized.uncached_reasons
    assert len(reasons) <= 65
    assert sum(reasons.values()) == 1000
    assert fails.cache.info().uncached == 1000


# ----------------------------------------------------------------------------- linecache
def guards_files() -> set[str]:
    gc.collect()
    return {name for name in linecache.cache if name.startswith("<guards")}


def test_linecache_entries_of_evicted_checks_go_away() -> None:
    cache = GuardedCache(max_entries=2)
    checks = [
        compile_guards([x.make_guard(GuardBuilder.EQUALS_MATCH)], {"x": i}) for i in range(3)
    ]
    names = [check.filename for check in checks]
    for i, check in enumerate(checks):
        cache.add(check, i)
    del checks, check
    files = guards_files()
    assert names[0] not in files  # evicted, and nothing else holds it
    assert {names[1], names[2]} <= files
    cache.clear()
    assert not set(names) & guards_files()


def _front(specialized: object) -> types.FunctionType:
    """The generated function a specialized function is at run time (its type hides that)."""
    assert isinstance(specialized, types.FunctionType)
    return specialized


def test_linecache_entries_of_a_specialized_function_follow_its_generations() -> None:
    @guards.specialize(max_entries=2)
    def double(n: int) -> int:
        return n * 2

    base = guards_files()
    seen: list[str] = []
    for n in range(6):
        assert double(n) == n * 2  # each call misses: the wrapper's body is regenerated
        seen.append(_front(double).__code__.co_filename)
        # (Asked first: with the C evaluator, a check's text is made when asked for.)
        entry_files = {entry.check.filename for entry in double.cache.entries}
        current = guards_files() - base
        assert _front(double).__code__.co_filename in current
        assert entry_files <= current
        # Older generations of the wrapper are gone once no thread runs them.
        assert not set(seen[:-1]) & current
    text = "".join(linecache.getlines(_front(double).__code__.co_filename))
    assert "def " in text and "return" in text
    del double
    assert not guards_files() - base


def test_two_functions_of_one_name_do_not_share_linecache_entries() -> None:
    """Lambdas (or closures of one def) have one qualified name; their code stays apart."""

    def make(k: int) -> Any:
        return guards.specialize(lambda n: n + k)

    f, g = make(1), make(2)
    assert (f(1), g(1)) == (2, 3)
    assert f.__code__.co_filename != g.__code__.co_filename
    del g
    gc.collect()
    assert linecache.getlines(f.__code__.co_filename)
    assert f(1) == 2
