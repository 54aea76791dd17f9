"""``@specialize(store=...)``: entries shared through a store, soundly.

A local miss looks in the store before tracing; an entry whose guards pass on the
call answers (``info().store_hits``) and is kept locally; new portable entries are
written.  What another process wrote is checked like any entry: a changed input,
global or code never gets an old result.  Entries that cannot be named across
processes, or whose result does not survive the serializer, stay local.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st
from servers import RedisServer

import guards

WORKER = Path(__file__).with_name("specialize_store_worker.py")
KEY = b"s" * 32

SCALE = {"factor": 3}


def scaled(xs: list[int], mode: str = "fast") -> list[Any]:
    return [x * SCALE["factor"] for x in xs] + [mode]


def fresh(store: guards.Store, function: Any = scaled, **options: Any) -> Any:
    """Another process's view of ``function``: a new specialized wrapper, empty cache."""
    return guards.specialize(store=store, **options)(function)


@pytest.fixture
def store(tmp_path: Path) -> guards.SQLiteStore:
    return guards.SQLiteStore(str(tmp_path / "entries.db"))


def test_a_fresh_cache_is_answered_by_the_store_and_keeps_the_entry(
    store: guards.SQLiteStore,
) -> None:
    first = fresh(store)
    assert first([1, 2]) == [3, 6, "fast"]
    assert first.cache.info().store_hits == 0 and store.stats().puts == 1
    second = fresh(store)
    assert second([1, 2]) == [3, 6, "fast"]
    info = second.cache.info()
    assert (info.store_hits, info.misses, info.entries) == (1, 1, 1)
    assert second([1, 2]) == [3, 6, "fast"] and second.cache.info().hits == 1
    [record] = list(second.specialized.miss_history)
    assert record.outcome == "loaded" and "answered by an entry of the store" in str(record)


def test_a_stored_entry_never_answers_a_call_its_guards_reject(
    store: guards.SQLiteStore,
) -> None:
    fresh(store)([1, 2])
    later = fresh(store)
    assert later([1, 3]) == [3, 9, "fast"]  # another argument
    SCALE["factor"] = 4  # a global the function reads
    try:
        assert later([1, 2]) == scaled([1, 2]) == [4, 8, "fast"]
        assert fresh(store)([1, 2]) == [4, 8, "fast"]
    finally:
        SCALE["factor"] = 3
    assert later.cache.info().store_hits == 0


def test_results_are_not_shared_between_callers(store: guards.SQLiteStore) -> None:
    fresh(store)([5])
    reader = fresh(store)
    got = reader([5])
    got.append("changed by the caller")
    assert reader([5]) == [15, "fast"] and fresh(store)([5]) == [15, "fast"]


def apply_to_two(fn: Any) -> Any:
    return fn(2)


#: A function with no name to find it by in another process (its entry guards its code).
ADD_ONE = lambda x: x + 1  # noqa: E731


class Unpicklable:
    """Copied for each caller (``__deepcopy__``), but not picklable."""

    def __deepcopy__(self, memo: Any) -> Unpicklable:
        return Unpicklable()

    def __eq__(self, other: object) -> bool:
        return type(other) is Unpicklable

    __hash__ = object.__hash__

    def __reduce__(self) -> Any:
        raise TypeError("not picklable")


def unpicklable_result(n: int) -> Any:
    return (n, Unpicklable())


