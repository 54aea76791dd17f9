"""Value helpers: how guards display, compare, copy and look into the values they guard.

Every function here reads a value without running user code it does not have
to, and none of them installs a guard: they are the ground the guard kinds
(``guards.core.builder``), the trackers and the tracer stand on.

* displaying: :func:`show`, :func:`show_difference`, :func:`referent`;
* comparing as ``EQUALS_MATCH`` means it: :func:`same_value`, :func:`has_loose_equality`;
  the lists and tuples ``SEQUENCE_VALUES_MATCH`` compares whole: :func:`item_types`,
  :func:`kinds_of`, :func:`item_addresses`;
* remembering a value for a later comparison: :func:`snapshot`, :class:`SetSnapshot`,
  :func:`equality_is_fixed`;
* looking into types and frames as CPython does: :func:`type_lookup`,
  :func:`type_defines`, :func:`is_immutable_type`, :func:`class_keys`,
  :func:`builtins_of`, :func:`cell_is_empty`.
"""

from __future__ import annotations

import builtins
import ctypes
import datetime
import decimal
import enum
import math
import pathlib
import sys
import types
import uuid
import weakref
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from guards.errors import describe

# -- displaying ---------------------------------------------------------------------
#: The longest display :func:`show` gives; a longer one is cut, ending in ``...``.
SHOW_LIMIT = 120


def show(value: Any) -> str:
    """A short display of ``value`` for explanations; never raises.

    A weak reference is shown as what it refers to (an identity guard holds
    its object weakly, and the explanation is about the object), or as
    ``<collected object>`` once that is gone.
    """
    cls = type(value)  # not isinstance: that would ask the value's own __class__
    try:
        if issubclass(cls, weakref.ref):
            target = value()
            return "<collected object>" if target is None else show(target)
        if issubclass(cls, type):
            module = value.__module__
            return value.__qualname__ if module == "builtins" else f"{module}.{value.__qualname__}"
        if issubclass(cls, types.FunctionType):
            return f"<function {value.__qualname__}>"
        if cls is types.CodeType:
            return f"<code {value.co_qualname} at {value.co_filename}:{value.co_firstlineno}>"
        text = _head(value) if (cls is list or cls is tuple) and len(value) > SHOW_LIMIT else (
            repr(value)
        )
    except Exception as exc:
        if issubclass(cls, int) and isinstance(exc, ValueError):
            # Too many digits for str() (sys.set_int_max_str_digits): hex has no limit.
            digits = hex(value)
            return f"<int of {value.bit_length()} bits: {digits[:12]}...{digits[-8:]}>"
        return f"<unrepresentable {cls.__qualname__}: {type(exc).__name__}>"
    return text if len(text) <= SHOW_LIMIT else text[: SHOW_LIMIT - 3] + "..."


def _head(items: list[Any] | tuple[Any, ...]) -> str:
    """The start of the ``repr`` of a long list or tuple: its first items, as many as
    :func:`show` shows, so that a list of 10,000 items is not written out whole."""
    parts, size = [], 0
    for item in items:
        parts.append(repr(item))
        size += len(parts[-1]) + 2
        if size > SHOW_LIMIT:
            break
    body = ", ".join(parts)
    return f"[{body}, ...]" if type(items) is list else f"({body}, ...)"


def referent(value: Any) -> Any:
    """What :func:`show` shows ``value`` as: the object of a weak reference (``None`` once
    collected), anything else itself."""
    if issubclass(type(value), weakref.ref):
        return value()
    return value


#: The containers :func:`show_difference` looks into, and what their items are called.
_UNITS: dict[type, str] = {
    list: "items", tuple: "items", dict: "items", str: "characters", bytes: "bytes",
    bytearray: "bytes",
}


