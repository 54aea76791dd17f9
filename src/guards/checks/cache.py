"""GuardedCache: values reused while their guards hold, and every miss explained.

Entries are kept most recently used first; ``lookup`` returns the value of the
first entry whose check passes.  When the cache is full, the policy chosen at
construction decides: ``"evict"`` the least recently used entry, ``"raise"``
:class:`CacheLimitError` (carrying why the lookup missed), or ``"run"``: add
nothing, so the caller runs uncached.

All operations are thread-safe.  Checks run outside the lock (they are pure
reads of the caller's values); only the bookkeeping is locked.

Adding, evicting and looking up cost the same with 10 or 10,000 entries: the
entries are kept in recency order (the one to evict comes first), and the
index that large caches look candidates up in is updated entry by entry
(:class:`EntryIndex`).
"""

from __future__ import annotations

import collections
import itertools
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, cast

import attrs

from guards.checks.codegen import compile_accessor
from guards.checks.compiled import CheckFunction
from guards.checks.explain import CheckResult
from guards.core.guard import Provenance, capture_provenance
from guards.core.sources import Source
from guards.errors import (
    CacheLimitError,
    GuardsValueError,
    check_frame,
    check_type,
    must_be,
)
from guards.forks import fork_safe

OnLimit = Literal["evict", "raise", "run"]
_POLICIES: tuple[str, ...] = ("evict", "raise", "run")


class _Miss:
    """The type of :data:`MISS`."""

    _instance: _Miss | None = None

    def __new__(cls) -> _Miss:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "guards.MISS"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "MISS"


#: What :meth:`GuardedCache.lookup` returns when no entry's guards pass.
MISS: Any = _Miss()


class CacheInfo(NamedTuple):
    """Statistics, in the style of ``functools.lru_cache``'s ``cache_info()``."""

    hits: int
    misses: int
    entries: int
    max_entries: int
    evictions: int = 0
    uncached: int = 0
    #: Misses answered by an entry loaded from a store (``specialize(store=...)``,
    #: :meth:`GuardedCache.note_store_hit`); each is counted among ``misses`` too.
    store_hits: int = 0


def _snapshot(order: collections.OrderedDict[CacheEntry, None]) -> list[CacheEntry]:
    """The keys of ``order`` as they stood at one moment, in order.

    Hits move entries to the end of a cache's order without taking its lock
    (:meth:`GuardedCache.find`), so the copy must be made in one step no other
    thread can enter.  ``tuple(order)`` is not: on Python 3.11 allocating the
    tuple, once the iteration has begun, may start a collection, whose
    finalizers and callbacks run Python code (:class:`HitCounter`'s among them)
    where the interpreter may switch to a thread that moves an entry; the
    iteration then raises ``RuntimeError``.  ``list()`` allocates no object
    the collector tracks while it iterates (it grows its array with
    ``PyMem_Realloc``), and from 3.12 a collection only starts between
    bytecodes.  Should a later CPython break that, another try is right: each
    failure means another thread's hit completed meanwhile.
    """
    while True:
        try:
            return list(order)
        except RuntimeError:  # "OrderedDict mutated during iteration"
            continue


def counter_value(counter: itertools.count[int]) -> int:
    """How many times ``next`` was called on a counter that started at 0."""
    # itertools.count is the one counter whose next() is atomic under the GIL.
    # Its repr is "count(n)", or "HitCounter(n)" for the subclass.
    return int(repr(counter).partition("(")[2][:-1])


if TYPE_CHECKING:
    _IntCount = itertools.count[int]
else:  # itertools.count is not subscriptable at run time
    _IntCount = itertools.count


class HitCounter(_IntCount):
    """An entry's hit counter: ``next()`` counts one hit (C speed, atomic under the GIL).

    Code that may still count hits on an entry holds its counter: specialize's
    generated front of the last generations, an indexed entry's function, a
    thread inside the entry's checks.  So when the cache evicts the entry it
    keeps only a weak reference to the counter (:meth:`GuardedCache.info`
    reads it while it lives), and :attr:`retirement` tells the counter where
    to leave its final count when the last holder drops it: a ``(folded,
    serial)`` pair, and the counter appends ``(serial, count)`` to the list
    ``folded`` (an append, so no lock is taken in a finalizer).  A hit that
    lands on an entry after its eviction is thus never lost.
    """

    __slots__ = ("__weakref__", "retirement")

    retirement: tuple[list[tuple[int, int]], int] | None

    def __new__(cls) -> HitCounter:
        self = cast(HitCounter, super().__new__(cls))
        self.retirement = None
        return self

    def __del__(self) -> None:
        retirement = self.retirement
        if retirement is not None:
            folded, serial = retirement
            folded.append((serial, counter_value(self)))


