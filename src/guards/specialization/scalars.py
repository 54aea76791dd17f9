"""Scalars guarded when read, by what was read.

An int, float or (non-empty) str that traced code reads from its inputs (an
argument, an attribute, an item, a cell, a default, a global) is handed over
as a :class:`~guards.specialization.proxy.TrackedScalar` that installs nothing
until the code uses it.  Then each use installs what it asked:

========================================  ==============================================
use                                       guard
========================================  ==============================================
``n >= 1024``, ``x == "a"`` (the other    ``COMPARE_MATCH``: ``(L['n'] >= 1024) is True``
side a constant, or another tracked       (``(L['n'] >= G['LIMIT']) is True``), with the
scalar)                                   exact type
``if n:``, ``not s``                      ``TRUTH_MATCH`` and the exact type
``n % 16 == 0``, ``if n & 1:`` (one      ``COMPARE_MATCH`` of the expression:
step of ``% // + - * &`` with a           ``(L['n'] % 16 == 0) is True``
constant, then a comparison or truth)
``len(xs) > 3`` (a built-in container)    ``COMPARE_MATCH``: ``(len(L['xs']) > 3) is True``
``isinstance(x, float)``, ``type(x)``     ``TYPE_MATCH``
``s.startswith("conv")``, ``"x" in s``,   ``PREDICATE_MATCH``: ``L['s'].startswith('conv')
``s.isdigit()``                           is True``
``op in TABLE`` (a tracked dict or set)   ``CONTAINS_MATCH``: ``(L['op'] in G['TABLE'])
                                          is True``
``len(s)`` used otherwise                 ``SEQUENCE_LENGTH``
``x is None`` in the traced code          ``TYPE_MATCH``
anything else                             ``CONSTANT_MATCH``: the exact value, as before
========================================  ==============================================

"Anything else" is every use whose answer is more than a yes/no of the value:
arithmetic, formatting (``str``, ``repr``, f-strings), hashing (dict keys, set
members), ``__index__`` (indexing, ``range``), conversions, a method that is
not a predicate, being passed to code the trace does not enter (its arguments
are realized: :meth:`Tracer.realize <guards.specialization.tracer.Tracer.realize>`),
being returned or stored in the result.  So a proxy never reaches library code
or the caller.  Several predicates on one value each install their own guard:
two thresholds give three entries, not one per value.

C code that gets a proxy where it wanted the real type (``",".join([s])``,
``getattr(obj, name)``, ``"%c" % s``) raises a ``TypeError`` a plain run would not
raise; an identity test (``n is 5``, ``a is b``) tells a proxy from the value.  None
of these can be answered on a proxy, so the run falls back: whenever an
instruction of a run with scalar proxies raised what may be such a refusal (the
net's ``on_raise``: ``Tracer.raised_here``), a proxy escaped, untraced user code
started, or code was entered that tests identity with something other than
``None`` or a bool, it is thrown away and traced again with every scalar handed
over as itself and guarded by value, as before (:attr:`ScalarTracer.trouble`,
``TraceOutcome.retry_exact``).  Code that tests identity from its start is traced
that way at once.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from sys import exception, gettrace, settrace
from typing import TYPE_CHECKING, Any

from guards.core.builder import (
    COMPARISONS,
    PREDICATES,
    SCALAR_TYPES,
    SIZED_TYPES,
    GuardBuilder,
    apply_transform,
)
from guards.core.guard import Guard, capture_provenance
from guards.core.sources import Source
from guards.core.values import type_lookup
from guards.specialization.proxy import (
    SCALAR_PROXY_CLASSES,
    UNSET,
    TrackedScalar,
    applied,
    is_scalar_proxy,
    proxy_class,
    tracer_of,
    tracker_of,
)
from guards.tracking.lazy import UNREAD, read_value
from guards.tracking.net import TRACE_FUNCTION

if TYPE_CHECKING:
    from guards.core.guard import Provenance
    from guards.specialization.tracer import Tracer
    from guards.tracking.lazy import LazyTracker

#: The comparison dunders and the operator each stands for (Python reflects ``5 < n``
#: to ``n > 5``, so the proxy is always the left operand).
_COMPARE_NAMES = {
    "__lt__": "<", "__le__": "<=", "__gt__": ">", "__ge__": ">=", "__eq__": "==", "__ne__": "!=",
}
#: Arithmetic with a constant that gives a derived value (``n % 16``): its operator
#: for COMPARE_MATCH's ``apply``, and whether the proxy is the right operand.
_DERIVING = {
    "__mod__": ("%", False), "__floordiv__": ("//", False), "__add__": ("+", False),
    "__sub__": ("-", False), "__mul__": ("*", False), "__and__": ("&", False),
    "__rmod__": ("%", True), "__rfloordiv__": ("//", True), "__radd__": ("+", True),
    "__rsub__": ("-", True), "__rmul__": ("*", True), "__rand__": ("&", True),
}
#: Exceptions no refusal of an object by its type raises: the end of an iteration, a
#: key or index not there, arithmetic (and a generator closed early gets
#: ``GeneratorExit``, not an Exception); a refusal raises a TypeError, or a module's
#: own error (``struct.error``).
NOT_REFUSALS = (StopIteration, StopAsyncIteration, LookupError, ArithmeticError)
#: A value asked more distinct questions than this (``while i < n``, a loop of
#: thresholds) is guarded by value instead: one check, and no more of them.
PREDICATE_LIMIT = 8
#: Ints below this many bits have fewer than 640 digits (see ``Tracer.guard_str_digits``).
_STR_DIGITS_BITS = 2100
#: The C method types of an exact scalar (``s.upper``, ``n.bit_length``, ``x.__eq__``).
_METHOD_TYPES = (
    types.MethodDescriptorType, types.WrapperDescriptorType, types.ClassMethodDescriptorType,
    types.BuiltinFunctionType, types.BuiltinMethodType,
)


class ScalarTracer:
    """The scalars of one traced run: their proxies, and what each use installs.

    ``lazy`` is False when scalars are handed over as themselves (guarded by value
    when read), as in a run traced again after :attr:`trouble`.  ``made`` counts
    the proxies made; ``trouble`` says why the run must be traced again that way.
    """

    def __init__(self, tracer: Tracer, *, lazy: bool = True) -> None:
        self.tracer = tracer
        self.lazy = lazy
        self.made = 0
        self.trouble: str | None = None
        #: One proxy per source, kept for the leak net (see ``Tracer.leaked``).
        self.proxies: dict[Source, TrackedScalar] = {}
        #: Derived values (``n % 16``, ``len(xs)``) by source and transform, likewise.
        self.derived: dict[tuple[Source, tuple[Any, ...]], TrackedScalar] = {}
        self._faithful: BaseException | None = None
        # Sources guarded by value already (their predicates add nothing), and the
        # predicates asked of each other source.
        self._exact: set[Source] = set()
        self._asked: dict[Source, set[tuple[Any, ...]]] = {}
        # The TYPE_MATCH a derived value asked of its source (``total + o.a1``), with
        # the line that asked: installed by install_asked_types() unless the source is
        # guarded by value by then, as it most often is at once (``... + o.a2``).
        self._asked_types: dict[Source, tuple[LazyTracker, Provenance | None]] = {}

    # -- proxies ------------------------------------------------------------------
    def proxy(self, tracker: LazyTracker, value: Any = UNSET) -> TrackedScalar:
        """The proxy of the scalar at ``tracker`` (one per source), whose value is
        ``value`` if given (read already); installs nothing."""
        source = tracker.source
        found = self.proxies.get(source)
        if found is None:
            if value is UNSET:
                value = tracker.unguarded_value()
            # SCALAR_PROXY_CLASSES[type(value)](tracker, self.tracer), its __init__ written
            # out (the class has no other): one proxy per value a miss reads.
            made: TrackedScalar = _new_proxy(SCALAR_PROXY_CLASSES[type(value)])
            _set(made, "_guards_tracker", tracker)
            _set(made, "_guards_tracer", self.tracer)
            _set(made, "_guards_apply", ())
            _set(made, "_guards_real", UNSET)
            self.proxies[source] = made
            self.made += 1
            return made
        return found

    def derive(self, tracker: LazyTracker, apply: tuple[Any, ...], value: Any) -> TrackedScalar:
        """The proxy of ``value``, derived from the value at ``tracker`` by ``apply`` (one per
        source and transform); installs nothing."""
        key = (tracker.source, _exact(apply))
        found = self.derived.get(key)
        if found is None:
            # An int or float most often: its class without proxy_class's call (and the
            # weak dictionary's, behind it).
            cls = SCALAR_PROXY_CLASSES.get(type(value)) or proxy_class(type(value))
            # cls(tracker, self.tracer, apply), its __init__ written out as in proxy().
            made: TrackedScalar = _new_proxy(cls)
            _set(made, "_guards_tracker", tracker)
            _set(made, "_guards_tracer", self.tracer)
            _set(made, "_guards_apply", apply)
            _set(made, "_guards_real", UNSET)
            found = self.derived[key] = made
            self.made += 1
        return found

    def value(self, proxy: TrackedScalar) -> Any:
        """The value ``proxy`` stands for, with no guard."""
        apply = applied(proxy)
        value = tracker_of(proxy).unguarded_value()
        return apply_transform(apply, value) if apply else value

    def length_of(self, tracker: LazyTracker) -> TrackedScalar | None:
        """``len()`` of the exact built-in container at ``tracker``, as a derived value
        (its exact type guarded), or None when ``len`` must run as it is."""
        value = tracker.unguarded_value()
        if type(value) not in SIZED_TYPES:
            return None
        source = tracker.source
        if source not in self._exact:
            tracker.install(GuardBuilder.TYPE_MATCH)
        return self.derive(tracker, ("len",), len(value))

    def realize(self, proxy: TrackedScalar) -> Any:
        """The value itself, guarded by value (``CONSTANT_MATCH``): any use that is not a
        predicate.  A huge int guards the interpreter's digit limit, as when read."""
        tracker = tracker_of(proxy)
        apply = applied(proxy)
        if apply == ("len",):
            return tracker.len()
        value = read_value(tracker)  # tracker.unguarded_value(), without its call
        if value is UNREAD:
            value = tracker.unguarded_value()
        source = tracker.source
        if source not in self._exact:
            self._exact.add(source)
            base = self.proxies.get(source)
            if base is not None:  # from now on, computed on directly (TrackedScalar)
                object.__setattr__(base, "_guards_real", value)
            # _install_plain(tracker, "CONSTANT_MATCH"), inline: one per value a miss
            # reads, most often inside an operator's quiet stretch already.
            context = tracker.context
            trace = gettrace()
            off = trace is TRACE_FUNCTION and exception() is None
            if off:
                settrace(None)
            try:
                context.install_plain(
                    source, "CONSTANT_MATCH", capture_provenance(full_stack=context.full_stack)
                )
            finally:
                if off:
                    settrace(trace)
            if type(value) is int and value.bit_length() > _STR_DIGITS_BITS:
                self.tracer.guard_str_digits()
            deferred = self._asked_types.pop(source, None)  # implied by the value
            asked = self._asked.pop(source, None)
            # A TYPE_MATCH only asked for a derived value is not installed yet: nothing
            # to take out (the commonest case: `total + o.aK`, then `... + o.aL`).
            if asked and not (asked is _TYPE_ONLY and deferred is not None):
                context = self.tracer.context
                for kind, *args in asked:  # implied by the value
                    if not args:
                        context.discard_plain(source, kind)
                    elif not any(isinstance(arg, Source) for _, arg in args):
                        context.discard_guard(Guard(source, kind, tuple(args)))
        return apply_transform(apply, value) if apply else value

    def ask(self, proxy: TrackedScalar, kind: Any, **args: Any) -> bool:
        """Install the predicate guard ``kind(**args)`` on ``proxy``'s source, unless its value
        is guarded already (True); False when the value has been asked too many
        questions (:data:`PREDICATE_LIMIT`): the caller then uses it by value."""
        tracker = tracker_of(proxy)
        source = tracker.source
        relation = bool(args) and any(isinstance(arg, Source) for arg in args.values())
        if source in self._exact and not relation:
            return True
        asked = self._asked.get(source)
        if asked is None or asked is _TYPE_ONLY:  # _TYPE_ONLY is shared: a set of its own
            asked = self._asked[source] = set(asked or ())
        key = (kind.__name__, *sorted(args.items())) if args else (kind.__name__,)
        if key in asked:
            return True
        if len(asked) >= PREDICATE_LIMIT:
            return False
        asked.add(key)
        if kind is GuardBuilder.TYPE_MATCH and not args:
            _install_plain(tracker, "TYPE_MATCH")
        else:
            tracker.install(kind, **args)
        return True

    def _ask_type(self, proxy: TrackedScalar) -> bool:
        """:meth:`ask` of ``TYPE_MATCH`` for a value derived from ``proxy``, whose guard is
        installed when the run ends (:meth:`install_asked_types`), unless the source is
        guarded by value by then: a derived value is most often used by value at once
        (``o.a0 + o.a1 + o.a2``: ``(total + o.a2) + o.a3`` realizes ``total + o.a2``)."""
        tracker = tracker_of(proxy)
        source = tracker.source
        if source in self._exact:
            return True
        asked = self._asked.get(source)
        if asked is None:
            self._asked[source] = _TYPE_ONLY  # no set made for the commonest case
        else:
            if _TYPE_KEY in asked:
                return True
            if len(asked) >= PREDICATE_LIMIT:
                return False
            asked.add(_TYPE_KEY)
        # The line asking, as _install_plain gives its guard (and quiet likewise).
        trace = gettrace()
        off = trace is TRACE_FUNCTION and exception() is None
        if off:
            settrace(None)
        try:
            provenance = capture_provenance(full_stack=tracker.context.full_stack)
        finally:
            if off:
                settrace(trace)
        self._asked_types[source] = (tracker, provenance)
        return True

    def install_asked_types(self) -> None:
        """Install the ``TYPE_MATCH`` guards asked for derived values (:meth:`_ask_type`)
        whose sources are not guarded by value: at the end of the run, before the
        guards are read (a use by value in between made them redundant)."""
        asked, self._asked_types = self._asked_types, {}
        for source, (tracker, provenance) in asked.items():
            if source not in self._exact:
                tracker.context.install_plain(source, "TYPE_MATCH", provenance)

    def fall_back(self, why: str) -> None:
        """Note why the run must be traced again with scalars guarded by value (once made)."""
        if self.made and self.trouble is None:
            self.trouble = why

    def give_up(self, why: str) -> None:
        """Code that could tell a proxy from its value is about to run: from now on scalars
        are handed over as themselves, and a run that made proxies already is stopped
        here, to be traced again that way (before anything it does next happens)."""
        self.lazy = False
        if self.made and not self.tracer.abandoned:
            self.fall_back(why)
            self.tracer.abandon(why)

    def raised(self, proxy: TrackedScalar, exc: BaseException) -> None:
        """An operation on ``proxy`` raised ``exc`` into user code: a plain run may not
        raise it (C code rejecting the proxy), or may raise it with other words."""
        # An end of iteration, a missing key, a division by zero: what the operation
        # computes on the values raises it, as a plain run does.
        if exc is not self._faithful and isinstance(exc, Exception) and not isinstance(
            exc, NOT_REFUSALS
        ):
            self.fall_back(f"an operation on a tracked scalar raised {type(exc).__name__}")

    # -- operations -------------------------------------------------------------------
    def apply(self, fn: Callable[..., Any], args: tuple[Any, ...],
              kwargs: dict[str, Any] | None = None) -> Any:
        """``fn(*args, **kwargs)`` on real values, every tracked one guarded by value."""
        tracer = self.tracer
        why = getattr(fn, "__name__", "an operation")
        # A scalar proxy straight to realize() (Tracer.realize's first case).
        real = [
            self.realize(arg) if is_scalar_proxy(arg) else tracer.realize(arg, why)
            for arg in args
        ]
        return fn(*real, **(tracer.realize(kwargs, why) if kwargs else {}))

    def operate(self, proxy: TrackedScalar, name: str, fn: Callable[..., Any],
                args: tuple[Any, ...]) -> Any:
        """An operator or conversion with ``proxy`` among ``args``."""
        op = _COMPARE_NAMES.get(name)
        if op is not None:
            return self.compare(proxy, op, args[1])
        deriving = _DERIVING.get(name)
        if deriving is not None and not applied(proxy):
            symbol, reflected = deriving
            other = args[0] if reflected else args[1]
            tracker = tracker_of(proxy)
            value = read_value(tracker)  # self.value(proxy), not applied, without calls
            if value is UNREAD:
                value = tracker.unguarded_value()
            if type(value) in (int, float) and type(other) in (int, float):
                try:
                    result = fn(*(other, value) if reflected else (value, other))
                except Exception:
                    return self.apply(fn, args)  # as a plain run raises it, by value
                # A NaN is a new object at each computation (`[n * 0.0] == [n * 0.0]` is
                # False), which one derived proxy per expression would not be.
                if type(result) in (int, float) and result == result and self._ask_type(
                    proxy
                ):
                    apply = (symbol, other, "reflected") if reflected else (symbol, other)
                    return self.derive(tracker_of(proxy), apply, result)
        if len(args) == 2:
            # apply(fn, args) for an operator, written out (one per value a miss reads):
            # each scalar stand-in straight to realize(), an exact built-in scalar as is
            # (Tracer.realize gives it back), anything else through Tracer.realize.
            left, right = args
            if issubclass(type(left), TrackedScalar):
                left = self.realize(left)
            elif type(left) not in _AS_IS:
                left = self.tracer.realize(left, getattr(fn, "__name__", "an operation"))
            if issubclass(type(right), TrackedScalar):
                right = self.realize(right)
            elif type(right) not in _AS_IS:
                right = self.tracer.realize(right, getattr(fn, "__name__", "an operation"))
            return fn(left, right)
        return self.apply(fn, args)

    def compare(self, proxy: TrackedScalar, op: str, other: Any) -> Any:
        """``proxy <op> other``: with a constant (an exact built-in scalar) or another
        tracked scalar, only the outcome is guarded (``COMPARE_MATCH``)."""
        value = self.value(proxy)
        if is_scalar_proxy(other) and other is not proxy and not applied(other):
            against: Any = tracker_of(other).source
            other_value = self.value(other)
        elif type(other) in SCALAR_TYPES:
            against = other_value = other
        else:
            return self.apply(COMPARISONS[op], (proxy, other))
        try:
            outcome = COMPARISONS[op](value, other_value)
        except Exception:  # an order between a str and an int: decided by value, as before
            return self.apply(COMPARISONS[op], (proxy, other))
        if type(outcome) is not bool or not self.ask(
            proxy, GuardBuilder.COMPARE_MATCH, op=op, other=against, apply=applied(proxy)
        ):
            return self.apply(COMPARISONS[op], (proxy, other))
        return outcome

    def truth(self, proxy: TrackedScalar) -> bool:
        """``bool(proxy)``: its truth and its exact type (``TRUTH_MATCH``, ``TYPE_MATCH``)."""
        if applied(proxy):  # a number: its truth is `!= 0`
            return bool(self.compare(proxy, "!=", 0))
        if not (self.ask(proxy, GuardBuilder.TYPE_MATCH)
                and self.ask(proxy, GuardBuilder.TRUTH_MATCH)):
            return bool(self.realize(proxy))
        return bool(self.value(proxy))

    def length(self, proxy: TrackedScalar) -> int:
        """``len(proxy)``: ``SEQUENCE_LENGTH`` of a str or bytes (an int has none: its type)."""
        tracker = tracker_of(proxy)
        value = self.value(proxy)
        if applied(proxy):  # a number, its type guarded when it was derived
            return len(value)  # raises the TypeError a plain run raises
        if type(value) in (str, bytes):
            return tracker.len()
        tracker.install(GuardBuilder.TYPE_MATCH)
        return len(value)  # raises the TypeError a plain run raises

    def contains(self, proxy: TrackedScalar, item: Any) -> bool:
        """``item in proxy``: for a constant ``item``, a ``PREDICATE_MATCH`` on the outcome."""
        value = self.value(proxy)
        if type(value) in (str, bytes) and type(item) is type(value):
            return bool(self.predicate(proxy, "__contains__", (item,)))
        return bool(self.apply(_contains, (proxy, item)))

    def contained(self, proxy: TrackedScalar, container: LazyTracker) -> bool:
        """``proxy in container`` for a tracked dict, set or frozenset (its exact type
        guarded by the caller): ``CONTAINS_MATCH``, the outcome only."""
        if not self.ask(proxy, GuardBuilder.CONTAINS_MATCH, container=container.source):
            return bool(self.realize(proxy) in container.as_constant())
        return self.value(proxy) in container.unguarded_value()

    def get_attr(self, proxy: TrackedScalar, name: str) -> Any:
        """``proxy.name``: its class (``TYPE_MATCH``), a predicate method to be called, or
        the attribute of the real value (guarded by value); an absent one raises as on
        the value, which is decided by the exact type."""
        tracer = self.tracer
        tracker = tracker_of(proxy)
        if applied(proxy):  # its type follows from what derived it, guarded then
            if name == "__class__":
                return type(self.value(proxy))
            return getattr(self.realize(proxy), name)
        value = tracker.unguarded_value()
        if name == "__class__":
            return tracer.type_of(tracker)
        found = type_lookup(type(value), name)
        if found is None:
            tracker.install(GuardBuilder.TYPE_MATCH)
            try:
                return getattr(value, name)
            except AttributeError as exc:  # as a plain run raises it
                self._faithful = exc
                raise
        if name in PREDICATES.get(type(value), ()) and isinstance(found, _METHOD_TYPES):
            return ScalarMethod(proxy, name)
        return getattr(self.realize(proxy), name)

    def call_method(self, proxy: TrackedScalar, name: str, args: tuple[Any, ...],
                    kwargs: dict[str, Any]) -> Any:
        """``proxy.name(*args)`` for a predicate method: with constant arguments, only the
        outcome is guarded (``PREDICATE_MATCH``); else it runs on real values."""
        if not kwargs and all(type(arg) in (str, bytes, int) or (
            type(arg) is tuple and all(type(item) in (str, bytes) for item in arg)
        ) for arg in args):
            return self.predicate(proxy, name, args)
        return self.apply(_method_call, (proxy, name, *args), kwargs)

    def predicate(self, proxy: TrackedScalar, name: str, args: tuple[Any, ...]) -> Any:
        """``type(value).name(value, *args)`` for constant ``args``: a yes/no answer is
        guarded by ``PREDICATE_MATCH``, any other (or an error) by value."""
        value = self.value(proxy)
        try:
            outcome = getattr(type(value), name)(value, *args)
        except Exception:
            return self.apply(_method_call, (proxy, name, *args))
        if type(outcome) is not bool or not self.ask(
            proxy, GuardBuilder.PREDICATE_MATCH, method=name, args=args
        ):
            return self.apply(_method_call, (proxy, name, *args))
        return outcome