def show_difference(expected: Any, actual: Any) -> str | None:
    """Where two containers of one built-in type first differ, or None for other values.

    ``expected a list of 100 items, got one of 100; first difference at index 50:
    expected 50, got 7``.  Lists, tuples, strings and bytes are compared item by
    item, dicts key by key in order, sets (as an equality check remembers them,
    :class:`SetSnapshot`) in iteration order: as :func:`same_value` compares them,
    stopping at the same item, so no ``__eq__`` runs that the comparison did not run.
    """
    kind = type(expected)
    if kind is SetSnapshot:
        if type(actual) is not expected.kind:
            return None
        kind, expected, actual = expected.kind, expected.items, tuple(actual)
        unit = "items"
    elif type(actual) is not kind or kind not in _UNITS:
        return None
    else:
        unit = _UNITS[kind]
    try:
        head = f"expected a {kind.__name__} of {len(expected)} {unit}, got one of {len(actual)}; "
        if kind is dict:
            return head + _dict_difference(expected, actual)
        return head + _sequence_difference(expected, actual, kind in (str, bytes, bytearray))
    except Exception:  # a hostile __eq__ or __repr__ of an item
        return None


#: How many characters (or bytes) of two strings :func:`show_difference` shows from the first
#: that differs.
_WINDOW = 20


def _piece(text: Sequence[Any], index: int) -> str:
    piece = show(text[index:index + _WINDOW])
    return piece + "..." if len(text) > index + _WINDOW else piece


def _sequence_difference(expected: Sequence[Any], actual: Sequence[Any], text: bool) -> str:
    common = min(len(expected), len(actual))
    for index in range(common):
        if text:
            if expected[index] != actual[index]:
                return (f"first difference at index {index}: expected {_piece(expected, index)}, "
                        f"got {_piece(actual, index)}")
        elif not same_value(expected[index], actual[index]):
            return (f"first difference at index {index}: "
                    f"{_two_items(expected[index], actual[index])}")
    shown = _piece if text else lambda items, index: show(items[index])
    if len(expected) > common:
        return (f"the first {common} are the same; then expected {shown(expected, common)} "
                f"at index {common}, got the end")
    if len(actual) > common:
        return (f"the first {common} are the same; then expected the end, got "
                f"{shown(actual, common)} at index {common}")
    return "they hold the same items"  # equal here, unequal by the check's own test


def _two_items(expected: Any, actual: Any) -> str:
    """``expected 1, got 2``; with their types when they look alike (``1`` and ``True`` do
    not, but an int and an int subclass's ``1`` do)."""
    shown, other = show(expected), show(actual)
    if shown == other and type(expected) is not type(actual):
        return (f"expected {shown} ({show(type(expected))}), "
                f"got {other} ({show(type(actual))})")
    return f"expected {shown}, got {other}"


def _dict_difference(expected: dict[Any, Any], actual: dict[Any, Any]) -> str:
    position = 0
    for (key, value), (other_key, other_value) in zip(
        expected.items(), actual.items(), strict=False
    ):
        if not same_value(key, other_key):
            return (f"first difference at position {position}: expected the key "
                    f"{show(key)}, got the key {show(other_key)}")
        if not same_value(value, other_value):
            return (f"first difference at key {show(key)}: expected {show(value)}, "
                    f"got {show(other_value)}")
        position += 1
    if len(expected) > position:
        key = list(expected)[position]
        return (f"the first {position} are the same; then expected the key {show(key)}, "
                "got the end")
    if len(actual) > position:
        key = list(actual)[position]
        return (f"the first {position} are the same; then expected the end, got the key "
                f"{show(key)}")
    return "they hold the same items"  # equal here, unequal by the check's own test


# -- comparing -----------------------------------------------------------------------
_CONTAINERS = (list, tuple, dict, set, frozenset)


def _same_float(a: float, b: float) -> bool:
    """The same float: a NaN matches a NaN, and -0.0 is not 0.0."""
    if a != a:
        return b != b
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def _same_zone(a: Any, b: Any) -> bool:
    """Time zones that answer alike: two ``timezone`` of one offset can differ in name
    (``d.tzname()``), so ``timezone`` by offset and name, any other by identity."""
    if a is b:
        return True
    return type(a) is datetime.timezone and type(b) is datetime.timezone and (
        a.utcoffset(None) == b.utcoffset(None) and a.tzname(None) == b.tzname(None)
    )


