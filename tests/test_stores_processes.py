"""Stores across real processes: what one process writes another reads, writers at once
do not corrupt each other, a fleet's burst traces once, and a server that dies or
hangs is bypassed with one warning and used again once it is back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
from servers import RedisServer

import guards

WORKER = Path(__file__).with_name("store_worker.py")
KEY = b"k" * 32
FN = guards.StoreKey("tests.store_worker", "compute", "fingerprint-1")


def _env() -> dict[str, str]:
    src = str(Path(guards.__file__).resolve().parent.parent)
    return {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args, ],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
    )


def finish(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def run(*args: str) -> dict[str, Any]:
    return finish(start(*args))


def test_sqlite_written_by_one_process_is_read_by_another(tmp_path: Path) -> None:
    """Entries one process puts, another process gets, values intact, newest first."""
    db = str(tmp_path / "shared.db")
    assert run("write", db, KEY.hex(), "3", "w")["written"] == 3
    got = run("read", db, KEY.hex())
    assert sorted(got["documents"]) == ["w-0", "w-1", "w-2"]
    assert sorted(map(tuple, got["values"])) == [("w", 0), ("w", 1), ("w", 2)]
    assert got["rejected"] == 0
    # ... and this process too, with the same key; a process with another key reads nothing.
    assert len(guards.SQLiteStore(db, key=KEY).get(FN)) == 3
    assert run("read", db, (b"z" * 32).hex())["documents"] == []


def test_sqlite_concurrent_writers(tmp_path: Path) -> None:
    """Four processes writing to one file at once lose nothing and corrupt nothing."""
    db = str(tmp_path / "shared.db")
    guards.SQLiteStore(db, key=KEY, max_entries=1000).close()  # made before the race
    writers = [start("write", db, KEY.hex(), "40", f"p{n}") for n in range(4)]
    results = [finish(w) for w in writers]
    assert all(r == {"written": 40, "failures": 0} for r in results)
    store = guards.SQLiteStore(db, key=KEY, max_entries=1000)
    documents = {e.document for e in store.get(FN)}
    assert documents == {f"p{n}-{i}" for n in range(4) for i in range(40)}
    assert store.stats().rejected == 0


def test_fleet_burst_traces_at_most_twice(redis_server: RedisServer) -> None:
    """8 processes missing on the same call at once: at most 2 trace, all get the value."""
    at = time.time() + 3.0  # after every process has started and connected
    fleet = [start("fleet", redis_server.url, KEY.hex(), str(at)) for _ in range(8)]
    results = [finish(p) for p in fleet]
    traced = sum(r["traced"] for r in results)
    assert [r["value"] for r in results] == [49] * 8
    assert 1 <= traced <= 2, results
    # The entry is in the store: a ninth process, later, does not trace at all.
    assert run("fleet", redis_server.url, KEY.hex(), "0")["traced"] is False


def _entry(document: str, value: Any) -> guards.StoredEntry:
    return guards.StoredEntry(document, guards.PickleSerializer().dumps(value))


def test_redis_killed_then_restarted(redis_server: RedisServer) -> None:
    """A dead server: calls work without the store, one warning; restarted: used again."""
    store = guards.RedisStore(redis_server.url, key=KEY, timeout=0.3, backoff=0.3)
    store.put(FN, _entry("a", 1))
    assert len(store.get(FN)) == 1
    redis_server.stop()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(20):
            assert store.get(FN) == []
            store.put(FN, _entry("b", 2))  # dropped, not raised
            with store.lock(FN) as won:
                assert won  # nothing to share: each process builds its own
            loaded = guards.load_or_build(
                store, FN, lambda e: guards.MISS, lambda: (5, _entry("c", 5))
            )
            assert loaded.value == 5 and not loaded.from_store
    assert [str(w.message) for w in caught if w.category is guards.StoreWarning] == [
        str(caught[0].message)
    ]
    assert "is not usable" in str(caught[0].message)
    stats = store.stats()
    assert stats.failures >= 1 and stats.bypassed >= 1
    redis_server.start()  # same port, empty: no persistence
    deadline = time.monotonic() + 10
    while store.outage.down and time.monotonic() < deadline:
        store.put(FN, _entry("after", 3))
        time.sleep(0.05)
    assert [e.document for e in store.get(FN)] == ["after"]
    assert pickle_value(store.get(FN)[0]) == 3


def pickle_value(entry: guards.StoredEntry) -> Any:
    return guards.PickleSerializer().loads(entry.value)


def test_redis_that_hangs_is_bypassed_within_the_timeout(redis_server: RedisServer) -> None:
    """A server that stops answering (SIGSTOP) costs one timeout, then is bypassed; once
    it answers again it is used again, with its data intact."""
    store = guards.RedisStore(redis_server.url, key=KEY, timeout=0.2, backoff=0.3)
    store.put(FN, _entry("kept", 1))
    redis_server.pause()
    try:
        with pytest.warns(guards.StoreWarning, match="TimeoutError|timed out|Timeout"):
            for _ in range(50):
                assert store.get(FN) == []
        assert store.stats().failures <= 3  # one per back-off period at most, not per call
    finally:
        redis_server.resume()
    deadline = time.monotonic() + 10
    while not store.get(FN) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [e.document for e in store.get(FN)] == ["kept"]
