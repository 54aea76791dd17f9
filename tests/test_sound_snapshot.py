"""Every guard expects the value the run saw, when it saw it (issue 9, kind 4).

A guard is built when it is installed, not when the trace's guards are
compiled: a write by another thread between the read and the end of the trace
cannot give the entry an expected value the run never saw.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

import pytest

import guards
from guards import GuardBuildError


def test_a_guard_expects_the_length_read_not_the_length_at_compile() -> None:
    xs = [1, 2, 3]
    with guards.tracing({"xs": xs}) as tx:
        assert tx.local("xs").len() == 3
    xs.append(4)
    with pytest.raises(GuardBuildError, match=r"len\(L\['xs'\]\) == 3"):
        tx.compile()


def test_a_guard_expects_the_value_read() -> None:
    cfg = {"mode": "fast"}
    with guards.tracing({"cfg": cfg}) as tx:
        assert tx.local("cfg").item("mode").as_constant() == "fast"
    cfg["mode"] = "slow"
    with pytest.raises(GuardBuildError, match="fast"):
        tx.compile()
    cfg["mode"] = "fast"
    assert tx.compile().check({"cfg": {"mode": "fast"}})


def test_a_write_by_another_thread_during_a_trace_leaves_no_stale_entry() -> None:
    """The race of the soundness case a073: the run read [1, 2, 3]; another thread
    appended before the trace ended.  The run's result is returned, but not cached."""
    started, resume = queue.SimpleQueue(), queue.SimpleQueue()  # type: ignore[var-annotated]
    signal, wait = started.put, resume.get

    @guards.specialize
    def f(xs: list[int], signal: Any, wait: Any) -> int:
        total = sum(xs)
        signal(None)
        wait()
        return total

    xs = [1, 2, 3]
    results: list[int] = []
    thread = threading.Thread(target=lambda: results.append(f(xs, signal, wait)))
    thread.start()
    started.get(timeout=30)
    xs.append(100)
    resume.put(None)
    thread.join(30)
    assert results == [6]
    resume.put(None)  # for the next run's wait()
    assert f(xs, signal, wait) == 106
    assert f.cache.info().hits == 0