def _same_moment(a: datetime.datetime | datetime.time, b: Any) -> bool:
    """Aware datetimes in two time zones can be ``==`` and still print differently."""
    return bool(
        _same_zone(a.tzinfo, b.tzinfo) and a.fold == b.fold
        and a.replace(tzinfo=None) == b.replace(tzinfo=None)
    )


def _same_slice(a: slice, b: slice) -> bool:
    """Slices field by field as :func:`same_value` compares them: ``slice(1, 2)`` is not
    ``slice(True, 2)`` nor ``slice(1.0, 2)``, which ``==`` forgives (and ``xs[1.0:2]`` raises)."""
    return same_value((a.start, a.stop, a.step), (b.start, b.stop, b.step))


#: Value types whose ``==`` forgives differences that the rest of their behaviour
#: shows: ``range(0, 3, 2) == range(0, 4, 2)`` (their ``stop`` differs),
#: ``Decimal('1.0') == Decimal('1.00')`` (their ``str`` differs), aware datetimes
#: of one instant in two zones, ``slice(1, 2) == slice(1.0, 2)``, two ``timezone``
#: of one offset and two names, ``PureWindowsPath('A') == PureWindowsPath('a')``,
#: UUIDs that differ in ``is_safe``.  Each is compared
#: by its full structure.
_STRUCTURE: dict[type, Callable[[Any, Any], bool]] = {
    range: lambda a, b: (a.start, a.stop, a.step) == (b.start, b.stop, b.step),
    slice: _same_slice,
    decimal.Decimal: lambda a, b: a.as_tuple() == b.as_tuple(),
    datetime.datetime: _same_moment,
    datetime.time: _same_moment,
    datetime.timezone: _same_zone,
    # Windows paths compare without case, and a UUID's == ignores ``is_safe``.
    pathlib.PureWindowsPath: lambda a, b: str(a) == str(b),
    uuid.UUID: lambda a, b: a.is_safe is b.is_safe,
}


def same_value(a: Any, b: Any) -> bool:
    """``a == b`` as EQUALS_MATCH means it, down through built-in containers.

    Exact types at every level (``[True]`` is not ``[1]``), floats as
    :func:`_same_float`, dicts and sets in iteration order (two equal sets can
    iterate differently, and ``list(s)`` shows it), the value types of
    :data:`_STRUCTURE` by their full structure; other values by their own ``==``.
    """
    t = type(a)
    if type(b) is SetSnapshot:
        return t is b.kind and len(a) == len(b.items) and all(map(same_value, a, b.items))
    if type(b) is not t:
        return False
    if t is float:
        return _same_float(a, b)
    if t is complex:
        return _same_float(a.real, b.real) and _same_float(a.imag, b.imag)
    if t is list or t is tuple or t is set or t is frozenset:
        return len(a) == len(b) and all(map(same_value, a, b))
    if t is dict:
        return len(a) == len(b) and all(
            same_value(ka, kb) and same_value(a[ka], b[kb]) for ka, kb in zip(a, b, strict=True)
        )
    structure = _STRUCTURE.get(t)
    if structure is not None:
        return structure(a, b)
    return bool(a == b)


#: The exact item types ``SEQUENCE_VALUES_MATCH`` compares a list or tuple of: their ``==``
#: runs no user code and, with the exact type, tells two values apart, but for the sign of
#: a zero (``-0.0 == 0.0``) and a NaN (equal to nothing, not even itself).
ITEM_SCALARS: frozenset[type] = frozenset({int, float, complex, str, bytes, bool, type(None)})


#: What ``SEQUENCE_VALUES_MATCH`` guards: a set's items are taken in iteration order.
_ITEM_CONTAINERS = (list, tuple, set, frozenset)


