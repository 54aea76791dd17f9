"""Objects used as dict keys are tracked like any other read (issue 9, kind 4).

Iterating a tracked dict used to hand its keys over as they are: an attribute
read on a key object was never guarded.  A key that is not a deep-immutable
value is now handed over tracked, on the path ``list(dict.keys(L['g']))[i]``.
"""

from __future__ import annotations

from typing import Any

import pytest

import guards
from guards import DictKeySource, GuardBuilder, LocalSource, compile_guards
from guards.core.sources import dict_key


class Node:
    def __init__(self, name: str, w: int) -> None:
        self.name, self.w = name, w


def graph() -> tuple[Node, Node, dict[Node, list[Node]]]:
    a, b = Node("a", 1), Node("b", 2)
    return a, b, {a: [b], b: [a, a]}


def test_dict_key_source_reads_the_key_at_a_position() -> None:
    g = {"x": 1, 2: "y"}
    source = DictKeySource(LocalSource("g"), 1)
    assert source.name == "list(dict.keys(L['g']))[1]"
    assert source.get({"g": g}) == 2
    assert dict_key(g, 0) == "x"
    with pytest.raises(IndexError):
        DictKeySource(LocalSource("g"), 2).get({"g": g})
    with pytest.raises(TypeError):
        dict_key([1, 2], 0)
    with pytest.raises(TypeError, match="int >= 0"):
        DictKeySource(LocalSource("g"), -1)


def test_a_guard_through_a_key_sees_the_key_change() -> None:
    a, _, g = graph()
    weight = guards.AttrSource(DictKeySource(LocalSource("g"), 0), "w")
    cf = compile_guards([weight.make_guard(GuardBuilder.EQUALS_MATCH)], {"g": g})
    assert cf.check({"g": g})
    a.w = 100
    assert not cf.check({"g": g})
    assert not cf.check_verbose({"g": g})


def test_an_attribute_of_a_key_object_is_guarded() -> None:
    """The soundness case a071: a key's attribute changes, the next call sees it."""

    @guards.specialize
    def total(g: dict[Node, list[Node]]) -> int:
        return sum(node.w * len(edges) for node, edges in g.items())

    a, _, g = graph()
    assert total(g) == 5
    assert total(g) == 5
    assert total.cache.info().hits == 1
    a.w = 100
    assert total(g) == total.__wrapped__(g) == 104


@pytest.mark.parametrize("how", ["for", "items", "list", "sorted"])
def test_every_way_of_iterating_keys_tracks_them(how: Any) -> None:
    @guards.specialize
    def names(g: dict[Node, int]) -> list[str]:
        if how == "for":
            return [k.name for k in g]
        if how == "items":
            return [k.name for k, _ in g.items()]
        if how == "list":
            return [k.name for k in list(g)]
        return [k.name for k in sorted(g, key=id)]

    _, b, g = graph()
    first = names(g)
    assert names(g) == first
    b.name = "renamed"
    assert names(g) == names.__wrapped__(g)
    assert "renamed" in names(g)


def test_plain_keys_stay_plain_values() -> None:
    """Strings, numbers and tuples of them are guarded by DICT_KEYS_MATCH alone."""

    @guards.specialize
    def keys(d: dict[Any, int]) -> list[Any]:
        return [k for k in d]

    assert keys({"a": 1, (1, 2): 2}) == ["a", (1, 2)]
    guards_of = keys.cache.entries[0].check.guards
    assert not any(isinstance(g.source, DictKeySource) for g in guards_of)
    assert keys({"a": 5, (1, 2): 6}) == ["a", (1, 2)]
    assert keys.cache.info().hits == 1


def test_keys_view_with_object_keys_is_not_cached() -> None:
    @guards.specialize
    def weights(g: dict[Node, Any]) -> list[int]:
        return [k.w for k in g.keys()]  # noqa: SIM118 - the view is what is tested

    a, _, g = graph()
    assert weights(g) == [1, 2]
    a.w = 7
    assert weights(g) == [7, 2]
    assert weights.cache.info().hits == 0
