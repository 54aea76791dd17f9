"""Lazy trackers: a value and its source, guarded only as far as it is inspected.

A :class:`LazyTracker` installs nothing when it is made.  Each inspection
installs the least guard that makes the answer sound, into the tracker's
tracing context:

=====================================  =========================================
inspection                             guard installed
=====================================  =========================================
``python_type()``, ``isinstance()``    ``TYPE_MATCH``
``as_constant()``                      ``CONSTANT_MATCH`` (supersedes TYPE_MATCH)
``is_none()``                          ``NONE_MATCH`` or ``NOT_NONE_MATCH``
``truthy()``                           ``BOOL_MATCH``/``NONE_MATCH``, the length
                                       of a built-in container, or the constant
``len()``                              ``SEQUENCE_LENGTH``
``hasattr(name)``                      ``HASATTR``
``identity()``, ``is_(other)``         ``ID_MATCH`` (``DUPLICATE_INPUT`` for two
                                       trackers of one object)
``attr(name)``, ``item(key)``,        nothing: a new tracker on the longer path
``key_at(i)``                          (a missing attribute or key installs the
                                       guard that it is missing, then raises)
``keys()``, ``items()``                ``DICT_KEYS_MATCH``
``iterate()``                          ``SEQUENCE_LENGTH`` (then lazy items) or
                                       ``DICT_KEYS_MATCH``
``contains(key)``                      ``DICT_CONTAINS`` for a mapping
``bind(*args, **kwargs)``              ``CLOSURE_MATCH``; see ``guards.binding``
``peek()``, ``peek_type()``, ``repr``  nothing
=====================================  =========================================
"""

from __future__ import annotations

import abc
import types
from collections.abc import Hashable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from guards.builder import GuardBuilder
from guards.errors import GuardsError, GuardsTypeError, check_type, describe
from guards.guard import make_guard
from guards.net import exempt
from guards.sources import AttrSource, ClosureSource, DictKeySource, GetItemSource, Source

if TYPE_CHECKING:
    from guards.binding import BoundCall
    from guards.contexts import TracingContext


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


#: Built-in types whose truth is their length.
_SIZED_BUILTINS = (list, tuple, dict, set, frozenset, str, bytes, bytearray, range)
#: Built-in types whose truth is decided by the value itself.
_SCALAR_BUILTINS = (int, float, complex)