def item_types(value: Any) -> frozenset[type] | None:
    """The exact types of the items of a list, tuple, set or frozenset whose items all
    have one of :data:`ITEM_SCALARS`, else None (another value, or an item of another type).

    One pass in C (``map(type, value)``), so it costs little even for a long list;
    it runs no user code.
    """
    if type(value) not in _ITEM_CONTAINERS:
        return None
    return kinds_of(list(map(type, value)))


def kinds_of(types: list[type]) -> frozenset[type] | None:
    """The set of ``types`` (the exact types of a sequence's items) when they are all in
    :data:`ITEM_SCALARS`, else None.  One type throughout is found by ``count``, a pass
    in C that compares identities (a set would hash each one)."""
    if types and types.count(types[0]) == len(types):
        kinds = frozenset(types[:1])
    else:
        kinds = frozenset(types)
    return kinds if kinds <= ITEM_SCALARS else None


def _tuple_items_at() -> int | None:
    """Where a tuple's item pointers start in its memory, when the interpreter is CPython
    and a probe confirms it; else None."""
    if sys.implementation.name != "cpython":
        return None
    probe = (object(), object(), object())
    at = tuple.__basicsize__
    try:
        found = ctypes.string_at(id(probe) + at, ctypes.sizeof(ctypes.c_void_p) * len(probe))
    except Exception:  # pragma: no cover - an interpreter without ctypes' string_at
        return None
    return at if found == bytes((ctypes.c_void_p * len(probe))(*map(id, probe))) else None


_ITEMS_AT = _tuple_items_at()
_POINTER = ctypes.sizeof(ctypes.c_void_p)
#: Longer sequences are not read as addresses (``string_at`` takes a C int).
_MOST_ADDRESSES = (1 << 31) // _POINTER - 1


def item_addresses(items: list[Any] | tuple[Any, ...]) -> bytes | None:
    """The addresses of the items of a list or tuple, in order, as one bytes object; None
    where the interpreter does not allow reading them (not CPython) or for a huge one.

    Two are equal exactly when both hold the very same objects in the same order,
    as long as the objects of one are alive (a check that compares with the
    addresses of its expected items keeps those items).  Read from a private tuple
    copy, in one C call that holds the GIL, so no thread can change what is read.
    """
    if _ITEMS_AT is None or len(items) > _MOST_ADDRESSES:
        return None
    copy = tuple(items)  # alive until string_at returns
    return ctypes.string_at(id(copy) + _ITEMS_AT, _POINTER * len(copy))


def has_loose_equality(cls: type) -> bool:
    """True for the types whose ``==`` forgives what :func:`same_value` does not: the
    built-in containers (``[True] == [1]``, ``{8, 16} == {16, 8}``) and the value types
    compared by their full structure (``range``, ``slice``, ``Decimal``, aware datetimes)."""
    return cls in _CONTAINERS or cls in _STRUCTURE


# -- the thread's decimal context ------------------------------------------------------
#: What a decimal context decides of an operation's result: its settings (the traps
#: enabled among them), and the flags that are set.
DecimalState = tuple[tuple[Any, ...], frozenset[type]]


def decimal_context_state(context: decimal.Context) -> DecimalState:
    """``(settings, flags)`` of a decimal context: ``prec``, ``rounding``, ``Emin``,
    ``Emax``, ``capitals``, ``clamp`` and the enabled traps, which decide what an
    operation returns or raises; and the signals whose flag is set, which
    operations set (and never read)."""
    traps = frozenset(signal for signal, on in context.traps.items() if on)
    settings = (context.prec, context.rounding, context.Emin, context.Emax,
                context.capitals, context.clamp, traps)
    return settings, frozenset(signal for signal, on in context.flags.items() if on)


def decimal_context_holds(
    context: decimal.Context, settings: tuple[Any, ...], flags: frozenset[type]
) -> bool:
    """``context`` has these settings, and every flag of ``flags`` set (others may be):
    then a run that set ``flags`` has no effect on it that a hit would skip."""
    now, set_now = decimal_context_state(context)
    return now == settings and flags <= set_now