class Drifts:
    """Pickles as a different value: the store would hand back what the run did not."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __eq__(self, other: object) -> bool:
        return type(other) is Drifts and other.n == self.n

    def __hash__(self) -> int:
        return self.n

    def __deepcopy__(self, memo: Any) -> Drifts:
        return Drifts(self.n)

    def __reduce__(self) -> Any:  # pickle alone gives another value
        return (Drifts, (self.n + 1,))


def drifting_result(n: int) -> Drifts:
    return Drifts(n)


@pytest.mark.parametrize(("function", "arg"), [
    (apply_to_two, ADD_ONE), (unpicklable_result, 1), (drifting_result, 1),
])
def test_entries_that_cannot_cross_processes_stay_local(
    store: guards.SQLiteStore, function: Any, arg: Any
) -> None:
    local = fresh(store, function)
    first = local(arg)
    assert local(arg) == first and local.cache.info().hits == 1
    assert store.stats().puts == 0
    [entry] = local.cache.entries
    if function is apply_to_two:  # the entry says why it stays in this process
        assert entry.portable_reason is not None and "<lambda>" in entry.portable_reason
    elif function is drifting_result:  # its guards could go: its result could not
        assert entry.portable_reason is None
    other = fresh(store, function)
    assert other(arg) == function(arg) and other.cache.info().store_hits == 0


def test_a_document_naming_what_this_process_lacks_is_skipped(
    store: guards.SQLiteStore,
) -> None:
    link = fresh(store).specialized.store_link
    key = link.key()
    # Guards on a class this process has not imported: never loaded, never trusted.
    stale = {"format": "guards.check", "version": 1}
    store.put(key, guards.StoredEntry(json.dumps(stale), pickle.dumps("stale")))
    reader = fresh(store)
    assert reader([7]) == [21, "fast"] and reader.cache.info().store_hits == 0


def test_another_version_of_the_code_never_sees_the_entries(
    store: guards.SQLiteStore,
) -> None:
    namespace: dict[str, Any] = {}
    exec("def f(n):\n    return n + 1\n", namespace)
    fresh(store, namespace["f"])(1)
    exec("def f(n):\n    return n + 2\n", namespace)  # same name, other code
    changed = fresh(store, namespace["f"])
    assert changed(1) == 3 and changed.cache.info().store_hits == 0


def test_store_must_be_a_store() -> None:
    with pytest.raises(guards.GuardsTypeError, match="store"):
        guards.specialize(store="entries.db")  # type: ignore[arg-type]


@settings(max_examples=30, deadline=None)
@given(calls=st.lists(st.tuples(st.integers(-3, 3), st.integers(1, 3)), min_size=1,
                      max_size=8))
def test_every_answer_through_a_store_equals_a_fresh_call(
    tmp_path_factory: pytest.TempPathFactory, calls: list[tuple[int, int]]
) -> None:
    """Two processes' wrappers and a changing global: each call, answered by either
    wrapper's cache, the store or a trace, equals the plain function's."""
    store = guards.SQLiteStore(str(tmp_path_factory.mktemp("law") / "s.db"))
    wrappers = [fresh(store), fresh(store)]
    try:
        for i, (x, factor) in enumerate(calls):
            SCALE["factor"] = factor
            assert wrappers[i % 2]([x]) == scaled([x])
    finally:
        SCALE["factor"] = 3


# -- real processes -------------------------------------------------------------------
PLANNER = """
import os
import guards

spec = os.environ["GUARDS_TEST_STORE"]
if spec.startswith("sqlite:"):
    STORE = guards.SQLiteStore(spec[len("sqlite:"):])
else:
    url, _, key = spec[len("redis:"):].rpartition("|")
    STORE = guards.RedisStore(url, key=bytes.fromhex(key))
RATES = {{"base": {rate}}}

@guards.specialize(store=STORE)
def plan(n):
    {work}
    return [n * RATES["base"], sum(range(n))]
"""


def write_planner(directory: Path, rate: int = 2, work: str = "pass") -> Path:
    directory.mkdir(exist_ok=True)
    (directory / "planner.py").write_text(textwrap.dedent(PLANNER.format(rate=rate, work=work)))
    return directory


def _env(store_spec: str, hash_seed: str = "12345") -> dict[str, str]:
    """The workers' environment: one str hash seed (processes with different seeds
    never share entries: test_processes_with_other_hash_seeds_share_nothing)."""
    src = str(Path(guards.__file__).resolve().parent.parent)
    path = os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "GUARDS_TEST_STORE": store_spec,
            "PYTHONHASHSEED": hash_seed}


def start(module_dir: Path, arg: int, store_spec: str, at: float = 0.0) -> Any:
    return subprocess.Popen(
        [sys.executable, str(WORKER), str(module_dir), str(arg), str(at)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(store_spec),
    )


def finish(process: Any) -> dict[str, Any]:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def test_a_process_is_answered_by_what_another_wrote(tmp_path: Path) -> None:
    spec = f"sqlite:{tmp_path / 'shared.db'}"
    module = write_planner(tmp_path / "v1")
    assert finish(start(module, 5, spec)) == {"value": [10, 10], "store_hits": 0, "misses": 1}
    assert finish(start(module, 5, spec))["store_hits"] == 1
    assert finish(start(module, 6, spec)) == {"value": [12, 15], "store_hits": 0, "misses": 1}
    # The same code reading another global value: the stored entry's guard rejects it.
    changed = write_planner(tmp_path / "v2", rate=3)
    assert finish(start(changed, 5, spec)) == {"value": [15, 10], "store_hits": 0, "misses": 1}


def test_a_fleet_burst_through_specialize_traces_at_most_twice(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    spec = f"redis:{redis_server.url}|{KEY.hex()}"
    module = write_planner(tmp_path / "fleet", work="__import__('time').sleep(0.3)")
    at = time.time() + 3.0  # after every process has started
    results = [finish(p) for p in [start(module, 9, spec, at) for _ in range(8)]]
    assert all(r["value"] == [18, 36] for r in results)
    traced = sum(1 for r in results if r["store_hits"] == 0)
    assert 1 <= traced <= 2, results
    assert finish(start(module, 9, spec))["store_hits"] == 1


def test_a_store_that_is_down_is_bypassed_once_and_used_again(
    redis_server: RedisServer,
) -> None:
    store = guards.RedisStore(redis_server.url, key=KEY, timeout=0.3, backoff=0.3)
    cached = fresh(store)
    redis_server.stop()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for x in range(6):  # misses and hits, all answered as the plain function
            assert cached([x]) == scaled([x]) and cached([x]) == scaled([x])
    assert len([w for w in caught if issubclass(w.category, guards.StoreWarning)]) == 1
    assert cached.cache.info().hits == 6
    redis_server.start()
    time.sleep(0.4)  # past the back-off
    assert cached([100]) == scaled([100])  # traced, and written to the store again
    other = fresh(store)
    assert other([100]) == scaled([100]) and other.cache.info().store_hits == 1


HASHING = """
import json, sys
import guards

