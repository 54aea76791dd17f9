"""GuardedCache: lookups (most recently used first), limits, statistics and explanations."""

from __future__ import annotations

import pickle
import threading
from typing import Any

import pytest

import guards
from guards import (
    MISS,
    CacheLimitError,
    GuardBuilder,
    GuardedCache,
    GuardsError,
    GuardsTypeError,
    GuardsValueError,
    LocalSource,
    MissExplanation,
    compile_guards,
)
from guards.checks.compiled import CheckFunction


def equals_x(x: Any) -> CheckFunction:
    """A check that passes exactly when ``L['x']`` is ``x`` by EQUALS_MATCH."""
    guard = LocalSource("x").make_guard(GuardBuilder.EQUALS_MATCH)  # provenance: this line
    return compile_guards([guard], {"x": x})


EQUALS_X_LINE = equals_x.__code__.co_firstlineno + 2


def equals_xy(x: Any, y: Any) -> CheckFunction:
    guards_ = [
        LocalSource("x").make_guard(GuardBuilder.EQUALS_MATCH),
        LocalSource("y").make_guard(GuardBuilder.EQUALS_MATCH),
    ]
    return compile_guards(guards_, {"x": x, "y": y})


def equals_y(y: Any) -> CheckFunction:
    return compile_guards([LocalSource("y").make_guard(GuardBuilder.EQUALS_MATCH)], {"y": y})


# -- lookup and add ------------------------------------------------------------------------
def test_empty_cache_misses() -> None:
    cache = GuardedCache()
    assert cache.lookup({"x": 1}) is MISS
    assert cache.find({"x": 1}) is None
    assert cache.info() == (0, 2, 0, 8, 0, 0, 0)


def test_miss_sentinel_is_falsy_unique_and_pickles_to_itself() -> None:
    assert not MISS
    assert repr(MISS) == "guards.MISS"
    assert type(MISS)() is MISS
    assert pickle.loads(pickle.dumps(MISS)) is MISS


def test_lookup_returns_the_matching_entrys_value() -> None:
    cache = GuardedCache()
    cache.add(equals_x(1), "one")
    cache.add(equals_x(2), "two")
    assert cache.lookup({"x": 1}) == "one"
    assert cache.lookup({"x": 2}) == "two"
    assert cache.lookup({"x": 3}) is MISS


def test_one_float_and_true_are_different_keys() -> None:
    cache = GuardedCache()
    cache.add(equals_x(1), "int")
    assert cache.lookup({"x": 1.0}) is MISS
    assert cache.lookup({"x": True}) is MISS
    cache.add(equals_x(1.0), "float")
    cache.add(equals_x(True), "bool")
    assert [cache.lookup({"x": v}) for v in (1, 1.0, True)] == ["int", "float", "bool"]


def test_lookup_prefers_the_most_recently_used_entry() -> None:
    cache = GuardedCache()
    first = cache.add(equals_x(1), "x is 1")
    second = cache.add(equals_y(2), "y is 2")
    both = {"x": 1, "y": 2}
    assert cache.lookup(both) == "y is 2"  # the newest entry is the most recently used
    assert cache.entries == (second, first)
    assert cache.lookup({"x": 1, "y": 0}) == "x is 1"  # only the first matches: now it is MRU
    assert cache.entries == (first, second)
    assert cache.lookup(both) == "x is 1"


def test_add_returns_the_entry_with_its_metadata() -> None:
    cache = GuardedCache()
    check = equals_x(1)
    entry = cache.add(check, ["value"])
    assert entry is not None
    assert entry.check is check and entry.value == ["value"]
    assert entry.hits == 0 and isinstance(entry.created, float)
    assert entry.provenance is not None
    assert entry.provenance.filename == __file__
    assert entry.provenance.line == 'entry = cache.add(check, ["value"])'
    assert cache.find({"x": 1}) is entry
    assert cache.find({"x": 1}) is entry
    assert entry.hits == 2
    assert "1 guards, 2 hits" in str(entry)


def test_add_rejects_what_is_not_a_check_function() -> None:
    cache = GuardedCache()
    with pytest.raises(GuardsTypeError, match="check must be CheckFunction, got 'nope'"):
        cache.add("nope", 1)  # type: ignore[arg-type]
    assert len(cache) == 0


# -- limits ----------------------------------------------------------------------------------
def test_evict_drops_the_least_recently_used_entry() -> None:
    cache = GuardedCache(max_entries=2, on_limit="evict")
    cache.add(equals_x(1), "one")
    cache.add(equals_x(2), "two")
    assert cache.lookup({"x": 1}) == "one"  # "two" is now least recently used
    assert cache.add(equals_x(3), "three") is not None
    assert cache.lookup({"x": 2}) is MISS
    assert cache.lookup({"x": 1}) == "one"
    assert cache.lookup({"x": 3}) == "three"
    info = cache.info()
    assert (info.entries, info.evictions, info.uncached) == (2, 1, 0)


