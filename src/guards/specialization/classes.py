"""User classes as tracked values: where a class may be proxied, and what pins its state.

A class cannot simply be proxied: ``type(x) is Cls``, ``except Cls``,
``match``, ``class Sub(Cls)`` and C code need the class itself.  So a user
class reaches traced code in one of two ways:

* **At a proxy site, as a proxy.**  Where a global is read only to take one
  attribute of it (``Cls.attr``, ``Cls.method(...)``, ``Cls.attr = v``), to
  call it (``Cls(...)``), or as the class argument of the builtin
  ``isinstance``/``issubclass``, the proxy is consumed by that one operation, so
  it is invisible: the attribute is tracked on its own path
  (``G['Cls'].attr``), a method is traced into, a write is caught.
  :func:`proxy_sites` finds those ``LOAD_GLOBAL`` instructions in the bytecode.
* **Elsewhere, as itself, pinned.**  Its reads (``cls.attr`` in a classmethod,
  ``type(x).attr``) then have no hook, so the class's state is guarded as a
  whole: its MRO, and the keys and entries of its own and its user-defined
  bases' ``__dict__``: functions and descriptors by identity, data by value
  (:func:`pinning`).  Data that cannot be guarded by value (an object, a list
  of objects) makes the run uncached.
"""

from __future__ import annotations

import dis
import enum
import sys
import types
import weakref
from collections.abc import Callable, Iterator
from typing import Any

#: Instructions that take one attribute of the value below them.
_ATTRIBUTE_OPS = frozenset({"LOAD_ATTR", "LOAD_METHOD", "STORE_ATTR", "DELETE_ATTR"})
_CALL_OPS = frozenset({"PRECALL", "CALL"})
_SIMPLE_LOADS = frozenset({"LOAD_FAST", "LOAD_DEREF", "LOAD_CONST", "LOAD_GLOBAL", "LOAD_NAME"})
_CLASS_CHECKS = frozenset({"isinstance", "issubclass"})

_SITES: weakref.WeakKeyDictionary[types.CodeType, frozenset[int]] = weakref.WeakKeyDictionary()


def proxy_sites(code: types.CodeType) -> frozenset[int]:
    """Offsets of the ``LOAD_GLOBAL`` instructions of ``code`` whose value is consumed by
    the next operation alone: an attribute of it, a call of it (the compiler pushes
    ``NULL`` only for a callee), or the class argument of ``isinstance``/``issubclass``."""
    sites = _SITES.get(code)
    if sites is None:
        sites = _SITES[code] = _scan_sites(code)
    return sites


def _scan_sites(code: types.CodeType) -> frozenset[int]:
    instructions = list(dis.get_instructions(code))
    sites = set()
    for i, instr in enumerate(instructions):
        if instr.opname != "LOAD_GLOBAL":
            continue
        following = instructions[i + 1].opname if i + 1 < len(instructions) else ""
        if following in _ATTRIBUTE_OPS or (instr.arg or 0) & 1 or (
            following in _CALL_OPS and _is_class_check_argument(instructions, i)
        ):
            sites.add(instr.offset)
    return frozenset(sites)


def _is_class_check_argument(instructions: list[dis.Instruction], i: int) -> bool:
    """``isinstance(x, Cls)``: a global callee named isinstance, one simple load, then here."""
    if i < 2:
        return False
    callee, argument = instructions[i - 2], instructions[i - 1]
    return (
        callee.opname == "LOAD_GLOBAL"
        and callee.argval in _CLASS_CHECKS
        and bool((callee.arg or 0) & 1)
        and argument.opname in _SIMPLE_LOADS
    )


def is_user_class(cls: type, is_library_file: Callable[[str], bool]) -> bool:
    """A class whose state user code may change: defined in Python outside the library."""
    if not cls.__flags__ & (1 << 9):  # Py_TPFLAGS_HEAPTYPE: builtins and C extension types
        return False
    module = sys.modules.get(cls.__module__)
    filename = getattr(module, "__file__", None)
    return not (isinstance(filename, str) and is_library_file(filename))


#: How one entry of a class ``__dict__`` is guarded.
BY_IDENTITY, BY_VALUE, UNGUARDABLE = "identity", "value", "unguardable"

_IDENTITY_TYPES = (
    types.FunctionType, staticmethod, classmethod, property, type, types.ModuleType,
    types.BuiltinFunctionType, types.MethodDescriptorType, types.WrapperDescriptorType,
    types.MemberDescriptorType, types.GetSetDescriptorType, types.ClassMethodDescriptorType,
    enum.Enum,  # a member with state of its own: what is read through it is guarded
)


def entry_kind(name: str, value: Any, constant_like: Callable[[Any], bool]) -> str:
    """How the class attribute ``name`` holding ``value`` is pinned.

    Functions, descriptors, classes and modules by identity (what they read is
    traced, or they run untraced and the net catches them); dunder and sunder
    entries (``__dict__``, ``_abc_impl``, an enum's ``_member_map_``), which the
    language and libraries manage, by identity; constants and containers of
    constants by value; anything else cannot be guarded.
    """
    if constant_like(value):
        return BY_VALUE
    cls = type(value)
    if (
        issubclass(cls, _IDENTITY_TYPES)
        or hasattr(cls, "__get__")
        or (name.startswith("_") and name.endswith("_"))
    ):
        return BY_IDENTITY
    return UNGUARDABLE


def pinning(
    cls: type, is_library_file: Callable[[str], bool]
) -> Iterator[tuple[int, type]]:
    """``(index in cls.__mro__, class)`` for every user class whose ``__dict__`` must be pinned."""
    for index, klass in enumerate(cls.__mro__):
        if is_user_class(klass, is_library_file):
            yield index, klass
