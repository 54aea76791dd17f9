"""Scalars guarded when read, by what was read (issue 11, items 1 and 3).

An int, float or non-empty str that a specialized function reads installs nothing
until the code uses it; a comparison with a constant guards only its outcome, a
truth test only the truth, a type test only the type, a prefix test or ``in`` only
that answer; any other use guards the exact value.  Each guard cites the line of
the function that used the value.  Every result here is checked against the plain
function, and the soundness fallbacks (C code rejecting a proxy, identity tests)
keep results right where a proxy cannot be faithful.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import sys
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

import guards
from guards import GlobalSource, GuardBuilder, LocalSource, compile_guards


def replay(fn: Callable[..., Any], *calls: tuple[Any, ...]) -> Any:
    """``@specialize(fn)`` called with each argument tuple; every result must equal the
    plain function's (and have its type).  Returns the specialized function."""
    specialized = guards.specialize(max_entries=64)(fn)
    for args in calls:
        expected = fn(*args)
        got = specialized(*args)
        assert type(got) is type(expected), args
        assert got == expected or (got != got and expected != expected), args
    return specialized


def misses(specialized: Any) -> int:
    info = specialized.cache.info()
    return int(info.misses)


def kinds(specialized: Any) -> set[tuple[str, str]]:
    return {
        (guard.source.name, guard.kind)
        for entry in specialized.cache.entries
        for guard in entry.check.guards
    }


def local_kinds(specialized: Any) -> set[tuple[str, str]]:
    """The guards on the arguments (not on the builtins and helpers the function reads)."""
    return {(name, kind) for name, kind in kinds(specialized) if name.startswith("L[")}


# ------------------------------------------------------------------ predicates
def tile_for(n: int) -> str:
    return "large" if n >= 1024 else "small"


def test_a_threshold_guards_only_the_comparison() -> None:
    f = replay(tile_for, (2048,), (4096,), (8192,), (16,), (32,))
    assert misses(f) == 2
    assert kinds(f) == {("L['n']", "COMPARE_MATCH")}


def test_a_threshold_miss_is_explained_at_the_line_that_compared() -> None:
    f = replay(tile_for, (2048,))
    [entry] = f.explain(16).entries
    [failure] = entry.result.failures
    assert failure.kind == "COMPARE_MATCH"
    assert (failure.expected, failure.actual) == (True, False)
    assert "(L['n'] >= 1024) is True: expected True, got False" in failure.message
    assert failure.provenance is not None
    assert failure.provenance.function == "tile_for"
    assert failure.provenance.line == 'return "large" if n >= 1024 else "small"'


def bucket(n: int) -> int:
    if n < 10:
        return 0
    if n < 100:
        return 1
    return 2


def test_two_thresholds_give_one_entry_per_outcome() -> None:
    f = replay(bucket, (1,), (5,), (50,), (60,), (500,), (900,), (2,))
    assert misses(f) == 3


def test_a_threshold_written_the_other_way_round() -> None:
    def small(n: int) -> bool:
        return n < 1024

    f = replay(small, (1,), (2,), (4096,), (8192,))
    assert misses(f) == 2


LIMIT = 1024


def test_a_threshold_read_from_a_global_is_a_relation_between_the_two() -> None:
    def over(n: int) -> bool:
        return n >= LIMIT

    f = replay(over, (2048,), (4096,), (16,))
    assert misses(f) == 2
    assert ("L['n']", "COMPARE_MATCH") in kinds(f)
    [entry] = [e for e in f.cache.entries if e.value.get() is True]
    assert any("G['LIMIT']" in str(guard) for guard in entry.check.guards)
    global LIMIT
    LIMIT = 8192
    try:
        assert f(4096) is False  # the relation reads the global again
    finally:
        LIMIT = 1024


def test_a_float_sign_and_a_truth_test() -> None:
    def schedule(lr: float) -> str:
        return "warm" if lr > 0.0 else "frozen"

    def has_items(count: int) -> str:
        return "some" if count else "none"

    assert misses(replay(schedule, (0.1,), (0.01,), (0.0,), (-0.5,))) == 2
    assert misses(replay(has_items, (3,), (7,), (0,), (0,))) == 2