_new_proxy: Callable[[type], Any] = object.__new__
_set = object.__setattr__
#: Exact types that :meth:`Tracer.realize <guards.specialization.tracer.Tracer.realize>`
#: gives back as they are (an operand of an operator that is no stand-in).
_AS_IS = frozenset({int, float, str, bytes, bool, type(None)})
#: The key of ``TYPE_MATCH`` without arguments among the predicates :meth:`ScalarTracer.ask`
#: notes of a source.
_TYPE_KEY = ("TYPE_MATCH",)
#: The predicates noted of a source asked only its type for a derived value (shared:
#: :meth:`ScalarTracer.ask` makes a set of its own before adding to it).
_TYPE_ONLY: Any = frozenset({_TYPE_KEY})


def _install_plain(tracker: LazyTracker, kind: str) -> None:
    """``tracker.install(GuardBuilder.<kind>)`` for a built-in kind without arguments
    (``TYPE_MATCH``, ``CONSTANT_MATCH``), with the :class:`Guard` made directly: one or
    two per value a miss reads, so the kind is not looked up again each time."""
    context = tracker.context
    # quiet(), inline (guards' own code, as LazyTracker.install); most often quiet
    # already, in an operator's stretch.
    trace = gettrace()
    off = trace is TRACE_FUNCTION and exception() is None
    if off:
        settrace(None)
    try:
        provenance = capture_provenance(full_stack=context.full_stack)
        context.install_plain(tracker.source, kind, provenance)
    finally:
        if off:
            settrace(trace)


