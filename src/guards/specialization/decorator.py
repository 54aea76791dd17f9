"""``@guards.specialize``: a function's results, reused while the guards of what it read hold.

The decorated function gets a generated wrapper with the function's own
signature.  A call binds its arguments exactly as Python would (so a bad call
raises Python's own ``TypeError``), then builds the frame's locals as CPython
shows them in ``frame.f_locals``: every parameter (defaults applied) and every
free variable's current value.  Those locals and the function's globals are
what the guards are checked against, so guards read ``L['cfg'].mode``,
``L['scale']`` (a closure variable) or ``G['TABLE']``.

On a miss the function runs on tracked inputs (``guards.specialization.tracer``), and its
result is stored with the guards of exactly what the run read.  A run that
could not be tracked returns its result without caching it, and says why.
"""

from __future__ import annotations

import collections
import copy
import functools
import inspect
import itertools
import logging
import os
import pathlib
import sys
import threading
import time
import types
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, Protocol, Self, TypedDict, TypeVar, overload

import attrs

from guards.checks.cache import MISS, CacheEntry, GuardedCache, MissExplanation, OnLimit
from guards.checks.compiled import CheckFunction
from guards.core.guard import capture_provenance
from guards.core.signatures import call_with
from guards.core.values import same_value, show
from guards.errors import (
    CacheLimitError,
    GuardsError,
    GuardsTypeError,
    StaleHitError,
    UntrackedCallError,
    describe,
    must_be,
)
from guards.events import note_miss
from guards.forks import fork_safe
from guards.logs import guards_log, recompiles_log
from guards.markers import in_disabled_region
from guards.options import check_verify_share, config
from guards.specialization import report as reports
from guards.specialization.dispatcher import Dispatcher, frame_locals_builder
from guards.specialization.history import (
    RECORDED_MISSES,
    MissOutcome,
    MissRecord,
    record_explanation,
)
from guards.specialization.library_values import is_frozen_result
from guards.specialization.nested import (
    CachedCall,
    answer_deepest,
    beyond_limit,
    forget_deepest,
    take_deepest,
)
from guards.specialization.persisted import StoreLink
from guards.specialization.reasons import caller_line, definition_line, located, return_line
from guards.specialization.tracer import (
    TraceOutcome,
    is_deep_immutable,
    trace_call,
)
from guards.stores.fleet import load_or_build
from guards.stores.interface import Store, StoredEntry
from guards.tracking.lazy import TracingContext, tracing

P = ParamSpec("P")
#: The parameters left once a method is bound to its instance.
BoundP = ParamSpec("BoundP")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)
#: The instance a specialized method is bound to.
S = TypeVar("S")
#: The class a classmethod is bound to.
Owner = TypeVar("Owner", bound=type)




class _Stored:
    """A stored result, and how to hand it out so that no caller can change it for the next.

    ``immutable`` is True when the stored object itself is handed to every caller:
    nothing reachable from it can change (:func:`is_frozen_result`), or the
    function was specialized with ``copy_results=False``.  Otherwise the result
    is copied when stored and again for every caller.
    """

    __slots__ = ("aliased", "immutable", "value")

    def __init__(self, value: Any, aliased: tuple[Any, ...], *, copy_results: bool = True) -> None:
        self.immutable = not copy_results or is_frozen_result(value, is_deep_immutable)
        self.aliased = aliased
        self.value = value if self.immutable else self._copy(value)

    def _copy(self, value: Any) -> Any:
        # Inputs returned as themselves (guarded by identity) stay themselves.
        memo = {id(obj): obj for obj in self.aliased}
        return copy.deepcopy(value, memo)

    def get(self) -> Any:
        """The result for one more caller: the stored value, or a private copy of it."""
        return self.value if self.immutable else self._copy(self.value)

    def __repr__(self) -> str:
        # What an entry shows as its value: the result, not this holder.
        if any(self.value is obj for obj in self.aliased):
            return f"<stored result: {show(self.value)}, an input returned as itself>"
        return f"<stored result: {show(self.value)}>"


#: A credit this close to 1 counts as 1: ten shares of 0.1 add up to 0.999...9.
_WHOLE = 1.0 - 1e-9


class VerifySampler:
    """Which hits verify mode checks, for a share of hits between 0 and 1.

    The checked hits are evenly spaced (a share of 0.01 checks the first hit,
    then every hundredth), so a stale entry is caught early and the cost is
    exactly the share.  No random numbers are drawn: the function being
    specialized may read the ``random`` module's state, and sampling must not
    change it.  Counting is not locked: under threads a hit may be checked or
    skipped one turn early or late, which only moves the sample.
    """

    __slots__ = ("_credit",)

    def __init__(self) -> None:
        self._credit = 1.0

    def due(self, share: bool | float) -> bool:
        """Count one hit; True when it is one to check (every hit for ``True``)."""
        if share is True:
            return True
        due = self._credit >= _WHOLE
        if due:
            self._credit -= 1.0
        self._credit += share
        return due


