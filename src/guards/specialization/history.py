"""The last misses of a specialized function, kept for reports and for a look from code.

Every miss of a specialized function is recorded in its
``specialized.miss_history`` (the last :data:`RECORDED_MISSES`): its number,
when and from which line the call came, and what came of it (a new entry, a
run that could not be cached and why, the cache's limit).  Why the lookup
missed (every entry's failing guards) is kept when the miss was explained:
with ``guards.config.record_misses`` on, and whenever it is explained anyway
(the ``guards.recompiles`` log is on, or the cache is full with
``on_limit="raise"``).  Misses are not explained otherwise: explaining walks
every entry's paths again, which takes time and can run the inputs'
properties and ``__getattr__``.

A record holds text and line numbers only, never the call's values, so it
keeps none of the caller's objects alive.
"""

from __future__ import annotations

from typing import Literal

import attrs

from guards.checks.cache import MissExplanation
from guards.checks.explain import GuardFailure
from guards.core.guard import Provenance
from guards.core.values import show

#: How many misses each specialized function keeps (the oldest are dropped).
RECORDED_MISSES = 50
#: How many entries' failures one record keeps (the most recently used first).
RECORDED_ENTRIES = 16

#: What a miss came to: ``"stored"`` (a new entry), ``"declined"`` (the cache is
#: full and its ``on_limit="run"`` adds nothing: the function ran itself,
#: untraced), ``"uncached"`` (the run could not
#: be cached: see the reasons), ``"limit"`` (the cache is full and its
#: ``on_limit="raise"`` raised :class:`~guards.CacheLimitError`) or ``"found"``
#: (another thread stored a matching entry while this call waited for it).
MissOutcome = Literal["stored", "declined", "uncached", "limit", "found", "loaded"]


@attrs.frozen
class RecordedFailure:
    """One failing guard, as text: what it checks, expected, actual and where it was made.

    ``source`` is the guarded path (``L['cfg'].mode``), ``kind`` the guard kind
    (``"EQUALS_MATCH"``), ``description`` the check (``L['cfg'].mode == 'fast'``),
    ``label`` the user's name for a guarded closure cell or default, and
    ``message`` the explanation's one line, as :meth:`MissExplanation.failure_lines`
    gives it.
    """

    source: str
    kind: str
    description: str
    expected: str
    actual: str
    label: str | None
    provenance: Provenance | None
    message: str

    @classmethod
    def of(cls, failure: GuardFailure) -> RecordedFailure:
        """The record of one :class:`~guards.GuardFailure`."""
        check = failure.check
        return cls(
            failure.source.name, failure.kind, check.description, show(failure.expected),
            show(failure.actual), failure.label, failure.provenance, failure.message,
        )


@attrs.frozen
class EntryMismatch:
    """Why one entry did not answer a call: its failing guards.

    ``entry`` is the entry's :attr:`~guards.CacheEntry.number`;
    ``not_evaluated`` the checks (``KIND description``) not evaluated because an
    earlier guard had failed and evaluating them could run user code.
    """

    entry: int
    failures: tuple[RecordedFailure, ...]
    not_evaluated: tuple[str, ...] = ()


@attrs.frozen
class MissRecord:
    """One miss of a specialized function, as ``f.specialized.miss_history`` keeps it.

    Every miss is recorded (the last :data:`RECORDED_MISSES` of each function):
    when and from which line the call came and what came of it.  Why the
    lookup missed (``explanation``) is kept only when the miss was explained:
    with ``guards.config.record_misses`` on, and whenever it is explained
    anyway (the ``guards.recompiles`` log is on, or the cache is full with
    ``on_limit="raise"``).  A record holds text and line numbers only, never
    the call's values, so it keeps none of the caller's objects alive.

    - ``number``: 1 for the function's first miss, counted since it was decorated.
    - ``time``: when, in seconds since the epoch (``time.time()``).
    - ``caller``: the line of user code that made the call, when known.
    - ``outcome``: what came of it (:data:`MissOutcome`); ``entry``, the number of
      the entry stored (or found, or loaded from a store: ``"loaded"``);
      ``evicted``, the entry dropped to make room.
    - ``reasons``: why the run could not be cached (outcome ``"uncached"``).
    - ``explanation``: for each entry the lookup tried (most recently used
      first, at most :data:`RECORDED_ENTRIES`), why it did not match; ``None``
      when the miss was not explained.  ``unrecorded_entries`` counts the
      entries tried beyond those kept.
    """

    number: int
    time: float
    caller: Provenance | None
    outcome: MissOutcome
    entry: int | None = None
    evicted: int | None = None
    reasons: tuple[str, ...] = ()
    explanation: tuple[EntryMismatch, ...] | None = None
    unrecorded_entries: int = 0

    @property
    def explained(self) -> bool:
        """True when the record says why the lookup missed."""
        return self.explanation is not None

    def outcome_text(self) -> str:
        """What came of the miss, in words (``stored as entry 3; entry 1 evicted``)."""
        if self.outcome == "stored":
            text = f"stored as entry {self.entry}"
            return text if self.evicted is None else f"{text}; entry {self.evicted} evicted"
        if self.outcome == "declined":
            return "not stored: the cache is full (on_limit='run')"
        if self.outcome == "limit":
            return "CacheLimitError: the cache is full (on_limit='raise')"
        if self.outcome == "found":
            return f"answered by entry {self.entry}, stored meanwhile by another thread"
        if self.outcome == "loaded":
            text = f"answered by an entry of the store, kept as entry {self.entry}"
            return text if self.evicted is None else f"{text}; entry {self.evicted} evicted"
        return "ran uncached: " + "; ".join(self.reasons)

    def __str__(self) -> str:
        where = f" from {self.caller}" if self.caller is not None else ""
        lines = [f"miss {self.number}{where}: {self.outcome_text()}"]
        if self.explanation is None and self.outcome != "found":
            lines.append("  (not explained: guards.config.record_misses was off)")
        elif not self.explanation:
            lines.append("  the cache was empty")
        for mismatch in self.explanation or ():
            lines += [f"  - entry {mismatch.entry}: {f.message}" for f in mismatch.failures]
        if self.unrecorded_entries:
            lines.append(f"  ({self.unrecorded_entries} more entries not recorded)")
        return "\n".join(lines)


def record_explanation(
    explanation: MissExplanation,
) -> tuple[tuple[EntryMismatch, ...], int]:
    """An explanation as text: the mismatches kept, and how many entries were left out."""
    kept = explanation.entries[:RECORDED_ENTRIES]
    mismatches = tuple(
        EntryMismatch(
            e.entry.number,
            tuple(map(RecordedFailure.of, e.result.failures)),
            tuple(f"{c.guard.kind} {c.description}" for c in e.result.not_evaluated),
        )
        for e in kept
    )
    return mismatches, len(explanation.entries) - len(kept)