def test_raise_policy_raises_with_the_explanation_and_keeps_the_entries() -> None:
    cache = GuardedCache(max_entries=1, on_limit="raise")
    kept = cache.add(equals_x(1), "one")
    explanation = cache.explain({"x": 2})
    with pytest.raises(CacheLimitError) as info:
        cache.add(equals_x(2), "two", explanation=explanation)
    error = info.value
    assert isinstance(error, GuardsError)
    assert error.explanation is explanation
    message = str(error)
    assert message.startswith("cache limit of 1 entries reached (on_limit='raise')")
    assert "EQUALS_MATCH L['x'] == 1: expected 1, got 2" in message
    assert cache.entries == (kept,)
    assert cache.info().evictions == 0


def test_raise_policy_without_an_explanation_carries_an_empty_one() -> None:
    cache = GuardedCache(max_entries=1, on_limit="raise")
    cache.add(equals_x(1), "one")
    with pytest.raises(CacheLimitError) as info:
        cache.add(equals_x(2), "two")
    assert info.value.explanation == MissExplanation(())


def test_run_policy_declines_and_counts_an_uncached_run() -> None:
    cache = GuardedCache(max_entries=1, on_limit="run")
    kept = cache.add(equals_x(1), "one")
    assert cache.add(equals_x(2), "two") is None
    assert cache.add(equals_x(3), "three") is None
    assert cache.entries == (kept,)
    assert cache.lookup({"x": 2}) is MISS
    info = cache.info()
    assert (info.entries, info.uncached, info.evictions) == (1, 2, 0)


def test_note_uncached_counts() -> None:
    cache = GuardedCache()
    cache.note_uncached()
    cache.note_uncached()
    assert cache.info().uncached == 2


# -- clear and statistics ---------------------------------------------------------------------
def test_clear_drops_entries_and_resets_statistics() -> None:
    cache = GuardedCache(max_entries=1, on_limit="evict")
    cache.add(equals_x(1), "one")
    cache.lookup({"x": 1})
    cache.lookup({"x": 2})
    cache.add(equals_x(2), "two")
    assert cache.info() == (1, 1, 1, 1, 1, 0, 0)
    cache.clear()
    assert cache.info() == (0, 0, 0, 1, 0, 0, 0)
    assert cache.entries == () and len(cache) == 0
    assert cache.lookup({"x": 2}) is MISS


def test_info_fields_add_up() -> None:
    cache = GuardedCache(max_entries=3)
    lookups = 0
    for x in range(6):
        for probe in range(6):
            cache.lookup({"x": probe})
            lookups += 1
        cache.add(equals_x(x), x)
    info = cache.info()
    assert info.hits + info.misses == lookups
    assert info.entries == len(cache) == 3 == info.max_entries
    assert info.evictions == 6 - 3
    assert info.uncached == 0
    # Before round x the entries are the last min(x, 3) added: one hit each per round.
    assert info.hits == sum(min(x, 3) for x in range(6))


def test_info_counts_exactly() -> None:
    cache = GuardedCache(max_entries=2)
    cache.add(equals_x(1), "one")
    for probe in (1, 1, 2, 3, 1):
        cache.lookup({"x": probe})
    assert cache.info() == guards.CacheInfo(3, 2, 1, 2, 0, 0)
    assert cache.info()._fields == (
        "hits", "misses", "entries", "max_entries", "evictions", "uncached", "store_hits"
    )
    cache.note_store_hit()  # a miss answered by an entry of a store (specialize(store=))
    assert cache.info().store_hits == 1 and cache.info().misses == 2
    cache.clear()
    assert cache.info().store_hits == 0


def test_repr_and_str_show_counts_and_guard_trees() -> None:
    cache = GuardedCache(max_entries=4, on_limit="run")
    cache.add(equals_x(7), "seven")
    cache.lookup({"x": 7})
    assert repr(cache) == "<GuardedCache 1/4 entries, 1 hits, 0 misses, on_limit='run'>"
    text = str(cache)
    assert text.splitlines()[0] == repr(cache)
    assert text.splitlines()[1].startswith("[0] entry (1 guards, 1 hits at ")
    assert "L['x']" in text and "EQUALS_MATCH" in text