class Specialized:
    """The state behind a specialized function: its cache, options and statistics."""

    def __init__(
        self,
        function: types.FunctionType,
        *,
        max_entries: int,
        on_limit: OnLimit,
        strict: bool | None,
        verify: bool | float | None,
        copy_results: bool = True,
        store: Store | None = None,
    ) -> None:
        self.function = function
        self.cache = GuardedCache(max_entries=max_entries, on_limit=on_limit)
        #: The store entries are shared through, or None (``specialize(store=...)``).
        self.store_link = None if store is None else StoreLink(function, store, _results_equal)
        self.strict = strict
        self.verify = verify
        #: False: a hit returns the stored object itself, as ``lru_cache`` does.
        self.copy_results = copy_results
        self._sample = VerifySampler()
        self.uncached_reasons: dict[str, int] = {}
        #: The last misses, oldest first (``guards.specialization.history``).
        self.miss_history: collections.deque[MissRecord] = collections.deque(
            maxlen=RECORDED_MISSES
        )
        self._miss_numbers = itertools.count(1)
        self._miss_lock = threading.RLock()
        fork_safe(self, "_miss_lock")
        #: Misses traced with exact scalars since a traced run last needed them (0: none).
        self._exact_runs = 0
        self._warned: set[str] = set()
        reports.register(self)

    # -- calls ----------------------------------------------------------------------
    def dispatch(self, f_locals: dict[str, Any]) -> Any:
        """Answer one call whose frame locals are ``f_locals``."""
        f_globals = self.function.__globals__
        if in_disabled_region():
            self._count_uncached((located(_IN_DISABLED, caller_line()),), looked_up=False)
            return self._call_plain(f_locals)
        entry = self.cache.find(f_locals, f_globals)
        if entry is not None:
            return self._answer(entry, f_locals)
        note_miss(self.function)
        return self._miss(f_locals, f_globals)

    def _answer(self, entry: CacheEntry, f_locals: dict[str, Any]) -> Any:
        """The result of a hit on ``entry`` for one more caller (checked against a fresh
        call when verify mode samples it)."""
        stored: _Stored = entry.value
        result = stored.get()
        share = config.verify if self.verify is None else self.verify
        if share and self._sample.due(share):
            self._verify(entry, f_locals, result)
        return result

    def call_new_code(self, call: Callable[..., Any], *args: Any) -> Any:
        """A call after the function's ``__code__`` was replaced: ``call(*args)``, uncached.

        ``call`` calls the function plainly.  The entries were made by the old
        code; they serve again if it is put back.
        """
        function = self.function
        reason = f"the __code__ of {function.__qualname__} was replaced after @specialize"
        where = definition_line(function.__code__)
        self._count_uncached((located(reason, where),), looked_up=False)
        return call(*args)

    def _call_plain(self, f_locals: dict[str, Any]) -> Any:
        code = self.function.__code__
        # call_with reads the code's parameters by name; the free variables are ignored.
        return call_with(self.function, code, f_locals)

    def _miss(self, f_locals: dict[str, Any], f_globals: dict[str, Any]) -> Any:
        cache = self.cache
        if cache.on_limit == "run" and len(cache) >= cache.max_entries:
            return self._past_limit(f_locals, f_globals)
        link = self.store_link
        if link is None:
            return self._miss_traced(f_locals, f_globals)[0]

        def accept(entry: StoredEntry) -> Any:
            return self._from_store(link, entry, f_locals, f_globals)

        def build() -> tuple[Any, StoredEntry | None]:
            result, local = self._miss_traced(f_locals, f_globals)
            if local is None:
                return result, None
            stored: _Stored = local.value
            return result, link.entry_for(local.check, stored.value, stored.aliased)

        return load_or_build(link.store, link.key(), accept, build).value

    def _from_store(
        self, link: StoreLink, entry: StoredEntry, f_locals: dict[str, Any],
        f_globals: dict[str, Any],
    ) -> Any:
        """The value of a stored entry whose guards pass on this call (its entry kept
        locally from now on), or :data:`~guards.MISS`."""
        check = link.check_of(entry.document)
        if check is None or not check.check(f_locals, f_globals):
            return MISS
        value = link.value_of(entry)
        if value is MISS:
            return MISS
        share = config.verify if self.verify is None else self.verify
        if share and self._sample.due(share):  # checked as a hit is: it is one, elsewhere
            self._verify(CacheEntry(check, _Stored(value, (), copy_results=self.copy_results)),
                         f_locals, value, source="the store")
        with self._miss_lock:
            found = self._found(f_locals, f_globals)  # another thread's, meanwhile
            if found is not None:
                return found.value.get()
            stored = _Stored(value, (), copy_results=self.copy_results)
            try:
                local, gone = self.cache.insert(check, stored)
            except CacheLimitError:
                self._record_miss(None, "limit")
                raise
            self.cache.note_store_hit()
            self._record_miss(
                None, "loaded", entry=None if local is None else local.number,
                evicted=None if gone is None else gone.number,
            )
        return value

    def _miss_traced(
        self, f_locals: dict[str, Any], f_globals: dict[str, Any]
    ) -> tuple[Any, CacheEntry | None]:
        """A miss answered by tracing the call: its result, and the entry it stored
        (None if none was)."""
        # A recursion too deep to trace through the cache at once: the deepest call the
        # traced run reached is answered first (outside the lock: it may be another
        # function's, whose lock another thread holds), then the call is traced again;
        # each round stores a stretch of levels, from the deepest up.
        for _ in range(sys.getrecursionlimit()):
            with self._miss_lock:
                found = self._found(f_locals, f_globals)
                if found is not None:
                    return found.value.get(), None
                forget_deepest()
                outcome, why, stored = self._trace_and_store(f_locals, f_globals)
                deepest = None if outcome.completed else take_deepest()
                if deepest is None:
                    break
            answer_deepest(deepest)
        if not outcome.completed and beyond_limit():
            msg = "maximum recursion depth exceeded (as a plain run of the recursion would)"
            raise RecursionError(msg)
        with self._miss_lock:
            if not outcome.reasons:
                return outcome.result, stored
            return self._uncached(f_locals, outcome, why), None

    def call_for_trace(self, f_locals: dict[str, Any], *, deep: bool = False) -> CachedCall:
        """Answer one call that a traced run makes (of this function, or of another
        specialized one), through the cache, for the tracer of the caller.

        ``f_locals`` are the call's frame locals, real values.  A hit answers with
        its entry; a miss traces the call in a tracing context of its own (nested
        in the caller's) and answers with the entry it stores.  A run that could
        not be cached but completed answers with its result (``final``); one that
        did not complete, or was not stored, answers with nothing, and the caller's
        tracer traces into the call (:mod:`guards.specialization.nested`).
        With ``deep`` (the stack is too deep to trace), a miss answers
        ``CachedCall(..., deep=True)`` at once.
        Raises what the function raises in strict mode, :class:`CacheLimitError`
        for ``on_limit="raise"``, and :class:`StaleHitError` in verify mode.
        """
        f_globals = self.function.__globals__
        if in_disabled_region():
            return CachedCall(None, None)
        entry = self.cache.find(f_locals, f_globals)
        if entry is not None:
            return CachedCall(self._answer(entry, f_locals), entry)
        if deep:
            return CachedCall(None, None, deep=True)
        cache = self.cache
        if cache.on_limit == "run" and len(cache) >= cache.max_entries:
            return CachedCall(None, None)  # nothing would be stored: the caller traces into it
        note_miss(self.function)
        # Not waiting: another thread's miss may be waiting for a lock this one holds
        # (mutual recursion); the caller then traces into the call, as into any function.
        if not self._miss_lock.acquire(blocking=False):
            return CachedCall(None, None)
        with self._miss_lock:
            self._miss_lock.release()  # held once, by the `with`
            entry = self._found(f_locals, f_globals)
            if entry is not None:
                return CachedCall(entry.value.get(), entry)
            outcome, why, entry = self._trace_and_store(f_locals, f_globals)
            if entry is not None:
                return CachedCall(entry.value.get(), entry)
            if not outcome.reasons:  # declined by a full cache: nothing else happened
                return CachedCall(None, None)
            if not outcome.completed:  # nothing happened: the caller stops, and runs plainly
                return CachedCall(None, None, reasons=outcome.reasons)
            result = self._uncached(f_locals, outcome, why)
            return CachedCall(result, None, final=True, reasons=outcome.reasons)

    def _found(self, f_locals: dict[str, Any], f_globals: dict[str, Any]) -> CacheEntry | None:
        """An entry another thread built while this one waited for the miss lock."""
        for entry in self.cache.candidates(f_locals, f_globals):
            if entry.check.check(f_locals, f_globals):
                self._record_miss(None, "found", entry=entry.number)
                return entry
        return None

    def _trace_and_store(
        self, f_locals: dict[str, Any], f_globals: dict[str, Any]
    ) -> tuple[TraceOutcome, MissExplanation | None, CacheEntry | None]:
        """Trace the call and store its entry: the outcome (with the reasons not to cache,
        if any), why the lookup missed, and the entry stored (None if none was)."""
        # The cache may be empty: then the miss needs no explaining to be recorded.
        explanation = self._miss_explanation(f_locals, f_globals)
        why = explanation if explanation is not None or len(self.cache) else _NO_ENTRIES
        # After a run whose scalar proxies were not faithful (guards.specialization.
        # scalars), the next misses trace with scalars guarded by value at once, and
        # one in EXACT_RUNS tries the proxies again.
        lazy = self._exact_runs % EXACT_RUNS == 0
        outcome, tx = self._trace(f_locals, f_globals, lazy_scalars=lazy)
        retried = outcome.retry_exact
        if retried:
            outcome, tx = self._trace(f_locals, f_globals, lazy_scalars=False)
        self._exact_runs = self._exact_runs + 1 if retried or not lazy else 0
        if outcome.reasons:
            return outcome, why, None
        try:
            check = tx.compile()
        except GuardsError as exc:  # GuardBuildError, or a kind's own complaint
            outcome.reasons = (self._located(f"its guards could not be built: {exc}"),)
            return outcome, why, None
        try:
            stored = _Stored(outcome.result, outcome.aliased, copy_results=self.copy_results)
        except Exception as exc:  # deepcopy refused (a lock, a file, ...)
            outcome.reasons = (self._located(
                f"its result cannot be copied for reuse: {type(exc).__name__}: {exc}"
            ),)
            return outcome, why, None
        self._log_new_entry(explanation, check)
        return outcome, why, self._store(check, stored, explanation, why)

    def _past_limit(self, f_locals: dict[str, Any], f_globals: dict[str, Any]) -> Any:
        """A miss when the cache is full and its ``on_limit`` is ``"run"``: nothing would
        be stored, so the function runs itself, untraced, and the miss is recorded as
        ``"declined"``.  No lock is held while it runs (calls past the limit run side by
        side), and none need be: such a cache gains no entry that this call could
        have found, and one that was cleared meanwhile only misses this call."""
        self.cache.note_uncached()
        self._record_miss(self._miss_explanation(f_locals, f_globals), "declined")
        return self._call_plain(f_locals)

    def _trace(
        self, f_locals: dict[str, Any], f_globals: dict[str, Any], *, lazy_scalars: bool
    ) -> tuple[TraceOutcome, TracingContext]:
        """One traced run of the call, in a tracing context of its own."""
        with tracing(
            f_locals,
            f_globals,
            skip_guards_on_constant_func_defaults=config.skip_guards_on_constant_func_defaults,
        ) as tx:
            outcome = trace_call(
                self.function, tx, trace_library_code=config.trace_library_code,
                lazy_scalars=lazy_scalars,
            )
        return outcome, tx

    def _store(
        self,
        check: CheckFunction,
        stored: _Stored,
        explanation: MissExplanation | None,
        why: MissExplanation | None,
    ) -> CacheEntry | None:
        try:
            entry, gone = self.cache.insert(check, stored, explanation=explanation)
        except CacheLimitError:
            self._record_miss(why, "limit")
            raise
        if entry is None:
            self._record_miss(why, "declined")
            return None
        evicted = None if gone is None else gone.number
        self._record_miss(why, "stored", entry=entry.number, evicted=evicted)
        return entry

    def _record_miss(
        self,
        why: MissExplanation | None,
        outcome: MissOutcome,
        *,
        entry: int | None = None,
        evicted: int | None = None,
        reasons: tuple[str, ...] = (),
    ) -> None:
        mismatches, left_out = (None, 0) if why is None else record_explanation(why)
        self.miss_history.append(
            MissRecord(
                next(self._miss_numbers), time.time(), capture_provenance(), outcome,
                entry, evicted, reasons, mismatches, left_out,
            )
        )

    def _miss_explanation(
        self, f_locals: dict[str, Any], f_globals: dict[str, Any]
    ) -> MissExplanation | None:
        """Why the lookup missed, only when something will show it: the recompiles log,
        ``on_limit="raise"`` on a full cache, or ``config.record_misses`` (for reports).
        Explaining walks every entry's paths again (running their properties and
        ``__getattr__``), which a miss that nobody looks at must not do."""
        cache = self.cache
        if not len(cache):
            return None
        full = cache.on_limit == "raise" and len(cache) >= cache.max_entries
        if not (full or config.record_misses or recompiles_log.isEnabledFor(logging.INFO)):
            return None
        return cache.explain(f_locals, f_globals)

    def _located(self, reason: str) -> str:
        """A reason about the function's result, placed at its ``return``."""
        return located(reason, return_line(self.function.__code__))

    def _count_uncached(self, reasons: tuple[str, ...], *, looked_up: bool = True) -> None:
        self.cache.note_uncached(looked_up=looked_up)
        counts = self.uncached_reasons
        for reason in reasons:
            if reason not in counts and len(counts) >= MAX_REASONS:
                reason = OTHER_REASONS
            counts[reason] = counts.get(reason, 0) + 1

    def _uncached(
        self, f_locals: dict[str, Any], outcome: TraceOutcome, why: MissExplanation | None
    ) -> Any:
        reasons = outcome.reasons
        self._count_uncached(reasons)
        self._record_miss(why, "uncached", reasons=reasons)
        name = self.function.__qualname__
        if self.strict or (self.strict is None and config.strict):
            msg = f"{name} cannot be cached (strict mode): " + "; ".join(reasons)
            raise UntrackedCallError(msg, reasons)
        if config.warn_uncached:
            for reason in reasons:
                if reason not in self._warned and len(self._warned) < MAX_REASONS:
                    self._warned.add(reason)
                    recompiles_log.warning("running %s uncached: %s", name, reason)
        if not outcome.completed:
            return self._call_plain(f_locals)
        return outcome.result

    def _verify(
        self, entry: CacheEntry, f_locals: dict[str, Any], cached: Any, source: str = "the cache"
    ) -> None:
        fresh = self._call_plain(f_locals)
        if not _results_equal(cached, fresh):
            guards_text = "\n".join(f"  {g}" for g in entry.check.guards)
            msg = (
                f"stale hit in {self.function.__qualname__}: {source} returned {show(cached)} "
                f"but a fresh call returns {show(fresh)}; the entry's guards:\n{guards_text}"
            )
            raise StaleHitError(msg, entry)

    def _log_new_entry(self, explanation: MissExplanation | None, check: Any) -> None:
        code = self.function.__code__
        if explanation is not None and recompiles_log.isEnabledFor(logging.INFO):
            lines = "\n".join(f"    - {line}" for line in explanation.failure_lines())
            recompiles_log.info(
                "Recompiling function %s in %s:%d\n    triggered by the following guard "
                "failure(s):\n%s", code.co_qualname, code.co_filename, code.co_firstlineno, lines,
            )
        if guards_log.isEnabledFor(10):
            guards_log.debug("GUARDS for %s:\n%s", code.co_qualname, check)

    # -- inspection -------------------------------------------------------------------
    def explain(self, f_locals: dict[str, Any]) -> MissExplanation:
        """Why a call with these frame locals would miss, and why calls ran uncached."""
        explanation = self.cache.explain(f_locals, self.function.__globals__)
        return attrs.evolve(explanation, uncached=tuple(self.uncached_reasons.copy().items()))

    # -- functools.lru_cache's surface ------------------------------------------------
    def cache_info(self) -> functools._CacheInfo:
        """``functools.lru_cache``'s statistics: ``CacheInfo(hits, misses, maxsize, currsize)``.

        The same named tuple type as ``lru_cache``'s.  ``hits`` are calls
        answered from the cache; ``misses`` every other call, as ``lru_cache``
        counts a call that ran the function: lookups that found no entry (the
        call then stored an entry, or ran uncached) and calls that skipped the
        lookup (see :attr:`GuardedCache.bypassed`), so ``hits + misses`` is the
        number of calls since the last clear.  ``maxsize`` is ``max_entries``
        and ``currsize`` the number of entries.
        """
        cache = self.cache
        info = cache.info()
        misses = info.misses + cache.bypassed
        return functools._CacheInfo(info.hits, misses, info.max_entries, info.entries)

    def cache_clear(self) -> None:
        """``functools.lru_cache``'s ``cache_clear()``: :meth:`GuardedCache.clear`.

        Drops every entry and resets the statistics; the next call misses.
        ``uncached_reasons`` are kept: they say why runs could not be cached,
        which a clear does not change.
        """
        self.cache.clear()

    def cache_parameters(self) -> CacheParameters:
        """``functools.lru_cache``'s ``cache_parameters()``, a new dict each time.

        ``{"maxsize": max_entries, "typed": True}``: exactly ``lru_cache``'s
        keys, so ``functools.lru_cache(**f.cache_parameters())`` works.
        ``typed`` is True because a value the function read matches only a value
        of the same exact type (``f(3)`` and ``f(3.0)`` never share an entry).
        """
        return {"maxsize": self.cache.max_entries, "typed": True}

    @staticmethod
    def stored_result(entry: CacheEntry) -> Any:
        """The result one of this function's entries holds (the stored object, not a copy)."""
        stored: _Stored = entry.value
        return stored.value

    @overload
    def report(self, path: None = None) -> str: ...
    @overload
    def report(self, path: str | os.PathLike[str]) -> pathlib.Path: ...
    def report(self, path: str | os.PathLike[str] | None = None) -> str | pathlib.Path:
        """An HTML report of this function: its entries, hits, misses and uncached calls.

        One self-contained page (``docs/report.md`` says how to read it).  With
        ``path`` it is written there (UTF-8) and the path is returned as a
        :class:`pathlib.Path`; without, the HTML text is returned.  Raises
        :class:`~guards.GuardsTypeError` for a ``path`` that is not a ``str`` or
        ``os.PathLike``, and ``OSError`` when the file cannot be written.
        """
        return reports.save([self], path)


