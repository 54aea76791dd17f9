"""Locks a forked child can use: every lock guards holds is made again in the child.

``os.fork()`` copies only the thread that forks; a lock another thread held at
that moment stays held in the child forever, and the child's first call that
needs it would block for good (a specialized function's miss lock, held by a
thread in the middle of a miss).  As CPython's ``logging`` and ``threading``
modules do, guards re-creates its locks in the child
(``os.register_at_fork(after_in_child=...)``): the objects that own locks are
kept in a weak registry (:func:`fork_safe`), and module-level locks re-create
themselves.  What such a lock protected stays usable: a miss that another
thread of the parent had half done is simply not there in the child, whose
own call misses and runs the function itself.

An ``RLock`` that the forking thread itself holds is kept (the thread goes on
in the child and releases it); only locks held by threads that the child does
not have are replaced.  Standard library only.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any

_RLOCK_TYPE = type(threading.RLock())

#: id(owner) -> (weak reference to the owner, names of its lock attributes).
_owners: dict[int, tuple[weakref.ref[Any], tuple[str, ...]]] = {}


def fork_safe(owner: Any, *names: str) -> None:
    """Re-create ``owner``'s lock attributes ``names`` in a forked child.

    ``owner`` must allow weak references (it is not kept alive by this);
    each attribute must hold a ``threading.Lock`` or ``threading.RLock``, and
    gets a new one of the same kind in the child.
    """
    key = id(owner)
    _owners[key] = (weakref.ref(owner, lambda _: _owners.pop(key, None)), names)


def fresh_lock(lock: Any) -> Any:
    """The lock to use in a forked child instead of ``lock``: a new one of its kind,
    or ``lock`` itself when it is an ``RLock`` that the (forking) current thread holds."""
    if isinstance(lock, _RLOCK_TYPE):
        # _is_owned: what threading.Condition asks an RLock (not in typeshed).
        return lock if lock._is_owned() else threading.RLock()  # type: ignore[attr-defined]
    return threading.Lock()


def _after_fork_in_child() -> None:
    for ref, names in list(_owners.values()):
        owner = ref()
        if owner is None:
            continue
        for name in names:
            object.__setattr__(owner, name, fresh_lock(getattr(owner, name)))


if hasattr(os, "register_at_fork"):  # not on Windows, which cannot fork
    os.register_at_fork(after_in_child=_after_fork_in_child)
