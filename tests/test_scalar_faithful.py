"""A scalar stand-in is never told from its value by C code (issue 11).

``specialize`` hands an int, float, str or bytes read from the inputs to the
function as a stand-in that guards only what the code asks of it.  C code must
then take the stand-in exactly as it would take the value, or the run must be
traced again with the value itself; otherwise the first call already returns
what a plain call would not.  These tests hold a specialized function to its
plain twin, call by call (result and exception type), for each kind of C code
that could tell the two apart:

* C code that decides by the presence of a slot without calling it (``math.sqrt``,
  ``"%d" %``, ``struct.pack``, ``callable``, ``defaultdict``, ``iter(x, sentinel)``);
* a constant's own operator called directly (``int.__add__(5, n)``), which answers
  NotImplemented to a stand-in;
* ``"..." % s`` with no conversion, and ``s in "abc"``, where C code takes a str
  stand-in otherwise than a str;
* two values derived with constants that are equal but not the same
  (``n + 1`` and ``n + 1.0``; ``x * 0.0`` and ``x * -0.0``);
* one NaN object reached twice, where C compares identity first.
"""

# The functions under test format with % on purpose, wrong formats included: C's %
# formatting is what they probe.
# ruff: noqa: UP031, F507

from __future__ import annotations

import collections
import contextlib
import enum
import functools
import itertools
import math
import operator
import struct
import sys
from collections.abc import Callable
from typing import Any

import pytest

import guards
from guards.specialization.proxy import SCALAR_PROXY_TYPES, proxy_class