# -- NumPy arrays ----------------------------------------------------------------------
@attrs.frozen(eq=False)
class ArraySnapshot:
    """A NumPy array as ``NDARRAY_MATCH`` remembers it: its layout and flags (writeable,
    owning its data, aligned), a copy of its bytes, and NumPy's settings that its
    operations read (error handling, print options).

    ``numpy`` is the module the array came from; this module never imports it.
    """

    numpy: types.ModuleType
    dtype: Any
    shape: tuple[int, ...]
    strides: tuple[int, ...]
    flags: tuple[bool, bool, bool]
    data: bytes
    errors: dict[str, str]
    printing: dict[str, Any]

    @classmethod
    def of(cls, array: Any, numpy: types.ModuleType) -> ArraySnapshot:
        """The snapshot of ``array`` (an exact ``numpy.ndarray``) as it is now."""
        return cls(numpy, array.dtype, array.shape, array.strides, _array_flags(array),
                   array.tobytes(), numpy.geterr(), numpy.get_printoptions())

    def matches(self, array: Any) -> bool:
        """``array`` (an exact ``numpy.ndarray``) has this layout and these bytes, and
        NumPy's settings are these: no operation on it can answer otherwise.  Bytes, not
        ``==``: ``-0.0`` is not ``0.0`` and a NaN matches a NaN of the same bits."""
        numpy = self.numpy
        return bool(
            array.dtype == self.dtype and array.shape == self.shape
            and array.strides == self.strides
            and _array_flags(array) == self.flags
            and array.tobytes() == self.data
            and numpy.geterr() == self.errors and numpy.get_printoptions() == self.printing
        )

    def __repr__(self) -> str:
        digest = zlib.crc32(self.data)
        return (f"<array of shape {self.shape}, dtype {self.dtype}, "
                f"{len(self.data)} bytes with CRC32 {digest:08x}>")


def _array_flags(array: Any) -> tuple[bool, bool, bool]:
    """The flags of a NumPy array that its layout does not decide: writeable, owning its
    data, and aligned."""
    flags = array.flags
    return bool(flags.writeable), bool(flags.owndata), bool(flags.aligned)


# -- remembering ---------------------------------------------------------------------
_IMMUTABLE_SCALARS = (
    int, float, complex, str, bytes, bool, type(None), type(...), type(NotImplemented),
    range, types.CodeType,
)


def equality_is_fixed(value: Any) -> bool:
    """True when what ``==`` compares of ``value`` cannot change after a guard is built on
    it: a built-in immutable scalar or code object, a class or an enum member (both
    compared by identity), or a tuple, frozenset or slice of these.  ``EQUALS_MATCH`` keeps such
    a value as itself (:func:`snapshot`) and counts its comparison as cheap.

    Not :func:`guards.specialization.tracer.is_deep_immutable`, which asks whether
    *nothing* reachable from a value can change (an enum member with attributes of
    its own can).
    """
    t = type(value)
    if t in _IMMUTABLE_SCALARS or issubclass(t, (type, enum.Enum)):
        return True
    if t in (tuple, frozenset):
        return all(equality_is_fixed(item) for item in value)
    if t is slice:
        return all(equality_is_fixed(item) for item in (value.start, value.stop, value.step))
    return False


def snapshot(value: Any) -> Any:
    """The value an equality check compares against: a private copy of built-in containers.

    A user's list may change after the guard is built; the check must compare
    against what the list held then.  Only the containers' structure is copied
    (lists, dicts, tuples and slices holding them, bytearrays; sets as
    :class:`SetSnapshot`):
    the objects they hold stay themselves, so an object compared by identity
    still equals itself.
    """
    if equality_is_fixed(value):
        return value
    t = type(value)
    if t is list:
        return [snapshot(item) for item in value]
    if t is tuple:
        return tuple(snapshot(item) for item in value)
    if t is slice:
        return slice(snapshot(value.start), snapshot(value.stop), snapshot(value.step))
    if t is dict:
        return {key: snapshot(item) for key, item in value.items()}
    if t is set or t is frozenset:
        return SetSnapshot(t, tuple(value))
    if t is bytearray:
        return t(value)
    return value


