"""A process of its own for the store tests: ``python store_worker.py MODE ARGS...``.

Modes (each prints one JSON line):
- ``write DB KEYHEX N TAG``: put N entries (documents ``TAG-0``... with values
  ``[TAG, i]``) under one function's key in the SQLite store at DB.
- ``read DB KEYHEX``: the documents and values there, newest first.
- ``fleet URL KEYHEX START``: at time START (time.time()), ask a RedisStore for
  the entry of one call through ``guards.load_or_build``, building it (a
  0.3-second "trace") when no entry accepts the call; says whether it traced.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import guards

FN = guards.StoreKey("tests.store_worker", "compute", "fingerprint-1")


def _store(where: str, key: bytes) -> Any:
    if where.startswith("redis://"):
        return guards.RedisStore(where, key=key, backoff=0.5)
    return guards.SQLiteStore(where, key=key, max_entries=1000)


def write(db: str, key: bytes, count: int, tag: str) -> dict[str, Any]:
    store = _store(db, key)
    for i in range(count):
        store.put(FN, guards.StoredEntry(f"{tag}-{i}", store.serializer.dumps([tag, i])))
    return {"written": count, "failures": store.stats().failures}


def read(db: str, key: bytes) -> dict[str, Any]:
    store = _store(db, key)
    entries = store.get(FN)
    return {
        "documents": [e.document for e in entries],
        "values": [store.serializer.loads(e.value) for e in entries],
        "rejected": store.stats().rejected,
    }


def fleet(url: str, key: bytes, start: float) -> dict[str, Any]:
    store = _store(url, key)
    store.get(FN)  # connect before the burst, as a long-running process would be
    traced = []

    def accept(entry: guards.StoredEntry) -> Any:
        return store.serializer.loads(entry.value) if entry.document == "x == 7" else guards.MISS

    def build() -> tuple[int, guards.StoredEntry]:
        traced.append(True)
        time.sleep(0.3)
        return 49, guards.StoredEntry("x == 7", store.serializer.dumps(49))

    time.sleep(max(0.0, start - time.time()))
    loaded = guards.load_or_build(store, FN, accept, build, wait=5.0)
    return {"traced": bool(traced), "value": loaded.value, "waited": loaded.waited}


if __name__ == "__main__":
    mode, where, key_hex, *rest = sys.argv[1:]
    key = bytes.fromhex(key_hex)
    if mode == "write":
        result = write(where, key, int(rest[0]), rest[1])
    elif mode == "read":
        result = read(where, key)
    else:
        result = fleet(where, key, float(rest[0]))
    print(json.dumps(result))
