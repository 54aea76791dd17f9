"""A fleet's burst of the same miss: how many of 8 processes trace it.

Run: ``python benchmarks/fleet.py`` (about 10 s; needs ``redis-server`` on the
PATH and the ``redis`` client, and is skipped with a message without them).
Eight worker processes share one real ``redis-server`` (started here on a free
loopback port, no persistence).  For each of ``BURSTS`` distinct entries, all
eight ask for it at the same instant through ``guards.load_or_build``; a miss
"traces" (sleeps ``TRACE_SECONDS``, standing for the tracer) and puts the entry.
With the store's claim (``SET NX PX``) one process traces and the others wait
for its entry.  Target: at most 2 traces per distinct entry in the worst burst.
Without the claim (each process looks in the store, then traces) every process
traces: shown for scale, no target.
"""

from __future__ import annotations

import multiprocessing
import shutil
import socket
import subprocess
import tempfile
import time
from multiprocessing.queues import Queue
from typing import Any

from _timing import row

import guards

PROCESSES = 8
BURSTS = 5
TRACE_SECONDS = 0.2
TARGET = 2.0
SECRET = b"benchmark-fleet-key-0123456789ab"


def _answer(store: guards.RedisStore, burst: int, start: float, with_claim: bool) -> int:
    """One process's part of a burst: the number of traces it made (0 or 1)."""
    key = guards.StoreKey("bench.fleet", "compute", f"{with_claim}-{burst}")
    traced = []

    def accept(entry: guards.StoredEntry) -> Any:
        return store.serializer.loads(entry.value)

    def build() -> tuple[int, guards.StoredEntry]:
        traced.append(1)
        time.sleep(TRACE_SECONDS)
        return burst, guards.StoredEntry("guards", store.serializer.dumps(burst))

    time.sleep(max(0.0, start - time.time()))
    if with_claim:
        value = guards.load_or_build(store, key, accept, build, wait=5.0).value
    else:  # look, then trace: what each process does without a shared claim
        found = store.get(key)
        value, entry = (accept(found[0]), None) if found else build()
        if entry is not None:
            store.put(key, entry)
    assert value == burst
    return len(traced)


def _worker(url: str, orders: Queue[Any], results: Queue[Any]) -> None:
    store = guards.RedisStore(url, key=SECRET, timeout=2.0)
    while (order := orders.get()) is not None:
        results.put(_answer(store, *order))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start_server(directory: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", directory],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    probe = guards.RedisStore(url, allow_unsigned=True, timeout=0.2)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if probe.client.ping():
                return server, url
        except Exception:
            time.sleep(0.05)
    server.kill()
    raise RuntimeError("redis-server did not start")


def _bursts(orders: list[Queue[Any]], results: Queue[Any], with_claim: bool) -> list[int]:
    traces = []
    for burst in range(BURSTS):
        start = time.time() + 0.3
        for queue in orders:
            queue.put((burst, start, with_claim))
        traces.append(sum(results.get(timeout=60) for _ in orders))
    return traces


def run() -> list[dict[str, Any]]:
    try:
        import redis  # noqa: F401
    except ImportError:
        print('Fleet: skipped: the redis client is not installed (pip install "guardset[redis]")')
        return []
    if shutil.which("redis-server") is None:
        print("Fleet: skipped: redis-server is not on the PATH "
              "(Debian: apt-get install redis-server)")
        return []
    context = multiprocessing.get_context("fork")
    with tempfile.TemporaryDirectory() as directory:
        server, url = _start_server(directory)
        try:
            orders: list[Queue[Any]] = [context.Queue() for _ in range(PROCESSES)]
            results: Queue[Any] = context.Queue()
            workers = [
                context.Process(target=_worker, args=(url, queue, results)) for queue in orders
            ]
            for worker in workers:
                worker.start()
            claimed = _bursts(orders, results, with_claim=True)
            unclaimed = _bursts(orders, results, with_claim=False)
            for queue in orders:
                queue.put(None)
            for worker in workers:
                worker.join(30)
        finally:
            server.kill()
            server.wait()
    worst, plain = max(claimed), max(unclaimed)
    print(f"{PROCESSES} processes, {BURSTS} bursts of the same miss, a {TRACE_SECONDS} s trace")
    print(f"  traces per distinct entry, with the claim     {claimed}  worst {worst}")
    print(f"  traces per distinct entry, without the claim  {unclaimed}  worst {plain}")
    return [
        row("fleet", f"traces per entry, {PROCESSES} processes (worst burst)", worst, TARGET),
        row("fleet", f"traces per entry, {PROCESSES} processes, no claim", plain, None),
    ]


if __name__ == "__main__":
    run()
