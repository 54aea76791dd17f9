"""Plans: a guard set as flat steps for the compiled evaluator (``guards._evaluator``).

The generated Python check (:mod:`guards.checks.codegen`) walks the access-path
tree, reading each prefix once and running a value's checks before the paths
below it.  A plan is the same walk written as data: each step either reads a
value into a register (``L['x']``, an attribute, an item, a closure cell...) or
tests one (``type(v) is T``, ``v == V``...), in the order the Python check runs
them.  The C evaluator runs the steps with no bytecode in between, the way
TorchDynamo's C++ guard managers run their accessors and leaf guards.

Every step has the semantics of the text the Python check would run for it.
Sources and check templates with a step of their own in C are listed in
:data:`READS` and :data:`TESTS` (exact types and exact templates only; attributes
and items, the commonest reads, are written out in :func:`build_plan`); any
other one becomes a Python function made from the very same ``step_code`` or
``expr`` template, which the evaluator calls.  So every guard kind keeps its
meaning, and a new kind is fast once it is listed here.

The extension is optional: without a C compiler the package installs without
it and :data:`EVALUATOR` is None, as it is when the environment variable
``GUARDS_PURE_PYTHON`` is set (``docs/performance.md``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import attrs

from guards.checks.codegen import (
    GROUP_MIN,
    Emitter,
    Generated,
    LazyPredicates,
    check_functions,
    generate,
    render_expr,
    scalar_demand,
)
from guards.checks.generated import LineWriter
from guards.core.builder import Check
from guards.core.sources import (
    AttrSource,
    ChainedSource,
    ClosureSource,
    CodeSource,
    ConstantSource,
    DefaultsSource,
    DictKeySource,
    GetItemSource,
    GlobalSource,
    GlobalsSource,
    LocalSource,
    SkipGuardSource,
    Source,
    TypeSource,
    WeakRefCallSource,
    dict_key,
    get_item,
    is_plain_identifier,
)

try:
    from guards import _evaluator
except ImportError:  # built without a C compiler: checks run as generated Python
    _evaluator = None  # type: ignore[assignment]

#: The environment variable that makes every check generated Python, as if the
#: extension were not built (how the test suite runs on both paths).
PURE_PYTHON_VARIABLE = "GUARDS_PURE_PYTHON"

#: The compiled evaluator's module, or None when checks run as generated Python.
EVALUATOR: ModuleType | None = None if os.environ.get(PURE_PYTHON_VARIABLE) else _evaluator


def load_extension() -> ModuleType | None:
    """The extension module if it was built, whatever :data:`PURE_PYTHON_VARIABLE` says
    (tests build evaluators from it directly)."""
    return _evaluator


#: One step: (code, destination register, source register, a, b, n, registers).
Step = tuple[int, int, int, Any, Any, int, tuple[int, ...]]


@attrs.frozen
class Plan:
    """The steps of a guard set, the registers they use and the checks in run order."""

    steps: tuple[Step, ...]
    registers: int
    ordered_checks: tuple[Check, ...]


# The step codes; the extension numbers them alike (a test compares the two).
# Reads (regs[dst] = ...):
LOCAL, GLOBAL, GLOBALS, ATTR, ITEM, SUBSCR, TYPE, COPY, CALL, CALL0, ROOT = range(1, 12)
# Tests (the check fails unless ...):
TYPE_IS, IS, IS_NOT, EQUALS, LEN, KEYS, WEAK_IS, IS_REG, PRED = range(32, 41)
#: Every code by name, as ``guards._evaluator`` exports them.
CODES: dict[str, int] = {
    "LOCAL": LOCAL, "GLOBAL": GLOBAL, "GLOBALS": GLOBALS, "ATTR": ATTR, "ITEM": ITEM,
    "SUBSCR": SUBSCR, "TYPE": TYPE, "COPY": COPY, "CALL": CALL, "CALL0": CALL0, "ROOT": ROOT,
    "TYPE_IS": TYPE_IS, "IS": IS, "IS_NOT": IS_NOT, "EQUALS": EQUALS, "LEN": LEN, "KEYS": KEYS,
    "WEAK_IS": WEAK_IS, "IS_REG": IS_REG, "PRED": PRED,
}
_NO_REGISTERS: tuple[int, ...] = ()


def _name(name: Any) -> Any:
    """An attribute or key name interned (found by identity in most dicts)."""
    return sys.intern(name) if type(name) is str else name


def _read(code: int, dst: int, src: int, a: Any = None, b: Any = None, n: int = 0) -> Step:
    return (code, dst, src, a, b, n, _NO_REGISTERS)


#: A read of ``source`` (its exact type) into ``dst`` from register ``src``, in C.
ReadRule = Callable[[Any, int, int], list[Step]]

READS: dict[type[Source], ReadRule] = {
    LocalSource: lambda s, d, r: [_read(LOCAL, d, -1, _name(s.local_name))],
    # AttrSource and GetItemSource, the commonest steps, are written out in build_plan
    # and _emit_groups: ATTR (getattr) and ITEM (exact dicts, lists, tuples, strs and
    # bytes subscripted directly; others through get_item, which never calls
    # __missing__, as GetItemSource.step_code).
    GlobalSource: lambda s, d, r: [_read(GLOBAL, d, -1, _name(s.global_name))],
    ConstantSource: lambda s, d, r: [_read(GLOBAL, d, -1, s.source_name)],
    GlobalsSource: lambda s, d, r: [_read(GLOBALS, d, -1)],
    ClosureSource: lambda s, d, r: [_read(ATTR, d, r, "__closure__")],
    CodeSource: lambda s, d, r: [_read(ATTR, d, r, "__code__")],
    DefaultsSource: lambda s, d, r: [
        _read(ATTR, d, r, s.field), _read(SUBSCR, d, d, s.idx_key),
    ],
    TypeSource: lambda s, d, r: [_read(TYPE, d, r)],
    WeakRefCallSource: lambda s, d, r: [_read(CALL0, d, r)],
    SkipGuardSource: lambda s, d, r: [_read(COPY, d, r)],
    DictKeySource: lambda s, d, r: [_read(CALL, d, r, dict_key, s.index, 2)],
}


def _length(values: dict[str, Any]) -> tuple[int, Any, Any, int] | None:
    n = values["N"]
    return (LEN, None, None, n) if type(n) is int and 0 <= n < sys.maxsize else None


def _keys(values: dict[str, Any]) -> tuple[int, Any, Any, int] | None:
    return (KEYS, values["K"], None, 0) if type(values["K"]) is list else None


#: A test on one value with a step of its own in C, by the exact template of its check:
#: ``(code, a, b, n)`` from the check's constants, or None to call Python instead.
TESTS: dict[str, Callable[[dict[str, Any]], tuple[int, Any, Any, int] | None]] = {
    "type({0}) is {T}": lambda c: (TYPE_IS, c["T"], None, 0),
    "{0} is {V} or (type({0}) is {T} and {0} == {V})": lambda c: (EQUALS, c["V"], c["T"], 0),
    "{0} is {obj}": lambda c: (IS, c["obj"], None, 0),
    "{0} is {code}": lambda c: (IS, c["code"], None, 0),
    "{0} is None": lambda c: (IS, None, None, 0),
    "{0} is True": lambda c: (IS, True, None, 0),
    "{0} is False": lambda c: (IS, False, None, 0),
    "{0} is not None": lambda c: (IS_NOT, None, None, 0),
    "len({0}) == {N}": _length,
    "list({0}) == {K}": _keys,
    "{ref}() is {0} is not None": lambda c: (WEAK_IS, c["ref"], None, 0),
}


class _Fallbacks:
    """The Python functions of the steps and tests with no C form, compiled at once."""

    def __init__(self) -> None:
        self.emitter = Emitter()
        self.writer = LineWriter()
        self.names: list[str] = []

    def function(self, params: Sequence[str], expr: str) -> int:
        """Add ``def f(params): return expr``; its index in :meth:`compile`'s result."""
        name = f"_f{len(self.names)}"
        self.writer.line(f"def {name}({', '.join(params)}):")
        with self.writer.indent():
            self.writer.line(f"return {expr}")
        self.names.append(name)
        return len(self.names) - 1

    def compile(self, label: str) -> list[Callable[..., Any]]:
        if not self.names:
            return []
        return check_functions(self.writer.text(), self.names, self.emitter, label)


