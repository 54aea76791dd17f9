"""GuardBuilder: turns guards into checks against the values they were made from.

A builder is bound to one frame's ``f_locals`` and ``f_globals``.  Each guard
kind is a method (``TYPE_MATCH``, ``EQUALS_MATCH``, ...) that reads the guarded
value through its source and emits one or more :class:`Check` records: a small
expression template over the values of some sources and some bound constants.
Code generation (``guards.checks.codegen``) turns the checks into one fast function;
the verbose path (``guards.checks.explain``) evaluates the very same templates one by
one to explain a failure.

Users add kinds with :func:`guards.register_guard_kind`; see ``docs/guard-kinds.md``.
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
import string
import sys
import types
import weakref
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import attrs

from guards.core.guard import Guard, capture_provenance
from guards.core.signatures import parameters
from guards.core.sources import (
    AttrSource,
    ClosureSource,
    CodeSource,
    DefaultsSource,
    GetItemSource,
    Source,
    WeakRefCallSource,
    read_memoized,
)
from guards.core.values import (
    ArraySnapshot,
    builtins_of,
    cell_is_empty,
    class_keys,
    decimal_context_holds,
    decimal_context_state,
    equality_is_fixed,
    has_loose_equality,
    item_addresses,
    kinds_of,
    same_value,
    show,
    snapshot,
)
from guards.errors import (
    GuardBuildError,
    GuardsError,
    GuardsTypeError,
    GuardsValueError,
    check_frame,
    check_type,
    describe,
    must_be,
)

#: Costs order the checks on one value: cheapest first.
COST_IDENTITY = 0  #: ``is`` tests and exact type tests; never run user code
COST_CHEAP = 1  #: lengths, comparisons of built-in values
COST_USER_CODE = 2  #: may run user code (``hasattr``, a user ``__eq__``)

_FORMATTER = string.Formatter()


def _brace_safe(text: str) -> str:
    """``text`` for a ``describe`` template: its braces stay literal under ``str.format``."""
    return text.replace("{", "{{").replace("}", "}}")


def _identity(*values: Any) -> Any:
    return values[0] if len(values) == 1 else values


def _other(expected: bool) -> Callable[..., bool]:
    """``actual`` of a yes/no check that failed: the other answer.  Asking again would
    run the value's hook (``__getattr__``, ``__contains__``, ``__bool__``) a second time."""
    return lambda *values: not expected


@attrs.frozen(eq=False)
class Check:
    """One boolean test emitted by a guard kind.

    ``expr`` is a template: ``{0}``, ``{1}``... stand for the values of
    ``sources``, ``{NAME}`` for the constant bound as ``NAME``.  ``actual``
    maps the source values to what an explanation shows as "actual".
    """

    guard: Guard
    sources: tuple[Source, ...]
    expr: str
    constants: tuple[tuple[str, Any], ...]
    description: str
    expected: Any
    actual: Callable[..., Any]
    cost: int
    label: str | None

    @property
    def dedup_key(self) -> tuple[Any, ...]:
        """Two checks with equal keys test the same thing; compile keeps one."""
        # The commonest lengths unpacked: a miss asks one key per check it compiles, and
        # zip(*constants) with map(id, ...) cost a value read ten times as much.
        constants = self.constants
        if len(constants) == 2:
            (name0, value0), (name1, value1) = constants
            return (self.sources, self.expr, ((name0, id(value0)), (name1, id(value1))))
        if len(constants) == 1:
            ((name0, value0),) = constants
            return (self.sources, self.expr, ((name0, id(value0)),))
        return (self.sources, self.expr, tuple([(name, id(value)) for name, value in constants]))


#: Exact types kept as themselves by an equality check, with a fixed and exact ``==``
#: (a float here is neither a NaN nor a zero: those have checks of their own).
_EXACT_EQUALITY = frozenset({int, str, bytes, float})
#: The equality check of a value of those types.
_EQUALS_EXPR = "{0} is {V} or (type({0}) is {T} and {0} == {V})"
#: The names :func:`show` gives the commonest types of a ``TYPE_MATCH`` (their qualnames).
_SHOWN_TYPES: dict[type, str] = {t: t.__qualname__ for t in (int, float, str, bytes, bool)}
#: An int strictly between ``-_SHORT_INT`` and ``_SHORT_INT`` has a short repr, as
#: :func:`show` gives it (fewer digits than its limit, and than the interpreter's).
_SHORT_INT = 10**18
#: ``("T", t)`` for the commonest types ``t`` of a scalar check's constants (shared).
_TYPE_PAIRS: dict[type, tuple[str, type]] = {
    t: ("T", t) for t in (int, float, str, bytes, bool, type(None))
}
#: No label found yet (``GuardBuilder._base_labels``' default).
_NO_LABEL: Any = object()
#: The kinds :meth:`GuardBuilder._scalar_check` may build at once.
_SCALAR_KINDS = frozenset({"TYPE_MATCH", "CONSTANT_MATCH", "EQUALS_MATCH"})