#: At most this many distinct reasons are kept (and logged) per function: a reason
#: can hold an exception's message, which may differ at every call.
MAX_REASONS = 64
#: After a traced run needed scalars guarded by value, one miss in this many tries
#: tracked scalars again (the others trace with scalars guarded by value at once).
EXACT_RUNS = 8
#: Where further distinct reasons are counted.
OTHER_REASONS = f"other reasons (only the first {MAX_REASONS} distinct ones are kept)"

_IN_DISABLED = "runs inside a function marked guards.disable(recursive=True)"
#: What a miss on an empty cache is explained by, at no cost.
_NO_ENTRIES = MissExplanation(())


def _results_equal(a: Any, b: Any) -> bool:
    """Equal as verify mode means it: by value, and objects that compare by identity
    (no ``__eq__`` of their own) by type and attributes."""
    try:
        return _equal(a, b)
    except Exception:  # a hostile __eq__, or a cycle (RecursionError)
        return False


def _equal(a: Any, b: Any) -> bool:
    t = type(a)
    if a is b:
        return True
    if type(b) is not t:
        return False
    if t is list or t is tuple:
        return len(a) == len(b) and all(map(_equal, a, b))
    if t is dict:
        return same_value(list(a), list(b)) and all(_equal(a[k], b[k]) for k in a)
    if t is set or t is frozenset:  # a stored set is a copy: its order may differ
        return {(type(item), item) for item in a} == {(type(item), item) for item in b}
    if getattr(t, "__eq__", None) is object.__eq__ and hasattr(a, "__dict__"):
        return _equal(vars(a), vars(b))
    return same_value(a, b)


