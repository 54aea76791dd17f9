"""Injection, continued: keys of every hashable type, and arbitrary compositions of paths.

tests/test_injection.py covers hostile text as attribute names, string keys, root names
and values.  Here: keys that are ints, floats (NaN, -0.0, infinities), complex numbers,
bytes, bools, None, nested tuples, frozensets, enum members, a user's hashable class
whose ``repr`` is itself a payload, and slices; then a Hypothesis fuzz test over whole
chains of attribute and item steps with arbitrary text and keys.  Each time: the name
renders, the generated code holds only identifiers and runs none of it, and every
guard's verdict is what Python itself answers through ``Source.get``.
"""

from __future__ import annotations

import contextlib
import enum
import math
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st
from test_injection import PAYLOADS, SENTINEL, assert_clean, assert_nothing_executed

from guards import (
    AttrSource,
    GetItemSource,
    GlobalSource,
    Guard,
    GuardBuilder,
    LocalSource,
    Source,
    compile_guards,
)
from guards.testing import Obj


class Color(enum.Enum):
    RED = 1
    BLUE = "__import__('os').system('echo blue')"


class Level(enum.IntEnum):
    LOW = 1


class UserKey:
    """Hashable by value; its repr is a payload that must never run."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UserKey) and other.text == self.text

    def __hash__(self) -> int:
        return hash(("UserKey", self.text))

    def __repr__(self) -> str:
        return f"__import__('builtins').__setattr__('{SENTINEL}', 1) or {self.text!r}"


NAN = float("nan")

#: One of each hashable kind, with the look-alikes Python's dict would confuse.
KEYS: list[Any] = [
    0, 1, -1, 2**64, 10**5000, True, False, None, 1.0, 1.5, 0.0, -0.0, math.inf, -math.inf,
    NAN, complex(1, 2), complex(0, -0.0), b"", b"'\"\\\n\x00", (), (1,), (1, "a"),
    ((1, (2, ("x'y", b"\n"))), None), (True, 1, 1.0), (0.0, -0.0), frozenset(),
    frozenset({1, "a", (2, 3)}), frozenset({"__import__('os').system('echo hi')"}),
    Color.RED, Color.BLUE, Level.LOW, UserKey("a"), UserKey("');import os;('"), Ellipsis,
    int, len, range(3), *PAYLOADS[:6],
]


def key_id(key: Any) -> str:
    try:
        text = repr(key)
    except ValueError:
        text = "<huge int>"
    return ascii(f"{type(key).__name__}:{text}")[:40]


def exact(a: Any, b: Any) -> bool:
    return a is b or (type(a) is type(b) and a == b)


def expected_equals(source: Source, f_locals: dict[str, Any], value: Any) -> bool:
    try:
        return exact(source.get(f_locals), value)
    except (KeyError, AttributeError, IndexError, TypeError):
        return False


def expected_contains(source: GetItemSource, f_locals: dict[str, Any]) -> bool:
    try:
        return source.index in source.base.get(f_locals)
    except (KeyError, AttributeError, TypeError):
        return False


def agree(source: Source, kind: Any, built: dict[str, Any], expected: Any) -> None:
    """One guard, compiled alone: clean code, and its verdict on each frame as expected."""
    check = compile_guards([source.make_guard(kind)], built)
    assert_clean(check)
    for f_locals, verdict in expected:
        assert check.check(f_locals) is verdict, (source.name, f_locals)
        assert check.check_verbose(f_locals).passed is verdict


def look_alikes(key: Any) -> list[Any]:
    """Keys equal to ``key`` (or nearly) that a careless guard would take for it."""
    out: list[Any] = []
    if type(key) in (int, bool, float) and not (isinstance(key, float) and math.isnan(key)):
        for convert in (int, float, bool, complex):
            with contextlib.suppress(OverflowError):  # huge ints, infinities
                out.append(convert(key))
    if type(key) is float and key == 0.0:
        out += [-key]
    if type(key) is float and math.isnan(key):
        out += [float("nan")]  # equal to nothing, itself included, but another object
    if type(key) is tuple:
        out += [list(key)]
    if type(key) is frozenset:
        out += [set(key)]
    if type(key) is UserKey:
        out += [UserKey(key.text)]
    if type(key) is Level:
        out += [1]
    return [alike for alike in out if alike is not key]


@pytest.mark.parametrize("key", KEYS, ids=key_id)
def test_every_hashable_key_renders_and_agrees_with_get(key: Any) -> None:
    d = LocalSource("d")
    item = GetItemSource(d, key)
    name = item.name
    assert name.startswith("L['d'][") and name.endswith("]")
    if is_literal(key):  # the name is Python that reads the same item back
        assert eval(name, {"L": {"d": {key: "v"}}, "inf": math.inf, "nan": NAN}) == "v"

    built = {"d": {key: "v"}}
    frames: list[dict[str, Any]] = [
        {"d": {key: "v"}}, {"d": {key: "w"}}, {"d": {}}, {"d": {key: "v", "other": 1}},
        {"d": [key]}, {"d": None}, {},
    ]
    for alike in look_alikes(key):
        try:
            frames.append({"d": {alike: "v"}})
        except TypeError:  # an unhashable look-alike: a list, a set
            frames.append({"d": [alike]})
    agree(item, GuardBuilder.EQUALS_MATCH, built,
          [(f, expected_equals(item, f, "v")) for f in frames])
    agree(item, GuardBuilder.DICT_CONTAINS, built,
          [(f, expected_contains(item, f)) for f in frames])
    agree(d, GuardBuilder.DICT_KEYS_MATCH, built,
          [(f, "d" in f and type(f["d"]) is dict and len(f["d"]) == 1
            and same_key(next(iter(f["d"])), key))
           for f in frames])
    assert_nothing_executed()


def is_literal(key: Any) -> bool:
    """A key whose repr is Python for the key itself (never a user's repr: that could run)."""
    if type(key) in (tuple, frozenset):
        return all(map(is_literal, key))
    return type(key) in (int, float, complex, bytes, bool, str, type(None), range)


def same_float(a: float, b: float) -> bool:
    if math.isnan(a):
        return math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def same_key(a: Any, b: Any) -> bool:
    """Keys as DICT_KEYS_MATCH compares them: exact types, -0.0 is not 0.0, NaN is NaN."""
    if type(a) is not type(b):
        return False
    if type(a) is float:
        return same_float(a, b)
    if type(a) is complex:
        return same_float(a.real, b.real) and same_float(a.imag, b.imag)
    if type(a) is tuple:
        return len(a) == len(b) and all(map(same_key, a, b))
    if type(a) is frozenset:
        return {(type(i), i) for i in a} == {(type(i), i) for i in b}
    return bool(a == b)


def test_a_slice_key_renders_and_agrees_with_get() -> None:
    item = GetItemSource(LocalSource("s"), slice(1, None, -1), index_is_slice=True)
    assert item.name == "L['s'][slice(1, None, -1)]"
    agree(item, GuardBuilder.EQUALS_MATCH, {"s": [1, 2, 3]},
          [({"s": [1, 2, 3]}, True), ({"s": [2, 1, 3]}, False), ({"s": (1, 2, 3)}, False),
           ({"s": [1, 2, 99]}, True)])


@pytest.mark.parametrize("name", PAYLOADS, ids=ascii)
def test_hostile_names_at_every_step_of_one_path(name: str) -> None:
    """One payload as global name, attribute, key and key inside a tuple, on one path."""
    root = GlobalSource(name)
    leaf = GetItemSource(GetItemSource(AttrSource(root, name), name), (name, frozenset({name})))
    value = Obj()
    setattr(value, name, {name: {(name, frozenset({name})): "secret"}})
    guard_list = [leaf.make_guard(GuardBuilder.EQUALS_MATCH),
                  AttrSource(root, name).make_guard(GuardBuilder.HASATTR)]
    check = compile_guards(guard_list, {}, {name: value})
    assert_clean(check, ("secret",))
    assert check.check({}, {name: value})
    changed = Obj()
    setattr(changed, name, {name: {(name, frozenset({name})): "other"}})
    assert leaf.get({}, {name: changed}) == "other"
    assert check.check({}, {name: changed}) is False
    assert check.check({}, {}) is False
    assert_nothing_executed()


# ---------------------------------------------------------------------- fuzzing
texts = st.text(max_size=12)
attr_names = texts.filter(lambda n: not (n.startswith("__") and n.endswith("__")))
hashable_keys = st.recursive(
    st.one_of(
        st.integers(), st.floats(), st.complex_numbers(), st.binary(max_size=6), st.booleans(),
        st.none(), texts, st.sampled_from([Color.RED, Color.BLUE, Level.LOW, Ellipsis]),
        st.builds(UserKey, texts),
    ),
    lambda inner: st.one_of(st.tuples(inner, inner), st.frozensets(inner, max_size=3)),
    max_leaves=4,
)
steps = st.lists(
    st.one_of(st.tuples(st.just("attr"), attr_names), st.tuples(st.just("item"), hashable_keys)),
    min_size=1, max_size=4,
)


def build_along(path: list[tuple[str, Any]], leaf: Any) -> Any:
    """The nested objects and dicts that ``path`` walks, ending at ``leaf``."""
    value = leaf
    for step, arg in reversed(path):
        if step == "attr":
            holder = Obj()
            setattr(holder, arg, value)
            value = holder
        else:
            value = {arg: value}
    return value


@settings(max_examples=120, deadline=None)
@given(root=texts, is_global=st.booleans(), path=steps, leaf=texts, data=st.data())
def test_fuzz_arbitrary_compositions(
    root: str, is_global: bool, path: list[tuple[str, Any]], leaf: str, data: st.DataObject
) -> None:
    """Any chain of attribute and item steps, any text and keys: clean code, no payload runs,
    and the compiled verdict is exactly what walking the path in Python says."""
    source: Source = GlobalSource(root) if is_global else LocalSource(root)
    guard_list: list[Guard] = []
    for step, arg in path:
        if step == "attr":
            source = AttrSource(source, arg)
            guard_list.append(source.make_guard(GuardBuilder.HASATTR))
        else:
            source = GetItemSource(source, arg)
            guard_list.append(source.make_guard(GuardBuilder.DICT_CONTAINS))
    guard_list.append(source.make_guard(GuardBuilder.EQUALS_MATCH))

    def frame(value: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        return ({}, {root: value}) if is_global else ({root: value}, {})

    check = compile_guards(guard_list, *frame(build_along(path, leaf)))
    assert_clean(check)

    cut = data.draw(st.integers(0, len(path) - 1), label="cut")
    candidates = [
        build_along(path, leaf),
        build_along(path, leaf + "!"),
        build_along(path[:cut], Obj()),
        build_along(path, data.draw(hashable_keys, label="other leaf")),
    ]
    for candidate in candidates:
        f_locals, f_globals = frame(candidate)
        try:
            expected = exact(source.get(f_locals, f_globals), leaf)
        except (KeyError, AttributeError, TypeError):
            expected = False
        assert check.check(f_locals, f_globals) is expected
        assert check.check_verbose(f_locals, f_globals).passed is expected
    assert_nothing_executed()
