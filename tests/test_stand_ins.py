"""A specialized function cannot tell the tracer's stand-ins from what they stand for.

While ``@specialize`` traces a call, the function gets stand-ins for some builtins
(``len``, ``type``, ``isinstance``...: ``guards.specialization.tracer.STAND_INS``)
and library functions (``operator.is_``, ``sys.getsizeof``, ``inspect.stack``...:
``guards.specialization.polyfills.POLYFILLS``).  Whatever the function asks of one
(its name, repr, equality, hash, type, identity with the same function read another
way) must give what a plain call gives, on the traced call and on a hit.  The
tables are parametrized over, so a new stand-in is covered as it is added.
"""

from __future__ import annotations

import builtins
import copy
import functools
import operator
import pickle
import sys
import types
from collections.abc import Callable
from typing import Any

import pytest

import guards
from guards.specialization.polyfills import POLYFILLS
from guards.specialization.tracer import STAND_INS


def _home(real: Any) -> str:
    """The module a user reaches ``real`` through (``operator``, not ``_operator``)."""
    for name in (real.__module__.lstrip("_"), real.__module__):
        if getattr(sys.modules.get(name), real.__name__, None) is real:
            return name
    msg = f"no module holds {real!r}"
    raise LookupError(msg)


#: (module, attribute, how the function reads it), for every stand-in.
TARGETS = [("builtins", name, name) for name in STAND_INS] + [
    (_home(real), real.__name__, f"m.{real.__name__}") for real in POLYFILLS
]

#: What a function may ask of a function: ``fn`` is the one it reads, ``REAL`` the same
#: function read as a global, ``m`` its module, ``TABLE`` a dict keyed by it.
PROBES = {
    "attributes": "(fn.__name__, fn.__qualname__, fn.__module__, fn.__doc__,"
                  " getattr(fn, '__text_signature__', None), hasattr(fn, '__wrapped__'),"
                  " getattr(getattr(fn, '__self__', None), '__name__', None))",
    "text": "(repr(fn), str(fn), format(fn), f'{fn!r:>5}')",
    "equality": "(fn == REAL, REAL == fn, fn != REAL, REAL != fn, hash(fn) == hash(REAL),"
                " TABLE.get(fn, 'missing'), TABLE[REAL], len({fn: 1, REAL: 2}),"
                " fn in (abs, REAL), fn in [REAL], fn in {REAL}, fn in TABLE,"
                " [key == fn for key in TABLE])",
    "type": "(type(fn), fn.__class__, type(fn) is type(REAL), callable(fn),"
            " isinstance(fn, types.BuiltinFunctionType), isinstance(fn, types.FunctionType),"
            " isinstance(fn, type), issubclass(type(fn), type), type(type(fn)))",
    "identity": "(fn is REAL, fn is getattr(m, ATTR), fn is vars(m)[ATTR],"
                " fn is m.__dict__[ATTR], fn is sys.modules[MODULE].__dict__[ATTR],"
                " id(fn) == id(REAL), operator.is_(fn, REAL), [key is fn for key in TABLE],"
                " getattr(fn, '__self__', None) is m)",
}

_SOURCE = """
def probe(x):
    import operator, sys, types
    import {module} as m
    fn = {access}
    return {expression}
"""


def _probe(module: str, attr: str, access: str, expression: str) -> Callable[[int], Any]:
    real = getattr(sys.modules[module], attr)
    namespace: dict[str, Any] = {
        "REAL": real, "TABLE": {real: "found", "other": 1}, "ATTR": attr, "MODULE": module,
    }
    exec(_SOURCE.format(module=module, access=access, expression=expression), namespace)
    return namespace["probe"]  # type: ignore[no-any-return]


def _same(got: Any, expected: Any) -> bool:
    """Equal, and of the same types, item by item in tuples and lists."""
    if type(got) is not type(expected):
        return False
    if type(got) in (tuple, list):
        return len(got) == len(expected) and all(map(_same, got, expected))
    return bool(got == expected)


@pytest.mark.parametrize("expression", PROBES.values(), ids=list(PROBES))
@pytest.mark.parametrize(("module", "attr", "access"), TARGETS,
                         ids=[f"{m}.{a}" for m, a, _ in TARGETS])
def test_a_stand_in_answers_as_what_it_stands_for(
    module: str, attr: str, access: str, expression: str
) -> None:
    """Each stand-in, asked anything, answers as the real function, traced and on a hit."""
    expected = _probe(module, attr, access, expression)(0)
    specialized = guards.specialize(_probe(module, attr, access, expression))
    for _ in range(2):
        got = specialized(0)
        assert _same(got, expected), (got, expected)
    assert specialized.cache.info().hits == 1


def test_builtins_read_every_way_are_one_object() -> None:
    """``len`` is ``builtins.len`` however the function reaches either (the brief's cases)."""
    names = {len: "size", abs: "abs"}

    @guards.specialize
    def reach(x: int) -> Any:
        import builtins as b
        return (
            len.__name__, repr(len), len == builtins.len, names.get(len, "?"),
            [fn.__name__ for fn in (len, sum) if fn in names],
            len is builtins.len, b.len is len, getattr(b, "len") is len,  # noqa: B009
            vars(b)["len"] is len, len.__self__ is b, len.__self__.len is len,
            type(len) is type(abs), type(type) is type, isinstance(len, types.BuiltinFunctionType),
        )

    expected = reach.__wrapped__(0)
    assert reach(0) == expected
    assert reach(0) == expected
    assert reach.cache.info().hits == 1


