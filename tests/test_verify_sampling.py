"""Verify mode as a production safety net: ``verify=share`` checks that share of hits.

A stale hit is manufactured the one way a user can cause it knowingly: a
function marked ``guards.constant`` that is not constant (it reads a global),
so its result is trusted although it changes.
"""

from __future__ import annotations

from typing import Any

import pytest

import guards
from guards import GuardsTypeError, GuardsValueError, StaleHitError, config

STATE = {"v": 1}


@guards.constant
def lying_setting() -> int:
    """Marked constant, but reads mutable state: the cache cannot see the change."""
    return STATE["v"]


def _stale_after_first_call(verify: Any) -> Any:
    @guards.specialize(verify=verify)
    def read(x: int) -> int:
        return x + lying_setting()

    STATE["v"] = 1
    assert read(1) == 2  # a miss: stored
    STATE["v"] = 5  # every later hit is stale
    return read


def _stale_hits_caught(read: Any, calls: int) -> int:
    caught = 0
    for _ in range(calls):
        try:
            assert read(1) == 2
        except StaleHitError:
            caught += 1
    return caught


def test_a_share_checks_that_share_of_hits_evenly_spaced() -> None:
    """verify=0.25 checks the first hit and then every fourth."""
    read = _stale_after_first_call(0.25)
    outcomes = []
    for _ in range(8):
        try:
            read(1)
            outcomes.append("hit")
        except StaleHitError:
            outcomes.append("caught")
    assert outcomes == ["caught", "hit", "hit", "hit"] * 2


def test_a_small_share_catches_a_stale_entry_at_its_first_hit() -> None:
    """Sampling starts with a check, so a stale entry is caught before it spreads."""
    read = _stale_after_first_call(0.01)
    assert _stale_hits_caught(read, 1) == 1
    assert _stale_hits_caught(read, 99) == 0
    assert _stale_hits_caught(read, 100) == 1


def test_share_one_and_true_check_every_hit_share_zero_none() -> None:
    """1.0 is the same as True; 0.0 the same as False."""
    assert _stale_hits_caught(_stale_after_first_call(1.0), 10) == 10
    assert _stale_hits_caught(_stale_after_first_call(True), 10) == 10
    assert _stale_hits_caught(_stale_after_first_call(0.0), 10) == 0
    assert _stale_hits_caught(_stale_after_first_call(False), 10) == 0


def test_config_verify_takes_a_share_for_every_function() -> None:
    """guards.config.patch(verify=0.5) samples the hits of functions without their own option."""
    read = _stale_after_first_call(None)
    assert _stale_hits_caught(read, 4) == 0  # verify off: the stale hits go unnoticed
    with config.patch(verify=0.5):
        assert config.verify == 0.5
        assert _stale_hits_caught(read, 4) == 2
    assert _stale_hits_caught(read, 4) == 0


def test_sampled_hits_that_agree_return_the_cached_result() -> None:
    """A checked hit that agrees with the fresh call still counts as a hit."""

    @guards.specialize(verify=0.5)
    def double(xs: list[int]) -> list[int]:
        return [2 * x for x in xs]

    data = [1, 2]
    for _ in range(6):
        assert double(data) == [2, 4]
    assert double.cache.info().hits == 5


def test_sampling_does_not_touch_the_random_module() -> None:
    """The function may read random's state: sampling draws no numbers from it."""
    import random

    @guards.specialize(verify=0.3)
    def plus(x: int) -> int:
        return x + 1

    random.seed(7)
    expected = [random.random() for _ in range(3)]
    random.seed(7)
    for _ in range(10):
        plus(1)
    assert [random.random() for _ in range(3)] == expected


@pytest.mark.parametrize(
    ("value", "error", "words"),
    [
        (1, GuardsTypeError, ["verify", "float share", "1", "int"]),
        ("0.1", GuardsTypeError, ["verify", "'0.1'", "str"]),
        (1.5, GuardsValueError, ["verify", "[0, 1]", "1.5"]),
        (-0.1, GuardsValueError, ["verify", "-0.1"]),
        (float("nan"), GuardsValueError, ["verify", "nan"]),
    ],
)
def test_bad_shares_are_refused_naming_the_value(
    value: Any, error: type[Exception], words: list[str]
) -> None:
    """Both the decorator and the option refuse a share that is not a float in [0, 1]."""
    with pytest.raises(error) as info:
        guards.specialize(verify=value)(lambda: 1)
    assert all(word in str(info.value) for word in words), str(info.value)
    with pytest.raises(error) as info:
        config.patch(verify=value)
    assert all(word in str(info.value) for word in words), str(info.value)
    assert config.verify is False
