"""What every store of the library does the same way, over a backend's few raw operations.

:class:`RecordStore` implements :class:`~guards.stores.interface.Store`: it
encodes and signs records (:mod:`guards.stores.records`), checks them on the
way back and counts the ones it ignores, keeps the statistics, runs the claims
of :meth:`RecordStore.lock`, and goes through an
:class:`~guards.stores.outage.Outage` so that a failing backend is bypassed.
A backend (SQLite, Redis) supplies only the raw operations: write a record,
read a key's records, take, test and release a claim.
"""

from __future__ import annotations

import abc
import secrets
import threading
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from guards.errors import GuardsValueError, StoreWarning, check_type, must_be
from guards.forks import fork_safe
from guards.stores.interface import StoredEntry, StoreKey, StoreStats
from guards.stores.outage import Outage
from guards.stores.records import decode_record, encode_record
from guards.stores.serializers import Serializer
from guards.stores.signing import RecordSigner

_REJECTION_WORDS = {
    "unsigned": "unsigned records (this store has a key, so it loads only records signed with it)",
    "bad_signature": "records whose signature its key does not verify (written with another "
    "key, or changed since)",
    "malformed": "malformed records (not written by guards, or damaged)",
}


def check_positive(arg: str, value: object) -> float:
    """``value`` as a float when it is a real number > 0, else the error naming ``arg``."""
    check_type(arg, value, (int, float))
    if isinstance(value, bool) or not 0 < value < float("inf"):  # type: ignore[operator]
        raise must_be(arg, "a number of seconds > 0", value, GuardsValueError)
    return float(value)  # type: ignore[arg-type]