@attrs.frozen(eq=False)
class SetSnapshot:
    """A set as an equality check remembers it: its exact type and its items in
    iteration order.  A copy of a set may iterate in another order than the set
    (the order depends on its history of inserts and deletes, not only on its items).

    ``==`` with a set is the set's own ``==`` (members only); :func:`same_value`
    compares the order too.
    """

    kind: type
    items: tuple[Any, ...]
    members: frozenset[Any] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "members", frozenset(self.items))

    def __eq__(self, other: object) -> bool:
        return type(other) is self.kind and other == self.members

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if not self.items:
            return f"{self.kind.__name__}()"
        body = "{" + ", ".join(map(repr, self.items)) + "}"
        return body if self.kind is set else f"{self.kind.__name__}({body})"


# -- types, namespaces, cells, as CPython sees them ----------------------------------------
_MRO = type.__dict__["__mro__"]
_TYPE_DICT = type.__dict__["__dict__"]


def type_lookup(cls: type, name: str, default: Any = None) -> Any:
    """``name`` as the type ``cls`` defines it: from the ``__dict__`` of the first class of
    its MRO that has it (CPython's ``_PyType_Lookup``, what the interpreter calls for a
    special method), else ``default``.

    Runs no user code: no descriptor, and no metaclass hook (the MRO and the
    dicts are read through ``type``'s own descriptors).
    """
    for klass in _MRO.__get__(cls):
        namespace = _TYPE_DICT.__get__(klass)
        if name in namespace:
            return namespace[name]
    return default


#: ``object``'s own ``__class__`` descriptor: a class whose lookup finds it reports
#: its true type through ``__class__`` (any other may lie, or run user code).
OBJECT_CLASS = object.__dict__["__class__"]
_ABSENT = object()


def type_defines(cls: type, name: str) -> bool:
    """Some class of ``cls``'s MRO has ``name`` in its ``__dict__`` (even as ``None``)."""
    return type_lookup(cls, name, _ABSENT) is not _ABSENT


_IMMUTABLE_TYPE = 1 << 8  # Py_TPFLAGS_IMMUTABLETYPE


def is_immutable_type(cls: type) -> bool:
    """``cls`` is a C type (static, or made from a spec): its ``__dict__`` cannot change,
    and C code names it by module and name (``collections.deque``)."""
    return bool(cls.__flags__ & _IMMUTABLE_TYPE)


#: Keys that libraries add to a class ``__dict__`` as caches, which no guard should see.
_CLASS_CACHE_KEYS = frozenset({"__slotnames__"})


def class_keys(mapping: Mapping[Any, Any]) -> list[Any]:
    """The keys of a class ``__dict__`` that its behaviour depends on, in order."""
    return [key for key in mapping if key not in _CLASS_CACHE_KEYS]


def builtins_of(namespace: Mapping[str, Any]) -> Mapping[str, Any]:
    """The builtins a function defined in the globals ``namespace`` reads, as CPython
    finds them: ``namespace['__builtins__']`` (a module's dict, or a dict), else
    the ``builtins`` module's."""
    found = namespace.get("__builtins__", builtins)
    if type(found) is types.ModuleType:
        return found.__dict__
    if not isinstance(found, Mapping):
        return builtins.__dict__
    return found


def cell_is_empty(cell: Any) -> bool:
    """True for an empty closure cell; raises TypeError for anything that is not a cell."""
    if type(cell) is not types.CellType:
        msg = f"expected a closure cell, got {describe(cell)}"
        raise TypeError(msg)
    try:
        cell.cell_contents  # noqa: B018 - reading is the test
    except ValueError:
        return True
    return False
