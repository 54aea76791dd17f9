"""Differential fuzzing of ``@specialize``: generated programs, scripts, and the world they run in.

A *program* is the source text of a small module drawn from a typed grammar.
Its skeleton is fixed, so one script of mutations fits every program: globals
``G_*``; values of library types whose user code reads globals (a namedtuple,
a dataclass, a ``SimpleNamespace``, a ``__slots__`` object, a Python mapping,
an enum with methods, a ``singledispatch`` function, context managers); a
class ``Box`` with class attributes, two methods, a property, a static and a
class method; a subclass ``Sub`` overriding one of them; two helper functions
(one also behind ``functools.partial``); a closure whose cell a setter
rebinds; and the function under test ``f(b, xs, d, k=..., *, flag=...,
sentinel=MISSING)``.  What varies is every *body*: typed expressions
(attribute, item and global reads, comparisons, arithmetic, f-strings,
``is None`` tests, ``len``/``sorted``/``sum``/``min``/``max``, ``dict.get``,
``in``, calls, containers) and statements (``if``/``else``, ``for`` over lists
and dicts, ``try``/``except``, ``raise``, ``match``, ``with``, ``while``,
nested closures, local containers).

Bodies only call what comes before them in :data:`CALL_ORDER`, so no program
recurses, and they never write to anything they did not create, so the only
changes of state are the script's.

A *script* is a list of steps ``(op, value)``: a call, or one of
:data:`MUTATIONS` (set an attribute, set or delete a dict key, append to a list,
rebind or delete a global, change a class attribute or method, change a
default, rebind a closure cell, shadow a builtin, pass an equal copy...).

:class:`World` runs a program and a script: at every call it calls the
specialized and the plain function on the same state and demands the same
outcome (:func:`same_outcome`), and that the specialized call changed nothing.
"""

from __future__ import annotations

import collections
import copy
import functools
import itertools
import math
import os
import re
import types
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from hypothesis import strategies as st

import guards

# ------------------------------------------------------------------------------ grammar
T = TypeVar("T")

#: Callables in the order bodies may call them: a body calls only what comes before it.
CALL_ORDER = ("h0", "h1", "m0", "sub_m0", "m1", "p", "sm", "cm", "cellf", "f")

#: Types a local variable or a returned value may have.  ``list`` is a list of ints,
#: ``dict`` maps str keys to ints, ``opt`` is an int or None, ``box`` a Box (or Sub)
#: instance.  Expressions also have the types ``key`` (a str key), ``cls`` (Box or
#: Sub) and ``sentinel``.
VALUE_TYPES = ("int", "str", "bool", "list", "dict", "opt", "float", "box")

KEYS = ("a", "b", "c")
STRS = ("", "a", "b", "ab", "7")
ATTR_NAMES = ("n", "zz", "tag", "SCALE")
FORMAT_SPECS = {
    "int": ("", ":>3", "!r", ":03d"), "str": ("", "!r", ":>3"), "float": ("", ":.2f", "!r"),
}
GLOBALS: dict[str, tuple[str, ...]] = {
    "int": ("G_INT",), "str": ("G_STR",), "bool": ("G_FLAG",), "list": ("G_LIST",),
    "dict": ("G_DICT",), "opt": ("G_OPT",), "box": ("G_BOX",), "float": ("G_FLOAT",),
}
#: Exceptions a generated ``try`` catches: the ones its risky reads may raise.
#: ``Exception`` too, which would also catch anything the tracer raised into user code.
CAUGHT = ("(KeyError, IndexError, AttributeError, TypeError, ValueError)",
          "(KeyError, NameError)", "Exception")


class Scope:
    """Names visible in a body, with their types, and the callables it may call."""

    def __init__(
        self, names: dict[str, str], calls: frozenset[str], local_fns: tuple[str, ...] = ()
    ) -> None:
        self.names = names
        self.calls = calls
        self.local_fns = local_fns

    def with_name(self, name: str, ty: str) -> Scope:
        return Scope({**self.names, name: ty}, self.calls, self.local_fns)

    def with_fn(self, name: str) -> Scope:
        return Scope(self.names, self.calls, (*self.local_fns, name))

    def of_type(self, ty: str) -> list[str]:
        found = [n for n, t in self.names.items() if t == ty]
        if ty == "str":
            found += [n for n, t in self.names.items() if t == "key"]
        return found


#: What a statement writer gives: its lines, and the scope after them.
Emitted = tuple[list[str], Scope]


def callable_before(name: str) -> frozenset[str]:
    """What the body of ``name`` may call (everything before it in CALL_ORDER)."""
    return frozenset(CALL_ORDER[: CALL_ORDER.index(name)])