@attrs.define(eq=False)
class CacheEntry:
    """One cached value, the check that guards it, and where and when it was made.

    ``hits`` counts the lookups it answered; ``last_used`` is a stamp of the
    cache's clock (higher is more recent); ``number`` names the entry for good:
    the cache's first entry is 1, the next 2, and numbers are never reused,
    not even after ``clear()`` (0 for an entry made outside a cache).
    """

    check: CheckFunction
    value: Any
    created: float = attrs.field(factory=time.time)
    provenance: Provenance | None = None
    number: int = 0
    last_used: int = 0
    #: Counted with next(): atomic, and one call on specialize's generated fast path.
    hit_counter: HitCounter = attrs.field(factory=HitCounter, repr=False)
    _synced_hits: int = attrs.field(default=0, repr=False)

    @property
    def hits(self) -> int:
        """How many lookups this entry answered."""
        return counter_value(self.hit_counter)

    @property
    def portable_reason(self) -> str | None:
        """Why this entry cannot be used in another process (its guards cannot all be
        named there: :attr:`CheckFunction.portable_reason`), or None when it can be
        written to a store (``docs/persistence.md``)."""
        return self.check.portable_reason

    def record_hit(self, clock: itertools.count[int]) -> None:
        """Count a hit and make the entry the most recently used."""
        next(self.hit_counter)
        self.last_used = next(clock)

    def __str__(self) -> str:
        where = f" at {self.provenance}" if self.provenance else ""
        return f"entry ({len(self.check.guards)} guards, {self.hits} hits{where})"


@attrs.frozen
class EntryFailure:
    """Why one entry did not match: its index (0 = most recently used) and the result."""

    index: int
    entry: CacheEntry
    result: CheckResult


@attrs.frozen
class MissExplanation:
    """Why a lookup missed: for every entry, every failing guard.

    True when the lookup would miss, False when it would hit, so
    ``if f.explain(x): print(f.explain(x))`` prints only misses.

    ``uncached``: why the calls of a specialized function ran without storing
    a result, each reason with its count (``f.specialized.uncached_reasons``);
    empty for a plain :class:`GuardedCache`.  With no entries, they are why
    there is nothing to reuse, and ``str()`` shows them.
    """

    entries: tuple[EntryFailure, ...]
    uncached: tuple[tuple[str, int], ...] = ()

    @property
    def hit(self) -> bool:
        """True when some entry passed after all (the lookup would not miss)."""
        return any(e.result.passed for e in self.entries)

    def __bool__(self) -> bool:
        return not self.hit

    def failure_lines(self) -> list[str]:
        """One line per failing guard, prefixed with the entry it belongs to.

        The entry is named by its :attr:`CacheEntry.number` (``entry 2: ...``),
        as the HTML report and ``miss_history`` name it; the lines come most
        recently used entry first.
        """
        return [
            f"entry {e.entry.number}: {failure.message}"
            for e in self.entries
            for failure in e.result.failures
        ]

    def __str__(self) -> str:
        if not self.entries and self.uncached:
            calls = sum(count for _, count in self.uncached)
            lines = [f"no entries: nothing to reuse, because the {_calls(calls)} so far "
                     "ran uncached (none stored a result):"]
            lines += [f"  - {reason} ({_calls(count)})" for reason, count in self.uncached]
            return "\n".join(lines)
        if not self.entries:
            return "no entries: nothing to reuse yet"
        if self.hit:
            return "an entry matches: the lookup hits"
        return "no entry matched:\n" + "\n".join(f"  - {line}" for line in self.failure_lines())




def _calls(n: int) -> str:
    return "1 call" if n == 1 else f"{n} calls"