class GuardBuilder:
    """Builds checks for guards, bound to the values of one frame.

    The guard kinds are its methods, used as ``source.make_guard(GuardBuilder.TYPE_MATCH)``.
    """

    def __init__(
        self,
        f_locals: Mapping[str, Any],
        f_globals: Mapping[str, Any] | None = None,
        *,
        values: Mapping[Source, Any] | None = None,
        memo: dict[Source, Any] | None = None,
    ) -> None:
        check_frame(f_locals, f_globals)
        if values is not None:
            check_type("values", values, Mapping)
        if memo is not None:
            check_type("memo", memo, dict)
        self.f_locals = f_locals
        self.f_globals = f_globals
        self.checks: list[Check] = []
        self.dropped_guards: list[Guard] = []
        # Values already read (by a trace), so guards describe what was seen.  A
        # tracing context passes its own ``memo``: the builder then reads and keeps
        # values in it, so the trace and its guards see every path read once.
        self._values: dict[Source, Any] = memo if memo is not None else dict(values or {})
        self._current: Guard | None = None
        # _label() of the bases of scalar_check()'s sources (the object or container
        # whose attributes or items a miss read, one per value).
        self._base_labels: dict[Source, str | None] = {}

    # -- driving ----------------------------------------------------------------
    def build(self, guard: Guard) -> None:
        """Emit the checks of ``guard``, or record it as dropped if it is on a skipped path."""
        if type(guard) is not Guard:
            check_type("guard", guard, Guard)
        if guard.is_skipped:
            self.dropped_guards.append(guard)
            return
        kind = _KINDS.get(guard.kind)
        if kind is None:
            msg = f"guard {guard} has unknown kind {guard.kind!r}"
            raise GuardsValueError(msg)
        self._current = guard
        try:
            if guard.kind in _SCALAR_KINDS and not guard.args and self._scalar_check(guard):
                return
            kind(self, guard, **guard.arguments)
        except GuardsError:
            raise
        except Exception as exc:
            msg = f"cannot build {guard}: {type(exc).__name__}: {exc}"
            raise GuardBuildError(msg, guard=guard) from exc
        finally:
            self._current = None

    def _scalar_check(self, guard: Guard) -> bool:
        """The commonest checks, made at once: ``TYPE_MATCH`` of any value, and
        ``CONSTANT_MATCH``/``EQUALS_MATCH`` of an exact int, str, bytes or float (not a
        NaN nor a zero).  The same :class:`Check` that :meth:`add_check` makes for them
        (a miss builds one per value read); False for any other case."""
        return self.scalar_check(guard, self.get(guard.source))

    def scalar_check(self, guard: Guard, value: Any) -> bool:
        """:meth:`build` of ``guard``, a ``TYPE_MATCH``, ``CONSTANT_MATCH`` or
        ``EQUALS_MATCH`` without arguments on a source that is not skipped, whose value
        (read already) is ``value``, when it is one of the commonest checks (see
        ``_scalar_check``): True once its check is emitted, else False (nothing done).

        For a tracing context that builds many such guards at once (one per value a
        miss reads), without :meth:`build`'s lookups.
        """
        source = guard.source
        t = type(value)
        # Check's fields by position, in their order (guard, sources, expr, constants,
        # description, expected, actual, cost, label): binding nine keywords took a
        # third of making the record, one per value a miss reads.
        # _scalar_label(source), inline (one per check a miss compiles).
        base = source.base
        if type(source) is AttrSource or (
            type(source) is GetItemSource and not isinstance(base, ClosureSource)
        ):
            label = self._base_labels.get(base, _NO_LABEL)  # type: ignore[arg-type]
            if label is _NO_LABEL:
                label = self._base_labels[base] = self._label(base)  # type: ignore[index,arg-type]
        else:
            label = self._label(source)
        # The constants' ("T", t) pair of one of the commonest types is shared.
        pair = _TYPE_PAIRS.get(t) or ("T", t)
        if guard.kind == "TYPE_MATCH":
            shown = _SHOWN_TYPES.get(t)
            self.checks.append(Check(
                guard, (source,), "type({0}) is {T}", (pair,),
                f"type({source.name}) is {show(t) if shown is None else shown}",
                t, type, COST_IDENTITY, label,
            ))
            return True
        if t not in _EXACT_EQUALITY or (t is float and (value != value or value == 0.0)):
            return False
        # show(value), without its call for a short int (its repr is what show gives).
        shown = repr(value) if t is int and -_SHORT_INT < value < _SHORT_INT else show(value)
        self.checks.append(Check(
            guard, (source,), _EQUALS_EXPR, (("V", value), pair),
            f"{source.name} == {shown}", value, _identity, COST_CHEAP, label,
        ))
        return True

    def _scalar_label(self, source: Source) -> str | None:
        """:meth:`_label` of ``source``, that of its base (found once per base) when it is an
        attribute, or an item of anything but a function's cells: the same, as the
        label comes from a step of one of those two forms further in."""
        base = source.base
        if type(source) is AttrSource or (
            type(source) is GetItemSource and not isinstance(base, ClosureSource)
        ):
            assert base is not None
            try:
                return self._base_labels[base]
            except KeyError:
                label = self._base_labels[base] = self._label(base)
                return label
        return self._label(source)

    def build_checks(self, guard: Guard) -> tuple[Check, ...]:
        """:meth:`build` ``guard`` and return the checks it emitted (none if it was dropped)."""
        before = len(self.checks)
        self.build(guard)
        return tuple(self.checks[before:])

    def get(self, source: Source) -> Any:
        """The value at ``source`` in the bound frame (each source is read once)."""
        try:
            return self._values[source]
        except KeyError:
            check_type("source", source, Source)
        try:
            return read_memoized(source, self._values, self.f_locals, self.f_globals)
        except GuardBuildError:
            raise
        except Exception as exc:
            msg = f"cannot read {source.name}: {type(exc).__name__}: {exc}"
            raise GuardBuildError(msg, guard=self._current) from exc

    def add_check(
        self,
        guard: Guard,
        expr: str,
        *,
        expected: Any,
        describe: str,
        sources: tuple[Source, ...] | None = None,
        actual: Callable[..., Any] = _identity,
        cost: int = COST_CHEAP,
        **constants: Any,
    ) -> None:
        """Emit one check for ``guard``.

        ``expr`` is a Python expression template over ``{0}``, ``{1}``... (the
        values of ``sources``, which default to the guard's own source) and
        ``{NAME}`` for each constant passed as ``NAME=value``.  Constants are
        bound to the generated function, never pasted into its text.
        ``describe`` is the same template for people: ``{0}`` becomes the
        source's name and ``{expected}`` a display of ``expected``.
        """
        if not (
            type(guard) is Guard and type(expr) is str and type(describe) is str
            and type(cost) is int
        ):  # the common case in one test; else the named checks say what is wrong
            check_type("guard", guard, Guard)
            check_type("expr", expr, str)
            check_type("describe", describe, str)
            check_type("cost", cost, int)
        if not callable(actual):
            raise must_be("actual", "callable", actual)
        if sources is None:
            sources = (guard.source,)
        if type(sources) not in (tuple, list) or not sources:
            raise must_be("sources", "a non-empty tuple of Source", sources)
        if len(sources) != 1 or not isinstance(sources[0], Source):
            for i, source in enumerate(sources):
                check_type(f"sources[{i}]", source, Source)
        template = (expr, len(sources), tuple(constants))
        if template not in _VALID_TEMPLATES:
            _validate_template(expr, len(sources), constants)
            if len(_VALID_TEMPLATES) < _MAX_VALID_TEMPLATES:
                _VALID_TEMPLATES.add(template)
        names = [s.name for s in sources]
        try:
            description = describe.format(*names, expected=show(expected))
        except (LookupError, ValueError, AttributeError) as exc:
            msg = (
                f"describe template {describe!r} of check {expr!r} is malformed "
                f"({type(exc).__name__}: {exc}); it may use {{0}}..{{{len(sources) - 1}}} "
                "and {expected}"
            )
            raise GuardsValueError(msg) from None
        self.checks.append(
            Check(
                guard=guard,
                sources=tuple(sources),
                expr=expr,
                constants=tuple(constants.items()),
                description=description,
                expected=expected,
                actual=actual,
                cost=cost,
                label=self._label(sources[0]),
            )
        )

    def _label(self, source: Source) -> str | None:
        """The user's name for a closure cell or default on the path, if there is one."""
        step: Source | None = source
        while step is not None:  # innermost step first
            try:
                if isinstance(step, GetItemSource) and isinstance(step.base, ClosureSource):
                    code = self.get(step.base.base).__code__
                    return str(code.co_freevars[step.index])
                if isinstance(step, DefaultsSource):
                    if step.is_kw:
                        return str(step.idx_key)
                    fn = self.get(step.base)
                    positional = parameters(fn.__code__).positional
                    first = len(positional) - len(fn.__defaults__)
                    return str(positional[first + int(step.idx_key)])
            except Exception:
                return None
            step = step.base
        return None

    # -- helpers for kinds -------------------------------------------------------
    def _type_check(self, guard: Guard, value: Any) -> None:
        self.type_check(guard, type(value))

    def type_check(self, guard: Guard, cls: type) -> None:
        """Emit the check ``type(v) is cls`` for ``guard``'s value (what ``TYPE_MATCH``
        and the kinds that check an exact type emit; a loaded guard document too)."""
        self.add_check(
            guard, "type({0}) is {T}", T=cls, expected=cls,
            describe="type({0}) is {expected}", actual=type, cost=COST_IDENTITY,
        )

    def length_check(self, guard: Guard, length: int) -> None:
        """Emit ``SEQUENCE_LENGTH``'s check ``len(v) == length`` for ``guard``'s value."""
        self.add_check(
            guard, "len({0}) == {N}", N=length, expected=length,
            describe="len({0}) == {expected}", actual=len, cost=COST_CHEAP,
        )

    def keys_check(self, guard: Guard, keys: list[Any]) -> None:
        """Emit ``DICT_KEYS_MATCH``'s check: ``list(v)`` is ``keys``, in order (with ``==``
        when every key is a ``str``, else also by exact type)."""
        # Plain == forgives 1 == True == 1.0; for string keys it is exact, and cheap.
        expr = "list({0}) == {K}" if all(type(k) is str for k in keys) else (
            "{same}(list({0}), {K})"
        )
        self.add_check(
            guard, expr, same=same_value, K=keys, expected=keys,
            describe="list({0}) == {expected}", actual=list, cost=COST_CHEAP,
        )

    def _identity_check(self, guard: Guard, source: Source, obj: Any) -> None:
        try:
            ref = weakref.ref(obj)
        except TypeError:
            self.add_check(
                guard, "{0} is {obj}", sources=(source,), obj=obj, expected=obj,
                describe="{0} is {expected}", cost=COST_IDENTITY,
            )
            return
        # A weak reference keeps the user's object collectable; once it is dead,
        # ref() is None, which must not match a None in its place.  The check
        # record keeps only the reference too, so "expected" is the weakref.
        self.add_check(
            guard, "{ref}() is {0} is not None", sources=(source,), ref=ref, expected=ref,
            describe=f"{{0}} is {_brace_safe(show(obj))}", cost=COST_IDENTITY,
        )

    # -- the built-in kinds ------------------------------------------------------
    def TYPE_MATCH(self, guard: Guard) -> None:
        """The value's exact type is the same type object."""
        self._type_check(guard, self.get(guard.source))

    def ID_MATCH(self, guard: Guard) -> None:
        """The value is the same object (held by weak reference where possible)."""
        self._identity_check(guard, guard.source, self.get(guard.source))

    def FUNCTION_MATCH(self, guard: Guard) -> None:
        """The same function object (an identity check)."""
        self._identity_check(guard, guard.source, self.get(guard.source))

    def CLOSURE_MATCH(self, guard: Guard) -> None:
        """A Python function with the same ``__code__``; other callables by identity.

        A fresh closure of the same ``def`` matches; its cells are guarded
        separately, and only when read.
        """
        value = self.get(guard.source)
        if type(value) is not types.FunctionType:
            self._identity_check(guard, guard.source, value)
            return
        self._type_check(guard, value)
        code_source = CodeSource(guard.source)
        self.add_check(
            guard, "{0} is {code}", sources=(code_source,), code=value.__code__,
            expected=value.__code__, describe="{0} is {expected}", cost=COST_IDENTITY,
        )

    def EQUALS_MATCH(self, guard: Guard) -> None:
        """Exact type and ``==``; NaN matches NaN of the same type, and -0.0 is not 0.0.

        Containers are compared item by item with exact types, sets and dicts in
        iteration order; ``range``, ``Decimal`` and aware datetimes by their full
        structure (``range(0, 3, 2)`` is not ``range(0, 4, 2)``).
        """
        value = self.get(guard.source)
        t = type(value)
        if t is complex:
            self.add_check(
                guard, "type({0}) is {T} and {same}({0}, {V})", T=t, same=same_value, V=value,
                expected=value, describe="{0} == {expected}", cost=COST_CHEAP,
            )
            return
        if t is float and value != value:
            self.add_check(
                guard, "type({0}) is {T} and {0} != {0}", T=t, expected=value,
                describe="{0} is {expected}", cost=COST_CHEAP,
            )
            return
        if t is float and value == 0.0:
            self.add_check(
                guard, "type({0}) is {T} and {0} == 0.0 and {copysign}(1.0, {0}) == {sign}",
                T=t, copysign=math.copysign, sign=math.copysign(1.0, value),
                expected=value, describe="{0} == {expected}", cost=COST_CHEAP,
            )
            return
        if t in _EXACT_EQUALITY:  # what follows, decided for the commonest values at once
            self.add_check(
                guard, _EQUALS_EXPR, V=value, T=t,
                expected=value, describe="{0} == {expected}", cost=COST_CHEAP,
            )
            return
        expected = snapshot(value)
        cost = COST_CHEAP if equality_is_fixed(value) else COST_USER_CODE
        if has_loose_equality(t):
            # == forgives inside containers what EQUALS_MATCH must not: [True] == [1],
            # (0.0,) == (-0.0,), {8, 16} == {16, 8} (another order); and in some value
            # types (range, Decimal): so an equal value is also compared exactly.
            self.add_check(
                guard, "{0} is {V} or (type({0}) is {T} and {0} == {V} and {same}({0}, {V}))",
                V=expected, T=t, same=same_value, expected=expected,
                describe="{0} == {expected}", cost=cost,
            )
            return
        self.add_check(
            guard, "{0} is {V} or (type({0}) is {T} and {0} == {V})", V=expected, T=t,
            expected=expected, describe="{0} == {expected}", cost=cost,
        )

    def CONSTANT_MATCH(self, guard: Guard) -> None:
        """``None`` and bools by identity, every other value as ``EQUALS_MATCH``."""
        value = self.get(guard.source)
        if value is None:
            self.NONE_MATCH(guard)
        elif type(value) is bool:
            self.BOOL_MATCH(guard)
        else:
            self.EQUALS_MATCH(guard)

    def DECIMAL_CONTEXT_MATCH(self, guard: Guard) -> None:
        """Made on ``ModuleSource("decimal")``: the thread's decimal context (what
        ``decimal.getcontext()`` returns) has the settings it has now (``prec``,
        ``rounding``, ``Emin``, ``Emax``, ``capitals``, ``clamp``, the traps), and at
        least the flags that are set now.  Decimal arithmetic, ``quantize`` and
        ``str()`` read the settings and set flags: a run that set a flag is reused
        only where that flag is set already, so a hit has no effect a call would have.
        """
        module = self.get(guard.source)
        getcontext = getattr(module, "getcontext", None)
        if type(module) is not types.ModuleType or not callable(getcontext):
            raise must_be(f"{guard.source.name} for DECIMAL_CONTEXT_MATCH", "the decimal module",
                          module, GuardBuildError)
        settings, flags = decimal_context_state(getcontext())
        self.decimal_context_check(guard, getcontext, settings, flags)

    def decimal_context_check(
        self, guard: Guard, getcontext: Callable[[], Any], settings: tuple[Any, ...],
        flags: frozenset[type],
    ) -> None:
        """Emit ``DECIMAL_CONTEXT_MATCH``'s check from what it read: ``getcontext``
        (the decimal module's), the context's ``settings`` and set ``flags``, as
        :func:`~guards.core.values.decimal_context_state` gives them."""
        expected = _DecimalContext(settings, flags)
        self.add_check(
            guard, "{holds}({getcontext}(), {S}, {F})", holds=decimal_context_holds,
            getcontext=getcontext, S=settings, F=flags, expected=expected,
            describe="the thread's decimal context is {expected}",
            actual=lambda _: _DecimalContext(*decimal_context_state(getcontext())),
            cost=COST_CHEAP,
        )

    def NDARRAY_MATCH(self, guard: Guard) -> None:
        """A NumPy array of exact type ``numpy.ndarray`` (not of Python objects) with the
        same dtype, shape, strides, flags (writeable, owning its data, aligned) and bytes,
        under the same ``numpy.geterr()`` and ``numpy.get_printoptions()``, in one check
        (Dynamo's ``TENSOR_MATCH``, with the content).  NumPy is not imported: the
        array's own module is used.
        """
        value = self.get(guard.source)
        numpy = sys.modules.get("numpy")
        if numpy is None or type(value) is not numpy.ndarray or value.dtype.hasobject:
            raise must_be(f"{guard.source.name} for NDARRAY_MATCH",
                          "a numpy.ndarray not of Python objects", value, GuardBuildError)
        snapshot = ArraySnapshot.of(value, numpy)

        def actual(array: Any) -> Any:
            return ArraySnapshot.of(array, numpy) if type(array) is numpy.ndarray else array

        self.add_check(
            guard, "type({0}) is {T} and {matches}({0})", T=numpy.ndarray,
            matches=snapshot.matches, expected=snapshot, actual=actual,
            describe="{0} is an array equal to {expected}", cost=COST_CHEAP,
        )

    def NONE_MATCH(self, guard: Guard) -> None:
        """The value is ``None``."""
        self.add_check(
            guard, "{0} is None", expected=None, describe="{0} is None", cost=COST_IDENTITY,
        )

    def NOT_NONE_MATCH(self, guard: Guard) -> None:
        """The value is not ``None``."""
        self.add_check(
            guard, "{0} is not None", expected="not None", describe="{0} is not None",
            actual=lambda v: "None" if v is None else "not None", cost=COST_IDENTITY,
        )

    def BOOL_MATCH(self, guard: Guard) -> None:
        """The value is the very bool ``True`` (or ``False``) it was."""
        value = self.get(guard.source)
        if type(value) is not bool:
            msg = f"BOOL_MATCH needs a bool at {guard.source.name}, got {describe(value)}"
            raise GuardBuildError(msg, guard=guard)
        expr = "{0} is True" if value else "{0} is False"
        self.add_check(guard, expr, expected=value, describe=expr, cost=COST_IDENTITY)

    def HASATTR(self, guard: Guard) -> None:
        """On ``AttrSource(base, name)``: ``base`` has (or lacks) ``name``, as it did."""
        source = guard.source
        if not isinstance(source, AttrSource):
            msg = f"HASATTR needs an AttrSource, got {source.name} ({type(source).__name__})"
            raise GuardBuildError(msg, guard=guard)
        present = hasattr(self.get(source.base), source.member)
        expr = "hasattr({0}, {member})" if present else "not hasattr({0}, {member})"
        member = source.member
        self.add_check(
            guard, expr, sources=(source.base,), member=member, expected=present,
            describe=f"hasattr({{0}}, {_brace_safe(repr(member))}) is {present}",
            actual=_other(present), cost=COST_USER_CODE,
        )

    def SEQUENCE_LENGTH(self, guard: Guard) -> None:
        """The same exact type and the same ``len``."""
        value = self.get(guard.source)
        self._type_check(guard, value)
        self.length_check(guard, len(value))

    def SEQUENCE_VALUES_MATCH(self, guard: Guard) -> None:
        """A list, tuple, set or frozenset of exact built-in scalars as one value: its
        exact type, its length, then every item at once (a set's in iteration order,
        which two equal sets need not share), by exact type and by value.

        The items are compared in C: ``list(map(type, v)) == types`` and ``v == items``
        (what ``==`` forgives, ``1 == 1.0 == True`` and subclasses, the types tell
        apart).  A NaN matches itself only (``==`` on lists tests identity first), as
        ``ID_MATCH`` on it would; the sign of a zero is compared too, so ``-0.0`` is
        not ``0.0``.  The same tuple object passes at once.
        """
        value = self.get(guard.source)
        t = type(value)
        # Everything below is taken from one copy (a tuple is its own; a set's in its
        # iteration order): another thread changing the value meanwhile cannot make the
        # types and the items disagree.
        expected = value if t is tuple else list(value) if t in (list, set, frozenset) else []
        types_of_items = list(map(type, expected))
        kinds = kinds_of(types_of_items)
        if t not in (list, tuple, set, frozenset) or kinds is None:
            msg = (f"SEQUENCE_VALUES_MATCH needs a list, tuple, set or frozenset of exact int, "
                   f"float, complex, str, bytes, bool or None items at {guard.source.name}, "
                   f"got {describe(value)}")
            raise GuardBuildError(msg, guard=guard)
        self._type_check(guard, value)
        self.add_check(
            guard, "len({0}) == {N}", N=len(expected), expected=len(expected),
            describe="len({0}) == {expected}", actual=len, cost=COST_CHEAP,
        )
        zeros = _signed_positions(expected, kinds)
        signs = _ZeroSigns(zeros, all(type(expected[i]) is float for i in zeros)) if zeros else None
        addresses = item_addresses(expected)
        if t is set or t is frozenset:
            # In iteration order, as `list(s)` and a loop see it (two equal sets can
            # iterate differently); the items are compared by a helper, as a list.
            same = _SameItems(types_of_items, expected, signs,
                              None if signs is None else signs(expected))
            found: dict[str, Any] = {"same": same}
            expr = "{same}({0})"
            if addresses is not None:
                expr = "{addresses}({0}) == {A} or " + expr
                found.update(addresses=item_addresses, A=addresses)
            self.add_check(
                guard, expr, expected=expected,
                describe="list({0}) == {expected} (exact item types)", actual=list,
                cost=COST_CHEAP, **found,
            )
            return
        expr = "list(map(type, {0})) == {K} and {0} == {V}"
        constants: dict[str, Any] = {"K": types_of_items, "V": expected}
        if signs is not None:
            expr += " and {signs}({0}) == {S}"
            constants.update(signs=signs, S=signs(expected))
        if addresses is not None:
            # The very same items (the check keeps them alive): their types and values
            # are the expected ones, read in one C copy instead of a call per item.
            expr = "{addresses}({0}) == {A} or (" + expr + ")"
            constants.update(addresses=item_addresses, A=addresses)
        if t is tuple:  # immutable, and so are its items: itself passes at once
            expr = "{0} is {V} or " + (expr if addresses is None else "(" + expr + ")")
        self.add_check(
            guard, expr, expected=expected, describe="{0} == {expected} (exact item types)",
            cost=COST_CHEAP, **constants,
        )

    def DICT_KEYS_MATCH(self, guard: Guard) -> None:
        """The same exact type and the same keys in the same order."""
        value = self.get(guard.source)
        if not isinstance(value, Mapping):
            msg = f"DICT_KEYS_MATCH needs a mapping at {guard.source.name}, got {describe(value)}"
            raise GuardBuildError(msg, guard=guard)
        keys = list(value)
        self._type_check(guard, value)
        self.keys_check(guard, keys)

    def CLASS_KEYS_MATCH(self, guard: Guard) -> None:
        """On a class ``__dict__``: the same keys in the same order, not counting the
        caches that libraries store there (copyreg's ``__slotnames__``, added by the
        first copy of an instance)."""
        value = self.get(guard.source)
        if not isinstance(value, Mapping):
            msg = f"CLASS_KEYS_MATCH needs a mapping at {guard.source.name}, got {describe(value)}"
            raise GuardBuildError(msg, guard=guard)
        keys = class_keys(value)
        self.add_check(
            guard, "{keys}({0}) == {K}", keys=class_keys, K=keys, expected=keys,
            describe="class_keys({0}) == {expected}", actual=class_keys, cost=COST_CHEAP,
        )

    def DICT_CONTAINS(self, guard: Guard) -> None:
        """On ``GetItemSource(base, key)``: ``key in base`` is as it was (present or absent)."""
        source = guard.source
        if not isinstance(source, GetItemSource):
            kind = type(source).__name__
            msg = f"DICT_CONTAINS needs a GetItemSource, got {source.name} ({kind})"
            raise GuardBuildError(msg, guard=guard)
        key = source.index
        present = key in self.get(source.base)
        expr = "{key} in {0}" if present else "{key} not in {0}"
        self.add_check(
            guard, expr, sources=(source.base,), key=key, expected=present,
            describe=f"({_brace_safe(show(key))} in {{0}}) is {present}",
            actual=_other(present), cost=COST_CHEAP,
        )

    def DUPLICATE_INPUT(self, guard: Guard, source_b: Source | None = None) -> None:
        """The guard's source and ``source_b`` are the same object."""
        if not isinstance(source_b, Source):
            msg = f"DUPLICATE_INPUT needs source_b=<Source>, got {describe(source_b)}"
            raise GuardsTypeError(msg)
        self.get(guard.source)
        self.get(source_b)
        self.add_check(
            guard, "{0} is {1}", sources=(guard.source, source_b), expected=True,
            describe="{0} is {1}", actual=lambda a, b: a is b, cost=COST_IDENTITY,
        )

    def BUILTIN_MATCH(self, guard: Guard) -> None:
        """On ``GetItemSource(globals, name)``: ``name`` is not a global, and the builtins of
        those globals (:func:`builtins_of`) hold the same object under it, or lack it, as
        they did: what ``LOAD_GLOBAL`` of ``name`` finds.

        The builtins dict is bound as it was when the guard was built (a function's
        builtins are fixed when it is made); the globals are read at each check.
        """
        source = guard.source
        if not isinstance(source, GetItemSource) or type(source.index) is not str:
            msg = f"BUILTIN_MATCH needs a GetItemSource with a name, got {source.name}"
            raise GuardBuildError(msg, guard=guard)
        name = source.index
        namespace = self.get(source.base)
        if name in namespace:
            msg = f"BUILTIN_MATCH: {name!r} is a global in {source.base.name}, not a builtin"
            raise GuardBuildError(msg, guard=guard)
        table = builtins_of(namespace)
        if name in table:
            found = table[name]
            self.add_check(
                guard, "{key} not in {0} and {B}[{key}] is {obj}", sources=(source.base,),
                key=name, B=table, obj=found, expected=found,
                describe=f"{name} is the builtin {_brace_safe(show(found))}, not a global",
                actual=lambda g: g[name] if name in g else table.get(name, "<absent>"),
                cost=COST_IDENTITY,
            )
            return
        self.add_check(
            guard, "{key} not in {0} and {key} not in {B}", sources=(source.base,),
            key=name, B=table, expected="<absent>",
            describe=f"{name} is neither a global nor a builtin",
            actual=lambda g: g[name] if name in g else table.get(name, "<absent>"),
            cost=COST_IDENTITY,
        )

    def NO_ALIASING(self, guard: Guard, others: tuple[Source, ...] | None = None) -> None:
        """The guard's source and every source in ``others`` reach pairwise distinct objects.

        Dynamo's ``NO_TENSOR_ALIASING`` for any object: what keeps ``a is b`` false.
        """
        if type(others) is not tuple or not others or not all(
            isinstance(s, Source) for s in others
        ):
            msg = f"NO_ALIASING needs others=<tuple of Source>, got {describe(others)}"
            raise GuardsTypeError(msg)
        sources = (guard.source, *others)
        for source in sources:
            self.get(source)
        expr = "{distinct}(" + ", ".join(f"{{{i}}}" for i in range(len(sources))) + ")"
        shown = ", ".join(f"{{{i}}}" for i in range(min(len(sources), _SHOWN_SOURCES)))
        if len(sources) > _SHOWN_SOURCES:
            shown += f" and {len(sources) - _SHOWN_SOURCES} more"
        self.add_check(
            guard, expr, sources=sources, distinct=_all_distinct, expected="distinct",
            describe=f"{shown} are distinct objects", actual=lambda *v: "not distinct",
            cost=COST_IDENTITY,
        )

    def WEAKREF_ALIVE(self, guard: Guard) -> None:
        """The weak reference's referent is alive (made on ``WeakRefCallSource(r)`` or ``r``).

        The reference's exact type is checked first, so that whatever else is found
        at its path later is never called.
        """
        source = guard.source
        ref_source = source.base if isinstance(source, WeakRefCallSource) else source
        value = self.get(ref_source)
        if not issubclass(type(value), weakref.ref):
            where = ref_source.name
            msg = f"WEAKREF_ALIVE needs a weak reference at {where}, got {describe(value)}"
            raise GuardBuildError(msg, guard=guard)
        self.add_check(
            guard, "type({0}) is {T}", sources=(ref_source,), T=type(value),
            expected=type(value), describe="type({0}) is {expected}", actual=type,
            cost=COST_IDENTITY,
        )
        if ref_source is not source:
            self.get(source)
            self.add_check(
                guard, "{0} is not None", expected="alive", describe="{0} is not None",
                actual=lambda v: "dead" if v is None else "alive", cost=COST_IDENTITY,
            )
            return
        self.add_check(
            guard, "{0}() is not None", expected="alive", describe="{0}() is not None",
            actual=lambda r: "dead" if r() is None else "alive", cost=COST_CHEAP,
        )

    def TRUTH_MATCH(self, guard: Guard) -> None:
        """The value's truth (``bool(v)``) is what it was; finer than its length or value."""
        truth = bool(self.get(guard.source))
        self.add_check(
            guard, "{0}" if truth else "not {0}", expected=truth,
            describe=f"bool({{0}}) is {truth}", actual=_other(truth), cost=COST_CHEAP,
        )

    def CELL_EMPTY(self, guard: Guard) -> None:
        """On ``AttrSource(cell, "cell_contents")``: the cell is empty (or not), as it was."""
        source = guard.source
        if not (isinstance(source, AttrSource) and source.member == "cell_contents"):
            msg = f"CELL_EMPTY needs a ...cell_contents source, got {source.name}"
            raise GuardBuildError(msg, guard=guard)
        empty = cell_is_empty(self.get(source.base))
        state = "empty" if empty else "not empty"
        self.add_check(
            guard, "{is_empty}({0}) is {empty}", sources=(source.base,), is_empty=cell_is_empty,
            empty=empty, expected=empty, describe=f"the cell {{0}} is {state}",
            actual=cell_is_empty, cost=COST_CHEAP,
        )

    # -- predicates on scalars (what ``specialize`` guards when a value is only tested) --
    def COMPARE_MATCH(
        self, guard: Guard, op: str | None = None, other: Hashable = None,
        apply: tuple[Hashable, ...] = (),
    ) -> None:
        """``value <op> other`` has the outcome it had, ``other`` being a constant or a
        :class:`Source`; the value is first transformed by ``apply``: ``()`` (itself),
        ``("len",)`` (its length) or ``(sym, K)`` / ``(sym, K, "reflected")`` (``value sym K``
        or ``K sym value``, ``sym`` one of ``% // + - * &``).

        Only exact built-in scalars (and, for ``len``, built-in containers) are accepted,
        and their exact types are checked first, so the test runs no user code.
        Rendered as the test reads in code, with its outcome: ``(L['n'] >= 1024) is True``,
        ``(L['n'] % 16 == 0) is False``, ``(len(L['xs']) > 3) is True``.
        """
        if op not in COMPARISONS:
            raise must_be("op= of COMPARE_MATCH", f"one of {sorted(COMPARISONS)}", op)
        value = self.get(guard.source)
        _applied(guard, value, apply)  # raises for a value or transform it does not take
        if isinstance(other, Source):
            other_value = self.get(other)
            _check_scalar(guard, other.name, other_value)
        else:
            _check_scalar(guard, "other=", other)
            other_value = other
        outcome = COMPARISONS[op](apply_transform(apply, value), other_value)
        self.compare_checks(guard, op, other, apply, type(value), type(other_value), outcome)

    def compare_checks(
        self, guard: Guard, op: str | None, other: Hashable, apply: tuple[Hashable, ...],
        cls: type, other_cls: type, outcome: bool,
    ) -> None:
        """Emit ``COMPARE_MATCH``'s checks from what it read: the exact types ``cls`` of
        the value and ``other_cls`` of ``other`` (checked when ``other`` is a source),
        and the ``outcome`` of the comparison (a loaded guard document has no value)."""
        if op not in COMPARISONS:
            raise must_be("op= of COMPARE_MATCH", f"one of {sorted(COMPARISONS)}", op)
        lhs, lhs_shown, constants = _applied(guard, None, apply, cls)
        self.type_check(guard, cls)
        if isinstance(other, Source):
            _check_scalar(guard, other.name, None, other_cls)
            self.add_check(
                guard, "type({0}) is {T}", sources=(other,), T=other_cls,
                expected=other_cls, describe="type({0}) is {expected}", actual=type,
                cost=COST_IDENTITY,
            )
            sources: tuple[Source, ...] = (guard.source, other)
            rhs, rhs_shown = "{1}", "{1}"
        else:
            _check_scalar(guard, "other=", other)
            sources = (guard.source,)
            rhs, rhs_shown = "{C}", _brace_safe(show(other))
            constants["C"] = other
        expr = f"{lhs} {op} {rhs}"
        self.add_check(
            guard, expr if outcome else f"not ({expr})", sources=sources, expected=outcome,
            describe=f"({lhs_shown} {op} {rhs_shown}) is {outcome}", actual=_other(outcome),
            cost=COST_CHEAP,
            **constants,
        )

    def PREDICATE_MATCH(
        self, guard: Guard, method: str | None = None, args: tuple[Hashable, ...] = (),
    ) -> None:
        """A yes/no method of an exact built-in scalar, called with constants
        (``s.startswith('conv')``, ``'x' in s`` as ``__contains__``), answers as it did.

        The methods are those of :data:`PREDICATES`: none runs user code or reads
        anything but the value and its arguments.
        """
        value = self.get(guard.source)
        function = _predicate(type(value), method, args)
        self.predicate_checks(guard, type(value), method, args, function(value, *args))

    def predicate_checks(
        self, guard: Guard, cls: type, method: str | None, args: tuple[Hashable, ...],
        outcome: bool,
    ) -> None:
        """Emit ``PREDICATE_MATCH``'s checks from what it read: the value's exact type
        ``cls`` and the ``outcome`` of ``cls.method(value, *args)`` (a loaded guard
        document has no value)."""
        function = _predicate(cls, method, args)
        self.type_check(guard, cls)
        shown_args = ", ".join(_brace_safe(show(arg)) for arg in args)
        shown = (f"({shown_args} in {{0}}) is {outcome}" if method == "__contains__"
                 else f"{{0}}.{method}({shown_args}) is {outcome}")
        expr = "{M}({0}, *{A})"
        self.add_check(
            guard, expr if outcome else f"not {expr}", M=function, A=args, expected=outcome,
            describe=shown, actual=_other(outcome), cost=COST_CHEAP,
        )

    def CONTAINS_MATCH(self, guard: Guard, container: Source | None = None) -> None:
        """The value (an exact built-in scalar) is in the dict, set or frozenset at
        ``container``, or is not, as it was: ``L['op'] in G['TABLE']``."""
        if not isinstance(container, Source):
            msg = f"CONTAINS_MATCH needs container=<Source>, got {describe(container)}"
            raise GuardsTypeError(msg)
        value = self.get(guard.source)
        _check_scalar(guard, guard.source.name, value)
        found = self.get(container)
        if type(found) not in (dict, set, frozenset):
            msg = (f"CONTAINS_MATCH needs a dict, set or frozenset at {container.name}, "
                   f"got {describe(found)}")
            raise GuardBuildError(msg, guard=guard)
        present = value in found
        self._type_check(guard, value)
        self.add_check(
            guard, "type({0}) is {T}", sources=(container,), T=type(found),
            expected=type(found), describe="type({0}) is {expected}", actual=type,
            cost=COST_IDENTITY,
        )
        self.add_check(
            guard, "{0} in {1}" if present else "{0} not in {1}",
            sources=(guard.source, container), expected=present,
            describe="({0} in {1}) is " + str(present), actual=_other(present), cost=COST_CHEAP,
        )