class Writer:
    """Draws the text of typed expressions and statements for one program.

    Every choice is an index drawn with ``st.integers`` whose first option is
    the simplest, so Hypothesis shrinks expressions towards literals and
    bodies towards ``return 0``.
    """

    def __init__(self, draw: st.DrawFn, max_depth: int = 3) -> None:
        self.draw = draw
        self.max_depth = max_depth
        self.counter = itertools.count()
        self.in_fstring = False

    def fresh(self, prefix: str) -> str:
        return f"{prefix}{next(self.counter)}"

    def pick(self, options: Sequence[T]) -> T:
        """One of ``options``; shrinks towards the first."""
        return options[self.draw(st.integers(0, len(options) - 1))]

    def choose(self, *makers: Callable[[], str]) -> str:
        """The text of one of ``makers``: only the chosen one draws its sub-expressions."""
        return self.pick(makers)()

    def sub(self, scope: Scope, depth: int) -> Callable[[str], str]:
        """``x(ty)``: a sub-expression of type ``ty`` in ``scope`` (``depth`` levels left)."""
        return lambda ty: self.expr(ty, scope, depth)

    # -------------------------------------------------------------------- expressions
    def expr(self, ty: str, scope: Scope, depth: int | None = None) -> str:
        """An expression of type ``ty`` in ``scope``, at most ``depth`` levels deep."""
        if depth is None:
            depth = self.max_depth
        rules: list[Callable[[Scope, int], str]] = [getattr(self, f"leaf_{ty}")]
        if depth > 0:
            rules += [getattr(self, name) for name in COMPOSITES[ty]]
            if ty == "int":
                rules += [self.call_int]
        text: str = self.pick(rules)(scope, depth - 1)
        return text

    def name_or(self, ty: str, scope: Scope, literal: str) -> str:
        return self.pick([literal, *scope.of_type(ty), *GLOBALS.get(ty, ())])

    def leaf_int(self, scope: Scope, depth: int) -> str:
        return self.name_or("int", scope, str(self.draw(st.integers(-2, 5))))

    def leaf_str(self, scope: Scope, depth: int) -> str:
        return self.name_or("str", scope, repr(self.pick(STRS)))

    def leaf_key(self, scope: Scope, depth: int) -> str:
        return self.pick([repr(self.pick(KEYS)), *scope.of_type("key")])

    def leaf_bool(self, scope: Scope, depth: int) -> str:
        return self.name_or("bool", scope, self.pick(["True", "False"]))

    def leaf_list(self, scope: Scope, depth: int) -> str:
        return self.name_or("list", scope, "[]")

    def leaf_dict(self, scope: Scope, depth: int) -> str:
        return self.name_or("dict", scope, "{}")

    def leaf_opt(self, scope: Scope, depth: int) -> str:
        return self.name_or("opt", scope, "None")

    def leaf_box(self, scope: Scope, depth: int) -> str:
        return self.pick([*scope.of_type("box"), "G_BOX"])

    def leaf_cls(self, scope: Scope, depth: int) -> str:
        return self.pick(["Box", "Sub", *scope.of_type("cls")])

    def leaf_float(self, scope: Scope, depth: int) -> str:
        return self.name_or("float", scope, self.pick(["0.5", "-0.0", "1.5", "0.0"]))

    def leaf_sentinel(self, scope: Scope, depth: int) -> str:
        return self.pick([*scope.of_type("sentinel"), "MISSING"])

    # ints
    def int_attr(self, s: Scope, d: int) -> str:
        x = self.sub(s, d)
        return self.choose(lambda: f"{x('box')}.n", lambda: f"{x('box')}.SCALE")

    def int_class_attr(self, s: Scope, d: int) -> str:
        x = self.sub(s, d)
        return self.choose(
            lambda: f"{x('cls')}.SCALE", lambda: f"len({x('cls')}.CL)",
            lambda: f"sum({x('cls')}.CL)",
        )

    def int_len(self, s: Scope, d: int) -> str:
        x = self.sub(s, d)
        return self.choose(
            lambda: f"len({x('list')})", lambda: f"len({x('dict')})", lambda: f"len({x('str')})",
        )

    def int_aggregate(self, s: Scope, d: int) -> str:
        x = self.sub(s, d)
        return self.choose(
            lambda: f"sum({x('list')})",
            lambda: f"min({x('list')}, default={x('int')})",
            lambda: f"max({x('list')}, default={x('int')})",
            lambda: f"sum({x('dict')}.values())",
            lambda: f"sum(1 for v in {x('list')} if v > {x('int')})",
            lambda: f"next(iter({x('list')}), {x('int')})",
        )

    def int_arith(self, s: Scope, d: int) -> str:
        x = self.sub(s, d)
        return self.choose(
            lambda: f"({x('int')} + {x('int')})",
            lambda: f"({x('int')} - {x('int')})",
            lambda: f"({x('int')} * {x('int')})",
            lambda: f"({x('int')} // ({x('int')} % 3 + 1))",
            lambda: f"abs({x('int')})",
            lambda: f"({x('int')} % 4)",
        )

    def int_item(self, s: Scope, d: int) -> str:
        x = self.sub(s, d)
        return self.choose(
            lambda: f"{x('dict')}.get({x('key')}, {x('int')})",
            lambda: f"{x('dict')}[{x('key')}]",
            lambda: f"{x('list')}[{self.draw(st.integers(-1, 2))}]",
        )

    def int_if(self, s: Scope, d: int) -> str:
        x = self.sub(s, d)
        return f"({x('int')} if {x('bool')} else {x('int')})"

    def int_opt(self, s: Scope, d: int) -> str:
        x = self.sub(s, d)
        o = x("opt")
        return self.choose(
            lambda: f"({o} if {o} is not None else {x('int')})",
            lambda: f"({o} or {x('int')})",
        )

    def int_child(self, s: Scope, d: int) -> str:
        x = self.sub(s, d)
        b = x("box")
        return f"({b}.child.n if {b}.child is not None else {x('int')})"

    def int_introspect(self, s: Scope, d: int) -> str:
        x = self.sub(s, d)
        return self.choose(
            lambda: f"getattr({x('box')}, {self.pick(ATTR_NAMES)!r}, {x('int')})",
            lambda: f"len(vars({x('box')}))",
            lambda: f"len({x('str')}.split('a'))",
            lambda: f"{x('list')}.count({x('int')})",
            lambda: f"int({x('float')})",
            lambda: f"round({x('float')})",
        )

    def int_struct(self, s: Scope, d: int) -> str:
        """Reads of a namedtuple, a dataclass, a SimpleNamespace, a __slots__ object, an enum."""
        x = self.sub(s, d)
        return self.choose(
            lambda: "G_PT.x", lambda: "G_PT[1]", lambda: "sum(G_PT)", lambda: "G_PAIR.a",
            lambda: "len(G_PAIR.b)", lambda: "dataclasses.astuple(G_PAIR)[0]",
            lambda: "NS.level", lambda: "G_SLOT.v", lambda: "Color.RED.value",
            lambda: f"Color({x('int')} % 2 + 1).weight()",
            lambda: f"sd({x('int')})", lambda: f"sd({x('str')})",
            lambda: f"getattr(h0, 'weight', {x('int')})",
            lambda: f"len({{{x('box')}: 1, {x('box')}: 2}})",
            lambda: f"{{G_BOX: 1}}.get({x('box')}, {x('int')})",
            lambda: "len(G_TABLE)",
            lambda: f"G_TABLE.get({x('key')}, {x('int')})",
        )

    def call_int(self, s: Scope, d: int) -> str:
        x = self.sub(s, d)
        options: list[Callable[[], str]] = [
            (lambda g=g: f"{g}({x('int')})") for g in s.local_fns  # type: ignore[misc]
        ]
        table: dict[str, list[Callable[[], str]]] = {
            "h0": [lambda: f"h0({x('int')})", lambda: f"h0({x('int')}, {x('int')})"],
            "h1": [lambda: f"h1({x('int')}, y={x('int')})", lambda: f"PH({x('int')})"],
            "m0": [lambda: f"{x('box')}.m0({x('int')})", lambda: f"Box.m0({x('box')}, {x('int')})"],
            "m1": [lambda: f"{x('box')}.m1({x('int')})", lambda: f"BM({x('int')})"],
            "p": [lambda: f"{x('box')}.p"],
            "sm": [lambda: f"Box.sm({x('int')})", lambda: f"{x('box')}.sm({x('int')})"],
            "cm": [lambda: f"{x('cls')}.cm({x('int')})", lambda: f"{x('box')}.cm({x('int')})"],
            "cellf": [lambda: f"cellf({x('int')})"],
        }
        if "super" in s.names:
            # In Sub.m0, `box.m0()` may be Sub.m0 itself, on self: an endless recursion.
            table["m0"] = [lambda: f"Box.m0({x('box')}, {x('int')})"]
        for name in CALL_ORDER:
            if name in s.calls:
                options += table.get(name, [])
        if "super" in s.names:
            options.append(lambda: f"super().m0({x('int')})")
        if not options:
            return self.leaf_int(s, d)
        return self.choose(*options)

    # strings
    def str_attr(self, s: Scope, d: int) -> str:
        x = self.sub(s, d)
        return self.choose(
            lambda: f"{x('box')}.s", lambda: f"{x('cls')}.NAME",
            lambda: f"{x('box')}.NAME", lambda: f"type({x('box')}).__name__",
            lambda: "Color.BLUE.label()", lambda: f"Color({x('int')} % 2 + 1).name",
            lambda: "os.environ.get('GUARDS_FUZZ_VAR', 'a')",
            lambda: "(os.getenv('GUARDS_FUZZ_VAR') or 'b')",
        )

    def str_build(self, s: Scope, d: int) -> str:
        x = self.sub(s, d)
        return self.choose(
            lambda: f"({x('str')} + {x('str')})",
            lambda: f"str({x('int')})",
            lambda: f"{x('str')}.upper()",
            lambda: f"{x('str')}[:2]",
            lambda: f"({x('str')} if {x('bool')} else {x('str')})",
            lambda: f"({x('str')} * ({x('int')} % 3))",
        )

    def str_join(self, s: Scope, d: int) -> str:
        x = self.sub(s, d)
        return self.choose(
            lambda: f"','.join(sorted({x('dict')}))",
            lambda: f"'-'.join(str(v) for v in {x('list')})",
            lambda: f"','.join({x('dict')})",
        )

    def str_format(self, s: Scope, d: int) -> str:
        x = self.sub(s, d)
        return self.choose(
            lambda: f"'{{}}/{{}}'.format({x('int')}, {x('str')})",
            lambda: f"'%s:%d' % ({x('str')}, {x('int')})",
            lambda: f"format({x('int')}, '>3')",
            lambda: f"repr({x(self.pick(['list', 'dict', 'str']))})",
            lambda: f"str({x(self.pick(['list', 'dict', 'opt', 'float']))})",
        )

    def str_fstring(self, s: Scope, d: int) -> str:
        if self.in_fstring:  # no f-string inside an f-string (3.11 cannot nest its quotes)
            return self.leaf_str(s, d)
        self.in_fstring = True
        parts = []
        for _ in range(self.draw(st.integers(1, 3))):
            ty = self.pick(["int", "str", "list", "dict", "opt", "float", "bool"])
            spec = FORMAT_SPECS.get(ty, ("", "!r", "!s"))
            parts.append(f"{{({self.expr(ty, s, d)}){self.pick(spec)}}}")
        self.in_fstring = False
        return 'f"' + "|".join(parts) + '"'

    # bools
    def bool_compare(self, s: Scope, d: int) -> str:
        ty = self.pick(["int", "str", "list", "dict", "float"])
        ops = ("==", "!=", "<", "<=", ">") if ty in ("int", "float") else ("==", "!=")
        x = self.sub(s, d)
        return f"({x(ty)} {self.pick(ops)} {x(ty)})"

    def bool_contains(self, s: Scope, d: int) -> str:
        x = self.sub(s, d)
        return self.choose(
            lambda: f"({x('key')} in {x('dict')})",
            lambda: f"({x('int')} in {x('list')})",
            lambda: f"({x('key')} not in {x('dict')})",
            lambda: f"({x('str')} in {x('str')})",
        )

    def bool_none(self, s: Scope, d: int) -> str:
        x = self.sub(s, d)
        return self.choose(
            lambda: f"({x('opt')} is None)", lambda: f"({x('opt')} is not None)",
            lambda: f"({x('box')}.child is None)",
        )

    def bool_logic(self, s: Scope, d: int) -> str:
        x = self.sub(s, d)
        return self.choose(
            lambda: f"(not {x('bool')})",
            lambda: f"({x('bool')} and {x('bool')})",
            lambda: f"({x('bool')} or {x('bool')})",
        )

    def bool_truth(self, s: Scope, d: int) -> str:
        x = self.sub(s, d)
        return self.choose(
            lambda: f"bool({x('list')})", lambda: f"bool({x('dict')})",
            lambda: f"bool({x('str')})",
            lambda: f"any(v > {x('int')} for v in {x('list')})",
            lambda: f"all(v != {x('int')} for v in {x('list')})",
        )

    def bool_identity(self, s: Scope, d: int) -> str:
        x = self.sub(s, d)
        return self.choose(
            lambda: f"isinstance({x('box')}, Sub)",
            lambda: f"({x('box')} is {x('box')})",
            lambda: f"hasattr({x('box')}, 'zz')",
            lambda: f"(type({x('box')}) is Box)",
            lambda: f"('zz' in dir({x('box')}))",
            lambda: f"({x('key')} in G_TABLE)",
            lambda: f"({x('sentinel')} is MISSING)",
            lambda: f"({x('list')} is {x('list')})",
        )

    def bool_scalar(self, s: Scope, d: int) -> str:
        """Questions asked of a scalar: what ``specialize`` guards by their outcome only."""
        x = self.sub(s, d)
        n = self.draw(st.integers(-2, 5))
        text = repr(self.pick(STRS))
        return self.choose(
            lambda: f"({x('int')} {self.pick(('<', '<=', '>', '>=', '==', '!='))} {n})",
            lambda: f"({n} < {x('int')})",
            lambda: f"({x('float')} > {self.pick(('0.0', '1.5', '-0.0', '2'))})",
            lambda: f"({x('str')} {self.pick(('==', '!=', '<', '>='))} {text})",
            lambda: f"({x('int')} % {self.pick((2, 3, 4))} == 0)",
            lambda: f"(len({x('str')}) > 1)",
            lambda: f"(len({x('list')}) >= 2)",
            lambda: f"(len({x('dict')}) != 1)",
            lambda: f"({x('int')} // 2 > {n})",
            lambda: f"bool({x('int')} - {n})",
            lambda: f"bool(len({x('list')}) - 1)",
            lambda: f"{x('str')}.startswith({text})",
            lambda: f"{x('str')}.endswith(({text}, 'b'))",
            lambda: f"{x('str')}.isdigit()",
            lambda: f"({text} in {x('str')})",
            lambda: f"({x('str')} in {self.pick(('G_TABLE', 'G_DICT', repr('abc')))})",
            lambda: f"isinstance({x('int')}, {self.pick(('int', 'float', 'bool', '(int, str)'))})",
            lambda: f"(type({x('float')}) is float)",
            lambda: f"(not {x('int')})",
            lambda: f"bool({x('float')})",
            lambda: f"({x('int')} < {x('int')} <= {x('int')})",
            lambda: f"({x('str')} == G_STR)",
            lambda: f"(getattr(Box, {x('str')} or 'NAME', 0) == 0)",
            lambda: f"(','.join([{x('str')}, {x('str')}]) == 'a,b')",
        )

    def bool_c_scalar(self, s: Scope, d: int) -> str:
        """A scalar handed to C code that looks at it without asking it: a slot's presence
        (``math.sqrt``, ``%d``, ``callable``), a constant's own operator, formatting."""
        x = self.sub(s, d)
        return self.choose(
            lambda: f"(attempt(math.sqrt, {x('str')}) == 'refused')",
            lambda: f"(attempt(math.sqrt, abs({x('int')})) == 2.0)",
            lambda: f"(attempt(math.isnan, {x(self.pick(('str', 'float')))}) is True)",
            lambda: f"(attempt(operator.index, {x(self.pick(('str', 'float', 'int')))}) == 1)",
            lambda: f"(attempt(struct.pack, '<d', {x(self.pick(('str', 'float')))}) == b'')",
            lambda: f"(attempt(collections.defaultdict, {x(self.pick(('str', 'int')))}) == {{}})",
            lambda: f"(attempt(iter, {x('int')}, None) == 'refused')",
            lambda: f"(attempt(functools.partial, {x('str')}) == 'refused')",
            lambda: f"callable({x(self.pick(('str', 'int', 'float')))})",
            lambda: f"(attempt(int.__add__, 5, {x('int')}) == 6)",
            lambda: f"(attempt(str.__eq__, 'a', {x('str')}) is True)",
            lambda: f"(attempt(operator.contains, 'ab7', {x('str')}) is True)",
            lambda: f"(attempt(format_none, {x(self.pick(('str', 'int', 'dict')))}) == 'refused')",
            lambda: f"(attempt(operator.mod, 'x%sy', {x('str')}) == 'xay')",
            lambda: f"('%d' % {x('int')} == '1')",
            lambda: f"(attempt(lambda v: '%d' % v, {x('str')}) == 'refused')",
            lambda: f"({x('int')} + 1 == {x('int')} + 1.0)",
        )

    # lists
    def list_attr(self, s: Scope, d: int) -> str:
        x = self.sub(s, d)
        return self.choose(
            lambda: f"{x('box')}.items", lambda: f"{x('cls')}.CL", lambda: f"{x('box')}.CL",
        )

    def list_build(self, s: Scope, d: int) -> str:
        x = self.sub(s, d)
        return "[" + ", ".join(x("int") for _ in range(self.draw(st.integers(0, 3)))) + "]"

    def list_transform(self, s: Scope, d: int) -> str:
        x = self.sub(s, d)
        return self.choose(
            lambda: f"sorted({x('list')})",
            lambda: f"sorted({x('list')}, reverse=True)",
            lambda: f"{x('list')}[1:]",
            lambda: f"{x('list')}[::-1]",
            lambda: f"list(reversed({x('list')}))",
            lambda: f"sorted(set({x('list')}))",
            lambda: f"list(set({x('list')}))",
            lambda: f"({x('list')} + {x('list')})",
            lambda: f"sorted({x('list')}, key=lambda v: (abs(v - {x('int')}), v))",
            lambda: f"list(map(abs, {x('list')}))",
        )

    def list_comprehension(self, s: Scope, d: int) -> str:
        x = self.sub(s, d)
        v = self.fresh("v")
        y = self.sub(s.with_name(v, "int"), d)
        return self.choose(
            lambda: f"[{y('int')} for {v} in {x('list')}]",
            lambda: f"[{v} for {v} in {x('list')} if {y('bool')}]",
            lambda: f"list({x('dict')}.values())",
            lambda: f"[i for i, {v} in enumerate({x('list')}) if {v}]",
            lambda: f"list(range({x('int')} % 4))",
        )

    # dicts
    def dict_attr(self, s: Scope, d: int) -> str:
        return f"{self.expr('box', s, d)}.opts"

    def dict_build(self, s: Scope, d: int) -> str:
        x = self.sub(s, d)
        k = self.fresh("k")
        y = self.sub(s.with_name(k, "key"), d)
        return self.choose(
            lambda: f"{{{x('key')}: {x('int')}}}",
            lambda: f"dict({x('dict')})",
            lambda: f"{{{k}: w + {x('int')} for {k}, w in {x('dict')}.items()}}",
            lambda: f"{{**{x('dict')}, {x('key')}: {x('int')}}}",
            lambda: f"{{{k}: w for {k}, w in {x('dict')}.items() if {y('bool')}}}",
            lambda: f"dict(sorted({x('dict')}.items()))",
            lambda: f"({x('dict')} | {x('dict')})",
            lambda: f"{{str(v): v for v in {x('list')}}}",
        )

    # optional ints
    def opt_read(self, s: Scope, d: int) -> str:
        x = self.sub(s, d)
        return self.choose(
            lambda: f"{x('box')}.tag",
            lambda: f"{x('dict')}.get({x('key')})",
            lambda: f"({x('int')} if {x('bool')} else None)",
            lambda: f"next((v for v in {x('list')} if v > {x('int')}), None)",
        )

    # boxes and classes
    def box_child(self, s: Scope, d: int) -> str:
        b = self.expr("box", s, d)
        return f"({b}.child if {b}.child is not None else {b})"

    def box_new(self, s: Scope, d: int) -> str:
        x = self.sub(s, d)
        return f"{self.pick(['Box', 'Sub'])}({x('int')}, {x('str')}, {x('list')}, {x('dict')})"

    def box_if(self, s: Scope, d: int) -> str:
        x = self.sub(s, d)
        return f"({x('box')} if {x('bool')} else {x('box')})"

    def cls_type(self, s: Scope, d: int) -> str:
        return f"type({self.expr('box', s, d)})"

    # floats
    def float_arith(self, s: Scope, d: int) -> str:
        x = self.sub(s, d)
        return self.choose(
            lambda: f"({x('int')} / 2)",
            lambda: f"float({x('int')})",
            lambda: f"({x('float')} * {x('int')})",
            lambda: f"round({x('float')}, 1)",
            lambda: f"({x('float')} + {x('float')})",
            lambda: f"min({x('float')}, {x('float')})",
            lambda: f"next(iter({{{x('float')}, {x('float')}}}))",
        )

    # ---------------------------------------------------------------------- statements
    def body(
        self, scope: Scope, returns: str, indent: str, max_statements: int = 4, nested: int = 0
    ) -> list[str]:
        """Lines of a function body that ends by returning a value of type ``returns``.

        ``nested`` counts enclosing generated functions: a nested one gets only
        simple statements, so bodies stay small.
        """
        lines: list[str] = []
        for _ in range(self.draw(st.integers(0, max_statements))):
            more, scope = self.statement(scope, returns, indent, nested)
            lines += more
        lines.append(f"{indent}return {self.returned(returns, scope)}")
        return lines

    def returned(self, returns: str, scope: Scope) -> str:
        if returns != "any":
            return self.expr(returns, scope)
        shape = self.pick(["one", "locals", "tuple", "dict", "fstring", "closure", "iterator"])
        if shape == "one":
            return self.expr(self.pick(VALUE_TYPES), scope)
        if shape == "locals":  # every value the body computed reaches the caller
            names = [n for n in scope.names if re.fullmatch(r"v\d+", n)]
            return "(" + "".join(f"{n}, " for n in names) + f"{self.expr('int', scope)})"
        if shape == "tuple":
            n = self.draw(st.integers(2, 3))
            return "(" + ", ".join(self.expr(self.pick(VALUE_TYPES), scope) for _ in range(n)) + ")"
        if shape == "dict":
            return "{" + ", ".join(
                f"{key!r}: {self.expr(self.pick(VALUE_TYPES), scope)}" for key in ("x", "y")
            ) + "}"
        if shape == "fstring":
            return self.str_fstring(scope, self.max_depth - 1)
        if shape == "iterator":
            x = self.sub(scope, self.max_depth - 1)
            return self.choose(
                lambda: f"iter({x('list')})", lambda: f"enumerate({x('list')})",
                lambda: f"map(abs, {x('list')})", lambda: f"zip({x('list')}, {x('str')})",
                lambda: f"reversed({x('list')})", lambda: f"iter({x('dict')}.items())",
                lambda: f"(v + 1 for v in {x('list')})",
            )
        fns = scope.local_fns
        return self.pick(fns) if fns else self.expr("int", scope)

    def statement(self, scope: Scope, returns: str, indent: str, nested: int) -> Emitted:
        """Lines of one statement and the scope after it."""
        kinds = ["assign", "if_assign", "early_return", "for_list", "for_dict", "try",
                 "local_dict", "closure", "match_list", "match_dict", "match_box", "walrus",
                 "while", "raise", "with"]
        kind = self.pick(kinds if nested == 0 else kinds[:3])
        emitted: Emitted = getattr(self, f"stmt_{kind}")(scope, returns, indent, nested)
        return emitted

    def stmt_assign(self, s: Scope, returns: str, ind: str, nested: int) -> Emitted:
        v, ty = self.fresh("v"), self.pick(VALUE_TYPES)
        return [f"{ind}{v} = {self.expr(ty, s)}"], s.with_name(v, ty)

    def stmt_if_assign(self, s: Scope, returns: str, ind: str, nested: int) -> Emitted:
        v, ty = self.fresh("v"), self.pick(VALUE_TYPES)
        lines = [f"{ind}if {self.expr('bool', s)}:", f"{ind}    {v} = {self.expr(ty, s)}",
                 f"{ind}else:", f"{ind}    {v} = {self.expr(ty, s)}"]
        return lines, s.with_name(v, ty)

    def stmt_early_return(self, s: Scope, returns: str, ind: str, nested: int) -> Emitted:
        cond = self.expr("bool", s)
        return [f"{ind}if {cond}:", f"{ind}    return {self.returned(returns, s)}"], s

    def stmt_for_list(self, s: Scope, returns: str, ind: str, nested: int) -> Emitted:
        acc, x = self.fresh("v"), self.fresh("i")
        inner = s.with_name(x, "int").with_name(acc, "int")
        lines = [f"{ind}{acc} = {self.expr('int', s)}"]
        header = self.choose(lambda: f"for {x} in {self.expr('list', s)}:",
                             lambda: f"for j, {x} in enumerate({self.expr('list', s)}):")
        lines.append(ind + header)
        flow = self.pick(["", "break", "continue"])
        if flow:
            lines += [f"{ind}    if {self.expr('bool', inner)}:", f"{ind}        {flow}"]
        if self.draw(st.booleans()):
            lines.append(f"{ind}    {acc} = {acc} + {self.expr('int', inner)}")
        else:
            lines += [f"{ind}    if {self.expr('bool', inner)}:",
                      f"{ind}        {acc} += {self.expr('int', inner)}"]
        return lines, s.with_name(acc, "int")

    def stmt_for_dict(self, s: Scope, returns: str, ind: str, nested: int) -> Emitted:
        acc, k, w = self.fresh("v"), self.fresh("k"), self.fresh("w")
        inner = s.with_name(k, "key").with_name(w, "int")
        dd = self.expr("dict", s)
        if self.draw(st.booleans()):
            return [f"{ind}{acc} = []", f"{ind}for {k} in {dd}:",
                    f"{ind}    {acc}.append({self.expr('int', s.with_name(k, 'key'))})"
                    ], s.with_name(acc, "list")
        return [f"{ind}{acc} = {self.expr('str', s)}", f"{ind}for {k}, {w} in {dd}.items():",
                f"{ind}    if {self.expr('bool', inner)}:",
                f"{ind}        {acc} = {acc} + {k} + str({w})"], s.with_name(acc, "str")

    def stmt_try(self, s: Scope, returns: str, ind: str, nested: int) -> Emitted:
        v = self.fresh("v")
        x = self.sub(s, self.max_depth - 1)
        risky = self.choose(
            lambda: f"{x('dict')}[{x('key')}]",
            lambda: f"{x('list')}[{self.draw(st.integers(-1, 3))}]",
            lambda: f"int({x('str')})",
            lambda: f"{x('box')}.child.n",
            lambda: f"{x('box')}.zz",
            lambda: f"{x('box')}.tag + 1",
            lambda: f"{x('list')}.index({x('int')})",
            lambda: "G_INT",
            lambda: f"G_TABLE[{x('key')}]",
            lambda: f"json.loads({x('str')})",
            lambda: f"len(json.dumps({x(self.pick(['dict', 'list']))}))",
        )
        handler = self.choose(
            lambda: self.expr("int", s),
            lambda: "len(str(e)) + len(type(e).__name__)",
            lambda: "len(e.args)",
        )
        lines = [f"{ind}try:", f"{ind}    {v} = {risky}", f"{ind}except {self.pick(CAUGHT)} as e:",
                 f"{ind}    {v} = {handler}"]
        if self.draw(st.booleans()):
            lines += [f"{ind}else:", f"{ind}    {v} = {v} + {self.expr('int', s)}"]
        return lines, s.with_name(v, "int")

    def stmt_local_dict(self, s: Scope, returns: str, ind: str, nested: int) -> Emitted:
        v, x = self.fresh("v"), self.fresh("i")
        inner = s.with_name(x, "int")
        return [f"{ind}{v} = {{}}", f"{ind}for {x} in {self.expr('list', s)}:",
                f"{ind}    {v}[str({x})] = {v}.get(str({x}), 0) + {self.expr('int', inner)}"
                ], s.with_name(v, "dict")

    def stmt_closure(self, s: Scope, returns: str, ind: str, nested: int) -> Emitted:
        g, y = self.fresh("g"), self.fresh("y")
        inner = s.with_name(y, "int")
        lines = [f"{ind}def {g}({y}):"]
        lines += self.body(inner, "int", ind + "    ", max_statements=1, nested=nested + 1)
        return lines, s.with_fn(g)

    def stmt_match_list(self, s: Scope, returns: str, ind: str, nested: int) -> Emitted:
        v, first, rest = self.fresh("v"), self.fresh("x"), self.fresh("r")
        inner = s.with_name(first, "int").with_name(rest, "list")
        return [f"{ind}match {self.expr('list', s)}:",
                f"{ind}    case [{first}, *{rest}]:",
                f"{ind}        {v} = {self.expr('int', inner)}",
                f"{ind}    case _:",
                f"{ind}        {v} = {self.expr('int', s)}"], s.with_name(v, "int")

    def stmt_match_dict(self, s: Scope, returns: str, ind: str, nested: int) -> Emitted:
        v, got = self.fresh("v"), self.fresh("x")
        inner = s.with_name(got, "int")
        return [f"{ind}match {self.expr('dict', s)}:",
                f"{ind}    case {{{self.pick(KEYS)!r}: {got}}}:",
                f"{ind}        {v} = {self.expr('int', inner)}",
                f"{ind}    case _:",
                f"{ind}        {v} = {self.expr('int', s)}"], s.with_name(v, "int")

    def stmt_match_box(self, s: Scope, returns: str, ind: str, nested: int) -> Emitted:
        v, got = self.fresh("v"), self.fresh("x")
        inner = s.with_name(got, "int")
        return [f"{ind}match {self.expr('box', s)}:",
                f"{ind}    case Sub(n={got}):",
                f"{ind}        {v} = {self.expr('int', inner)}",
                f"{ind}    case Box(tag=None):",
                f"{ind}        {v} = {self.expr('int', s)}",
                f"{ind}    case _:",
                f"{ind}        {v} = {self.expr('int', s)}"], s.with_name(v, "int")

    def stmt_walrus(self, s: Scope, returns: str, ind: str, nested: int) -> Emitted:
        v, w = self.fresh("v"), self.fresh("v")
        after = s.with_name(v, "int")
        return [f"{ind}if ({v} := {self.expr('int', s)}) > {self.expr('int', s)}:",
                f"{ind}    {w} = {self.expr('int', after)}",
                f"{ind}else:",
                f"{ind}    {w} = {v}"], after.with_name(w, "int")

    def stmt_raise(self, s: Scope, returns: str, ind: str, nested: int) -> Emitted:
        """Raise an exception carrying a value and catch it: the value comes back through args."""
        v = self.fresh("v")
        kind, ty, got = self.pick([
            ("ValueError", "list", "e.args[0]"), ("KeyError", "str", "str(e)"),
            ("LookupError", "box", "e.args[0]"),
        ])
        return [f"{ind}try:", f"{ind}    raise {kind}({self.expr(ty, s)})",
                f"{ind}except {kind} as e:", f"{ind}    {v} = {got}"], s.with_name(v, ty)

    def stmt_with(self, s: Scope, returns: str, ind: str, nested: int) -> Emitted:
        v = self.fresh("v")
        manager = self.pick(["ctx", "Ctx"])
        return [f"{ind}with {manager}({self.expr('int', s)}) as {v}:",
                f"{ind}    {v} = {v} + {self.expr('int', s)}"], s.with_name(v, "int")

    def stmt_while(self, s: Scope, returns: str, ind: str, nested: int) -> Emitted:
        v = self.fresh("v")
        return [f"{ind}{v} = 0",
                f"{ind}while {v} < {self.expr('int', s)} and {v} < 4:",
                f"{ind}    {v} += 1"], s.with_name(v, "int")