#: From this many entries on, lookups go through an index instead of a scan.
INDEX_FROM = 12


@attrs.frozen
class CacheChange:
    """What changed in a :class:`GuardedCache`, as its listeners are told.

    ``added`` is the entry just added (or ``None``), ``removed`` the entries
    just dropped (evicted), and ``reset`` is True when the listener must look
    at every entry again: the cache was cleared, or its :class:`EntryIndex`
    is to be built anew (``index_rebuilt``: :attr:`GuardedCache.index`
    builds it when next asked for), which happens only once in a number of
    changes proportional to the number of entries.
    """

    added: CacheEntry | None = None
    removed: tuple[CacheEntry, ...] = ()
    reset: bool = False
    index_rebuilt: bool = False


class GuardedCache:
    """Values guarded by compiled checks; see the module docstring."""

    def __init__(self, max_entries: int = 8, on_limit: OnLimit = "evict") -> None:
        if type(max_entries) is not int:
            raise must_be("max_entries", "an int", max_entries)
        if max_entries < 1:
            raise must_be("max_entries", "at least 1", max_entries, GuardsValueError)
        if on_limit not in _POLICIES:
            choices = ", ".join(map(repr, _POLICIES))
            raise must_be("on_limit", f"one of {choices}", on_limit, GuardsValueError)
        self.max_entries = max_entries
        self.on_limit: OnLimit = on_limit
        # Every entry, least recently stamped first (CacheEntry.last_used): the entry
        # to evict is found at the front, and a hit moves its entry to the end.
        self._order: collections.OrderedDict[CacheEntry, None] = collections.OrderedDict()
        self._lock = threading.RLock()
        fork_safe(self, "_lock")
        self._clock = itertools.count(1)
        self._misses = itertools.count()
        self._uncached = itertools.count()
        self._bypassed = itertools.count()
        self._store_hits = itertools.count()
        self._evictions = 0
        # Evicted entries' hits: summed at clear-to-clear scope, see HitCounter.
        self._retired_hits = 0  # of counters dropped and folded
        self._retired: dict[int, weakref.ref[HitCounter] | int] = {}  # serial -> live or final
        self._folded: list[tuple[int, int]] = []  # (serial, final count), appended by counters
        self._serials = itertools.count()
        self._numbers = itertools.count(1)  # CacheEntry.number; clear() does not reset it
        self._index: EntryIndex | None = None  # built when first asked for
        self._listeners: list[Callable[[CacheChange], None]] = []

    # -- lookups -------------------------------------------------------------------
    def lookup(
        self, f_locals: Mapping[str, Any], f_globals: Mapping[str, Any] | None = None
    ) -> Any:
        """The value of the most recently used entry whose guards pass, or :data:`MISS`."""
        entry = self.find(f_locals, f_globals)
        return MISS if entry is None else entry.value

    def find(
        self, f_locals: Mapping[str, Any], f_globals: Mapping[str, Any] | None = None
    ) -> CacheEntry | None:
        """Like :meth:`lookup`, but the matching :class:`CacheEntry` (or ``None``)."""
        for entry in self.candidates(f_locals, f_globals):
            if entry.check.check(f_locals, f_globals):
                entry.record_hit(self._clock)
                # This hit is in last_used already (hits counted on specialize's fast
                # path before it are not: they only give the entry one more turn).
                entry._synced_hits += 1
                # One C call, atomic under the GIL: no lock on a hit.  KeyError: the
                # entry was evicted or cleared meanwhile (it still answered this lookup).
                try:  # noqa: SIM105 - contextlib.suppress costs more than the move
                    self._order.move_to_end(entry)
                except KeyError:
                    pass
                return entry
        check_frame(f_locals, f_globals)  # on the miss path only: a hit costs nothing more
        next(self._misses)
        return None

    def candidates(
        self, f_locals: Mapping[str, Any], f_globals: Mapping[str, Any] | None = None
    ) -> Sequence[CacheEntry]:
        """The entries that may match these values, most recently used first.

        Every entry while there are fewer than :data:`INDEX_FROM`; from then on
        only those the cache's :attr:`index` finds for the values (a lookup's
        cost does not grow with the number of entries).  No check is run and
        nothing is counted.
        """
        if len(self._order) < INDEX_FROM:
            return _snapshot(self._order)[::-1]
        return self.index.candidates(f_locals, f_globals)

    @property
    def index(self) -> EntryIndex:
        """The entries bucketed by the value they demand at one source.

        Built when first asked for (a small cache that is only scanned never
        builds one), then kept up to date entry by entry, and built anew when
        :meth:`EntryIndex.due`.
        """
        index = self._index
        if index is None:
            with self._lock:
                index = self._index
                if index is None:
                    index = self._index = EntryIndex.build(_snapshot(self._order)[::-1])
        return index

    def explain(
        self, f_locals: Mapping[str, Any], f_globals: Mapping[str, Any] | None = None
    ) -> MissExplanation:
        """Every entry's failing guards for these values (most recently used first)."""
        check_frame(f_locals, f_globals)
        return MissExplanation(
            tuple(
                EntryFailure(i, entry, entry.check.check_verbose(f_locals, f_globals))
                for i, entry in enumerate(self.entries)
            )
        )

    # -- adding --------------------------------------------------------------------
    def add(
        self,
        check: CheckFunction,
        value: Any,
        *,
        explanation: MissExplanation | None = None,
    ) -> CacheEntry | None:
        """Add an entry, most recently used; ``None`` if the ``"run"`` policy declined it.

        When the cache is full, ``"evict"`` drops the least recently used entry,
        ``"raise"`` raises :class:`CacheLimitError` (with ``explanation``, the
        reason of the miss, when given) and ``"run"`` adds nothing.
        """
        return self.insert(check, value, explanation=explanation)[0]

    def insert(
        self,
        check: CheckFunction,
        value: Any,
        *,
        explanation: MissExplanation | None = None,
    ) -> tuple[CacheEntry | None, CacheEntry | None]:
        """:meth:`add`, returning ``(the entry added, the entry evicted for it)``.

        Either may be ``None``: nothing added (``"run"`` on a full cache),
        nothing evicted (there was room).  Errors as :meth:`add`.  Costs the
        same with 10 or 10,000 entries (amortized): the evicted entry is the
        first of a recency order, and the index is updated, not rebuilt.
        """
        check_type("check", check, CheckFunction)
        entry = CacheEntry(check, value, provenance=capture_provenance())
        oldest = None
        with self._lock:
            if len(self._order) >= self.max_entries:
                if self.on_limit == "run":
                    next(self._uncached)
                    return None, None
                if self.on_limit == "raise":
                    reason = explanation if explanation is not None else MissExplanation(())
                    msg = (
                        f"cache limit of {self.max_entries} entries reached "
                        f"(on_limit='raise'); the lookup missed because:\n{reason}"
                    )
                    raise CacheLimitError(msg, reason)
                oldest = self._least_recently_used()
                self._retire(oldest.hit_counter)
                self._evictions += 1
            if len(self._order) < INDEX_FROM:
                # Hits counted on the fast path before this miss are older than the new
                # entry: stamp them first, or the next sync would put them after it (and
                # the inline front would check the newest entry last).  Bounded: a small
                # cache; a large one is ordered up to ties between evictions anyway.
                self._sync_recency()
            entry.last_used = next(self._clock)
            entry.number = next(self._numbers)
            self._order[entry] = None
            removed = () if oldest is None else (oldest,)
            rebuilt = self._update_index(entry, removed)
            self._changed(CacheChange(entry, removed, reset=rebuilt, index_rebuilt=rebuilt))
        return entry, oldest

    def _least_recently_used(self) -> CacheEntry:
        """Take out the entry to evict (locked): the first in recency order whose count
        did not move since it was stamped.  An entry hit since (on specialize's fast
        path, which only counts) is stamped now and put at the end instead: each hit
        interval costs one move, so this is amortized O(1).  Each step is one atomic
        call (``popitem``, an assignment), so lookups move entries without the lock."""
        order = self._order
        for _ in range(len(order)):
            entry, _ = order.popitem(last=False)
            hits = entry.hits
            if hits == entry._synced_hits:
                return entry
            entry._synced_hits = hits
            entry.last_used = next(self._clock)
            order[entry] = None
        return order.popitem(last=False)[0]  # every entry was hit meanwhile

    def _update_index(self, added: CacheEntry, removed: tuple[CacheEntry, ...]) -> bool:
        """Put ``added`` into the index and take ``removed`` out (locked); drop the
        index, to be built anew when next asked for, when that is due
        (:meth:`EntryIndex.due`).  True when dropped."""
        index = self._index
        if index is None:
            return False
        for entry in removed:
            index.remove(entry)
        index.add(added)
        if not index.due():
            return False
        self._index = None
        return True

    def _retire(self, counter: HitCounter) -> None:
        """Keep counting the hits of an evicted entry until its counter is dropped (locked)."""
        serial = next(self._serials)
        self._retired[serial] = weakref.ref(counter)
        counter.retirement = (self._folded, serial)
        self._fold()
        for key, value in list(self._retired.items()):
            if isinstance(value, int):  # dropped: its final count joins the total
                self._retired_hits += value
                del self._retired[key]

    def _fold(self) -> None:
        """Record the final counts that dropped counters left in ``_folded`` (locked)."""
        folded, retired = self._folded, self._retired
        while folded:
            serial, count = folded.pop()
            if serial in retired:
                retired[serial] = count

    def _retired_count(self) -> int:
        """Hits of evicted entries: folded totals, plus live counters read now (locked)."""
        self._fold()
        total = self._retired_hits
        for value in list(self._retired.values()):
            if isinstance(value, int):
                total += value
            else:
                counter = value()
                if counter is not None:
                    total += counter_value(counter)
        return total

    def note_store_hit(self) -> None:
        """Count a miss that an entry loaded from a store answered (``info().store_hits``).

        For :func:`guards.specialize` with a ``store``, and for tracer authors who look
        in a store (:class:`~guards.Store`) after a miss of this cache and insert
        the entry they load.
        """
        next(self._store_hits)

    def note_uncached(self, *, looked_up: bool = True) -> None:
        """Count a call that ran without caching (used by :func:`guards.specialize`).

        ``looked_up=False`` says the call did not look in the cache either (it
        ran in a ``guards.disable`` region, or after its function's ``__code__``
        was replaced): it is no miss of this cache, and :attr:`bypassed` counts it.
        """
        next(self._uncached)
        if not looked_up:
            next(self._bypassed)

    @property
    def bypassed(self) -> int:
        """Calls noted as run without a lookup (``note_uncached(looked_up=False)``)
        since the cache was made or last cleared."""
        return counter_value(self._bypassed)

    def add_listener(self, listener: Callable[[CacheChange], None]) -> None:
        """Call ``listener(change)`` whenever entries are added, evicted or cleared.

        ``change`` is a :class:`CacheChange` saying what changed.  Listeners are
        called with the cache's lock held, so they see changes one at a time.
        """
        if not callable(listener):
            raise must_be("listener", "callable", listener)
        self._listeners.append(listener)

    def _changed(self, change: CacheChange) -> None:
        for listener in self._listeners:
            listener(change)

    # -- housekeeping ----------------------------------------------------------------
    @property
    def entries(self) -> tuple[CacheEntry, ...]:
        """The entries, most recently used first (O(number of entries))."""
        with self._lock:
            self._sync_recency()
            return tuple(_snapshot(self._order)[::-1])

    def _sync_recency(self) -> None:
        """Stamp entries that were hit without a stamp (on specialize's fast path).

        That path only counts a hit; here, an entry whose count moved since it
        was last stamped becomes more recent than every entry whose count did
        not, and those hit keep their previous order among themselves.  An
        eviction does the same for the entries it passes over
        (:meth:`_least_recently_used`), so this is LRU up to ties between hits
        counted before the same eviction.
        """
        moved = []
        for entry in _snapshot(self._order):  # find() may move entries meanwhile
            hits = entry.hits
            if hits != entry._synced_hits:
                entry._synced_hits = hits
                moved.append(entry)
        for entry in moved:  # in their previous order
            entry.last_used = next(self._clock)
            self._order.move_to_end(entry)

    def __len__(self) -> int:
        return len(self._order)

    def clear(self) -> None:
        """Drop every entry and reset the statistics."""
        with self._lock:
            self._order.clear()
            self._index = None
            self._misses = itertools.count()
            self._uncached = itertools.count()
            self._bypassed = itertools.count()
            self._store_hits = itertools.count()
            self._evictions = self._retired_hits = 0
            # Counters retired before the clear leave their counts in the old list.
            self._retired, self._folded = {}, []
            self._changed(CacheChange(reset=True))

    def info(self) -> CacheInfo:
        """Hits, misses, entries and the limit (plus evictions and uncached runs)."""
        with self._lock:
            entries = _snapshot(self._order)
            hits = self._retired_count() + sum(entry.hits for entry in entries)
            return CacheInfo(
                hits, counter_value(self._misses), len(entries), self.max_entries,
                self._evictions, counter_value(self._uncached),
                counter_value(self._store_hits),
            )

    def __repr__(self) -> str:
        info = self.info()
        return (
            f"<GuardedCache {info.entries}/{info.max_entries} entries, "
            f"{info.hits} hits, {info.misses} misses, on_limit={self.on_limit!r}>"
        )

    def __str__(self) -> str:
        lines = [repr(self)]
        for i, entry in enumerate(self.entries):
            lines.append(f"[{i}] {entry}")
            lines += [f"    {line}" for line in str(entry.check).splitlines()[1:]]
        return "\n".join(lines)


