"""Guards read, never write: a check and an explanation change nothing they read.

Issue 9, kind 5.  A guard on ``d["x"]`` must not insert ``"x"`` into a caller's
``defaultdict`` (``d[k]`` calls ``__missing__``), and neither may ``explain`` or
``check_verbose``.  A path through a counting ``__getattr__`` runs it once per
check, as the documented path does, and no more.
"""

from __future__ import annotations

import collections
import functools
import types
from typing import Any

import pytest

import guards
from guards import GuardBuilder, compile_guards
from guards.core.sources import AttrSource, GetItemSource, LocalSource, get_item

D = LocalSource("d")


class Counting(dict):  # type: ignore[type-arg]
    """A dict subclass whose ``__missing__`` inserts the key and counts its calls."""

    calls = 0

    def __missing__(self, key: Any) -> int:
        type(self).calls += 1
        self[key] = 0
        return 0


class Lookups:
    """An object whose ``__getattr__`` answers every name and counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __getattr__(self, name: str) -> int:
        if name.startswith("__"):
            raise AttributeError(name)
        vars(self)["calls"] = self.calls + 1
        return 7


@pytest.mark.parametrize("make", [lambda: collections.defaultdict(int), Counting], ids=repr)
def test_a_check_on_an_item_never_calls_missing(make: Any) -> None:
    """The check, check_verbose and the source's own get read d['x'] without inserting it."""
    built = make()
    built["x"] = 0
    cf = compile_guards([GetItemSource(D, "x").make_guard(GuardBuilder.CONSTANT_MATCH)],
                        {"d": built})
    empty = make()
    assert cf.check({"d": empty}) is False
    assert not cf.check_verbose({"d": empty})
    with pytest.raises(KeyError):
        GetItemSource(D, "x").get({"d": empty})
    with pytest.raises(KeyError):
        get_item(empty, "x")
    assert dict(empty) == {}
    assert Counting.calls == 0


def test_get_item_is_a_plain_subscript_otherwise() -> None:
    dd = collections.defaultdict(int, x=3)
    assert get_item(dd, "x") == 3
    assert get_item([1, 2], 1) == 2
    assert get_item({"a": 1}, "a") == 1
    with pytest.raises(KeyError):
        get_item({}, "a")


def test_specialize_never_inserts_into_a_callers_defaultdict() -> None:
    """The trace, the checks of a later call and explain leave the caller's dict alone."""

    @guards.specialize
    def f(flag: bool, dd: Any) -> Any:
        if flag:
            return dd["x"]
        return "no"

    first = collections.defaultdict(int)
    assert f(True, first) == f.__wrapped__(True, collections.defaultdict(int)) == 0
    assert list(first) == ["x"]  # the function itself inserted it, as a plain call does
    for call in (f, f.explain):
        dd: Any = collections.defaultdict(int)
        call(False, dd)
        assert list(dd) == []


def test_reading_a_missing_key_of_a_defaultdict_runs_plainly() -> None:
    """``dd[k]`` on a missing key inserts it: an effect, so the call runs plainly each time."""

    @guards.specialize
    def f(dd: Any) -> Any:
        return dd["x"] + 1

    for _ in range(2):
        dd: Any = collections.defaultdict(int)
        assert f(dd) == 1
        assert dict(dd) == {"x": 0}  # inserted once, by the plain run
    assert f.cache.info().hits == 0
    assert f.cache.info().uncached == 2


def test_a_present_key_of_a_defaultdict_is_cached_and_its_removal_noticed() -> None:
    @guards.specialize
    def f(dd: Any) -> Any:
        return dd["x"] + 1

    dd: Any = collections.defaultdict(int, x=1)
    assert f(dd) == 2
    assert f(dd) == 2
    assert f.cache.info().hits == 1
    del dd["x"]
    assert f(dd) == f.__wrapped__(collections.defaultdict(int)) == 1
    assert dict(dd) == {"x": 0}