COMPOSITES: dict[str, tuple[str, ...]] = {
    "int": ("int_attr", "int_class_attr", "int_len", "int_aggregate", "int_arith", "int_item",
            "int_if", "int_opt", "int_child", "int_introspect", "int_struct"),
    "str": ("str_attr", "str_build", "str_join", "str_format", "str_fstring"),
    "bool": ("bool_compare", "bool_contains", "bool_none", "bool_logic", "bool_truth",
             "bool_identity", "bool_scalar", "bool_c_scalar"),
    "list": ("list_attr", "list_build", "list_transform", "list_comprehension"),
    "dict": ("dict_attr", "dict_build"),
    "opt": ("opt_read",),
    "box": ("box_child", "box_new", "box_if"),
    "cls": ("cls_type",),
    "float": ("float_arith",),
    "sentinel": (),
    "key": (),
}


# ------------------------------------------------------------------------------ programs
def _block(lines: list[str]) -> str:
    return "\n".join(lines)


@st.composite
def programs(draw: st.DrawFn) -> str:
    """The source text of one generated module (see the module docstring for its skeleton).

    Helpers and methods get shallower expressions than ``f``, whose body is the
    one every call runs.
    """
    w = Writer(draw, max_depth=2)
    def ints() -> str:
        return str(draw(st.integers(-2, 5)))

    def strs() -> str:
        return repr(draw(st.sampled_from(STRS)))

    def int_lists() -> str:
        return repr(draw(st.lists(st.integers(-2, 5), max_size=3)))

    def dicts() -> str:
        pairs = draw(st.lists(st.tuples(st.sampled_from(KEYS), st.integers(-2, 5)), max_size=3))
        return repr(dict(pairs))

    def scope(name: str, **names: str) -> Scope:
        return Scope(names, callable_before(name))

    def method(name: str, sig: str, body_scope: Scope, deco: str = "") -> list[str]:
        head = [f"    {deco}"] if deco else []
        return [*head, f"    def {name}({sig}):", *w.body(body_scope, "int", " " * 8, 2)]

    def f_body() -> list[str]:
        w.max_depth = 3
        f_scope = scope(
            "f", b="box", xs="list", d="dict", k="int", flag="bool", sentinel="sentinel"
        )
        return w.body(f_scope, "any", "    ")

    box = "Box" if draw(st.booleans()) else "Sub"
    lines = [
        IMPORTS,
        "",
        f"G_INT = {ints()}",
        f"G_STR = {strs()}",
        f"G_LIST = {int_lists()}",
        f"G_DICT = {dicts()}",
        f"G_OPT = {draw(st.sampled_from(['None', '1', '0']))}",
        f"G_FLAG = {draw(st.booleans())}",
        f"G_FLOAT = {draw(st.sampled_from(['0.0', '-0.0', '0.5']))}",
        f"G_PT = Pt({ints()}, {ints()})",
        f"G_PAIR = Pair({ints()}, {int_lists()})",
        f"NS = types.SimpleNamespace(level={ints()})",
        f"G_SLOT = Slotted({ints()})",
        f"G_TABLE = Table({dicts()})",
        "",
        "",
        "class Box:",
        f"    SCALE = {ints()}",
        f"    CL = {int_lists()}",
        f"    NAME = {strs()}",
        "",
        "    def __init__(self, n, s, items, opts, tag=None, child=None):",
        "        self.n, self.s, self.items, self.opts = n, s, items, opts",
        "        self.tag, self.child = tag, child",
        "",
        *method("m0", "self, x", scope("m0", self="box", x="int")),
        "",
        *method("m1", "self, x", scope("m1", self="box", x="int")),
        "",
        *method("p", "self", scope("p", self="box"), "@property"),
        "",
        *method("cm", "cls, x", scope("cm", cls="cls", x="int"), "@classmethod"),
        "",
        *method("sm", "x", scope("sm", x="int"), "@staticmethod"),
        "",
        "",
        "class Sub(Box):",
        f"    SCALE = {ints()}",
        "",
        *method("m0", "self, x", scope("sub_m0", self="box", x="int", super="super")),
        "",
        "",
        f"G_BOX = {box}({ints()}, {strs()}, {int_lists()}, {dicts()}, tag={ints()})",
        "BM = G_BOX.m1",
        "",
        "",
        f"def h0(x, y={ints()}):",
        *w.body(scope("h0", x="int", y="int"), "int", "    ", 2),
        "",
        "",
        f"def h1(x, y={ints()}):",
        *w.body(scope("h1", x="int", y="int"), "int", "    ", 2),
        "",
        "",
        f"PH = functools.partial(h1, y={ints()})",
        "",
        "",
        "def _make_cell(c):",
        "    def cellf(x):",
        *w.body(scope("cellf", x="int", c="int"), "int", "        ", 2),
        "",
        "    def set_cell(value):",
        "        nonlocal c",
        "        c = value",
        "",
        "    return cellf, set_cell",
        "",
        "",
        f"cellf, set_cell = _make_cell({ints()})",
        "",
        "",
        f"def f(b, xs, d, k={ints()}, *, flag={draw(st.booleans())}, sentinel=MISSING):",
        *f_body(),
        "",
        "",
        "def make_args():",
        f"    return ({box}({ints()}, {strs()}, {int_lists()}, {dicts()}, tag={ints()}), "
        f"{int_lists()}, {draw(st.sampled_from(MAPPINGS))}({dicts()}))",
        "",
        "",
        ALTERNATIVES,
    ]
    return _block(lines)