def _exact(apply: tuple[Any, ...]) -> tuple[Any, ...]:
    """``apply`` as a key that tells apart what ``==`` does not: ``n + 1`` from ``n + 1.0``
    (a result of another type), ``x * 0.0`` from ``x * -0.0`` (of another sign)."""
    if len(apply) == 2 or (len(apply) == 3 and apply[2] == "reflected"):
        # (symbol, constant[, "reflected"]): one per value `total + o.aK` derives
        symbol, other = apply[0], apply[1]
        return (
            type(symbol), repr(symbol) if type(symbol) is float else symbol,
            type(other), repr(other) if type(other) is float else other,
            len(apply),
        )
    # Flat, as above: two items per part, so equal keys have equal parts.
    return tuple([
        item for part in apply
        for item in (type(part), repr(part) if type(part) is float else part)
    ])


def _contains(container: Any, item: Any) -> bool:
    return item in container


def _method_call(value: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    return getattr(value, name)(*args, **kwargs)


class ScalarMethod:
    """``proxy.name`` for a predicate method of a tracked scalar (``s.startswith``): its
    call asks the scalar tracer.  Looks like the bound method it stands for."""

    __slots__ = ("name", "proxy")

    def __init__(self, proxy: TrackedScalar, name: str) -> None:
        self.proxy = proxy
        self.name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        tracer = tracer_of(self.proxy)
        with tracer.entered:
            try:
                return tracer.scalars.call_method(self.proxy, self.name, args, kwargs)
            except Exception as exc:
                tracer.scalars.raised(self.proxy, exc)
                raise

    def real(self) -> Any:
        """The bound method of the real value (guarded by value)."""
        tracer = tracer_of(self.proxy)
        return getattr(tracer.scalars.realize(self.proxy), self.name)

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return type(self.real())

    def __getattr__(self, name: str) -> Any:
        if name == "__self__":
            return self.proxy
        return getattr(self.real(), name)

    def __eq__(self, other: object) -> bool:
        # Bound methods are equal when their objects are the same object: an identity
        # test, which two proxies of one value would fail.
        self._identity("compares a method of a tracked scalar")
        real = other.real() if type(other) is ScalarMethod else other
        return bool(self.real() == real)

    def __hash__(self) -> int:
        self._identity("hashes a method of a tracked scalar")
        return hash(self.real())

    def _identity(self, why: str) -> None:
        tracer = tracer_of(self.proxy)
        with tracer.entered:
            tracer.scalars.give_up(why)

    def __repr__(self) -> str:
        return repr(self.real())
