"""Reads that run no user code: what an explanation may still read after a guard failed.

The fast check stops at the first failing guard, so a plain call of the guarded
function, or a check, never reads what comes after it.  ``check_verbose`` (and
``explain``) go on to explain the other guards too, but reading a path can run
user code with effects: a ``defaultdict`` behind a ``ChainMap`` or a
``MappingProxyType`` inserts the key, a ``functools.cached_property`` computes
and stores its value, a property or ``__getattr__`` does whatever it does.
After a failure, an explanation therefore takes only the steps this module
finds plain (decided without running any user code, as ``inspect.getattr_static``
does), and runs only checks on plain data; the rest are reported as not evaluated.

* :func:`is_plain_step`: one step of an access path, on the value it steps from.
* :func:`is_plain_data`: a value whose comparisons and length run no user code.
"""

from __future__ import annotations

import types
import weakref
from typing import Any

from guards.core.sources import (
    AttrSource,
    ChainedSource,
    ClosureSource,
    CodeSource,
    DefaultsSource,
    DictKeySource,
    GetItemSource,
    SkipGuardSource,
    Source,
    TypeSource,
    WeakRefCallSource,
)
from guards.core.values import type_lookup

_ABSENT = object()
#: The ``__getattribute__`` implementations whose lookup order is CPython's own.
_DEFAULT_GETATTRIBUTE = (
    object.__getattribute__, type.__getattribute__, types.ModuleType.__getattribute__,
)
#: Data descriptors written in C that only read memory: ``__slots__`` members, ``__dict__``.
_PLAIN_DATA_DESCRIPTORS = (types.MemberDescriptorType, types.GetSetDescriptorType)
#: Non-data descriptors whose ``__get__`` only binds (makes a method object).
_BINDING_DESCRIPTORS = (
    types.FunctionType, staticmethod, classmethod, types.BuiltinFunctionType,
    types.MethodDescriptorType, types.WrapperDescriptorType, types.ClassMethodDescriptorType,
)
#: Step kinds that run no user code on a value of any type.
_ALWAYS_PLAIN = (TypeSource, DictKeySource, SkipGuardSource)
#: Exact types whose subscript is CPython's own.
_PLAIN_SUBSCRIPT = (dict, list, tuple, str, bytes)
#: Exact types whose ``==``, ``len``, truth and hash run no user code.
_PLAIN_SCALARS = frozenset({
    type(None), bool, int, float, complex, str, bytes, range, slice, type(...),
    type(NotImplemented), types.CellType, types.CodeType, types.FunctionType,
    types.BuiltinFunctionType, type,
})
_PLAIN_CONTAINERS = frozenset({tuple, list, set, frozenset, dict})
#: At most this many values are looked at by :func:`is_plain_data`.
_BUDGET = 1000


def _is_data_descriptor(attr: Any) -> bool:
    cls = type(attr)
    return type_lookup(cls, "__set__", _ABSENT) is not _ABSENT or (
        type_lookup(cls, "__delete__", _ABSENT) is not _ABSENT
    )


def _binds_plainly(attr: Any) -> bool:
    """Reading ``attr`` from a class runs no user code: a plain value, or a method."""
    cls = type(attr)
    return type_lookup(cls, "__get__", _ABSENT) is _ABSENT or cls in _BINDING_DESCRIPTORS


def _instance_dict(obj: Any) -> Any:
    descriptor = type_lookup(type(obj), "__dict__", _ABSENT)
    if type(descriptor) not in _PLAIN_DATA_DESCRIPTORS:
        return None
    namespace = descriptor.__get__(obj, type(obj))
    return namespace if type(namespace) is dict else None


def is_plain_attribute(obj: Any, name: str) -> bool:
    """``getattr(obj, name)`` runs no user code (no property, ``__getattr__``,
    ``cached_property`` or ``__getattribute__`` of the user's)."""
    cls = type(obj)
    if type_lookup(cls, "__getattribute__", _ABSENT) not in _DEFAULT_GETATTRIBUTE:
        return False
    on_type = type_lookup(cls, name, _ABSENT)
    if on_type is not _ABSENT and _is_data_descriptor(on_type):
        return type(on_type) in _PLAIN_DATA_DESCRIPTORS
    if issubclass(cls, type):  # not isinstance: that may ask obj.__class__
        own = type_lookup(obj, name, _ABSENT)
        if own is not _ABSENT:
            return _binds_plainly(own)
    else:
        namespace = _instance_dict(obj)
        if namespace is not None and name in namespace:
            return True
    if on_type is not _ABSENT:
        return _binds_plainly(on_type)
    # Missing: AttributeError, unless a __getattr__ (of the type, or a module's) runs.
    if type_lookup(cls, "__getattr__", _ABSENT) is not _ABSENT:
        return False
    if issubclass(cls, types.ModuleType):
        namespace = _instance_dict(obj)
        return namespace is not None and "__getattr__" not in namespace
    return True


def is_plain_step(source: Source, base_value: Any) -> bool:
    """Taking the step ``source`` from ``base_value`` runs no user code."""
    if not isinstance(source, ChainedSource) or isinstance(source, _ALWAYS_PLAIN):
        return True
    if isinstance(source, GetItemSource):
        return type(base_value) in _PLAIN_SUBSCRIPT and is_plain_data(source.index)
    if isinstance(source, AttrSource):
        return is_plain_attribute(base_value, source.member)
    if isinstance(source, (ClosureSource, CodeSource, DefaultsSource)):
        return type(base_value) is types.FunctionType
    if isinstance(source, WeakRefCallSource):
        return type(base_value) is weakref.ref
    return False  # a source kind this module does not know


def is_plain_data(value: Any) -> bool:
    """``value`` is built-in data all the way down: comparing it, its length, truth
    and hash run no user code."""
    stack, budget = [value], _BUDGET
    while stack:
        item = stack.pop()
        budget -= 1
        if budget < 0:
            return False
        cls = type(item)
        if cls in _PLAIN_SCALARS:
            continue
        if cls not in _PLAIN_CONTAINERS:
            return False
        stack.extend(item.items() if cls is dict else item)
    return True