#: Types the argument ``d`` may have: equal contents, different types.
MAPPINGS = ("dict", "collections.OrderedDict", "collections.Counter", "Defaults")

#: The fixed top of every program: imports, and values of library types with the
#: user code behind them (an enum's methods, a singledispatch function, a context
#: manager) that reads globals.
IMPORTS = """\
import builtins
import collections
import contextlib
import dataclasses
import enum
import functools
import json
import math
import operator
import os
import struct
import types

MISSING = object()


def attempt(fn, *args):  # C code handed a scalar: what it gives, or that it refused
    try:
        return fn(*args)
    except (TypeError, ValueError, OverflowError, struct.error):
        return "refused"


def format_none(v):  # a format without a conversion: C decides by the operand's type
    return "constant" % v


class Defaults(dict):  # a dict whose get has its own default
    def get(self, key, default=None):
        return dict.get(self, key, 7)


class Table:  # a mapping written in Python: its dunders are user code
    def __init__(self, data):
        self.data = data

    def __getitem__(self, key):
        return self.data[key]

    def __len__(self):
        return len(self.data)

    def __contains__(self, key):
        return key in self.data

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default


class Tag(str):
    pass


Pt = collections.namedtuple('Pt', 'x y')


@dataclasses.dataclass
class Pair:
    a: int
    b: list


class Slotted:
    __slots__ = ('v',)

    def __init__(self, v):
        self.v = v


class Color(enum.Enum):
    RED = 1
    BLUE = 2

    def weight(self):
        return self.value * G_INT

    def label(self):
        return self.name.lower() + G_STR


@functools.singledispatch
def sd(x):
    return 0


@sd.register
def _(x: int):
    return x + G_INT


@contextlib.contextmanager
def ctx(x):
    yield x + G_INT


class Ctx:  # the same, as a class: the with statement calls its dunders
    def __init__(self, x):
        self.x = x

    def __enter__(self):
        return self.x + G_INT

    def __exit__(self, *exc):
        return False
"""