class _NoFallbacks(_Fallbacks):
    """For steps that always have a C form (grouped scalars): asking is a bug."""

    def function(self, params: Sequence[str], expr: str) -> int:
        raise AssertionError(f"no Python step expected here: {expr}")


_NO_FALLBACKS = _NoFallbacks()


class _Pending:
    """A callable of a step, filled in once the fallbacks are compiled."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


_EQUALS_TEMPLATE = "{0} is {V} or (type({0}) is {T} and {0} == {V})"
_TYPE_TEMPLATE = "type({0}) is {T}"


def build_plan(checks: Sequence[Check], label: str) -> Plan:
    """The plan of ``checks``: the same reads and tests, in the same order, as the
    generated check of :func:`guards.checks.codegen.generate` for ``checks`` without
    their duplicates (checks with equal :attr:`~guards.core.builder.Check.dedup_key`:
    the first is kept).

    Registers: first one for each value that a check across paths compares (kept
    to the end), then one per depth of the access-path tree (a value is needed
    only while the paths below it are checked).
    """
    tree, roots, relational = _tree(checks)
    needed = {source: i for i, source in enumerate(
        dict.fromkeys(source for check in relational for source in check.sources)
    )}
    base = len(needed)
    fallbacks = _Fallbacks()
    steps: list[Step] = []
    append = steps.append
    ordered: list[Check] = []
    pending: list[int] = []  # the steps with a Python function still to compile
    deepest = base
    if len(roots) >= GROUP_MIN:
        roots, deepest = _emit_groups(roots, -1, base, tree, needed, True, steps, ordered)
    stack: list[tuple[Any, int, int]] = [(root, -1, base) for root in reversed(roots)]
    pop, push = stack.pop, stack.append
    # The commonest reads and tests are written out here: a miss plans every value
    # its run read, so this loop is on the miss path (issue 12).
    while stack:
        source, parent, register = pop()
        node_checks, children = tree[source]
        if register > deepest:
            deepest = register
        into = needed.get(source, register) if needed else register
        kind = type(source)
        if kind is AttrSource:
            append((ATTR, into, parent, _name(source.member), None, 0, _NO_REGISTERS))
        elif kind is GetItemSource:
            append((ITEM, into, parent, source.index, get_item, 0, _NO_REGISTERS))
        elif kind is LocalSource:
            append((LOCAL, into, -1, _name(source.local_name), None, 0, _NO_REGISTERS))
        else:
            for step in _reads(source, into, parent, fallbacks):
                if isinstance(step[3], _Pending):
                    pending.append(len(steps))
                append(step)
        if len(node_checks) > 1:
            node_checks = sorted(_unique(node_checks), key=_cost)
        for check in node_checks:
            expr = check.expr
            constants = check.constants
            if (expr is _EQUALS_TEMPLATE or expr == _EQUALS_TEMPLATE) and len(
                constants
            ) == 2 and constants[0][0] == "V" and constants[1][0] == "T":
                append((EQUALS, 0, into, constants[0][1], constants[1][1], 0, _NO_REGISTERS))
            elif expr == _TYPE_TEMPLATE and len(constants) == 1 and constants[0][0] == "T":
                append((TYPE_IS, 0, into, constants[0][1], None, 0, _NO_REGISTERS))
            else:
                step = _test(check, (into,), fallbacks)
                if isinstance(step[3], _Pending):
                    pending.append(len(steps))
                append(step)
        ordered += node_checks
        if children:
            below = register + 1
            if len(children) >= GROUP_MIN:
                children, last = _emit_groups(
                    children, into, below, tree, needed, False, steps, ordered
                )
                deepest = max(deepest, last)
            for child in reversed(children):
                push((child, into, below))
    for check in _unique(relational):
        step = _test(check, tuple([needed[s] for s in check.sources]), fallbacks)
        if isinstance(step[3], _Pending):
            pending.append(len(steps))
        append(step)
        ordered.append(check)
    if pending:
        functions = fallbacks.compile(label)
        for i in pending:
            step = steps[i]
            steps[i] = (*step[:3], functions[step[3].index], *step[4:])
    # (Roots may all have been read as one group: steps, not roots, tell.)
    return Plan(tuple(steps), deepest + 1 if steps else base, tuple(ordered))


def _emit_groups(
    children: list[Source], parent: int, first: int, tree: dict[Source, Any],
    needed: dict[Source, int], at_roots: bool, steps: list[Step], ordered: list[Check],
) -> tuple[list[Source], int]:
    """The grouped reads of :func:`guards.checks.codegen.emit_equal_groups`, in its
    order: at least :data:`GROUP_MIN` sibling leaves that each demand one exact
    built-in scalar are all read (attributes, then items; roots together) before
    any of them is tested, and before their other siblings.  The Python check reads
    them with one ``attrgetter``/``itemgetter`` call, so reading them one by one here
    runs the same properties in the same order.  Returns the siblings left to walk
    one by one (in their order) and the last register used."""
    attrs_: list[tuple[Source, Check]] = []
    items: list[tuple[Source, Check]] = []
    rest: list[Source] = []
    for child in children:
        child_checks, grandchildren = tree[child]
        demand = None
        if not grandchildren and not (needed and child in needed):
            unique = _unique(child_checks) if len(child_checks) > 1 else child_checks
            if len(unique) == 1 and scalar_demand(unique[0]) is not None:
                demand = unique[0]
        kind = type(child)
        if demand is None:
            rest.append(child)
        elif at_roots or (kind is AttrSource and isinstance(child, AttrSource)
                          and is_plain_identifier(child.member)):
            attrs_.append((child, demand))
        elif kind is GetItemSource and isinstance(child, GetItemSource) and (
            not child.index_is_slice
        ):
            items.append((child, demand))
        else:
            rest.append(child)
    last = first
    moved = False
    for group in (attrs_, items):
        if len(group) < GROUP_MIN:
            rest.extend(child for child, _ in group)
            moved = moved or bool(group)
            continue
        register = first
        for child, _ in group:  # attributes, items, or roots of the common kinds
            kind = type(child)
            if kind is AttrSource and isinstance(child, AttrSource):
                steps.append(
                    (ATTR, register, parent, _name(child.member), None, 0, _NO_REGISTERS)
                )
            elif kind is GetItemSource and isinstance(child, GetItemSource):
                steps.append((ITEM, register, parent, child.index, get_item, 0, _NO_REGISTERS))
            else:
                steps.extend(_reads(child, register, parent, _NO_FALLBACKS))
            register += 1
        register = first
        for _, check in group:
            constants = check.constants
            if len(constants) == 2 and constants[0][0] == "V" and constants[1][0] == "T":
                steps.append((EQUALS, 0, register, constants[0][1], constants[1][1], 0,
                              _NO_REGISTERS))
            else:
                steps.append(_test(check, (register,), _NO_FALLBACKS))
            register += 1
        ordered += [check for _, check in group]
        last = max(last, first + len(group) - 1)
    if moved and rest:  # small groups went back to the end of rest: the first order
        order = {child: i for i, child in enumerate(children)}
        rest.sort(key=order.__getitem__)
    return rest, last


def _tree(
    checks: Sequence[Check],
) -> tuple[dict[Source, tuple[list[Check], list[Source]]], list[Source], list[Check]]:
    """The access-path tree as :func:`~guards.checks.codegen.access_tree` makes it
    (paths in first-seen order, each under the path it extends), as plain lists:
    each source's checks and the sources one step below it; the roots; and the
    checks across paths."""
    tree: dict[Source, tuple[list[Check], list[Source]]] = {}
    roots: list[Source] = []
    relational: list[Check] = []
    get = tree.get
    for check in checks:
        sources = check.sources
        if len(sources) != 1:
            relational.append(check)
        for source in sources:
            node = get(source)
            if node is None:
                node = tree[source] = ([], [])
                # Up the path until a known prefix (or a root): each new one joins it.
                below = source
                while True:
                    base = below.base if isinstance(below, ChainedSource) else None
                    if base is None:
                        roots.append(below)
                        break
                    parent = get(base)
                    if parent is not None:
                        parent[1].append(below)
                        break
                    tree[base] = ([], [below])
                    below = base
            if len(sources) == 1:
                node[0].append(check)
    return tree, roots, relational


def _unique(checks: Sequence[Check]) -> list[Check]:
    """``checks`` without the later of two with equal ``dedup_key``, in their order."""
    seen: set[tuple[Any, ...]] = set()
    unique = []
    for check in checks:
        key = check.dedup_key
        if key not in seen:
            seen.add(key)
            unique.append(check)
    return unique


def _cost(check: Check) -> int:
    return check.cost


def _reads(source: Source, dst: int, src: int, fallbacks: _Fallbacks) -> list[Step]:
    rule = READS.get(type(source))
    if rule is not None:
        return rule(source, dst, src)
    emitter = fallbacks.emitter
    if src == -1:  # a root of another kind: its expression of L and G
        index = fallbacks.function(("L", "G"), source.step_code("", emitter.bind))
        return [(ROOT, dst, -1, _Pending(index), None, 0, _NO_REGISTERS)]
    index = fallbacks.function(("_b",), source.step_code("_b", emitter.bind))
    return [(CALL, dst, src, _Pending(index), None, 1, _NO_REGISTERS)]


def _test(check: Check, registers: tuple[int, ...], fallbacks: _Fallbacks) -> Step:
    if len(registers) == 1:
        rule = TESTS.get(check.expr)
        found = rule(dict(check.constants)) if rule is not None else None
        if found is not None:
            code, a, b, n = found
            return (code, 0, registers[0], a, b, n, _NO_REGISTERS)
    elif check.expr == "{0} is {1}" and len(registers) == 2:
        return (IS_REG, 0, registers[0], None, None, 0, (registers[1],))
    params = [f"_p{j}" for j in range(len(registers))]
    index = fallbacks.function(params, render_expr(check, params, fallbacks.emitter))
    return (PRED, 0, registers[0], _Pending(index), None, 0, registers)


def compile_checks_fast(checks: Sequence[Check], label: str) -> Generated:
    """``checks`` (the later of duplicates left out) as one ``check(L, G=None) -> bool``: in the C
    evaluator when it is available, else as :func:`~guards.checks.codegen.generate`'s
    Python function.  Either never raises, but for a ``BaseException`` that is not an
    ``Exception`` (``KeyboardInterrupt``), which propagates."""
    if EVALUATOR is None:
        return generate(_unique(checks), label)
    plan = build_plan(checks, label)
    evaluator = EVALUATOR.Evaluator(plan.steps, plan.registers)
    ordered = plan.ordered_checks
    return Generated(
        evaluator, LazyPredicates.of(ordered, label), ordered,
        # From the checks as given: the text walks the paths in the order it would
        # have without the evaluator (ordered puts checks across paths last).
        python=lambda: generate(_unique(checks), label),
    )
