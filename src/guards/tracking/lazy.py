"""Lazy tracking: tracing contexts and the lazy trackers that install into them.

``with guards.tracing(f_locals, f_globals) as tx:`` opens a context
(:class:`TracingContext`) bound to the frame being traced.
``guards.install_guard(*guards)`` adds to the innermost open context of the
calling thread; lazy trackers made by ``tx`` install into ``tx`` itself.
``tx.compile()`` gives the :class:`~guards.CheckFunction`.

Contexts are thread-local: two threads trace independently.  A context opened
inside another is independent of it: its guards stay its own, and the outer
context is current again when the inner one closes.

A :class:`LazyTracker` installs nothing when it is made.  Each inspection
installs the least guard that makes the answer sound, into the tracker's
tracing context:

=====================================  =========================================
inspection                             guard installed
=====================================  =========================================
``python_type()``, ``isinstance()``    ``TYPE_MATCH``
``as_constant()``                      ``CONSTANT_MATCH`` (supersedes TYPE_MATCH)
``is_none()``                          ``NONE_MATCH`` or ``NOT_NONE_MATCH``
``truthy()``                           ``BOOL_MATCH``/``NONE_MATCH``, the length
                                       of a built-in container, or the constant
``len()``                              ``SEQUENCE_LENGTH``
``hasattr(name)``                      ``HASATTR``
``identity()``, ``is_(other)``         ``ID_MATCH`` (``DUPLICATE_INPUT`` for two
                                       trackers of one object)
``attr(name)``, ``item(key)``,        nothing: a new tracker on the longer path
``key_at(i)``                          (a missing attribute or key installs the
                                       guard that it is missing, then raises); a
                                       function's ``__annotations__`` is on a
                                       ``SkipGuardSource``: never guarded
``keys()``, ``items()``                ``DICT_KEYS_MATCH``
``iterate()``                          ``SEQUENCE_LENGTH`` (then lazy items) or
                                       ``DICT_KEYS_MATCH``
``contains(key)``                      ``DICT_CONTAINS`` for a mapping
``bind(*args, **kwargs)``              ``CLOSURE_MATCH``; see ``guards.tracking.binding``
``peek()``, ``peek_type()``, ``repr``  nothing
``unguarded_value()``, ``install(k)``  nothing, then the guard of kind ``k``: for
                                       tracer authors, who decide on the value
                                       and install the guard the decision needs
=====================================  =========================================

Contexts and trackers live in one module because each is made by the other: a
context hands out trackers, and a tracker installs into its context.
"""

from __future__ import annotations

import abc
import threading
import types
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from operator import getitem
from typing import TYPE_CHECKING, Any

from guards.checks.compiled import CheckFunction, compile_checks
from guards.core.builder import Check, GuardBuilder, make_guard
from guards.core.guard import Guard, Provenance, plain_guard
from guards.core.sources import (
    AttrSource,
    ClosureSource,
    DictKeySource,
    GetItemSource,
    GlobalSource,
    LocalSource,
    SkipGuardSource,
    Source,
    attr_source,
    fast_item_key,
    item_source,
    local_source,
    read_memoized,
)
from guards.core.values import OBJECT_CLASS, cell_is_empty, item_types, same_value, type_lookup
from guards.errors import (
    EmptyCellError,
    GuardsError,
    NoTracingContextError,
    UntrackableError,
    check_frame,
    check_type,
    describe,
    must_be,
)
from guards.tracking.net import exempt, exempt_call, quiet

if TYPE_CHECKING:
    from guards.tracking.binding import BoundCall

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
    "SEQUENCE_VALUES_MATCH": frozenset(
        {"TYPE_MATCH", "SEQUENCE_LENGTH", "TRUTH_MATCH", "EQUALS_MATCH", "CONSTANT_MATCH"}
    ),
}
#: Kinds that a guard on an item (``xs[3]``) holds whenever ``SEQUENCE_VALUES_MATCH``
#: on its list or tuple holds: the item's exact type and value decide them (unless
#: they compare it with the value of another source).  ``ID_MATCH`` is not one: an
#: equal item can be another object.
_ITEM_IMPLIED = frozenset({
    "TYPE_MATCH", "CONSTANT_MATCH", "EQUALS_MATCH", "NONE_MATCH", "NOT_NONE_MATCH",
    "BOOL_MATCH", "TRUTH_MATCH", "SEQUENCE_LENGTH", "COMPARE_MATCH", "PREDICATE_MATCH",
})