# -- the wrapper's type ---------------------------------------------------------------------
class CacheParameters(TypedDict):
    """What ``cache_parameters()`` returns: ``functools.lru_cache``'s keys, no others.

    ``maxsize`` is the cache's ``max_entries``; ``typed`` is always True
    (values read are matched with their exact type).  Type checkers accept it
    where typeshed's ``functools._CacheParameters`` is expected.
    """

    maxsize: int
    typed: bool


class SpecializedFunction(Protocol[P, R_co]):
    """What ``@specialize`` returns: the function, with its cache and explanations.

    Like typeshed's ``functools._lru_cache_wrapper``, a type for type checkers
    only: at run time the wrapper is a plain function with these attributes.
    ``P`` is the wrapped function's parameters and ``R_co`` its return type, so
    ``f(...)`` and ``f.explain(...)`` are checked against the function's own
    signature.

    - ``f(*args, **kwargs)``: the result, from the cache or a fresh run.
    - ``f.cache``: the :class:`~guards.GuardedCache` (``info()``, ``entries``,
      ``clear()``).
    - ``f.explain(*args, **kwargs)``: a :class:`~guards.MissExplanation` of why
      a call with these arguments would miss, without calling ``f``.
    - ``f.specialized``: the per-function state (``uncached_reasons``,
      ``miss_history``, and ``report(path)``, the HTML report).
    - ``f.__wrapped__``: the undecorated function.
    - ``f.cache_info()``, ``f.cache_clear()``, ``f.cache_parameters()``:
      ``functools.lru_cache``'s surface, so code written for an ``lru_cache``
      function keeps working (see :meth:`Specialized.cache_info`).

    In a class it binds as a function does: ``obj.f`` for a method, and
    ``Cls.f`` for a ``@classmethod`` stacked above ``@specialize``, are a
    :class:`SpecializedMethod`; under ``@staticmethod`` it stays itself.
    """

    __name__: str
    __qualname__: str

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...

    @property
    def cache(self) -> GuardedCache:
        """The results stored so far, each under the guards of what its run read."""
        ...

    @property
    def specialized(self) -> Specialized:
        """The state behind the wrapper: options, ``uncached_reasons``, ``miss_history``
        and ``report()``."""
        ...

    @property
    def __wrapped__(self) -> Callable[P, R_co]: ...

    def explain(self, *args: P.args, **kwargs: P.kwargs) -> MissExplanation:
        """Why a call with these arguments would miss (every entry's failing guards)."""
        ...

    def cache_info(self) -> functools._CacheInfo:
        """``lru_cache``'s ``CacheInfo(hits, misses, maxsize, currsize)``; a non-hit is a miss."""
        ...

    def cache_clear(self) -> None:
        """Drop every entry and reset the statistics, as ``lru_cache``'s does."""
        ...

    def cache_parameters(self) -> CacheParameters:
        """``{"maxsize": max_entries, "typed": True}``, ``lru_cache``'s keys."""
        ...

    # Bound as a function binds (typeshed's _lru_cache_wrapper has one loose __get__;
    # these keep the signature).  A first parameter that takes the owner class is bound
    # to it: @classmethod above @specialize.  Read from a class, otherwise, the wrapper
    # itself; from an instance the first parameter takes, a bound method; from anything
    # else (a staticmethod's function), itself.  The self-types are Callables because
    # mypy checks an argument against a Callable's first parameter, not a protocol's.
    @overload
    def __get__(
        self: Callable[Concatenate[Owner, BoundP], R],
        instance: object,
        owner: Owner,
        /,
    ) -> SpecializedMethod[Owner, BoundP, R]: ...
    @overload
    def __get__(self, instance: None, owner: type[Any] | None = None, /) -> Self: ...
    @overload
    def __get__(
        self: Callable[Concatenate[S, BoundP], R],
        instance: S,
        owner: type[Any] | None = None,
        /,
    ) -> SpecializedMethod[S, BoundP, R]: ...
    @overload
    def __get__(self, instance: object, owner: type[Any] | None = None, /) -> Self: ...


