"""Stores keep entries as users put them, and load only records they trust.

Every behaviour of the interface runs against both stores (a temporary SQLite
file and a real redis-server): the same cases, the same verdicts.
"""

from __future__ import annotations

import contextlib
import json
import pickle
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from servers import RedisServer, require_redis

import guards
from guards.stores.base import RecordStore

KEY_A = b"a" * 32
KEY_B = b"b" * 32
FN = guards.StoreKey("app.planner", "plan", "fingerprint-1")

Factory = Callable[..., RecordStore]


@pytest.fixture(params=["sqlite", "redis"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    """Makes stores over one backend: every store it makes shares the same data."""
    made: list[RecordStore] = []
    if request.param == "sqlite":
        def make(**options: Any) -> RecordStore:
            made.append(guards.SQLiteStore(tmp_path / "store.db", **options))
            return made[-1]
    else:
        server: RedisServer = request.getfixturevalue("redis_server")

        def make(**options: Any) -> RecordStore:
            if options.get("key") is None:
                options["allow_unsigned"] = True
            made.append(guards.RedisStore(server.url, **options))
            return made[-1]
    yield make
    for store in made:
        store.close()  # type: ignore[attr-defined]


def entry(document: str, value: Any, created: float | None = None) -> guards.StoredEntry:
    data = pickle.dumps(value)
    return guards.StoredEntry(document, data, created=time.time() if created is None else created)


def documents(entries: list[guards.StoredEntry]) -> list[str]:
    return [e.document for e in entries]


# -- the interface ---------------------------------------------------------------------


def test_put_then_get_newest_first(make_store: Factory) -> None:
    """Entries come back as put, newest first, each with its value's bytes intact."""
    store = make_store(key=KEY_A)
    store.put(FN, entry('{"n": 1}', [1], created=100.0))
    store.put(FN, entry('{"n": 3}', {"x": 3}, created=300.0))
    store.put(FN, entry('{"n": 2}', (2,), created=200.0))
    got = store.get(FN)
    assert documents(got) == ['{"n": 3}', '{"n": 2}', '{"n": 1}']
    assert [store.serializer.loads(e.value) for e in got] == [{"x": 3}, (2,), [1]]
    assert got[0].created == 300.0 and got[0].writer


def test_same_document_replaces_the_older_entry(make_store: Factory) -> None:
    """A key keeps one entry per guards document: putting it again replaces it."""
    store = make_store(key=KEY_A)
    store.put(FN, entry("{}", "old", created=1.0))
    store.put(FN, entry("{}", "new", created=2.0))
    (only,) = store.get(FN)
    assert store.serializer.loads(only.value) == "new"


def test_keys_are_separate(make_store: Factory) -> None:
    """Each field of the key separates entries: another function, version or format."""
    store = make_store(key=KEY_A)
    store.put(FN, entry("{}", 1))
    for other in (
        attrs.evolve(FN, module="app.other"),
        attrs.evolve(FN, qualname="plan2"),
        attrs.evolve(FN, fingerprint="fingerprint-2"),
        attrs.evolve(FN, format_version=2),
    ):
        assert store.get(other) == []
    assert len(store.get(FN)) == 1


def test_oldest_entries_go_beyond_max_entries(make_store: Factory) -> None:
    """A key keeps at most max_entries entries; the oldest go first."""
    store = make_store(key=KEY_A, max_entries=3)
    for n in range(6):
        store.put(FN, entry(f'{{"n": {n}}}', n, created=float(n + 1)))
    assert documents(store.get(FN)) == ['{"n": 5}', '{"n": 4}', '{"n": 3}']


def test_another_store_object_sees_the_entries(make_store: Factory) -> None:
    """Two store objects on one backend (two processes, in effect) share entries."""
    make_store(key=KEY_A).put(FN, entry("{}", 42))
    (got,) = make_store(key=KEY_A).get(FN)
    assert pickle.loads(got.value) == 42


def test_lock_is_won_by_one_caller_at_a_time(make_store: Factory) -> None:
    """A claim is won by one caller; another loses it until the block is left."""
    first, second = make_store(key=KEY_A), make_store(key=KEY_A)
    assert not first.lock_held(FN)
    with first.lock(FN) as won:
        assert won and first.lock_held(FN) and second.lock_held(FN)
        with second.lock(FN) as also:
            assert not also
        assert first.lock_held(FN)  # losing a claim does not release the winner's
    assert not second.lock_held(FN)
    with second.lock(FN) as won_now:
        assert won_now
    assert first.stats().locks_won == 1 and second.stats().locks_lost == 1


def test_lock_expires_by_itself(make_store: Factory) -> None:
    """A claim whose holder never releases it (a dead process) expires after lock_ttl."""
    holder, other = make_store(key=KEY_A, lock_ttl=0.2), make_store(key=KEY_A, lock_ttl=0.2)
    claim = holder.lock(FN)
    assert claim.__enter__()  # entered, never left: the holder "died"
    with other.lock(FN) as won:
        assert not won
    deadline = time.monotonic() + 5
    while holder.lock_held(FN) and time.monotonic() < deadline:
        time.sleep(0.05)
    with other.lock(FN) as won:
        assert won


def test_stats_count_calls(make_store: Factory) -> None:
    """stats() counts puts, gets and the candidates returned."""
    store = make_store(key=KEY_A)
    store.put(FN, entry("{}", 1))
    store.put(FN, entry("[]", 2))
    store.get(FN)
    store.get(attrs.evolve(FN, qualname="other"))
    stats = store.stats()
    assert (stats.puts, stats.gets, stats.candidates, stats.rejected) == (2, 2, 2, 0)


def test_a_store_is_a_store(tmp_path: Path) -> None:
    """Both stores implement the Store protocol."""
    sqlite_store = guards.SQLiteStore(tmp_path / "s.db")
    assert isinstance(sqlite_store, guards.Store)
    sqlite_store.close()
    require_redis()
    assert isinstance(guards.RedisStore("redis://127.0.0.1:1/0", key=KEY_A), guards.Store)


# -- trust: signatures -----------------------------------------------------------------


class Explodes:
    """A value whose unpickling leaves a mark: loading it would be running its code."""

    loaded = False

    def __reduce__(self) -> tuple[Any, ...]:
        return (_mark_loaded, ())


def _mark_loaded() -> None:
    Explodes.loaded = True


def test_unsigned_records_are_ignored_counted_and_warned_once(make_store: Factory) -> None:
    """A store with a key never loads an unsigned record: ignored, counted, one warning."""
    make_store().put(FN, guards.StoredEntry("{}", pickle.dumps(Explodes())))
    store = make_store(key=KEY_A)
    with pytest.warns(guards.StoreWarning, match="unsigned") as caught:
        assert store.get(FN) == []
        assert store.get(FN) == []
    assert len([w for w in caught if issubclass(w.category, guards.StoreWarning)]) == 1
    assert store.stats().rejected_unsigned == 2
    assert not Explodes.loaded


def test_records_of_another_key_are_ignored(make_store: Factory) -> None:
    """A record signed with another key is a bad signature: ignored and counted."""
    make_store(key=KEY_B).put(FN, entry("{}", 1))
    store = make_store(key=KEY_A)
    with pytest.warns(guards.StoreWarning, match="signature"):
        assert store.get(FN) == []
    assert store.stats().rejected_bad_signature == 1


def test_a_store_without_a_key_reads_signed_records(make_store: Factory) -> None:
    """Without a key there is nothing to check: every well-formed record is read."""
    make_store(key=KEY_A).put(FN, entry("{}", 1))
    assert len(make_store().get(FN)) == 1


def _raw_records(store: RecordStore) -> list[bytes]:
    return store.read_records(FN.digest)


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r.replace(b'{"n":1}', b'{"n":2}'),  # the guards changed
        lambda r: r[:-1] + bytes([r[-1] ^ 1]),  # the value changed
        lambda r: r.replace(b'"created":1', b'"created":2'),  # the metadata changed
    ],
    ids=["document", "value", "created"],
)
def test_changed_records_are_ignored(make_store: Factory, change: Callable[[bytes], bytes]) -> None:
    """Changing any byte a signature covers makes the record ignored, never loaded."""
    store = make_store(key=KEY_A)
    store.put(FN, entry('{"n":1}', 1))
    (record,) = _raw_records(store)
    assert change(record) != record
    store.write_record(FN.digest, "tampered", time.time() + 10, change(record))
    with pytest.warns(guards.StoreWarning, match="signature"):
        got = store.get(FN)
    assert documents(got) == ['{"n":1}']  # only the untouched original
    assert store.stats().rejected_bad_signature == 1


