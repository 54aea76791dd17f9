"""A called function reads the globals it was made with, wherever it was found.

Calling a function is guarded on its code (``CLOSURE_MATCH``), so that every
closure of one ``def`` matches; but another function of the same code may have
other globals (``types.FunctionType(code, other_globals)``).  Where a called
function's globals are the specialized function's own, one identity guard says
so (``fn.__globals__ is G``) and its reads are ``G[...]``; otherwise they go
through its own ``fn.__globals__``.
"""

from __future__ import annotations

import types
from typing import Any

import guards

RATE = 2


def helper() -> int:
    return RATE


class Scaled:
    def __init__(self, n: int) -> None:
        self.n = n

    def scaled(self) -> int:
        return self.n * RATE


def test_a_global_helper_rebound_to_the_same_code_with_other_globals_is_a_miss() -> None:
    global helper
    original = helper
    other = types.FunctionType(helper.__code__, {"RATE": 100}, "helper")

    @guards.specialize
    def call() -> int:
        return helper()

    try:
        assert call() == call() == 2
        assert call.cache.info().hits == 1
        helper = other
        assert call() == call.__wrapped__() == 100
        helper = original
        assert call() == 2
        assert call.cache.info().hits == 2
    finally:
        helper = original


def test_a_methods_global_read_is_guarded_as_the_global_it_is() -> None:
    global RATE

    @guards.specialize
    def total(s: Any) -> int:
        return s.scaled()  # type: ignore[no-any-return]

    try:
        assert total(Scaled(3)) == total(Scaled(3)) == 6
        assert total.cache.info().hits == 1
        RATE = 5
        explanation = str(total.explain(Scaled(3)))
        assert "G['RATE']" in explanation and "__globals__['RATE']" not in explanation
        assert total(Scaled(3)) == total.__wrapped__(Scaled(3)) == 15
    finally:
        RATE = 2


def test_a_method_of_a_class_made_on_other_globals_reads_those() -> None:
    namespace: dict[str, Any] = {"RATE": 10}
    exec(  # a class whose methods have other globals
        "class Other:\n"
        "    def __init__(self, n):\n"
        "        self.n = n\n"
        "    def scaled(self):\n"
        "        return self.n * RATE\n",
        namespace,
    )
    other_cls = namespace["Other"]

    @guards.specialize
    def total(s: Any) -> int:
        return s.scaled()  # type: ignore[no-any-return]

    assert total(other_cls(3)) == 30
    namespace["RATE"] = 20
    assert total(other_cls(3)) == total.__wrapped__(other_cls(3)) == 60
    assert total(Scaled(3)) == 6