#: The comparison operators of COMPARE_MATCH.
COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne,
}
#: The arithmetic COMPARE_MATCH may apply to a number before comparing it.
ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "%": operator.mod, "//": operator.floordiv, "+": operator.add, "-": operator.sub,
    "*": operator.mul, "&": operator.and_,
}
#: Exact types whose comparisons run no user code (and None, compared by ==).
SCALAR_TYPES = (int, float, str, bytes, bool, complex, type(None))
#: Types whose ``len`` COMPARE_MATCH may compare.
SIZED_TYPES = (list, tuple, dict, set, frozenset, str, bytes, bytearray, range)
_STR_PREDICATES = frozenset({
    "startswith", "endswith", "__contains__", "isdigit", "isalpha", "isalnum", "isspace",
    "isupper", "islower", "istitle", "isascii", "isdecimal", "isnumeric", "isidentifier",
    "isprintable",
})
_BYTES_PREDICATES = frozenset({
    "startswith", "endswith", "__contains__", "isdigit", "isalpha", "isalnum", "isspace",
    "isupper", "islower", "istitle", "isascii",
})
#: The yes/no methods PREDICATE_MATCH may call, by exact type.
PREDICATES: dict[type, frozenset[str]] = {
    str: _STR_PREDICATES, bytes: _BYTES_PREDICATES, float: frozenset({"is_integer"}),
}