#: Kinds whose checks on a value of an exact type in :data:`_FIXED_TYPES` are built at
#: compile time rather than at install (a miss installs one or two per value read, and
#: takes a TYPE_MATCH out again when the value is then guarded by value).
_DEFERRED_KINDS = frozenset({"TYPE_MATCH", "CONSTANT_MATCH", "EQUALS_MATCH"})
#: Exact types whose values cannot change, nor their ``__class__`` be reassigned: a
#: guard on the value the trace read (kept in the context) builds the same checks later.
_FIXED_TYPES = frozenset({int, float, str, bytes, bool, type(None)})
#: No value read yet.
_UNREAD = object()

#: Exact types whose item :meth:`LazyTracker.item` reads as ``value[key]`` (no ``__missing__``).
_EXACT_SUBSCRIPTED = frozenset({dict, list, tuple})
#: ``object.__new__``, for a :class:`LazyTracker` made without its ``__init__``.
_new_tracker = object.__new__
#: Kinds that guard a scalar by its exact type and value (``merge_item_guards``).
_VALUE_KINDS = frozenset({"CONSTANT_MATCH", "EQUALS_MATCH", "NONE_MATCH", "BOOL_MATCH"})


def _whole_of(guard: Guard) -> Source | None:
    """The list or tuple whose whole value decides ``guard``, a guard on one of its items
    (``xs[3]``, an int subscript) of a kind in :data:`_ITEM_IMPLIED`; else None."""
    source = guard.source
    if (
        type(source) is not GetItemSource
        or type(source.index) is not int
        or guard.kind not in _ITEM_IMPLIED
        or any(isinstance(arg, Source) for _, arg in guard.args)
    ):
        return None
    return source.base