_VALUE_KINDS = frozenset({"EQUALS_MATCH", "CONSTANT_MATCH"})


@attrs.define(eq=False)
class EntryIndex:
    """Entries bucketed by the value (or type) they demand at one source.

    Many entries of one cache usually differ in one input: ``L['x'] == 1``,
    ``L['x'] == 2``...  Bucketing by that value makes a lookup check only the
    entries that can match, plus those that do not guard the source at all.
    Keys are ``(type, value)``, so ``1``, ``1.0`` and ``True`` stay apart; a
    value that is not its own equal (NaN) is never bucketed, nor one whose
    lookup would run user code (:func:`index_can_look_up`).

    The cache keeps its index up to date entry by entry (:meth:`add`,
    :meth:`remove`: O(1) but for a long ``rest``), and builds it anew, which
    may choose another source, only when :meth:`due`: after as many changes
    as it had entries when built, so that building costs O(1) per change,
    amortized.
    """

    source: Source | None
    by_type: bool
    accessor: Callable[..., Any] | None
    buckets: dict[Any, list[CacheEntry]]
    rest: list[CacheEntry]
    #: Each entry's bucket key (``None``: it is in ``rest``).
    keys: dict[CacheEntry, Any] = attrs.field(factory=dict, repr=False)
    #: How many entries it was built from, and changes since.
    built_from: int = 0
    changes: int = 0

    @classmethod
    def build(cls, entries: Sequence[CacheEntry]) -> EntryIndex:
        """The best index for ``entries`` (all in ``rest`` when no source tells them apart).

        ``entries`` most recently used first; each bucket and ``rest`` keep that order.
        """
        keys_by_choice: dict[tuple[Source, bool], dict[int, Any]] = {}
        for position, entry in enumerate(entries):
            for check in entry.check.checks:
                choice = _index_choice(check)
                if choice is not None:
                    key = _key_of(check.expected, choice[1])
                    if key is not _UNKEYED:
                        keys_by_choice.setdefault(choice, {})[position] = key
        if not keys_by_choice:
            return cls(None, False, None, {}, list(entries), dict.fromkeys(entries),
                       len(entries))
        (source, by_type), keys = max(
            keys_by_choice.items(), key=lambda item: (len(item[1]), len(set(item[1].values())))
        )
        index = cls(source, by_type, compile_accessor(source), {}, [], {}, len(entries))
        for position, entry in enumerate(entries):
            key = keys.get(position)
            index.keys[entry] = key
            if key is None:
                index.rest.append(entry)
            else:
                index.buckets.setdefault(key, []).append(entry)
        return index

    def key(self, entry: CacheEntry) -> Any:
        """``entry``'s bucket key in this index, or ``None`` if it belongs in ``rest``."""
        if self.source is None:
            return None
        for check in entry.check.checks:
            if _index_choice(check) == (self.source, self.by_type):
                key = _key_of(check.expected, self.by_type)
                if key is not _UNKEYED:
                    return key
        return None

    def add(self, entry: CacheEntry) -> Any:
        """Put ``entry`` first in its bucket (or in ``rest``); its key, or ``None``."""
        key = self.keys[entry] = self.key(entry)
        if key is None:
            self.rest.insert(0, entry)
        else:
            bucket = self.buckets.get(key)
            # A new list, swapped in: a lookup reading the old one sees it whole.
            self.buckets[key] = [entry] if bucket is None else [entry, *bucket]
        self.changes += 1
        return key

    def remove(self, entry: CacheEntry) -> None:
        """Take ``entry`` out of its bucket (or ``rest``); nothing if it is not here."""
        if entry not in self.keys:
            return
        key = self.keys.pop(entry)
        if key is None:
            self.rest = [e for e in self.rest if e is not entry]
        else:
            left = [e for e in self.buckets.get(key, ()) if e is not entry]
            if left:
                self.buckets[key] = left
            else:
                self.buckets.pop(key, None)
        self.changes += 1

    def due(self) -> bool:
        """True when building anew is due: the index has changed as many times as
        it had entries when built, or at all if it was built from fewer than
        :data:`INDEX_FROM` (a small index is cheap to build, and the best one
        for few entries may change at every entry)."""
        return self.changes >= (self.built_from if self.built_from >= INDEX_FROM else 1)

    def candidates(
        self, f_locals: Mapping[str, Any], f_globals: Mapping[str, Any] | None
    ) -> Sequence[CacheEntry]:
        """The entries that may match these values, most recently used first."""
        if self.accessor is None:
            return sorted(self.rest, key=_recency)
        try:
            value = self.accessor(f_locals, f_globals)
            bucket = (
                self.buckets.get(type(value) if self.by_type else (type(value), value), ())
                if index_can_look_up(value, self.by_type) else ()
            )
        except Exception:  # unreadable or unhashable: every entry may match
            return sorted((e for b in list(self.buckets.values()) for e in b),
                          key=_recency) + sorted(self.rest, key=_recency)
        found = [*bucket, *self.rest]
        if len(found) > 1:
            found.sort(key=_recency)
        return found


