"""The outside world read by the standard library (issue 9, kind 4).

A run that reads the environment, the file system, a clock, the random state
or the thread's decimal context through the standard library is not cached,
with a reason naming what it called (``guards.specialization.world``); the environment read
through ``os.getenv``/``os.environ`` is guarded precisely instead.
"""

from __future__ import annotations

import bisect
import collections
import copy
import datetime
import decimal
import functools
import hashlib
import heapq
import importlib
import importlib.util
import itertools
import json
import math
import mimetypes
import operator
import os
import random
import re
import sys
import sysconfig
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import guards
from guards.specialization import world

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
    assert flag.cache.info().hits == 1
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
    assert flag.cache.info().hits == 1
    monkeypatch.setenv(FLAG, "on")
    assert flag() == flag.__wrapped__() != first


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
    assert draw.cache.info().hits == 0


def test_decimal_arithmetic_reads_the_context() -> None:
    """Decimal arithmetic is cached under a guard on the thread's decimal context
    (DECIMAL_CONTEXT_MATCH): another precision misses."""

    @guards.specialize
    def third(a: int, b: int) -> str:
        return str(Decimal(a) / Decimal(b))

    assert third(1, 3) == third(1, 3) == str(Decimal(1) / Decimal(3))
    assert third.cache.info().hits == 1
    with decimal.localcontext() as context:
        context.prec = 5
        assert third(1, 3) == "0.33333"
    assert third.cache.info().hits == 1


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

    assert "calls decimal_of, which guards does not know" in uncached_because(half, "1")


def test_a_decimal_returned_by_a_pure_builtin() -> None:
    """A Decimal from a call known pure (``copy.copy``): its arithmetic reads the context,
    which is guarded."""

    @guards.specialize
    def half_of_copy(a: Any, b: Any) -> Any:
        return str(copy.copy(a) / b)

    assert half_of_copy(decimal.Decimal(1), 3) == half_of_copy(decimal.Decimal(1), 3)
    assert half_of_copy.cache.info().hits == 1
    with decimal.localcontext() as context:
        context.prec = 3
        assert half_of_copy(decimal.Decimal(1), 3) == "0.333"


# ------------------------------------------------------------------ no over-reach
def test_pure_library_calls_stay_cached() -> None:
    @guards.specialize
    def joined(parts: list[str]) -> str:
        time.sleep(0)
        return os.path.join(*parts)

    assert joined(["a", "b"]) == os.path.join("a", "b")
    assert joined(["a", "b"]) == os.path.join("a", "b")
    assert joined.cache.info().hits == 1


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


# -------------------------- library code not known pure (guards.specialization.purity)
def test_interpreter_settings_read_by_a_library_getter() -> None:
    @guards.specialize
    def below_limit(n: int) -> bool:
        return n < sys.getrecursionlimit()

    limit = sys.getrecursionlimit()
    try:
        assert "sys.getrecursionlimit" in uncached_because(below_limit, limit + 100)
        sys.setrecursionlimit(limit + 200)
        assert below_limit(limit + 100) is True
    finally:
        sys.setrecursionlimit(limit)


def test_the_digit_limit_str_reads_for_a_huge_int() -> None:
    @guards.specialize
    def digits(n: int) -> int:
        return len(str(n))

    big = 10**3000
    old = sys.get_int_max_str_digits()
    try:
        sys.set_int_max_str_digits(5000)
        assert digits(big) == digits(big) == 3001
        assert digits.cache.info().hits == 1
        sys.set_int_max_str_digits(1000)
        with pytest.raises(ValueError, match="Exceeds the limit"):
            digits(big)
    finally:
        sys.set_int_max_str_digits(old)


def test_a_library_registry() -> None:
    mimetypes.init()

    @guards.specialize
    def kind(name: str) -> str | None:
        return mimetypes.guess_type(name)[0]

    reason = uncached_because(kind, "a.guardszz")
    assert "calls mimetypes.guess_type, which guards does not know to read only its" in reason
    mimetypes.add_type("text/x-guardszz", ".guardszz")
    assert kind("a.guardszz") == "text/x-guardszz"