class SpecializedMethod(Protocol[S, P, R_co]):
    """A :class:`SpecializedFunction` bound: ``obj.f`` for a method, ``Cls.f`` for a classmethod.

    At run time it is an ordinary bound method (``types.MethodType``): calling
    it passes the instance (or class) first, and the wrapper's attributes are
    read through it, unbound.  So ``obj.f.cache`` is ``type(obj).f.cache``, one
    cache for every instance, but ``obj.f.explain`` and ``obj.f.__wrapped__``
    take the instance as their first argument, like the functions they are;
    :func:`guards.explain` takes the bound method itself:
    ``guards.explain(obj.f, 3)`` explains ``obj.f(3)``.
    ``S`` is the type of what it is bound to (``type[Cls]`` for a classmethod),
    ``P`` the parameters after it.
    """

    __name__: str
    __qualname__: str

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...

    @property
    def __self__(self) -> S: ...

    @property
    def __func__(self) -> SpecializedFunction[Concatenate[S, P], R_co]: ...

    @property
    def cache(self) -> GuardedCache:
        """The method's cache, shared by every instance (guarded on ``self`` like any input)."""
        ...

    @property
    def specialized(self) -> Specialized:
        """The state behind the wrapper: options, ``uncached_reasons``, ``miss_history``
        and ``report()``."""
        ...

    @property
    def __wrapped__(self) -> Callable[Concatenate[S, P], R_co]: ...

    def explain(self, instance: S, /, *args: P.args, **kwargs: P.kwargs) -> MissExplanation:
        """Why ``instance.f(*args, **kwargs)`` would miss; pass the instance (or class) too."""
        ...

    def cache_info(self) -> functools._CacheInfo:
        """The method's one cache's statistics, as ``lru_cache``'s ``cache_info()``."""
        ...

    def cache_clear(self) -> None:
        """Drop every entry of the method's cache (for every instance)."""
        ...

    def cache_parameters(self) -> CacheParameters:
        """``{"maxsize": max_entries, "typed": True}``, ``lru_cache``'s keys."""
        ...


