"""The proxy that stands in for a tracked value while ``specialize`` runs a function.

A :class:`Tracked` proxy holds a lazy tracker and the running
:class:`~guards.specialization.tracer.Tracer`.  Everything user code does to it (reading an
attribute, comparing it, iterating it, calling it, writing to it) reaches the
tracer, which installs the guard that the operation needs and answers with a
real value or another proxy.

Every special method is generated from one table, :data:`OPERATIONS`, so no
dunder is written by hand twice and the tests can walk the same table.

C code sees a proxy's own type, never the tracked value's, so the proxy's type
is made to look like the value's where C code looks without calling a hook:
:func:`proxy_class` gives each tracked type a proxy class with its C name (the
``tp_name`` in C error messages), its mapping or sequence flag (what a
``match`` statement's mapping and sequence patterns test) and its support of
weak references.

Every method is also a boundary (:func:`_at_boundary`): an error of the
tracer's own never reaches the user code that operated on the proxy (see
``guards.specialization.taint``).
"""

from __future__ import annotations

import collections.abc
import functools
import math
import operator
import weakref
from collections.abc import Callable
from sys import _getframe, exception, gettrace, settrace
from typing import TYPE_CHECKING, Any, TypeGuard

from guards.core.guard import USER_CALLER, called_from_user, user_frame
from guards.core.values import is_immutable_type, type_lookup
from guards.specialization.taint import raised_by_tracing
from guards.tracking.net import TRACE_FUNCTION, quiet

if TYPE_CHECKING:
    from guards.specialization.tracer import Tracer
    from guards.tracking.lazy import LazyTracker


def is_proxy(obj: object) -> bool:
    """True for a proxy (decided by the exact type: runs no hook of ``obj``)."""
    return issubclass(type(obj), Tracked)


class Tracked:
    """A tracked value seen by the function being specialized.  Never escapes the trace.

    Proxies are made from :func:`proxy_class` of the value's type, a subclass of
    :class:`TrackedObject` or of :class:`TrackedScalar`.  This root holds only what
    every object has (attribute access, ``repr``): the special methods that C code
    tests for (``__index__``, ``__getitem__``, ``__call__``...) are given per proxy
    class, so that a proxy has a slot exactly where the value's type has one.
    """

    __slots__ = ("_guards_tracer", "_guards_tracker")

    def __init__(self, tracker: LazyTracker, tracer: Tracer) -> None:
        object.__setattr__(self, "_guards_tracker", tracker)
        object.__setattr__(self, "_guards_tracer", tracer)

    def __getattribute__(self, name: str) -> Any:
        # Its boundary (``with tracer.entered:``, as _at_boundary's) written out: each
        # value a miss reads passes here, and on 3.11 each Python frame, the wrapper's
        # and the boundary's __enter__ and __exit__, ran the net's trace function.
        tracer: Tracer = object.__getattribute__(self, "_guards_tracer")  # tracer_of, inline
        if exception() is not None:  # _Boundary.__enter__
            tracer.check_handled()
        try:
            # tracer.get_attr(self, name), its quiet stretch written out: get_attr's own
            # frame would start with the net's trace function on (a callback, on 3.11).
            trace = gettrace()
            off = trace is TRACE_FUNCTION and exception() is None
            if off:
                settrace(None)
            try:
                found = tracer.plain_attr(self, name)
            finally:
                if off:
                    settrace(trace)
            if found is not UNANSWERED:
                return found
            return tracer.other_attr(self, name)
        except BaseException as exc:  # _Boundary.__exit__
            if raised_by_tracing(exc):
                tracer.refuse(exc)
            raise

    def __setattr__(self, name: str, value: Any) -> None:
        tracer_of(self).write(self, f"sets the attribute {name!r} of")

    def __delattr__(self, name: str) -> None:
        tracer_of(self).write(self, f"deletes the attribute {name!r} of")

    def __repr__(self) -> str:
        return tracer_of(self).operate(self, "__repr__", repr, (self,))  # type: ignore[no-any-return]