#: Replacements the script swaps in: a helper, a method, and a builtin ``len``.
ALTERNATIVES = '''\
def alt_h(x, y=0):
    return x - y + 1


def alt_m(self, x):
    return x * 2 - self.n


def alt_len(obj):
    return builtins.len(obj) + 1
'''

# ------------------------------------------------------------------------------- scripts
#: Every kind of step a script may take besides a plain call.
MUTATIONS = (
    "b.n", "b.s", "b.tag", "b.items.append", "b.items.pop", "b.items[0]", "b.items=",
    "b.opts[k]", "del b.opts[k]", "b.child", "b.child=G_BOX", "b.child.n", "b.SCALE",
    "b.zz", "b.__class__", "b=copy", "b=new",
    "xs.append", "xs.pop", "xs[0]", "xs=copy", "xs=b.items", "xs.reverse",
    "d[k]", "del d[k]", "d=copy", "d=b.opts",
    "G_INT", "G_STR", "G_LIST.append", "G_LIST=", "G_DICT[k]", "del G_DICT[k]", "G_OPT",
    "G_FLAG", "G_BOX.n", "G_BOX.items.append", "G_BOX.tag", "del G_INT",
    "Box.SCALE", "Sub.SCALE", "Box.CL.append", "Box.CL=", "Box.NAME", "Box.m0", "Sub.m0",
    "h0=alt", "cellf=alt", "h0.__defaults__", "h1.__defaults__", "PH.keywords",
    "f.__defaults__", "f.__kwdefaults__", "set_cell", "len=alt", "sum=alt",
    "b.n=bool", "b.n=float", "b.s=Tag", "G_FLOAT", "d=retype", "G_PT", "G_PAIR.a",
    "G_PAIR.b.append", "NS.level", "G_SLOT.v", "environ", "h0.weight", "MISSING",
    "G_TABLE[k]", "del G_TABLE[k]", "many",
)