def outcome(fn: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    """What calling ``fn`` gives: its result, or the type of what it raised."""
    try:
        return ("returned", fn(*args))
    except Exception as exc:  # the exception's type is the outcome
        return ("raised", type(exc))


def same(a: tuple[str, Any], b: tuple[str, Any]) -> bool:
    if a[0] != b[0] or type(a[1]) is not type(b[1]):
        return False
    x, y = a[1], b[1]
    return repr(x) == repr(y)


def agree(fn: Callable[..., Any], *calls: tuple[Any, ...]) -> Any:
    """Call ``specialize(fn)`` and ``fn`` with each argument tuple; each outcome must be
    the same (a repeated tuple is a hit).  Returns the specialized function."""
    specialized = guards.specialize(max_entries=64)(fn)
    for args in calls:
        expected = outcome(fn, *args)
        got = outcome(specialized, *args)
        assert same(got, expected), (args, got, expected)
    return specialized


# --------------------------------------------------------------------- slot presence
#: Special methods C code tests for without calling them: PyNumber_Check and
#: PyFloat_AsDouble (nb_int, nb_float, nb_index), PyIndex_Check, PyMapping_Check and
#: PySequence_Check (__getitem__), callable(), iter(), len(), with.
TESTED_SLOTS = (
    "__int__", "__float__", "__index__", "__complex__", "__bytes__",
    "__len__", "__iter__", "__contains__", "__call__", "__next__", "__enter__",
    "__round__", "__trunc__", "__floor__", "__ceil__", "__setitem__", "__reversed__",
)


@pytest.mark.parametrize("cls", sorted(SCALAR_PROXY_TYPES, key=lambda t: t.__name__))
@pytest.mark.parametrize("name", TESTED_SLOTS)
def test_a_stand_in_has_a_slot_exactly_where_its_type_has_one(cls: type, name: str) -> None:
    assert hasattr(proxy_class(cls), name) == hasattr(cls, name)


@pytest.mark.parametrize("cls", sorted(SCALAR_PROXY_TYPES, key=lambda t: t.__name__))
def test_no_stand_in_is_subscriptable(cls: type) -> None:
    """``"..." % x`` takes an ``x`` with ``__getitem__`` that is not a str for a mapping."""
    assert not hasattr(proxy_class(cls), "__getitem__")


def sqrt_of(x: Any) -> Any:
    return math.sqrt(x)


def isnan_of(x: Any) -> Any:
    return math.isnan(x)


def percent_d(x: Any) -> Any:
    return "%d" % x


def percent_f(x: Any) -> Any:
    return "%.1f" % x


def packed(x: Any) -> Any:
    return struct.pack("<d", x)


def as_index(x: Any) -> Any:
    return operator.index(x)


def in_range(x: Any) -> Any:
    return list(range(x))[-1:]


def factory(x: Any) -> Any:
    try:
        collections.defaultdict(x)
    except TypeError:
        return "refused"
    return "made"


def sentinel_iter(x: Any) -> Any:
    try:
        iter(x, None)
    except TypeError:
        return "refused"
    return "made"


def bound(x: Any) -> Any:
    try:
        functools.partial(x)
    except TypeError:
        return "refused"
    return "made"


def is_callable(x: Any) -> Any:
    return callable(x)


def as_complex(x: Any) -> Any:
    return complex(x)


def rounded(x: Any) -> Any:
    return round(x), math.floor(x), math.trunc(x)


SLOT_USERS = [
    sqrt_of, isnan_of, percent_d, percent_f, packed, as_index, in_range, factory,
    sentinel_iter, bound, is_callable, as_complex, rounded,
]
SCALARS = [4, 2.25, "4", b"4", "nan", 0, -3, 1.5]


@pytest.mark.parametrize("fn", SLOT_USERS, ids=lambda fn: fn.__name__)
def test_c_code_testing_a_slot_takes_a_stand_in_as_the_value(fn: Callable[..., Any]) -> None:
    agree(fn, *[(value,) for value in SCALARS], *[(value,) for value in SCALARS])


# ------------------------------------------------------------- a constant's operator
def add_to_five(n: Any) -> Any:
    return int.__add__(5, n)


def five_plus(n: Any) -> Any:
    return (5).__add__(n)


def str_equal(s: Any) -> Any:
    return str.__eq__("a", s)


def float_less(x: Any) -> Any:
    return float.__lt__(1.0, x)


def mapped_equal(s: Any) -> Any:
    return list(map("x".__eq__, [s, "x"]))


def contains_directly(s: Any) -> Any:
    return "abc".__contains__(s)


def modulo_function(s: Any) -> Any:
    return operator.mod("constant", s)


@pytest.mark.parametrize(
    "fn", [add_to_five, five_plus, str_equal, float_less, mapped_equal, contains_directly,
           modulo_function],
    ids=lambda fn: fn.__name__,
)
def test_a_constants_operator_called_directly_gets_the_value(fn: Callable[..., Any]) -> None:
    agree(fn, (1,), ("a",), ("x",), (2.0,), (1,), ("a",), ("b",))


# ----------------------------------------------------- str and bytes taken otherwise
def no_conversion(s: Any) -> Any:
    return "constant" % s


def no_conversion_caught(s: Any) -> Any:
    try:
        return "v" % s
    except TypeError:
        return "error"


def no_conversion_bytes(b: Any) -> Any:
    return b"const" % b


def escaped_percent(s: Any) -> Any:
    return "100%%" % s


def one_conversion(s: Any) -> Any:
    return "<%s>" % s


def named_conversion(s: Any) -> Any:
    try:
        return "%(k)s" % s
    except TypeError:
        return "error"


def in_constant(s: Any) -> Any:
    try:
        return s in "abcdef"
    except TypeError:
        return "error"


def in_constant_bytes(b: Any) -> Any:
    try:
        return b in b"abcdef"
    except TypeError:
        return "error"


@pytest.mark.parametrize(
    "fn", [no_conversion, no_conversion_caught, no_conversion_bytes, escaped_percent,
           one_conversion, named_conversion, in_constant, in_constant_bytes],
    ids=lambda fn: fn.__name__,
)
def test_str_and_bytes_formatting_and_membership(fn: Callable[..., Any]) -> None:
    agree(fn, ("x",), ("cd",), (b"x",), (b"cd",), (3,), ({"k": 1},), ("x",), (3,))


def test_formatting_with_conversions_keeps_scalars_lazy() -> None:
    """A format with a conversion takes the value through its hooks: no fallback, and a
    threshold asked beside it still guards only its outcome."""

    def label(n: int, m: int) -> str:
        return "%d items" % n if m > 10 else "few"

    f = agree(label, (1, 20), (2, 30), (1, 40), (5, 1), (6, 2))
    assert f.cache.info().misses == 3  # n=1 (m>10), n=2 (m>10), m<=10 for any n


# --------------------------------------------------------------- exact derived values
def int_then_float(n: Any) -> Any:
    a = n + 1
    b = n + 1.0
    return str(a), str(b)


def zero_then_negative_zero(x: Any) -> Any:
    a = x * 0
    b = x * -0.0
    return repr(a), repr(b)


def times_two_types(n: Any) -> Any:
    return type(n * 2).__name__, type(n * 2.0).__name__


@pytest.mark.parametrize("fn", [int_then_float, zero_then_negative_zero, times_two_types],
                         ids=lambda fn: fn.__name__)
def test_values_derived_with_equal_constants_of_other_types_differ(
    fn: Callable[..., Any],
) -> None:
    agree(fn, (5,), (1.0,), (5,), (-2.5,), (0,), (1.0,))


# ----------------------------------------------------------------------- NaN identity
NAN = float("nan")


def both_in_lists(a: Any, b: Any) -> Any:
    return [a] == [b], a in (b, 0.5)


def first_in(xs: Any, a: Any) -> Any:
    return xs[0] in [a], xs.count(a)


def test_one_nan_object_reached_twice_is_told_from_two() -> None:
    agree(both_in_lists, (NAN, NAN), (NAN, float("nan")), (NAN, NAN), (1.0, 1.0), (NAN, NAN))
    agree(first_in, ([NAN], NAN), ([float("nan")], NAN), ([NAN], NAN))


def test_a_nan_is_guarded_by_identity() -> None:
    f = agree(lambda v: v * 2, (NAN,), (NAN,), (float("nan"),))
    info = f.cache.info()
    assert (info.hits, info.misses) == (1, 2)  # the same object hits; another NaN misses


# ------------------------------------------ refused without being asked, then handled
def guarded_call(body: str, handler: str = "except TypeError") -> Callable[..., Any]:
    """A function of ``s`` running ``body`` in a ``try`` whose handler returns 'err'."""
    namespace: dict[str, Any] = {}
    text = f"def f(s):\n    try:\n        {body}\n    {handler}:\n        return 'err'\n"
    exec(compile(text, f"<refused {body!r}>", "exec"), namespace)
    return namespace["f"]  # type: ignore[no-any-return]


REFUSALS = [
    ("return '%c' % s", [("ab",), ("y",), (65,)]),
    ("return '%d' % s", [("x",), (5,), (2.5,)]),
    ("return 'abc'[s]", [("x",), (1,), (-1,)]),
    ("return [10, 20][s]", [("x",), (1,)]),
    ("return [0, 1, 2][s:]", [("x",), (1,)]),
    ("return [*s]", [(5,), ("ab",)]),
    ("return [c for c in s]", [(5,), ("ab",)]),
    ("return len(s)", [(5,), ("ab",), (2.5,)]),
    ("return s[0]", [(5,), ("ab",)]),
    ("return -s", [("ab",), (5,)]),
    ("return ~s", [("ab",), (5,), (2.5,)]),
    ("raise s", [("x",), (ValueError,)]),
    ("t = 'abcdef'\n        return s in t", [(5,), ("cd",), ("x",)]),
    ("return s in b'abcdef'.lower()", [("cd",), (b"cd",), (5,)]),
    ("fmt = 'const'\n        return fmt % s", [("x",), (b"y",), ("y",), (3,)]),
    ("return sum(['a'], s)", [("x",), (0,), (b"y",)]),
    ("return bytes(s)", [("",), (b"",), (2,), ("x",)]),
    ("return bytearray(s)", [("",), (b"ab",), (2,)]),
]


@pytest.mark.parametrize("handler", ["except TypeError", "except", "except Exception"])
@pytest.mark.parametrize(("body", "calls"), REFUSALS, ids=[body for body, _ in REFUSALS])
def test_a_stand_in_refused_by_its_type_then_handled(
    body: str, calls: list[tuple[Any, ...]], handler: str,
) -> None:
    """The interpreter or C code refuses a stand-in by its type, asking it nothing, and the
    function handles the error: neither that call nor a later hit may differ."""
    agree(guarded_call(body, handler), *calls, *calls)


@pytest.mark.parametrize(("body", "calls"), REFUSALS, ids=[body for body, _ in REFUSALS])
def test_a_stand_in_refused_by_its_type_unhandled(body: str, calls: list[tuple[Any, ...]]) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(f"def f(s):\n    {body.replace(chr(10) + '    ', chr(10))}\n", "<refused>",
                 "exec"), namespace)
    agree(namespace["f"], *calls, *calls)


