"""Values of immutable library types are handled by value (issue 12, item 5).

Dates and times, ``Decimal``, ``Fraction``, ``UUID``, pure paths, compiled
patterns and enum members: their methods written in C run on the value, which
is guarded whole, so a function over them is cached, an equal value hits, a
different one misses, and a hit returns what a fresh call returns.  Decimal
operations read the thread's decimal context, which is guarded too.  NumPy
arrays are guarded by type, dtype, shape, strides and bytes in one check
(``NDARRAY_MATCH``).  No reason ever shows a memory address.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import fractions
import pathlib
import re
import uuid
import zoneinfo
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import guards
from guards import GuardBuilder, LocalSource
from guards.specialization.library_values import (
    is_library_value,
    library_value_reads,
    library_value_writes,
)


class Color(enum.Enum):
    RED = 1
    GREEN = 2


UTC = datetime.UTC
#: (name, function, a value, an equal distinct value, a different value)
CASES: list[tuple[str, Callable[[Any], Any], Any, Any, Any]] = [
    ("date.isoformat", lambda d: d.isoformat(), datetime.date(2020, 1, 2),
     datetime.date(2020, 1, 2), datetime.date(2020, 1, 3)),
    ("date + timedelta", lambda d: d + datetime.timedelta(days=1), datetime.date(2020, 1, 2),
     datetime.date(2020, 1, 2), datetime.date(2021, 1, 2)),
    ("datetime.strftime", lambda d: d.strftime("%Y-%m-%d %H:%M"),
     datetime.datetime(2020, 1, 2, 3, 4), datetime.datetime(2020, 1, 2, 3, 4),
     datetime.datetime(2020, 1, 2, 3, 5)),
    ("aware datetime str", str, datetime.datetime(2020, 1, 2, tzinfo=UTC),
     datetime.datetime(2020, 1, 2, tzinfo=UTC),
     datetime.datetime(2020, 1, 2, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))),
    ("time.isoformat", lambda t: t.isoformat(), datetime.time(3, 4), datetime.time(3, 4),
     datetime.time(3, 4, fold=1)),
    ("timedelta.total_seconds", lambda t: t.total_seconds(), datetime.timedelta(hours=1),
     datetime.timedelta(hours=1), datetime.timedelta(hours=2)),
    ("Decimal.quantize", lambda x: x.quantize(Decimal("0.1")), Decimal("1.25"),
     Decimal("1.25"), Decimal("1.35")),
    ("Decimal str", str, Decimal("1.0"), Decimal("1.0"), Decimal("1.00")),
    ("Decimal arithmetic", lambda x: x * 3 + 1, Decimal("0.1"), Decimal("0.1"), Decimal("0.2")),
    ("Fraction", lambda f: f + 1, fractions.Fraction(1, 3), fractions.Fraction(2, 6),
     fractions.Fraction(1, 4)),
    ("UUID.hex", lambda u: u.hex, uuid.UUID(int=5), uuid.UUID(int=5), uuid.UUID(int=6)),
    ("PurePosixPath /", lambda p: str(p / "c"), pathlib.PurePosixPath("a/b"),
     pathlib.PurePosixPath("a//b"), pathlib.PurePosixPath("a/B")),
    ("PureWindowsPath str", str, pathlib.PureWindowsPath("a/b"), pathlib.PureWindowsPath("a/b"),
     pathlib.PureWindowsPath("A/b")),
    ("pattern.findall", lambda r: r.findall("a1b22"), re.compile(r"\d+"),
     re.compile(r"\d+"), re.compile(r"\d+", re.ASCII)),
    ("enum member", lambda c: c.name.lower(), Color.RED, Color.RED, Color.GREEN),
    ("zoneinfo datetime", lambda d: d.utcoffset(),
     datetime.datetime(2020, 1, 2, tzinfo=zoneinfo.ZoneInfo("UTC")),
     datetime.datetime(2020, 1, 2, tzinfo=zoneinfo.ZoneInfo("UTC")),
     datetime.datetime(2020, 1, 3, tzinfo=zoneinfo.ZoneInfo("UTC"))),
]


def specialized(fn: Callable[[Any], Any]) -> Any:
    def call(x: Any) -> Any:
        return fn(x)

    return guards.specialize(strict=True)(call)


@pytest.mark.parametrize(("name", "fn", "value", "equal", "other"), CASES,
                         ids=[case[0] for case in CASES])
def test_a_library_value_is_cached_and_a_changed_one_misses(
    name: str, fn: Callable[[Any], Any], value: Any, equal: Any, other: Any
) -> None:
    """Cached (strict: nothing ran uncached); an equal value hits, another misses, and
    every result is a fresh call's."""
    f = specialized(fn)
    assert f(value) == fn(value)
    assert f(equal) == fn(equal)
    assert f.cache.info().hits == 1
    assert f(other) == fn(other)
    assert f.cache.info().hits == 1 and len(f.cache) == 2


