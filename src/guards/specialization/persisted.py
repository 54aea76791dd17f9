"""A specialized function's entries shared through a store (``specialize(store=...)``).

On a local miss, the function looks in its :class:`~guards.Store` before tracing:
each candidate's guards document is loaded (:func:`~guards.load_check`, which runs
nothing from the document) and checked against the call; the first that passes
answers with its value, and its entry is kept locally from then on.  A new entry
whose guards can be written (``CheckFunction.portable_reason`` is None) and whose
result the store's serializer gives back equal is written to the store.  Misses
of several processes at once share one trace through the store's claim
(:func:`~guards.load_or_build`).

What the store is keyed by: the function's module and qualified name, the
fingerprint of its code (so another version of the code never offers its
entries), the traits of the process that a result can depend on but no guard
sees (:func:`process_traits`) and the version of the guards document format.
"""

from __future__ import annotations

import collections
import sys
import threading
from collections.abc import Callable
from typing import Any

from guards import __version__
from guards.checks.cache import MISS
from guards.checks.compiled import CheckFunction, load_check
from guards.checks.portable import VERSION
from guards.core.naming import function_fingerprint
from guards.errors import DocumentError
from guards.forks import fork_safe
from guards.stores.interface import Store, StoredEntry, StoreKey

#: Guard documents kept loaded per function (a store offers the same few again).
LOADED_DOCUMENTS = 64
#: A str whose hash tells processes with different str hash seeds apart.
_HASH_PROBE = "guards.process-traits"


def process_traits() -> str:
    """What a traced run's result can depend on that differs between processes and
    that no guard sees, as text: a part of every function's store key.

    - the version of guards: an entry is as sound as the tracer that made it, and an
      upgrade that fixes the tracer must not be answered by the entries of the
      tracer it fixed;
    - the interpreter and its minor version (``cpython-3.12``): the same bytecode
      can mean other builtins (``sum()`` of floats changed in 3.12);
    - the limit of int/str conversions (``sys.get_int_max_str_digits()``, set by
      ``PYTHONINTMAXSTRDIGITS``): ``str(10 ** 1000)`` raises under a lower one;
    - under hash randomization (``PYTHONHASHSEED`` unset or not ``0``), the hash of
      a fixed str: the str and bytes hash seed.  A result can hold ``hash(s)`` or
      the iteration order of a set of str, the same on every call of one process
      and another in the next; processes share entries only when they share the
      seed (set ``PYTHONHASHSEED`` to the same value for a fleet).
    """
    version = sys.version_info
    traits = (f"{sys.implementation.name}-{version.major}.{version.minor}"
              f";guards={__version__};digits={sys.get_int_max_str_digits()}")
    if sys.flags.hash_randomization:
        traits += f";hash={hash(_HASH_PROBE) & 0xFFFF_FFFF_FFFF_FFFF:016x}"
    return traits


class StoreLink:
    """What a specialized function knows of its store: the key of its entries, the
    documents it loaded, and how a value goes in and comes out.

    ``results_equal(a, b)`` tells whether a value that went through the store's
    serializer came back as the same value (verify mode's equality).
    """

    def __init__(
        self, function: Any, store: Store, results_equal: Callable[[Any, Any], bool]
    ) -> None:
        self.function = function
        self.store = store
        self._results_equal = results_equal
        self._key: tuple[Any, str, StoreKey] | None = None
        # document -> its check, or None when it cannot be loaded in this process.
        self._loaded: collections.OrderedDict[str, CheckFunction | None] = (
            collections.OrderedDict()
        )
        self._lock = threading.Lock()
        fork_safe(self, "_lock")

    def key(self) -> StoreKey:
        """The key of the function's entries, for its code as it is now."""
        code = self.function.__code__
        traits = process_traits()  # each time: the int/str limit can be changed
        known = self._key
        if known is None or known[0] is not code or known[1] != traits:
            fingerprint = f"{function_fingerprint(self.function)}/{traits}"
            # A function made by exec without a __name__ has no module: filed under
            # "" (its code's fingerprint still keeps other code's entries apart).
            module = self.function.__module__
            key = StoreKey(module if isinstance(module, str) else "",
                           self.function.__qualname__, fingerprint, VERSION)
            known = self._key = (code, traits, key)
        return known[2]

    def check_of(self, document: str) -> CheckFunction | None:
        """The check a stored guards document describes, or None when it cannot be
        loaded here (malformed, or naming what this process does not have)."""
        with self._lock:
            if document in self._loaded:
                self._loaded.move_to_end(document)
                return self._loaded[document]
        try:
            check: CheckFunction | None = load_check(document)
        except DocumentError:  # StaleDocumentError too: another version, or not imported
            check = None
        with self._lock:
            self._loaded[document] = check
            if len(self._loaded) > LOADED_DOCUMENTS:
                self._loaded.popitem(last=False)
        return check

    def value_of(self, entry: StoredEntry) -> Any:
        """The value of a stored entry, or :data:`~guards.MISS` when the serializer
        cannot give it back here (a class this process does not have)."""
        try:
            return self.store.serializer.loads(entry.value)
        except Exception:  # a pickle naming a missing class, a changed one
            return MISS

    def entry_for(self, check: CheckFunction, result: Any, aliased: tuple[Any, ...]) -> (
        StoredEntry | None
    ):
        """The entry to write for a new local one, or None when it must stay local:
        its guards cannot be named in another process, it returns an input as itself,
        or its result does not come back equal from the serializer."""
        if aliased or check.portable_reason is not None:
            return None
        serializer = self.store.serializer
        try:
            document = check.to_json()
            value = serializer.dumps(result)
            back = serializer.loads(value)
        except Exception:  # an unpicklable result, a value the codec refuses
            return None
        if not self._results_equal(result, back):
            return None
        return StoredEntry(document, value)
