"""Special methods whose C default calls a Python method: the tracer traces the delegate.

When a class does not define a special method, Python runs a default written in
C, and several of those defaults call *another* special method of the class,
which may be written in Python.  Treating the default as opaque would run that
Python method untraced, on real values, with nothing it reads guarded (``a != b``
on a class that defines only ``__eq__``).  This module is the table of those
defaults and what each calls, as CPython implements them:

==========================  ===================================================
default                     what it calls
==========================  ===================================================
``object.__ne__``           ``type(x).__eq__``, negated unless NotImplemented
``object.__eq__``           nothing: ``True`` for the object itself, else
                            ``NotImplemented`` (Python then asks the other side)
``int(x)``, ``float(x)``    ``type(x).__index__`` when the class has no
                            ``__int__``/``__float__``
``iter(x)``                 ``type(x).__getitem__(0)``, ``(1)``... until
                            ``IndexError``, when the class has no ``__iter__``
``item in x``               iteration (as above), when the class has no
                            ``__contains__``
==========================  ===================================================

``object.__format__`` and ``object.__str__`` delegate too (to ``str(x)``, then to
``type(x).__repr__``); the tracer follows that chain itself, with the other
defaults of ``object`` (``Tracer.object_default``), since it also guards which
of them the type inherits.

Each function returns :data:`NOT_DELEGATED` when its row does not apply.  A
delegation depends on which methods the class defines, so it guards the type
(``TYPE_MATCH``).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from guards.core.builder import GuardBuilder
from guards.specialization.proxy import Tracked, is_proxy, tracker_of

if TYPE_CHECKING:
    from guards.specialization.tracer import Tracer


class _NotDelegated:
    def __repr__(self) -> str:
        return "NOT_DELEGATED"


#: What the functions here return when the special method is not a delegating default.
NOT_DELEGATED: Any = _NotDelegated()


def lookup_special(tracer: Tracer, proxy: Tracked, name: str) -> Any:
    """``name`` as ``type(proxy)`` defines it, guarded as found (``Tracer.type_lookup``)."""
    return tracer.type_lookup(tracker_of(proxy), name)


def _is_python(method: Any) -> bool:
    return isinstance(method, types.FunctionType)


_OBJECT = {name: object.__dict__[name] for name in ("__eq__", "__ne__")}


def delegated_operation(
    tracer: Tracer, proxy: Tracked, name: str, fn: Callable[..., Any], args: tuple[Any, ...]
) -> Any:
    """``fn(*args)`` for the operator ``name`` on ``proxy``, when the class leaves ``name``
    to a default of the table above; else :data:`NOT_DELEGATED`."""
    tracker = tracker_of(proxy)
    impl = lookup_special(tracer, proxy, name)
    others = tuple(a for a in args if a is not proxy)
    if name in ("__eq__", "__ne__") and impl is _OBJECT[name]:
        return _compare(tracer, proxy, name, others[0] if others else proxy)
    if name in ("__int__", "__float__") and impl is None and _is_python(
        lookup_special(tracer, proxy, "__index__")
    ):
        tracker.python_type()
        return fn(tracer.call_dunder(proxy, "__index__", ()))
    return NOT_DELEGATED


def _compare(tracer: Tracer, proxy: Tracked, name: str, other: Any) -> Any:
    """``object.__eq__``/``object.__ne__``: identity, or the class's own ``__eq__``."""
    tracker = tracker_of(proxy)
    if name == "__ne__":
        eq = lookup_special(tracer, proxy, "__eq__")
        if _is_python(eq):
            tracker.python_type()
            result = tracer.call_dunder(proxy, "__eq__", (other,))
            return result if result is NotImplemented else not result
        if eq is not _OBJECT["__eq__"]:
            return NOT_DELEGATED
    real = tracker.unguarded_value()
    if is_proxy(other) and other is not proxy and tracker_of(other).unguarded_value() is real:
        tracker_of(other).install(GuardBuilder.ID_MATCH)  # two paths to one object
        same = True
    else:
        same = other is proxy or (not is_proxy(other) and other is real)
    tracker.install(GuardBuilder.ID_MATCH)
    if same:
        return name == "__eq__"
    return NotImplemented  # Python asks the other operand, then falls back to `is`


def delegated_iteration(tracer: Tracer, proxy: Tracked) -> Iterator[Any] | None:
    """``iter(proxy)`` by the old sequence protocol (a Python ``__getitem__``, no ``__iter__``)."""
    tracker = tracker_of(proxy)
    if lookup_special(tracer, proxy, "__iter__") is not None or not _is_python(
        lookup_special(tracer, proxy, "__getitem__")
    ):
        return None
    tracker.python_type()
    return _by_getitem(tracer, proxy)


def _by_getitem(tracer: Tracer, proxy: Tracked) -> Iterator[Any]:
    index = 0
    while True:
        try:
            item = tracer.call_dunder(proxy, "__getitem__", (index,))
        except (IndexError, StopIteration):
            return
        yield item
        index += 1


def delegated_contains(tracer: Tracer, proxy: Tracked, item: Any) -> Any:
    """``item in proxy`` by iteration (no ``__contains__``, a Python ``__iter__`` or
    ``__getitem__``): each element compared as CPython does, ``is`` first, then ``==``."""
    tracker = tracker_of(proxy)
    if lookup_special(tracer, proxy, "__contains__") is not None:
        return NOT_DELEGATED
    if _is_python(lookup_special(tracer, proxy, "__iter__")):
        tracker.python_type()
        elements = iter(tracer.call_dunder(proxy, "__iter__", ()))
    else:
        by_index = delegated_iteration(tracer, proxy)
        if by_index is None:
            return NOT_DELEGATED
        elements = by_index
    return any(element is item or element == item for element in elements)
