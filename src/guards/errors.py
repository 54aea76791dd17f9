"""The one exception hierarchy of ``guards``.

Every error the library raises on purpose derives from :class:`GuardsError`, so
``except guards.GuardsError`` catches all of them.  Errors about bad arguments
also derive from the matching built-in (:class:`TypeError` or
:class:`ValueError`), so code written against the built-ins keeps working.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from guards.checks.cache import CacheEntry, MissExplanation
    from guards.checks.explain import GuardFailure
    from guards.core.guard import Guard


class GuardsError(Exception):
    """Base class of every error raised by ``guards``."""


class GuardsTypeError(GuardsError, TypeError):
    """An argument or field has the wrong type."""


class GuardsValueError(GuardsError, ValueError):
    """An argument or field has the right type but an unusable value."""


class GuardBuildError(GuardsError):
    """Guards could not be built or compiled against the values they describe.

    ``guard`` is the guard being built when the error happened, if one was;
    ``failures`` holds the explained failures when a freshly built guard set
    rejected the very values it was built from (which is always a bug in the
    guard kind or in the values' ``__eq__``).
    """

    def __init__(
        self,
        message: str,
        *,
        guard: Guard | None = None,
        failures: Sequence[GuardFailure] = (),
    ) -> None:
        super().__init__(message)
        self.guard = guard
        self.failures = tuple(failures)


class NoTracingContextError(GuardsError, RuntimeError):
    """``install_guard`` was called with no tracing context open in this thread."""


class UntrackableError(GuardsError, TypeError):
    """An inspection whose answer depends on code the tracker cannot see into."""


class EmptyCellError(GuardsError, NameError):
    """A closure cell was read before the enclosing scope assigned it."""

    def __init__(self, variable: str) -> None:
        super().__init__(
            f"cannot access free variable {variable!r} where it is not associated with a "
            "value in enclosing scope"
        )
        self.variable = variable


class CacheLimitError(GuardsError):
    """The cache is full and its policy is ``"raise"``; ``explanation`` says why it missed."""

    def __init__(self, message: str, explanation: MissExplanation) -> None:
        super().__init__(message)
        self.explanation = explanation


class StaleHitError(GuardsError):
    """In verify mode: a cache hit returned what a fresh call would not.

    ``entry`` is the entry that hit; its guards are ``entry.check.guards``.
    """

    def __init__(self, message: str, entry: CacheEntry) -> None:
        super().__init__(message)
        self.entry = entry


class UntrackedCallError(GuardsError):
    """In strict mode: the call could not be tracked, so it could not be cached.

    ``reasons`` says why, in the words the statistics and logs use.
    """

    def __init__(self, message: str, reasons: tuple[str, ...]) -> None:
        super().__init__(message)
        self.reasons = reasons


class NotPortableError(GuardsError):
    """A check holds a guard that cannot be named in another process, so it has no JSON
    document (:meth:`~guards.CheckFunction.to_json`).

    ``reason`` says which guard and why (the same text as the check's
    :attr:`~guards.CheckFunction.portable_reason`): the identity of an arbitrary object,
    a lambda or local function without a stable name, a value the value codec does
    not write, a guard kind the format does not know.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"the check cannot be written as JSON: {reason}")
        self.reason = reason


class DocumentError(GuardsValueError):
    """A JSON document of guards cannot be loaded (:func:`~guards.load_check`).

    Raised for text that is not JSON, another format or version, an unknown
    guard kind or source class, a field of the wrong type, a value tag that does
    not exist, a document too large or nested too deeply; the message names what
    is wrong and where (``guards[2].facts.type``).  Nothing of the document runs.
    """


class StaleDocumentError(DocumentError):
    """A well-formed document names something this process does not have, so its
    guards cannot be rebuilt here: a module that is not imported (loading never
    imports), a class or function missing from its module, one whose fingerprint
    differs (another version of its code), or a set whose iteration order this
    process cannot reproduce.

    ``name`` is what the document names (``app.models.Config``; for a set, its place
    in the document, such as ``guards[0].facts.value``); the message says why.
    """

    def __init__(self, message: str, name: str) -> None:
        super().__init__(message)
        self.name = name


class MissingExtraError(GuardsError, ImportError):
    """An optional dependency is not installed; the message names the extra to install
    (``pip install "guardset[redis]"`` for :class:`~guards.RedisStore`)."""


class StoreWarning(UserWarning):
    """A store could not be used as asked, and the call went on without it.

    Warned once per store and cause, not once per call: records that were ignored
    (unsigned, badly signed or malformed), and a server that is down or too slow
    (the store is bypassed for a back-off period, then tried again).  The store's
    ``stats()`` counts every occurrence.
    """


def describe(value: Any) -> str:
    """``value!r`` followed by its type, for error messages; never raises."""
    try:
        text = repr(value)
    except Exception as exc:  # a hostile __repr__ must not hide the real error
        text = f"<unrepresentable: {type(exc).__name__}>"
    if len(text) > 200:
        text = text[:197] + "..."
    return f"{text} (type {type(value).__qualname__})"


def must_be(
    arg: str, expected: str, value: Any, error: type[GuardsError] = GuardsTypeError
) -> GuardsError:
    """The error saying that ``arg`` is not what it must be, for the caller to raise.

    ``raise must_be("max_entries", "an int", max_entries)`` raises
    :class:`GuardsTypeError` ``max_entries must be an int, got 0.5 (type float)``;
    pass ``error=GuardsValueError`` (or another error of this module that takes a
    message) for a value of the right type that is still unusable.
    """
    return error(f"{arg} must be {expected}, got {describe(value)}")


def check_type(arg: str, value: Any, expected: type | tuple[type, ...]) -> None:
    """Raise :class:`GuardsTypeError` naming ``arg`` unless ``value`` is an ``expected``."""
    if not isinstance(value, expected):
        names = (
            " or ".join(t.__qualname__ for t in expected)
            if isinstance(expected, tuple)
            else expected.__qualname__
        )
        raise must_be(arg, names, value)


def check_frame(f_locals: Any, f_globals: Any) -> None:
    """Raise :class:`GuardsTypeError` unless ``f_locals`` is a mapping and ``f_globals`` a
    mapping or ``None``: the frame that sources, checks, caches and traces read."""
    check_type("f_locals", f_locals, Mapping)
    if f_globals is not None:
        check_type("f_globals", f_globals, Mapping)
