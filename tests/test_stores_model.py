"""Both stores against a plain dict model (Hypothesis stateful testing), and
``load_or_build`` against what it promises."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from servers import RedisServer

import guards
from guards.stores.base import RecordStore

MAX_ENTRIES = 3
KEYS = [guards.StoreKey("m", f"f{n}", "fp") for n in range(3)]
SECRET = b"s" * 32


Opener = Callable[[], RecordStore]


def store_machine(new_backend: Callable[[], Opener]) -> type[RuleBasedStateMachine]:
    """A machine whose every run starts on an empty backend (``new_backend()`` gives
    what opens store objects on it)."""

    class StoreMachine(RuleBasedStateMachine):
        """Puts and gets on a store (reopened now and then, as another process would)
        agree with a dict of dicts that keeps the MAX_ENTRIES newest entries per key."""

        def __init__(self) -> None:
            super().__init__()
            self.open = new_backend()
            self.store = self.open()
            self.opened = [self.store]
            self.model: dict[int, dict[str, tuple[Any, float]]] = {n: {} for n in range(3)}
            self.clock = 1.0

        @rule(k=st.integers(0, 2), document=st.sampled_from("abcde"), value=st.integers())
        def put(self, k: int, document: str, value: int) -> None:
            self.clock += 1
            data = self.store.serializer.dumps(value)
            self.store.put(KEYS[k], guards.StoredEntry(document, data, created=self.clock))
            entries = self.model[k]
            entries[document] = (value, self.clock)
            newest = sorted(entries, key=lambda d: entries[d][1], reverse=True)[:MAX_ENTRIES]
            self.model[k] = {d: entries[d] for d in newest}

        @rule(k=st.integers(0, 2))
        def get(self, k: int) -> None:
            entries = self.store.get(KEYS[k])
            got = [(e.document, self.store.serializer.loads(e.value)) for e in entries]
            expected = sorted(self.model[k].items(), key=lambda item: item[1][1], reverse=True)
            assert got == [(document, value) for document, (value, _) in expected]

        @rule()
        def reopen(self) -> None:
            self.store = self.open()
            self.opened.append(self.store)

        @rule(k=st.integers(0, 2))
        def claim(self, k: int) -> None:
            other = self.opened[0]
            with self.store.lock(KEYS[k]) as won:
                assert won
                with other.lock(KEYS[k]) as also:
                    assert not also
            assert not other.lock_held(KEYS[k])

        @invariant()
        def nothing_rejected(self) -> None:
            assert all(store.stats().rejected == 0 for store in self.opened)

        def teardown(self) -> None:
            for store in self.opened:
                store.close()  # type: ignore[attr-defined]

    return StoreMachine


def test_sqlite_store_against_a_dict(tmp_path: Path) -> None:
    directory = tmp_path

    def new_file() -> Opener:
        path = directory / f"{uuid.uuid4().hex}.db"
        return lambda: guards.SQLiteStore(path, key=SECRET, max_entries=MAX_ENTRIES)

    run_state_machine_as_test(
        store_machine(new_file), settings=settings(max_examples=40, deadline=None)
    )


def test_redis_store_against_a_dict(redis_server: RedisServer) -> None:
    def new_prefix() -> Opener:
        prefix = f"t{uuid.uuid4().hex}:"
        return lambda: guards.RedisStore(
            redis_server.url, key=SECRET, prefix=prefix, max_entries=MAX_ENTRIES
        )

    run_state_machine_as_test(
        store_machine(new_prefix), settings=settings(max_examples=40, deadline=None)
    )


# -- load_or_build ---------------------------------------------------------------------

FN = KEYS[0]


def _entry(store: RecordStore, document: str, value: Any) -> guards.StoredEntry:
    return guards.StoredEntry(document, store.serializer.dumps(value))


def _accepting(store: RecordStore, document: str) -> Callable[[guards.StoredEntry], Any]:
    return lambda e: store.serializer.loads(e.value) if e.document == document else guards.MISS


def test_load_or_build_builds_then_loads(tmp_path: Path) -> None:
    """A miss builds and puts; the same call later (another store object) loads it."""
    store = guards.SQLiteStore(tmp_path / "s.db", key=SECRET)
    built = guards.load_or_build(
        store, FN, _accepting(store, "x"), lambda: ([1], _entry(store, "x", [1]))
    )
    assert (built.value, built.from_store, built.waited) == ([1], False, False)
    again = guards.SQLiteStore(tmp_path / "s.db", key=SECRET)
    loaded = guards.load_or_build(
        again, FN, _accepting(again, "x"), lambda: pytest.fail("built again")
    )
    assert (loaded.value, loaded.from_store) == ([1], True)


def test_load_or_build_keeps_a_local_value_local(tmp_path: Path) -> None:
    """build() returning no entry puts nothing: the value stays in the process."""
    store = guards.SQLiteStore(tmp_path / "s.db", key=SECRET)
    assert guards.load_or_build(store, FN, _accepting(store, "x"), lambda: (7, None)).value == 7
    assert store.get(FN) == []


def test_load_or_build_candidates_that_do_not_accept(tmp_path: Path) -> None:
    """Entries whose guards reject the call are passed over, each checked once."""
    store = guards.SQLiteStore(tmp_path / "s.db", key=SECRET)
    store.put(FN, _entry(store, "other", 0))
    checked: list[str] = []

    def accept(e: guards.StoredEntry) -> Any:
        checked.append(e.document)
        return guards.MISS

    assert guards.load_or_build(store, FN, accept, lambda: (3, None)).value == 3
    assert checked == ["other"]


def test_load_or_build_waits_for_the_claim_holder(tmp_path: Path) -> None:
    """A caller that loses the claim waits for the winner's entry instead of building."""
    store = guards.SQLiteStore(tmp_path / "s.db", key=SECRET)
    holding, put_done = threading.Event(), threading.Event()

    def winner() -> None:
        with store.lock(FN) as won:
            assert won
            holding.set()
            put_done.wait(5)
            store.put(FN, _entry(store, "x", "theirs"))

    thread = threading.Thread(target=winner)
    thread.start()
    holding.wait(5)
    threading.Timer(0.1, put_done.set).start()
    loaded = guards.load_or_build(
        store, FN, _accepting(store, "x"), lambda: pytest.fail("built while another held the claim")
    )
    thread.join()
    assert (loaded.value, loaded.from_store, loaded.waited) == ("theirs", True, True)