def test_a_record_moved_to_another_key_is_ignored(make_store: Factory) -> None:
    """The signature covers the key: a record copied under another function's key fails."""
    store = make_store(key=KEY_A)
    store.put(FN, entry("{}", 1))
    (record,) = _raw_records(store)
    other = attrs.evolve(FN, qualname="other")
    store.write_record(other.digest, "moved", time.time(), record)
    with pytest.warns(guards.StoreWarning, match="signature"):
        assert store.get(other) == []


@pytest.mark.parametrize(
    "record",
    [
        b"",
        b"garbage",
        b"guards-record/1\n\x00\x00\x00\x05{}{}{",
        b"guards-record/1\n\xff\xff\xff\xff",
    ],
)
def test_malformed_records_are_ignored(make_store: Factory, record: bytes) -> None:
    """Bytes that are not a record are ignored and counted, with or without a key."""
    for key in (KEY_A, None):
        store = make_store(key=key)
        store.write_record(FN.digest, "junk", 1.0, record)
        with pytest.warns(guards.StoreWarning, match="malformed"):
            assert store.get(FN) == []
        assert store.stats().rejected_malformed == 1


# -- serializers -----------------------------------------------------------------------


@attrs.frozen
class JsonSerializer:
    name: str = "json"

    def dumps(self, value: Any) -> bytes:
        return json.dumps(value).encode()

    def loads(self, data: bytes) -> Any:
        return json.loads(data)