# ------------------------------------------------------- a constant's operator, held
ADD = int.__add__
BOUND_ADD = (5).__add__


def add_by_getattr(n: Any) -> Any:
    return getattr(int, "__add__")(5, n)  # noqa: B009 - reached by a string on purpose


def add_bound_by_getattr(n: Any) -> Any:
    return getattr(5, "__add__")(n)  # noqa: B009


def equal_from_vars(s: Any) -> Any:
    return vars(str)["__eq__"]("a", s)


def add_held(n: Any) -> Any:
    return ADD(5, n)


def add_bound_held(n: Any) -> Any:
    return BOUND_ADD(n)


@pytest.mark.parametrize(
    "fn", [add_by_getattr, add_bound_by_getattr, equal_from_vars, add_held, add_bound_held],
    ids=lambda fn: fn.__name__,
)
def test_a_constants_operator_reached_otherwise_gets_the_value(fn: Callable[..., Any]) -> None:
    agree(fn, (1,), ("a",), (2.5,), (1,), ("b",))


# ------------------------------------------------------------ identities C compares
def two_nans(n: Any) -> Any:
    return [n * 0.0] == [n * 0.0], len({n * 0.0, n * 0.0})


def methods_equal(a: Any, b: Any) -> Any:
    return a.startswith == b.startswith, len({a.isdigit, b.isdigit})


