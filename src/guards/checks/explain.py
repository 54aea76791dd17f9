"""The slow path: evaluate every check on its own and explain each failure.

It evaluates the same predicates as the fast check (generated from the same
templates, in the same order), reading each source once, so the two agree on
the verdict; unlike the fast path it does not stop at the first failure.  Like
the fast path it changes nothing it reads: items are read as guards read them
(:func:`guards.core.sources.get_item`, never ``__missing__``), a failed yes/no check
is not asked again to show its actual value, and once a value's type or
identity test failed, its costlier checks (which could run its hooks) are skipped.
Past the first failure, which the fast check would stop at, it reads only what
:mod:`guards.core.plain` finds free of user code; a check that would need more is
listed in ``CheckResult.not_evaluated`` instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from guards.core.builder import COST_IDENTITY, Check
from guards.core.guard import Guard, Provenance
from guards.core.plain import is_plain_data, is_plain_step
from guards.core.sources import Source
from guards.core.values import SHOW_LIMIT, referent, show, show_difference


@attrs.frozen
class Unreadable:
    """Stands for the value of a path that could not be walked (or a test that raised)."""

    what: str
    error: BaseException

    def __repr__(self) -> str:
        return f"<{self.what}: {type(self.error).__name__}: {self.error}>"


@attrs.frozen
class GuardFailure:
    """One failing check: which guard, what it expected, what it found, and why."""

    guard: Guard
    check: Check = attrs.field(repr=False)
    expected: Any
    actual: Any
    message: str

    @property
    def source(self) -> Source:
        """The guarded source (the guard's own)."""
        return self.guard.source

    @property
    def kind(self) -> str:
        """The guard kind's name, such as ``"EQUALS_MATCH"``."""
        return self.guard.kind

    @property
    def provenance(self) -> Provenance | None:
        """The user code line that installed the guard, when known."""
        return self.guard.provenance

    @property
    def label(self) -> str | None:
        """The user's name for the guarded closure cell or default, when there is one."""
        return self.check.label

    def __str__(self) -> str:
        return self.message


#: Stands for a value that the explanation did not read: reading it could run user code,
#: which the fast check, stopping at an earlier failure, would not have run.
NOT_READ = Unreadable("not read", LookupError("an earlier guard failed"))


@attrs.frozen
class CheckResult:
    """The verdict of ``check_verbose``: ``passed`` and every failure, in check order.

    ``not_evaluated``: the checks after a failure that were not evaluated because
    reading their paths, or evaluating them, could run user code (a property, a
    ``defaultdict`` behind a ``ChainMap``) that the fast check never runs.
    """

    passed: bool
    failures: tuple[GuardFailure, ...]
    not_evaluated: tuple[Check, ...] = ()

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        if self.passed:
            return "all guards passed"
        lines = [f"{len(self.failures)} guard failure(s):"]
        lines += [f"  - {failure.message}" for failure in self.failures]
        if self.not_evaluated:
            lines.append(
                f"{len(self.not_evaluated)} guard(s) not evaluated (an earlier guard failed):"
            )
            lines += [f"  - {c.guard.kind} {c.description}" for c in self.not_evaluated]
        return "\n".join(lines)


def failure_message(check: Check, actual: Any) -> str:
    """``KIND description (guard on 'x'): expected E, got A; installed at file:line``.

    Long containers of one type are not shown whole: the message says where
    they first differ (:func:`~guards.core.values.show_difference`).
    """
    text = f"{check.guard.kind} {check.description}"
    if check.label is not None:
        text += f" (guard on {check.label!r})"
    expected, shown = show(check.expected), show(actual)
    difference = None
    if max(len(expected), len(shown)) >= SHOW_LIMIT:
        difference = show_difference(check.expected, actual)
    expected_type = type(referent(check.expected))
    if difference is not None:
        text += f": {difference}"
    elif expected == shown and expected_type is not type(actual):
        # 'a' and a str subclass's 'a' look alike: the difference is the type.
        text += (f": expected {expected} ({show(expected_type)}), "
                 f"got {shown} ({show(type(actual))})")
    elif expected == shown and type(actual) is not Unreadable:
        text += f": expected {expected}, got another object that looks the same"
    else:
        text += f": expected {expected}, got {shown}"
    provenance = check.guard.provenance
    if provenance is not None:
        text += f"; installed at {provenance}"
    return text


def evaluate(
    checks: Sequence[Check],
    predicates: Sequence[Callable[..., Any]],
    f_locals: Mapping[str, Any],
    f_globals: Mapping[str, Any] | None,
) -> CheckResult:
    """Run every check; collect a :class:`GuardFailure` for each one that does not hold."""
    values: dict[Source, Any] = {}
    careful = False  # past a failure: take only plain steps (guards.core.plain)

    def read(source: Source) -> Any:
        if source in values:
            return values[source]
        base = source.base
        try:
            if base is None:
                value = source.root_value(f_locals, f_globals)
            else:
                base_value = read(base)
                if type(base_value) is Unreadable:
                    value = base_value
                elif careful and not is_plain_step(source, base_value):
                    return NOT_READ  # not kept: nothing read it yet
                else:
                    value = source.step(base_value)
        except Exception as exc:
            value = Unreadable(f"cannot read {source.name}", exc)
        values[source] = value
        return value

    failures: list[GuardFailure] = []
    not_evaluated: list[Check] = []
    # A value whose type or identity test failed is not what its costlier checks
    # assume: the fast path stops there, and so do they (they could run its hooks).
    ended: set[Source] = set()
    for check, predicate in zip(checks, predicates, strict=True):
        if check.cost > COST_IDENTITY and check.sources[0] in ended and len(check.sources) == 1:
            continue
        args = [read(source) for source in check.sources]
        actual = _first_unreadable(args)
        if actual is NOT_READ or (
            careful and actual is None and check.cost > COST_IDENTITY
            and not all(is_plain_data(arg) for arg in args)
        ):
            not_evaluated.append(check)
            continue
        if actual is None:
            try:
                if predicate(*args):
                    continue
            except Exception as exc:
                actual = Unreadable("the check raised", exc)
            else:
                actual = _actual(check, args)
        if check.cost == COST_IDENTITY:
            ended.update(check.sources)
        failures.append(
            GuardFailure(check.guard, check, check.expected, actual, failure_message(check, actual))
        )
        careful = True
    return CheckResult(not failures, tuple(failures), tuple(not_evaluated))


def _first_unreadable(args: Sequence[Any]) -> Unreadable | None:
    for arg in args:
        if type(arg) is Unreadable:  # not isinstance: that asks a user's __class__
            return arg
    return None


def _actual(check: Check, args: Sequence[Any]) -> Any:
    try:
        return check.actual(*args)
    except Exception as exc:
        return Unreadable("cannot show the actual value", exc)