class LazyTracker:
    """A value at a source, tracked: inspect it through methods that install guards.

    Get one from a tracing context (``tx.local("x")``, ``tx.track(source)``) or
    from another tracker (``t.attr("mode")``, ``t.item(0)``).
    """

    __slots__ = ("_context", "source")

    def __init__(self, context: TracingContext, source: Source) -> None:
        from guards.contexts import TracingContext

        check_type("context", context, TracingContext)
        check_type("source", source, Source)
        self._context = context
        self.source = source

    # -- no guard --------------------------------------------------------------
    def peek(self) -> Any:
        """The value, for diagnostics only: installs nothing, so never decide on it."""
        return self._context.value_of(self.source)

    def peek_type(self) -> type:
        """The value's type, for diagnostics only: installs nothing."""
        return type(self.peek())

    def __repr__(self) -> str:
        return f"LazyTracker({self.source.name})"

    # -- installing ----------------------------------------------------------------
    def _install(self, kind: Any, source: Source | None = None, **args: Hashable) -> None:
        context = self._context
        guard = make_guard(source or self.source, kind, args, full_stack=context.full_stack)
        context.install_guard(guard)

    def _child(self, source: Source) -> LazyTracker:
        return self._context.track(source)

    def _value(self) -> Any:
        """The value, for an inspection: an empty closure cell is guarded as empty and
        reported as Python reports it."""
        try:
            return self.peek()
        except ValueError:
            source = self.source
            if not (isinstance(source, AttrSource) and source.member == "cell_contents"):
                raise
            cell = self._context.value_of(source.base)
            if not _is_empty_cell(cell):
                raise
            self._install(GuardBuilder.CELL_EMPTY)
            raise EmptyCellError(_free_variable_name(self) or "?") from None

    # -- inspections -------------------------------------------------------------
    def python_type(self) -> type:
        """The exact type (installs ``TYPE_MATCH``)."""
        value = self._value()
        self._install(GuardBuilder.TYPE_MATCH)
        return type(value)

    def isinstance(self, classinfo: type | tuple[type, ...]) -> bool:
        """``isinstance(value, classinfo)``, decided by the exact type (``TYPE_MATCH``).

        When the answer would depend on more than the type (a class that defines
        ``__class__``, a metaclass with its own ``__instancecheck__``), raises
        :class:`UntrackableError` instead.
        """
        value = self._value()
        by_type = _decided_by_type(classinfo)
        if by_type is None:
            msg = (
                "classinfo must be a type, a tuple of types or a union of types, "
                f"got {describe(classinfo)}"
            )
            raise GuardsTypeError(msg)
        cls = type(value)
        why = None
        if _lookup(cls, "__class__") is not _OBJECT_CLASS:
            why = f"the __class__ that {cls.__qualname__} defines"
        elif not by_type:
            why = "a custom __instancecheck__"
        if why is not None:
            msg = (
                f"isinstance({self.source.name}, {describe(classinfo)}) runs {why}, "
                "user code that a tracker cannot see into"
            )
            raise UntrackableError(msg)
        self._install(GuardBuilder.TYPE_MATCH)
        return isinstance(value, classinfo)

    def as_constant(self) -> Any:
        """The value itself, to compute with (installs ``CONSTANT_MATCH``)."""
        value = self._value()
        self._install(GuardBuilder.CONSTANT_MATCH)
        return value

    def is_none(self) -> bool:
        """``value is None`` (installs ``NONE_MATCH`` or ``NOT_NONE_MATCH``)."""
        value = self._value()
        self._install(GuardBuilder.NONE_MATCH if value is None else GuardBuilder.NOT_NONE_MATCH)
        return value is None

    def truthy(self) -> bool:
        """``bool(value)``, guarded as narrowly as the type allows."""
        value = self._value()
        if value is None:
            self._install(GuardBuilder.NONE_MATCH)
        elif type(value) is bool:
            self._install(GuardBuilder.BOOL_MATCH)
        elif type(value) in _SIZED_BUILTINS:
            self._install(GuardBuilder.SEQUENCE_LENGTH)
        elif type(value) in _SCALAR_BUILTINS:
            self._install(GuardBuilder.CONSTANT_MATCH)
        elif not _has_truth_hook(type(value)):
            self._install(GuardBuilder.TYPE_MATCH)  # such objects are always true
        else:
            msg = (
                f"the truth of {self.source.name}, {describe(value)}, runs its "
                "__bool__ or __len__, which a tracker cannot see into; inspect what it reads"
            )
            raise UntrackableError(msg)
        return bool(value)

    def len(self) -> int:
        """``len(value)`` (installs ``SEQUENCE_LENGTH``)."""
        value = self._value()
        self._install(GuardBuilder.SEQUENCE_LENGTH)
        return len(value)

    def hasattr(self, name: str) -> bool:
        """``hasattr(value, name)`` (installs ``HASATTR``, present or absent)."""
        value = self._value()
        self._install(GuardBuilder.HASATTR, AttrSource(self.source, name))
        with exempt():  # a __getattr__ runs: HASATTR runs it again at every check
            return hasattr(value, name)

    def identity(self) -> Any:
        """The object itself, when its identity is what matters (installs ``ID_MATCH``)."""
        value = self._value()
        self._install(GuardBuilder.ID_MATCH)
        return value

    def is_(self, other: Any) -> bool:
        """``value is other``; for two trackers of one object, ``DUPLICATE_INPUT``."""
        if isinstance(other, LazyTracker):
            same = self._value() is other._value()
            if same:
                self._install(GuardBuilder.DUPLICATE_INPUT, source_b=other.source)
            else:
                self.identity()
                other.identity()
            return same
        return self.identity() is other

    def attr(self, name: str) -> LazyTracker:
        """The tracker of ``value.name``; a missing attribute installs ``HASATTR`` and raises."""
        self._value()
        source = AttrSource(self.source, name)
        try:
            self._context.value_of(source)
        except AttributeError:
            self._install(GuardBuilder.HASATTR, source)
            raise
        return self._child(source)

    def item(self, key: Any) -> LazyTracker:
        """The tracker of ``value[key]``; a missing key or index guards that it is missing."""
        self._value()
        source = GetItemSource(self.source, key, index_is_slice=isinstance(key, slice))
        try:
            self._context.value_of(source)
        except (KeyError, IndexError, TypeError) as exc:
            # A TypeError (not subscriptable, a key of the wrong type) depends on the type.
            container = self._value()
            if isinstance(exc, KeyError) and isinstance(container, Mapping):
                self._install(GuardBuilder.DICT_CONTAINS, source)
            elif isinstance(exc, IndexError) and type(container) in _SIZED_BUILTINS:
                self._install(GuardBuilder.SEQUENCE_LENGTH)
            else:
                self._install(GuardBuilder.TYPE_MATCH)
            raise
        return self._child(source)

    def keys(self) -> list[Any]:
        """The mapping's keys, in order (installs ``DICT_KEYS_MATCH``)."""
        value = self._value()
        if not isinstance(value, Mapping):
            msg = f"cannot take the keys of {self.source.name}, {describe(value)}: not a mapping"
            raise UntrackableError(msg)
        self._install(GuardBuilder.DICT_KEYS_MATCH)
        with exempt():  # a mapping's __iter__: DICT_KEYS_MATCH runs it again at every check
            return list(value)

    def key_at(self, index: int) -> LazyTracker:
        """The tracker of the dict's ``index``-th key (``DictKeySource``); installs nothing.

        For an object used as a key: what is read through it is guarded on this path.
        """
        self._value()
        source = DictKeySource(self.source, index)
        self._context.value_of(source)
        return self._child(source)

    def items(self) -> list[tuple[Any, LazyTracker]]:
        """``(key, tracker of value[key])`` pairs (installs ``DICT_KEYS_MATCH``)."""
        return [(key, self.item(key)) for key in self.keys()]

    def iterate(self) -> Iterator[Any]:
        """Iterate: lazy item trackers of a list or tuple, keys of a dict."""
        value = self._value()
        if isinstance(value, Mapping):
            return iter(self.keys())
        if type(value) in (list, tuple, str, bytes, range):
            return (self.item(i) for i in range(self.len()))
        msg = f"cannot track iteration over {self.source.name}, {describe(value)}"
        raise UntrackableError(msg)

    def __iter__(self) -> Iterator[Any]:
        return self.iterate()

    def contains(self, key: Hashable) -> bool:
        """``key in value``: ``DICT_CONTAINS`` for a mapping, the constant for built-ins."""
        container = self._value()
        if isinstance(container, Mapping):
            source = GetItemSource(self.source, key)
            self._install(GuardBuilder.DICT_CONTAINS, source)
            with exempt():  # a mapping's __contains__: DICT_CONTAINS runs it again
                return key in container
        if type(container) in _SIZED_BUILTINS:
            return key in self.as_constant()
        msg = f"cannot track `in` on {self.source.name}, {describe(container)}"
        raise UntrackableError(msg)

    def bind(self, *args: Any, **kwargs: Any) -> BoundCall:
        """Bind a call of this tracked Python function; see :func:`guards.bind_args`."""
        from guards.binding import bind_args

        return bind_args(self, args, kwargs)