store = guards.SQLiteStore(sys.argv[1])

@guards.specialize(store=store)
def hashed(s):
    return hash(s)

@guards.specialize(store=store)
def distinct(words):
    return list(set(words))

@guards.specialize(store=store)
def tags():
    return list({"red", "green", "blue", "cyan", "magenta"})

words = ["a", "b", "c", "d", "e", "f", "g"]
answers = [hashed("hello"), distinct(words), tags()]
fresh = [hash("hello"), list(set(words)), list({"red", "green", "blue", "cyan", "magenta"})]
hits = sum(f.cache.info().store_hits for f in (hashed, distinct, tags))
print(json.dumps({"same": answers == fresh, "store_hits": hits}))
"""


def _hashing(db: Path, seed: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", HASHING, str(db)], capture_output=True, text=True,
        env=_env("", hash_seed=seed), timeout=120, check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_processes_with_other_hash_seeds_share_nothing(tmp_path: Path) -> None:
    # hash(s) and a set's order of str follow the process's hash seed, which no guard
    # sees: an entry written under one seed must not answer under another.
    db = tmp_path / "entries.db"
    assert _hashing(db, "1") == {"same": True, "store_hits": 0}
    assert _hashing(db, "2") == {"same": True, "store_hits": 0}
    assert _hashing(db, "2") == {"same": True, "store_hits": 3}  # the same seed shares
    assert _hashing(db, "0") == {"same": True, "store_hits": 0}  # no randomization


def test_the_key_names_the_interpreter(store: guards.SQLiteStore) -> None:
    # The same bytecode can run other builtins in another version (3.11 and 3.12 give
    # call-free code one fingerprint; sum() of floats differs between them).
    from guards.specialization.persisted import process_traits

    version = f"{sys.implementation.name}-{sys.version_info.major}.{sys.version_info.minor}"
    assert process_traits().startswith(version)
    assert f"guards={guards.__version__};" in process_traits()  # another release: new keys
    cached = fresh(store)
    cached([1])
    assert cached.specialized.store_link.key().fingerprint.endswith("/" + process_traits())


WALKED: list[int] = []


def walk(n: int) -> int:
    WALKED.append(n)  # a write to a global: each call runs uncached, plainly
    return 0 if n == 0 else walk_through_store(n - 1) + 1


walk_through_store: Any = walk


def test_a_recursion_never_waits_for_its_own_claim(store: guards.SQLiteStore) -> None:
    # The outer miss holds the key's claim while the function runs plainly; the inner
    # misses are the same thread's: they must not wait for that claim to be released.
    global walk_through_store
    walk_through_store = fresh(store, walk)
    try:
        assert walk_through_store(3) == 3
    finally:
        walk_through_store = walk
    stats = store.stats()
    assert (stats.locks_won, stats.locks_lost) == (1, 0)


def test_a_build_that_misses_on_its_own_key_builds_without_waiting(
    store: guards.SQLiteStore,
) -> None:
    key = guards.StoreKey("app", "nested", "v1")

    def outer() -> tuple[Any, None]:
        inner = guards.load_or_build(store, key, lambda entry: guards.MISS,
                                     lambda: ("inner", None), wait=30.0)
        return (inner.value, inner.waited), None

    assert guards.load_or_build(store, key, lambda entry: guards.MISS, outer).value == (
        "inner", False)
    assert not store.lock_held(key)
    with store.lock(key) as won:  # released: the next caller wins it
        assert won


def test_verify_mode_checks_answers_from_the_store(store: guards.SQLiteStore) -> None:
    # An entry whose guards pass but whose value a fresh call would not return (written
    # by a process where the result depended on what no guard sees): verify catches it.
    writer = fresh(store)
    writer([1, 2])
    key = writer.specialized.store_link.key()
    [entry] = store.get(key)
    store.put(key, guards.StoredEntry(entry.document, store.serializer.dumps(["stale"])))
    with pytest.raises(guards.StaleHitError, match=r"the store returned \['stale'\]"):
        fresh(store, verify=True)([1, 2])
    assert fresh(store, verify=True)([1, 3]) == [3, 9, "fast"]  # other guards: traced


def digits(n: int) -> int:
    return len(str(10 ** n))


def test_the_key_names_the_int_str_limit(store: guards.SQLiteStore) -> None:
    # str() of a large int raises under a lower limit (PYTHONINTMAXSTRDIGITS): an entry
    # stored under another limit must not answer.
    assert fresh(store, digits)(1000) == 1001
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(640)
    try:
        with pytest.raises(ValueError, match="limit"):
            fresh(store, digits)(1000)
    finally:
        sys.set_int_max_str_digits(limit)
    again = fresh(store, digits)
    assert again(1000) == 1001 and again.cache.info().store_hits == 1