class RecordStore(abc.ABC):
    """The shared half of :class:`~guards.SQLiteStore` and :class:`~guards.RedisStore`.

    ``key`` signs every record written and is required of every record read
    (None: records are written unsigned and every well-formed record is read);
    ``serializer`` turns values into bytes (:data:`~guards.stores.serializers.PICKLE`
    by default); ``max_entries`` is how many entries a key keeps (the oldest go
    first); ``lock_ttl`` is how long a claim lasts at most (seconds);
    ``backoff`` is how long the store is bypassed after its backend failed.
    """

    def __init__(
        self,
        *,
        name: str,
        key: bytes | str | None,
        serializer: Serializer,
        max_entries: int,
        lock_ttl: float,
        backoff: float,
        errors: tuple[type[BaseException], ...],
    ) -> None:
        if not isinstance(serializer, Serializer):
            raise must_be("serializer", "a Serializer (name, dumps, loads)", serializer)
        if type(max_entries) is not int:
            raise must_be("max_entries", "an int", max_entries)
        if max_entries < 1:
            raise must_be("max_entries", "an int >= 1", max_entries, GuardsValueError)
        self.serializer = serializer
        self.max_entries = max_entries
        self.lock_ttl = check_positive("lock_ttl", lock_ttl)
        self._signer = None if key is None else RecordSigner(key)
        self._counts: Counter[str] = Counter()
        self._warned: set[str] = set()
        self._counts_lock = threading.Lock()
        fork_safe(self, "_counts_lock")
        self.outage = Outage(name, errors, check_positive("backoff", backoff), self._count)

    @property
    def signed(self) -> bool:
        """Whether this store signs its records and reads only signed ones."""
        return self._signer is not None

    # -- the backend's raw operations -------------------------------------------------

    @abc.abstractmethod
    def write_record(self, key_id: str, entry_id: str, created: float, record: bytes) -> None:
        """Keep ``record`` under ``key_id`` as entry ``entry_id`` (replacing one of that
        id), then drop the oldest entries of ``key_id`` beyond ``max_entries``."""

    @abc.abstractmethod
    def read_records(self, key_id: str) -> list[bytes]:
        """Every record kept under ``key_id``, in any order."""

    @abc.abstractmethod
    def try_lock(self, key_id: str, token: str) -> bool:
        """Take the claim on ``key_id`` for ``lock_ttl`` seconds unless someone holds it."""

    @abc.abstractmethod
    def unlock(self, key_id: str, token: str) -> None:
        """Release the claim on ``key_id`` if ``token`` still holds it."""

    @abc.abstractmethod
    def lock_exists(self, key_id: str) -> bool:
        """Whether anyone holds an unexpired claim on ``key_id``."""

    # -- the Store interface ----------------------------------------------------------

    def put(self, key: StoreKey, entry: StoredEntry) -> None:
        """File ``entry`` under ``key`` (signed when the store has a key), replacing an
        entry with the same document; the oldest entries beyond ``max_entries`` go.

        Raises :class:`~guards.GuardsTypeError` naming ``key`` or ``entry`` when
        one is not a :class:`StoreKey` or :class:`StoredEntry`.  A backend that
        fails drops the entry (warned once, counted in ``stats().failures``).
        """
        check_type("key", key, StoreKey)
        check_type("entry", entry, StoredEntry)
        self._count("puts")
        record = encode_record(key, entry, self.serializer.name, self._signer)
        self.outage.run(
            lambda: self.write_record(key.digest, entry.document_digest, entry.created, record),
            None,
        )

    def get(self, key: StoreKey) -> list[StoredEntry]:
        """The trusted entries filed under ``key``, newest first.

        A record this store cannot trust (unsigned or badly signed where the
        store has a key) or read is ignored, never deserialized, and counted in
        :meth:`stats`; the first of each kind is warned once with
        :class:`~guards.StoreWarning`.  Records of another serializer are
        skipped.  Raises :class:`~guards.GuardsTypeError` naming ``key`` when it
        is not a :class:`StoreKey`.
        """
        check_type("key", key, StoreKey)
        self._count("gets")
        key_id = key.digest
        entries: list[StoredEntry] = []
        no_records: list[bytes] = []
        for record in self.outage.run(lambda: self.read_records(key_id), no_records):
            decoded = decode_record(key, record, self._signer)
            if decoded.entry is None:
                self._reject(decoded.verdict)
            elif decoded.serializer != self.serializer.name:
                self._count("foreign")
            else:
                entries.append(decoded.entry)
        entries.sort(key=lambda entry: entry.created, reverse=True)
        self._count("candidates", len(entries))
        return entries

    @contextmanager
    def lock(self, key: StoreKey) -> Iterator[bool]:
        """Claim ``key`` for at most ``lock_ttl`` seconds: see :meth:`Store.lock`.

        Yields True when this caller won the claim (also when the backend
        failed: with no store to share, each process builds its own), False
        when another caller holds it.  Leaving the block releases a claim won.
        """
        check_type("key", key, StoreKey)
        key_id, token = key.digest, secrets.token_hex(16)
        won = self.outage.run(lambda: self.try_lock(key_id, token), True)
        self._count("locks_won" if won else "locks_lost")
        try:
            yield won
        finally:
            if won:
                self.outage.run(lambda: self.unlock(key_id, token), None)

    def lock_held(self, key: StoreKey) -> bool:
        """Whether some caller holds an unexpired claim on ``key`` (False when the
        backend fails)."""
        check_type("key", key, StoreKey)
        key_id = key.digest
        return self.outage.run(lambda: self.lock_exists(key_id), False)

    def stats(self) -> StoreStats:
        """The counts of what this store object has done (see :class:`StoreStats`)."""
        with self._counts_lock:
            return StoreStats(**self._counts)

    # -- bookkeeping ------------------------------------------------------------------

    def _count(self, name: str, amount: int = 1) -> None:
        with self._counts_lock:
            self._counts[name] += amount

    def _reject(self, verdict: str) -> None:
        self._count(f"rejected_{verdict}")
        with self._counts_lock:
            first = verdict not in self._warned
            self._warned.add(verdict)
        if first:
            warnings.warn(
                f"{self.outage.store} ignored {_REJECTION_WORDS[verdict]}; "
                "they are counted in stats() and never loaded",
                StoreWarning,
                stacklevel=3,
            )
