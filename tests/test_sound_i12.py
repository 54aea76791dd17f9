"""Soundness of issue 12's faster paths, found by a hostile user (breaker12).

Each test compares a specialized function with a plain call of it.
"""

from __future__ import annotations

import abc
import collections.abc
from collections.abc import Iterator
from typing import Any

import guards


class _HashRecorded:
    """Remembers that its ``__hash__`` ran (as a hash computed lazily and cached would)."""

    def __init__(self) -> None:
        self.hashed = False

    def __hash__(self) -> int:
        self.hashed = True
        return 1

    def __eq__(self, other: object) -> bool:
        return self is other


def test_the_index_lookup_runs_no_hash_of_the_users() -> None:
    """With many entries the front looks the argument up by value: never through the
    argument's own ``__hash__``, which a plain call does not run."""

    @guards.specialize(max_entries=100)
    def describe(x: Any) -> Any:
        if type(x) is int:
            return x * 2
        return ("object", x.hashed)

    for i in range(40):
        assert describe(i) == 2 * i
    assert describe(_HashRecorded()) == describe.__wrapped__(_HashRecorded()) == (
        "object", False
    )
    assert describe(_HashRecorded()) == ("object", False)
    assert describe.cache_info().hits >= 1
    assert describe(7) == 14


class _Abstract(abc.ABC):  # noqa: B024 - a class of metaclass ABCMeta, not type
    pass


def test_entries_told_apart_by_a_class_of_another_metaclass_still_hit() -> None:
    """Such classes are not index keys (their metaclass may hash with code of its own):
    their entries are candidates for every call, and still hit."""

    @guards.specialize(max_entries=100)
    def name(x: Any) -> str:
        return type(x).__name__

    classes = [type(f"C{i}", (), {}) for i in range(20)]
    classes += [type(f"A{i}", (_Abstract,), {}) for i in range(20)]
    for cls in classes:
        assert name(cls()) == cls.__name__
    for cls in classes:
        assert name(cls()) == cls.__name__
    assert name.cache_info().hits == len(classes)


READY = {"ready": False}


class _Config:
    @property
    def port(self) -> int:
        if not READY["ready"]:
            raise KeyError("port")
        return 8080


class _Settings(collections.abc.Mapping[str, int]):
    def __init__(self, data: dict[str, int]) -> None:
        self.data = data

    def __getitem__(self, key: str) -> int:
        if not READY["ready"]:
            raise ValueError("not loaded")
        return self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


class _Numbers(list[int]):
    def __getitem__(self, index: Any) -> Any:
        if not READY["ready"]:
            raise ValueError("not loaded")
        return list.__getitem__(self, index)


@guards.specialize
def _port(config: _Config) -> Any:
    try:
        return config.port
    except KeyError:
        return "default"


@guards.specialize
def _setting(settings: Any, key: Any) -> Any:
    try:
        return settings[key]
    except ValueError:
        return "default"


def test_a_read_that_raises_what_no_guard_models_is_not_cached() -> None:
    """A property raising KeyError, a __getitem__ raising ValueError: the function
    catches it, and no guard could say the read raises again, so the run is uncached
    (a hit after the read stopped raising returned the except branch's result)."""
    cases: list[tuple[Any, tuple[Any, ...]]] = [
        (_port, (_Config(),)),
        (_setting, (_Settings({"port": 8080}), "port")),
        (_setting, (_Numbers([8080]), 0)),
    ]
    try:
        for f, args in cases:
            f.cache_clear()
            READY["ready"] = False
            assert f(*args) == "default"
            READY["ready"] = True
            assert f(*args) == f.__wrapped__(*args) == 8080
            assert f(*args) == 8080
            assert f.cache_info().hits == 1  # once it stops raising, it is cached
    finally:
        READY["ready"] = False


class _Obj:
    pass


def _has_p(o: Any) -> Any:
    return hasattr(o, "p")


def _try_attr(o: Any) -> Any:
    try:
        o.p  # noqa: B018 - read for whether it reads
        return "has"
    except AttributeError:
        return "no"


def _try_key(d: Any) -> Any:
    try:
        d["k"]
        return "has"
    except KeyError:
        return "no"


def _try_index(xs: Any) -> Any:
    try:
        xs[3]
        return "has"
    except IndexError:
        return "no"


def _with_p(value: Any) -> _Obj:
    o = _Obj()
    o.p = value  # type: ignore[attr-defined]
    return o


def test_a_read_whose_value_is_unused_still_guards_that_it_reads() -> None:
    """``hasattr(o, "p")``, ``try: o.p``, ``try: d["k"]``, ``try: xs[3]``: after the
    attribute, key or item is gone, a hit answered as if it were there."""
    cases: list[tuple[Any, Any, Any]] = [
        (_has_p, _with_p(1), lambda o: delattr(o, "p")),
        (_try_attr, _with_p(_Obj()), lambda o: delattr(o, "p")),
        (_try_key, {"k": 1}, lambda d: d.pop("k")),
        (_try_index, [1, 2, 3, 4], lambda xs: xs.pop()),
    ]
    for plain, arg, remove in cases:
        f = guards.specialize(plain)
        first = f(arg)
        assert f(arg) == first == plain(arg)
        assert f.cache_info().hits == 1
        remove(arg)
        assert f(arg) == plain(arg) != first
        assert f(arg) == plain(arg)  # its own entry now
        assert f.cache_info().hits == 2


def _item_or_missing(d: Any, k: Any) -> Any:
    try:
        return d[k]
    except (KeyError, IndexError):
        return "missing"


def test_a_missing_key_is_missing_of_that_mapping_type_only() -> None:
    """``k not in base`` says ``base[k]`` raises only for a mapping: a list passed
    next, which has an item 1, is not served the dict's miss."""
    f = guards.specialize(_item_or_missing)
    assert f({}, 1) == "missing"
    assert f([5, 6], 1) == _item_or_missing([5, 6], 1) == 6
    assert f({1: "one"}, 1) == "one"
    assert f((1,), 1) == "missing"


OPTIONAL = 1


def _optional_is_set() -> bool:
    try:
        OPTIONAL  # noqa: B018 - read for whether it is bound
        return True
    except NameError:
        return False


def test_a_global_read_unused_still_guards_that_it_is_bound() -> None:
    f = guards.specialize(_optional_is_set)
    assert f() is f() is True
    del globals()["OPTIONAL"]
    try:
        assert f() is _optional_is_set() is False
    finally:
        globals()["OPTIONAL"] = 1
    assert f() is True