# -- the wrapper --------------------------------------------------------------------------
def _not_a_function(function: Any) -> str:
    """Why ``specialize(function)`` is refused, saying what works instead where it can."""
    kind = type(function)
    inner = getattr(function, "__func__", None) if kind in (staticmethod, classmethod) else None
    if type(inner) is types.FunctionType:
        name = kind.__name__
        return (
            f"specialize needs a Python function, got a {name} of {inner.__qualname__}: "
            f"put @{name} above @specialize (@{name}, then @specialize, then def "
            f"{inner.__name__}), so that specialize wraps the function and {name} the result"
        )
    what = _given(function)
    if kind is functools.partial:
        inner_name = _qualname(function.func) or "the function"
        return (
            f"specialize needs a Python function, got {what}: specialize {inner_name} "
            f"itself and call it with the partial's arguments, or specialize a def that "
            f"calls the partial"
        )
    try:
        wrapped = inspect.unwrap(function)
    except Exception:  # a cycle of __wrapped__, or a hostile __getattr__
        wrapped = function
    if wrapped is not function:
        inner_name = _qualname(wrapped) or "the object it wraps"
        outer_name = _qualname(function, "__name__") or ""
        outer_name = outer_name if outer_name.isidentifier() else "x"
        return (
            f"specialize needs a Python function, got {what}, which wraps {inner_name}: "
            f"specialize the function it wraps, specialize({outer_name}.__wrapped__) "
            f"(in place of lru_cache, @specialize is itself a cache, with lru_cache's "
            f"cache_info() and cache_clear())"
        )
    return f"specialize needs a Python function, got {what}"