def test_equal_decimals_of_different_exponents_are_different_values() -> None:
    """Decimal('1.0') == Decimal('1.00'), but their str differs: no hit between them."""
    f = specialized(str)
    assert f(Decimal("1.0")) == "1.0"
    assert f(Decimal("1.00")) == "1.00"
    assert f.cache.info().hits == 0


def test_timezones_of_one_offset_and_two_names_are_different_values() -> None:
    """timezone(0) == timezone(0, 'Z'), but tzname() tells them apart."""
    f = specialized(lambda d: d.tzname())
    zero = datetime.timedelta(0)
    assert f(datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone(zero))) == "UTC"
    assert f(datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone(zero, "Z"))) == "Z"


# -------------------------------------------------------------- the decimal context
def test_the_decimal_context_is_guarded() -> None:
    """Another rounding, precision or capitals setting misses, and answers as a call."""
    f = specialized(lambda x: str(x.quantize(Decimal("0.1")) * Decimal("1E+30")))
    value = Decimal("1.25")
    expected = f(value)
    assert f(value) == expected and f.cache.info().hits == 1
    with decimal.localcontext() as context:
        context.rounding = decimal.ROUND_HALF_UP
        assert f(value) == str(value.quantize(Decimal("0.1")) * Decimal("1E+30"))
    with decimal.localcontext() as context:
        context.capitals = 0
        assert "e+" in f(value)
    assert f.cache.info().hits == 1


def test_a_hit_never_skips_setting_a_flag() -> None:
    """A run that set Inexact is reused only while Inexact is set: clearing the flags
    makes the next call a miss, which sets it again, as a plain call would."""
    f = specialized(lambda x: x / 3)
    with decimal.localcontext() as context:
        context.clear_flags()
        f(Decimal(1))
        assert context.flags[decimal.Inexact]
        f(Decimal(1))
        assert f.cache.info().hits == 1
        context.clear_flags()
        f(Decimal(1))
        assert context.flags[decimal.Inexact]
        assert f.cache.info().hits == 1


def test_a_trap_raises_as_a_plain_call_does() -> None:
    f = specialized(lambda x: x / 3)
    f(Decimal(1))
    with decimal.localcontext() as context:
        context.traps[decimal.Inexact] = True
        with pytest.raises(guards.UntrackedCallError):  # strict: the run raised
            f(Decimal(1))


# ------------------------------------------------------------- reading the world
@pytest.mark.parametrize(("fn", "value", "what"), [
    (lambda d: d.astimezone(), datetime.datetime(2020, 1, 1), "the local time zone"),
    (lambda d: d.timestamp(), datetime.datetime(2020, 1, 1), "the local time zone"),
    (lambda d: d.now(), datetime.datetime(2020, 1, 1), "the clock"),
    (lambda d: d.today(), datetime.date(2020, 1, 1), "the clock"),
    (lambda d: d.strftime("%A"), datetime.date(2020, 1, 1), "the locale"),
    (lambda d: f"{d:%b}", datetime.date(2020, 1, 1), "the locale"),
], ids=["astimezone", "timestamp", "now", "today", "strftime %A", "format %b"])
def test_a_method_that_reads_the_world_runs_uncached(
    fn: Callable[[Any], Any], value: Any, what: str
) -> None:
    def call(x: Any) -> Any:
        return fn(x)

    f = guards.specialize(call)
    f(value)
    f(value)
    assert f.cache.info().hits == 0
    reasons = list(f.specialized.uncached_reasons)
    assert len(reasons) == 1 and what in reasons[0]