#: What the step ``many`` changes at once: most values a program can read, each a
#: little, so a stale read anywhere shows (one op per kind of state).
MANY = (
    "b.n", "b.s", "b.tag", "b.items.append", "b.opts[k]", "b.child.n", "xs.append", "d[k]",
    "G_INT", "G_STR", "G_LIST.append", "G_DICT[k]", "G_OPT", "G_FLAG", "G_FLOAT", "G_BOX.n",
    "G_BOX.items.append", "G_BOX.tag", "Box.SCALE", "Sub.SCALE", "Box.CL.append", "Box.NAME",
    "h0.__defaults__", "h1.__defaults__", "PH.keywords", "set_cell", "G_PT", "G_PAIR.a",
    "G_PAIR.b.append", "NS.level", "G_SLOT.v", "G_TABLE[k]", "h0.weight", "environ",
)

#: A step: ``("call", v)`` (``v`` picks how the call is spelled) or ``(mutation, v)``.
Step = tuple[str, int]

steps = st.lists(
    st.one_of(st.tuples(st.just("call"), st.integers(0, 3)),
              st.tuples(st.sampled_from(MUTATIONS), st.integers(-2, 5))),
    max_size=12,
)


# --------------------------------------------------------------------------- outcomes
def outcome(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[str, Any]:
    """What a call gives: ``("value", v)`` or ``("raised", (type, message))``."""
    try:
        return ("value", fn(*args, **kwargs))
    except Exception as exc:
        return ("raised", (type(exc), str(exc)))


def same_outcome(a: tuple[str, Any], b: tuple[str, Any]) -> bool:
    """Same kind; equal exceptions (type and message) or equal values (:func:`same_value`)."""
    if a[0] != b[0]:
        return False
    if a[0] == "raised":
        return bool(a[1] == b[1])
    return same_value(a[1], b[1])


def same_value(a: Any, b: Any, depth: int = 0) -> bool:
    """Equal with exact types all the way down; objects by type and ``vars``; -0.0 is not 0.0."""
    if a is b:
        return True
    if type(a) is not type(b) or depth > 20:
        return False
    if type(a) is float:
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if type(a) in (list, tuple):
        return len(a) == len(b) and all(
            same_value(x, y, depth + 1) for x, y in zip(a, b, strict=True)
        )
    if isinstance(a, dict):
        return list(a) == list(b) and all(same_value(a[k], b[k], depth + 1) for k in a)
    if isinstance(a, (types.FunctionType, Iterator)):
        return True  # compared by calling or consuming them: see World.call
    if hasattr(a, "__dict__") and getattr(type(a), "__eq__", None) is object.__eq__:
        return same_value(vars(a), vars(b), depth + 1)
    return bool(a == b)


def freeze(value: Any, depth: int = 0) -> Any:
    """A comparable picture of ``value``'s state, to see whether a call changed anything.

    Containers and objects are named by identity too, so rebinding one to an
    equal copy is a change.
    """
    if depth > 8:
        return ("deep", id(value))
    if isinstance(value, (int, float, str, bytes, type(None))):
        return (type(value).__name__, repr(value))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, id(value), tuple(freeze(v, depth + 1) for v in value))
    if isinstance(value, dict):
        return (type(value).__name__, id(value), _freeze_items(value, depth))
    if isinstance(value, types.FunctionType):
        # Only generated functions' cells: a library wrapper's hold caches (singledispatch's
        # dispatch cache fills on a plain call too).
        generated = value.__code__.co_filename.startswith("<guards_fuzz")
        cells = tuple(freeze(c.cell_contents, depth + 1) for c in value.__closure__ or ()
                      if generated)
        return ("fn", id(value), freeze(value.__defaults__, depth + 1),
                freeze(value.__kwdefaults__, depth + 1), cells)
    if isinstance(value, type):
        own = {k: v for k, v in vars(value).items() if not k.startswith("__")}
        return ("cls", id(value), _freeze_items(own, depth))
    if isinstance(value, functools.partial):
        keywords = _freeze_items(value.keywords, depth)
        return ("partial", id(value), freeze(value.func, depth + 1), keywords)
    if hasattr(type(value), "__slots__") and not hasattr(value, "__dict__"):
        slots = tuple(freeze(getattr(value, n, None), depth + 1) for n in type(value).__slots__)
        return ("slots", id(value), type(value).__name__, slots)
    if hasattr(value, "__dict__") and not isinstance(value, types.ModuleType):
        return ("obj", id(value), type(value).__name__, _freeze_items(vars(value), depth))
    return ("other", id(value))