def _qualname(value: Any, attribute: str = "__qualname__") -> str | None:
    """``value.__qualname__`` (or ``attribute``) if a str; None if not or if reading it raises."""
    try:
        name = getattr(value, attribute, None)
    except Exception:
        return None
    return name if isinstance(name, str) else None


def _given(value: Any) -> str:
    """``value`` for an error message, without a memory address: by its type and name."""
    text = describe(value)
    if " at 0x" not in text:
        return text
    kind = type(value)
    module = "" if kind.__module__ == "builtins" else f"{kind.__module__}."
    if kind is functools.partial:
        return f"a functools.partial of {_qualname(value.func) or 'a callable'}"
    name = _qualname(value)
    return f"{name} (type {module}{kind.__qualname__})" if name else (
        f"an object of type {module}{kind.__qualname__}"
    )


def _is_method(function: types.FunctionType) -> bool:
    """``function`` was defined in a class body (its qualified name says so)."""
    parts = function.__qualname__.split(".")
    return len(parts) > 1 and parts[-2] != "<locals>"


_METHOD_HINT = (
    "explain takes the arguments of the function itself, the instance first: for "
    "obj.{name}(...), write guards.explain(obj.{name}, ...) or obj.{name}.explain(obj, ...)"
)


@overload
def explain(
    function: SpecializedMethod[Any, P, Any], /, *args: P.args, **kwargs: P.kwargs
) -> MissExplanation: ...
@overload
def explain(
    function: SpecializedFunction[P, Any], /, *args: P.args, **kwargs: P.kwargs
) -> MissExplanation: ...
def explain(function: Any, /, *args: Any, **kwargs: Any) -> MissExplanation:
    """Why ``function(*args, **kwargs)`` would miss its cache, without calling it.

    ``function`` is what ``@specialize`` made, or a method bound from it:
    ``guards.explain(f, 3)`` is ``f.explain(3)``, and ``guards.explain(obj.m, 3)``
    explains ``obj.m(3)`` (``obj.m.explain`` is the wrapper's own, which takes
    the instance first: ``obj.m.explain(obj, 3)``).  A classmethod stacked above
    ``@specialize`` is bound to its class: ``guards.explain(Cls.m, 3)``.

    Returns the :class:`~guards.MissExplanation`, false when the call would hit.
    Raises :class:`~guards.GuardsTypeError` when ``function`` is neither, and
    Python's own ``TypeError`` when the arguments do not fit its parameters.
    """
    inner = function
    if type(function) is types.MethodType:
        inner = function.__func__
        args = (function.__self__, *args)
    if type(inner) is not types.FunctionType or not _is_specialized(inner):
        raise must_be(
            "function", "a function made by guards.specialize, or a method bound from one",
            function,
        )
    return inner.explain(*args, **kwargs)  # type: ignore[attr-defined, no-any-return]


def _is_specialized(function: types.FunctionType) -> bool:
    """``function`` is a wrapper made by ``specialize`` (not a function ``functools.wraps``
    made look like one, which has the attributes but its own code)."""
    return "__guards_specialized__" in function.__dict__ and (
        function.__code__.co_filename.startswith("<guards specialize ")
    )