def test_each_computation_of_a_nan_is_its_own_object() -> None:
    agree(two_nans, (math.inf,), (1.0,), (math.inf,), (-math.inf,))


def test_methods_of_one_str_reached_twice_are_equal() -> None:
    word = "".join(["a", "b"])  # one object, not an interned constant
    agree(methods_equal, (word, word), ("x", "y"), (word, word))


# ------------------------------------------------------------------------ effects once
def test_a_logging_call_is_made_once_when_the_run_goes_back_to_values(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    log = logging.getLogger("guards.tests.faithful")

    def joined(s: str) -> str:
        log.warning("called with %s", s)
        return ",".join([s, "x"])  # C code refusing a stand-in: traced again

    f = guards.specialize(joined)
    with caplog.at_level(logging.WARNING, logger="guards.tests.faithful"):
        assert f("a") == "a,x"
    assert [r.getMessage() for r in caplog.records if r.name == log.name] == ["called with a"]


# ------------------------------------------------------------ the real type, reached
def type_through_builtins(n: Any) -> Any:
    import builtins

    return builtins.type(n) == int, getattr(builtins, "type")(n) is int  # noqa: B009, E721 - on purpose


def type_through_a_class(n: Any) -> Any:
    return {int: "int", float: "float"}.get(int.__class__(n), "?"), repr(int.__class__(n))


@pytest.mark.parametrize("fn", [type_through_builtins, type_through_a_class],
                         ids=lambda fn: fn.__name__)
def test_the_real_type_reached_otherwise_sees_the_values_type(fn: Callable[..., Any]) -> None:
    agree(fn, (5,), (2.5,), ("a",), (5,))


# ------------------------------------------- refused, then swallowed without a lookup
class Swallow:
    """A context manager of the user's that swallows every exception."""

    def __enter__(self) -> Swallow:
        return self

    def __exit__(self, *exc: object) -> bool:
        return True


def caught_by_default(s: Any, error: type[BaseException] = TypeError) -> Any:
    try:
        return "%c" % s
    except error:
        return "caught"


def swallowed_by_user_manager(s: Any) -> Any:
    with Swallow():
        return [10, 20][s]
    return "swallowed"


def swallowed_by_suppress_alias(s: Any) -> Any:
    quiet = contextlib.suppress
    with quiet(TypeError):
        return "%c" % s
    return "swallowed"


def swallowed_by_exit_stack(s: Any) -> Any:
    with contextlib.ExitStack() as stack:
        stack.push(lambda *exc: True)
        return [10, 20][s]
    return "swallowed"


def swallowed_by_finally(s: Any) -> Any:
    # A return in finally swallows the error, on purpose.
    try:
        return "%c" % s
    finally:
        return "finally"  # noqa: B012, SIM107


@pytest.mark.parametrize(
    "fn", [caught_by_default, swallowed_by_user_manager, swallowed_by_suppress_alias,
           swallowed_by_exit_stack, swallowed_by_finally],
    ids=lambda fn: fn.__name__,
)
def test_a_refusal_swallowed_without_looking_anything_up(fn: Callable[..., Any]) -> None:
    agree(fn, ("ab",), ("y",), (1,), ("x",), (0,), ("ab",))


# --------------------------------------------- a type test by another name, a helper
BYTES = bytes
SUM = sum


def bytes_by_alias(s: Any) -> Any:
    return BYTES(s)


def bytes_by_class(s: Any) -> Any:
    return b"".__class__(s), type(b"")(s)  # noqa: UP003 - the class reached from a value


def bytes_by_module(s: Any) -> Any:
    import builtins

    return builtins.bytearray(s)


def sum_by_alias(s: Any) -> Any:
    return SUM(["a"], s)


def from_bytes(s: Any) -> Any:
    return int.from_bytes(s, "big")


def format_helper(fmt: Any, value: Any) -> Any:
    return fmt % value


def formats_through_a_helper(s: Any) -> Any:
    return format_helper("abc", s), format_helper("<%s>", s)


@pytest.mark.parametrize(
    "fn", [bytes_by_alias, bytes_by_class, bytes_by_module, sum_by_alias, from_bytes,
           formats_through_a_helper],
    ids=lambda fn: fn.__name__,
)
def test_c_code_typing_its_argument_by_another_name(fn: Callable[..., Any]) -> None:
    agree(fn, ("",), ("x",), (b"",), (b"ab",), (3,), ("",), ({"k": 1},), ("x",))


# ------------------------------------------ effects of a run that goes back to values
def test_an_effect_before_a_refusal_happens_once() -> None:
    def next_then_join(it: Any, s: str) -> str:
        v = next(it)
        return ",".join([s, str(v)])

    f = guards.specialize(next_then_join)
    it = iter([1, 2, 3])
    assert f(it, "a") == "a,1"
    assert list(it) == [2, 3]

    counter = itertools.count()

    def count_then_join(s: str) -> str:
        return ",".join([s, str(next(counter))])

    g = guards.specialize(count_then_join)
    assert g("a") == "a,0"
    assert next(counter) == 1

    bodies: list[int] = []

    @functools.lru_cache(None)
    def helper(k: int) -> int:
        bodies.append(k)
        return k

    def helper_then_join(s: str) -> str:
        helper(0)
        return ",".join([s, "x"])

    h = guards.specialize(helper_then_join)
    assert h("a") == "a,x"
    assert bodies == [0]


# --------------------------------------------------------- under a foreign tracer
def test_correct_under_a_debuggers_trace_function() -> None:
    """On 3.11 the net watches raises with a trace function of its own; under another
    one (a debugger, coverage) it cannot, and scalars are handed over as values."""

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        return None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        agree(swallowed_by_user_manager, ("x",), (1,), (0,), ("x",))
        agree(caught_by_default, ("ab",), ("y",))
    finally:
        sys.settrace(previous)


# ------------------------------------------------- refused in library code, or alike
def in_user_string(s: Any, error: type[BaseException] = TypeError) -> Any:
    text = collections.UserString("abc")
    try:
        return s in text
    except error:
        return "caught"


def array_of(b: Any) -> Any:
    import array

    try:
        return array.array("d", b).tolist()
    except (TypeError, ValueError):
        return "refused"


def summed(a: Any, b: Any, c: Any) -> Any:
    return sum([a, b, c]), sum([1e100, a, -1e100])


def test_a_refusal_in_library_code_handled_by_the_function() -> None:
    agree(in_user_string, ("a",), ("z",), ("a",), ("q",))


def test_bytes_are_handed_over_as_values() -> None:
    """``array`` reads bytes as machine values only when they are exactly bytes."""
    agree(array_of, (b"abcdefgh",), (b"abc",), (b"abcdefgh",), ([1.5],))


def test_sum_of_floats_adds_as_a_plain_call_does() -> None:
    """3.12's sum compensates only while every item is an exact float."""
    agree(summed, (0.1, 0.2, 0.3), (1.0, 2.0, 3.0), (0.1, 0.2, 0.3))


def test_a_generator_closed_early_keeps_predicate_guards() -> None:
    """A generator closed before its end gets GeneratorExit at its yield: no refusal."""

    def any_above(n: int) -> bool:
        return n > 10 and any(x > 2 for x in [1, 3, 5])

    f = agree(any_above, *[(n,) for n in range(11, 27)])
    assert f.cache.info().misses == 1


class Exactly(type):
    """A metaclass: classes made with it are called as they are, their code untraced."""


class IntFlags(metaclass=Exactly):
    def __init__(self, values: list[Any]) -> None:
        self.flags = [type(v) is int for v in values]


class Holder:
    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: Holder) -> bool:
        if type(self.value) is not type(other.value):
            return type(self.value).__name__ < type(other.value).__name__
        return bool(self.value < other.value)


