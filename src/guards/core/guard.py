"""The :class:`Guard` record and where it came from.

A guard says "this kind of check holds for the value at this source".  It is a
plain record; :class:`~guards.GuardBuilder` turns it into checks.  Equality and
hashing use (source, kind, arguments) only, never provenance, so the same guard
installed from two places is one guard.
"""

from __future__ import annotations

import functools
import linecache
import sys
import threading
from collections.abc import Callable, Hashable, Mapping
from types import CodeType, FrameType
from typing import Any

import attrs

from guards.core.sources import (
    SLOT_HASH,
    HashedBySlot,
    Source,
    field_names,
    restored,
    validate_source_field,
)
from guards.errors import must_be


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


#: id -> the globals of a module of guards itself, found by :func:`_is_library_frame`.
_LIBRARY_GLOBALS: dict[int, dict[str, Any]] = {}


def _is_library_frame(frame: FrameType) -> bool:
    """True for frames of guards' own modules (not the demo, which is user code)."""
    f_globals = frame.f_globals
    module = f_globals.get("__name__", "")
    found = (
        isinstance(module, str)
        and (module == "guards" or module.startswith("guards."))
        and not f_globals.get("_GUARDS_USER_CODE", False)
    )
    if found and getattr(sys.modules.get(module), "__dict__", None) is f_globals:
        _LIBRARY_GLOBALS[id(f_globals)] = f_globals  # a module's own: lives on
    return found


def user_frame(frame: FrameType) -> FrameType | None:
    """``frame`` if it is not a frame of guards' own modules (``_is_library_frame``),
    else None: answered without another call for a module whose name does not start
    with ``guards`` (the user frame of each operator a miss traces) and for guards' own
    modules seen before."""
    f_globals = frame.f_globals
    if id(f_globals) in _LIBRARY_GLOBALS:
        return None
    module = f_globals.get("__name__", "")
    if isinstance(module, str) and module.startswith("guards") and _is_library_frame(frame):
        return None
    return frame


def _frame_provenance(frame: FrameType) -> Provenance:
    code = frame.f_code
    lineno = frame.f_lineno
    last = _LAST_PROVENANCE[0]  # one tuple, replaced whole: no lock needed
    if last[0] is code and last[1] == lineno:
        return last[2]  # frozen: the same line's guards share it
    made = Provenance(code.co_filename, lineno, code.co_qualname)
    _LAST_PROVENANCE[0] = (code, lineno, made)
    return made


#: The code, line and provenance of the last frame asked about: a miss makes one or two
#: guards per value read, many of them on one line (``o.a0 + o.a1 + ...``), and making a
#: Provenance each time took a twentieth of such a miss.
_LAST_PROVENANCE: list[tuple[CodeType | None, int, Provenance]] = [
    (None, -1, Provenance("", 0, ""))
]


class _Caller(threading.local):
    frame: FrameType | None = None


#: The user frame that entered the innermost :class:`called_from_user` block of this thread.
_CALLER = _Caller()
#: The same, for a block written out where each value a miss reads passes (a scalar
#: stand-in's operator): set ``USER_CALLER.frame = user_frame(sys._getframe(1))`` in
#: the body of the function user code called, and put the previous frame back after.
USER_CALLER = _CALLER


class called_from_user:
    """A block of guards' own code that runs no user code, in a function that user code
    called: :func:`capture_provenance` inside it finds that caller at once, without
    walking the stack up to it (a miss makes one or two guards per value read, each
    from an operator of the values: ``o.a0 + o.a1``).

    Use it directly in the body of the function user code called; if that function
    was called by guards' own code instead, the stack is walked as usual.  The block
    must run no user code (not even an exempt read): a guard made by code it called
    would be attributed to the wrong line.
    """

    __slots__ = ("_previous",)

    def __enter__(self) -> None:
        self._previous = _CALLER.frame
        frame = sys._getframe(2)  # the caller of the function whose body this block is in
        _CALLER.frame = user_frame(frame)

    def __exit__(self, *exc: object) -> None:
        _CALLER.frame = self._previous


def capture_provenance(skip: int = 1, *, full_stack: bool = False) -> Provenance | None:
    """The nearest frame outside the library, found by walking a few frames up (or,
    inside a :class:`called_from_user` block, the user frame that entered it).

    With ``full_stack``, the result also carries every user frame above it
    (which costs a walk of the whole stack).
    """
    caller = _CALLER.frame
    if caller is not None and not full_stack:
        # _frame_provenance's own first case, inline (one or two per value a miss reads).
        last = _LAST_PROVENANCE[0]
        if last[0] is caller.f_code and last[1] == caller.f_lineno:
            return last[2]
        return _frame_provenance(caller)
    try:
        frame: FrameType | None = sys._getframe(skip + 1)
    except ValueError:
        return None
    # Frames of guards' own modules are passed by their globals, known after the first
    # time (a module's globals live as long as the module: kept here, never reused).
    while frame is not None and (
        id(frame.f_globals) in _LIBRARY_GLOBALS or _is_library_frame(frame)
    ):
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


