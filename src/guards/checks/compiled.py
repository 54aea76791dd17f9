"""compile_guards and CheckFunction: a guard set compiled into one fast check."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from guards.checks.codegen import Generated, access_tree
from guards.checks.explain import CheckResult, evaluate
from guards.checks.plan import compile_checks_fast
from guards.checks.portable import read_document, to_text, write_document
from guards.core.builder import Check, GuardBuilder
from guards.core.guard import Guard
from guards.core.sources import ChainedSource, Source
from guards.errors import (
    DocumentError,
    GuardBuildError,
    GuardsError,
    NotPortableError,
    check_frame,
    check_type,
    must_be,
)


class CheckFunction:
    """A compiled guard set.

    ``check(f_locals, f_globals=None) -> bool`` is the hot path: one generated
    function that never raises.  ``check_verbose`` explains every failing
    guard.  ``code`` is the generated text, ``guards`` the guards it checks and
    ``dropped_guards`` those dropped because their path is skipped.
    """

    __slots__ = ("__weakref__", "_built", "_generated", "_portable", "check", "dropped_guards",
                 "guards")

    def __init__(
        self, guards: Sequence[Guard], dropped_guards: Sequence[Guard], generated: Generated,
        built_checks: Sequence[Check] | None = None,
    ) -> None:
        # Made by compile_guards; a hand-made one fails here, not at its first check.
        check_type("generated", generated, Generated)
        self.guards: tuple[Guard, ...] = tuple(guards)
        self.dropped_guards: tuple[Guard, ...] = tuple(dropped_guards)
        self.check = generated.check
        self._generated = generated
        # Every check as its guard built it, before duplicates were removed: what
        # to_json writes each guard's facts from.
        self._built = generated.ordered_checks if built_checks is None else tuple(built_checks)
        self._portable: tuple[str | None, str | None] | None = None  # (document, reason)

    @property
    def native(self) -> bool:
        """True when ``check`` runs in the C evaluator (``guards._evaluator``), False
        when it is the generated Python function :attr:`python_check`."""
        return self._generated.native

    @property
    def python_check(self) -> Callable[..., bool]:
        """The generated Python ``check(L, G=None)`` of the same guards: ``check`` itself
        without the C evaluator, else made (once) when asked for.  Same verdicts; its
        frames show in tracebacks and debuggers, with the line of each step."""
        return self._generated.python_check

    @property
    def code(self) -> str:
        """The Python source of :attr:`python_check` (shown by tracebacks and debuggers).

        When ``check`` runs in the C evaluator, this is the text it stands for,
        generated the first time it is asked for."""
        return self._generated.code

    @property
    def filename(self) -> str:
        """The name under which :attr:`code` is registered in ``linecache``."""
        return self._generated.filename

    @property
    def checks(self) -> tuple[Check, ...]:
        """The checks, in the order ``check`` runs them."""
        return self._generated.ordered_checks

    def check_verbose(
        self, f_locals: Mapping[str, Any], f_globals: Mapping[str, Any] | None = None
    ) -> CheckResult:
        """Every failing guard, with expected and actual values; same verdict as ``check``."""
        check_frame(f_locals, f_globals)
        return evaluate(self.checks, self._generated.predicates.get(), f_locals, f_globals)

    @property
    def portable_reason(self) -> str | None:
        """Why this check cannot be written as JSON, or ``None`` when it can.

        A guard that cannot be named in another process makes the whole check
        local: the identity of an arbitrary object, a lambda or local function, a
        value the codec does not write, a kind the format does not know
        (``docs/persistence.md`` lists them).  The reason names the guard.
        """
        return self._document()[1]

    def to_json(self) -> str:
        """This guard set as a versioned JSON document (``docs/persistence.md``), which
        :func:`guards.load_check` turns back into an equal check in this process or
        another.

        Raises :class:`~guards.NotPortableError` (with :attr:`portable_reason`) when a
        guard cannot be written.
        """
        text, reason = self._document()
        if text is None:
            raise NotPortableError(str(reason))
        return text

    def _document(self) -> tuple[str | None, str | None]:
        found = self._portable
        if found is None:
            try:
                found = (to_text(write_document(self.guards, self.dropped_guards, self._built)),
                         None)
            except NotPortableError as exc:
                found = (None, exc.reason)
            self._portable = found
        return found

    def __repr__(self) -> str:
        return f"<CheckFunction: {len(self.guards)} guards, {len(self.checks)} checks>"

    def __str__(self) -> str:
        return render_tree(self.checks, header=repr(self))


def render_tree(checks: Sequence[Check], header: str) -> str:
    """The checks grouped by access path, each path under the path it extends."""
    root, relational = access_tree(checks)
    lines = [header]

    def walk(node: Any, depth: int) -> None:
        pad = "    " * depth
        lines.append(f"{pad}{node.source.name}")
        for check in node.checks:
            lines.append(f"{pad}  - {check.guard.kind}: {check.description}")
        for child in node.children.values():
            walk(child, depth + 1)

    for child in root.children.values():
        walk(child, 0)
    if relational:
        lines.append("across paths")
        lines += [f"  - {c.guard.kind}: {c.description}" for c in relational]
    return "\n".join(lines)


def compile_guards(
    guard_list: Iterable[Guard],
    f_locals: Mapping[str, Any],
    f_globals: Mapping[str, Any] | None = None,
) -> CheckFunction:
    """Build ``guard_list`` against the values it describes and compile one check.

    Duplicate guards (same source, kind and arguments) are built once.  Raises
    :class:`GuardBuildError` if a guard cannot be built, or if the compiled
    check rejects the very values it was built from.
    """
    return compile_with_values(guard_list, f_locals, f_globals, {})


def compile_with_values(
    guard_list: Iterable[Guard],
    f_locals: Mapping[str, Any],
    f_globals: Mapping[str, Any] | None,
    values: Mapping[Source, Any],
) -> CheckFunction:
    """:func:`compile_guards`, building each guard on ``values[source]`` where given:
    the value a trace saw, rather than what the frame holds now."""
    if isinstance(guard_list, Guard) or not isinstance(guard_list, Iterable):
        raise must_be("guard_list", "an iterable of Guard", guard_list)
    guards = list(dict.fromkeys(guard_list))
    for i, guard in enumerate(guards):
        check_type(f"guard_list[{i}]", guard, Guard)
    with gc_paused():
        builder = GuardBuilder(f_locals, f_globals, values=values)
        for guard in guards:
            builder.build(guard)
    return compile_checks(guards, builder.dropped_guards, builder.checks, f_locals, f_globals)


def compile_checks(
    guards: Sequence[Guard],
    dropped_guards: Sequence[Guard],
    checks: Sequence[Check],
    f_locals: Mapping[str, Any],
    f_globals: Mapping[str, Any] | None,
) -> CheckFunction:
    """One :class:`CheckFunction` from checks already built (by a builder) for ``guards``.

    ``dropped_guards`` are those left out because their path is skipped.  The
    compiled check must pass on ``f_locals``/``f_globals``, else
    :class:`GuardBuildError` (the frame changed since the checks were built, or
    a kind or a value's ``__eq__`` is inconsistent).
    """
    function = assemble_checks(guards, dropped_guards, checks)
    _self_check(function, f_locals, f_globals)
    return function


def assemble_checks(
    guards: Sequence[Guard], dropped_guards: Sequence[Guard], checks: Sequence[Check]
) -> CheckFunction:
    """:func:`compile_checks` without its test on a frame: the :class:`CheckFunction`
    of ``checks`` (made for ``guards``; ``dropped_guards`` left out) as they are."""
    with gc_paused():
        dropped = set(dropped_guards)
        kept = [g for g in guards if g not in dropped]
        roots: dict[str, None] = {}
        for guard in kept:  # each guard's root (Source.root, without a call per guard)
            source = guard.source
            while isinstance(source, ChainedSource):
                source = source.base
            roots[source.name] = None
        label = ", ".join(roots) or "no guards"
        generated = compile_checks_fast(checks, label)
        return CheckFunction(kept, dropped_guards, generated, checks)


def load_check(text: str) -> CheckFunction:
    """The :class:`CheckFunction` of a document written by :meth:`CheckFunction.to_json`,
    in this process or another: it checks the same guards with the same answers.

    Loading runs nothing from the document (no pickle, no ``eval``, no import):
    classes and functions are found among the modules this process has already
    imported, by name, and must have the fingerprint written.  Raises
    :class:`~guards.DocumentError` for a malformed or unknown document (naming
    what is wrong and where), and its subclass :class:`~guards.StaleDocumentError`
    when a named class, function or module is missing here or differs.
    """
    try:
        loaded = read_document(text)
        return assemble_checks(loaded.guards, loaded.dropped, loaded.checks)
    except GuardsError:
        raise
    except Exception as exc:  # what no check above foresaw: still the document's fault
        msg = f"the document cannot be loaded: {type(exc).__name__}: {exc}"
        raise DocumentError(msg) from exc


class gc_paused:
    """Pause the cyclic garbage collector while a build allocates (``with gc_paused():``).

    Everything a build allocates survives it, so collections in the middle
    could free nothing; they only walk the growing heap again and again, which
    made building 10k guards cost well over 10 times 1k.  A collector that was
    off stays off.  A class, not a generator: a generator's end is a
    ``StopIteration`` raised, an event for the net on every miss (3.12+).
    """

    __slots__ = ("_enabled",)

    def __enter__(self) -> None:
        self._enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self._enabled:
            gc.enable()


def _self_check(
    function: CheckFunction, f_locals: Mapping[str, Any], f_globals: Mapping[str, Any] | None
) -> None:
    """A guard set that rejects its own values is a bug; say so at build time."""
    if function.check(f_locals, f_globals):
        return
    result = function.check_verbose(f_locals, f_globals)
    msg = (
        "the compiled guards reject the values they were built from (a guard kind or a "
        "value's __eq__ is not consistent, or the frame changed after they were read):\n"
        + str(result)
    )
    raise GuardBuildError(msg, failures=result.failures)