#: ``tracker_of(proxy)``: the lazy tracker behind a proxy, read past the proxy's own
#: attribute hook.  The slot's own getter: a call in C, with no Python frame (a miss
#: asks it several times per value read, and on 3.11 each Python frame started then
#: runs the net's trace function).
tracker_of: Callable[[Tracked], LazyTracker] = Tracked.__dict__["_guards_tracker"].__get__
#: ``tracer_of(proxy)``: the tracer a proxy reports to (the slot's getter, likewise).
tracer_of: Callable[[Tracked], Tracer] = Tracked.__dict__["_guards_tracer"].__get__


class TrackedObject(Tracked):
    """A proxy of any value but the scalars of :data:`SCALAR_PROXY_TYPES`: every
    special method reaches the tracer, which answers as the value's own would."""

    __slots__ = ()

    def __setitem__(self, key: Any, value: Any) -> None:
        tracer_of(self).write(self, "sets an item of")

    def __delitem__(self, key: Any) -> None:
        tracer_of(self).write(self, "deletes an item of")

    def __getitem__(self, key: Any) -> Any:
        # Its own boundary, written out as in Tracked.__getattribute__ (each item a miss
        # reads passes here).
        tracer = tracer_of(self)
        if exception() is not None:  # _Boundary.__enter__
            tracer.check_handled()
        try:
            # tracer.get_item(self, key), its quiet stretch written out (as in
            # Tracked.__getattribute__).
            trace = gettrace()
            off = trace is TRACE_FUNCTION and exception() is None
            if off:
                settrace(None)
            try:
                found = tracer.plain_item(self, key)
            finally:
                if off:
                    settrace(trace)
            if found is not UNANSWERED:
                return found
            return tracer.other_item(self, key)
        except BaseException as exc:  # _Boundary.__exit__
            if raised_by_tracing(exc):
                tracer.refuse(exc)
            raise

    def __len__(self) -> int:
        return tracer_of(self).length(self)

    def __bool__(self) -> bool:
        return tracer_of(self).truth(self)

    def __iter__(self) -> Any:
        return tracer_of(self).iterate(self)

    def __contains__(self, item: Any) -> bool:
        return tracer_of(self).contains(self, item)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return tracer_of(self).call(self, args, kwargs)


class _TrackedMapping(TrackedObject):
    """Base of proxies for mappings: ``match`` tries mapping patterns on them."""

    __slots__ = ()


class _TrackedSequence(TrackedObject):
    """Base of proxies for sequences: ``match`` tries sequence patterns on them."""

    __slots__ = ()


# Registering sets Py_TPFLAGS_MAPPING / Py_TPFLAGS_SEQUENCE, which subclasses inherit.
collections.abc.Mapping.register(_TrackedMapping)
collections.abc.Sequence.register(_TrackedSequence)

_MAPPING_FLAG = 1 << 6  # Py_TPFLAGS_MAPPING
_SEQUENCE_FLAG = 1 << 5  # Py_TPFLAGS_SEQUENCE

_PROXY_CLASSES: weakref.WeakKeyDictionary[type, type[Tracked]] = weakref.WeakKeyDictionary()


def c_type_name(cls: type) -> str:
    """The name C code gives ``cls`` in messages (its ``tp_name``): ``'collections.deque'``,
    ``'dict'``, or a Python class's ``__name__``."""
    if is_immutable_type(cls) and cls.__module__ != "builtins":
        return f"{cls.__module__}.{cls.__name__}"
    return cls.__name__


def proxy_class(cls: type) -> type[Tracked]:
    """The proxy class for values of type ``cls``: its C name and its match shape.

    Made once per type and kept while the type lives.  The scalars of
    :data:`SCALAR_PROXY_TYPES` get a :class:`TrackedScalar`.
    """
    found = _PROXY_CLASSES.get(cls)
    if found is None:
        flags = cls.__flags__
        if cls in SCALAR_PROXY_TYPES:
            found = _scalar_proxy_class(cls)
            _PROXY_CLASSES[cls] = found
            return found
        base: type[Tracked] = TrackedObject
        if flags & _MAPPING_FLAG:
            base = _TrackedMapping
        elif flags & _SEQUENCE_FLAG:
            base = _TrackedSequence
        name = c_type_name(cls)
        # Weakly referable only if the value is: weakref.ref(x) raises as it would.
        slots = ("__weakref__",) if cls.__weakrefoffset__ else ()
        found = type(name, (base,), {"__slots__": slots, "__qualname__": name})
        _PROXY_CLASSES[cls] = found
    return found


