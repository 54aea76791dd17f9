"""GuardedCache against a plain list model, one state machine per limit policy.

The model keeps ``[(key, value), ...]`` most recently used first, where an
entry's key is the value of ``L['x']`` its EQUALS_MATCH guard was built from:
exact type and ``==``, so ``1``, ``1.0`` and ``True`` are three keys, NaN
matches NaN and ``-0.0`` is not ``0.0``.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import settings, strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from guards import MISS, CacheLimitError, GuardBuilder, GuardedCache, LocalSource, compile_guards
from guards.testing import strict_same

KEYS = st.sampled_from(
    [0, 1, 2, -1, 0.0, -0.0, 1.0, 2.0, 0.5, math.nan, True, False]
)


class CacheMachine(RuleBasedStateMachine):
    policy = "evict"
    sizes = st.integers(1, 4)

    def __init__(self) -> None:
        super().__init__()
        self.cache = GuardedCache(max_entries=1, on_limit=self.policy)  # replaced below
        self.model: list[tuple[Any, object]] = []
        self.hits = self.misses = self.evictions = self.uncached = 0

    @initialize(data=st.data())
    def make(self, data: st.DataObject) -> None:
        max_entries = data.draw(self.sizes, label="max_entries")
        self.cache = GuardedCache(max_entries=max_entries, on_limit=self.policy)  # type: ignore[arg-type]
        self.max_entries = max_entries

    @rule(key=KEYS)
    def add(self, key: Any) -> None:
        value = object()  # a fresh token: which entry answered is visible
        check = compile_guards([LocalSource("x").make_guard(GuardBuilder.EQUALS_MATCH)], {"x": key})
        if len(self.model) < self.max_entries:
            entry = self.cache.add(check, value)
            assert entry is not None and entry.value is value
            self.model.insert(0, (key, value))
            return
        if self.policy == "evict":
            assert self.cache.add(check, value) is not None
            self.model.pop()
            self.model.insert(0, (key, value))
            self.evictions += 1
        elif self.policy == "raise":
            try:
                self.cache.add(check, value)
            except CacheLimitError as exc:
                assert exc.explanation.entries == ()
            else:
                raise AssertionError("a full cache with on_limit='raise' accepted an entry")
        else:
            assert self.cache.add(check, value) is None
            self.uncached += 1

    @rule(keys=st.lists(KEYS, min_size=2, max_size=8))
    def add_several(self, keys: list[Any]) -> None:
        for key in keys:
            self.add(key)

    @rule(key=KEYS)
    def lookup(self, key: Any) -> None:
        self._lookup(key)

    @precondition(lambda self: len(self.model) > 1)
    @rule(data=st.data())
    def lookup_an_older_entry(self, data: st.DataObject) -> None:
        """Look up the key of an entry that is not the most recently used one."""
        index = data.draw(st.integers(1, len(self.model) - 1), label="index")
        self._lookup(self.model[index][0])

    def _lookup(self, key: Any) -> None:
        got = self.cache.lookup({"x": key})
        for i, (entry_key, value) in enumerate(self.model):
            if strict_same(entry_key, key):
                assert got is value
                self.model.insert(0, self.model.pop(i))
                self.hits += 1
                return
        assert got is MISS
        self.misses += 1

    @rule(key=KEYS)
    def explain(self, key: Any) -> None:
        why = self.cache.explain({"x": key})
        assert [e.entry.value for e in why.entries] == [v for _, v in self.model]
        for (entry_key, _), failure in zip(self.model, why.entries, strict=True):
            passed = strict_same(entry_key, key)
            assert failure.result.passed is passed
            if not passed:
                [f] = failure.result.failures
                assert strict_same(f.expected, entry_key) and strict_same(f.actual, key)
        assert why.hit is any(strict_same(k, key) for k, _ in self.model)

    @rule()
    def clear(self) -> None:
        self.cache.clear()
        self.model.clear()
        self.hits = self.misses = self.evictions = self.uncached = 0

    @invariant()
    def within_the_limit(self) -> None:
        assert len(self.cache) <= self.cache.max_entries

    @invariant()
    def same_entries_in_the_same_order(self) -> None:
        assert [e.value for e in self.cache.entries] == [v for _, v in self.model]

    @invariant()
    def statistics_match(self) -> None:
        info = self.cache.info()
        assert info.hits == self.hits
        assert info.misses == self.misses
        assert info.entries == len(self.model)
        assert info.max_entries == self.cache.max_entries
        assert info.evictions == self.evictions
        assert info.uncached == self.uncached


class EvictMachine(CacheMachine):
    policy = "evict"


class RaiseMachine(CacheMachine):
    policy = "raise"


class RunMachine(CacheMachine):
    policy = "run"


class LargeEvictMachine(CacheMachine):
    """Enough entries that lookups go through the cache's index rather than a scan."""

    policy = "evict"
    sizes = st.integers(10, 16)


SETTINGS = settings(max_examples=60, stateful_step_count=40, deadline=None)
TestEvict = EvictMachine.TestCase
TestEvict.settings = SETTINGS
TestRaise = RaiseMachine.TestCase
TestRaise.settings = SETTINGS
TestRun = RunMachine.TestCase
TestRun.settings = SETTINGS
TestLargeEvict = LargeEvictMachine.TestCase
TestLargeEvict.settings = settings(SETTINGS, stateful_step_count=80)