def flags_of(n: int) -> Any:
    return IntFlags([n]).flags, n > 10


def order_of(a: Any, b: Any) -> Any:
    return [h.value for h in sorted([Holder(a), Holder(b)])]


def test_untraced_user_code_handed_stand_ins_in_containers() -> None:
    """Code the trace does not enter (a metaclass's class, a dunder C code calls) may
    find a stand-in anywhere: in a list, in an attribute."""
    agree(flags_of, (5,), (50,), (5,))
    agree(order_of, (2, 1.5), (1, "a"), (2, 1.5))


class Flag(enum.IntFlag):
    R = 4
    W = 2
    X = 1


def flag_of(n: int) -> Any:
    return Flag(n), n > 0


def test_untraced_code_keeps_values_not_stand_ins() -> None:
    """An enum keeps what it was called with (`_value2member_map_`): a value."""
    agree(flag_of, (7,), (3,), (7,))
    assert all(type(key) is int for key in Flag._value2member_map_)


def test_a_partial_of_a_builtin_gets_values() -> None:
    def parse(fn: Callable[[str], int], text: str) -> int:
        return fn(text)

    f = agree(parse, (functools.partial(int, base=2), "101"),
              (functools.partial(int, base=2), "101"))
    assert f.cache.info().hits == 1