def test_serializer_is_pluggable(make_store: Factory) -> None:
    """A store uses the serializer it is given; records of another serializer are skipped."""
    json_store = make_store(key=KEY_A, serializer=JsonSerializer())
    json_store.put(FN, guards.StoredEntry("{}", json_store.serializer.dumps({"a": [1]})))
    (got,) = json_store.get(FN)
    assert json_store.serializer.loads(got.value) == {"a": [1]}
    pickle_store = make_store(key=KEY_A)
    assert pickle_store.get(FN) == []
    assert pickle_store.stats().foreign == 1


# -- arguments -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: guards.StoreKey(1, "f", "x"), "StoreKey.module must be a str"),  # type: ignore[arg-type]
        (lambda: guards.StoreKey("m", "f", "x", -1), "StoreKey.format_version must be an int >= 0"),
        (lambda: guards.StoredEntry("{}", "text"), "StoredEntry.value must be bytes"),  # type: ignore[arg-type]
        (lambda: guards.StoredEntry(b"{}", b""), "StoredEntry.document must be a str"),  # type: ignore[arg-type]
        (lambda: guards.StoredEntry("{}", b"", created=float("nan")), "StoredEntry.created"),
    ],
)
def test_bad_fields_are_named(make: Callable[[], object], words: str) -> None:
    """A bad field of a key or entry raises the library's error naming the field."""
    with pytest.raises(guards.GuardsError, match=words):
        make()