# -- explanations -----------------------------------------------------------------------------
def test_explain_lists_every_failing_guard_of_every_entry() -> None:
    cache = GuardedCache()
    cache.add(equals_x(1), "x1")
    cache.add(equals_xy(2, "b"), "x2")
    why = cache.explain({"x": 3, "y": "c"})
    assert not why.hit
    assert [e.index for e in why.entries] == [0, 1]
    assert [e.entry.value for e in why.entries] == ["x2", "x1"]  # most recently used first
    newest, oldest = (e.result.failures for e in why.entries)
    assert [(f.source.name, f.kind, f.expected, f.actual) for f in newest] == [
        ("L['x']", "EQUALS_MATCH", 2, 3),
        ("L['y']", "EQUALS_MATCH", "b", "c"),
    ]
    assert [(f.source.name, f.kind, f.expected, f.actual) for f in oldest] == [
        ("L['x']", "EQUALS_MATCH", 1, 3),
    ]
    [failure] = oldest
    assert failure.provenance is not None
    assert (failure.provenance.filename, failure.provenance.lineno) == (__file__, EQUALS_X_LINE)
    assert failure.message == (
        f"EQUALS_MATCH L['x'] == 1: expected 1, got 3; installed at {failure.provenance}"
    )
    assert why.failure_lines() == [
        f"entry 2: {newest[0].message}",  # lines name the entry's number, as reports do
        f"entry 2: {newest[1].message}",
        f"entry 1: {failure.message}",
    ]
    assert str(why) == "no entry matched:\n" + "\n".join(
        f"  - {line}" for line in why.failure_lines()
    )


def test_explain_does_not_count_or_reorder() -> None:
    cache = GuardedCache()
    a = cache.add(equals_x(1), "a")
    b = cache.add(equals_x(2), "b")
    cache.explain({"x": 1})
    assert cache.entries == (b, a)
    assert cache.info().hits == cache.info().misses == 0


def test_explain_says_when_an_entry_would_hit_and_when_there_are_none() -> None:
    cache = GuardedCache()
    assert str(cache.explain({"x": 1})) == "no entries: nothing to reuse yet"
    cache.add(equals_x(1), "one")
    why = cache.explain({"x": 1})
    assert why.hit
    assert str(why) == "an entry matches: the lookup hits"
    assert why.failure_lines() == []


def test_explain_rejects_a_non_mapping() -> None:
    with pytest.raises(GuardsTypeError, match="f_locals must be Mapping"):
        GuardedCache().explain([("x", 1)])  # type: ignore[arg-type]


# -- construction -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        ({"max_entries": 0}, GuardsValueError, "max_entries must be at least 1, got 0 (type int)"),
        ({"max_entries": -3}, GuardsValueError, "max_entries must be at least 1, got -3"),
        ({"max_entries": "8"}, GuardsTypeError, "max_entries must be an int, got '8' (type str)"),
        ({"max_entries": True}, GuardsTypeError, "must be an int, got True (type bool)"),
        ({"max_entries": 8.0}, GuardsTypeError, "max_entries must be an int, got 8.0"),
        (
            {"on_limit": "lru"},
            GuardsValueError,
            "on_limit must be one of 'evict', 'raise', 'run', got 'lru' (type str)",
        ),
        ({"on_limit": None}, GuardsValueError, "on_limit must be one of"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict[str, Any], error: type, text: str) -> None:
    with pytest.raises(error) as info:
        GuardedCache(**kwargs)
    assert text in str(info.value)
    assert isinstance(info.value, GuardsError)


def test_defaults() -> None:
    cache = GuardedCache()
    assert (cache.max_entries, cache.on_limit) == (8, "evict")


# -- threads ------------------------------------------------------------------------------------
def test_concurrent_lookups_and_adds_keep_the_books() -> None:
    """Statistics stay exact and the limit holds when threads look up and add at once."""
    cache = GuardedCache(max_entries=4)
    checks = [equals_x(i) for i in range(8)]
    counts: list[tuple[int, int]] = []  # (lookups, adds) per thread
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        lookups = adds = 0
        try:
            for i in range(300):
                x = (seed * 7 + i) % 8
                value = cache.lookup({"x": x})
                lookups += 1
                if value is MISS:
                    cache.add(checks[x], x)
                    adds += 1
                else:
                    assert value == x
        except BaseException as exc:  # reported below
            errors.append(exc)
        counts.append((lookups, adds))

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    info = cache.info()
    assert info.hits + info.misses == sum(n for n, _ in counts)
    assert info.misses == sum(a for _, a in counts)
    assert info.entries == len(cache.entries) <= 4
    assert info.evictions == sum(a for _, a in counts) - info.entries
    for entry in list(cache.entries):
        assert cache.lookup({"x": entry.value}) == entry.value


def test_a_new_entry_is_more_recent_than_hits_counted_before_its_miss() -> None:
    """Hits answered on specialize's fast path before a miss are older than the entry
    that miss stores: the newest entry comes first (the front checks it first)."""

    @guards.specialize
    def f(n: int) -> int:
        return n * 10

    assert [f(1), f(1), f(2)] == [10, 10, 20]
    assert f.cache.info()[:3] == (1, 2, 2)  # hits, misses, entries
    stored = guards.specialization.decorator.Specialized.stored_result
    assert [stored(entry) for entry in f.cache.entries] == [20, 10]
    assert [f(2), f(1)] == [20, 10]
    assert f.cache.info()[:3] == (3, 2, 2)
