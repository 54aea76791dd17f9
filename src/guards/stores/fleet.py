"""A miss shared by a fleet: look in the store, else one caller builds while the others wait.

When several processes miss on the same call at once (a fleet restarted, a
new input arriving everywhere), each would trace it: N processes, N traces of
the same entry.  :func:`load_or_build` makes them share the work through the
store's claim (:meth:`Store.lock`): the first to claim the key builds and puts
the entry; the others wait briefly (at most ``wait`` seconds) for it, and use
it if its guards accept their call.  The claim expires after the store's
``lock_ttl``, so a builder that dies holds nobody up for long; a caller whose
wait ends without an entry that accepts it builds its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import attrs

from guards.checks.cache import MISS
from guards.errors import check_type
from guards.stores.base import check_positive
from guards.stores.interface import Store, StoredEntry, StoreKey

T = TypeVar("T")

#: The first pause between two looks at the store while waiting, and the longest.
FIRST_PAUSE, LONGEST_PAUSE = 0.005, 0.1


class _Claims(threading.local):
    """The keys whose claim this thread holds, in :func:`load_or_build` calls further
    up its stack."""

    def __init__(self) -> None:
        self.held: set[StoreKey] = set()


_CLAIMS = _Claims()


@attrs.frozen
class Loaded(Generic[T]):
    """What :func:`load_or_build` returns: the ``value``; ``from_store`` is True when
    it came from an entry of the store (its guards accepted the call), False when
    this caller built it; ``waited`` is True when this caller waited for another's
    claim."""

    value: T
    from_store: bool
    waited: bool = False


def _first_accepted(
    entries: list[StoredEntry], accept: Callable[[StoredEntry], Any], seen: set[str]
) -> Any:
    for entry in entries:
        digest = entry.document_digest + str(entry.created)
        if digest in seen:
            continue
        seen.add(digest)
        value = accept(entry)
        if value is not MISS:
            return value
    return MISS


def load_or_build(
    store: Store,
    key: StoreKey,
    accept: Callable[[StoredEntry], Any],
    build: Callable[[], tuple[T, StoredEntry | None]],
    *,
    wait: float = 2.0,
) -> Loaded[T]:
    """The value for this call: from an entry of ``store`` under ``key``, or built.

    ``accept(entry)`` checks one candidate: it loads ``entry.document`` (the
    guards), checks them against the call, and returns the value (typically
    ``store.serializer.loads(entry.value)``) when they pass, or
    :data:`~guards.MISS` when they do not; it is called at most once per
    candidate.  ``build()`` makes the value when no candidate passes and
    returns it with the entry to put in the store (None for a value that must
    stay local).

    The steps: the candidates in the store, newest first; else claim ``key``;
    the winner looks once more (another may have just put an entry), builds,
    puts, releases; a loser looks at the store again, with growing pauses, for
    at most ``wait`` seconds or until the claim is released, then builds its
    own if no entry accepted its call.  A call made while the same thread holds
    the claim on ``key`` further up its stack (a recursive function's inner miss)
    does not claim or wait: it builds its own.  ``accept`` and ``build`` may raise;
    their error propagates (a claim won is released).

    Raises :class:`~guards.GuardsTypeError` or :class:`~guards.GuardsValueError`
    naming the argument for a bad argument.
    """
    check_type("store", store, Store)
    check_type("key", key, StoreKey)
    wait = check_positive("wait", wait)
    seen: set[str] = set()
    value = _first_accepted(store.get(key), accept, seen)
    if value is not MISS:
        return Loaded(value, True)
    held = _CLAIMS.held
    if key in held:
        # This thread claimed the key further up its stack (a recursion, a build that
        # misses on its own key): waiting for that claim would wait for itself.
        return Loaded(_build_and_put(store, key, build), False)
    with store.lock(key) as won:
        if won:
            held.add(key)
            try:
                value = _first_accepted(store.get(key), accept, seen)
                if value is not MISS:
                    return Loaded(value, True)
                return Loaded(_build_and_put(store, key, build), False)
            finally:
                held.discard(key)
    value = _wait_for_entry(store, key, accept, seen, wait)
    if value is not MISS:
        return Loaded(value, True, waited=True)
    return Loaded(_build_and_put(store, key, build), False, waited=True)


def _wait_for_entry(
    store: Store,
    key: StoreKey,
    accept: Callable[[StoredEntry], Any],
    seen: set[str],
    wait: float,
) -> Any:
    deadline = time.monotonic() + wait
    pause = FIRST_PAUSE
    while True:
        released = not store.lock_held(key)
        value = _first_accepted(store.get(key), accept, seen)
        if value is not MISS or released or time.monotonic() >= deadline:
            return value
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 2, LONGEST_PAUSE)


def _build_and_put(
    store: Store, key: StoreKey, build: Callable[[], tuple[T, StoredEntry | None]]
) -> T:
    value, entry = build()
    if entry is not None:
        store.put(key, entry)
    return value