def test_nan_and_negative_zero_answer_as_the_plain_function() -> None:
    def sign(x: float) -> tuple[bool, bool, float]:
        return x > 0, x == x, math.copysign(1.0, x)

    replay(sign, (float("nan"),), (float("nan"),), (0.0,), (-0.0,), (0.0,), (2.0,))


def test_a_type_test_guards_the_type_only() -> None:
    def kind_of(x: object) -> str:
        return "float" if isinstance(x, float) else "other"

    def kind_by_type(x: object) -> str:
        return "float" if type(x) is float else "other"

    for fn in (kind_of, kind_by_type):
        f = replay(fn, (1.5,), (2.5,), (3.5,), (4,), (5,))
        assert misses(f) == 2
        assert local_kinds(f) == {("L['x']", "TYPE_MATCH")}


def test_a_prefix_test_and_other_predicates() -> None:
    def family(name: str) -> str:
        return "conv" if name.startswith("conv") else "other"

    def shape(name: str) -> tuple[bool, bool]:
        return name.isdigit(), "_" in name

    f = replay(family, ("conv1",), ("conv2",), ("linear",), ("relu",))
    assert misses(f) == 2
    assert kinds(f) == {("L['name']", "PREDICATE_MATCH")}
    assert misses(replay(shape, ("12",), ("34",), ("a_b",), ("c_d",), ("x",))) == 3


TABLE = {"relu": 1, "gelu": 2}


def test_membership_in_a_tracked_dict_guards_only_the_membership() -> None:
    def known(op: str) -> bool:
        return op in TABLE

    f = replay(known, ("relu",), ("gelu",), ("tanh",), ("silu",))
    assert misses(f) == 2
    assert ("L['op']", "CONTAINS_MATCH") in kinds(f)
    TABLE["tanh"] = 3
    try:
        assert f("tanh") is True  # the check reads the table again
    finally:
        del TABLE["tanh"]


class Box:
    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)


def test_an_attribute_compared_then_another_attribute_changed() -> None:
    def mode_of(cfg: Box) -> str:
        return "deep" if cfg.layers > 12 else "shallow"

    cfg = Box(layers=24, note="x")
    f = guards.specialize(mode_of)
    assert f(cfg) == "deep"
    cfg.layers = 48
    cfg.note = "y"
    assert f(cfg) == "deep"
    cfg.layers = 6
    assert f(cfg) == "shallow"
    assert misses(f) == 2


# ------------------------------------------------------------ derived values
def test_a_remainder_tested_guards_only_the_test() -> None:
    def aligned(n: int) -> bool:
        return n % 16 == 0

    f = replay(aligned, (64,), (128,), (256,), (17,), (33,))
    assert misses(f) == 2
    text = str(f.cache.entries[0].check)
    assert "(L['n'] % 16 == 0) is" in text


def test_a_length_compared_guards_only_the_comparison() -> None:
    def batched(xs: list[int]) -> bool:
        return len(xs) > 3

    f = replay(batched, ([1, 2, 3, 4],), ([1, 2, 3, 4, 5],), ([9] * 9,), ([1],), ([2, 3],))
    assert misses(f) == 2
    assert "(len(L['xs']) > 3) is True" in str(f.cache.entries[-1].check)