def _predicate(cls: type, method: str | None, args: tuple[Hashable, ...]) -> Any:
    """``cls``'s yes/no method ``method`` of :data:`PREDICATES`, its ``args`` checked."""
    if method not in PREDICATES.get(cls, ()):
        known = sorted(PREDICATES.get(cls, ()))
        raise must_be(f"method= of PREDICATE_MATCH on {cls.__name__}", f"one of {known}",
                      method, GuardsValueError)
    if type(args) is not tuple or not all(map(_is_predicate_argument, args)):
        raise must_be("args= of PREDICATE_MATCH", "a tuple of str, bytes or int", args)
    return getattr(cls, str(method))


def _is_predicate_argument(arg: object) -> bool:
    if type(arg) is tuple:
        return all(type(item) in (str, bytes) for item in arg)
    return type(arg) in (str, bytes, int)


def _check_scalar(guard: Guard, what: str, value: object, cls: type | None = None) -> None:
    """Raise unless ``value`` (or, given ``cls``, a value of that type) is an exact
    built-in scalar."""
    if (type(value) if cls is None else cls) not in SCALAR_TYPES:
        shown = describe(value) if cls is None else f"of type {cls.__qualname__}"
        msg = f"{guard.kind} compares exact built-in scalars only; {what} is {shown}"
        raise GuardBuildError(msg, guard=guard)


