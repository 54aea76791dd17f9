"""The :class:`Guard` record, where it came from, and the registry of guard kinds.

A guard says "this kind of check holds for the value at this source".  It is a
plain record; :class:`~guards.GuardBuilder` turns it into checks.  Equality and
hashing use (source, kind, arguments) only, never provenance, so the same guard
installed from two places is one guard.
"""

from __future__ import annotations

import functools
import linecache
import sys
from collections.abc import Callable, Hashable, Mapping
from types import FrameType
from typing import TYPE_CHECKING, Any

import attrs

from guards.errors import GuardsTypeError, GuardsValueError, describe
from guards.sources import Source

if TYPE_CHECKING:
    from guards.builder import GuardBuilder

#: A guard kind: a function ``kind(builder, guard, **args)`` that emits checks.
KindFunction = Callable[..., None]

# name -> kind function; filled by guards.builder and by register_guard_kind.
_KINDS: dict[str, KindFunction] = {}


@attrs.frozen
class Provenance:
    """Where in user code a guard was made: file, line and function."""

    filename: str
    lineno: int
    function: str
    #: The user frames that led here, innermost last, when a full stack was asked for.
    stack: tuple[Provenance, ...] = attrs.field(default=(), repr=False)

    @property
    def line(self) -> str:
        """The source line itself, stripped; empty when it cannot be read."""
        return linecache.getline(self.filename, self.lineno).strip()

    def __str__(self) -> str:
        text = f"{self.filename}:{self.lineno} in {self.function}"
        line = self.line
        return f"{text}: {line}" if line else text


def _is_library_frame(frame: FrameType) -> bool:
    """True for frames of guards' own modules (not the demo, which is user code)."""
    module = frame.f_globals.get("__name__", "")
    return (
        isinstance(module, str)
        and (module == "guards" or module.startswith("guards."))
        and not frame.f_globals.get("_GUARDS_USER_CODE", False)
    )


def _frame_provenance(frame: FrameType) -> Provenance:
    code = frame.f_code
    return Provenance(code.co_filename, frame.f_lineno, code.co_qualname)


def capture_provenance(skip: int = 1, *, full_stack: bool = False) -> Provenance | None:
    """The nearest frame outside the library, found by walking a few frames up.

    With ``full_stack``, the result also carries every user frame above it
    (which costs a walk of the whole stack).
    """
    try:
        frame: FrameType | None = sys._getframe(skip + 1)
    except ValueError:
        return None
    while frame is not None and _is_library_frame(frame):
        frame = frame.f_back
    if frame is None:
        return None
    here = _frame_provenance(frame)
    if not full_stack:
        return here
    outer: list[Provenance] = []
    caller = frame.f_back
    while caller is not None:
        if not _is_library_frame(caller):
            outer.append(_frame_provenance(caller))
        caller = caller.f_back
    return attrs.evolve(here, stack=(*reversed(outer), here))


def _validate_source(instance: Guard, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, Source):
        msg = f"Guard.source must be a Source, got {describe(value)}"
        raise GuardsTypeError(msg)


def _validate_kind(instance: Guard, attribute: attrs.Attribute[Any], value: Any) -> None:
    if type(value) is not str:
        msg = f"Guard.kind must be the name of a guard kind (a str), got {describe(value)}"
        raise GuardsTypeError(msg)


def _validate_args(instance: Guard, attribute: attrs.Attribute[Any], value: Any) -> None:
    if type(value) is not tuple:
        msg = f"Guard.args must be a tuple of (name, value) pairs, got {describe(value)}"
        raise GuardsTypeError(msg)
    for pair in value:
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], str)):
            msg = f"Guard.args must be (name, value) pairs, got {describe(pair)}"
            raise GuardsTypeError(msg)


@attrs.frozen(cache_hash=True)
class Guard:
    """One guard: ``kind`` (such as ``"EQUALS_MATCH"``) on the value at ``source``.

    ``args`` are the kind's arguments as sorted ``(name, value)`` pairs;
    ``provenance`` is the user code line that made the guard and takes no part
    in equality.
    """

    source: Source = attrs.field(validator=_validate_source)
    kind: str = attrs.field(validator=_validate_kind)
    args: tuple[tuple[str, Hashable], ...] = attrs.field(default=(), validator=_validate_args)
    provenance: Provenance | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def name(self) -> str:
        """The source's rendered name."""
        return self.source.name

    @property
    def arguments(self) -> Mapping[str, Hashable]:
        """The kind's arguments as a mapping."""
        return dict(self.args)

    @property
    def is_skipped(self) -> bool:
        """True when the guard is on a :class:`~guards.SkipGuardSource` path and will be dropped."""
        return any(
            isinstance(arg, Source) and arg.is_skipped for _, arg in self.args
        ) or self.source.is_skipped

    def __str__(self) -> str:
        extra = "".join(
            f", {key}={arg.name if isinstance(arg, Source) else arg!r}" for key, arg in self.args
        )
        return f"{self.kind}({self.source.name}{extra})"


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
            msg = f"kind arguments must be given by keyword, got {describe(kind)}"
            raise GuardsTypeError(msg)
        args = dict(kind.keywords)
        kind = kind.func
    if isinstance(kind, str):
        kind_function(kind)
        return kind, args
    name = getattr(kind, "__name__", None)
    if not callable(kind) or not isinstance(name, str) or _KINDS.get(name) is not kind:
        msg = (
            "kind must be a registered guard kind such as GuardBuilder.TYPE_MATCH "
            f"(or its name), got {describe(kind)}"
        )
        raise GuardsTypeError(msg)
    return name, args


def make_guard(
    source: Source, kind: Any, args: Mapping[str, Hashable], *, full_stack: bool = False
) -> Guard:
    """Build a :class:`Guard`; see :meth:`Source.make_guard`."""
    name, partial_args = _resolve_kind(kind)
    merged = {**partial_args, **args}
    for key, value in merged.items():
        try:
            hash(value)
        except Exception:
            msg = f"argument {key}= of {name} must be hashable, got {describe(value)}"
            raise GuardsTypeError(msg) from None
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
        msg = f"name must be a str (the kind's name), got {describe(name)}"
        raise GuardsTypeError(msg)

    def register(fn: KindFunction) -> KindFunction:
        if not callable(fn):
            msg = f"function (a guard kind) must be callable, got {describe(fn)}"
            raise GuardsTypeError(msg)
        kind_name = name if name is not None else getattr(fn, "__name__", None)
        if not isinstance(kind_name, str) or not kind_name.isidentifier():
            msg = f"a guard kind's name must be an identifier, got {describe(kind_name)}"
            raise GuardsValueError(msg)
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
    from guards.builder import GuardBuilder

    return hasattr(GuardBuilder, name)


def unregister_guard_kind(name: str) -> None:
    """Remove a kind added with :func:`register_guard_kind`; built-in kinds stay."""
    from guards.builder import BUILTIN_KINDS, GuardBuilder

    if type(name) is not str:
        msg = f"name must be the name of a registered guard kind (a str), got {describe(name)}"
        raise GuardsTypeError(msg)
    if name in BUILTIN_KINDS:
        msg = f"guard kind {name!r} is built in and cannot be unregistered"
        raise GuardsValueError(msg)
    kind_function(name)
    del _KINDS[name]
    delattr(GuardBuilder, name)


def _install_kind(name: str, fn: KindFunction) -> KindFunction:
    from guards.builder import GuardBuilder

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
