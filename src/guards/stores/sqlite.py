"""``guards.SQLiteStore``: entries in one SQLite file, shared by the processes of a machine.

The embedded default: the standard library's :mod:`sqlite3`, no server.  The
database is in WAL mode (readers never wait for a writer), each write is one
``BEGIN IMMEDIATE`` transaction, and a connection waits up to ``timeout``
seconds for another process's write before the store gives up on that call
(bypassed, warned once).  Each thread of each process has its own connection;
a forked child opens its own.  A claim (:meth:`SQLiteStore.lock`) is a row with
an expiry time.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref

from guards.errors import GuardsValueError, check_type
from guards.stores.base import RecordStore, check_positive
from guards.stores.serializers import PICKLE, Serializer

_SCHEMA = """
CREATE TABLE IF NOT EXISTS guards_entries (
    key_id TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    created REAL NOT NULL,
    record BLOB NOT NULL,
    PRIMARY KEY (key_id, entry_id)
);
CREATE INDEX IF NOT EXISTS guards_entries_by_age ON guards_entries (key_id, created);
CREATE TABLE IF NOT EXISTS guards_locks (
    key_id TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    expires REAL NOT NULL
);
"""


def _close_all(connections: list[tuple[int, sqlite3.Connection]]) -> None:
    pid = os.getpid()
    for owner, connection in connections:
        if owner == pid:
            connection.close()
    connections.clear()


class SQLiteStore(RecordStore):
    """A store in the SQLite database at ``path`` (made if missing), safe for several
    threads and processes at once.

    ``key`` (bytes or str, at least 16 bytes) signs every record and makes the
    store ignore records not signed with it; without one, records are unsigned
    and every well-formed record is loaded, so the file must be writable only by
    users you trust (see "Trust model" in ``docs/reliability.md``).
    ``serializer`` turns values into bytes (pickle by default); ``max_entries``
    is how many entries a key keeps (the oldest go first); ``timeout`` is how
    long a call waits for another process's write (seconds); ``lock_ttl`` is
    how long a claim lasts at most; ``backoff`` is how long the store is
    bypassed after a failure.

    Raises :class:`~guards.GuardsTypeError` or :class:`~guards.GuardsValueError`
    naming the argument for a bad argument, including a ``path`` where no
    database can be opened.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        key: bytes | str | None = None,
        serializer: Serializer = PICKLE,
        max_entries: int = 64,
        timeout: float = 5.0,
        lock_ttl: float = 10.0,
        backoff: float = 1.0,
    ) -> None:
        check_type("path", path, (str, os.PathLike))
        self.path = os.fspath(path)
        self.timeout = check_positive("timeout", timeout)
        super().__init__(
            name=f"SQLiteStore({self.path!r})",
            key=key,
            serializer=serializer,
            max_entries=max_entries,
            lock_ttl=lock_ttl,
            backoff=backoff,
            errors=(sqlite3.Error,),
        )
        self._local = threading.local()
        self._connections: list[tuple[int, sqlite3.Connection]] = []
        self._finalizer = weakref.finalize(self, _close_all, self._connections)
        try:
            self.connection()
        except sqlite3.Error as exc:
            msg = f"path must name an SQLite database that can be opened, got {self.path!r}: {exc}"
            raise GuardsValueError(msg) from exc

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r}, signed={self.signed})"

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (opened, and the schema made, on first use in
        each thread and each process)."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            connection = sqlite3.connect(
                self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
            try:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=NORMAL")
                connection.executescript(_SCHEMA)
            except BaseException:
                connection.close()
                raise
            local.connection, local.pid = connection, os.getpid()
            self._connections.append((os.getpid(), connection))
        conn: sqlite3.Connection = local.connection
        return conn

    def close(self) -> None:
        """Close the connections this process opened (the store opens new ones if used
        again)."""
        self._finalizer()
        self._local = threading.local()
        self._connections = []
        self._finalizer = weakref.finalize(self, _close_all, self._connections)

    def write_record(self, key_id: str, entry_id: str, created: float, record: bytes) -> None:
        """One transaction: insert or replace the record, drop the oldest beyond
        ``max_entries``."""
        connection = self.connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.execute(
                "INSERT OR REPLACE INTO guards_entries VALUES (?, ?, ?, ?)",
                (key_id, entry_id, created, record),
            )
            connection.execute(
                "DELETE FROM guards_entries WHERE key_id = ? AND entry_id NOT IN ("
                " SELECT entry_id FROM guards_entries WHERE key_id = ?"
                " ORDER BY created DESC, entry_id LIMIT ?)",
                (key_id, key_id, self.max_entries),
            )
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def read_records(self, key_id: str) -> list[bytes]:
        """The records of ``key_id`` (one read, a consistent snapshot)."""
        rows = self.connection().execute(
            "SELECT record FROM guards_entries WHERE key_id = ?", (key_id,)
        )
        return [bytes(record) for (record,) in rows]

    def try_lock(self, key_id: str, token: str) -> bool:
        """One transaction: drop an expired claim, then insert ours unless one remains."""
        connection = self.connection()
        now = time.time()
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.execute(
                "DELETE FROM guards_locks WHERE key_id = ? AND expires <= ?", (key_id, now)
            )
            cursor = connection.execute(
                "INSERT OR IGNORE INTO guards_locks VALUES (?, ?, ?)",
                (key_id, token, now + self.lock_ttl),
            )
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
        return cursor.rowcount == 1

    def unlock(self, key_id: str, token: str) -> None:
        """Delete the claim row if it is still ours."""
        self.connection().execute(
            "DELETE FROM guards_locks WHERE key_id = ? AND token = ?", (key_id, token)
        )

    def lock_exists(self, key_id: str) -> bool:
        """Whether an unexpired claim row exists."""
        row = self.connection().execute(
            "SELECT 1 FROM guards_locks WHERE key_id = ? AND expires > ?", (key_id, time.time())
        ).fetchone()
        return row is not None