class TracingContext:
    """The guards of one trace, and the lazy trackers that install them.

    Made by :func:`tracing`; ``f_locals`` and ``f_globals`` are the frame being
    traced.  ``full_stack=True`` makes each guard record the whole user stack
    rather than the one line that installed it.
    ``skip_guards_on_constant_func_defaults=True`` binds a function's literal
    positional defaults as plain values with no guard (TorchDynamo users:
    Dynamo's option of that name).  It is **unsafe**: ``fn.__defaults__`` can be reassigned,
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
        check_frame(f_locals, f_globals)
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
        # A guard of a value that cannot change is built later, from the same value
        # the trace read (kept in _values).
        # None: not built yet, a guard of the value the trace read, which cannot change
        # (see _DEFERRED_KINDS): built by compile().
        self._guards: dict[Guard, tuple[Check, ...] | GuardsError | None] = {}
        # source -> the kinds on it that a stronger guard installed makes redundant (an
        # _IMPLIES value itself when there is one: no new object per value read).
        self._implied: dict[Source, frozenset[str]] = {}
        # (source, kind) -> the guard installed without arguments (an implied one is
        # found here to be taken out, without making a Guard to look it up).
        self._plain: dict[tuple[Source, str], Guard] = {}
        # Lists and tuples guarded whole: the guards on their items are implied.
        self._whole: set[Source] = set()
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
        (a TYPE_MATCH next to a CONSTANT_MATCH, a SEQUENCE_LENGTH next to a DICT_KEYS_MATCH),
        and so is one on an item of a list guarded whole (``SEQUENCE_VALUES_MATCH``)."""
        for guard in guards:
            if type(guard) is not Guard:
                check_type("guard", guard, Guard)
            if guard.kind in self._implied.get(guard.source, ()):
                continue
            if self._whole and _whole_of(guard) in self._whole:
                continue  # its list is guarded whole (SEQUENCE_VALUES_MATCH)
            if guard not in self._guards:
                if (
                    guard.kind in _DEFERRED_KINDS and not guard.args
                    and not guard.source.is_skipped
                    and type(self._values.get(guard.source, _UNREAD)) in _FIXED_TYPES
                ):
                    self._add(guard, None)  # built on the same value by compile()
                else:
                    self._add(guard, self._build(guard))

    def install_plain(self, source: Source, kind: str, provenance: Provenance | None) -> None:
        """:meth:`install_guard` of ``Guard(source, kind, provenance=provenance)`` for a
        kind without arguments (``TYPE_MATCH``, ``CONSTANT_MATCH``), the guard made
        and installed in one call: one or two per value a miss reads."""
        guard = plain_guard(source, kind, provenance)
        if kind in self._implied.get(source, ()):
            return
        if self._whole and _whole_of(guard) in self._whole:
            return  # its list is guarded whole (SEQUENCE_VALUES_MATCH)
        if guard in self._guards:
            return
        if (
            kind in _DEFERRED_KINDS and not source.is_skipped
            and type(self._values.get(source, _UNREAD)) in _FIXED_TYPES
        ):
            built = None  # built on the same value by compile()
        else:
            built = self._build(guard)
        if kind == "SEQUENCE_VALUES_MATCH":
            self._add(guard, built)
            return
        # _add, inline for a guard without arguments (one or two per value a miss reads).
        implied = _IMPLIES.get(kind)
        if implied is not None:  # self._imply(source, implied), inline
            before = self._implied.get(source)
            self._implied[source] = (
                implied if before is None or before is implied else before | implied
            )
        for weaker in implied or ():
            installed = self._plain.pop((source, weaker), None)
            if installed is not None:
                self._guards.pop(installed, None)
        self._guards[guard] = built
        self._plain[source, kind] = guard

    def _add(self, guard: Guard, built: tuple[Check, ...] | GuardsError | None) -> None:
        """Install ``guard`` with its checks, leaving out the guards it makes redundant."""
        if guard.kind == "SEQUENCE_VALUES_MATCH":
            self._whole.add(guard.source)
            for item_guard in [g for g in self._guards if _whole_of(g) == guard.source]:
                del self._guards[item_guard]
        implied = _IMPLIES.get(guard.kind)
        if implied is not None:
            self._imply(guard.source, implied)
        for weaker in implied or ():
            installed = self._plain.pop((guard.source, weaker), None)
            if installed is not None:
                self._guards.pop(installed, None)
        self._guards[guard] = built
        if not guard.args:
            self._plain[guard.source, guard.kind] = guard

    def _imply(self, source: Source, kinds: frozenset[str]) -> None:
        """Note that guards of ``kinds`` on ``source`` are redundant from now on."""
        before = self._implied.get(source)
        self._implied[source] = kinds if before is None or before is kinds else before | kinds

    def merge_item_guards(self, min_length: int) -> None:
        """Guard as one value (``SEQUENCE_VALUES_MATCH``) each list or tuple of at least
        ``min_length`` exact scalars whose length and every item are guarded by value
        already, in place of those guards: what they pass is what it passes, in one
        check (a loop over ``range(len(xs))`` that reads each ``xs[i]``).

        Merged only when every item is still what its guard was built on: the guard
        is built on the values as they are now.
        """
        check_type("min_length", min_length, int)
        items: dict[Source, dict[int, Guard]] = {}
        for guard in self._guards:
            source = guard.source
            if (
                type(source) is GetItemSource and type(source.index) is int
                and source.index >= 0 and guard.kind in _VALUE_KINDS and not guard.args
            ):
                items.setdefault(source.base, {})[source.index] = guard
        for base, guarded in items.items():
            if len(guarded) < min_length or Guard(base, "SEQUENCE_LENGTH") not in self._guards:
                continue
            if item_types(self.value_of(base)) is None:
                continue
            # installed where the items were read
            whole = Guard(base, "SEQUENCE_VALUES_MATCH", provenance=guarded[0].provenance)
            built = self._build(whole)
            if isinstance(built, GuardsError):
                continue
            # Built on the items as they are now: merged only if they are the ones read.
            items_now = built[-1].expected
            if len(items_now) == len(guarded) and all(
                i in guarded and self._expects(guarded[i], item)
                for i, item in enumerate(items_now)
            ):
                self._add(whole, built)

    def guard_reads(self) -> None:
        """Guard that each attribute and item the trace read still reads, where nothing
        installed says so already: a read whose value the traced code never used
        (``hasattr(o, "p")``, ``try: d["k"]``) installed no guard, so a hit went on
        answering as if it were there after ``del o.p``.

        Covered already: a path with a guard on it or on a path through it (its check
        reads it), and a path one step below a value guarded whole (``CONSTANT_MATCH``,
        ``EQUALS_MATCH``, ``SEQUENCE_VALUES_MATCH``, ``NDARRAY_MATCH``).  Else an
        attribute gets ``HASATTR``; a key of a mapping ``DICT_CONTAINS``; an index or
        slice of a built-in sequence ``SEQUENCE_LENGTH`` on it; any other item its
        value (``ID_MATCH``), and so does a global.  Paths under a ``SkipGuardSource``
        stay unguarded.
        """
        covered: set[Source] = set()
        whole: set[Source] = set()
        for guard in self._guards:
            source: Source | None = guard.source
            if guard.kind in _WHOLE_VALUE_KINDS:
                whole.add(guard.source)
            while source is not None and source not in covered:  # _cover, inline
                covered.add(source)
                source = source.base
        read = [
            source for source in self._values
            if type(source) in (AttrSource, GetItemSource, GlobalSource)
            and source not in covered
        ]
        read.sort(key=_depth, reverse=True)  # a path below covers the paths above it
        for source in read:
            base = source.base
            if type(source) is GlobalSource:  # `try: NAME except NameError`: still bound
                if source not in covered:
                    self.track(source).install(GuardBuilder.ID_MATCH)
                    covered.add(source)
                continue
            if source in covered or base is None or base in whole or _skipped(source):
                continue
            tracker = self.track(base)
            if type(source) is AttrSource:
                tracker.install(GuardBuilder.HASATTR, source)
            else:
                container = self._values.get(base)
                if isinstance(container, Mapping):
                    tracker.install(GuardBuilder.TYPE_MATCH)  # `in` says it of a mapping
                    tracker.install(GuardBuilder.DICT_CONTAINS, source)
                elif type(container) in _SIZED_BUILTINS:
                    tracker.install(GuardBuilder.SEQUENCE_LENGTH)
                else:
                    self.track(source).install(GuardBuilder.ID_MATCH)
            _cover(source, covered)

    def _expects(self, guard: Guard, value: Any) -> bool:
        """``guard`` (of a kind in :data:`_VALUE_KINDS`) was built expecting ``value``."""
        built = self._checks(guard) if guard in self._guards else None
        if not isinstance(built, tuple) or not built:
            return False
        expected = built[-1].expected
        return type(expected) is type(value) and same_value(expected, value)

    def discard_guard(self, guard: Guard) -> None:
        """Take out an installed guard (equal source, kind and arguments) that a stronger
        one installed since makes redundant; nothing if it is not installed."""
        self._guards.pop(guard, None)

    def discard_plain(self, source: Source, kind: str) -> None:
        """:meth:`discard_guard` of the guard ``kind`` without arguments on ``source``
        (such as ``"TYPE_MATCH"``), found without making a :class:`Guard`."""
        installed = self._plain.pop((source, kind), None)
        if installed is not None:
            self._guards.pop(installed, None)

    def _checks(self, guard: Guard) -> tuple[Check, ...] | GuardsError:
        """The checks of the installed ``guard``, built now if their build was deferred."""
        built = self._guards[guard]
        if built is None:
            built = self._guards[guard] = self._build(guard)
        return built

    def _build_deferred(self) -> None:
        """Build every guard whose build was deferred, in one stretch (as :meth:`_build`)."""
        pending = [guard for guard, built in self._guards.items() if built is None]
        if not pending:
            return
        if self._builder is None:
            self._builder = GuardBuilder(self.f_locals, self.f_globals, memo=self._values)
        builder = self._builder
        build_checks, checks, values = builder.build_checks, builder.checks, self._values
        guards = self._guards
        with exempt():  # as _build: a check's own reads
            for guard in pending:
                # Deferred: a kind of _DEFERRED_KINDS without arguments, not skipped,
                # on a value of _FIXED_TYPES read already (install_guard's test).
                if builder.scalar_check(guard, values[guard.source]):
                    guards[guard] = (checks[-1],)
                    continue
                try:
                    guards[guard] = build_checks(guard)
                except GuardsError as exc:  # raised by compile(), as when built there
                    guards[guard] = exc

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
        self._build_deferred()
        checks: list[Check] = []
        for built in self._guards.values():
            assert built is not None  # built by _build_deferred
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
        if not isinstance(source, Source):
            check_type("source", source, Source)  # raises
        tracker = self._trackers.get(source)
        if tracker is None:
            tracker = LazyTracker(self, source)
            self._trackers[source] = tracker
        return tracker

    def local(self, name: str) -> LazyTracker:
        """The tracker of the local variable ``name``: ``L[name]``."""
        if type(name) is not str:
            return self.track(LocalSource(name))
        # track(), inline (one per parameter a miss reads), the tracker made without
        # its __init__'s call.
        source = local_source(name)
        tracker = self._trackers.get(source)
        if tracker is None:
            tracker = _new_tracker(LazyTracker)
            tracker.context = self
            tracker.source = source
            tracker._value = _UNREAD
            self._trackers[source] = tracker
        return tracker

    def global_var(self, name: str) -> LazyTracker:
        """The tracker of the global variable ``name``: ``G[name]``."""
        return self.track(GlobalSource(name))

    def value_of(self, source: Source) -> Any:
        """The value at ``source`` in the traced frame, read once; installs nothing."""
        found = self._values.get(source, _UNREAD)  # a miss reads most paths once: no raise
        if found is not _UNREAD:
            return found
        f_locals = self.f_locals
        if type(source) is LocalSource and type(f_locals) is dict:
            # L[name] of an exact dict by a str: no user code reads it (each parameter).
            found = f_locals.get(source.local_name, _UNREAD)
            if found is not _UNREAD:
                self._values[source] = found
                return found
        if not isinstance(source, Source):
            check_type("source", source, Source)  # raises
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


