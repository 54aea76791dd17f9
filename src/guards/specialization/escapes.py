"""The leak net: nothing made for a traced run may outlive it.

A traced run hands user code proxies and runs it on tracked globals dicts.
Once the run is over and its frames are gone, the tracer's own bookkeeping
should hold the last reference to each of them.  Anything else that still
holds one (a result object the tracer could not rewrite, an iterator, an
exception, a closure, a function or class made during the run, a registry the
run stored into through code the trace did not enter) would later use a dead
trace's proxy or read frozen globals.  So the tracer counts references: a
value whose reference count is higher than its holder's own reference has
escaped, and the run is not used.

Reference counts also include cycles that only the garbage collector frees
(a frame kept by an exception it stored, a recursive inner function); one
collection runs before a count is believed.
"""

from __future__ import annotations

import gc
import sys
import types
import weakref
from collections.abc import Iterable, Mapping
from typing import Any


def _counts(holder: Mapping[Any, Any]) -> list[tuple[Any, int]]:
    # One expression for the calibration and the real count, so that the
    # references the counting itself holds (loop variable, argument) cancel out.
    return [(value, sys.getrefcount(value)) for value in holder.values()]


#: What ``_counts`` reports for a value that only its holder refers to.
_ALONE = _counts({0: object()})[0][1]


def _shared(holders: Iterable[Mapping[Any, Any]], made: Iterable[weakref.ref[Any]]) -> Any:
    for holder in holders:
        for value, count in _counts(holder):
            if count > _ALONE or weakref.getweakrefcount(value):
                return value
    for ref in made:
        value = ref()
        if value is not None:
            return value
    return None


def outliving(holders: Iterable[Mapping[Any, Any]], made: Iterable[weakref.ref[Any]]) -> Any:
    """The first value that something other than its holder still refers to, or ``None``.

    ``holders`` are the tracer's own dicts (each value held once, by the dict,
    and weakly by nothing: a weak reference that outlives the run would later
    find it dead, where a plain run's would find the real object alive);
    ``made`` are weak references to objects made during the run, which nothing
    should keep alive after it.  Only when one seems kept does a garbage
    collection run, and the answer is what still holds after it.
    """
    holders, made = list(holders), list(made)
    if _shared(holders, made) is None:
        return None
    gc.collect()
    return _shared(holders, made)


def function_holding(namespace: dict[str, Any]) -> types.FunctionType | None:
    """A function whose ``__globals__`` is ``namespace`` (to name a leak), if there is one."""
    for referrer in gc.get_referrers(namespace):
        if type(referrer) is types.FunctionType and referrer.__globals__ is namespace:
            return referrer
    return None