def test_load_or_build_builds_when_the_holder_puts_nothing(tmp_path: Path) -> None:
    """When the claim is released without an entry that accepts the call, the waiter
    builds its own (no endless wait)."""
    store = guards.SQLiteStore(tmp_path / "s.db", key=SECRET)
    holding = threading.Event()

    def winner() -> None:
        with store.lock(FN):
            holding.set()
            threading.Event().wait(0.1)

    thread = threading.Thread(target=winner)
    thread.start()
    holding.wait(5)
    loaded = guards.load_or_build(
        store, FN, _accepting(store, "x"), lambda: ("mine", _entry(store, "x", "mine"))
    )
    thread.join()
    assert (loaded.value, loaded.from_store, loaded.waited) == ("mine", False, True)


def test_load_or_build_arguments(tmp_path: Path) -> None:
    store = guards.SQLiteStore(tmp_path / "s.db")
    with pytest.raises(guards.GuardsTypeError, match="store must be Store"):
        guards.load_or_build({}, FN, lambda e: e, lambda: (1, None))  # type: ignore[arg-type]
    with pytest.raises(guards.GuardsValueError, match="wait must be a number of seconds > 0"):
        guards.load_or_build(store, FN, lambda e: e, lambda: (1, None), wait=0)


# -- records ---------------------------------------------------------------------------

from hypothesis import given  # noqa: E402

from guards.stores.records import decode_record, encode_record  # noqa: E402
from guards.stores.signing import RecordSigner  # noqa: E402

SIGNER = RecordSigner(SECRET)


@given(st.binary(max_size=300))
def test_any_bytes_decode_without_error(blob: bytes) -> None:
    """Reading arbitrary bytes as a record never raises and never trusts them."""
    assert decode_record(FN, blob, SIGNER).verdict in {"malformed", "unsigned", "bad_signature"}


@given(
    document=st.text(max_size=50),
    value=st.binary(max_size=50),
    position=st.integers(0, 10_000),
    flip=st.integers(1, 255),
)
def test_a_record_round_trips_and_any_changed_byte_is_caught(
    document: str, value: bytes, position: int, flip: int
) -> None:
    """A signed record reads back as written; flipping any one byte of it makes it
    untrusted (bad signature or malformed), never a different trusted entry."""
    entry = guards.StoredEntry(document, value, created=12.5, writer="w")
    blob = encode_record(FN, entry, "pickle", SIGNER)
    assert decode_record(FN, blob, SIGNER).entry == entry
    index = position % len(blob)
    changed = blob[:index] + bytes([blob[index] ^ flip]) + blob[index + 1 :]
    assert decode_record(FN, changed, SIGNER).entry is None