#: Kinds that guard a value whole: what is read one step below it reads the same.
_WHOLE_VALUE_KINDS = frozenset(
    {"CONSTANT_MATCH", "EQUALS_MATCH", "SEQUENCE_VALUES_MATCH", "NDARRAY_MATCH"}
)


def _cover(source: Source | None, covered: set[Source]) -> None:
    """Add ``source`` and the paths it reads through to ``covered``."""
    while source is not None and source not in covered:
        covered.add(source)
        source = source.base


def _depth(source: Source) -> int:
    depth = 0
    base = source.base
    while base is not None:
        depth, base = depth + 1, base.base
    return depth


def _skipped(source: Source | None) -> bool:
    """``source`` is or reads through a ``SkipGuardSource``."""
    while source is not None:
        if type(source) is SkipGuardSource:
            return True
        source = source.base
    return False


#: Built-in types whose truth is their length.
_SIZED_BUILTINS = (list, tuple, dict, set, frozenset, str, bytes, bytearray, range)
#: Built-in types whose truth is decided by the value itself.
_SCALAR_BUILTINS = (int, float, complex)


class LazyTracker:
    """A value at a source, tracked: inspect it through methods that install guards.

    Get one from a tracing context (``tx.local("x")``, ``tx.track(source)``) or
    from another tracker (``t.attr("mode")``, ``t.item(0)``).  ``source`` is its
    path; ``context`` the :class:`TracingContext` its guards are installed into.
    """

    __slots__ = ("_value", "context", "source")
    _value: Any

    def __init__(self, context: TracingContext, source: Source) -> None:
        if type(context) is not TracingContext or not isinstance(source, Source):
            check_type("context", context, TracingContext)
            check_type("source", source, Source)
        self.context = context
        self.source = source
        # Not read yet.  A sentinel, not an unset slot: with sys.monitoring every
        # AttributeError of a first read would be a RAISE event for the net.
        self._value = _UNREAD

    # -- no guard --------------------------------------------------------------
    def peek(self) -> Any:
        """The value, for diagnostics only: installs nothing, so never decide on it."""
        value = self._value  # the context reads each path once and keeps it: so does its tracker
        if value is _UNREAD:
            value = self._value = self.context.value_of(self.source)
        return value

    def peek_type(self) -> type:
        """The value's type, for diagnostics only: installs nothing."""
        return type(self.peek())

    def __repr__(self) -> str:
        return f"LazyTracker({self.source.name})"

    # -- for tracer authors ------------------------------------------------------------
    # A tracer (guards.specialization.tracer) decides operations the inspections below
    # do not cover: it reads the value with no guard, then installs the one guard its
    # decision needs.  Deciding on the value without installing that guard is unsound.
    def install(self, kind: Any, source: Source | None = None, **args: Hashable) -> None:
        """Install a guard of ``kind`` (``GuardBuilder.TYPE_MATCH``, ...) on this tracker's
        source, or on ``source`` (a path through it: ``HASATTR`` on ``AttrSource(...)``),
        with the kind's ``args``, into this tracker's tracing context.

        For tracer authors, with :meth:`unguarded_value`.  Raises what
        :meth:`Source.make_guard <guards.Source.make_guard>` raises for a bad kind.
        """
        context = self.context
        with quiet():  # guards' own code; user code only in exempt reads
            guard = make_guard(source or self.source, kind, args, full_stack=context.full_stack)
            context.install_guard(guard)

    def unguarded_value(self) -> Any:
        """The value, read with no guard installed, for a decision the caller guards itself
        (with :meth:`install`).  Unlike :meth:`peek`, an empty closure cell is reported as
        Python reports it: ``CELL_EMPTY`` is installed and :class:`~guards.EmptyCellError`
        raised.  Other errors of the read (a missing attribute, a key) propagate.

        For tracer authors: deciding on this value without installing the guard the
        decision needs is unsound.
        """
        value = self._value
        if value is not _UNREAD:
            return value
        try:
            return self.peek()
        except ValueError:
            source = self.source
            if not (isinstance(source, AttrSource) and source.member == "cell_contents"):
                raise
            cell = self.context.value_of(source.base)
            if type(cell) is not types.CellType or not cell_is_empty(cell):
                raise
            self.install(GuardBuilder.CELL_EMPTY)
            raise EmptyCellError(_free_variable_name(self) or "?") from None

    def _child(self, source: Source) -> LazyTracker:
        return self.context.track(source)

    # -- inspections -------------------------------------------------------------
    def python_type(self) -> type:
        """The exact type (installs ``TYPE_MATCH``)."""
        value = self.unguarded_value()
        self.install(GuardBuilder.TYPE_MATCH)
        return type(value)

    def isinstance(self, classinfo: type | tuple[type, ...]) -> bool:
        """``isinstance(value, classinfo)``, decided by the exact type (``TYPE_MATCH``).

        When the answer would depend on more than the type (a class that defines
        ``__class__``, a metaclass with its own ``__instancecheck__``), raises
        :class:`UntrackableError` instead.
        """
        value = self.unguarded_value()
        by_type = _decided_by_type(classinfo)
        if by_type is None:
            expected = "a type, a tuple of types or a union of types"
            raise must_be("classinfo", expected, classinfo)
        cls = type(value)
        why = None
        if type_lookup(cls, "__class__") is not OBJECT_CLASS:
            why = f"the __class__ that {cls.__qualname__} defines"
        elif not by_type:
            why = "a custom __instancecheck__"
        if why is not None:
            msg = (
                f"isinstance({self.source.name}, {describe(classinfo)}) runs {why}, "
                "user code that a tracker cannot see into"
            )
            raise UntrackableError(msg)
        self.install(GuardBuilder.TYPE_MATCH)
        return isinstance(value, classinfo)

    def as_constant(self) -> Any:
        """The value itself, to compute with (installs ``CONSTANT_MATCH``)."""
        value = self.unguarded_value()
        self.install(GuardBuilder.CONSTANT_MATCH)
        return value

    def is_none(self) -> bool:
        """``value is None`` (installs ``NONE_MATCH`` or ``NOT_NONE_MATCH``)."""
        value = self.unguarded_value()
        self.install(GuardBuilder.NONE_MATCH if value is None else GuardBuilder.NOT_NONE_MATCH)
        return value is None

    def truthy(self) -> bool:
        """``bool(value)``, guarded as narrowly as the type allows."""
        value = self.unguarded_value()
        if value is None:
            self.install(GuardBuilder.NONE_MATCH)
        elif type(value) is bool:
            self.install(GuardBuilder.BOOL_MATCH)
        elif type(value) in _SIZED_BUILTINS:
            self.install(GuardBuilder.SEQUENCE_LENGTH)
        elif type(value) in _SCALAR_BUILTINS:
            self.install(GuardBuilder.CONSTANT_MATCH)
        elif not _has_truth_hook(type(value)):
            self.install(GuardBuilder.TYPE_MATCH)  # such objects are always true
        else:
            msg = (
                f"the truth of {self.source.name}, {describe(value)}, runs its "
                "__bool__ or __len__, which a tracker cannot see into; inspect what it reads"
            )
            raise UntrackableError(msg)
        return bool(value)

    def len(self) -> int:
        """``len(value)`` (installs ``SEQUENCE_LENGTH``)."""
        value = self.unguarded_value()
        self.install(GuardBuilder.SEQUENCE_LENGTH)
        return len(value)

    def hasattr(self, name: str) -> bool:
        """``hasattr(value, name)`` (installs ``HASATTR``, present or absent)."""
        value = self.unguarded_value()
        self.install(GuardBuilder.HASATTR, AttrSource(self.source, name))
        with exempt():  # a __getattr__ runs: HASATTR runs it again at every check
            return hasattr(value, name)

    def identity(self) -> Any:
        """The object itself, when its identity is what matters (installs ``ID_MATCH``)."""
        value = self.unguarded_value()
        self.install(GuardBuilder.ID_MATCH)
        return value

    def is_(self, other: Any) -> bool:
        """``value is other``; for two trackers of one object, ``DUPLICATE_INPUT``."""
        if isinstance(other, LazyTracker):
            same = self.unguarded_value() is other.unguarded_value()
            if same:
                self.install(GuardBuilder.DUPLICATE_INPUT, source_b=other.source)
            else:
                self.identity()
                other.identity()
            return same
        return self.identity() is other

    def attr(self, name: str) -> LazyTracker:
        """The tracker of ``value.name``; a missing attribute installs ``HASATTR`` and raises.

        A Python function's ``__annotations__`` is read through
        :class:`~guards.SkipGuardSource`, so every guard on it or under it is dropped
        (Dynamo's ``fn_var_getattr``: annotations change rarely and are read a lot,
        by ``inspect`` and ``typing``).  To guard them, track
        ``AttrSource(t.source, "__annotations__")`` itself.
        """
        value = self._value
        if value is _UNREAD:
            value = self.unguarded_value()
        if type(name) is str and name != "__annotations__":
            # The commonest read of a miss: one Python call for the source, and the
            # value read straight from this tracker's (the context's memo, as value_of).
            source: Source = attr_source(self.source, name)
            context = self.context
            tracker = context._trackers.get(source)
            if tracker is not None:
                return tracker
            found = context._values.get(source, _UNREAD)
            if found is _UNREAD:
                try:
                    found = exempt_call(getattr, value, name)
                except AttributeError:
                    self.install(GuardBuilder.HASATTR, source)
                    raise
                context._values[source] = found
            # LazyTracker(context, source), without __init__'s call: both of its types.
            tracker = _new_tracker(LazyTracker)
            tracker.context = context
            tracker.source = source
            tracker._value = found
            context._trackers[source] = tracker
            return tracker
        source = AttrSource(self.source, name)
        if name == "__annotations__" and type(value) is types.FunctionType:
            source = SkipGuardSource(source)
        try:
            self.context.value_of(source)
        except AttributeError:
            self.install(GuardBuilder.HASATTR, source)
            raise
        return self._child(source)

    def item(self, key: Any) -> LazyTracker:
        """The tracker of ``value[key]``; a missing key or index guards that it is missing."""
        value = self._value
        if value is _UNREAD:
            value = self.unguarded_value()
        if type(value) in _EXACT_SUBSCRIPTED and fast_item_key(key):
            # The commonest item read of a miss, as attr(): the source made at once, the
            # value read straight from this tracker's (an exact dict has no __missing__:
            # the step is value[key]).  A missing item is answered below.
            source: Source = item_source(self.source, key)
            context = self.context
            tracker = context._trackers.get(source)
            if tracker is not None:
                return tracker
            found = context._values.get(source, _UNREAD)
            if found is _UNREAD:
                try:
                    found = exempt_call(getitem, value, key)
                except (KeyError, IndexError, TypeError):
                    found = _UNREAD  # read again below, and guarded as missing
                else:
                    context._values[source] = found
            if found is not _UNREAD:
                tracker = _new_tracker(LazyTracker)
                tracker.context = context
                tracker.source = source
                tracker._value = found
                context._trackers[source] = tracker
                return tracker
        else:
            source = (
                item_source(self.source, key) if fast_item_key(key)
                else GetItemSource(self.source, key, index_is_slice=isinstance(key, slice))
            )
        try:
            self.context.value_of(source)
        except (KeyError, IndexError, TypeError) as exc:
            # A TypeError (not subscriptable, a key of the wrong type) depends on the type.
            container = self.unguarded_value()
            if isinstance(exc, KeyError) and isinstance(container, Mapping):
                # `key in base` says it of a mapping only: a list has other items.
                self.install(GuardBuilder.TYPE_MATCH)
                self.install(GuardBuilder.DICT_CONTAINS, source)
            elif isinstance(exc, IndexError) and type(container) in _SIZED_BUILTINS:
                self.install(GuardBuilder.SEQUENCE_LENGTH)
            else:
                self.install(GuardBuilder.TYPE_MATCH)
            raise
        return self._child(source)

    def keys(self) -> list[Any]:
        """The mapping's keys, in order (installs ``DICT_KEYS_MATCH``)."""
        value = self.unguarded_value()
        if not isinstance(value, Mapping):
            msg = f"cannot take the keys of {self.source.name}, {describe(value)}: not a mapping"
            raise UntrackableError(msg)
        self.install(GuardBuilder.DICT_KEYS_MATCH)
        with exempt():  # a mapping's __iter__: DICT_KEYS_MATCH runs it again at every check
            return list(value)

    def key_at(self, index: int) -> LazyTracker:
        """The tracker of the dict's ``index``-th key (``DictKeySource``); installs nothing.

        For an object used as a key: what is read through it is guarded on this path.
        """
        self.unguarded_value()
        source = DictKeySource(self.source, index)
        self.context.value_of(source)
        return self._child(source)

    def items(self) -> list[tuple[Any, LazyTracker]]:
        """``(key, tracker of value[key])`` pairs (installs ``DICT_KEYS_MATCH``)."""
        return [(key, self.item(key)) for key in self.keys()]

    def iterate(self) -> Iterator[Any]:
        """Iterate: lazy item trackers of a list or tuple, keys of a dict."""
        value = self.unguarded_value()
        if isinstance(value, Mapping):
            return iter(self.keys())
        if type(value) in (list, tuple, str, bytes, range):
            return (self.item(i) for i in range(self.len()))
        msg = f"cannot track iteration over {self.source.name}, {describe(value)}"
        raise UntrackableError(msg)

    def __iter__(self) -> Iterator[Any]:
        return self.iterate()

    def contains(self, key: Hashable) -> bool:
        """``key in value``: ``DICT_CONTAINS`` for a mapping, the constant for built-ins."""
        container = self.unguarded_value()
        if isinstance(container, Mapping):
            source = GetItemSource(self.source, key)
            self.install(GuardBuilder.DICT_CONTAINS, source)
            with exempt():  # a mapping's __contains__: DICT_CONTAINS runs it again
                return key in container
        if type(container) in _SIZED_BUILTINS:
            return key in self.as_constant()
        msg = f"cannot track `in` on {self.source.name}, {describe(container)}"
        raise UntrackableError(msg)

    def bind(self, *args: Any, **kwargs: Any) -> BoundCall:
        """Bind a call of this tracked Python function; see :func:`guards.bind_args`."""
        from guards.tracking.binding import bind_args

        return bind_args(self, args, kwargs)