def test_derived_values_used_otherwise_are_guarded_by_what_they_come_from() -> None:
    def uses(n: int, xs: list[int]) -> Any:
        m = n % 16
        return (m, bool(n & 1), 10 - n > 0, (n * 2) + 1, xs[len(xs) - 1], type(len(xs)),
                isinstance(n // 3, int), f"{n % 5:03d}", list(range(len(xs))))

    replay(uses, (5, [1, 2]), (5, [1, 2]), (6, [1, 2]), (-7, [3]), (5, [1, 2, 4]))


class Num(int):
    """An int whose sum with anything is 0: the type guard must tell it from an int."""

    def __add__(self, other: Any) -> int:
        return 0

    __radd__ = __add__


class Pair:
    def __init__(self, a: Any, b: Any) -> None:
        self.a = a
        self.b = b


def test_a_derived_value_never_used_by_value_keeps_the_type_of_its_source_guarded() -> None:
    def grows(o: Pair) -> bool:
        return o.a + 1 > 5  # the type of o.a, and the comparison

    f = replay(grows, (Pair(7, 0),), (Pair(8, 0),), (Pair(7.5, 0),), (Pair(Num(7), 0),),
               (Pair(True, 0),), (Pair(2, 0),))
    guarded = {guard.kind: guard for guard in f.cache.entries[0].check.guards
               if guard.source.name == "L['o'].a"}
    assert set(guarded) == {"TYPE_MATCH", "COMPARE_MATCH"}
    # The line that asked, though the guard is installed when the run ends.
    assert guarded["TYPE_MATCH"].provenance.line.startswith("return o.a + 1 > 5")


def test_a_derived_value_used_by_value_later_needs_no_type_guard() -> None:
    def total(o: Pair) -> Any:
        step = o.a + 1  # asks the type of o.a
        return step > 5, step * o.b  # then uses step by value

    f = replay(total, (Pair(7, 2),), (Pair(7, 2),))
    assert local_kinds(f) == {("L['o'].a", "CONSTANT_MATCH"), ("L['o'].b", "CONSTANT_MATCH")}
    replay(total, (Pair(7, 2),), (Pair(7, 2),), (Pair(7.0, 2),), (Pair(Num(7), 2),), (Pair(6, 2),))


@given(st.lists(st.one_of(st.integers(-9, 9), st.floats(-9, 9), st.booleans(),
                          st.integers(-9, 9).map(Num)), min_size=2, max_size=6))
@settings(max_examples=60, deadline=None)
def test_a_hit_on_derived_values_equals_a_fresh_call(values: list[Any]) -> None:
    def derived(o: Pair) -> Any:
        return (o.a + 1 > 2, o.b * 2 < 3, (o.a - o.b) > 0)

    f = guards.specialize(max_entries=64)(derived)
    for a, b in itertools.pairwise(values):
        got, expected = f(Pair(a, b)), derived(Pair(a, b))
        assert got == expected and type(got) is type(expected)


def test_len_is_the_builtin_wherever_the_function_hands_it_on() -> None:
    def keyed(xs: list[str]) -> Any:
        return sorted(xs, key=len), max(map(len, xs)), len

    f = replay(keyed, (["aa", "b"],), (["aa", "b"],), (["c", "ddd"],))
    assert f(["aa", "b"])[2] is len
    assert misses(f) == 2


def test_a_loop_bounded_by_a_length() -> None:
    def walk(xs: list[int]) -> int:
        i = 0
        while i < len(xs):
            i += 1
        return i

    f = replay(walk, ([1] * 20,), ([2] * 20,), ([1] * 21,))
    assert misses(f) == 2


# ------------------------------------------------------------- unread scalars
def test_a_scalar_on_a_branch_not_taken_installs_nothing() -> None:
    def step_value(frozen: bool, step: int) -> int:
        if frozen:
            return 0
        return step

    f = replay(step_value, (True, 1), (True, 2), (True, 3), (False, 4), (False, 5))
    assert misses(f) == 3  # one entry while frozen; then every step is returned


def test_a_scalar_a_callee_ignores_installs_nothing() -> None:
    def inner(mode: str, seed: int) -> str:
        return mode.upper()

    def outer(mode: str, seed: int) -> str:
        return inner(mode, seed)

    f = replay(outer, ("a", 1), ("a", 2), ("a", 3), ("b", 3))
    assert misses(f) == 2
    assert {name for name, _ in local_kinds(f)} == {"L['mode']", "L['inner']",
                                                     "L['inner'].__globals__"}


# ----------------------------------------------------- any other use: by value
def test_every_other_use_guards_the_exact_value() -> None:
    def uses(n: int, s: str, x: float) -> Any:
        table = {n: "n"}
        return (n + 1, f"{s}!", "%d" % n, str(x), table[n], [1, 2, 3, 4][n % 4],  # noqa: UP031
                list(range(n)), s[1:], s.upper(), round(x, 1), math.sqrt(x), hash(s) == hash(s))

    f = replay(uses, (2, "ab", 2.0), (2, "ab", 2.0), (3, "ab", 2.0), (2, "ac", 2.0))
    assert misses(f) == 3
    assert local_kinds(f) == {(name, "CONSTANT_MATCH") for name in ("L['n']", "L['s']", "L['x']")}


def test_a_returned_scalar_is_guarded_by_value_and_returned_as_itself() -> None:
    def same(x: Any) -> Any:
        return x

    f = replay(same, (1,), (1,), (True,), (1.0,), ("1",), (b"1",))
    assert misses(f) == 5
    assert type(f(1)) is int


def test_a_value_asked_many_questions_is_guarded_by_value() -> None:
    def count(n: int) -> int:
        i = 0
        while i < n:
            i += 1
        return i

    f = replay(count, (300,), (300,), (301,))
    assert misses(f) == 2
    assert [str(g) for g in f.cache.entries[0].check.guards] == ["CONSTANT_MATCH(L['n'])"]


def test_a_huge_int_compared_needs_no_digit_limit_but_one_printed_does() -> None:
    def positive(n: int) -> bool:
        return n > 0

    def digits(n: int) -> int:
        return len(str(n))

    f = replay(positive, (10**700,), (10**701,), (-1,))
    assert misses(f) == 2
    g = replay(digits, (10**700,))
    assert any("get_int_max_str_digits" in name for name, _ in kinds(g))
    if hasattr(sys, "set_int_max_str_digits"):
        old = sys.get_int_max_str_digits()
        sys.set_int_max_str_digits(640)
        try:
            with pytest.raises(ValueError, match="digits"):
                g(10**700)
        finally:
            sys.set_int_max_str_digits(old)


# ------------------------------------------------------ where proxies fall back
def test_c_code_that_rejects_a_tracked_string_falls_back_to_the_value() -> None:
    def joined(a: str, b: str) -> str:
        return ",".join([a, b])

    class Named:
        x = 1
        y = 2

    def named(name: str) -> int:
        return int(getattr(Named, name))

    def substring(s: str) -> bool:
        return s in "abcdef"

    assert misses(replay(joined, ("x", "y"), ("x", "y"), ("x", "z"))) == 2
    assert misses(replay(named, ("x",), ("y",), ("x",))) == 2
    assert misses(replay(substring, ("bc",), ("zz",), ("bc",))) == 2


def test_a_rejection_the_function_swallows_still_gives_the_plain_result() -> None:
    def bare(a: str) -> str:
        try:
            return ",".join([a, "q"])
        except:  # noqa: E722 - the point: no name is looked up while handling
            return "caught"

    def suppressed(a: str) -> str:
        found = "none"
        with contextlib.suppress(TypeError):
            found = ",".join([a])
        return found

    for fn in (bare, suppressed):
        f = replay(fn, ("x",), ("x",), ("y",))
        assert misses(f) == 2
        assert f.cache.info().uncached == 0


def test_a_special_method_returning_a_tracked_string_to_c_code() -> None:
    class Label:
        def __init__(self, text: str) -> None:
            self.text = text

        def __str__(self) -> str:
            return self.text

    def show(label: Label) -> str:
        try:
            return f"<{label}>"
        except TypeError as exc:
            return f"caught {exc}"

    replay(show, (Label("a"),), (Label("a"),), (Label("b"),))


_IDENTITY: dict[str, Any] = {}
with warnings.catch_warnings():  # "is" with a literal: the point of the test
    warnings.simplefilter("ignore", SyntaxWarning)
    exec(compile("def is_five(n):\n    return n is 5\n", __file__, "exec"), _IDENTITY)
is_five: Callable[[int], bool] = _IDENTITY["is_five"]


def test_identity_tests_see_the_values_themselves() -> None:
    def through_callee(n: int, m: int) -> bool | None:
        if m > 3:
            return is_five(n)
        return None

    def same(a: object, b: object) -> bool:
        return a is b

    replay(through_callee, (5, 4), (5, 5), (6, 4), (5, 1))
    replay(same, (5, 5), (5, 6), (1000, 1000), ("a", "a"))
    f = replay(is_five, (5,), (6,))
    assert local_kinds(f) == {("L['n']", "CONSTANT_MATCH")}


def test_is_none_and_is_true_need_only_the_type() -> None:
    def check(x: object) -> tuple[bool, bool]:
        return x is None, x is True

    f = replay(check, (1,), (2,), (None,), (True,), (1.5,))
    assert misses(f) == 4


def test_a_function_that_raises_for_some_values_answers_as_the_plain_one() -> None:
    def parse(s: str) -> int:
        try:
            return int(s)
        except ValueError:
            return -1

    def ordered(a: Any) -> bool:
        return bool(a < 1)

    replay(parse, ("12",), ("x",), ("13",), ("y",))
    f = guards.specialize(ordered)
    assert f(0) is True
    with pytest.raises(TypeError):
        f("a")


def test_sorting_and_min_max_of_tracked_values() -> None:
    def order(a: int, b: int, xs: list[int]) -> Any:
        return sorted([a, b, 3]), max(a, b), min(xs), sum(xs), functools.reduce(
            lambda p, q: p * q, xs)

    replay(order, (1, 2, [3, 4]), (1, 2, [3, 4]), (5, 2, [4, 3]), (1, 2, [3, 5]))


# ------------------------------------------------------------ the guard kinds
def test_compare_match_renders_and_checks_as_the_test_reads() -> None:
    n = LocalSource("n")
    built = compile_guards([
        n.make_guard(functools.partial(GuardBuilder.COMPARE_MATCH, op=">=", other=1024)),
        n.make_guard(functools.partial(GuardBuilder.COMPARE_MATCH, op="==", other=0,
                                       apply=("%", 16))),
    ], {"n": 2048})
    text = str(built)
    assert "(L['n'] >= 1024) is True" in text
    assert "(L['n'] % 16 == 0) is True" in text
    assert built.check({"n": 4096})
    assert not built.check({"n": 4100})
    assert not built.check({"n": 16})
    assert not built.check({"n": 2048.0})  # another type: other semantics
    [failure] = built.check_verbose({"n": 16}).failures
    assert (failure.expected, failure.actual) == (True, False)


def test_compare_match_of_a_length_and_of_two_sources() -> None:
    xs, n = LocalSource("xs"), LocalSource("n")
    built = compile_guards([
        xs.make_guard(functools.partial(GuardBuilder.COMPARE_MATCH, op=">", other=3,
                                        apply=("len",))),
        n.make_guard(functools.partial(GuardBuilder.COMPARE_MATCH, op="<",
                                       other=GlobalSource("LIMIT"))),
    ], {"xs": [1, 2, 3, 4], "n": 1}, {"LIMIT": 10})
    assert "(len(L['xs']) > 3) is True" in str(built)
    assert "(L['n'] < G['LIMIT']) is True" in str(built)
    assert built.check({"xs": [0] * 9, "n": 5}, {"LIMIT": 6})
    assert not built.check({"xs": [0] * 9, "n": 5}, {"LIMIT": 5})
    assert not built.check({"xs": [0], "n": 5}, {"LIMIT": 6})


def test_predicate_and_contains_match() -> None:
    s, op = LocalSource("s"), LocalSource("op")
    built = compile_guards([
        s.make_guard(functools.partial(GuardBuilder.PREDICATE_MATCH, method="startswith",
                                       args=("conv",))),
        op.make_guard(functools.partial(GuardBuilder.CONTAINS_MATCH,
                                        container=GlobalSource("T"))),
    ], {"s": "conv1", "op": "a"}, {"T": {"a": 1}})
    assert "L['s'].startswith('conv') is True" in str(built)
    assert "(L['op'] in G['T']) is True" in str(built)
    assert built.check({"s": "conv9", "op": "a"}, {"T": {"a": 2}})
    assert not built.check({"s": "lin", "op": "a"}, {"T": {"a": 2}})
    assert not built.check({"s": "conv9", "op": "b"}, {"T": {"a": 2}})


def test_the_kinds_refuse_values_whose_test_would_run_user_code() -> None:
    class Number(int):
        def __ge__(self, other: object) -> bool:
            return True

    n = LocalSource("n")
    guard = n.make_guard(functools.partial(GuardBuilder.COMPARE_MATCH, op=">=", other=1))
    with pytest.raises(guards.GuardBuildError, match="exact built-in scalars"):
        compile_guards([guard], {"n": Number(0)})
    with pytest.raises(guards.GuardsTypeError, match="op= of COMPARE_MATCH"):
        compile_guards([n.make_guard(functools.partial(GuardBuilder.COMPARE_MATCH, op="in",
                                                       other=1))], {"n": 1})
    bad = n.make_guard(functools.partial(GuardBuilder.PREDICATE_MATCH, method="upper"))
    with pytest.raises(guards.GuardsValueError, match="method= of PREDICATE_MATCH"):
        compile_guards([bad], {"n": "a"})