def test_a_library_registry_read_by_library_python_code() -> None:
    @guards.specialize
    def join(base: str, rel: str) -> str:
        return urllib.parse.urljoin(base, rel)

    assert "urllib.parse.urljoin" in uncached_because(join, "guardsapp://h/a/b", "c")
    urllib.parse.uses_relative.append("guardsapp")
    urllib.parse.uses_netloc.append("guardsapp")
    try:
        assert join("guardsapp://h/a/b", "c") == "guardsapp://h/a/c"
    finally:
        urllib.parse.uses_relative.remove("guardsapp")
        urllib.parse.uses_netloc.remove("guardsapp")


PACKAGE = '''\
SETTINGS = {"scale": 2}
def scaled(x):
    return x * SETTINGS["scale"]
def configure(scale):
    SETTINGS["scale"] = scale
class Box:
    def __init__(self, x):
        self.x = x * SETTINGS["scale"]
'''


@pytest.fixture
def installed_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A package under a ``site-packages`` directory: library code, as if installed."""
    site = tmp_path / "site-packages" / "guards_fake_pkg"
    site.mkdir(parents=True)
    (site / "__init__.py").write_text(PACKAGE)
    monkeypatch.syspath_prepend(str(site.parent))
    module = importlib.import_module("guards_fake_pkg")
    yield module
    sys.modules.pop("guards_fake_pkg", None)


def test_an_installed_package_setting(installed_package: Any) -> None:
    @guards.specialize
    def price(x: int) -> int:
        return installed_package.scaled(x)  # type: ignore[no-any-return]

    assert "guards_fake_pkg.scaled" in uncached_because(price, 3)
    installed_package.configure(10)
    assert price(3) == 30


def test_a_class_of_an_installed_package_handed_over(installed_package: Any) -> None:
    box = installed_package.Box

    @guards.specialize
    def boxed(x: int) -> int:
        return box(x).x  # type: ignore[no-any-return]

    assert "guards_fake_pkg.Box" in uncached_because(boxed, 3)
    installed_package.configure(10)
    assert boxed(3) == 30


def test_numpy_print_options() -> None:
    import numpy as np  # the test extra installs it: a real installed package

    @guards.specialize
    def shown(xs: list[float]) -> str:
        return str(np.array(xs) / 3)

    assert "numpy" in uncached_because(shown, [1.0, 2.0])
    with np.printoptions(precision=2):
        assert shown([1.0, 2.0]) == "[0.33 0.67]"


def test_the_file_system_read_by_an_unlisted_function(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))

    @guards.specialize
    def has_plugin(name: str) -> bool:
        return importlib.util.find_spec(name) is not None

    assert "find_spec" in uncached_because(has_plugin, "guards_zz_plugin")
    (tmp_path / "guards_zz_plugin.py").write_text("")
    importlib.invalidate_caches()
    assert has_plugin("guards_zz_plugin") is True


def test_the_random_state_read_by_an_unlisted_function() -> None:
    @guards.specialize
    def scratch(suffix: str) -> str:
        return tempfile.mktemp(suffix=suffix)

    assert scratch(".txt") != scratch(".txt")
    assert scratch.cache.info().hits == 0
    assert "tempfile.mktemp" in reasons(scratch)


@pytest.mark.parametrize("call", [
    lambda xs: math.fsum(xs) + abs(min(xs)) + round(max(xs), 2),
    lambda xs: json.dumps(sorted(xs)),
    lambda xs: re.sub(r"\.", ",", " ".join(str(x) for x in xs)).upper().split(),
    lambda xs: collections.Counter(xs).most_common(1),
    lambda xs: list(itertools.accumulate(map(operator.neg, xs))),
    lambda xs: functools.reduce(operator.add, xs, 0.0),
    lambda xs: [*heapq.nsmallest(1, xs), bisect.bisect(sorted(xs), 1.5)],
    lambda xs: hashlib.sha256(str(xs).encode()).hexdigest(),
    lambda xs: os.path.join("a", str(len(xs))),
    lambda xs: datetime.timedelta(days=len(xs)).total_seconds(),
])
def test_library_calls_known_pure_stay_cached(call: Callable[[list[float]], Any]) -> None:
    f = guards.specialize(call)
    assert f([1.0, 2.5]) == f([1.0, 2.5]) == call([1.0, 2.5])
    assert f.cache.info().hits == 1, reasons(f)
