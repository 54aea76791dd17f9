"""The outside world read by the standard library (issue 9, kind 4).

A run that reads the environment, the file system, a clock, the random state
or the thread's decimal context through the standard library is not cached,
with a reason naming what it called (``guards.world``); the environment read
through ``os.getenv``/``os.environ`` is guarded precisely instead.
"""

from __future__ import annotations

import datetime
import decimal
import os
import random
import sysconfig
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import guards
from guards import world

FLAG = "GUARDS_TEST_SOUND_WORLD_FLAG"


@pytest.fixture(autouse=True)
def _no_flag(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(FLAG, raising=False)
    yield


def reasons(f: Any) -> str:
    return " | ".join(f.specialized.uncached_reasons)


def uncached_because(f: Any, *args: Any) -> str:
    """Call ``f`` twice: both calls run (no hit), and the reason is returned."""
    f(*args)
    f(*args)
    assert f.cache.info().hits == 0
    assert f.cache.info().uncached == 2
    return reasons(f)


# ------------------------------------------------------------------ the environment
def test_getenv_is_guarded_on_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    @guards.specialize
    def flag() -> str:
        return os.getenv(FLAG, "off")

    assert flag() == "off"
    assert flag() == "off"
    assert flag.cache.info().hits == 1  # type: ignore[attr-defined]
    monkeypatch.setenv(FLAG, "on")
    assert flag() == "on"
    monkeypatch.setenv(FLAG, "again")
    assert flag() == "again"
    monkeypatch.delenv(FLAG)
    assert flag() == "off"


@pytest.mark.parametrize("how", ["get", "in", "item"])
def test_environ_is_guarded_on_the_variable(how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    @guards.specialize
    def flag() -> Any:
        if how == "get":
            return os.environ.get(FLAG, "off")
        if how == "in":
            return FLAG in os.environ
        try:
            return os.environ[FLAG]
        except KeyError:
            return "off"

    first = flag()
    assert flag() == first
    assert flag.cache.info().hits == 1  # type: ignore[attr-defined]
    monkeypatch.setenv(FLAG, "on")
    assert flag() == flag.__wrapped__() != first  # type: ignore[attr-defined]


# ------------------------------------------------------------------ uncached reads
def test_the_file_system(tmp_path: Path) -> None:
    mark = str(tmp_path / "ready")

    @guards.specialize
    def ready() -> bool:
        return os.path.exists(mark)

    assert "os.path.exists reads the file system" in uncached_because(ready)
    open(mark, "w").close()
    assert ready() is True


def test_open_is_a_read_of_the_file_system(tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    path.write_text("one")

    @guards.specialize
    def read(p: str) -> str:
        with open(p) as handle:
            return handle.read()

    assert "open reads the file system" in uncached_because(read, str(path))
    path.write_text("two")
    assert read(str(path)) == "two"


@pytest.mark.parametrize(("name", "call"), [
    ("time.time", lambda: time.time()),
    ("time.perf_counter", lambda: time.perf_counter()),
    ("random.random", lambda: random.random()),
    ("Random.randint", lambda: random.randint(0, 10**9)),
    ("datetime.datetime.now", lambda: datetime.datetime.now()),
    ("datetime.date.today", lambda: datetime.date.today()),
])
def test_clocks_and_random_state(name: str, call: Callable[[], Any]) -> None:
    f = guards.specialize(call)
    assert name in uncached_because(f)


def test_a_random_generator_passed_in() -> None:
    @guards.specialize
    def draw(rng: random.Random) -> float:
        return rng.random()

    rng = random.Random(1)
    assert draw(rng) != draw(rng)
    assert draw.cache.info().hits == 0  # type: ignore[attr-defined]


def test_decimal_arithmetic_reads_the_context() -> None:
    @guards.specialize
    def third(a: int, b: int) -> str:
        return str(Decimal(a) / Decimal(b))

    assert "decimal.Decimal reads the thread's decimal context" in uncached_because(third, 1, 3)
    with decimal.localcontext() as context:
        context.prec = 5
        assert third(1, 3) == "0.33333"


def library_function(source: str, name: str) -> Any:
    """A function whose code says it is in the standard library (so it is not traced)."""
    namespace: dict[str, Any] = {}
    filename = os.path.join(sysconfig.get_paths()["stdlib"], "guards_test_fake.py")
    exec(compile(source, filename, "exec"), namespace)
    return namespace[name]


DECIMAL_OF = library_function(
    "import decimal\ndef decimal_of(text):\n    return decimal.Decimal(text)\n", "decimal_of"
)


def test_a_decimal_made_by_library_code() -> None:
    """A Decimal returned by untraced code: its arithmetic reads the context."""

    @guards.specialize
    def half(text: str) -> Any:
        return str(DECIMAL_OF(text) / 2)

    assert "a Decimal result" in uncached_because(half, "1")


# ------------------------------------------------------------------ no over-reach
def test_pure_library_calls_stay_cached() -> None:
    @guards.specialize
    def joined(parts: list[str]) -> str:
        time.sleep(0)
        return os.path.join(*parts)

    assert joined(["a", "b"]) == os.path.join("a", "b")
    assert joined(["a", "b"]) == os.path.join("a", "b")
    assert joined.cache.info().hits == 1  # type: ignore[attr-defined]


def test_a_user_function_named_like_a_reader_is_not_one() -> None:
    def getenv(name: str) -> str:
        return name.upper()

    assert world.reads_world(getenv) is None
    assert world.reads_world(os.getenvb) is not None
    assert world.reads_world(os.path.join) is None
    assert world.held_reads_world(datetime.datetime) is not None
    assert world.world_value(Decimal(1)) is not None
    assert world.world_value(1) is None


# ------------------------------------------------------------ classes made in a run
class _Dice(random.Random):
    """A user class whose instances read the random state (os.urandom seeds them)."""


def test_an_instance_of_a_user_subclass_of_random_makes_the_run_uncached() -> None:
    @guards.specialize
    def roll() -> float:
        return _Dice().random()

    assert "random" in uncached_because(roll)
