"""``@guards.specialize`` as a user's type checker sees it; ``mypy --strict`` checks it in CI.

Each ``assert_type`` is a claim about what the checker infers.  Each line that
ends in ``# type: ignore[code]`` is a call that must be an error with that
code: ``--strict`` reports an ignore that is not needed, so typing that let the
bad call through (or rejected it for another reason) fails the check.
``tests/test_package.py`` also runs this file, so what it claims holds at run
time too.  No ``type: ignore`` is needed anywhere else.
"""

from __future__ import annotations

import functools
import pathlib
import tempfile
from collections.abc import Callable
from typing import assert_type

import guards


@guards.specialize
def total(prices: list[float], tax: float = 0.2) -> float:
    return sum(prices) * (1 + tax)


@guards.specialize(max_entries=2, verify=True)
def label(code: str, *, upper: bool = False) -> str:
    return code.upper() if upper else code


class Cart:
    currency = "EUR"

    def __init__(self, prices: list[float]) -> None:
        self.prices = prices

    @guards.specialize
    def total(self, tax: float = 0.2) -> float:
        return sum(self.prices) * (1 + tax)

    @staticmethod
    @guards.specialize
    def rounded(amount: float) -> int:
        return round(amount)

    @classmethod
    @guards.specialize
    def show(cls, amount: float) -> str:
        return f"{amount:.2f} {cls.currency}"


def use_functions() -> None:
    prices = [10.0, 20.0]
    assert_type(total(prices), float)
    assert_type(total(prices), float)  # a hit
    assert_type(total(prices, tax=0.1), float)  # a miss: tax was read
    assert_type(label("eu", upper=True), str)
    assert label("eu") == "eu"

    info = total.cache.info()
    assert_type(info, guards.CacheInfo)
    assert_type(info.hits, int)
    assert (info.hits, info.misses) == (1, 2)
    why = total.explain([10.0, 25.0])
    assert_type(why, guards.MissExplanation)
    assert not why.hit and why.failure_lines()
    assert_type(total.__wrapped__(prices), float)
    assert_type(total.specialized.uncached_reasons, dict[str, int])
    assert_type(guards.explain(total, [10.0, 25.0], tax=0.1), guards.MissExplanation)
    assert not guards.explain(total, prices)  # false: the call would hit
    assert total.__name__ == "total"
    assert_type(total.specialized.miss_history[-1], guards.MissRecord)
    assert_type(total.specialized.report(), str)
    assert_type(guards.report(total, label), str)
    with tempfile.TemporaryDirectory() as folder:
        assert_type(total.specialized.report(pathlib.Path(folder) / "t.html"), pathlib.Path)
        assert_type(guards.report(total, path=f"{folder}/t.html"), pathlib.Path)

    # A specialized function is still a function of its own parameters.
    plain: Callable[[list[float]], float] = total
    typed: guards.SpecializedFunction[..., str] = label
    assert plain(prices) == total(prices) and typed("x") == "x"

    # functools.lru_cache's surface, with typeshed's own types.
    lru_info = total.cache_info()
    assert_type(lru_info, functools._CacheInfo)
    assert (lru_info.hits, lru_info.maxsize, lru_info.currsize) == (info.hits + 2, 8, 2)
    parameters = label.cache_parameters()
    assert_type(parameters, guards.CacheParameters)
    assert_type(parameters["maxsize"], int)
    assert_type(parameters["typed"], bool)
    assert functools.lru_cache(**parameters)(len)("ab") == 2
    assert_type(total.cache_clear(), None)
    assert total.cache_info() == (0, 0, 8, 0)


def use_methods() -> None:
    cart = Cart([10.0, 20.0])
    assert_type(cart.total(), float)
    assert_type(Cart.total(cart, tax=0.5), float)
    assert_type(cart.total.__self__, Cart)
    assert cart.total.cache is Cart.total.cache  # one cache for every instance
    assert_type(cart.total.cache.info().hits, int)
    # guards.explain takes the bound method as it is called; the wrapper's own explain
    # and __wrapped__ are read through the bound method unbound: pass the instance.
    assert_type(guards.explain(cart.total, 0.3), guards.MissExplanation)
    assert_type(cart.total.explain(cart, 0.3), guards.MissExplanation)
    assert cart.total.__wrapped__(cart) == cart.total()
    bound: guards.SpecializedMethod[Cart, ..., float] = cart.total
    assert bound.__func__ is Cart.total
    assert_type(cart.rounded(2.4), int)
    assert_type(Cart.rounded(2.6), int)
    assert_type(Cart.show(2.0), str)
    assert_type(cart.show(2.0), str)
    assert_type(Cart.show.__self__, type[Cart])
    assert_type(Cart.show.explain(Cart, 3.0), guards.MissExplanation)
    assert_type(guards.explain(Cart.show, 3.0), guards.MissExplanation)
    assert_type(guards.explain(Cart.rounded, 2.5), guards.MissExplanation)
    assert Cart.show.cache.info().hits == 1
    # lru_cache's surface through a bound method: the method's one cache, no instance passed.
    assert_type(cart.total.cache_info(), functools._CacheInfo)
    assert cart.total.cache_info() == Cart.total.cache_info()
    assert_type(Cart.show.cache_parameters(), guards.CacheParameters)
    assert_type(cart.total.cache_clear(), None)
    assert Cart.total.cache_info().currsize == 0


def wrong_calls() -> None:
    """Never called: every line is an error a type checker must report."""
    total(["10"])  # type: ignore[list-item]
    total([1.0], taxes=0.1)  # type: ignore[call-arg]
    label(3)  # type: ignore[arg-type]
    total.explain("10")  # type: ignore[arg-type]
    assert total.cache.info().hitz  # type: ignore[attr-defined]
    assert total.cache_info().entries  # type: ignore[attr-defined]  # lru_cache's fields
    total.cache_parameters()["on_limit"]  # type: ignore[typeddict-item]
    total.cache_clear(True)  # type: ignore[call-arg]
    cart = Cart([1.0])
    cart.total("0.1")  # type: ignore[arg-type]
    cart.total.explain(0.3)  # type: ignore[arg-type]
    guards.explain(cart.total, "0.3")  # type: ignore[call-overload]
    guards.explain(total, [1.0], taxes=0.1)  # type: ignore[call-arg]
    guards.explain(len, [1.0])  # type: ignore[call-overload]
    Cart.rounded("2")  # type: ignore[arg-type]
    Cart.show(Cart, 2.0)  # type: ignore[call-arg, arg-type]
    guards.specialize(max_entries="8")  # type: ignore[call-overload]
    total.specialized.report(3)  # type: ignore[call-overload]


if __name__ == "__main__":
    use_functions()
    use_methods()
