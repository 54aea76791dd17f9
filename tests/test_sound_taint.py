"""Taint: an exception that tracing raised or caused never steers the function.

User code that catches exceptions (``except TypeError``, ``except Exception``,
a bare ``except:``) must take the branch a plain call takes.  The tracer's own
``UntrackableError``, a ``TypeError`` from C code handed a proxy, and a
``RecursionError`` from tracing's extra frames discard the run instead: the
call runs plainly, uncached.  Exceptions a plain run raises too are followed as
usual, and such functions still cache.
"""

from __future__ import annotations

import sys
from typing import Any, Protocol, runtime_checkable

import pytest

import guards
from guards.errors import GuardsError
from guards.specialization.scalars import ScalarTracer
from guards.specialization.tracer import Tracer


def same_as_plain(f: Any, *args: Any) -> Any:
    got = f(*args)
    want = f.__wrapped__(*args)
    assert type(got) is type(want) and got == want
    return got


@runtime_checkable
class Closeable(Protocol):
    def close(self) -> None: ...


class File:
    def close(self) -> None:
        pass


class Tag(str):
    """A str subclass: tracked as an object, which C code such as str.join rejects."""


def test_the_tracers_own_error_is_not_caught_by_except_type_error() -> None:
    @guards.specialize
    def kind(x: Any) -> str:
        try:
            return "closeable" if isinstance(x, Closeable) else "plain"
        except TypeError:
            return "unknown"

    for _ in range(2):
        assert same_as_plain(kind, File()) == "closeable"
    assert kind.cache.info().entries == 0
    [reason] = kind.specialized.uncached_reasons
    assert reason.startswith("the tracer raised UntrackableError into the traced code")


@pytest.mark.parametrize("handler", ["except Exception", "except BaseException", "except"])
def test_the_tracers_own_error_is_not_caught_by_broad_handlers(handler: str) -> None:
    namespace: dict[str, Any] = {"Closeable": Closeable}
    exec(
        "def kind(x):\n"
        "    try:\n"
        "        return 'closeable' if isinstance(x, Closeable) else 'plain'\n"
        f"    {handler}:\n"
        "        return 'unknown'\n",
        namespace,
    )
    kind = guards.specialize(namespace["kind"])
    for _ in range(2):
        assert same_as_plain(kind, File()) == "closeable"


def test_a_type_error_from_c_code_handed_a_proxy_is_not_caught() -> None:
    @guards.specialize
    def label(cfg: dict[str, Any]) -> str:
        try:
            return "-".join([cfg["tag"], "x"])
        except TypeError:
            return "not a string"

    cfg = {"tag": Tag("a")}
    for _ in range(2):
        assert same_as_plain(label, cfg) == "a-x"


def depth(node: Any) -> int:
    return 0 if node is None else 1 + depth(node["next"])


def chain(n: int) -> Any:
    head = None
    for _ in range(n):
        head = {"next": head}
    return head


