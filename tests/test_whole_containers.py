"""A long list or tuple of plain scalars that is iterated is guarded as one value.

One guard per item made a miss of ``sum(xs)`` over 100,000 ints take half a
minute; the whole value is one ``EQUALS_MATCH`` with exact item types.
"""

from __future__ import annotations

from typing import Any

import guards
from guards.specialization.tracer import WHOLE_AT


def _total(xs: Any) -> Any:
    return sum(xs)


def test_a_long_list_iterated_is_one_guard() -> None:
    fast = guards.specialize(_total)
    xs = list(range(WHOLE_AT * 4))
    assert fast(xs) == _total(xs)
    [entry] = fast.cache.entries
    assert len(entry.check.guards) < 5
    assert fast(list(xs)) == _total(xs)
    assert fast.cache.info().hits == 1


def test_one_changed_item_misses() -> None:
    fast = guards.specialize(_total)
    xs = list(range(WHOLE_AT))
    assert fast(xs) == _total(xs)
    xs[-1] = -5
    assert fast(xs) == _total(xs)
    assert fast.cache.info().misses == 2


def test_items_of_another_exact_type_miss() -> None:
    """1.0 == 1 and True == 1, but sum gives another type: the guard compares types."""
    fast = guards.specialize(_total)
    ints = (1,) * WHOLE_AT
    for xs in (ints, (1.0,) * WHOLE_AT, (True,) * WHOLE_AT, ints):
        got, want = fast(xs), _total(xs)
        assert type(got) is type(want) and got == want
    assert fast.cache.info().hits == 1


def test_a_short_list_is_still_guarded_item_by_item() -> None:
    """Below the threshold, an early break guards only the items read."""

    @guards.specialize
    def first_negative(xs: list[int]) -> int | None:
        for x in xs:
            if x < 0:
                return x
        return None

    assert first_negative([-1, 2, 3]) == -1
    assert first_negative([-1, 7, 8]) == -1
    assert first_negative.cache.info().hits == 1


def test_a_list_holding_objects_is_tracked_item_by_item() -> None:
    class Box:
        def __init__(self, v: int) -> None:
            self.v = v

    @guards.specialize
    def total(boxes: list[Box]) -> int:
        return sum(b.v for b in boxes)

    boxes = [Box(i) for i in range(WHOLE_AT)]
    assert total(boxes) == sum(range(WHOLE_AT))
    boxes[3].v = 1000
    assert total(boxes) == sum(b.v for b in boxes)
