"""A method written in C of a tracked object: followed where it is a built-in
container's, else the run stops before it, however the method was reached.

The methods of ``list``, ``dict``, ``set``, ``tuple`` and ``frozenset`` are
modelled (a write abandons the run before it, a read is guarded).  Any other C
method (a deque's ``append``, a dict subclass's ``setdefault``, a pattern's
``match``, ``obj.__setattr__``) may write to its object or keep what it is
given: the call then runs plainly, so its effect happens once.  A bound C
method read from anywhere (a global ``rate_of = RATES.get``, an attribute)
is its object's method, the object tracked, so it takes the same path.
"""

from __future__ import annotations

import collections
import re
from typing import Any

import guards

RATES = {"eu": 0.2}
rate_of = RATES.get  # a bound C method, held by a global
SEEN: list[Any] = []
remember = SEEN.append
PATTERN = re.compile(r"(\d+)")


def test_a_bound_dict_get_held_by_a_global_is_guarded_on_the_key_it_reads() -> None:
    @guards.specialize
    def price(amount: float, region: str) -> float:
        return amount * (1 + rate_of(region, 0))

    try:
        assert price(10, "eu") == price(10, "eu") == 12.0
        assert price.cache.info().hits == 1
        RATES["us"] = 0.1  # a key the function did not read
        assert price(10, "eu") == 12.0
        assert price.cache.info().hits == 2
        RATES["eu"] = 0.5
        assert price(10, "eu") == price.__wrapped__(10, "eu") == 15.0
    finally:
        RATES.clear()
        RATES["eu"] = 0.2


def test_a_bound_list_append_held_by_a_global_writes_once() -> None:
    @guards.specialize
    def note(cfg: dict[str, int]) -> int:
        remember(cfg)
        return cfg["n"]

    SEEN.clear()
    cfg = {"n": 1}
    assert note(cfg) == 1
    assert len(SEEN) == 1
    assert SEEN[0] is cfg
    assert note.cache.info().entries == 0


class Registry(dict):  # type: ignore[type-arg]
    """A dict subclass: its C methods are not the modelled ones of dict."""


def test_a_c_method_of_a_dict_subclass_writes_once() -> None:
    registry = Registry()

    @guards.specialize
    def register(name: str) -> int:
        registry.setdefault(name, len(registry))
        return len(registry)

    assert register("a") == 1
    assert register("b") == 2
    assert registry == {"a": 0, "b": 1}
    assert register.cache.info().entries == 0


def test_a_deque_held_in_an_attribute_is_appended_to_once() -> None:
    class Holder:
        def __init__(self) -> None:
            self.queue: collections.deque[int] = collections.deque()
            self.push = self.queue.append

    holder = Holder()

    @guards.specialize
    def push(h: Holder, x: int) -> int:
        h.push(x)
        return len(h.queue)

    assert push(holder, 1) == 1
    assert push(holder, 1) == 2  # a hit would skip the append
    assert list(holder.queue) == [1, 1]
    reasons = " ".join(push.specialized.uncached_reasons)
    assert "a method written in C" in reasons


def test_setattr_called_as_a_method_writes_once() -> None:
    class Box:
        pass

    @guards.specialize
    def fill(box: Box, value: int) -> int:
        box.__setattr__("value", value)
        return value

    box = Box()
    assert fill(box, 3) == 3
    assert box.value == 3  # type: ignore[attr-defined]
    assert fill.cache.info().entries == 0


def test_a_compiled_patterns_match_gives_a_plain_calls_result() -> None:
    """A compiled pattern is a library value: guarded by value, its match runs cached
    (issue 12); another text misses and answers as a plain call."""

    @guards.specialize
    def number(text: str) -> str | None:
        found = PATTERN.match(text)
        return found.group(1) if found else None

    assert number("12ab") == number("12ab") == "12"
    assert number("ab") is None
    assert number.cache.info().hits == 1 and not number.specialized.uncached_reasons


def test_a_dict_subclass_read_by_c_code_past_its_keys_runs_plainly() -> None:
    """``dict(d)`` reads a dict subclass's table past a Python ``keys``: as a plain run does."""

    class Reversed(dict):  # type: ignore[type-arg]
        def keys(self) -> Any:
            return list(reversed(list(super().keys())))

    def f(d: dict[str, int]) -> list[str]:
        return list(dict(d))

    fast = guards.specialize(f)
    d = Reversed(a=1, b=2)
    assert fast(d) == f(d) == ["a", "b"]
    [reason] = fast.specialized.uncached_reasons
    assert "overriding dict.keys" in reason


def test_a_dict_subclass_with_dicts_own_methods_caches_its_copy() -> None:
    """``dict(d)`` of a plain dict subclass is cached, and a changed item is a miss."""

    class Defaults(dict):  # type: ignore[type-arg]
        pass

    def f(d: dict[str, int]) -> dict[str, int]:
        return dict(d)

    fast = guards.specialize(f)
    d = Defaults(a=1)
    assert fast(d) == fast(d) == {"a": 1}
    assert fast.cache.info().hits == 1
    d["a"] = 2
    assert fast(d) == f(d) == {"a": 2}