@pytest.mark.parametrize("fn", [
    lambda d: type(d).now(),
    lambda d: d.__class__.today(),
    lambda d: (d + datetime.timedelta(0)).now(),
    lambda d: max(d, d).now(),
    lambda d: f"{d + datetime.timedelta(1):%A}",
    lambda d: "{:%A}".format(d.replace(day=1)),  # noqa: UP032 - the method is the case
    lambda d: getattr(d.replace(day=1), "now")(),  # noqa: B009 - the lookup is the case
], ids=["type(d).now()", "d.__class__.today()", "derived.now()", "max(d, d).now()",
        "f-string spec", "str.format spec", "getattr"])
def test_a_real_date_made_in_the_run_cannot_reach_the_world_unseen(
    fn: Callable[[Any], Any]
) -> None:
    """A date made during the run (or the class of one) is a real object whose methods
    the tracer does not see: a run whose code can reach one that reads the clock, the
    time zone or the locale is not cached."""

    def call(d: Any) -> Any:
        return fn(d)

    f = guards.specialize(call)
    value = datetime.datetime(2020, 1, 1)
    f(value)
    f(value)
    assert f.cache.info().hits == 0
    assert all("0x" not in reason for reason in f.specialized.uncached_reasons)


def test_a_date_made_in_the_run_is_cached_when_nothing_can_reach_the_world() -> None:
    f = specialized(lambda d: (d + datetime.timedelta(days=1)).isoformat())
    assert f(datetime.date(2020, 1, 1)) == f(datetime.date(2020, 1, 1)) == "2020-01-02"
    assert f.cache.info().hits == 1


def test_fixed_formats_and_aware_timestamps_stay_cached() -> None:
    f = specialized(lambda d: (d.strftime("%Y-%m-%dT%H:%M:%S%z"), d.timestamp()))
    aware = datetime.datetime(2020, 1, 1, tzinfo=UTC)
    assert f(aware) == f(aware) == (aware.strftime("%Y-%m-%dT%H:%M:%S%z"), aware.timestamp())
    assert f.cache.info().hits == 1


def test_reasons_never_show_an_address() -> None:
    """A reason is counted once for all calls: it names paths and methods, not objects."""

    def local_time(d: Any) -> Any:
        return d.astimezone()

    def dot(a: Any) -> Any:
        return np.dot(a, a)

    for function, values in ((local_time, [datetime.datetime(2020, 1, 1),
                                           datetime.datetime(2021, 1, 1)]),
                             (dot, [np.zeros(2), np.ones(2)])):
        f = guards.specialize(function)
        for value in values * 3:
            f(value)
        reasons = f.specialized.uncached_reasons
        assert list(reasons.values()) == [6]
        assert not any(re.search(r"0x[0-9a-fA-F]{4,}", reason) for reason in reasons)


def test_a_user_tzinfo_is_not_a_library_value() -> None:
    """A tzinfo written in Python may read anything: such a datetime is tracked as before."""

    class Zone(datetime.tzinfo):
        def utcoffset(self, dt: Any) -> datetime.timedelta:
            return datetime.timedelta(hours=1)

    assert not is_library_value(datetime.datetime(2020, 1, 1, tzinfo=Zone()))
    assert is_library_value(datetime.datetime(2020, 1, 1, tzinfo=UTC))
    assert not is_library_value(re.compile(rb"a", re.LOCALE))
    assert not is_library_value(Decimal("NaN"))
    assert library_value_reads(datetime.date(2020, 1, 1), "isoformat") is None


# ------------------------------------------------------------------------ NumPy
def test_c_code_that_imports_from_traced_code_finds_builtins_as_a_dict() -> None:
    """NumPy imports helpers lazily (PyImport_Import reads ``__builtins__`` of the running
    code's globals, which must be a dict here, in a module that is not ``__main__``)."""

    @guards.specialize(strict=True)
    def described(a: Any) -> Any:
        return str((a * 2).dtype), repr(a.T)

    a = np.arange(3, dtype=np.int16)
    assert described(a) == described(a.copy()) == ("int16", repr(a))
    assert described.cache.info().hits == 1