def apply_transform(apply: tuple[Hashable, ...], value: Any) -> Any:
    """``value`` transformed as COMPARE_MATCH's ``apply`` says (see there)."""
    if not apply:
        return value
    if apply[0] == "len":
        return len(value)
    function = ARITHMETIC[str(apply[0])]
    return function(apply[1], value) if apply[2:] == ("reflected",) else function(value, apply[1])


def _applied(
    guard: Guard, value: Any, apply: tuple[Hashable, ...], cls: type | None = None
) -> tuple[str, str, dict[str, Any]]:
    """The template and the description of ``value`` (or, given ``cls``, a value of that
    type) transformed by ``apply``, and the constants the template binds.  Raises for a
    transform that could run user code."""
    t = type(value) if cls is None else cls
    shown_value = describe(value) if cls is None else f"a value of type {t.__qualname__}"
    if type(apply) is not tuple:
        raise must_be("apply= of COMPARE_MATCH", "a tuple", apply)
    if not apply:
        _check_scalar(guard, guard.source.name, value, cls)
        return "{0}", "{0}", {}
    if apply == ("len",):
        if t not in SIZED_TYPES:
            msg = f"COMPARE_MATCH takes len() of built-in containers only; got {shown_value}"
            raise GuardBuildError(msg, guard=guard)
        return "len({0})", "len({0})", {}
    symbol = apply[0]
    reflected = apply[2:] == ("reflected",)
    if symbol not in ARITHMETIC or len(apply) != (3 if reflected else 2):
        raise must_be("apply= of COMPARE_MATCH", "(), ('len',) or (op, constant[, 'reflected'])",
                      apply, GuardsValueError)
    operand = apply[1]
    if t not in (int, float) or type(operand) not in (int, float):
        msg = f"COMPARE_MATCH applies arithmetic to ints and floats only; got {shown_value}"
        raise GuardBuildError(msg, guard=guard)
    shown = _brace_safe(show(operand))
    if reflected:
        return f"({{K}} {symbol} {{0}})", f"{shown} {symbol} {{0}}", {"K": operand}
    return f"({{0}} {symbol} {{K}})", f"{{0}} {symbol} {shown}", {"K": operand}


