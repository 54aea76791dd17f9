"""Stand-ins, for traced code, of functions that would see the trace.

Most C code reaches a proxy through its special methods (``len``, iteration,
``str``, comparisons), which the tracer answers as the value would.  Some
functions read what no special method shows:

* *memory readers* read an object's memory (``sys.getsizeof``), or its exact
  type and the identity of its parts (``pickle`` writes a list as a list only if
  its type is ``list``, and writes a shared part once).  On a proxy they would
  answer for the proxy, so their stand-in gives them the real values and marks
  the run uncached: memory and sharing are not what a guard on a value vouches for.
* *stack readers* (``sys._getframe``, ``inspect.stack``, ``traceback.format_exc``,
  ``warnings.warn``: :data:`guards.specialization.frames.STACK_READERS`) read the call stack,
  which in a traced run holds the tracer's own frames and the traced copies'
  globals.  Their stand-in abandons the run, so the call runs plainly and they
  read the stack a plain call has (``guards.specialization.frames`` says how the stack is kept
  from code that gets no stand-in).  ``sys.setprofile`` too: it would replace
  the untraced-code net (:mod:`guards.tracking.net`).
* *identity functions* (``operator.is_``, ``operator.is_not``) compare pointers: two
  proxies of one object (a proxy per path, see ``Tracer.wrap``) would be two objects,
  and a distinct one would leave no guard.  Their stand-in answers for the values
  (``LazyTracker.is_``: ``DUPLICATE_INPUT`` for one object, ``ID_MATCH`` otherwise).
* ``sys.getprofile`` would show the net's profile function (3.11); its stand-in
  answers what a plain run sees.

Traced code never gets those functions: wherever it would (a module attribute,
a global, a builtin), the tracer hands it the stand-in from :data:`POLYFILLS`
(named after Dynamo's polyfills).

A stand-in is a :class:`StandIn`: calling it runs its own code, and nothing else
about it differs from the function it stands for (see the class).  The tracer's
stand-ins for builtins (``len``, ``type``, ``isinstance``...) are made the same way.
"""

from __future__ import annotations

import _pickle
import copyreg
import gc
import marshal
import operator
import sys
import types
from collections.abc import Callable
from typing import Any, ClassVar

from guards.specialization.frames import STACK_READERS
from guards.specialization.proxy import (
    Tracked,
    is_proxy,
    is_scalar_proxy,
    tracer_of,
    tracker_of,
)
from guards.tracking.net import plain_getprofile

#: The C functions whose answer depends on more than the value of what they are given.
MEMORY_READERS: tuple[Callable[..., Any], ...] = (
    sys.getsizeof, sys.getrefcount, gc.get_referents, gc.get_referrers, gc.is_tracked,
    _pickle.dumps, _pickle.dump, marshal.dumps, marshal.dump,
)
_CONTAINERS = (list, tuple, set, frozenset, dict)


