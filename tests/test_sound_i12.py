"""Soundness of issue 12's faster paths, found by a hostile user (breaker12).

Each test compares a specialized function with a plain call of it.
"""

from __future__ import annotations

import abc
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