def _binary(name: str, fn: Callable[[Any, Any], Any], *, reflected: bool) -> Callable[..., Any]:
    def method(self: Tracked, other: Any) -> Any:
        args = (other, self) if reflected else (self, other)
        return tracer_of(self).operate(self, name, fn, args)

    return method


def _unary(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def method(self: Tracked, *args: Any) -> Any:
        return tracer_of(self).operate(self, name, fn, (self, *args))

    return method


def _inplace(name: str, fn: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    def method(self: Tracked, other: Any) -> Any:
        return tracer_of(self).inplace(self, name, fn, other)

    return method


#: (dunder, how it is computed on real values, kind): "binary" and "reflected"
#: operators take one operand, "unary" ones take the value (and any extra
#: arguments, as ``format`` and ``round`` do), "inplace" may write to a mutable value.
OPERATIONS: tuple[tuple[str, Callable[..., Any], str], ...] = (
    ("__eq__", operator.eq, "binary"),
    ("__ne__", operator.ne, "binary"),
    ("__lt__", operator.lt, "binary"),
    ("__le__", operator.le, "binary"),
    ("__gt__", operator.gt, "binary"),
    ("__ge__", operator.ge, "binary"),
    ("__add__", operator.add, "binary"),
    ("__sub__", operator.sub, "binary"),
    ("__mul__", operator.mul, "binary"),
    ("__matmul__", operator.matmul, "binary"),
    ("__truediv__", operator.truediv, "binary"),
    ("__floordiv__", operator.floordiv, "binary"),
    ("__mod__", operator.mod, "binary"),
    ("__divmod__", divmod, "binary"),
    ("__pow__", pow, "binary"),
    ("__lshift__", operator.lshift, "binary"),
    ("__rshift__", operator.rshift, "binary"),
    ("__and__", operator.and_, "binary"),
    ("__xor__", operator.xor, "binary"),
    ("__or__", operator.or_, "binary"),
    ("__radd__", operator.add, "reflected"),
    ("__rsub__", operator.sub, "reflected"),
    ("__rmul__", operator.mul, "reflected"),
    ("__rmatmul__", operator.matmul, "reflected"),
    ("__rtruediv__", operator.truediv, "reflected"),
    ("__rfloordiv__", operator.floordiv, "reflected"),
    ("__rmod__", operator.mod, "reflected"),
    ("__rdivmod__", divmod, "reflected"),
    ("__rpow__", pow, "reflected"),
    ("__rlshift__", operator.lshift, "reflected"),
    ("__rrshift__", operator.rshift, "reflected"),
    ("__rand__", operator.and_, "reflected"),
    ("__rxor__", operator.xor, "reflected"),
    ("__ror__", operator.or_, "reflected"),
    ("__iadd__", operator.iadd, "inplace"),
    ("__isub__", operator.isub, "inplace"),
    ("__imul__", operator.imul, "inplace"),
    ("__imatmul__", operator.imatmul, "inplace"),
    ("__itruediv__", operator.itruediv, "inplace"),
    ("__ifloordiv__", operator.ifloordiv, "inplace"),
    ("__imod__", operator.imod, "inplace"),
    ("__ipow__", operator.ipow, "inplace"),
    ("__ilshift__", operator.ilshift, "inplace"),
    ("__irshift__", operator.irshift, "inplace"),
    ("__iand__", operator.iand, "inplace"),
    ("__ixor__", operator.ixor, "inplace"),
    ("__ior__", operator.ior, "inplace"),
    ("__neg__", operator.neg, "unary"),
    ("__pos__", operator.pos, "unary"),
    ("__abs__", abs, "unary"),
    ("__invert__", operator.invert, "unary"),
    ("__int__", int, "unary"),
    ("__float__", float, "unary"),
    ("__complex__", complex, "unary"),
    ("__index__", operator.index, "unary"),
    ("__round__", round, "unary"),
    ("__trunc__", math.trunc, "unary"),
    ("__floor__", math.floor, "unary"),
    ("__ceil__", math.ceil, "unary"),
    ("__hash__", hash, "unary"),
    ("__str__", str, "unary"),
    ("__bytes__", bytes, "unary"),
    ("__format__", format, "unary"),
    ("__dir__", lambda v: v.__dir__(), "unary"),
    ("__sizeof__", lambda v: v.__sizeof__(), "unary"),
    ("__reversed__", reversed, "unary"),
    ("__enter__", lambda v: _with_method(v, "__enter__")(), "unary"),
    ("__exit__", lambda v, *a: _with_method(v, "__exit__")(*a), "unary"),
    ("__next__", next, "unary"),
)


def _with_method(value: Any, name: str) -> Any:
    """``value.name`` for a ``with`` statement, which looks it up on the type."""
    method = getattr(type(value), name, None)
    if method is None:
        missed = "" if name == "__enter__" else " (missed __exit__ method)"
        msg = (
            f"'{c_type_name(type(value))}' object does not support the context manager "
            f"protocol{missed}"
        )
        raise TypeError(msg)
    return method.__get__(value, type(value))


def _install_operations() -> None:
    for name, fn, kind in OPERATIONS:
        if kind == "inplace":
            method = _inplace(name, fn)
        elif kind in ("binary", "reflected"):
            method = _binary(name, fn, reflected=kind == "reflected")
        else:
            method = _unary(name, fn)
        method.__name__ = method.__qualname__ = name
        setattr(TrackedObject, name, method)


_install_operations()


#: Exact types of the scalars handed to user code as a :class:`TrackedScalar`: those
#: whose uses (a comparison, a truth test, a prefix test) can be guarded by what
#: was asked.  ``bool`` and ``None`` have so few values that their exact guard is
#: as good, and are handed over as themselves.
SCALAR_PROXY_TYPES = frozenset({int, float, str})


class TrackedScalar(Tracked):
    """A tracked int, float or str, or an expression of one (``n % 16``,
    ``len(xs)``): what user code does with it reaches the tracer's
    :class:`~guards.specialization.scalars.ScalarTracer`, which guards what the
    operation asked (see :mod:`guards.specialization.scalars`).

    ``_guards_apply`` is ``()`` for the tracked value itself, else the transform
    of ``COMPARE_MATCH`` that derives this value from the tracked one.
    ``_guards_real`` is the value once it is guarded by value (:data:`UNSET`
    before): from then on an operation with plain operands is computed on it
    directly, as a plain run computes it.
    """

    __slots__ = ("_guards_apply", "_guards_real")

    def __init__(self, tracker: LazyTracker, tracer: Tracer,
                 apply: tuple[Any, ...] = ()) -> None:
        # Tracked.__init__'s two, inline: one proxy per value a miss reads.
        object.__setattr__(self, "_guards_tracker", tracker)
        object.__setattr__(self, "_guards_tracer", tracer)
        object.__setattr__(self, "_guards_apply", apply)
        object.__setattr__(self, "_guards_real", UNSET)

    def __getattribute__(self, name: str) -> Any:
        real = object.__getattribute__(self, "_guards_real")
        if real is not UNSET:
            return getattr(real, name)
        return tracer_of(self).scalars.get_attr(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        tracer_of(self).scalars.apply(setattr, (self, name, value))

    def __delattr__(self, name: str) -> None:
        tracer_of(self).scalars.apply(delattr, (self, name))

    def __bool__(self) -> bool:
        return tracer_of(self).scalars.truth(self)

    def __repr__(self) -> str:
        return tracer_of(self).scalars.apply(repr, (self,))  # type: ignore[no-any-return]


def _scalar_len(self: TrackedScalar) -> int:
    return tracer_of(self).scalars.length(self)


def _scalar_iter(self: TrackedScalar) -> Any:
    return tracer_of(self).scalars.apply(iter, (self,))


def _scalar_contains(self: TrackedScalar, item: Any) -> bool:
    return tracer_of(self).scalars.contains(self, item)


def _call(function: Any, *args: Any, **kwargs: Any) -> Any:
    return function(*args, **kwargs)


#: A marker: no answer (``Tracer.plain_attr``'s, for a read it leaves to ``other_attr``).
UNANSWERED: Any = type("Unanswered", (), {"__repr__": lambda self: "<unanswered>",
                                         "__slots__": ()})()
#: A marker: not set.
UNSET: Any = type("Unset", (), {"__repr__": lambda self: "<unset>", "__slots__": ()})()
#: Exact types of the operands an operation on a value guarded by value computes with
#: directly (anything else goes to the scalar tracer, which realizes it).
_PLAIN_OPERANDS = frozenset({int, float, str, bytes, bool, type(None)})


def _scalar_operation(name: str, fn: Callable[..., Any], kind: str) -> Callable[..., Any]:
    """The method ``name`` of a :class:`TrackedScalar`: on a value guarded by value already
    and plain operands, ``fn`` computed directly; else the scalar tracer, at a boundary."""
    slow = _scalar_boundary(
        lambda self, *args: object.__getattribute__(self, "_guards_tracer").scalars.operate(
            self, name, fn, args
        )
    )
    if kind in ("binary", "inplace", "reflected"):  # a scalar has no in-place form
        reflected = kind == "reflected"

        def method(self: TrackedScalar, other: Any) -> Any:
            real = object.__getattribute__(self, "_guards_real")
            args = (other, self) if reflected else (self, other)
            if real is UNSET or type(other) not in _PLAIN_OPERANDS:
                if type(other) in _PLAIN_OPERANDS or issubclass(type(other), TrackedScalar):
                    # exact built-in scalars only: no user code runs.  `slow`, inline
                    # (one operator per value a miss reads, each call a frame).
                    # quiet(), inline: its own call would be a traced frame.
                    trace = gettrace()
                    off = trace is TRACE_FUNCTION and exception() is None
                    if off:
                        settrace(None)
                    # `with called_from_user():` written out likewise (its __enter__
                    # and __exit__ were two more calls).
                    previous = USER_CALLER.frame
                    USER_CALLER.frame = user_frame(_getframe(1))
                    try:
                        tracer: Tracer = object.__getattribute__(self, "_guards_tracer")
                        # `with tracer.entered:` written out, as in Tracked's
                        # __getattribute__: two calls fewer per value a miss reads.
                        if exception() is not None:  # _Boundary.__enter__
                            tracer.check_handled()
                        try:
                            try:
                                return tracer.scalars.operate(self, name, fn, args)
                            except Exception as exc:
                                tracer.scalars.raised(self, exc)
                                raise
                        except BaseException as exc:  # _Boundary.__exit__
                            if raised_by_tracing(exc):
                                tracer.refuse(exc)
                            raise
                    finally:
                        USER_CALLER.frame = previous
                        if off:
                            settrace(trace)
                return slow(self, *args)
            try:
                return fn(other, real) if reflected else fn(real, other)
            except Exception as exc:
                tracer_of(self).scalars.raised(self, exc)
                raise
    else:
        def method(self: TrackedScalar, *args: Any) -> Any:  # type: ignore[misc]
            real = object.__getattribute__(self, "_guards_real")
            if real is UNSET or not all(type(arg) in _PLAIN_OPERANDS for arg in args):
                if all(
                    type(arg) in _PLAIN_OPERANDS or issubclass(type(arg), TrackedScalar)
                    for arg in args
                ):
                    # exact built-in scalars only: no user code runs
                    with quiet(), called_from_user():
                        return slow(self, self, *args)
                return slow(self, self, *args)
            try:
                return fn(real, *args)
            except Exception as exc:
                tracer_of(self).scalars.raised(self, exc)
                raise
    method.__name__ = method.__qualname__ = name
    return method


def is_scalar_proxy(obj: object) -> TypeGuard[TrackedScalar]:
    """True for a :class:`TrackedScalar` (decided by the exact type: runs no hook)."""
    return issubclass(type(obj), TrackedScalar)


#: ``applied(proxy)``: the transform that derives ``proxy``'s value from its tracker's
#: (``()``: none); the slot's getter, as :data:`tracker_of`.
applied: Callable[[TrackedScalar], tuple[Any, ...]] = (
    TrackedScalar.__dict__["_guards_apply"].__get__
)


def _at_boundary(method: Callable[..., Any]) -> Callable[..., Any]:
    """``method``, where user code hands control to the tracer (``Tracer.entered``)."""

    @functools.wraps(method)
    def boundary(self: Tracked, *args: Any, **kwargs: Any) -> Any:
        # tracer_of(self), inline: each frame here runs the net's trace function (3.11)
        with object.__getattribute__(self, "_guards_tracer").entered:
            return method(self, *args, **kwargs)

    return boundary


def _scalar_boundary(method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` of a :class:`TrackedScalar`, at a boundary; an error it raises (which a
    plain run may raise otherwise, or not at all) is reported to the scalar tracer."""

    @functools.wraps(method)
    def boundary(self: TrackedScalar, *args: Any, **kwargs: Any) -> Any:
        tracer: Tracer = object.__getattribute__(self, "_guards_tracer")  # tracer_of, inline
        with tracer.entered:
            try:
                return method(self, *args, **kwargs)
            except Exception as exc:
                tracer.scalars.raised(self, exc)
                raise

    return boundary


#: The methods of Tracked and TrackedObject that :func:`_guard_boundaries` leaves as they
#: are: ``__init__`` (guards' own code calls it), and ``__getattribute__`` and
#: ``__getitem__``, each its own boundary.
_OWN_BOUNDARY = frozenset({"__init__", "__getattribute__", "__getitem__"})


def _guard_boundaries() -> None:
    for cls in (Tracked, TrackedObject):
        for name, method in list(vars(cls).items()):
            if callable(method) and name not in _OWN_BOUNDARY:
                setattr(cls, name, _at_boundary(method))
    for name, method in list(vars(TrackedScalar).items()):
        if callable(method) and name != "__init__":
            setattr(TrackedScalar, name, _scalar_boundary(method))
    for name, method in (("__len__", _scalar_len), ("__iter__", _scalar_iter),
                         ("__contains__", _scalar_contains)):
        _SCALAR_SLOTS[name] = _scalar_boundary(method)
    for name, fn, kind in OPERATIONS:  # with their own boundary, past their fast path
        _SCALAR_SLOTS[name] = _scalar_operation(name, fn, kind)
        if kind in ("binary", "reflected"):
            _OPERATORS.add(name)


#: The special methods of a scalar proxy class, given only where the value's type has
#: them (:func:`_scalar_proxy_class`).
_SCALAR_SLOTS: dict[str, Callable[..., Any]] = {}
#: Binary operators, reflected or not: every scalar proxy class has them, since C
#: gives the value's type their effect through other slots (``"a" + s`` calls
#: ``str``'s concatenation, which a proxy's ``__radd__`` must stand in for), and a
#: proxy's operator computes exactly what the operator computes on the values.
_OPERATORS: set[str] = set()


def _scalar_proxy_class(cls: type) -> type[Tracked]:
    """The proxy class of a scalar of exact type ``cls``: a :class:`TrackedScalar` with
    ``cls``'s C name and a special method exactly where ``cls`` has one.

    C code decides by the presence of a slot, without calling it, whether an object
    is a number (``math.sqrt``, ``"%d" %``, ``struct.pack``: ``__float__``,
    ``__index__``), callable (``defaultdict(x)``, ``iter(x, None)``) or iterable: a
    str proxy with an ``__int__`` would be taken for a number where the str is
    refused.  No scalar proxy has ``__getitem__``, though a str has one: ``fmt % x``
    takes any ``x`` with one that is not a str (by its exact type) as the mapping of
    named conversions, so a format without a conversion would give itself where the
    str raises.  Subscripting a str proxy raises instead, and the run is traced again
    with the str itself (see :mod:`guards.specialization.scalars`).
    """
    name = c_type_name(cls)
    namespace: dict[str, Any] = {"__slots__": (), "__qualname__": name}
    for dunder, method in _SCALAR_SLOTS.items():
        if dunder in _OPERATORS or type_lookup(cls, dunder) is not None:
            namespace[dunder] = method
    return type(name, (TrackedScalar,), namespace)


_guard_boundaries()

#: The proxy class of each of :data:`SCALAR_PROXY_TYPES` (a miss makes one proxy per
#: value it reads: looked up here without a call).
SCALAR_PROXY_CLASSES: dict[type, type[Tracked]] = {
    cls: proxy_class(cls) for cls in SCALAR_PROXY_TYPES
}
