"""GuardedCache: values reused while their guards hold, and every miss explained.

Entries are kept most recently used first; ``lookup`` returns the value of the
first entry whose check passes.  When the cache is full, the policy chosen at
construction decides: ``"evict"`` the least recently used entry, ``"raise"``
:class:`CacheLimitError` (carrying why the lookup missed), or ``"run"``: add
nothing, so the caller runs uncached.

All operations are thread-safe.  Checks run outside the lock (they are pure
reads of the caller's values); only the bookkeeping is locked.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

import attrs

from guards.check import CheckFunction
from guards.errors import GuardsError, GuardsTypeError, GuardsValueError, check_type, describe
from guards.guard import Provenance, capture_provenance
from guards.verbose import CheckResult

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


@attrs.define(eq=False)
class CacheEntry:
    """One cached value, the check that guards it, and where and when it was made."""

    check: CheckFunction
    value: Any
    created: float = attrs.field(factory=time.time)
    provenance: Provenance | None = None
    hits: int = 0

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
    """Why a lookup missed: for every entry, every failing guard."""

    entries: tuple[EntryFailure, ...]

    @property
    def hit(self) -> bool:
        """True when some entry passed after all (the lookup would not miss)."""
        return any(e.result.passed for e in self.entries)

    def failure_lines(self) -> list[str]:
        """One line per failing guard, prefixed with the entry it belongs to."""
        return [
            f"entry {e.index}: {failure.message}"
            for e in self.entries
            for failure in e.result.failures
        ]

    def __str__(self) -> str:
        if not self.entries:
            return "no entries: nothing to reuse yet"
        if self.hit:
            return "an entry matches: the lookup hits"
        return "no entry matched:\n" + "\n".join(f"  - {line}" for line in self.failure_lines())


class CacheLimitError(GuardsError):
    """The cache is full and its policy is ``"raise"``; ``explanation`` says why it missed."""

    def __init__(self, message: str, explanation: MissExplanation) -> None:
        super().__init__(message)
        self.explanation = explanation


class GuardedCache:
    """Values guarded by compiled checks; see the module docstring."""

    def __init__(self, max_entries: int = 8, on_limit: OnLimit = "evict") -> None:
        if type(max_entries) is not int:
            msg = f"max_entries must be an int, got {describe(max_entries)}"
            raise GuardsTypeError(msg)
        if max_entries < 1:
            msg = f"max_entries must be at least 1, got {describe(max_entries)}"
            raise GuardsValueError(msg)
        if on_limit not in _POLICIES:
            choices = ", ".join(map(repr, _POLICIES))
            msg = f"on_limit must be one of {choices}, got {describe(on_limit)}"
            raise GuardsValueError(msg)
        self.max_entries = max_entries
        self.on_limit: OnLimit = on_limit
        self._entries: list[CacheEntry] = []  # most recently used first
        self._lock = threading.RLock()
        self._hits = self._misses = self._evictions = self._uncached = 0

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
        for entry in tuple(self._entries):
            if entry.check.check(f_locals, f_globals):
                with self._lock:
                    self._hits += 1
                    entry.hits += 1
                    self._move_to_front(entry)
                return entry
        with self._lock:
            self._misses += 1
        return None

    def _move_to_front(self, entry: CacheEntry) -> None:
        entries = self._entries
        if entries and entries[0] is entry:
            return
        try:
            entries.remove(entry)
        except ValueError:
            return  # evicted or cleared meanwhile; it still answered this lookup
        entries.insert(0, entry)

    def explain(
        self, f_locals: Mapping[str, Any], f_globals: Mapping[str, Any] | None = None
    ) -> MissExplanation:
        """Every entry's failing guards for these values (most recently used first)."""
        check_type("f_locals", f_locals, Mapping)
        return MissExplanation(
            tuple(
                EntryFailure(i, entry, entry.check.check_verbose(f_locals, f_globals))
                for i, entry in enumerate(tuple(self._entries))
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
        check_type("check", check, CheckFunction)
        entry = CacheEntry(check, value, provenance=capture_provenance())
        with self._lock:
            if len(self._entries) >= self.max_entries:
                if self.on_limit == "run":
                    self._uncached += 1
                    return None
                if self.on_limit == "raise":
                    reason = explanation or MissExplanation(())
                    msg = (
                        f"cache limit of {self.max_entries} entries reached "
                        f"(on_limit='raise'); the lookup missed because:\n{reason}"
                    )
                    raise CacheLimitError(msg, reason)
                self._entries.pop()
                self._evictions += 1
            self._entries.insert(0, entry)
        return entry

    def note_uncached(self) -> None:
        """Count a call that ran without caching (used by :func:`guards.specialize`)."""
        with self._lock:
            self._uncached += 1

    # -- housekeeping ----------------------------------------------------------------
    @property
    def entries(self) -> tuple[CacheEntry, ...]:
        """The entries, most recently used first."""
        return tuple(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Drop every entry and reset the statistics."""
        with self._lock:
            self._entries.clear()
            self._hits = self._misses = self._evictions = self._uncached = 0

    def info(self) -> CacheInfo:
        """Hits, misses, entries and the limit (plus evictions and uncached runs)."""
        with self._lock:
            return CacheInfo(
                self._hits, self._misses, len(self._entries), self.max_entries,
                self._evictions, self._uncached,
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