def _freeze_items(mapping: Any, depth: int) -> tuple[Any, ...]:
    return tuple((k, freeze(v, depth + 1)) for k, v in mapping.items())


# ------------------------------------------------------------------------------- worlds
#: A memory address as ``repr`` shows it.
ADDRESS = re.compile(r"\b0x[0-9a-f]{6,}\b")


class Mismatch(AssertionError):
    """The specialized function and the plain one disagreed (or the specialized one wrote)."""


class World:
    """A program's namespace, its plain and specialized ``f``, the arguments, and the script."""

    def __init__(self, source: str, *, name: str = "guards_fuzz_world") -> None:
        self.source = source
        self.ns: dict[str, Any] = {"__name__": name}
        # dont_inherit: the program must not get this module's `from __future__` flags.
        exec(compile(source, f"<{name}>", "exec", dont_inherit=True), self.ns)
        self.plain: types.FunctionType = self.ns["f"]
        self.fast = guards.specialize(self.plain)
        self.b, self.xs, self.d = self.ns["make_args"]()
        self.originals = {name: self.ns[name] for name in ("h0", "cellf")}
        self.originals["Box.m0"] = vars(self.ns["Box"])["m0"]
        self.originals["Sub.m0"] = vars(self.ns["Sub"])["m0"]
        self.held: list[tuple[Any, Any]] = []  # closures returned earlier: (specialized, plain)
        self.pending: list[tuple[Any, Any]] = []  # iterators returned by the last call
        self.calls = 0

    # -- state
    def snapshot(self) -> Any:
        data = {k: v for k, v in self.ns.items() if not k.startswith("__")}
        return (_freeze_items(data, 0), freeze(self.b), freeze(self.xs), freeze(self.d))

    def run(self, script: list[Step]) -> Iterator[str]:
        """Run ``script``, yielding each call's kind (hit, miss, uncached); raise Mismatch.

        An iterator a call returned is consumed after the next step, so it reads
        the state as a lazy plain iterator would.
        """
        try:
            for op, v in [*script, ("call", 0)]:
                if op == "call":
                    self.settle()
                    yield self.call(v)
                else:
                    self.mutate(op, v)
                    self.settle()
            self.settle()
            self.check_reasons()
        finally:
            os.environ.pop(ENVIRON_VAR, None)

    def check_reasons(self) -> None:
        """Uncached reasons name sources and functions, never a memory address.

        An address would also make every run's reason a new key, so the
        counts would grow without bound.
        """
        for reason in self.fast.specialized.uncached_reasons:
            if ADDRESS.search(reason):
                raise Mismatch(f"an uncached reason names a memory address: {reason!r}")

    def settle(self) -> None:
        """Consume the iterators returned so far, both ways, and compare what they give."""
        for fast_it, plain_it in self.pending:
            a, b = outcome(list, fast_it), outcome(list, plain_it)
            if not same_outcome(a, b):
                raise Mismatch(f"a returned iterator gave {a!r}, the plain one {b!r}")
        self.pending.clear()

    def call_plain(self) -> tuple[str, Any]:
        """The plain function's outcome on the current arguments."""
        return outcome(self.plain, self.b, self.xs, self.d)

    def call(self, spelling: int) -> str:
        """Call the specialized and the plain ``f``; return hit, miss, uncached or raised."""
        args: tuple[Any, ...] = (self.b, self.xs, self.d)
        kwargs: dict[str, Any] = {}
        if spelling == 1:
            args, kwargs = (self.b,), {"xs": self.xs, "d": self.d}
        elif spelling == 2:
            args = (self.b, self.xs, self.d, self.calls % 3)
        elif spelling == 3:
            kwargs = {"flag": bool(self.calls % 2), "sentinel": None}
        self.calls += 1
        before, info = self.snapshot(), self.fast.cache.info()
        got = outcome(self.fast, *args, **kwargs)
        after = self.fast.cache.info()
        if self.snapshot() != before:
            raise Mismatch(f"the specialized call changed the world (call {self.calls})")
        expected = outcome(self.plain, *args, **kwargs)
        if self.snapshot() != before:
            raise AssertionError("generator bug: the plain call changed the world")
        if not same_outcome(got, expected):
            raise Mismatch(f"call {self.calls} ({args=}, {kwargs=}): "
                           f"specialized gave {got!r}, plain gave {expected!r}")
        if got[0] == "value" and isinstance(got[1], types.FunctionType):
            self.held.append((got[1], expected[1]))
        if got[0] == "value" and isinstance(got[1], Iterator):
            self.pending.append((got[1], expected[1]))
        for i, (fast_fn, plain_fn) in enumerate(self.held):
            a, b = outcome(fast_fn, 1), outcome(plain_fn, 1)
            if not same_outcome(a, b):
                raise Mismatch(f"a closure returned earlier (#{i}) now gives {a!r}, "
                               f"the plain one {b!r}")
        if after.hits > info.hits:
            return "hit"
        if after.uncached > info.uncached:
            return "uncached"
        return "raised" if expected[0] == "raised" else "miss"

    def mutate(self, op: str, v: int) -> None:
        """Apply one script step (see MUTATIONS); a step that does not apply does nothing."""
        MUTATORS[op](self, v)


def _s(v: int) -> str:
    return STRS[v % len(STRS)]


def _k(v: int) -> str:
    return KEYS[v % len(KEYS)]


def _toggle(mapping: dict[str, Any], name: str, value: Any, original: Any) -> None:
    if mapping.get(name) is original or name not in mapping:
        mapping[name] = value
    else:
        mapping[name] = original


def _toggle_class_attr(cls: type, name: str, value: Any) -> None:
    if name in vars(cls):
        delattr(cls, name)
    else:
        setattr(cls, name, value)


def _new_box(w: World, v: int) -> Any:
    cls = w.ns["Box"] if v % 2 else w.ns["Sub"]
    return cls(v, _s(v), list(range(v % 3)), {_k(v): v}, tag=None if v < 0 else v)


def _set_child(w: World, v: int) -> None:
    w.b.child = None if v < 0 else _new_box(w, v)


def _set_child_n(w: World, v: int) -> None:
    if w.b.child is not None:
        w.b.child.n = v


def _pop(xs: list[Any]) -> None:
    if xs:
        xs.pop()


def _set_first(xs: list[Any], v: int) -> None:
    if xs:
        xs[0] = v


def _toggle_class(w: World, v: int) -> None:
    w.b.__class__ = w.ns["Box"] if type(w.b) is w.ns["Sub"] else w.ns["Sub"]


def _delete_global(w: World, v: int) -> None:
    if "G_INT" in w.ns:
        del w.ns["G_INT"]
    else:
        w.ns["G_INT"] = v


