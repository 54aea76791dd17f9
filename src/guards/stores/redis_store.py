"""``guards.RedisStore``: entries in a Redis server, shared by a fleet of processes.

Needs the ``redis`` client: ``pip install "guardset[redis]"``.  A key's entries
are one Redis hash (entry id -> record) beside a sorted set of their ages; a
claim (:meth:`RedisStore.lock`) is ``SET NX PX``: one caller wins it, it
expires by itself after ``lock_ttl``, and only the winner's token releases it.

Every command has a bounded connect and read timeout and is not retried by the
client; a server that is down or slow makes the store bypassed, with one
:class:`~guards.StoreWarning`, for ``backoff`` seconds, after which it is tried
again (so a restarted server is used again).  Anyone who can write to the
server can write records, so the store requires a key unless
``allow_unsigned=True`` says otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from guards.errors import GuardsValueError, MissingExtraError, check_type
from guards.stores.base import RecordStore, check_positive
from guards.stores.serializers import PICKLE, Serializer

if TYPE_CHECKING:
    import redis

#: Deletes the claim only if it still holds the caller's token (atomic on the server).
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


class RedisStore(RecordStore):
    """A store in the Redis server at ``url`` (``redis://host:port/db``), for many
    processes and machines.

    ``key`` (bytes or str, at least 16 bytes) signs every record and makes the
    store ignore records not signed with it.  It is required: anyone who can
    reach the server could otherwise make every process of the fleet unpickle
    what they wrote.  ``allow_unsigned=True`` (with ``key=None``) opts out,
    for a server only trusted code can reach.  ``timeout`` bounds each connect
    and each command (seconds); ``backoff`` is how long the store is bypassed
    after a failure; ``lock_ttl`` is how long a claim lasts at most;
    ``prefix`` begins every Redis key the store uses; ``serializer`` and
    ``max_entries`` are as for :class:`~guards.SQLiteStore`.

    Raises :class:`~guards.GuardsValueError` naming ``key`` when no key is given
    and ``allow_unsigned`` is not True, :class:`~guards.GuardsTypeError` or
    :class:`~guards.GuardsValueError` naming the argument for another bad
    argument, and :class:`~guards.MissingExtraError` when the ``redis``
    client is not installed.  The server is not contacted here: a server that
    is down makes the first calls bypass the store, not this constructor fail.
    """

    def __init__(
        self,
        url: str,
        *,
        key: bytes | str | None = None,
        allow_unsigned: bool = False,
        timeout: float = 0.5,
        backoff: float = 5.0,
        lock_ttl: float = 10.0,
        prefix: str = "guards:",
        serializer: Serializer = PICKLE,
        max_entries: int = 64,
    ) -> None:
        check_type("url", url, str)
        check_type("allow_unsigned", allow_unsigned, bool)
        check_type("prefix", prefix, str)
        if key is None and not allow_unsigned:
            msg = (
                "key must be given to RedisStore (bytes or str of at least 16 bytes, such as "
                "secrets.token_bytes(32)), got None (type NoneType): records are signed with it "
                "so that whoever can reach the server cannot make this process load a value; "
                "pass allow_unsigned=True to use a server only trusted code can write to"
            )
            raise GuardsValueError(msg)
        try:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError as exc:
            msg = 'RedisStore needs the redis client: pip install "guardset[redis]"'
            raise MissingExtraError(msg) from exc
        self.url = url
        self.prefix = prefix
        self.timeout = check_positive("timeout", timeout)
        super().__init__(
            name=f"RedisStore({url!r})",
            key=key,
            serializer=serializer,
            max_entries=max_entries,
            lock_ttl=lock_ttl,
            backoff=backoff,
            errors=(redis.RedisError, OSError),
        )
        try:
            self.client: redis.Redis = redis.Redis.from_url(
                url,
                socket_timeout=self.timeout,
                socket_connect_timeout=self.timeout,
                retry=Retry(NoBackoff(), 0),
                retry_on_timeout=False,
            )
        except ValueError as exc:
            msg = f"url must be a Redis URL such as 'redis://localhost:6379/0', got {url!r}: {exc}"
            raise GuardsValueError(msg) from exc
        self._release: Any = self.client.register_script(_RELEASE)

    def __repr__(self) -> str:
        return f"RedisStore({self.url!r}, signed={self.signed})"

    def close(self) -> None:
        """Close the client's connections (it opens new ones if used again)."""
        self.client.close()

    def _names(self, key_id: str) -> tuple[str, str]:
        return f"{self.prefix}entries:{key_id}", f"{self.prefix}ages:{key_id}"

    def write_record(self, key_id: str, entry_id: str, created: float, record: bytes) -> None:
        """HSET the record and ZADD its age in one transaction, then trim the oldest."""
        entries, ages = self._names(key_id)
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(entries, entry_id, record)
        pipe.zadd(ages, {entry_id: created})
        pipe.zcard(ages)
        count = pipe.execute()[-1]
        if count > self.max_entries:
            oldest = self.client.zrange(ages, 0, count - self.max_entries - 1)
            if oldest:
                pipe = self.client.pipeline(transaction=True)
                pipe.hdel(entries, *oldest)
                pipe.zrem(ages, *oldest)
                pipe.execute()

    def read_records(self, key_id: str) -> list[bytes]:
        """HVALS of the key's hash."""
        entries, _ = self._names(key_id)
        records = self.client.hvals(entries)  # bytes: the client does not decode responses
        return [r if isinstance(r, bytes) else r.encode() for r in records]

    def try_lock(self, key_id: str, token: str) -> bool:
        """``SET lock token NX PX lock_ttl``."""
        name = f"{self.prefix}lock:{key_id}"
        return bool(self.client.set(name, token, nx=True, px=int(self.lock_ttl * 1000)))

    def unlock(self, key_id: str, token: str) -> None:
        """Delete the claim if it still holds ``token`` (a script, atomic)."""
        self._release(keys=[f"{self.prefix}lock:{key_id}"], args=[token])

    def lock_exists(self, key_id: str) -> bool:
        """``EXISTS lock``."""
        return bool(self.client.exists(f"{self.prefix}lock:{key_id}"))