def _recency(entry: CacheEntry) -> int:
    return -entry.last_used


_UNKEYED = object()


def _index_choice(check: Any) -> tuple[Source, bool] | None:
    if len(check.sources) != 1:
        return None
    kind = check.guard.kind
    if kind in _VALUE_KINDS and check.guard.source == check.sources[0]:
        return (check.sources[0], False)
    if kind == "TYPE_MATCH":
        return (check.sources[0], True)
    return None


#: The exact types of the values an index buckets entries by: their ``hash`` and ``==``
#: are C code, so looking a value up in the buckets runs no user code (a user's
#: ``__hash__`` or ``__eq__`` would run in the lookup, where a plain call never runs it).
INDEX_VALUE_TYPES: tuple[type, ...] = (int, float, complex, str, bytes, bool, type(None))
#: The ids of :data:`INDEX_VALUE_TYPES`, tested with ``id(type(v)) in ...``: unlike
#: ``type(v) in ...``, the test hashes no class (a metaclass may define ``__hash__``).
INDEX_VALUE_TYPE_IDS: frozenset[int] = frozenset(map(id, INDEX_VALUE_TYPES))


def index_can_look_up(value: Any, by_type: bool) -> bool:
    """Whether an index's buckets may be looked ``value`` up in (the value at its source,
    or its type when ``by_type``): only when the lookup runs no user code.  A value or
    class that fails this is never a key, so the buckets hold nothing for it."""
    if by_type:
        return type(type(value)) is type  # a class whose metaclass is type itself
    return id(type(value)) in INDEX_VALUE_TYPE_IDS


def _key_of(expected: Any, by_type: bool) -> Any:
    if by_type:
        return expected if type(expected) is type else _UNKEYED  # a class of metaclass type
    if id(type(expected)) not in INDEX_VALUE_TYPE_IDS:
        return _UNKEYED
    try:
        hash(expected)
        reflexive = expected == expected
        if not reflexive:  # NaN: a dict lookup would never find it again
            return _UNKEYED
    except Exception:
        return _UNKEYED
    return (type(expected), expected)