@pytest.mark.parametrize("handler", ["except Exception", "except RecursionError", "except"])
def test_recursion_deep_enough_for_tracing_frames_runs_plainly(handler: str) -> None:
    """A plain call at this depth does not reach the limit; the traced one is stopped."""
    namespace: dict[str, Any] = {"depth": depth}
    exec(
        "def safe_depth(node):\n"
        "    try:\n"
        "        return depth(node)\n"
        f"    {handler}:\n"
        "        return -1\n",
        namespace,
    )
    safe_depth = guards.specialize(namespace["safe_depth"])
    head = chain(sys.getrecursionlimit() // 4)
    for _ in range(2):
        assert same_as_plain(safe_depth, head) == sys.getrecursionlimit() // 4
    assert safe_depth.cache.info().hits == 0


def test_shallow_recursion_still_caches() -> None:
    @guards.specialize
    def chain_depth(node: Any) -> int:
        return depth(node)

    head = chain(20)
    assert chain_depth(head) == chain_depth(head) == 20
    assert chain_depth.cache.info().hits == 1


def test_exceptions_a_plain_run_raises_too_still_cache() -> None:
    """A missing key, a bad int() and a TypeError the function raises itself."""

    @guards.specialize
    def read(cfg: dict[str, Any]) -> Any:
        try:
            n = cfg["n"]
        except KeyError:
            n = 0
        try:
            scale = int(cfg["scale"])
        except ValueError:
            scale = 1
        try:
            if n < 0:
                raise TypeError("negative")
        except TypeError:
            n = -n
        return n * scale

    cfg: dict[str, Any] = {"scale": "x"}
    assert read(cfg) == read(cfg) == 0
    cfg = {"n": -2, "scale": "3"}
    assert read(cfg) == read(cfg) == 6
    assert read.cache.info().hits == 2, read.specialized.uncached_reasons


def test_an_exception_the_caller_is_handling_does_not_taint_the_run() -> None:
    @guards.specialize
    def double(cfg: dict[str, int]) -> int:
        return cfg["n"] * 2

    cfg = {"n": 2}
    try:
        raise RecursionError("the caller's own")
    except RecursionError:
        assert double(cfg) == double(cfg) == 4
    assert double.cache.info().hits == 1


def test_a_type_error_from_a_library_handed_a_proxy_inside_an_object_is_not_caught() -> None:
    """The library gets the deque itself, with the proxy inside; its TypeError taints."""
    import collections
    import shlex

    @guards.specialize
    def quoted(cfg: dict[str, Any]) -> str:
        words = collections.deque([cfg["tag"]])
        try:
            return shlex.join(words)
        except TypeError:
            return "unquotable"

    cfg = {"tag": Tag("a b")}
    for _ in range(2):
        assert same_as_plain(quoted, cfg) == "'a b'"


def test_a_type_error_from_an_operator_on_plain_values_still_caches() -> None:
    """Duck typing: `a + b` raising TypeError for a str and an int is a plain run's too."""

    @guards.specialize
    def total(cfg: dict[str, Any]) -> Any:
        try:
            return cfg["a"] + cfg["b"]
        except TypeError:
            return None

    cfg: dict[str, Any] = {"a": 1, "b": "x"}
    assert total(cfg) is None
    assert total(cfg) is None
    assert total.cache.info().hits == 1, total.specialized.uncached_reasons
    cfg["b"] = 2
    assert total(cfg) == 3


class Reading:
    def __init__(self, a: Any) -> None:
        self.a = a


@pytest.mark.parametrize("handler", ["Exception", "GuardsError", "BaseException"])
@pytest.mark.parametrize(("method", "value"), [("plain_attr", 5), ("other_attr", [5])])
def test_an_error_of_the_tracer_reading_an_attribute_never_reaches_user_code(
    handler: str, method: str, value: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `o.a` on a proxy is its own boundary (written out, not wrapped): an error the tracer
    # raises there discards the run, whatever the function catches.  The boundary asks
    # plain_attr (an exact scalar's read), then other_attr.
    namespace: dict[str, Any] = {"GuardsError": GuardsError}
    exec(
        "def read(o):\n"
        "    try:\n"
        "        return o.a\n"
        f"    except {handler}:\n"
        "        return 'caught'\n",
        namespace,
    )
    real = getattr(Tracer, method)

    def failing(self: Tracer, proxy: Any, name: str) -> Any:
        if name == "a":
            raise GuardsError("the tracer's own error")
        return real(self, proxy, name)

    monkeypatch.setattr(Tracer, method, failing)
    f = guards.specialize(namespace["read"])
    assert same_as_plain(f, Reading(value)) == value
    assert f.cache.info().entries == 0
    monkeypatch.setattr(Tracer, method, real)
    assert same_as_plain(f, Reading(value)) == value and f.cache.info().entries == 1


@pytest.mark.parametrize("handler", ["Exception", "GuardsError", "BaseException"])
def test_an_error_of_the_tracer_in_an_operator_never_reaches_user_code(
    handler: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `o.a + 1` on a scalar proxy: the operator's boundary is written out too.
    namespace: dict[str, Any] = {"GuardsError": GuardsError}
    exec(
        "def add(o):\n"
        "    try:\n"
        "        return o.a + 1\n"
        f"    except {handler}:\n"
        "        return 'caught'\n",
        namespace,
    )
    real = ScalarTracer.operate

    def failing(self: ScalarTracer, proxy: Any, name: str, fn: Any, args: Any) -> Any:
        raise GuardsError("the tracer's own error")

    monkeypatch.setattr(ScalarTracer, "operate", failing)
    f = guards.specialize(namespace["add"])
    assert same_as_plain(f, Reading(5)) == 6  # traced again with 5 itself, not a proxy
    monkeypatch.setattr(ScalarTracer, "operate", real)
    assert same_as_plain(f, Reading(5)) == 6 and f.cache.info().entries == 1


@pytest.mark.parametrize("container", [[5], {0: 5}, (5,)])
@pytest.mark.parametrize("method", ["plain_item", "other_item"])
def test_an_error_of_the_tracer_reading_an_item_never_reaches_user_code(
    container: Any, method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `xs[0]` on a proxy is its own boundary too: it asks plain_item, then other_item.
    def first(xs: Any) -> Any:
        try:
            return xs[0]
        except Exception:
            return "caught"

    real = getattr(Tracer, method)
    if method == "other_item":  # an item plain_item leaves to other_item: a list
        container = type(container)(
            {key: [item] for key, item in container.items()} if type(container) is dict
            else [[item] for item in container]
        )

    def failing(self: Tracer, proxy: Any, key: Any) -> Any:
        raise GuardsError("the tracer's own error")

    monkeypatch.setattr(Tracer, method, failing)
    f = guards.specialize(first)
    assert same_as_plain(f, container) == container[0]
    assert f.cache.info().entries == 0
    monkeypatch.setattr(Tracer, method, real)
    assert same_as_plain(f, container) == container[0] and f.cache.info().entries == 1