def test_a_python_missing_is_traced() -> None:
    """A ``__missing__`` written in Python is traced like any method: its reads are guarded."""

    class Defaulted(dict):  # type: ignore[type-arg]
        def __init__(self, default: int) -> None:
            super().__init__()
            self.default = default

        def __missing__(self, key: Any) -> int:
            return self.default  # type: ignore[no-any-return]

    @guards.specialize
    def f(d: Any) -> Any:
        return d["x"]

    d = Defaulted(5)
    assert f(d) == 5
    assert f(d) == 5
    assert f.cache.info().hits == 1
    d.default = 6
    assert f(d) == f.__wrapped__(d) == 6
    d["x"] = 1
    assert f(d) == f.__wrapped__(d) == 1
    assert "x" in d and dict(d) == {"x": 1}


def test_an_explanation_asks_a_hook_no_more_than_the_check() -> None:
    """HASATTR through a counting ``__getattr__``: the check runs it once, and so does explain
    (the second HASATTR comes after a failure: neither runs it)."""
    o = Lookups()
    absent = AttrSource(LocalSource("o"), "zz")
    present = AttrSource(LocalSource("o"), "mode")
    plain = type("Plain", (), {})()
    plain.mode = 1  # type: ignore[attr-defined]
    cf = compile_guards([absent.make_guard(GuardBuilder.HASATTR),
                         present.make_guard(GuardBuilder.HASATTR)], {"o": plain})
    assert cf.check({"o": o}) is False
    after_check = o.calls
    assert after_check == 1  # stops at the first failing check: hasattr(o, 'zz')
    o.calls = 0
    result = cf.check_verbose({"o": o})
    assert len(result.failures) == 1
    assert result.failures[0].actual is True
    # The fast check stopped at the failure, so explain does not run the second
    # hasattr either (it could have effects): none again to show the actual value.
    assert o.calls == after_check == 1
    assert [c.guard.source for c in result.not_evaluated] == [present]


def test_a_failed_type_test_ends_the_values_other_checks_in_explanations() -> None:
    """SEQUENCE_LENGTH on a value of another type: ``len`` is not asked (its __len__ may count)."""
    lens: list[int] = []

    class Sized:
        def __len__(self) -> int:
            lens.append(1)
            return 2

    cf = compile_guards([LocalSource("x").make_guard(GuardBuilder.SEQUENCE_LENGTH)], {"x": [1, 2]})
    result = cf.check_verbose({"x": Sized()})
    assert [f.kind for f in result.failures] == ["SEQUENCE_LENGTH"]
    assert lens == []


def test_a_path_through_getattr_runs_it_once_per_check() -> None:
    o = Lookups()
    mode = AttrSource(LocalSource("o"), "mode")
    cf = compile_guards([mode.make_guard(GuardBuilder.EQUALS_MATCH)], {"o": o})
    o.calls = 0
    assert cf.check({"o": o}) is True
    assert o.calls == 1
    assert cf.check_verbose({"o": o})
    assert o.calls == 2


