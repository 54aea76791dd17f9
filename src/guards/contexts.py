"""Tracing contexts: where the guards of one trace are collected.

``with guards.tracing(f_locals, f_globals) as tx:`` opens a context bound to the
frame being traced.  ``guards.install_guard(*guards)`` adds to the innermost
open context of the calling thread; lazy trackers made by ``tx`` install into
``tx`` itself.  ``tx.compile()`` gives the :class:`~guards.CheckFunction`.

Contexts are thread-local: two threads trace independently.  A context opened
inside another is independent of it: its guards stay its own, and the outer
context is current again when the inner one closes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from guards.builder import Check, GuardBuilder
from guards.check import CheckFunction, compile_checks
from guards.errors import GuardsError, check_type
from guards.guard import Guard
from guards.net import exempt
from guards.sources import GlobalSource, LocalSource, Source, read_memoized

if TYPE_CHECKING:
    from guards.tracker import LazyTracker


class NoTracingContextError(GuardsError, RuntimeError):
    """``install_guard`` was called with no tracing context open in this thread."""


#: kind -> the kinds on the same source that a guard of that kind makes
#: redundant: they can only pass when it passes.  Every one of these pins the
#: value's exact type; the same keys in the same order also pin the length.
_IMPLIES: dict[str, frozenset[str]] = {
    **dict.fromkeys(
        ("CONSTANT_MATCH", "EQUALS_MATCH", "ID_MATCH", "FUNCTION_MATCH", "CLOSURE_MATCH",
         "NONE_MATCH", "BOOL_MATCH", "SEQUENCE_LENGTH"),
        frozenset({"TYPE_MATCH"}),
    ),
    "DICT_KEYS_MATCH": frozenset({"TYPE_MATCH", "SEQUENCE_LENGTH"}),
}


class TracingContext:
    """The guards of one trace, and the lazy trackers that install them.

    Made by :func:`tracing`; ``f_locals`` and ``f_globals`` are the frame being
    traced.  ``full_stack=True`` makes each guard record the whole user stack
    rather than the one line that installed it.
    ``skip_guards_on_constant_func_defaults=True`` binds a function's literal
    positional defaults as plain values with no guard, as Dynamo's option of
    that name does.  It is **unsafe**: ``fn.__defaults__`` can be reassigned,
    and a fresh closure of the same ``def`` can have other default values, and
    neither is then noticed.  Off by default.
    """

    def __init__(
        self,
        f_locals: Mapping[str, Any],
        f_globals: Mapping[str, Any] | None = None,
        *,
        full_stack: bool = False,
        skip_guards_on_constant_func_defaults: bool = False,
    ) -> None:
        check_type("f_locals", f_locals, Mapping)
        if f_globals is not None:
            check_type("f_globals", f_globals, Mapping)
        check_type("full_stack", full_stack, bool)
        check_type(
            "skip_guards_on_constant_func_defaults", skip_guards_on_constant_func_defaults, bool
        )
        self.f_locals = f_locals
        self.f_globals = f_globals
        self.full_stack = full_stack
        self.skip_guards_on_constant_func_defaults = skip_guards_on_constant_func_defaults
        # Each guard is built when it is installed, so its expected values are the
        # ones the trace saw then, not what another thread left in the frame by the
        # time the trace ends: a guard, its checks (or the error building raised).
        self._guards: dict[Guard, tuple[Check, ...] | GuardsError] = {}
        self._implied: set[tuple[Source, str]] = set()
        self._trackers: dict[Source, LazyTracker] = {}
        self._values: dict[Source, Any] = {}
        self._builder: GuardBuilder | None = None

    # -- guards ---------------------------------------------------------------------
    @property
    def guards(self) -> tuple[Guard, ...]:
        """The guards installed so far, in installation order, without duplicates."""
        return tuple(self._guards)

    def install_guard(self, *guards: Guard) -> None:
        """Add guards; one implied by a stronger guard on the same source is left out
        (a TYPE_MATCH next to a CONSTANT_MATCH, a SEQUENCE_LENGTH next to a DICT_KEYS_MATCH)."""
        for guard in guards:
            check_type("guard", guard, Guard)
            if (guard.source, guard.kind) in self._implied:
                continue
            for weaker in _IMPLIES.get(guard.kind, ()):
                self._implied.add((guard.source, weaker))
                self._guards.pop(Guard(guard.source, weaker), None)
            if guard not in self._guards:
                self._guards[guard] = self._build(guard)

    def _build(self, guard: Guard) -> tuple[Check, ...] | GuardsError:
        """The checks of ``guard`` on the values as they are now (the trace's read)."""
        if self._builder is None:
            self._builder = GuardBuilder(self.f_locals, self.f_globals, memo=self._values)
        try:
            with exempt():  # a check's own reads (repr for its explanation, a property)
                return self._builder.build_checks(guard)
        except GuardsError as exc:  # raised by compile(), as when guards were built there
            return exc

    def compile(self) -> CheckFunction:
        """Compile the installed guards, built against the values the trace read.

        Each guard's expected values were taken when it was installed.  If the
        frame changed since (the traced code, or another thread, wrote to its
        inputs), the compiled check rejects the frame, and
        :class:`~guards.GuardBuildError` says which guard.  A guard that could
        not be built raises its error here.
        """
        checks: list[Check] = []
        for built in self._guards.values():
            if isinstance(built, GuardsError):
                raise built
            checks.extend(built)
        dropped = self._builder.dropped_guards if self._builder is not None else []
        dropped = [guard for guard in dropped if guard in self._guards]
        return compile_checks(tuple(self._guards), dropped, checks, self.f_locals, self.f_globals)

    # -- trackers -------------------------------------------------------------------
    def track(self, source: Source) -> LazyTracker:
        """The lazy tracker of ``source`` in this trace (one per source: asking twice gives
        the same object).  Making it installs nothing."""
        check_type("source", source, Source)
        tracker = self._trackers.get(source)
        if tracker is None:
            from guards.tracker import LazyTracker

            tracker = LazyTracker(self, source)
            self._trackers[source] = tracker
        return tracker

    def local(self, name: str) -> LazyTracker:
        """The tracker of the local variable ``name``: ``L[name]``."""
        return self.track(LocalSource(name))

    def global_var(self, name: str) -> LazyTracker:
        """The tracker of the global variable ``name``: ``G[name]``."""
        return self.track(GlobalSource(name))

    def value_of(self, source: Source) -> Any:
        """The value at ``source`` in the traced frame, read once; installs nothing."""
        try:
            return self._values[source]
        except KeyError:
            check_type("source", source, Source)
        with exempt():  # a property or __getitem__ on the path: its guard runs it again
            return read_memoized(source, self._values, self.f_locals, self.f_globals)

    def __repr__(self) -> str:
        return f"<TracingContext: {len(self._guards)} guards, {len(self._trackers)} trackers>"


class _ThreadState(threading.local):
    def __init__(self) -> None:
        self.stack: list[TracingContext] = []


_state = _ThreadState()


@contextmanager
def tracing(
    f_locals: Mapping[str, Any],
    f_globals: Mapping[str, Any] | None = None,
    *,
    full_stack: bool = False,
    skip_guards_on_constant_func_defaults: bool = False,
) -> Iterator[TracingContext]:
    """Open a tracing context for one trace of the frame ``f_locals``/``f_globals``.

    The options are :class:`TracingContext`'s.
    """
    context = TracingContext(
        f_locals,
        f_globals,
        full_stack=full_stack,
        skip_guards_on_constant_func_defaults=skip_guards_on_constant_func_defaults,
    )
    _state.stack.append(context)
    try:
        yield context
    finally:
        _state.stack.pop()


def current_tracing() -> TracingContext | None:
    """The innermost tracing context open in this thread, or ``None``."""
    return _state.stack[-1] if _state.stack else None


def install_guard(*guards: Guard) -> None:
    """Add guards to the innermost tracing context of this thread."""
    context = current_tracing()
    if context is None:
        msg = "install_guard() needs an open tracing context: use `with guards.tracing(...):`"
        raise NoTracingContextError(msg)
    context.install_guard(*guards)