def _signed_positions(
    items: list[Any] | tuple[Any, ...], kinds: frozenset[type]
) -> tuple[int, ...]:
    """Where ``items`` hold a float zero, or a complex with a zero part: ``==`` forgives
    their sign (``-0.0 == 0.0``), which ``SEQUENCE_VALUES_MATCH`` compares apart."""
    if complex in kinds:
        return tuple(
            i for i, item in enumerate(items)
            if (type(item) is float and item == 0.0)
            or (type(item) is complex and (item.real == 0.0 or item.imag == 0.0))
        )
    if float not in kinds:
        return ()
    found: list[int] = []
    start = 0
    while True:  # each search is a pass in C, to the next item == 0.0 (0 and False too)
        try:
            start = items.index(0.0, start) + 1
        except ValueError:
            return tuple(found)
        if type(items[start - 1]) is float:
            found.append(start - 1)


@attrs.frozen(eq=False)
class _SameItems:
    """A set's items, in iteration order, have these exact types and values (and signs
    of zeros): ``SEQUENCE_VALUES_MATCH`` on a set or frozenset, when the addresses of
    its items differ from the expected ones."""

    types: list[type]
    items: list[Any]
    signs: _ZeroSigns | None
    expected_signs: list[Any] | None

    def __call__(self, value: Any) -> bool:
        items = list(value)
        return (
            list(map(type, items)) == self.types and items == self.items
            and (self.signs is None or self.signs(items) == self.expected_signs)
        )


