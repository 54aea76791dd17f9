"""Values of immutable library types, handled by value: dates, fractions, UUIDs, paths...

A ``datetime.date``, a ``fractions.Fraction``, a ``uuid.UUID``, a pure path or a
compiled pattern cannot change, and what its methods answer depends on its
value alone, with a few named exceptions that read the world (``now()``, the
local time zone, the locale of ``strftime``).  The tracer therefore handles
such a value as one: the first time traced code uses it (an attribute, a
method, an operator, ``str()``), the value is guarded whole by value
(``EQUALS_MATCH``: exact type and equality as :func:`guards.core.values.same_value`
means it), and the use runs on the real value, its arguments realized too.
So a method written in C (``d.isoformat()``, ``pattern.findall(s)``) does not
make the run uncached.

* :func:`is_library_value`: the values handled so (exact types only: a
  subclass may carry state of its own);
* :func:`library_value_reads`: why one use of such a value reads more than the
  value (``d.astimezone()`` reads the local time zone), or ``None``;
* :func:`is_frozen_result`: whether a function's result can be handed to
  every caller as itself (nothing reachable from it can change);
* :func:`holds_date` and :func:`date_world_mention`: a date made during a run
  (``d + timedelta(1)``) is a real object, whose ``now()`` or ``strftime("%A")``
  the tracer would not see; a run that makes one is cached only if no code it
  ran can reach those.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import dis
import enum
import fractions
import pathlib
import re
import sys
import types
import uuid
import weakref
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from guards.core.values import type_lookup

#: Exact types whose every value is handled by value.
_PLAIN_VALUE_TYPES: frozenset[type] = frozenset({
    datetime.date, datetime.timedelta, datetime.timezone, fractions.Fraction, uuid.UUID,
    pathlib.PurePath, pathlib.PurePosixPath, pathlib.PureWindowsPath,
})
_PATTERN = type(re.compile(""))


def _pure_tzinfo(tzinfo: Any) -> bool:
    """No time zone, a fixed offset, or a ``zoneinfo.ZoneInfo`` (its rules are loaded
    once, at construction); a ``tzinfo`` subclass of user code may read anything."""
    if tzinfo is None or type(tzinfo) is datetime.timezone:
        return True
    zoneinfo = sys.modules.get("zoneinfo")
    return zoneinfo is not None and type(tzinfo) is zoneinfo.ZoneInfo


def is_ndarray(value: Any) -> bool:
    """A NumPy array of exact type ``numpy.ndarray`` whose items are not Python objects.

    NumPy is never imported here: only a value of a type of an imported NumPy
    can be one.
    """
    numpy = sys.modules.get("numpy")
    return numpy is not None and type(value) is numpy.ndarray and not value.dtype.hasobject


def is_library_value(value: Any) -> bool:
    """True for a value of an immutable library type that is handled by value.

    ``datetime.date``, ``timedelta`` and ``timezone``; ``datetime`` and ``time``
    whose ``tzinfo`` is None, a ``timezone`` or a ``zoneinfo.ZoneInfo``;
    ``Fraction``, ``UUID``, the pure paths of ``pathlib``, compiled patterns not
    made with ``re.LOCALE`` (their matching reads the locale), and ``Decimal``
    but a NaN (what its operations read of the thread's decimal context is
    guarded apart: ``DECIMAL_CONTEXT_MATCH``); and NumPy arrays of
    :func:`is_ndarray`, which are mutable: they are guarded by ``NDARRAY_MATCH``,
    and their writes (:func:`library_value_writes`) stop the run.
    Exact types only, decided without running user code.
    """
    cls = type(value)
    if cls in _PLAIN_VALUE_TYPES:
        return True
    test = _VALUE_TESTS.get(cls)
    if test is not None:
        return test(value)
    # is_ndarray, inline (asked of every object a miss reads an attribute of): the
    # exact type, so no metaclass property of a user class runs.
    numpy = sys.modules.get("numpy")
    return numpy is not None and cls is numpy.ndarray and not value.dtype.hasobject


#: Types whose values are library values when they pass a test of their own.
_VALUE_TESTS: dict[type, Callable[[Any], bool]] = {
    datetime.datetime: lambda value: _pure_tzinfo(value.tzinfo),
    datetime.time: lambda value: _pure_tzinfo(value.tzinfo),
    _PATTERN: lambda value: not value.flags & re.LOCALE,
    # A NaN equals nothing (a signalling one raises), so no guard could match it.
    decimal.Decimal: lambda value: not value.is_nan(),
}


#: Methods of dates and times that read the outside world, and what they read.
_DATE_WORLD = {
    "now": "the clock", "today": "the clock", "utcnow": "the clock",
    "fromtimestamp": "the local time zone", "utcfromtimestamp": "the clock's epoch",
}
#: ``strftime`` directives whose output does not depend on the locale.
_FIXED_DIRECTIVES = frozenset("YmdHMSfjUWyzGuVIZ%")
_DIRECTIVE = re.compile(r"%(.)", re.DOTALL)


def _reads_locale(fmt: Any) -> bool:
    """A ``strftime`` format with a directive whose text depends on the locale (``%a``,
    ``%b``, ``%c``, ``%p``, ``%x``...) or the platform (anything unknown)."""
    if type(fmt) is not str or (fmt.endswith("%") and not fmt.endswith("%%")):
        return True
    return any(match.group(1) not in _FIXED_DIRECTIVES for match in _DIRECTIVE.finditer(fmt))


def library_value_reads(value: Any, name: str, args: tuple[Any, ...] = ()) -> str | None:
    """What ``value.name(*args)`` reads besides ``value`` and ``args``, or ``None``.

    ``value`` is one of :func:`is_library_value`; ``args`` are real values (the
    format of ``strftime`` decides).  The answer names what is read, never an
    address: ``"the local time zone"`` for ``d.astimezone()``.
    """
    cls = type(value)
    if name in ("tofile", "dump") and is_ndarray(value):
        return "the file system"
    if cls not in (datetime.date, datetime.datetime, datetime.time):
        return None
    if name in _DATE_WORLD:
        return _DATE_WORLD[name]
    if name == "strptime":
        return "the locale"
    tzinfo = getattr(value, "tzinfo", None)
    if name == "astimezone" and (not args or tzinfo is None):
        return "the local time zone"
    if name == "timestamp" and tzinfo is None:
        return "the local time zone"
    if name in ("strftime", "__format__") and args and args[0] != "" and _reads_locale(args[0]):
        return f"the locale (the format {args[0]!r})"
    return None


#: Names through which code can reach what a date or time reads of the world: its
#: methods that do, its class (``type(d).now()``), lookups by a computed name, and
#: formatting (``f"{d:%A}"``, ``"{:%A}".format(d)`` read the locale).
_DATE_REACH = frozenset({
    *_DATE_WORLD, "astimezone", "timestamp", "strftime", "strptime", "__format__", "format",
    "format_map", "__class__", "type", "getattr", "__getattribute__", "vars", "dir",
    "methodcaller", "attrgetter", "__reduce__", "__reduce_ex__", "__dict__",
})
_DATE_TYPES = (datetime.date, datetime.datetime, datetime.time)
_MENTIONS: weakref.WeakKeyDictionary[types.CodeType, frozenset[str]] = (
    weakref.WeakKeyDictionary()
)


def is_date(value: Any) -> bool:
    """An exact ``date``, ``datetime`` or ``time``: a value whose methods may read the
    world (:func:`library_value_reads`) once it is a real object in user code."""
    return type(value) in _DATE_TYPES


def holds_date(value: Any, depth: int = 3) -> bool:
    """``value`` is a date or time (:func:`is_date`) or one of their classes, or a
    built-in container holding one (looked into ``depth`` levels deep; deeper counts as
    holding one)."""
    return _holds(value, _is_date_or_class, depth)


def _is_date_or_class(value: Any) -> bool:
    return is_date(value) or any(value is cls for cls in _DATE_TYPES)


def _holds(value: Any, test: Callable[[Any], bool], depth: int) -> bool:
    if test(value):
        return True
    cls = type(value)
    if cls in (list, tuple, set, frozenset) or cls is dict:
        if depth == 0:
            return True
        items = value.values() if cls is dict else value
        return any(_holds(item, test, depth - 1) for item in items)
    return False


def date_world_mention(code: types.CodeType) -> str | None:
    """How ``code`` (or code nested in it) could reach what a real date reads of the world
    without the tracer: a name of :data:`_DATE_REACH` it uses or holds as a constant, or
    ``"a format spec"``; ``None`` if it cannot."""
    return _mention(code, _DATE_REACH, formats=True)


def array_effect_mention(code: types.CodeType) -> str | None:
    """How ``code`` (or code nested in it) could make a real NumPy array or scalar write
    a file or show its memory without the tracer (``b.tofile(path)``, ``b.ctypes``): a
    name of :data:`_ARRAY_REACH`; ``None`` if it cannot."""
    return _mention(code, _ARRAY_REACH, formats=False)


def _mention(code: types.CodeType, names: frozenset[str], *, formats: bool) -> str | None:
    mentioned = _mentions(code)
    for name in sorted(mentioned & names):
        return name
    return "a format spec" if formats and _FORMAT_SPEC in mentioned else None


#: What :func:`_mentions` notes for a formatting with a spec (not a name: has a space).
_FORMAT_SPEC = "format spec"


def _mentions(code: types.CodeType) -> frozenset[str]:
    """The names ``code`` and the code nested in it use, its str constants, and
    :data:`_FORMAT_SPEC` if it formats with a spec (cached per code object)."""
    found = _MENTIONS.get(code)
    if found is None:
        parts = set(code.co_names)
        for const in code.co_consts:
            if type(const) is str:
                parts.add(const)
            elif type(const) is types.CodeType:
                parts |= _mentions(const)
        if any(instruction.opname == "FORMAT_WITH_SPEC" or (
            instruction.opname == "FORMAT_VALUE" and (instruction.arg or 0) & 4
        ) for instruction in dis.get_instructions(code)):
            parts.add(_FORMAT_SPEC)
        found = _MENTIONS[code] = frozenset(parts)
    return found


#: Names through which code can make a real NumPy array or scalar write a file, or show
#: what ``NDARRAY_MATCH`` does not guard (its address, the array it views).
_ARRAY_REACH = frozenset({
    "tofile", "dump", "ctypes", "__array_interface__", "__array_struct__", "base",
    "getattr", "__getattribute__", "methodcaller", "attrgetter", "vars", "dir",
})


def holds_array(value: Any) -> bool:
    """A NumPy array or scalar, at the top of ``value`` or in a built-in container of it
    (as :func:`holds_date` looks)."""
    return _holds(value, _is_numpy_value, 3)


def _is_numpy_value(value: Any) -> bool:
    numpy = sys.modules.get("numpy")
    return numpy is not None and issubclass(type(value), (numpy.ndarray, numpy.generic))


#: Attributes of a NumPy array that show its memory or the object it views, which
#: ``NDARRAY_MATCH`` does not guard, with what they show.
_NDARRAY_MEMORY = {
    "ctypes": "its memory address", "__array_interface__": "its memory address",
    "__array_struct__": "its memory address", "base": "the array it is a view of",
}


def library_memory_read(value: Any, name: str) -> str | None:
    """What ``value.name`` shows besides ``value``'s value (a NumPy array's address, the
    array it views), or ``None``: reading it makes the run uncached."""
    return _NDARRAY_MEMORY.get(name) if is_ndarray(value) else None


#: Methods of a NumPy array that write to it.
_NDARRAY_WRITES = frozenset({
    "sort", "fill", "put", "itemset", "resize", "setfield", "setflags", "partition",
    "__setitem__", "__delitem__", "__setstate__", "__array_finalize__",
})


def library_value_writes(
    value: Any, name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> bool:
    """True when ``value.name(*args, **kwargs)`` may write to ``value``: for a NumPy
    array, a method that writes in place (``sort``, ``fill``, ``+=``,
    ``byteswap(True)``) or any call with an ``out`` argument.  The other library
    values cannot change."""
    if not is_ndarray(value):
        return False
    if name in _NDARRAY_WRITES or "out" in kwargs:
        return True
    if name.startswith("__i") and name not in ("__index__", "__int__", "__invert__", "__iter__"):
        return True  # __iadd__ and the other in-place operators
    return name == "byteswap" and bool(args[0] if args else kwargs.get("inplace", False))


# -- results handed out as themselves --------------------------------------------------
@attrs.frozen
class _AttrsProbe:
    """A frozen attrs class: every one shares its ``__setattr__``, which refuses."""


_ATTRS_FROZEN_SETATTR = type_lookup(_AttrsProbe, "__setattr__")


def _frozen_fields(value: Any) -> tuple[Any, ...] | None:
    """The field values of a frozen dataclass or attrs class instance, or the items of a
    tuple subclass (a named tuple) whose instances have no ``__dict__``; ``None`` for
    anything else, or for an instance that can hold state besides its fields.

    Such an instance has no ``__dict__`` and no slot but its fields' (and
    ``__weakref__``): a ``__dict__`` or another slot is where state is filled in
    after the instance was made, past the frozen ``__setattr__`` (a
    ``functools.cached_property``, a caching descriptor, a method memoizing with
    ``object.__setattr__``), and a stored result handed out as itself would hand one
    caller's filling to the next.
    """
    cls = type(value)
    if issubclass(cls, tuple):
        return None if type_lookup(cls, "__dict__") is not None else tuple(value)
    params = cls.__dict__.get("__dataclass_params__")
    if params is not None and getattr(params, "frozen", False) and (
        type_lookup(cls, "__setattr__") is cls.__dict__.get("__setattr__")
    ):
        names = [field.name for field in dataclasses.fields(value)]
    elif "__attrs_attrs__" in cls.__dict__ and (
        type_lookup(cls, "__setattr__") is _ATTRS_FROZEN_SETATTR
    ):
        names = [field.name for field in cls.__dict__["__attrs_attrs__"]]
    else:
        return None
    if type_lookup(cls, "__dict__") is not None or not _only_field_slots(cls, names):
        return None
    try:
        return tuple(object.__getattribute__(value, name) for name in names)
    except AttributeError:  # a field never set
        return None


def _only_field_slots(cls: type, names: list[str]) -> bool:
    """Every slot the classes of ``cls`` declare is one of the fields ``names`` (or
    ``__weakref__``)."""
    allowed = {*names, "__weakref__"}
    for klass in cls.__mro__:
        slots = klass.__dict__.get("__slots__", ())
        if isinstance(slots, str):
            slots = (slots,)
        if not set(slots) <= allowed:
            return False
    return True


def is_frozen_result(value: Any, leaf: Callable[[Any], bool]) -> bool:
    """True when nothing reachable from ``value`` can change, so that a stored result
    can be handed to every caller as itself.

    ``leaf`` says it of the values without parts (the tracer's scalars); besides,
    library values (:func:`is_library_value`, also a ``Decimal`` and any compiled
    pattern), and tuples, frozensets, named tuples, frozen dataclasses and
    frozen attrs classes whose every part is such a value and whose instances
    hold nothing else (no ``__dict__``, no slot but the fields').  A frozen
    dataclass holding a list is not, nor one with a ``__dict__`` (a cached
    property fills it in later).  Too deep a value counts as not frozen.
    """
    try:
        return _frozen(value, leaf)
    except RecursionError:
        return False


def _frozen(value: Any, leaf: Callable[[Any], bool]) -> bool:
    if leaf(value):
        return True
    cls = type(value)
    if cls in (tuple, frozenset):
        return all(_frozen(item, leaf) for item in value)
    if (is_library_value(value) and not is_ndarray(value)) or cls in (_PATTERN, decimal.Decimal):
        return True
    if _is_numpy_scalar(value):
        return True
    if issubclass(cls, enum.Enum):
        return False  # a member with state of its own (a plain one is a leaf)
    fields = _frozen_fields(value)
    return fields is not None and all(_frozen(item, leaf) for item in fields)


def _is_numpy_scalar(value: Any) -> bool:
    """A NumPy scalar (``numpy.float64(1.5)``), immutable, not holding an object."""
    numpy = sys.modules.get("numpy")
    cls = type(value)
    # Not numpy.void: an item of a structured array, which may be a view into it.
    return numpy is not None and issubclass(cls, numpy.generic) and (
        cls.__module__ == "numpy" and cls not in (numpy.object_, numpy.void)
    )
