"""guards.core.plain: which reads run no user code (decided without running any)."""

from __future__ import annotations

import collections
import functools
import types
from typing import Any

import pytest

from guards.core.plain import is_plain_attribute, is_plain_data, is_plain_step
from guards.core.sources import GetItemSource, LocalSource


class Slotted:
    __slots__ = ("a",)

    def __init__(self) -> None:
        self.a = 1


class Kinds:
    klass = 1

    def __init__(self) -> None:
        self.own = 1

    def method(self) -> int:
        return 1

    @property
    def prop(self) -> int:
        raise AssertionError("ran")

    @functools.cached_property
    def cached(self) -> int:
        raise AssertionError("ran")


class Dynamic:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError("ran")


class Hooked:
    def __getattribute__(self, name: str) -> Any:
        raise AssertionError("ran")


@pytest.mark.parametrize(("make", "name", "plain"), [
    (Slotted, "a", True),
    (Kinds, "own", True),
    (Kinds, "klass", True),
    (Kinds, "method", True),
    (Kinds, "missing", True),
    (Kinds, "prop", False),
    (Kinds, "cached", False),
    (lambda: Kinds, "klass", True),
    (Dynamic, "missing", False),
    (Hooked, "anything", False),
    (lambda: types, "ModuleType", True),
], ids=str)
def test_is_plain_attribute(make: Any, name: str, plain: bool) -> None:
    assert is_plain_attribute(make(), name) is plain


def test_a_cached_property_already_computed_is_plain() -> None:
    o = Kinds()
    vars(o)["cached"] = 2
    assert is_plain_attribute(o, "cached")


def test_items_are_plain_only_for_exact_builtin_types() -> None:
    item = GetItemSource(LocalSource("d"), "x")
    assert is_plain_step(item, {"x": 1})
    assert not is_plain_step(item, collections.defaultdict(int))
    assert not is_plain_step(item, collections.ChainMap({}))
    assert not is_plain_step(item, types.MappingProxyType({}))


def test_plain_data() -> None:
    assert is_plain_data({"a": [1, (2.0, "x")], "b": None})
    assert not is_plain_data([Kinds()])
    assert not is_plain_data(collections.OrderedDict())
