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
"""

from __future__ import annotations

import _pickle
import functools
import gc
import marshal
import operator
import sys
from collections.abc import Callable
from typing import Any

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

    @functools.wraps(fn)
    def stand_in(*args: Any, **kwargs: Any) -> Any:
        proxy = first_proxy((args, kwargs))
        if proxy is not None:
            tracer = tracer_of(proxy)
            tracer.untrackable(
                f"{name} reads {tracker_of(proxy).source.name} in memory, not by value"
            )
            args, kwargs = tracer.unwrap(args), tracer.unwrap(kwargs)
        return fn(*args, **kwargs)

    return stand_in


def abandoning(
    fn: Callable[..., Any], what: str, why: str = "which the trace cannot follow"
) -> Callable[..., Any]:
    """A stand-in for ``fn`` that abandons the traced run calling it (then calls ``fn``).

    The run is found through its caller's globals: a traced copy runs with a
    globals dict whose type has ``abandon_run(globals, reason)``; the reason is
    ``calls {what}, {why}``.  Called from anywhere else, the stand-in just calls ``fn``.
    """

    @functools.wraps(fn)
    def stand_in(*args: Any, **kwargs: Any) -> Any:
        run_globals = sys._getframe(1).f_globals
        abandon_run = getattr(type(run_globals), "abandon_run", None)
        if abandon_run is not None:
            abandon_run(run_globals, f"calls {what}, {why}")
        return fn(*args, **kwargs)

    return stand_in


def same_object(a: Any, b: Any) -> bool:
    """``a is b`` as a plain run answers it, for proxies too, guarded (``operator.is_``'s
    stand-in): see the module doc."""
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


@functools.wraps(operator.is_not)
def _not_same_object(a: Any, b: Any) -> bool:
    return not same_object(a, b)


def _qualified_name(fn: Callable[..., Any]) -> str:
    module = getattr(fn, "__module__", None) or "?"
    return f"{module.lstrip('_')}.{fn.__name__}()"


#: Real function -> the stand-in that traced code gets in its place.
POLYFILLS: dict[Any, Callable[..., Any]] = {
    **{fn: _memory_reader(fn) for fn in MEMORY_READERS},
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
    sys.getprofile: plain_getprofile,
    operator.is_: functools.wraps(operator.is_)(same_object),
    operator.is_not: _not_same_object,
}
#: Stand-in -> the real function (what a result holding a stand-in must hold).
REAL_FUNCTIONS: dict[Any, Callable[..., Any]] = {
    stand_in: real for real, stand_in in POLYFILLS.items()
}