@attrs.frozen
class _ZeroSigns:
    """The signs of the zeros at ``positions`` of a sequence whose items have the exact
    types and values of the one it was made from (an item past the end raises, which
    a check takes as a failure; the length is checked before it anyway)."""

    positions: tuple[int, ...]
    floats_only: bool = False

    def __call__(self, items: Any) -> list[Any]:
        picked = map(items.__getitem__, self.positions)
        if self.floats_only:  # in C: a list of zeros costs little
            return list(map(math.copysign, itertools.repeat(1.0), picked))
        return [
            math.copysign(1.0, item) if type(item) is float
            else (math.copysign(1.0, item.real), math.copysign(1.0, item.imag))
            for item in picked
        ]


#: NO_ALIASING's description names this many of its sources.
_SHOWN_SOURCES = 4


def _all_distinct(*values: Any) -> bool:
    """True when no two of ``values`` are one object."""
    return len({id(value) for value in values}) == len(values)


# -- the kind registry ----------------------------------------------------------
# It lives beside the kinds it registers (as functools.singledispatch keeps its
# registry beside ``register``), so any module that can name a kind has it filled.

#: A guard kind: a function ``kind(builder, guard, **args)`` that emits checks.
KindFunction = Callable[..., None]

#: name -> kind function: the built-in kinds, then those of register_guard_kind.
_KINDS: dict[str, KindFunction] = {}

BUILTIN_KINDS: tuple[str, ...] = (
    "TYPE_MATCH", "ID_MATCH", "FUNCTION_MATCH", "CLOSURE_MATCH", "EQUALS_MATCH",
    "CONSTANT_MATCH", "NONE_MATCH", "NOT_NONE_MATCH", "BOOL_MATCH", "HASATTR",
    "SEQUENCE_LENGTH", "DICT_KEYS_MATCH", "DICT_CONTAINS", "DUPLICATE_INPUT", "WEAKREF_ALIVE",
    "CELL_EMPTY", "TRUTH_MATCH", "CLASS_KEYS_MATCH", "NO_ALIASING", "BUILTIN_MATCH",
    "COMPARE_MATCH", "PREDICATE_MATCH", "CONTAINS_MATCH", "SEQUENCE_VALUES_MATCH",
    "DECIMAL_CONTEXT_MATCH", "NDARRAY_MATCH",
)
for _name in BUILTIN_KINDS:
    _KINDS[_name] = getattr(GuardBuilder, _name)