def test_a_function_over_arrays_is_cached_and_a_changed_element_misses() -> None:
    @guards.specialize(strict=True)
    def stats(a: Any, b: Any) -> Any:
        return float(a.mean()), float(a.dot(b)), (a * 2).sum(), a[1], len(a), str(a)

    a = np.arange(6.0)
    first = stats(a, a + 1)
    assert stats(a.copy(), a + 1) == first
    assert stats.cache.info().hits == 1
    changed = a.copy()
    changed[3] = 30.0
    assert stats(changed, a + 1) == (
        float(changed.mean()), float(changed.dot(a + 1)), (changed * 2).sum(), changed[1], 6,
        str(changed),
    )
    assert stats.cache.info().hits == 1


@pytest.mark.parametrize(("a", "b"), [
    (np.array([0.0]), np.array([-0.0])),
    (np.arange(4), np.arange(4.0)),
    (np.arange(4), np.arange(4).reshape(2, 2)),
    (np.arange(4), np.arange(8)[::2]),
    (np.array([1, 2], dtype="<i4"), np.array([1, 2], dtype=">i4")),
], ids=["negative zero", "dtype", "shape", "strides", "byte order"])
def test_arrays_that_differ_in_layout_or_bits_miss(a: Any, b: Any) -> None:
    def show(x: Any) -> str:
        return repr(x) + str(x.strides) + str(x.dtype)

    f = specialized(show)
    assert f(a) == show(a)
    assert f(b) == show(b)
    assert f.cache.info().hits == 0


def test_an_array_owning_its_data_is_not_a_view_of_equal_bytes() -> None:
    """``a.base is None`` and ``a.flags.owndata`` differ for a view of the same bytes."""
    f = specialized(lambda x: x.flags.owndata)
    assert f(np.arange(4)) is True
    assert f(np.arange(8)[:4]) is False


def test_reading_an_arrays_address_or_base_runs_uncached() -> None:
    for read in (lambda x: x.base is None, lambda x: x.ctypes.data,
                 lambda x: x.__array_interface__["data"][0]):
        f = guards.specialize(lambda x, read=read: read(x))
        a = np.arange(3)
        assert f(a) == read(a) and f(a) == read(a)
        assert f.cache.info().hits == 0
        [reason] = f.specialized.uncached_reasons
        assert "L['x']" in reason and "0x" not in reason


def test_an_array_made_in_the_run_cannot_write_a_file_unseen(tmp_path: Any) -> None:
    """``(a * 2).tofile(path)`` is an effect a hit would skip: the run is not cached."""
    path = str(tmp_path / "out.bin")

    @guards.specialize
    def save(a: Any, where: str) -> int:
        (a * 2).tofile(where)
        return 1

    a = np.arange(3.0)
    save(a, path)
    save(a, path)
    assert save.cache.info().hits == 0
    assert np.fromfile(path).tolist() == [0.0, 2.0, 4.0]


def test_the_print_options_are_part_of_an_arrays_guard() -> None:
    f = specialized(str)
    a = np.arange(3.0) / 3
    assert f(a) == str(a)
    with np.printoptions(precision=2):
        assert f(a) == str(a)
    assert f.cache.info().hits == 0


def test_a_nan_array_hits_an_array_of_the_same_bits() -> None:
    f = specialized(lambda x: x.max())
    a = np.array([1.0, np.nan])
    assert np.isnan(f(a)) and np.isnan(f(a.copy()))
    assert f.cache.info().hits == 1


@pytest.mark.parametrize("write", [
    lambda a: a.sort(),
    lambda a: a.fill(0),
    lambda a: a.__setitem__(0, 5),
    lambda a: a.T.__setitem__(0, 5),
    lambda a: a[:2].fill(7),
    lambda a: np.copyto(a, 0),
    lambda a: a.cumsum(out=a),
    lambda a: setattr(a.flags, "writeable", False),
], ids=["sort", "fill", "setitem", "through .T", "through a slice", "np.copyto", "out=",
        "flags"])
