"""Stand-ins, for traced code, of C functions that see through a proxy.

Most C code reaches a proxy through its special methods (``len``, iteration,
``str``, comparisons), which the tracer answers as the value would.  A few C
functions read what no special method shows: an object's memory
(``sys.getsizeof``), or its exact type and the identity of its parts (``pickle``
writes a list as a list only if its type is ``list``, and writes a shared part
once).  On a proxy they would answer for the proxy, not the value.

Traced code never gets those functions: wherever it would (a module attribute,
a global, a builtin), the tracer hands it the stand-in from :data:`POLYFILLS`
(named after Dynamo's polyfills), which calls the real function on the real
values and marks the run uncached, since a value's memory or sharing is not
something a guard on its value can vouch for.
"""

from __future__ import annotations

import _pickle
import functools
import marshal
import sys
from collections.abc import Callable
from typing import Any

from guards.proxy import Tracked, is_proxy, tracer_of, tracker_of

#: The C functions whose answer depends on more than the value of what they are given.
MEMORY_READERS: tuple[Callable[..., Any], ...] = (
    sys.getsizeof, _pickle.dumps, _pickle.dump, marshal.dumps, marshal.dump,
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
    name = f"{getattr(fn, '__module__', None) or '?'}.{fn.__name__}"
    name = name.replace("_pickle.", "pickle.")

    @functools.wraps(fn)
    def stand_in(*args: Any, **kwargs: Any) -> Any:
        proxy = first_proxy((args, kwargs))
        if proxy is not None:
            tracer = tracer_of(proxy)
            tracer.untrackable(
                f"{name}() reads {tracker_of(proxy).source.name} in memory, not by value"
            )
            args, kwargs = tracer.unwrap(args), tracer.unwrap(kwargs)
        return fn(*args, **kwargs)

    return stand_in


#: Real C function -> the stand-in that traced code gets in its place.
POLYFILLS: dict[Any, Callable[..., Any]] = {fn: _memory_reader(fn) for fn in MEMORY_READERS}