class StandIn:
    """What traced code gets in place of a function that would see the trace.

    Calling it runs its own code (its class's ``__call__``).  By every other means
    traced code has, it is the function it stands for (:func:`real_of`): its
    attributes are that function's (``__name__``, ``__doc__``, ``__self__``,
    ``__class__``...), as are its ``repr``, ``str``, ``==``, ``!=`` and ``hash``
    (so it finds the real function's dict entries and equals it), and the messages
    of the errors it raises (its class has the name of the real function's type).
    ``type()`` of it is its own class, which traced code never sees: the tracer's
    ``type`` answers the real function's type.  Only ``is`` tells them apart, so the
    tracer hands the stand-in wherever traced code reads the real function, and
    results hold the real one again.  Made by :func:`stand_in`.
    """

    __slots__ = ()
    #: The function it stands for (read on the class: an instance's are the real one's).
    stands_for: ClassVar[Any]
    #: The stand-in for the real function's bound ``__call__``, made when first read.
    call_stand_in: ClassVar[StandIn | None] = None

    def __getattribute__(self, name: str) -> Any:
        cls = type(self)
        if name == "__call__":  # the real one's would run the real function
            if cls.call_stand_in is None:
                cls.call_stand_in = stand_in(cls.stands_for.__call__, cls.__call__)
            return cls.call_stand_in
        found = getattr(cls.stands_for, name)
        if name == "__self__" and type(found) is types.ModuleType:
            # `len.__self__.len is len`: the module as the caller's import would give it
            run_globals = sys._getframe(1).f_globals
            module_seen = getattr(type(run_globals), "module_seen", None)
            if module_seen is not None:
                return module_seen(run_globals, found)
        return found

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(type(self).stands_for, name, value)

    def __delattr__(self, name: str) -> None:
        delattr(type(self).stands_for, name)

    def __repr__(self) -> str:
        return repr(type(self).stands_for)

    def __eq__(self, other: object) -> Any:
        real = type(self).stands_for
        eq: Any = type(real).__eq__  # its type's: a class's own would be unbound
        return eq(real, real_of(other))

    def __ne__(self, other: object) -> Any:
        real = type(self).stands_for
        ne: Any = type(real).__ne__  # its type's: a class's own would be unbound
        return ne(real, real_of(other))

    def __hash__(self) -> int:
        return hash(type(self).stands_for)

    def __dir__(self) -> list[str]:
        return dir(type(self).stands_for)


class ClassStandIn(StandIn):
    """A :class:`StandIn` for a class (``type``): it also answers as that class in
    ``isinstance`` and ``issubclass``, ``cls[item]``, ``cls | other`` and ``x in cls``.
    Its instances are made by calling it, which runs its own code; as a base of a class
    statement the tracer puts the real class in its place."""

    __slots__ = ()
    __iter__ = None  # as the class: not iterable (__getitem__ would make it so)

    def __getattribute__(self, name: str) -> Any:
        return getattr(type(self).stands_for, name)  # a class's __call__ is unbound

    def __instancecheck__(self, instance: Any) -> bool:
        return isinstance(instance, type(self).stands_for)

    def __subclasscheck__(self, subclass: Any) -> bool:
        return issubclass(real_of(subclass), type(self).stands_for)

    def __getitem__(self, item: Any) -> Any:
        return type(self).stands_for[real_of(item)]

    def __contains__(self, item: Any) -> bool:
        return real_of(item) in type(self).stands_for

    def __or__(self, other: Any) -> Any:
        return type(self).stands_for | real_of(other)

    def __ror__(self, other: Any) -> Any:
        return real_of(other) | type(self).stands_for


#: The classes of the stand-ins made so far (each stand-in has its own).
STAND_IN_TYPES: set[type] = set()


def stand_in(real: Any, behaviour: Callable[..., Any]) -> StandIn:
    """A :class:`StandIn` for ``real`` (a function or a class) that calls ``behaviour``.

    ``behaviour`` is called with the stand-in's arguments and no more, straight from
    the caller (``sys._getframe(1)`` in it is the caller's frame).
    """
    base = ClassStandIn if isinstance(real, type) else StandIn
    namespace = {"__slots__": (), "stands_for": real, "__call__": staticmethod(behaviour)}
    cls = type(type(real).__name__, (base,), namespace)  # errors name the real one's type
    copyreg.pickle(cls, _by_name)  # `copy.copy(type) is type`: copied as itself
    STAND_IN_TYPES.add(cls)
    made: StandIn = cls()
    return made


def _by_name(made: StandIn) -> str:
    """How ``copy`` reduces a stand-in: by name, as the real function or class, so that
    it is its own copy (pickling is given the real one: see ``real_values``)."""
    return str(real_of(made).__qualname__)


def real_of(value: Any) -> Any:
    """What ``value`` stands for if it is a :class:`StandIn`; else ``value`` itself."""
    cls = type(value)
    return cls.stands_for if cls in STAND_IN_TYPES else value


def first_proxy(value: Any) -> Tracked | None:
    """The first proxy in ``value`` or in the built-in containers it holds, or None."""
    stack, seen = [value], set()
    while stack:
        item = stack.pop()
        if is_proxy(item):
            return item  # type: ignore[no-any-return]
        if type(item) in _CONTAINERS and id(item) not in seen:
            seen.add(id(item))
            stack.extend(item.items() if type(item) is dict else item)
    return None