def test_a_write_to_an_input_array_runs_once_and_uncached(write: Callable[[Any], Any]) -> None:
    def f(a: Any) -> int:
        write(a)
        return 1

    g = guards.specialize(f)
    for _ in range(2):
        a = np.array([3.0, 1.0, 2.0])
        expected = a.copy()
        write(expected)
        assert g(a) == 1
        assert np.array_equal(a, expected)  # written once, as a plain call writes
        assert a.flags.writeable == expected.flags.writeable
    assert g.cache.info().hits == 0


def test_augmented_assignment_to_an_array_is_a_write() -> None:
    @guards.specialize
    def bump(a: Any) -> int:
        a += 1
        return 1

    a = np.zeros(2)
    bump(a)
    bump(a)
    assert a.tolist() == [2.0, 2.0]
    assert bump.cache.info().hits == 0


def test_a_view_of_an_input_array_is_not_stored() -> None:
    """A fresh call returns a view of the new input; a stored one would show the old."""

    @guards.specialize
    def tail(a: Any) -> Any:
        return a[1:]

    a = np.arange(3)
    assert tail(a).tolist() == [1, 2]
    assert tail.cache.info().entries == 0
    assert any("view" in reason for reason in tail.specialized.uncached_reasons)


def test_object_arrays_are_not_handled_by_value() -> None:
    assert not is_library_value(np.array([[1], [2]], dtype=object))
    assert is_library_value(np.arange(2))
    assert library_value_writes(np.arange(2), "sort", (), {})
    assert library_value_writes(np.arange(2), "sum", (), {"out": None})
    assert not library_value_writes(np.arange(2), "sum", (), {})


def test_ndarray_match_is_one_check() -> None:
    a = np.arange(4.0)
    check = guards.compile_guards(
        [LocalSource("a").make_guard(GuardBuilder.NDARRAY_MATCH)], {"a": a}, {}
    )
    assert len(check.checks) == 1
    assert check.check({"a": a.copy()}, {})
    b = a.copy()
    b[2] = -1
    assert not check.check({"a": b}, {})
    verdict = check.check_verbose({"a": b}, {})
    assert not verdict and "array equal to" in str(verdict)


# ------------------------------------------------------------------- properties
@settings(max_examples=60, deadline=None)
@given(st.lists(st.decimals(min_value=-10**6, max_value=10**6, allow_nan=False,
                            allow_infinity=False, places=3), min_size=1, max_size=4),
       st.sampled_from([decimal.ROUND_HALF_EVEN, decimal.ROUND_UP, decimal.ROUND_DOWN]))
def test_a_decimal_hit_equals_a_fresh_call(values: list[Decimal], rounding: str) -> None:
    def total(xs: Any) -> str:
        return str(sum(x.quantize(Decimal("0.01")) for x in xs) / 7)

    f = guards.specialize(total)
    with decimal.localcontext() as context:
        context.rounding = rounding
        for xs in (values, list(values), values[::-1]):
            assert f(xs) == total(xs)


#: Finite floats far from overflowing when doubled or summed, and NaN.
FLOATS = st.one_of(st.floats(-1e300, 1e300), st.just(float("nan")), st.just(-0.0))


@settings(max_examples=60, deadline=None)
@given(st.lists(FLOATS, min_size=1, max_size=5), st.integers(0, 4), FLOATS)
def test_an_array_hit_equals_a_fresh_call(items: list[float], index: int, item: float) -> None:
    def f(a: Any) -> Any:
        return repr(a.sum()) + repr(a.max()) + repr(a * 2)

    g = guards.specialize(f)
    a = np.array(items)
    changed = a.copy()
    changed[index % len(items)] = item
    for array in (a, a.copy(), changed, a):
        assert g(array) == f(array)


@settings(max_examples=60, deadline=None)
@given(st.dates(), st.dates())
def test_a_date_hit_equals_a_fresh_call(a: datetime.date, b: datetime.date) -> None:
    def f(d: datetime.date, e: datetime.date) -> Any:
        return (d - e).days, d.isoformat(), d.weekday(), d < e

    g = guards.specialize(strict=True)(f)
    for pair in ((a, b), (a, b), (b, a), (a, a)):
        assert g(*pair) == f(*pair)