def _lookup(cls: type, name: str) -> Any:
    """``name`` as the type defines it, read from the MRO's dicts (runs no user code)."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    return None


_OBJECT_CLASS = object.__dict__["__class__"]
_PLAIN_INSTANCECHECKS = (
    type.__dict__["__instancecheck__"], abc.ABCMeta.__dict__["__instancecheck__"]
)


def _decided_by_type(classinfo: Any) -> bool | None:
    """True when ``isinstance(v, classinfo)`` depends on ``type(v)`` alone (for a ``v``
    whose ``__class__`` is its type); False when it runs other code; None when
    ``classinfo`` is not something ``isinstance`` accepts."""
    if type(classinfo) is tuple:
        answers = [_decided_by_type(item) for item in classinfo]
        return None if None in answers else all(answers)
    if type(classinfo) is types.UnionType:
        return _decided_by_type(classinfo.__args__)
    check = _lookup(type(classinfo), "__instancecheck__")
    if issubclass(type(classinfo), type):
        return check in _PLAIN_INSTANCECHECKS
    return False if check is not None else None


def _has_truth_hook(cls: type) -> bool:
    return any(hasattr(cls, name) for name in ("__bool__", "__len__"))


def _is_empty_cell(cell: Any) -> bool:
    if type(cell) is not types.CellType:
        return False
    try:
        cell.cell_contents  # noqa: B018 - reading is the test
    except ValueError:
        return True
    return False


def _free_variable_name(tracker: LazyTracker) -> str | None:
    """The free variable a ``fn.__closure__[i].cell_contents`` tracker stands for."""
    cell = tracker.source.base
    if isinstance(cell, GetItemSource) and isinstance(cell.base, ClosureSource):
        try:
            code = tracker._context.value_of(cell.base.base).__code__
            return str(code.co_freevars[cell.index])
        except Exception:
            return None
    return None