def test_a_builtin_handed_in_is_the_one_the_function_reads() -> None:
    """An argument, a default, a dict's keys or a set's items that are ``len`` are ``len``;
    another function there is a miss (guarded by identity)."""
    table = {len: "size", "x": 1}
    fns = frozenset({len})

    @guards.specialize
    def same(fn: Any, default: Any = len) -> Any:
        return (fn is len, fn == len, default is len, [k is len for k in table],
                [f is len for f in fns])

    assert same(len) == (True, True, True, [True, False], [True])
    assert same(len) == (True, True, True, [True, False], [True])
    assert same(sum) == (False, False, True, [True, False], [True])
    info = same.cache.info()
    assert (info.hits, info.misses) == (1, 2)


def test_results_hold_the_real_builtins() -> None:
    """A stand-in the function returns, or puts in what it returns, is the real function."""

    @guards.specialize
    def give(x: int) -> Any:
        return len, [type, operator.is_], {"check": isinstance, len: sys.getsizeof}

    for _ in range(2):
        fn, pair, table = give(0)
        assert fn is builtins.len
        assert pair[0] is builtins.type and pair[1] is operator.is_
        assert table["check"] is builtins.isinstance
        assert table[builtins.len] is sys.getsizeof
        assert all(type(key) in (str, types.BuiltinFunctionType) for key in table)
    assert give.cache.info().hits == 1


def test_an_object_made_around_a_stand_in_holds_the_real_function() -> None:
    """A result that C code made to hold a stand-in (a partial) cannot be rewritten: the
    caller gets a plain run's, which holds the function itself."""

    @guards.specialize
    def bind(x: int) -> Any:
        return functools.partial(len), functools.partial(isinstance, x)

    for _ in range(2):
        measure, check = bind(1)
        assert measure.func is builtins.len and measure([1, 2]) == 2
        assert check.func is builtins.isinstance and check(int) is True


def test_stand_ins_work_where_library_code_calls_them() -> None:
    """``map``, ``sorted``, ``functools.reduce``, pickling and copying take a stand-in as
    they take the function."""

    @guards.specialize
    def use(rows: list[list[int]]) -> Any:
        return (
            list(map(len, rows)), sorted(rows, key=len), functools.reduce(max, map(len, rows)),
            pickle.dumps(len), pickle.dumps([len, type, operator.is_]),
            copy.copy(len) is len, copy.deepcopy([len])[0] is len, copy.copy(type) is type,
            copy.deepcopy({type: [id]}) == {type: [id]},
        )

    rows = [[1, 2, 3], [1], [1, 2]]
    expected = use.__wrapped__(rows)
    assert use(rows) == expected
    assert use(rows) == expected
    assert use.cache.info().hits == 1


def test_type_as_a_base_a_metaclass_and_in_annotations() -> None:
    """``type`` in a class statement, in ``type(name, bases, ns)``, subscripted, in a union
    and in ``isinstance``/``issubclass`` is the real class."""

    @guards.specialize
    def build(x: Any) -> Any:
        class Meta(type):
            def __new__(mcs, name: str, bases: tuple[type, ...], ns: dict[str, Any]) -> Any:
                ns["tag"] = name.lower()
                return super().__new__(mcs, name, bases, ns)

        class Tagged(metaclass=Meta):
            pass

        made = type("Made", (type,), {})
        return (
            Tagged.tag, type(Tagged) is Meta, isinstance(Tagged, type), issubclass(Meta, type),
            issubclass(made, type), made.__name__, type[int] == builtins.type[int],
            str(type | None), isinstance(x, (int, type)), isinstance(int, type | None),
            type.__name__, type.mro(bool)[-1] is object, type(int) is type,
        )

    expected = build.__wrapped__(3)
    assert build(3) == expected
    assert build(3) == expected


def test_errors_name_the_builtins_type() -> None:
    """An operation a builtin does not support raises the error, and message, it raises."""

    @guards.specialize
    def fail(x: int) -> Any:
        found = []
        for attempt in (lambda: len + x, lambda: len < x, lambda: setattr(len, "y", x),
                        lambda: iter(type), lambda: x in type, lambda: len[x]):
            try:
                attempt()
            except (TypeError, AttributeError) as exc:
                found.append((type(exc).__name__, str(exc)))
        return found

    expected = fail.__wrapped__(1)
    assert len(expected) == 6
    assert fail(1) == expected


def test_identity_with_a_builtin_a_class_holds_is_run_plainly() -> None:
    """A class handed over as itself shows its attributes as they are: ``cls.key is len``
    would see the real ``len``, so a function that tests identity then runs uncached."""

    class Config:
        key = len

    @guards.specialize
    def keyed_by_len(cls: type[Config]) -> bool:
        return cls.key is len

    assert keyed_by_len(Config) is True
    assert keyed_by_len(Config) is True
    info = keyed_by_len.cache.info()
    assert (info.hits, info.uncached) == (0, 2)
    [reason] = keyed_by_len.specialized.uncached_reasons
    assert "tests identity" in reason and "key" in reason