def test_sqlite_arguments_are_checked(tmp_path: Path) -> None:
    """Bad arguments to SQLiteStore raise errors naming them (never the key's bytes)."""
    with pytest.raises(guards.GuardsValueError, match=r"key must be at least 16 bytes, got 6"):
        guards.SQLiteStore(tmp_path / "s.db", key=b"secret")
    with pytest.raises(guards.GuardsTypeError, match="key must be bytes or str"):
        guards.SQLiteStore(tmp_path / "s.db", key=12345)  # type: ignore[arg-type]
    with pytest.raises(guards.GuardsTypeError, match="path must be"):
        guards.SQLiteStore(3)  # type: ignore[arg-type]
    with pytest.raises(guards.GuardsValueError, match="path must name an SQLite database"):
        guards.SQLiteStore(tmp_path)  # a directory
    with pytest.raises(guards.GuardsValueError, match="max_entries must be an int >= 1"):
        guards.SQLiteStore(tmp_path / "s.db", max_entries=0)
    with pytest.raises(guards.GuardsValueError, match="timeout must be a number of seconds > 0"):
        guards.SQLiteStore(tmp_path / "s.db", timeout=-1)
    store = guards.SQLiteStore(tmp_path / "s.db")
    with pytest.raises(guards.GuardsTypeError, match="key must be StoreKey"):
        store.get(("m", "f"))  # type: ignore[arg-type]
    with pytest.raises(guards.GuardsTypeError, match="entry must be StoredEntry"):
        store.put(FN, b"value")  # type: ignore[arg-type]
    store.close()


def test_redis_store_requires_a_key() -> None:
    """RedisStore without a key is an error naming key and the way to opt out."""
    require_redis()
    with pytest.raises(guards.GuardsValueError, match=r"key must be given.*allow_unsigned=True"):
        guards.RedisStore("redis://127.0.0.1:1/0")
    with pytest.raises(guards.GuardsValueError, match="url must be a Redis URL"):
        guards.RedisStore("http://example.com", key=KEY_A)
    store = guards.RedisStore("redis://127.0.0.1:1/0", allow_unsigned=True)
    assert not store.signed


def test_sqlite_file_is_in_wal_mode(tmp_path: Path) -> None:
    """The database is in WAL mode, so readers never wait for a writer."""
    guards.SQLiteStore(tmp_path / "s.db").close()
    with contextlib.closing(sqlite3.connect(tmp_path / "s.db")) as connection:
        (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
    assert mode == "wal"


def test_redis_fixture_is_real(redis_server: RedisServer) -> None:
    """The fixture's server answers a real client (guards against a fake fixture)."""
    require_redis()
    import redis

    assert redis.Redis.from_url(redis_server.url).ping()


def test_store_key_of_a_function() -> None:
    """StoreKey.of names a function by its module and qualified name."""

    def plan() -> None: ...

    key = guards.StoreKey.of(plan, "fp", 2)
    assert (key.module, key.qualname, key.fingerprint, key.format_version) == (
        __name__, "test_store_key_of_a_function.<locals>.plan", "fp", 2
    )
    with pytest.raises(guards.GuardsTypeError, match="function must be a function or class"):
        guards.StoreKey.of(3, "fp")


def test_sqlite_locked_too_long_is_bypassed_then_used_again(tmp_path: Path) -> None:
    """A database another process keeps locked longer than timeout: the call goes on
    without the store (one warning), nothing is half-written, and once the lock is
    gone and the back-off over, the store is used again."""
    path = tmp_path / "s.db"
    store = guards.SQLiteStore(path, key=KEY_A, timeout=0.1, backoff=0.2)
    store.put(FN, entry("before", 1))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process, in the middle of a long write
    try:
        with pytest.warns(guards.StoreWarning, match="is not usable") as caught:
            for n in range(10):
                store.put(FN, entry(f"during-{n}", n))  # dropped, not raised
        assert len([w for w in caught if w.category is guards.StoreWarning]) == 1
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert store.stats().failures >= 1
    deadline = time.monotonic() + 10
    while store.outage.down and time.monotonic() < deadline:
        store.put(FN, entry("after", 2))
        time.sleep(0.05)
    assert documents(store.get(FN)) == ["after", "before"]
    store.close()


def test_a_forked_child_opens_its_own_connection(tmp_path: Path) -> None:
    """A store used before os.fork() works in the child (which opens its own
    connection) and in the parent afterwards."""
    import multiprocessing

    store = guards.SQLiteStore(tmp_path / "s.db", key=KEY_A)
    store.put(FN, entry("from the parent", 1))

    def child() -> None:
        store.put(FN, entry("from the child", 2))

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    process.join(60)
    assert process.exitcode == 0
    assert documents(store.get(FN)) == ["from the child", "from the parent"]
    store.close()
