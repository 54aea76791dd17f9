"""Tracing is invisible: what user code can observe of a value is what a plain run observes.

Issue 9, fault kind 2.  Types, ``match``, formatting, ``dir``, dict views,
C functions that read memory (``sys.getsizeof``, ``pickle``) and the proxy's
special methods (driven from ``guards.specialization.proxy.OPERATIONS``): each specialized
call must return (or raise) exactly what the plain function does, on the miss
and on the call after it, and after the state it read changes.
"""

from __future__ import annotations

import collections
import collections.abc
import copy
import dataclasses
import gc
import inspect
import pickle
import sys
import traceback
import types
import warnings
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from guards import specialize
from guards.specialization.proxy import OPERATIONS
from guards.testing import strict_same

pytestmark = pytest.mark.usefixtures("quiet_recompiles")


# -- values and their observers ------------------------------------------------------------
class Obj:
    """A plain object: identity equality, object's own str, repr, format and dir."""

    def __init__(self) -> None:
        self.a = 1
        self.b = [1, 2]


class Tag:
    def __init__(self, name: str) -> None:
        self.name = name

    def __str__(self) -> str:
        return "T" + self.name

    def __repr__(self) -> str:
        return f"Tag({self.name!r})"


class OnlyStr:
    def __init__(self) -> None:
        self.text = "only-str"

    def __str__(self) -> str:
        return self.text


class OnlyRepr:
    def __repr__(self) -> str:
        return "only-repr"


@dataclasses.dataclass
class Point:
    x: int
    y: list[int]


class Seq(collections.abc.Sequence[int]):
    def __init__(self, items: list[int]) -> None:
        self.items = items

    def __getitem__(self, i: Any) -> Any:
        return self.items[i]

    def __len__(self) -> int:
        return len(self.items)


class Slots:
    __slots__ = ("p", "q")

    def __init__(self) -> None:
        self.p = 1
        self.q = 2


#: Values a traced run sees as proxies, one of each shape the tracer treats apart.
VALUES: dict[str, Callable[[], Any]] = {
    "list": lambda: [3, 1, 2],
    "tuple": lambda: (3, 1, 2),
    "dict": lambda: {"a": 1, "b": 2},
    "set": lambda: {1, 2, 3},
    "nested": lambda: {"a": [1, (2, 3)], "m": {"x": 1}},
    "object": Obj,
    "str-repr": lambda: Tag("a"),
    "only-str": OnlyStr,
    "only-repr": OnlyRepr,
    "dataclass": lambda: Point(1, [2]),
    "sequence": lambda: Seq([1, 2]),
    "slots": Slots,
    "bytearray": lambda: bytearray(b"ab"),
    "deque": lambda: collections.deque([1, 2]),
    "ordereddict": lambda: collections.OrderedDict(a=1),
    "namespace": lambda: types.SimpleNamespace(a=1),
}


def _match(x: Any) -> Any:
    match x:
        case {"a": a, **rest}:
            return ("mapping", a, sorted(rest))
        case [first, *others]:
            return ("sequence", first, others)
        case str():
            return "str"
        case Point(x=px):
            return ("point", px)
        case _:
            return "other"