@overload
def specialize(
    function: Callable[P, R],
    *,
    max_entries: int = 8,
    on_limit: OnLimit = "evict",
    strict: bool | None = None,
    verify: bool | float | None = None,
    copy_results: bool = True,
    store: Store | None = None,
) -> SpecializedFunction[P, R]: ...
@overload
def specialize(
    function: None = None,
    *,
    max_entries: int = 8,
    on_limit: OnLimit = "evict",
    strict: bool | None = None,
    verify: bool | float | None = None,
    copy_results: bool = True,
    store: Store | None = None,
) -> Callable[[Callable[P, R]], SpecializedFunction[P, R]]: ...
def specialize(
    function: Any = None,
    *,
    max_entries: int = 8,
    on_limit: OnLimit = "evict",
    strict: bool | None = None,
    verify: bool | float | None = None,
    copy_results: bool = True,
    store: Store | None = None,
) -> Any:
    """Cache a function's results under guards on exactly what each run read.

    ``max_entries`` and ``on_limit`` are the :class:`~guards.GuardedCache`'s;
    ``strict`` and ``verify`` override ``guards.config`` for this function.
    ``verify`` is ``True`` (call the function again on every hit and raise
    :class:`StaleHitError` if the results differ), a float share of hits to
    check that way (``0.01``: one hit in a hundred, evenly spaced), or
    ``False``.  ``copy_results`` (default True) copies a result that holds
    mutable parts when it is stored and again for every caller, so that no
    caller can change what the next one gets; ``False`` hands every caller the
    stored object itself, as ``functools.lru_cache`` does.  A result nothing of
    which can change (a tuple of numbers, a slotted frozen dataclass of such
    values, a ``datetime``) is never copied.  ``store`` (a :class:`~guards.Store`:
    :class:`~guards.SQLiteStore`, :class:`~guards.RedisStore`) keeps entries beyond the
    process: a local miss looks there first (an entry whose guards pass answers,
    counted in ``cache.info().store_hits``, and is kept locally), and a new entry
    whose guards can be named in another process is written there; entries are
    shared only by processes of the same Python version and str hash seed
    (``PYTHONHASHSEED``), which a result can depend on unguarded
    (``docs/persistence.md``).

    Raises :class:`~guards.GuardsTypeError` for a ``strict``, ``verify``,
    ``copy_results`` or ``store`` of the wrong type, :class:`~guards.GuardsValueError`
    for a share outside [0, 1] or bad cache options.

    Used bare (``@specialize``) or with the function (``specialize(f, ...)``)
    it returns the wrapper, a :class:`~guards.SpecializedFunction` with
    ``.cache`` (the ``GuardedCache``), ``.explain(*args, **kwargs)``,
    ``.specialized`` and ``functools.lru_cache``'s ``cache_info()``,
    ``cache_clear()`` and ``cache_parameters()``, keeping the function's name,
    docstring, signature and ``__wrapped__``; with options only (``@specialize(max_entries=2)``) it
    returns the decorator that makes one.
    """
    if strict is not None and type(strict) is not bool:
        raise must_be("strict", "a bool or None", strict)
    if verify is not None:
        check_verify_share("verify", verify)
    if type(copy_results) is not bool:
        raise must_be("copy_results", "a bool", copy_results)
    if store is not None and not isinstance(store, Store):
        raise must_be("store", "a store (guards.SQLiteStore, guards.RedisStore, ...)", store)
    if function is None:
        GuardedCache(max_entries=max_entries, on_limit=on_limit)  # bad options fail here
        return functools.partial(
            specialize, max_entries=max_entries, on_limit=on_limit, strict=strict, verify=verify,
            copy_results=copy_results, store=store,
        )
    if type(function) is not types.FunctionType:
        raise GuardsTypeError(_not_a_function(function))
    if _is_specialized(function):
        msg = (
            f"{function.__qualname__} is specialized already: apply @specialize once "
            f"(for other options, specialize the function itself: "
            f"specialize({function.__name__}.__wrapped__, ...))"
        )
        raise GuardsTypeError(msg)
    flags = function.__code__.co_flags
    if flags & (inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR):
        msg = (
            f"cannot specialize {function.__qualname__}: a generator or coroutine function "
            "returns an object that runs later, so there is no result to reuse"
        )
        raise GuardsTypeError(msg)
    state = Specialized(
        function, max_entries=max_entries, on_limit=on_limit, strict=strict, verify=verify,
        copy_results=copy_results, store=store,
    )
    # A hit that may be verified goes through Specialized.dispatch, not the inline front.
    dispatcher = Dispatcher(function, state.cache, state.dispatch, inline=not verify,
                            new_code=state.call_new_code)
    wrapper = dispatcher.wrapper
    frame_locals = frame_locals_builder(function)
    # A bad call of explain() raises what a bad call of the function raises, naming it.
    frame_locals.__name__, frame_locals.__qualname__ = function.__name__, function.__qualname__
    functools.update_wrapper(wrapper, function)
    # The attributes SpecializedFunction promises type checkers.
    wrapper.cache = state.cache  # type: ignore[attr-defined]
    wrapper.specialized = state  # type: ignore[attr-defined]
    wrapper.__guards_specialized__ = state  # type: ignore[attr-defined]

    def explain(*args: Any, **kwargs: Any) -> MissExplanation:
        """Why a call with these arguments would miss (every entry's failing guards)."""
        try:
            f_locals = frame_locals(*args, **kwargs)
        except TypeError as exc:
            if _is_method(function):
                exc.add_note(_METHOD_HINT.format(name=function.__name__))
            raise
        return state.explain(f_locals)

    wrapper.explain = explain  # type: ignore[attr-defined]
    wrapper.cache_info = state.cache_info  # type: ignore[attr-defined]
    wrapper.cache_clear = state.cache_clear  # type: ignore[attr-defined]
    wrapper.cache_parameters = state.cache_parameters  # type: ignore[attr-defined]
    return wrapper
