"""Faults the differential fuzzer found, each shrunk by hand to the lines that matter.

Each test writes a tiny module, specializes its ``f``, and after every change of
state demands that a call of the specialized ``f`` equals a plain call (value
with exact types, or exception type and message), as ``test_fuzz_specialize``
does.  One test per fault; the docstring says the behaviour.
"""

from __future__ import annotations

import collections
import textwrap
from collections.abc import Callable
from typing import Any

import pytest
from fuzz_programs import outcome, same_outcome

import guards

# Uncached runs warn once per reason; the faults here provoke them on purpose.
pytestmark = pytest.mark.usefixtures("quiet_recompiles")


def program(source: str) -> dict[str, Any]:
    """The namespace of a fresh module running ``source``."""
    namespace: dict[str, Any] = {"__name__": "guards_fuzz_regression"}
    exec(compile(textwrap.dedent(source), "<regression>", "exec", dont_inherit=True), namespace)
    return namespace


def agree(f: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[str, Any]:
    """Call the specialized ``f`` and the plain one; they must give the same outcome."""
    got = outcome(f, *args, **kwargs)
    expected = outcome(f.__wrapped__, *args, **kwargs)  # type: ignore[attr-defined]
    assert same_outcome(got, expected), f"specialized gave {got!r}, plain gave {expected!r}"
    return got


# ------------------------------------------------------------- user code behind wrappers

def agree_as_g_changes(ns: dict[str, Any]) -> None:
    """``ns["f"]`` specialized agrees with the plain call as the global ``G`` changes,
    then goes (a NameError, as in a plain call)."""
    f = guards.specialize(ns["f"])
    agree(f)
    ns["G"] = 5
    agree(f)
    del ns["G"]
    agree(f)

def test_partial_of_a_function_reading_a_global_sees_the_global_change() -> None:
    """A call through functools.partial is traced: the global its function reads is guarded."""
    ns = program("""
        import functools
        G = 1
        def h(x, y):
            return G + x + y
        PH = functools.partial(h, y=1)
        def f():
            return PH(0)
    """)
    agree_as_g_changes(ns)


def test_singledispatch_implementation_reading_a_global_sees_the_global_change() -> None:
    """A call through functools.singledispatch is traced into the registered implementation."""
    ns = program("""
        import functools
        G = 4
        @functools.singledispatch
        def sd(x):
            return 0
        @sd.register
        def _(x: int):
            return x + G
        def f(k):
            return sd(k)
    """)
    f = guards.specialize(ns["f"])
    agree(f, 1)
    ns["G"] = 5
    agree(f, 1)
    del ns["G"]
    agree(f, 1)  # NameError, as in a plain call


def test_contextmanager_generator_reading_a_global_sees_the_global_change() -> None:
    """``with ctx(x) as v`` runs the user generator behind contextlib: its reads are guarded."""
    ns = program("""
        import contextlib
        G = 1
        @contextlib.contextmanager
        def ctx(x):
            yield x + G
        def f():
            with ctx(1) as v:
                return v
    """)
    f = guards.specialize(ns["f"])
    agree(f)
    ns["G"] = 5
    agree(f)


def test_enum_method_reading_a_global_sees_the_global_change() -> None:
    """A method of an enum member is user code: the global it reads is guarded."""
    ns = program("""
        import enum
        G = 1
        class Color(enum.Enum):
            RED = 1
            def weight(self):
                return self.value * G
        def f():
            return Color(1).weight()
    """)
    f = guards.specialize(ns["f"])
    agree(f)
    ns["G"] = 5
    agree(f)


def test_with_statement_on_a_class_reading_a_global_sees_the_global_change() -> None:
    """``with Ctx(x) as v`` runs ``Ctx.__enter__``, user code the interpreter calls: traced."""
    ns = program("""
        G = 1
        class Ctx:
            def __init__(self, x):
                self.x = x
            def __enter__(self):
                return self.x + G
            def __exit__(self, *exc):
                return False
        def f():
            with Ctx(1) as v:
                return v
    """)
    agree_as_g_changes(ns)


# ------------------------------------------------------------------- methods through classes
def test_method_of_an_instance_made_inside_the_call_sees_the_global_it_reads() -> None:
    """``Sub(k).cm(k)``: a method of an instance the call created is traced, its reads guarded."""
    ns = program("""
        G = 5
        class Box:
            def __init__(self, n):
                self.n = n
            def cm(self, x):
                return x + G
        class Sub(Box):
            pass
        def f(k):
            return Sub(k).cm(k)
    """)
    f = guards.specialize(ns["f"])
    agree(f, 1)
    ns["G"] = 0
    agree(f, 1)


@pytest.mark.parametrize(
    "call", ["Box.sm(k)", "Box.cm(k)", "Box.plain(k)", "Box.m(Box(), k)", "Box().cm(k)"]
)
def test_function_reached_through_a_class_sees_the_global_it_reads(call: str) -> None:
    """Static, class and plain functions and methods called through a class are traced."""
    ns = program(f"""
        G = 1
        class Box:
            def m(self, x):
                return x + G
            @classmethod
            def cm(cls, x):
                return x + G
            @staticmethod
            def sm(x):
                return x + G
            def plain(x):
                return x + G
        def f(k):
            return {call}
    """)
    f = guards.specialize(ns["f"])
    agree(f, 1)
    ns["G"] = 5
    agree(f, 1)


# ------------------------------------------------------------------------ class attributes
def test_class_attribute_inherited_through_a_subclass_sees_its_list_grow() -> None:
    """``Sub.CL`` read through the class is guarded, even when the list lives on the base."""
    ns = program("""
        class Box:
            CL = []
        class Sub(Box):
            pass
        def f():
            return Sub.CL
    """)
    f = guards.specialize(ns["f"])
    agree(f)
    ns["Box"].CL.append(1)
    agree(f)


def test_class_attribute_read_through_a_new_instance_sees_the_class_change() -> None:
    """``Box(0).SCALE`` on an instance made inside the call reads the class: guarded."""
    ns = program("""
        class Box:
            SCALE = 1
            def __init__(self, n):
                self.n = n
        def f():
            return Box(0).SCALE
    """)
    f = guards.specialize(ns["f"])
    agree(f)
    ns["Box"].SCALE = 7
    agree(f)


# --------------------------------------------------------------------------------- globals
def test_a_global_that_shadows_a_builtin_after_a_call_is_used() -> None:
    """A module global named like a builtin, bound after the first call, is what ``len`` means."""
    ns = program("""
        def f(xs):
            return len(xs)
    """)
    f = guards.specialize(ns["f"])
    agree(f, [1, 2])
    ns["len"] = lambda obj: 99
    agree(f, [1, 2])
    del ns["len"]
    agree(f, [1, 2])


# --------------------------------------------------------------------------- introspection
def test_dir_of_an_argument_sees_a_new_attribute() -> None:
    """``'zz' in dir(b)`` is guarded: adding the attribute later is a miss, not a stale hit."""
    ns = program("""
        class Box:
            pass
        def f(b):
            return 'zz' in dir(b)
    """)
    f = guards.specialize(ns["f"])
    b = ns["Box"]()
    agree(f, b)
    b.zz = 1
    agree(f, b)


# ---------------------------------------------------------------------------- outside world
def test_os_getenv_sees_the_environment_change(monkeypatch: pytest.MonkeyPatch) -> None:
    """``os.getenv`` reads the environment: a later change is not answered from the cache."""
    monkeypatch.delenv("GUARDS_FUZZ_VAR", raising=False)
    ns = program("""
        import os
        def f():
            return '{}/{}'.format(0, os.getenv('GUARDS_FUZZ_VAR'))
    """)
    f = guards.specialize(ns["f"])
    agree(f)
    monkeypatch.setenv("GUARDS_FUZZ_VAR", "x")
    agree(f)


# ----------------------------------------------------------------------------------- match
def test_match_mapping_pattern_matches_a_dict_read_through_an_attribute() -> None:
    """``case {'b': x}`` matches a dict the function reached through an attribute."""
    ns = program("""
        class Box:
            def __init__(self, opts):
                self.opts = opts
        def f(b):
            match b.opts:
                case {'b': x}:
                    return x
                case _:
                    return 0
    """)
    f = guards.specialize(ns["f"])
    b = ns["Box"]({"b": 2})
    agree(f, b)
    b.opts["b"] = 3
    agree(f, b)


def test_match_sequence_pattern_matches_a_list_argument() -> None:
    """``case [first, *rest]`` matches a list argument as it does in a plain call."""
    ns = program("""
        def f(xs):
            match xs:
                case [first, *rest]:
                    return first + len(rest)
                case _:
                    return -1
    """)
    f = guards.specialize(ns["f"])
    xs = [3, 4]
    agree(f, xs)
    xs.append(5)
    agree(f, xs)


# ------------------------------------------------------------------------ returned iterators
@pytest.mark.parametrize(
    "expression", ["iter(xs)", "enumerate(xs)", "map(abs, xs)", "(v + 1 for v in xs)"]
)
def test_a_returned_lazy_iterator_sees_later_appends(expression: str) -> None:
    """An iterator over an argument, returned unconsumed, reads the list when consumed."""
    ns = program(f"""
        def f(xs):
            return {expression}
    """)
    f = guards.specialize(ns["f"])
    xs = [1, -2]
    fast, plain = f(xs), ns["f"](xs)
    assert type(fast) is type(plain)
    xs.append(5)
    assert list(fast) == list(plain) == list(ns["f"](xs))


@pytest.mark.parametrize("expression", ["iter(d)", "iter(d.items())", "iter(d.values())"])
def test_a_returned_dict_iterator_is_a_dict_iterator(expression: str) -> None:
    """An iterator over a dict argument keeps its type, and fails as it should after a resize."""
    ns = program(f"""
        def f(d):
            return {expression}
    """)
    f = guards.specialize(ns["f"])
    d = {"a": 1}
    fast, plain = f(d), ns["f"](d)
    assert type(fast) is type(plain)
    d["b"] = 2
    assert same_outcome(outcome(list, fast), outcome(list, plain))


# ------------------------------------------------------------------------------ precision
def test_dict_of_a_dict_subclass_is_cached_and_its_reasons_name_no_address() -> None:
    """``dict(d)`` on an OrderedDict or dict subclass caches; a reason never shows an address."""
    ns = program("""
        import collections
        class Defaults(dict):
            pass
        def f(d):
            return dict(d)
    """)
    for d in (ns["Defaults"](a=1), ns["collections"].OrderedDict(a=1)):
        f = guards.specialize(ns["f"])
        agree(f, d)
        agree(f, d)
        info = f.cache.info()
        assert (info.hits, info.uncached) == (1, 0), f.specialized.uncached_reasons
        assert not any("0x" in reason for reason in f.specialized.uncached_reasons)


def test_a_dict_compared_with_a_tracked_counter_is_compared_as_a_dict() -> None:
    """``dict(G) == d`` for a Counter ``d``: Counter.__eq__ declines a plain dict, and
    dict.__eq__ must then get the real Counter, not the proxy (it was False, plain True)."""
    table: dict[str, int] = {}

    def same(d: Any) -> Any:
        return dict(table) == d, d == dict(table), d != dict(table)

    fast = guards.specialize(same)
    for d in (collections.Counter(), collections.Counter(a=1), collections.Counter()):
        assert fast(d) == same(d)
