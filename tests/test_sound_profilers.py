"""A traced run is invisible to profilers, and a profiler does not break it (soundness, K6).

The net that catches untraced user code watches frames start: with
``sys.monitoring`` on 3.12+, with ``sys.setprofile`` on 3.11.  Traced code must
not see it (``sys.getprofile()`` answers as in a plain call), a profiler the user
installed keeps running and sees plain calls, and on 3.12+ a call under cProfile
is still cached.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import sys
import threading
import types
from typing import Any

import guards

USES_MONITORING = sys.version_info >= (3, 12)  # the net uses sys.monitoring


def _helper(x: int) -> int:
    return x + 1


def test_traced_code_sees_no_profile_function() -> None:
    @guards.specialize
    def profiled(x: int) -> tuple[int, bool]:
        return x, sys.getprofile() is None

    assert profiled(1) == profiled.__wrapped__(1) == (1, True)
    assert profiled(1) == (1, True)
    assert profiled.cache.info().hits == 1


def test_a_cached_result_does_not_hold_the_stand_in() -> None:
    @guards.specialize
    def getter(x: int) -> Any:
        return x, sys.getprofile

    assert getter(1) == (1, sys.getprofile)
    assert getter(1) == (1, sys.getprofile)


def test_cprofile_keeps_running_and_sees_later_calls() -> None:
    @guards.specialize
    def total(cfg: dict[str, list[int]]) -> int:
        return sum(cfg["xs"])

    def after() -> int:
        return 1

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        before = sys.getprofile()
        assert total({"xs": [1, 2]}) == 3
        assert total({"xs": [1, 2]}) == 3
        still = sys.getprofile() is before
        after()
    finally:
        profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).print_stats()
    assert still
    assert "after" in out.getvalue()
    assert not any("not callable" in reason for reason in total.specialized.uncached_reasons)
    if USES_MONITORING:  # cProfile has its own sys.monitoring tool: the trace coexists
        assert total.cache.info().hits == 1


def test_a_profile_hook_sees_plain_frames() -> None:
    seen: list[str] = []

    def hook(frame: types.FrameType, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code is _helper.__code__:
            seen.append(type(frame.f_globals).__name__)

    @guards.specialize
    def f(x: int) -> int:
        return _helper(x)

    sys.setprofile(hook)
    try:
        assert f(1) == 2
    finally:
        sys.setprofile(None)
    assert seen == ["dict"]
    assert f.cache.info().uncached == 1
    assert any("profiler is active" in reason for reason in f.specialized.uncached_reasons)
    assert f(1) == 2  # without the hook it is cached again
    assert f(1) == 2
    assert f.cache.info().hits == 1


def test_set_profile_inside_a_run_is_not_cached_and_leaves_no_hook() -> None:
    calls: list[str] = []

    def hook(frame: types.FrameType, event: str, arg: Any) -> None:
        calls.append(event)

    @guards.specialize
    def sets(x: int) -> int:
        sys.setprofile(hook)
        sys.setprofile(None)
        return x

    assert sets(1) == 1
    assert sys.getprofile() is None
    assert sets.cache.info().hits == 0


def test_a_profiler_stays_installed_in_other_threads() -> None:
    """The net of one thread does not touch another thread's profile function."""
    seen: list[Any] = []
    ready, done = threading.Event(), threading.Event()

    def hook(frame: types.FrameType, event: str, arg: Any) -> None:
        return None

    def other() -> None:
        sys.setprofile(hook)
        ready.set()
        done.wait(5)
        seen.append(sys.getprofile())
        sys.setprofile(None)

    @guards.specialize
    def f(x: int) -> int:
        return _helper(x)

    t = threading.Thread(target=other)
    t.start()
    ready.wait(5)
    assert f(1) == 2
    assert f(1) == 2
    done.set()
    t.join()
    assert seen == [hook]
    assert f.cache.info().hits == 1


def test_the_net_still_catches_untraced_user_code_under_cprofile() -> None:
    scale = {"v": 2}

    class Key:
        def __init__(self, v: int) -> None:
            self.v = v

        def __lt__(self, other: Key) -> bool:
            return self.v * scale["v"] < other.v * scale["v"]

    @guards.specialize
    def order(xs: list[int]) -> list[int]:
        return [k.v for k in sorted(Key(x) for x in xs)]

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        assert order([2, 1]) == [1, 2]
        scale["v"] = -1
        assert order([2, 1]) == order.__wrapped__([2, 1]) == [2, 1]
    finally:
        profiler.disable()