def kind_function(name: str) -> KindFunction:
    """The registered kind function called ``name``; :class:`GuardsValueError` if none."""
    try:
        return _KINDS[name]
    except KeyError:
        known = ", ".join(sorted(_KINDS))
        msg = f"unknown guard kind {name!r}; known kinds: {known}"
        raise GuardsValueError(msg) from None


def _resolve_kind(kind: Any) -> tuple[str, dict[str, Hashable]]:
    """Accept ``GuardBuilder.KIND``, a ``functools.partial`` of one, or the kind's name."""
    args: dict[str, Hashable] = {}
    if isinstance(kind, functools.partial):
        if kind.args:
            raise must_be("kind arguments", "given by keyword", kind)
        args = dict(kind.keywords)
        kind = kind.func
    if isinstance(kind, str):
        kind_function(kind)
        return kind, args
    name = getattr(kind, "__name__", None)
    if not callable(kind) or not isinstance(name, str) or _KINDS.get(name) is not kind:
        expected = "a registered guard kind such as GuardBuilder.TYPE_MATCH (or its name)"
        raise must_be("kind", expected, kind)
    return name, args


def make_guard(
    source: Source, kind: Any, args: Mapping[str, Hashable], *, full_stack: bool = False
) -> Guard:
    """Build a :class:`Guard`; see :meth:`Source.make_guard`."""
    if not args and type(kind) is types.FunctionType:
        # The commonest case (GuardBuilder.TYPE_MATCH, no arguments) at once.
        plain_name: str = kind.__name__
        if _KINDS.get(plain_name) is kind:
            provenance = capture_provenance(skip=2, full_stack=full_stack)
            return Guard(source, plain_name, (), provenance=provenance)
    name, partial_args = _resolve_kind(kind)
    merged = {**partial_args, **args}
    for key, value in merged.items():
        try:
            hash(value)
        except Exception:
            raise must_be(f"argument {key}= of {name}", "hashable", value) from None
    return Guard(
        source,
        name,
        tuple(sorted(merged.items())),
        provenance=capture_provenance(skip=2, full_stack=full_stack),
    )


def register_guard_kind(
    function: KindFunction | None = None, *, name: str | None = None
) -> Any:
    """Register a new guard kind, usable as ``GuardBuilder.NAME`` like the built-in ones.

    ``function(builder, guard, **args)`` reads the guarded value with
    ``builder.get(guard.source)`` and emits one or more checks with
    ``builder.add_check(...)``.  Use it as a decorator, with or without
    ``name=``.  Registering a name twice raises :class:`GuardsValueError`.
    """

    if name is not None and type(name) is not str:
        raise must_be("name", "a str (the kind's name)", name)

    def register(fn: KindFunction) -> KindFunction:
        if not callable(fn):
            raise must_be("function (a guard kind)", "callable", fn)
        kind_name = name if name is not None else getattr(fn, "__name__", None)
        if not isinstance(kind_name, str) or not kind_name.isidentifier():
            raise must_be("a guard kind's name", "an identifier", kind_name, GuardsValueError)
        if kind_name in _KINDS:
            msg = f"guard kind {kind_name!r} is already registered"
            raise GuardsValueError(msg)
        if _is_builder_attribute(kind_name):
            msg = f"guard kind name {kind_name!r} is taken by GuardBuilder.{kind_name}"
            raise GuardsValueError(msg)
        return _install_kind(kind_name, fn)

    return register if function is None else register(function)


def _is_builder_attribute(name: str) -> bool:
    """True when ``name`` is a method or attribute of GuardBuilder (``get``, ``build``...)."""
    return hasattr(GuardBuilder, name)


def unregister_guard_kind(name: str) -> None:
    """Remove a kind added with :func:`register_guard_kind`; built-in kinds stay."""
    if type(name) is not str:
        raise must_be("name", "the name of a registered guard kind (a str)", name)
    if name in BUILTIN_KINDS:
        msg = f"guard kind {name!r} is built in and cannot be unregistered"
        raise GuardsValueError(msg)
    kind_function(name)
    del _KINDS[name]
    delattr(GuardBuilder, name)


def _install_kind(name: str, fn: KindFunction) -> KindFunction:
    if name != getattr(fn, "__name__", name):
        # make_guard identifies a kind by its __name__, so keep them in step.
        fn = _renamed(fn, name)
    _KINDS[name] = fn
    setattr(GuardBuilder, name, fn)
    return fn


def _renamed(fn: KindFunction, name: str) -> KindFunction:
    @functools.wraps(fn)
    def kind(builder: GuardBuilder, guard: Guard, **args: Any) -> None:
        fn(builder, guard, **args)

    kind.__name__ = name
    kind.__qualname__ = name
    return kind



@functools.lru_cache(maxsize=512)
def _template_fields(expr: str) -> tuple[str, ...]:
    """The ``{fields}`` of a check template (templates repeat: parse each once)."""
    try:
        fields = tuple(f for _, f, _, _ in _FORMATTER.parse(expr) if f is not None)
    except ValueError as exc:
        msg = f"check template {expr!r} is malformed: {exc}"
        raise GuardsValueError(msg) from None
    _check_expression(expr, fields)
    return fields


def _check_expression(expr: str, fields: tuple[str, ...]) -> None:
    """Raise :class:`GuardsValueError` unless ``expr`` is one expression, as codegen uses it."""
    n_sources = 1 + max((int(f) for f in fields if f.isdigit()), default=-1)
    names = {f: "_c" for f in fields if not f.isdigit()}
    try:
        text = expr.format(*(f"_s{i}" for i in range(n_sources)), **names)
        compile(f"if not ({text}):\n    pass\n", "<check template>", "exec")
    except (SyntaxError, LookupError, ValueError, AttributeError) as exc:
        msg = f"check template {expr!r} is not a Python expression: {type(exc).__name__}: {exc}"
        raise GuardsValueError(msg) from None


#: (template, number of sources, constant names) found valid: templates repeat.
_VALID_TEMPLATES: set[tuple[str, int, tuple[str, ...]]] = set()
_MAX_VALID_TEMPLATES = 4096


@attrs.frozen
class _DecimalContext:
    """How DECIMAL_CONTEXT_MATCH shows a decimal context: its settings and set flags."""

    settings: tuple[Any, ...]
    flags: frozenset[type]

    def __repr__(self) -> str:
        prec, rounding, emin, emax, capitals, clamp, traps = self.settings
        traps_text = ", ".join(sorted(t.__name__ for t in traps))
        flags_text = ", ".join(sorted(f.__name__ for f in self.flags))
        return (f"Context(prec={prec}, rounding={rounding}, Emin={emin}, Emax={emax}, "
                f"capitals={capitals}, clamp={clamp}, traps=[{traps_text}], "
                f"flags set=[{flags_text}])")


def _validate_template(expr: str, n_sources: int, constants: Mapping[str, Any]) -> None:
    for field in _template_fields(expr):
        if field.isdigit():
            if int(field) >= n_sources:
                msg = f"check template {expr!r} uses {{{field}}} but has {n_sources} source(s)"
                raise GuardsValueError(msg)
        elif field not in constants:
            msg = f"check template {expr!r} uses {{{field}}}, which is not a bound constant"
            raise GuardsValueError(msg)
    for name in constants:
        if not name.isidentifier():
            msg = f"constant name {name!r} of check template {expr!r} is not an identifier"
            raise GuardsValueError(msg)