def _toggle_method(w: World, cls_name: str) -> None:
    cls = w.ns[cls_name]
    if cls_name == "Box":  # Box.m0 swaps with alt_m
        cls.m0 = w.ns["alt_m"] if cls.m0 is w.originals["Box.m0"] else w.originals["Box.m0"]
    elif "m0" in vars(cls):  # deleting Sub.m0 makes Sub inherit Box.m0
        del cls.m0
    else:
        cls.m0 = w.originals["Sub.m0"]


def _set_defaults(fn: Any, v: int) -> None:
    fn.__defaults__ = (v,)


def _retype_d(w: World, v: int) -> None:
    """``d`` becomes an equal mapping of the next type: dict, OrderedDict, Counter, Defaults."""
    kinds = (dict, collections.OrderedDict, collections.Counter, w.ns["Defaults"])
    w.d = kinds[(kinds.index(type(w.d)) + 1) % len(kinds)](w.d)


#: The environment variable generated programs read through ``os.environ``.
ENVIRON_VAR = "GUARDS_FUZZ_VAR"


def _toggle_environ(value: str) -> None:
    if ENVIRON_VAR in os.environ:
        del os.environ[ENVIRON_VAR]
    else:
        os.environ[ENVIRON_VAR] = value


def _mutate_many(w: World, v: int) -> None:
    for op in MANY:
        MUTATORS[op](w, v + 1)


def _set_kwdefault(fn: Any, v: int) -> None:
    if v % 2:  # in place, or a new dict
        fn.__kwdefaults__["flag"] = v > 1
    else:
        fn.__kwdefaults__ = {"flag": v > 1}


def _set_shadow_builtin(w: World, name: str) -> None:
    if name in w.ns:
        del w.ns[name]
    else:
        w.ns[name] = w.ns["alt_len"] if name == "len" else (lambda it, start=0: -1)


MUTATORS: dict[str, Callable[[World, int], None]] = {
    "b.n": lambda w, v: setattr(w.b, "n", v),
    "b.s": lambda w, v: setattr(w.b, "s", _s(v)),
    "b.tag": lambda w, v: setattr(w.b, "tag", None if v < 0 else v),
    "b.items.append": lambda w, v: w.b.items.append(v),
    "b.items.pop": lambda w, v: _pop(w.b.items),
    "b.items[0]": lambda w, v: _set_first(w.b.items, v),
    "b.items=": lambda w, v: setattr(w.b, "items", list(range(v % 4))),
    "b.opts[k]": lambda w, v: w.b.opts.__setitem__(_k(v), v),
    "del b.opts[k]": lambda w, v: w.b.opts.pop(_k(v), None),
    "b.child": _set_child,
    "b.child=G_BOX": lambda w, v: setattr(w.b, "child", w.ns["G_BOX"]),
    "b.child.n": _set_child_n,
    "b.SCALE": lambda w, v: (delattr(w.b, "SCALE") if "SCALE" in vars(w.b)
                             else setattr(w.b, "SCALE", v)),
    "b.zz": lambda w, v: (delattr(w.b, "zz") if "zz" in vars(w.b) else setattr(w.b, "zz", v)),
    "b.__class__": _toggle_class,
    "b=copy": lambda w, v: setattr(w, "b", copy.deepcopy(w.b)),
    "b=new": lambda w, v: setattr(w, "b", _new_box(w, v)),
    "xs.append": lambda w, v: w.xs.append(v),
    "xs.pop": lambda w, v: _pop(w.xs),
    "xs[0]": lambda w, v: _set_first(w.xs, v),
    "xs=copy": lambda w, v: setattr(w, "xs", list(w.xs)),
    "xs=b.items": lambda w, v: setattr(w, "xs", w.b.items),
    "xs.reverse": lambda w, v: w.xs.reverse(),
    "d[k]": lambda w, v: w.d.__setitem__(_k(v), v),
    "del d[k]": lambda w, v: w.d.pop(_k(v), None),
    "d=copy": lambda w, v: setattr(w, "d", dict(w.d)),
    "d=b.opts": lambda w, v: setattr(w, "d", w.b.opts),
    "G_INT": lambda w, v: w.ns.__setitem__("G_INT", v),
    "G_STR": lambda w, v: w.ns.__setitem__("G_STR", _s(v)),
    "G_LIST.append": lambda w, v: w.ns["G_LIST"].append(v),
    "G_LIST=": lambda w, v: w.ns.__setitem__("G_LIST", list(range(v % 4))),
    "G_DICT[k]": lambda w, v: w.ns["G_DICT"].__setitem__(_k(v), v),
    "del G_DICT[k]": lambda w, v: w.ns["G_DICT"].pop(_k(v), None),
    "G_OPT": lambda w, v: w.ns.__setitem__("G_OPT", None if v < 0 else v),
    "G_FLAG": lambda w, v: w.ns.__setitem__("G_FLAG", not w.ns["G_FLAG"]),
    "G_BOX.n": lambda w, v: setattr(w.ns["G_BOX"], "n", v),
    "G_BOX.items.append": lambda w, v: w.ns["G_BOX"].items.append(v),
    "G_BOX.tag": lambda w, v: setattr(w.ns["G_BOX"], "tag", None if v < 0 else v),
    "del G_INT": _delete_global,
    "Box.SCALE": lambda w, v: setattr(w.ns["Box"], "SCALE", v),
    "Sub.SCALE": lambda w, v: _toggle_class_attr(w.ns["Sub"], "SCALE", v),
    "Box.CL.append": lambda w, v: w.ns["Box"].CL.append(v),
    "Box.CL=": lambda w, v: setattr(w.ns["Box"], "CL", list(range(v % 4))),
    "Box.NAME": lambda w, v: setattr(w.ns["Box"], "NAME", _s(v)),
    "Box.m0": lambda w, v: _toggle_method(w, "Box"),
    "Sub.m0": lambda w, v: _toggle_method(w, "Sub"),
    "h0=alt": lambda w, v: _toggle(w.ns, "h0", w.ns["alt_h"], w.originals["h0"]),
    "cellf=alt": lambda w, v: _toggle(w.ns, "cellf", w.ns["alt_h"], w.originals["cellf"]),
    "h0.__defaults__": lambda w, v: _set_defaults(w.originals["h0"], v),
    "h1.__defaults__": lambda w, v: _set_defaults(w.ns["h1"], v),
    "PH.keywords": lambda w, v: w.ns["PH"].keywords.__setitem__("y", v),
    "f.__defaults__": lambda w, v: _set_defaults(w.plain, v),
    "f.__kwdefaults__": lambda w, v: _set_kwdefault(w.plain, v),
    "set_cell": lambda w, v: w.ns["set_cell"](v),
    "len=alt": lambda w, v: _set_shadow_builtin(w, "len"),
    "sum=alt": lambda w, v: _set_shadow_builtin(w, "sum"),
    "b.n=bool": lambda w, v: setattr(w.b, "n", bool(v % 2)),
    "b.n=float": lambda w, v: setattr(w.b, "n", float(v)),
    "b.s=Tag": lambda w, v: setattr(w.b, "s", w.ns["Tag"](_s(v))),
    "G_FLOAT": lambda w, v: w.ns.__setitem__("G_FLOAT", (0.0, -0.0, 0.5)[v % 3]),
    "d=retype": _retype_d,
    "G_PT": lambda w, v: w.ns.__setitem__("G_PT", w.ns["Pt"](v, 2)),
    "G_PAIR.a": lambda w, v: setattr(w.ns["G_PAIR"], "a", v),
    "G_PAIR.b.append": lambda w, v: w.ns["G_PAIR"].b.append(v),
    "NS.level": lambda w, v: setattr(w.ns["NS"], "level", v),
    "G_SLOT.v": lambda w, v: setattr(w.ns["G_SLOT"], "v", v),
    "environ": lambda w, v: _toggle_environ(_s(v)),
    "h0.weight": lambda w, v: setattr(w.originals["h0"], "weight", v),
    "MISSING": lambda w, v: w.ns.__setitem__("MISSING", object()),
    "G_TABLE[k]": lambda w, v: w.ns["G_TABLE"].data.__setitem__(_k(v), v),
    "del G_TABLE[k]": lambda w, v: w.ns["G_TABLE"].data.pop(_k(v), None),
    "many": lambda w, v: _mutate_many(w, v),
}

assert set(MUTATORS) == set(MUTATIONS)
