"""What a store is: the key of a function, an entry kept under it, and the interface.

A store keeps entries outside the process, so that another run of the program,
or another process on another machine, can reuse them.  An entry is a guards
document (the text :meth:`CheckFunction.to_json` gives; a store never reads it)
and a value serialized to bytes.  Entries are filed under a :class:`StoreKey`,
the identity of the function (or compiled program) they belong to.

Any object with the methods of :class:`Store` is a store; the two the library
ships are :class:`~guards.SQLiteStore` and :class:`~guards.RedisStore`.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable

import attrs

from guards.errors import GuardsValueError, must_be
from guards.stores.serializers import Serializer


def _text(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str):
        raise must_be(f"{type(instance).__name__}.{attribute.name}", "a str", value)


def _version(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    name = f"{type(instance).__name__}.{attribute.name}"
    if type(value) is not int:
        raise must_be(name, "an int", value)
    if value < 0:
        raise must_be(name, "an int >= 0", value, GuardsValueError)


def _default_writer() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@attrs.frozen
class StoreKey:
    """Which function (or compiled program) entries belong to.

    ``module`` and ``qualname`` name it (``"app.planner"``, ``"plan"``);
    ``fingerprint`` is a str that changes when its code changes (the store takes
    it as given: entries made by another version of the code must not be
    offered to this one); ``format_version`` is the version of the documents
    filed under the key, so that a process never reads documents written in a
    format it does not know.  Two keys are the same key when all four fields
    are equal.

    Raises :class:`~guards.GuardsTypeError` naming the field for a field of the
    wrong type.
    """

    module: str = attrs.field(validator=_text)
    qualname: str = attrs.field(validator=_text)
    fingerprint: str = attrs.field(validator=_text)
    format_version: int = attrs.field(default=1, validator=_version)

    @classmethod
    def of(cls, function: Any, fingerprint: str, format_version: int = 1) -> StoreKey:
        """The key of ``function`` (its ``__module__`` and ``__qualname__``), with the
        ``fingerprint`` of its code as the caller computes it.

        Raises :class:`~guards.GuardsTypeError` naming ``function`` when it has no
        str ``__module__`` and ``__qualname__``.
        """
        module = getattr(function, "__module__", None)
        qualname = getattr(function, "__qualname__", None)
        if not (isinstance(module, str) and isinstance(qualname, str)):
            raise must_be("function", "a function or class (with __module__, __qualname__)",
                          function)
        return cls(module, qualname, fingerprint, format_version)

    @property
    def digest(self) -> str:
        """A hex SHA-256 of the four fields: the name stores file the key under."""
        fields = [self.module, self.qualname, self.fingerprint, self.format_version]
        return hashlib.sha256(json.dumps(fields).encode()).hexdigest()


def _payload(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not bytes:
        raise must_be("StoredEntry.value", "bytes (from the store's serializer)", value)


def _created(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) not in (int, float) or not (0 <= value < float("inf")):  # type: ignore[operator]
        raise must_be("StoredEntry.created", "a finite time in seconds >= 0", value)


@attrs.frozen
class StoredEntry:
    """One entry of a store: a guards document and the value it guards.

    ``document`` is the guards document (JSON text, from
    :meth:`CheckFunction.to_json`), opaque to the store; ``value`` is the value
    serialized by the store's :attr:`Store.serializer` (``store.serializer.dumps``);
    ``created`` is when it was made (seconds since the epoch; candidates are
    returned newest first); ``writer`` says who made it (``"host:pid"`` by
    default), for people reading a store.

    Raises :class:`~guards.GuardsTypeError` naming the field for a field of the
    wrong type.
    """

    document: str = attrs.field(validator=_text)
    value: bytes = attrs.field(validator=_payload, repr=lambda v: f"<{len(v)} bytes>")
    created: float = attrs.field(factory=time.time, validator=_created)
    writer: str = attrs.field(factory=_default_writer, validator=_text)

    @property
    def document_digest(self) -> str:
        """A hex SHA-256 of the document: a store keeps one entry per key and document,
        so putting an entry with the same guards again replaces the older one."""
        return hashlib.sha256(self.document.encode("utf-8", "surrogatepass")).hexdigest()


@attrs.frozen
class StoreStats:
    """What a store has done since it was made (``store.stats()``).

    ``puts`` and ``gets`` count the calls; ``candidates`` counts the entries
    ``get`` returned.  The ``rejected_*`` counts are records that ``get`` ignored
    and never deserialized: ``rejected_unsigned`` had no signature where the
    store has a key, ``rejected_bad_signature`` had one that the key does not
    verify, ``rejected_malformed`` could not be read as a record at all.
    ``foreign`` are records written with another serializer, skipped.
    ``failures`` counts the calls the backend failed (a server down or slow,
    a database locked too long) and ``bypassed`` the calls not even tried during
    the back-off after a failure; both returned as if the store were empty.
    ``locks_won`` and ``locks_lost`` count :meth:`Store.lock` claims.
    """

    puts: int = 0
    gets: int = 0
    candidates: int = 0
    rejected_unsigned: int = 0
    rejected_bad_signature: int = 0
    rejected_malformed: int = 0
    foreign: int = 0
    failures: int = 0
    bypassed: int = 0
    locks_won: int = 0
    locks_lost: int = 0

    @property
    def rejected(self) -> int:
        """Every record ignored as untrusted or unreadable."""
        return self.rejected_unsigned + self.rejected_bad_signature + self.rejected_malformed


@runtime_checkable
class Store(Protocol):
    """The interface of a store: what ``@specialize(store=...)`` and tracers use.

    Every method is safe to call from several threads and processes at once, and
    none raises because the backend is unreachable: a store that cannot be used
    behaves as an empty one (``get`` returns ``[]``, ``put`` drops the entry,
    ``lock`` is won) and says so once with a :class:`~guards.StoreWarning`.
    """

    #: Turns values into the bytes of :attr:`StoredEntry.value` and back.
    serializer: Serializer

    def put(self, key: StoreKey, entry: StoredEntry) -> None:
        """File ``entry`` under ``key``, replacing an entry with the same document."""
        ...

    def get(self, key: StoreKey) -> list[StoredEntry]:
        """The trusted entries filed under ``key``, newest first (maybe none)."""
        ...

    def lock(self, key: StoreKey) -> AbstractContextManager[bool]:
        """Claim ``key`` for a short while: ``with store.lock(key) as won:``.

        ``won`` is True when this caller holds the claim (it should build the
        entry and put it before leaving the block, which releases the claim);
        False when another caller holds it (it should wait briefly for that
        caller's entry: see :func:`~guards.load_or_build`).  A claim expires by
        itself after the store's ``lock_ttl``, so a caller that dies holding one
        blocks nobody for long.
        """
        ...

    def lock_held(self, key: StoreKey) -> bool:
        """Whether some caller holds the claim on ``key`` now."""
        ...

    def stats(self) -> StoreStats:
        """The counts of what the store has done (see :class:`StoreStats`)."""
        ...