def _validate_kind(instance: Guard, attribute: attrs.Attribute[Any], value: Any) -> None:
    if type(value) is not str:
        raise must_be("Guard.kind", "the name of a guard kind (a str)", value)


def _valid_args(value: Any) -> bool:
    return type(value) is tuple and all(
        type(pair) is tuple and len(pair) == 2 and type(pair[0]) is str for pair in value
    )


def _validate_args(instance: Guard, attribute: attrs.Attribute[Any], value: Any) -> None:
    if type(value) is not tuple:
        raise must_be("Guard.args", "a tuple of (name, value) pairs", value)
    for pair in value:
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], str)):
            raise must_be("Guard.args", "(name, value) pairs", pair)


@attrs.frozen(cache_hash=True)
class Guard(HashedBySlot):
    """One guard: ``kind`` (such as ``"EQUALS_MATCH"``) on the value at ``source``.

    ``args`` are the kind's arguments as sorted ``(name, value)`` pairs;
    ``provenance`` is the user code line that made the guard and takes no part
    in equality.
    """

    source: Source
    kind: str
    args: tuple[tuple[str, Hashable], ...] = ()
    provenance: Provenance | None = attrs.field(default=None, eq=False, repr=False)
    # ``hash(guard)`` in C, as a source's (:class:`HashedBySlot`): a miss hashes each
    # of its guards several times.

    def __attrs_post_init__(self) -> None:
        # One test for the common case; else the fields are validated one by one.
        args = self.args
        if not (isinstance(self.source, Source) and type(self.kind) is str and (
            args == () or _valid_args(args)
        )):
            validate_source_field(self, attrs.fields(Guard).source, self.source)
            _validate_kind(self, attrs.fields(Guard).kind, self.kind)
            _validate_args(self, attrs.fields(Guard).args, args)
        object.__setattr__(self, "_hash_now", _hash_of((self.source, self.kind, args)))

    def __reduce__(self) -> tuple[Any, ...]:
        # Made again from its fields, as attrs pickles them (a subclass's too), with
        # the hash computed in the process that loads it.
        cls = type(self)
        names = field_names(cls)
        return _remade, (cls, names, *[getattr(self, name) for name in names])

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
        if self.source.is_skipped:
            return True
        return bool(self.args) and any(
            isinstance(arg, Source) and arg.is_skipped for _, arg in self.args
        )

    def __str__(self) -> str:
        extra = "".join(
            f", {key}={arg.name if isinstance(arg, Source) else arg!r}" for key, arg in self.args
        )
        return f"{self.kind}({self.source.name}{extra})"


def _hash_of(key: tuple[Any, ...]) -> Callable[[], int]:
    """A guard's ``_hash_now``: the bound ``__index__`` of ``hash(key)``."""
    try:
        return hash(key).__index__
    except TypeError:  # an unhashable argument: hash() raises as it would have
        return functools.partial(hash, key)


def _remade(cls: type[Guard], names: tuple[str, ...], *values: Any) -> Guard:
    """The guard of class ``cls`` whose fields ``names`` are ``values``
    (``Guard.__reduce__``), with its hash computed here."""
    guard: Guard = restored(cls, names, values)
    object.__setattr__(guard, "_hash_now", _hash_of((guard.source, guard.kind, guard.args)))
    return guard


# The class's hash is the slot holding the bound ``int.__index__`` (see ``_hash_now``).
Guard.__hash__ = SLOT_HASH  # type: ignore[method-assign,assignment]


_set = object.__setattr__


def plain_guard(source: Source, kind: str, provenance: Provenance | None) -> Guard:
    """``Guard(source, kind, (), provenance=provenance)`` for guards' own code, whose
    ``source`` is a :class:`Source` and ``kind`` the exact str name of a kind without
    arguments: made without attrs' ``__init__`` (a miss makes one or two per value it
    reads); each field as ``__init__`` and ``__attrs_post_init__`` set it."""
    guard = object.__new__(Guard)
    _set(guard, "source", source)
    _set(guard, "kind", kind)
    _set(guard, "args", ())
    _set(guard, "provenance", provenance)
    _set(guard, "_hash_now", hash((source, kind, ())).__index__)
    return guard