#: What user code can observe of a value; each must be the same traced and plain.
VISIBLE: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("type name", lambda x: type(x).__name__),
    ("__class__", lambda x: x.__class__.__name__),
    ("isinstance Mapping", lambda x: isinstance(x, collections.abc.Mapping)),
    ("isinstance Sequence", lambda x: isinstance(x, collections.abc.Sequence)),
    ("isinstance Hashable", lambda x: isinstance(x, collections.abc.Hashable)),
    ("hash", lambda x: hash(x)),
    ("bool", lambda x: bool(x)),
    ("repr", lambda x: repr(x)),
    ("str", lambda x: str(x)),
    ("f-string", lambda x: f"<{x}>"),
    ("f-string repr", lambda x: f"<{x!r}>"),
    ("f-string spec", lambda x: f"<{x:>40}>"),
    ("format", lambda x: format(x)),
    ("str.format", lambda x: "{}".format(x)),  # noqa: UP032 - str.format is the point
    ("percent s", lambda x: "%s" % (x,)),  # noqa: UP031 - % is the point
    ("ascii", lambda x: ascii(x)),
    ("dir", lambda x: dir(x)),
    ("vars", lambda x: sorted(vars(x))),
    ("__dict__.get", lambda x: x.__dict__.get("a")),
    ("sys.getsizeof", lambda x: sys.getsizeof(x)),
    ("gc.is_tracked", lambda x: gc.is_tracked(x)),
    ("gc.get_referents", lambda x: len(gc.get_referents(x))),
    ("pickle", lambda x: pickle.dumps(x)),
    ("copy", lambda x: type(copy.copy(x)).__name__),
    ("match", _match),
    ("keys & set", lambda x: x.keys() & {"a"}),
    ("items <= items", lambda x: x.items() <= {"a": 1, "b": 2}.items()),
    ("items type", lambda x: type(x.items()).__name__),
    ("values == values", lambda x: x.values() == x.values()),
    ("items == list", lambda x: x.items() == list(x.items())),
    ("get", lambda x: x.get("a")),
    ("unpack mapping", lambda x: {**x}),
    ("unpack iterable", lambda x: [*x]),
    ("C method type", lambda x: type(x.__sizeof__).__name__),
    ("C method name", lambda x: x.__sizeof__.__qualname__),
    ("C method equality", lambda x: x.__sizeof__ == x.__sizeof__),
    ("C method __self__", lambda x: x.__sizeof__.__self__ is x),
    ("__dir__()", lambda x: sorted(x.__dir__())),
    ("__format__()", lambda x: x.__format__("")),
    ("weakref", lambda x: weakref.ref(x)() is x),
    ("percent", lambda x: "%s" % x),  # noqa: UP031 - % is the point
    ("percent two", lambda x: "%s-%s" % x),  # noqa: UP031
    ("unpack", lambda x: _unpack(x)),
    ("call with *", lambda x: max(*x)),
    ("call with **", lambda x: dict(**x)),
)


def _unpack(x: Any) -> Any:
    first, *rest = x
    return first, rest