_PLAIN_INSTANCECHECKS = (
    type.__dict__["__instancecheck__"], abc.ABCMeta.__dict__["__instancecheck__"]
)


#: ``read_value(tracker)``: the value ``tracker`` has read already, or :data:`UNREAD`
#: (then ``tracker.unguarded_value()`` reads it).  The slot's own getter: a call in C,
#: with no Python frame (a miss asks it several times per value read).
read_value: Callable[[LazyTracker], Any] = LazyTracker.__dict__["_value"].__get__
#: What :data:`read_value` gives for a tracker that has read nothing yet.
UNREAD: Any = _UNREAD


def _decided_by_type(classinfo: Any) -> bool | None:
    """True when ``isinstance(v, classinfo)`` depends on ``type(v)`` alone (for a ``v``
    whose ``__class__`` is its type); False when it runs other code; None when
    ``classinfo`` is not something ``isinstance`` accepts."""
    if type(classinfo) is tuple:
        answers = [_decided_by_type(item) for item in classinfo]
        return None if None in answers else all(answers)
    if type(classinfo) is types.UnionType:
        return _decided_by_type(classinfo.__args__)
    check = type_lookup(type(classinfo), "__instancecheck__")
    if issubclass(type(classinfo), type):
        return check in _PLAIN_INSTANCECHECKS
    return False if check is not None else None


def _has_truth_hook(cls: type) -> bool:
    return any(hasattr(cls, name) for name in ("__bool__", "__len__"))


def _free_variable_name(tracker: LazyTracker) -> str | None:
    """The free variable a ``fn.__closure__[i].cell_contents`` tracker stands for."""
    cell = tracker.source.base
    if isinstance(cell, GetItemSource) and isinstance(cell.base, ClosureSource):
        try:
            code = tracker.context.value_of(cell.base.base).__code__
            return str(code.co_freevars[cell.index])
        except Exception:
            return None
    return None
