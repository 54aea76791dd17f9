"""Marks that steer tracing: ``disable`` (opaque) and ``constant``.

This module imports nothing but the standard library, so code can mark its
functions without paying for the rest of guards.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar, overload

F = TypeVar("F", bound=Callable[..., Any])


class _DisabledState(threading.local):
    def __init__(self) -> None:
        self.depth = 0


_disabled = _DisabledState()

#: Nonzero while anything sends specialized functions to their slow path: a
#: disabled region running in some thread, or verify mode.  A list, so that
#: generated code reads it as one global and a subscript.
SLOW_PATH: list[int] = [0]
_slow_lock = threading.Lock()


def _new_lock_in_child() -> None:
    # A thread of the parent may have held it at the fork (guards.forks says why);
    # not through guards.forks, so that guards.disable loads nothing of guards.
    global _slow_lock
    _slow_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock_in_child)


def slow_path_reason(delta: int) -> None:
    """Add (or, with -1, remove) a reason for specialized functions to take the slow path."""
    with _slow_lock:
        SLOW_PATH[0] += delta


def in_disabled_region() -> bool:
    """True while a function marked ``disable(recursive=True)`` runs in this thread."""
    return _disabled.depth > 0


@overload
def disable(fn: F, *, recursive: bool = True) -> F: ...
@overload
def disable(fn: None = None, *, recursive: bool = True) -> Callable[[F], F]: ...
def disable(fn: Any = None, *, recursive: bool = True) -> Any:
    """Mark ``fn`` opaque: ``specialize`` never looks inside it.

    A specialized function that calls ``fn`` cannot be cached, since what ``fn``
    read is unknown: that call runs uncached (with the reason in the
    statistics).  With ``recursive=True`` (the default) specialized functions
    that ``fn`` calls also run uncached while ``fn`` runs, which turns guards off
    for a whole region of code; with ``recursive=False`` they keep using their
    caches.  Usable as ``@disable`` or ``@disable(recursive=False)``.
    (TorchDynamo users: like ``torch._dynamo.disable``; a call to it is a graph
    break.)
    """
    if type(recursive) is not bool:
        _bad_argument("disable() needs a bool as recursive", recursive)
    if fn is None:
        return functools.partial(disable, recursive=recursive)
    if not callable(fn):
        _bad_argument("disable() needs a callable as fn", fn)
    if not recursive:
        return _marked(fn, "__guards_disabled__")

    @functools.wraps(fn)
    def disabled(*args: Any, **kwargs: Any) -> Any:
        _disabled.depth += 1
        slow_path_reason(+1)
        try:
            return fn(*args, **kwargs)
        finally:
            slow_path_reason(-1)
            _disabled.depth -= 1

    disabled.__guards_disabled__ = True  # type: ignore[attr-defined]
    return disabled


def constant(fn: F) -> F:
    """Mark ``fn`` as a constant function of its arguments.

    ``fn`` must be pure: its result depends only on its arguments, and calling
    it has no effect.  During tracing it is called with the real values, without
    looking inside it; its arguments are guarded by value (each must be a
    constant: a scalar or a container of them) and its result is used as a
    constant.  (TorchDynamo users: like ``torch._dynamo.assume_constant_result``,
    with the arguments guarded.)
    """
    if not callable(fn):
        _bad_argument("constant() needs a callable as fn", fn)
    return _marked(fn, "__guards_constant__")


def _bad_argument(what: str, value: Any) -> NoReturn:
    # Imported here: marking functions must not load the rest of guards.
    from guards.errors import GuardsTypeError, describe

    msg = f"{what}, got {describe(value)}"
    raise GuardsTypeError(msg)


def _marked(fn: F, mark: str) -> F:
    try:
        setattr(fn, mark, True)
        return fn
    except (AttributeError, TypeError):  # a builtin takes no attributes: wrap it

        @functools.wraps(fn)
        def marked(*args: Any, **kwargs: Any) -> Any:
            return fn(*args, **kwargs)

        setattr(marked, mark, True)
        return marked  # type: ignore[return-value]