def caught(observe: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``observe``, with any exception caught by the traced code itself (and shown)."""

    def observe_and_catch(x: Any) -> Any:
        try:
            return observe(x)
        except Exception as exc:
            return ("caught", type(exc).__name__, str(exc))

    return observe_and_catch


def outcome(fn: Callable[..., Any], *args: Any) -> tuple[Any, ...]:
    """What a call gave: ``("returned", value)`` or ``("raised", type, message)``."""
    try:
        return ("returned", fn(*args))
    except Exception as exc:  # the exact exception is the point
        return ("raised", type(exc), str(exc))


def same(a: Any, b: Any) -> bool:
    """Strictly equal; objects compared by exact type and attributes."""
    if type(a) is not type(b):
        return False
    if type(a) in (list, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if hasattr(a, "__dict__") and type(a).__eq__ is object.__eq__:
        return same(vars(a), vars(b))
    return strict_same(a, b)


def check_traced_as_plain(fn: Callable[..., Any], *args: Any) -> Any:
    """Specialize ``fn``; its miss and its next call give what the plain call gives."""
    f = specialize(fn)
    expected = outcome(fn, *args)
    for _ in range(2):
        got = outcome(f, *args)
        assert same(got, expected), (got, expected)
    return f


@pytest.mark.parametrize(("observer", "observe"), VISIBLE, ids=[name for name, _ in VISIBLE])
def test_what_code_observes_of_a_tracked_value_is_what_a_plain_run_observes(
    observer: str, observe: Callable[[Any], Any]
) -> None:
    for make in VALUES.values():
        check_traced_as_plain(observe, make())
        check_traced_as_plain(caught(observe), make())


# -- the proxy's special methods, from the table that makes them ----------------------------
_TYPED_RESULTS: dict[str, Callable[[int, tuple[Any, ...]], Any]] = {
    "__hash__": lambda v, _: v + 100,
    "__int__": lambda v, _: v + 100,
    "__index__": lambda v, _: v + 100,
    "__sizeof__": lambda v, _: v + 100,
    "__float__": lambda v, _: float(v),
    "__complex__": lambda v, _: complex(v),
    "__str__": lambda v, _: f"s{v}",
    "__bytes__": lambda v, _: bytes([v]),
    "__format__": lambda v, args: f"f{v}{args[0]}",
    "__dir__": lambda v, _: [f"d{v}"],
}


def _special(name: str) -> Callable[..., Any]:
    typed = _TYPED_RESULTS.get(name)

    def method(self: Every, *args: Any) -> Any:
        if typed is not None:
            return typed(self.v, args)
        return (name, self.v, *args)

    method.__name__ = name
    return method


class Every:
    """Defines, in Python, every special method that the proxy table has."""

    def __init__(self, v: int) -> None:
        self.v = v


for _name, _, _ in OPERATIONS:
    setattr(Every, _name, _special(_name))


def _data(result: Any) -> Any:
    """A result as data: iterators are consumed (each run makes its own)."""
    if isinstance(result, Iterator):
        return list(result)
    return result


def _with(x: Any) -> Any:
    with x as entered:
        return entered


#: User code that reaches a special method the table computes with a helper of its own.
_STATEMENTS: dict[str, Callable[[Any], Any]] = {
    "__enter__": _with,
    "__exit__": _with,
    "__dir__": dir,
    "__sizeof__": lambda x: x.__sizeof__(),
}


def _applier(name: str, fn: Callable[..., Any], kind: str) -> Callable[[Any], Any]:
    """How user code reaches the special method: the operator, as Python would call it."""
    if kind == "reflected":
        return lambda x: _data(fn(7, x))
    if kind in ("binary", "inplace"):
        return lambda x: _data(fn(x, 7))
    statement = _STATEMENTS.get(name, fn)
    return lambda x: _data(statement(x))


@pytest.mark.parametrize(("name", "fn", "kind"), OPERATIONS, ids=[op[0] for op in OPERATIONS])
def test_each_special_method_of_the_proxy_answers_as_the_value_does(
    name: str, fn: Callable[..., Any], kind: str
) -> None:
    """Python's method (traced), a built-in's (by value) and a missing one (the same error)."""
    apply = _applier(name, fn, kind)
    x = Every(1)
    f = check_traced_as_plain(apply, x)
    assert f.cache.info().hits == 1
    x.v = 2
    assert same(outcome(f, x), outcome(apply, x))
    if kind == "binary":  # the value is both operands: `x == x`
        both = specialize(lambda x: fn(x, x))
        assert both(x) == both(x) == fn(x, x) and both.cache.info().hits == 1
    for make in (lambda: [1, 2], lambda: (1, 2), lambda: {"a": 1}, Obj):
        check_traced_as_plain(apply, make())


# -- match ---------------------------------------------------------------------------------
def test_mapping_and_sequence_patterns_match_tracked_values() -> None:
    @specialize
    def handle(msg: Any) -> Any:
        match msg:
            case {"type": "add", "args": [a, b]}:
                return a + b
            case {"type": "sum", "args": [*rest]}:
                return sum(rest)
            case [x, y, *_]:
                return ("seq", x, y)
            case _:
                return "unknown"

    msg = {"type": "add", "args": [1, 2]}
    assert handle(msg) == 3
    assert handle(msg) == 3 and handle.cache.info().hits == 1
    msg["args"].append(3)  # type: ignore[attr-defined]
    assert handle(msg) == handle.__wrapped__(msg) == "unknown"
    msg["type"] = "sum"
    assert handle(msg) == 6
    assert handle([5, 6, 7]) == ("seq", 5, 6)
    assert handle((5, 6)) == ("seq", 5, 6)
    assert handle("ab") == "unknown"


def test_a_subject_that_matched_no_pattern_is_guarded_by_its_type() -> None:
    """A mapping pattern tests the type's flags, not the value: the next dict must miss."""

    @specialize
    def kind(x: Any) -> str:
        match x:
            case {"a": _}:
                return "mapping"
            case [_, *_]:
                return "sequence"
            case _:
                return "other"

    assert kind(Obj()) == "other"
    assert kind({"a": 1}) == "mapping"
    assert kind([1]) == "sequence"
    assert kind(Obj()) == "other"
    assert kind.cache.info().hits == 1


# -- formatting -----------------------------------------------------------------------------
def test_format_and_f_strings_call_str_not_repr() -> None:
    @specialize
    def label(t: Tag, o: OnlyStr) -> tuple[str, ...]:
        return f"<{t}>", "{}".format(t), format(t), f"{o}", f"{t!r}"  # noqa: UP032

    t, o = Tag("a"), OnlyStr()
    assert label(t, o) == ("<Ta>", "Ta", "Ta", "only-str", "Tag('a')")
    assert label(t, o) == label.__wrapped__(t, o) and label.cache.info().hits == 1
    t.name, o.text = "b", "changed"
    assert label(t, o) == label.__wrapped__(t, o) == ("<Tb>", "Tb", "Tb", "changed", "Tag('b')")


def test_which_str_runs_is_guarded_when_a_subclass_adds_one() -> None:
    """``str(x)`` falls back to ``repr`` only while ``type(x)`` has object's ``__str__``."""

    class Base:
        def __repr__(self) -> str:
            return "repr"

    class Child(Base):
        def __str__(self) -> str:
            return "str"

    @specialize
    def show(x: Base) -> str:
        return f"{x}"

    assert show(Base()) == "repr"
    assert show(Child()) == show.__wrapped__(Child()) == "str"


def test_a_format_spec_on_an_object_without_format_raises_as_in_a_plain_run() -> None:
    @specialize
    def padded(x: Any) -> str:
        try:
            return f"{x:>10}"
        except TypeError as exc:
            return str(exc)

    assert padded(Obj()) == padded.__wrapped__(Obj()) == (
        "unsupported format string passed to Obj.__format__"
    )


# -- dir, vars, __dict__ --------------------------------------------------------------------
def test_dir_and_vars_follow_the_instance_and_its_class() -> None:
    class Record:
        def __init__(self) -> None:
            self.a = 1

    @specialize
    def names(o: Record) -> tuple[Any, ...]:
        public = [n for n in dir(o) if not n.startswith("_")]
        return sorted(vars(o)), public, o.__dict__.get("a")

    o = Record()
    assert names(o) == names.__wrapped__(o) == (["a"], ["a"], 1)
    assert names(o) == (["a"], ["a"], 1) and names.cache.info().hits == 1
    o.b = 2  # type: ignore[attr-defined]
    assert names(o) == names.__wrapped__(o)
    o.a = 5
    assert names(o) == names.__wrapped__(o)
    Record.meth = lambda self: 0  # type: ignore[attr-defined]
    assert names(o) == names.__wrapped__(o) == (["a", "b"], ["a", "b", "meth"], 5)


# -- dict views ----------------------------------------------------------------------------
def test_dict_views_of_a_tracked_dict_are_views() -> None:
    @specialize
    def views(d: dict[str, int], e: dict[str, int]) -> tuple[Any, ...]:
        return (
            type(d.items()).__name__, d.values() == [1], d.items() == [("a", 1)],
            d.keys() & e.keys(), d.items() <= e.items(), sorted(d.values()),
        )

    d, e = {"a": 1}, {"a": 1, "b": 2}
    expected = ("dict_items", False, False, {"a"}, True, [1])
    assert views(d, e) == views.__wrapped__(d, e) == expected
    assert views(d, e) == expected and views.cache.info().hits == 1
    d["a"] = 3
    assert views(d, e) == views.__wrapped__(d, e)


def test_a_returned_view_of_an_input_stays_live_and_is_not_cached() -> None:
    @specialize
    def values(d: dict[str, int]) -> Any:
        return d.values()

    d = {"a": 1}
    view = values(d)
    assert type(view).__name__ == "dict_values"
    d["a"] = 2
    assert list(view) == [2]
    assert values.cache.info().hits == 0 and values.cache.info().uncached == 1


# -- C code that reads memory or types ------------------------------------------------------
def test_getsizeof_and_pickle_of_a_tracked_value_run_uncached() -> None:
    @specialize
    def measure(xs: list[int]) -> tuple[int, bytes]:
        return sys.getsizeof(xs), pickle.dumps(xs)

    grown: list[int] = []
    for i in range(3):
        grown.append(i)
    literal = [0, 1, 2]
    assert measure(grown) == measure.__wrapped__(grown)
    assert measure(literal) == measure.__wrapped__(literal)  # equal, but another size
    assert measure.cache.info().hits == 0
    reasons = " ".join(measure.specialized.uncached_reasons)
    assert "sys.getsizeof() reads L['xs'] in memory" in reasons


def test_c_methods_of_a_tracked_object_are_not_guarded_by_identity() -> None:
    """A bound C method is a new object at each read: its uses are guarded another way."""

    @specialize
    def first(d: collections.OrderedDict[str, int]) -> Any:
        return d.get("a"), sorted(d.__dir__()) == sorted(dir(d))

    d = collections.OrderedDict(a=1)
    assert first(d) == first.__wrapped__(d) == (1, True)
    d["a"] = 2
    assert first(d) == first.__wrapped__(d)
    for reason in first.specialized.uncached_reasons:
        assert "0x" not in reason, reason


def test_a_caught_error_names_the_values_type() -> None:
    @specialize
    def merged(x: Any) -> Any:
        try:
            return {**x}
        except TypeError as exc:
            return str(exc)

    for value in ([1], collections.deque([1]), Obj()):
        assert merged(value) == merged.__wrapped__(value)
    assert merged([1]) == "'list' object is not a mapping"


def test_percent_formatting_with_a_tracked_tuple_runs_plainly() -> None:
    """C formatting unpacks a tuple operand; a proxy is not one, so the run is abandoned."""

    @specialize
    def pair(cfg: dict[str, Any]) -> str:
        return "%s-%s" % cfg["pair"]  # noqa: UP031 - % is the point

    cfg = {"pair": ("x", "y")}
    assert pair(cfg) == pair(cfg) == "x-y"
    cfg["pair"] = ("x",)
    assert outcome(pair, cfg) == outcome(pair.__wrapped__, cfg)
    reasons = " ".join(pair.specialized.uncached_reasons)
    assert "formats with % by L['cfg']['pair']" in reasons


def test_a_tracked_tuple_inside_a_tuple_display_is_formatted_and_cached() -> None:
    @specialize
    def show(t: tuple[int, ...]) -> str:
        return "%s" % (t,)  # noqa: UP031 - % is the point

    assert show((1, 2)) == show((1, 2)) == "(1, 2)"
    assert show.cache.info().hits == 1


# -- the call stack ------------------------------------------------------------------------
def _caller_name() -> str:
    return sys._getframe(2).f_code.co_name  # who called my caller


def _log_prefix() -> str:
    return f"[{_caller_name()}]"


#: Code that reads the call stack (within the specialized function: above it, a
#: wrapper's frames differ from a direct call's): a traced run would see the tracer's.
#: With the reason it runs plainly: the stand-in of the function called, or a frame
#: walk (``f_back``) found in the code before it runs.
STACK_READERS: tuple[tuple[str, Callable[[], Any], str], ...] = (
    ("sys._getframe", _log_prefix, "calls sys._getframe()"),
    (
        "inspect.currentframe",
        lambda: inspect.currentframe().f_back.f_code.co_name,  # type: ignore[union-attr]
        "<lambda> reads the call stack (f_back)",
    ),
    ("inspect.stack", lambda: [f.function for f in inspect.stack()[:2]], "calls inspect.stack()"),
    (
        "traceback.format_stack",
        lambda: [s.split(",")[2] for s in traceback.format_stack(limit=2)],
        "calls traceback.format_stack()",
    ),
)


@pytest.mark.parametrize(
    ("name", "read", "reason"), STACK_READERS, ids=[n for n, _, _ in STACK_READERS]
)
def test_code_that_reads_the_call_stack_sees_a_plain_calls_stack(
    name: str, read: Callable[[], Any], reason: str
) -> None:
    @specialize
    def compute(x: int) -> tuple[Any, int]:
        return read(), x

    assert compute(1) == compute(1) == compute.__wrapped__(1)
    reasons = " ".join(compute.specialized.uncached_reasons)
    assert reason in reasons
    assert "the call stack" in reasons


def test_a_traceback_formatted_in_an_except_block_has_no_frame_of_the_tracer() -> None:
    @specialize
    def failing(d: dict[str, int]) -> str:
        try:
            return str(d["missing"])
        except KeyError:
            return traceback.format_exc()

    text = failing({"a": 1})
    assert "guards" not in text and "KeyError: 'missing'" in text


def test_a_returned_stand_in_is_the_real_function() -> None:
    @specialize
    def measurer(mod: types.ModuleType) -> Any:
        return mod.getsizeof

    assert measurer(sys) is measurer(sys) is sys.getsizeof


def test_a_match_in_a_nested_function_guards_the_shape_too() -> None:
    """An inner function runs without the tracer seeing it start: its patterns still count."""

    @specialize
    def kind(x: Any) -> str:
        def inner(y: Any) -> str:
            match y:
                case {"a": _}:
                    return "mapping"
                case _:
                    return "other"

        return inner(x)

    assert kind(Obj()) == "other"
    assert kind({"a": 1}) == kind.__wrapped__({"a": 1}) == "mapping"


def test_an_identity_test_in_a_lambda_is_guarded() -> None:
    @specialize
    def is_none(x: Any) -> bool:
        return (lambda v: v is None)(x)

    assert is_none(Obj()) is False
    assert is_none(None) is True


def test_a_warning_is_attributed_to_the_users_line() -> None:
    @specialize
    def checked(x: int) -> int:
        warnings.warn("careful", UserWarning, stacklevel=1)
        return x

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert checked(1) == 1
    assert [w.filename for w in seen] == [__file__]