def test_a_miss_explains_itself_only_when_someone_looks(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """With the recompiles log off, a miss does not walk every entry's paths again
    (through properties and ``__getattr__``) to build an explanation nobody reads."""
    explained: list[int] = []
    original = guards.GuardedCache.explain

    def counting(self: Any, *args: Any) -> Any:
        explained.append(1)
        return original(self, *args)

    monkeypatch.setattr(guards.GuardedCache, "explain", counting)

    @guards.specialize
    def f(d: dict[str, int]) -> int:
        return d["k"]

    f({"k": 1})
    f({"k": 2})
    assert explained == []
    with caplog.at_level("INFO", logger="guards.recompiles"):
        f({"k": 3})
    assert explained == [1]
    assert "Recompiling" in caplog.text


# -- explain reads nothing that the check, stopping at its first failure, would not (K7) -----


@guards.specialize
def _reads_m_if(flag: bool, m: Any) -> Any:
    if flag:
        return m["x"]
    return "no"


def test_explain_does_not_fill_a_defaultdict_behind_a_chainmap() -> None:
    _reads_m_if.cache.clear()
    assert _reads_m_if(True, {"x": 1}) == 1
    dd: collections.defaultdict[str, int] = collections.defaultdict(int)
    explanation = _reads_m_if.explain(False, collections.ChainMap(dd))
    assert not explanation.hit
    assert list(dd) == []
    assert _reads_m_if(False, collections.ChainMap(dd)) == "no"
    assert list(dd) == []


def test_explain_does_not_fill_a_defaultdict_behind_a_mappingproxy() -> None:
    _reads_m_if.cache.clear()
    assert _reads_m_if(True, {"x": 1}) == 1
    dd: collections.defaultdict[str, list[int]] = collections.defaultdict(list)
    _reads_m_if.explain(False, types.MappingProxyType(dd))
    assert list(dd) == []


def test_explain_does_not_compute_a_cached_property() -> None:
    class Lazy:
        @functools.cached_property
        def size(self) -> int:
            return 3

    class Plain:
        size = 3

    @guards.specialize
    def f(flag: bool, o: Any) -> int:
        return o.size if flag else 0  # type: ignore[no-any-return]

    assert f(True, Plain()) == 3
    o = Lazy()
    f.explain(False, o)
    assert "size" not in vars(o)
    assert f(False, o) == f.__wrapped__(False, o) == 0
    assert "size" not in vars(o)


def test_explain_does_not_run_a_property_past_a_failure() -> None:
    reads: list[str] = []

    class Counted:
        @property
        def mode(self) -> str:
            reads.append("mode")
            return "a"

    class Fixed:
        mode = "a"

    @guards.specialize
    def f(flag: bool, o: Any) -> str:
        return o.mode if flag else "-"  # type: ignore[no-any-return]

    assert f(True, Fixed()) == "a"
    o = Counted()
    explanation = f.explain(False, o)
    assert reads == []
    assert "not evaluated" in str(explanation.entries[0].result)


def test_explain_still_reports_every_guard_on_plain_data() -> None:
    """The common case: after the first failure, guards on plain values are all explained."""

    class Settings:
        def __init__(self, scale: int, mode: str) -> None:
            self.scale = scale
            self.mode = mode

    @guards.specialize
    def f(n: int, cfg: dict[str, Any], s: Settings) -> Any:
        return n, cfg["a"], cfg["b"], s.scale, s.mode

    assert f(1, {"a": 1, "b": [2]}, Settings(3, "x")) == (1, 1, [2], 3, "x")
    explanation = f.explain(2, {"a": 5, "b": [2, 3]}, Settings(4, "y"))
    result = explanation.entries[0].result
    failed = {failure.source.name for failure in result.failures}
    assert {"L['n']", "L['cfg']['a']", "L['s'].scale", "L['s'].mode"} <= failed
    assert any(name.startswith("L['cfg']['b']") for name in failed)
    assert result.not_evaluated == ()


def test_check_verbose_reports_unread_paths_after_a_failure() -> None:
    """compile_guards' own check_verbose: a guard past a failure behind a ChainMap is listed
    as not evaluated, and its defaultdict is left alone."""
    d_x = GetItemSource(D, "x")
    cf = compile_guards(
        [LocalSource("n").make_guard(GuardBuilder.CONSTANT_MATCH),
         d_x.make_guard(GuardBuilder.CONSTANT_MATCH)],
        {"n": 1, "d": {"x": 1}},
    )
    dd: collections.defaultdict[str, int] = collections.defaultdict(int)
    result = cf.check_verbose({"n": 2, "d": collections.ChainMap(dd)})
    assert [f.source for f in result.failures] == [LocalSource("n")]
    assert [c.guard.source for c in result.not_evaluated] == [d_x]
    assert list(dd) == []
    # Before any failure the paths are read as the check reads them.
    result = cf.check_verbose({"n": 1, "d": collections.ChainMap({"x": 2})})
    assert [f.source for f in result.failures] == [d_x]