def _memory_reader(fn: Callable[..., Any]) -> Callable[..., Any]:
    name = _qualified_name(fn)

    def read_memory(*args: Any, **kwargs: Any) -> Any:
        proxy = first_proxy((args, kwargs))
        if proxy is not None:
            tracer = tracer_of(proxy)
            tracer.untrackable(
                f"{name} reads {tracker_of(proxy).source.name} in memory, not by value"
            )
            args, kwargs = tracer.unwrap(args), tracer.unwrap(kwargs)
        return fn(*real_values(args), **real_values(kwargs))

    return read_memory


def real_values(value: Any) -> Any:
    """``value`` with each :class:`StandIn` in it, or in the built-in containers it holds,
    replaced by what it stands for (``pickle`` writes ``len`` by name, and checks the name
    finds the very object); ``value`` itself if it holds none."""
    t = type(value)
    if t in STAND_IN_TYPES:
        return real_of(value)
    if t in (list, tuple, set, frozenset):
        items = [real_values(item) for item in value]
        if any(a is not b for a, b in zip(items, value, strict=True)):
            return t(items)
    elif t is dict:
        pairs = [(real_values(k), real_values(v)) for k, v in value.items()]
        if any(a is not k or b is not v for (a, b), (k, v) in zip(pairs, value.items(),
                                                                   strict=True)):
            return dict(pairs)
    return value


def abandoning(
    fn: Callable[..., Any], what: str, why: str = "which the trace cannot follow"
) -> StandIn:
    """A stand-in for ``fn`` that abandons the traced run calling it (then calls ``fn``).

    The run is found through its caller's globals: a traced copy runs with a
    globals dict whose type has ``abandon_run(globals, reason)``; the reason is
    ``calls {what}, {why}``.  Called from anywhere else, the stand-in just calls ``fn``.
    """

    def abandon(*args: Any, **kwargs: Any) -> Any:
        run_globals = sys._getframe(1).f_globals
        abandon_run = getattr(type(run_globals), "abandon_run", None)
        if abandon_run is not None:
            abandon_run(run_globals, f"calls {what}, {why}")
        return fn(*args, **kwargs)

    return stand_in(fn, abandon)


def same_object(a: Any, b: Any) -> bool:
    """``a is b`` as a plain run answers it, for proxies too, guarded (``operator.is_``'s
    stand-in): see the module doc."""
    a, b = real_of(a), real_of(b)  # `len` is `builtins.len`, whichever is a stand-in
    if a is b:
        return True
    a, b = (
        tracer_of(x).realize(x, "operator.is_") if is_scalar_proxy(x) else x for x in (a, b)
    )
    if is_proxy(a):
        return tracker_of(a).is_(tracker_of(b) if is_proxy(b) else b)
    if is_proxy(b):
        return tracker_of(b).is_(a)
    return a is b


def _not_same_object(a: Any, b: Any) -> bool:
    return not same_object(a, b)


def _qualified_name(fn: Callable[..., Any]) -> str:
    module = getattr(fn, "__module__", None) or "?"
    return f"{module.lstrip('_')}.{fn.__name__}()"


#: Real function -> the stand-in that traced code gets in its place.
POLYFILLS: dict[Any, StandIn] = {
    **{fn: stand_in(fn, _memory_reader(fn)) for fn in MEMORY_READERS},
    **{
        fn: abandoning(
            fn, _qualified_name(fn), "which reads the call stack, where the tracer's frames "
            "would show"
        )
        for fn in STACK_READERS
    },
    sys.setprofile: abandoning(
        sys.setprofile, "sys.setprofile", "which would replace the untraced-code net"
    ),
    sys.getprofile: stand_in(sys.getprofile, plain_getprofile),
    operator.is_: stand_in(operator.is_, same_object),
    operator.is_not: stand_in(operator.is_not, _not_same_object),
}
