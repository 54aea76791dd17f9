"""Names across processes: classes, functions, code objects and modules by module,
qualified name and a fingerprint of their code.

A guard on a class (``TYPE_MATCH``), a function (``ID_MATCH``) or a code object
(``CLOSURE_MATCH``) holds that very object; another process has its own.  This
module names such an object so that another process finds its own version of
it, and only when that version has the same code:

* :func:`name_of` gives a :class:`Name` (kind, module, qualified name,
  fingerprint), or raises :class:`~guards.NotPortableError` for an object that
  has no name another process can look up (a lambda, a local class, an object
  replaced in its module since);
* :func:`resolve` finds the object a :class:`Name` names, looking ONLY at the
  modules already in ``sys.modules`` (it never imports), through the modules'
  and classes' own ``__dict__`` (no ``__getattr__``, descriptor or metaclass
  runs), and checks its fingerprint; anything missing or different raises
  :class:`~guards.StaleDocumentError`.

Fingerprints (SHA-256, hex):

* a code object: its bytecode (``co_code``), names, variable names, free and
  cell variables, argument counts, flags and constants, nested code objects by
  their own fingerprint (line numbers and the file name are left out: moving a
  function does not change it);
* a function: the fingerprint of its ``__code__`` (defaults and closure cells
  are values, which guards check separately where they are read); a function or
  class marked ``guards.constant`` is neither named nor resolved
  (:func:`marked_constant`): it runs untraced, so its result depends on code
  that its fingerprint does not cover;
* a class: its module and qualified name, the module and qualified name of each
  base, and for each key of its own ``__dict__`` (sorted, without caches that
  libraries add, see :func:`guards.core.values.class_keys`), the fingerprint of
  a function found there (also inside ``staticmethod``, ``classmethod`` and
  ``property``), else the name of the value's type.  Class attributes that are
  plain values are not part of it: guards check what is read of them.  An
  enum's members are, by name and value, in order: a member is named by its
  class and name, and no guard reads its value (it cannot change in a process).

The bytecode usually differs between Python versions (3.12's never matches
3.13's), but code that calls nothing can have the same bytecode under 3.11 and
3.12: a store keys its entries by the Python version as well.  Objects of the
``builtins`` module are named plainly (``int``, ``len``, also ``NoneType`` and
the other built-in types that only ``types`` holds) and found by name, without
a fingerprint.
"""

from __future__ import annotations

import builtins
import enum
import hashlib
import sys
import types
from collections.abc import Iterator
from typing import Any, cast

import attrs

from guards.core.values import class_keys, type_lookup
from guards.errors import NotPortableError, StaleDocumentError

#: The kinds of :class:`Name`.
NAME_KINDS = ("builtin", "module", "class", "function", "code", "cfunction")

_TYPE_DICT = type.__dict__["__dict__"]
_TYPE_MODULE = type.__dict__["__module__"]
_TYPE_QUALNAME = type.__dict__["__qualname__"]
_TYPE_BASES = type.__dict__["__bases__"]
_MODULE_DICT = vars(types.ModuleType)["__dict__"]
_LOCALS = ".<locals>."


@attrs.frozen
class Name:
    """How another process finds an object: ``kind`` (one of :data:`NAME_KINDS`),
    ``module`` (a key of ``sys.modules``; ``"builtins"`` for a builtin), ``qualname``
    (the path inside the module; empty for a module) and ``fingerprint`` (empty
    where there is no Python code to hash: builtins, modules, C functions)."""

    kind: str
    module: str
    qualname: str
    fingerprint: str = ""

    def __str__(self) -> str:
        if self.kind == "module":
            return self.module
        return self.qualname if self.kind == "builtin" else f"{self.module}.{self.qualname}"


# -- fingerprints ------------------------------------------------------------------------
def code_fingerprint(code: types.CodeType) -> str:
    """The fingerprint of a code object (see the module's docstring)."""
    digest = hashlib.sha256()
    for token in _code_tokens(code):
        digest.update(token.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()


def _code_tokens(code: types.CodeType) -> Iterator[str]:
    yield "code"
    yield code.co_qualname
    yield code.co_code.hex()
    for field in (code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars):
        yield repr(tuple(field))
    yield repr((code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount,
                code.co_flags))
    yield repr([_const_token(const) for const in code.co_consts])


def _const_token(const: Any) -> str:
    """A constant of a code object as text that does not depend on the process (a
    frozenset's items sorted, since its iteration order follows randomized hashes)."""
    t = type(const)
    if t is types.CodeType:
        return "code:" + code_fingerprint(const)
    if t is tuple:
        return "(" + ",".join(_const_token(item) for item in const) + ")"
    if t is frozenset:
        return "frozenset{" + ",".join(sorted(_const_token(item) for item in const)) + "}"
    if t is int:
        return "int:" + hex(const)
    if t in (float, complex, str, bytes, bool, type(None), type(...), slice):
        return f"{t.__name__}:{const!r}"
    return f"<{t.__module__}.{t.__qualname__}>"


def function_fingerprint(function: types.FunctionType) -> str:
    """The fingerprint of a Python function: that of its code."""
    return code_fingerprint(function.__code__)


def class_fingerprint(cls: type) -> str:
    """The fingerprint of a class (see the module's docstring)."""
    digest = hashlib.sha256()
    names = [_class_path(cls), *(_class_path(base) for base in _TYPE_BASES.__get__(cls))]
    digest.update(repr(names).encode("utf-8", "surrogatepass"))
    namespace = _TYPE_DICT.__get__(cls)
    for key in sorted(key for key in class_keys(namespace) if type(key) is str):
        digest.update(f"\x00{key}\x00{_member_token(namespace[key])}".encode(
            "utf-8", "surrogatepass"))
    members = namespace.get("_member_map_")
    if type(members) is dict and issubclass(cls, enum.Enum):
        # An enum's members by name and value, in order (aliases too): a member is
        # named by its class and name, and its value is never guarded (it cannot
        # change in one process), so another value must be another class.
        for name, member in members.items():
            digest.update(f"\x01{name}\x00{_enum_value_token(member)}".encode(
                "utf-8", "surrogatepass"))
    return digest.hexdigest()


def _enum_value_token(member: Any) -> str:
    """A member's ``_value_`` as a token (object's own attribute read: no enum hook)."""
    try:
        value = object.__getattribute__(member, "_value_")
    except AttributeError:
        return "<no value>"
    return _const_token(value)


def _class_path(cls: type) -> str:
    module = _TYPE_MODULE.__get__(cls)
    return f"{module if type(module) is str else '?'}.{_TYPE_QUALNAME.__get__(cls)}"


def _member_token(value: Any) -> str:
    t = type(value)
    if t is types.FunctionType:
        return "function:" + function_fingerprint(value)
    if t is staticmethod or t is classmethod:
        return f"{t.__name__}:{_member_token(value.__func__)}"
    if t is property:
        return "property:" + ",".join(
            _member_token(part) for part in (value.fget, value.fset, value.fdel)
        )
    return f"<{_class_path(t)}>"


#: The hooks of a metaclass that a loaded check's building or comparing could run.
_METACLASS_HOOKS = ("__getattribute__", "__getattr__", "__eq__", "__hash__", "__repr__")


def plain_metaclass(meta: type) -> bool:
    """True when the metaclass ``meta`` has the attribute reads, ``==``, hash and
    ``repr`` of ``type`` (or of ``enum``'s metaclass): then showing a class or using
    it as a key runs no user code."""
    return meta is type or all(
        type_lookup(meta, hook) in (type_lookup(type, hook), type_lookup(enum.EnumMeta, hook))
        for hook in _METACLASS_HOOKS
    )


#: The hooks of an enum member that showing it, hashing it or comparing it runs.
_MEMBER_HOOKS = ("__repr__", "__eq__", "__hash__")
_TYPE_MRO = type.__dict__["__mro__"]


def plain_enum(cls: type) -> bool:
    """True for an enum class (of a plain metaclass, :func:`plain_metaclass`) whose
    members' ``repr``, ``==`` and hash are those of ``enum`` or of a built-in type
    (``IntEnum``'s are ``int``'s): then showing or comparing a member runs no user code."""
    if not issubclass(type(cls), type) or not plain_metaclass(type(cls)):
        return False
    mro = _TYPE_MRO.__get__(cls)
    if enum.Enum not in mro:
        return False
    for hook in _MEMBER_HOOKS:
        owner = next((k for k in mro if hook in _TYPE_DICT.__get__(k)), object)
        if _TYPE_MODULE.__get__(owner) not in ("enum", "builtins"):
            return False
    return True


def enum_member(cls: type, name: str) -> Any:
    """The member ``name`` of the enum class ``cls`` (from its ``_member_map_``, read
    through the class ``__dict__``), or ``None``."""
    members = _TYPE_DICT.__get__(cls).get("_member_map_")
    if type(members) is not dict or type(name) is not str:
        return None
    member = members.get(name)
    return member if type(member) is cls else None


def plain_module(module: types.ModuleType) -> bool:
    """True for a module of the exact module type without a module ``__getattr__``:
    reading its attributes (as showing it does) runs no code of its own."""
    return type(module) is types.ModuleType and "__getattr__" not in _MODULE_DICT.__get__(module)


#: What ``guards.constant`` sets on a function or class: the tracer calls it untraced.
CONSTANT_MARK = "__guards_constant__"
_UNTRACED = ("is marked guards.constant: it runs untraced, so what it returns also depends "
             "on the code it calls, which no fingerprint covers")


def marked_constant(obj: Any) -> bool:
    """True for a Python function, or a class (or a subclass of one), marked with
    ``guards.constant``; read through ``__dict__`` only (no user code runs)."""
    if type(obj) is types.FunctionType:
        return obj.__dict__.get(CONSTANT_MARK, False) is not False
    if issubclass(type(obj), type):
        return any(_TYPE_DICT.__get__(k).get(CONSTANT_MARK, False) is not False
                   for k in _TYPE_MRO.__get__(obj))
    return False


# -- naming ------------------------------------------------------------------------------
def name_of(obj: Any) -> Name:
    """The :class:`Name` of ``obj``: a builtin, a module, a class, a Python function, a
    code object of a function that can be named, or a C function of a module.

    The name is checked by resolving it in this process: it must find ``obj``
    itself.  Anything else raises :class:`~guards.NotPortableError` saying why.
    """
    t = type(obj)
    if issubclass(t, types.ModuleType):
        name = _MODULE_DICT.__get__(obj).get("__name__")
        if not plain_module(obj):
            msg = (f"the module {name!r} runs code on attribute reads (a module __getattr__, "
                   "or a module subclass such as a lazy module)")
            raise NotPortableError(msg)
        if type(name) is str and sys.modules.get(name) is obj:
            return Name("module", name, "")
        raise NotPortableError(f"the module {name!r} is not in sys.modules under its name")
    if issubclass(t, type):
        if not plain_metaclass(t):
            msg = (f"{_shown(obj)} has a metaclass whose hooks (attribute reads, ==, hash) "
                   "would run when a loaded check is built")
            raise NotPortableError(msg)
        module, qualname = _TYPE_MODULE.__get__(obj), _TYPE_QUALNAME.__get__(obj)
        kind, fingerprint = "class", ""
    elif t is types.FunctionType:
        module, qualname, kind = obj.__module__, obj.__qualname__, "function"
        fingerprint = ""
    elif t is types.BuiltinFunctionType:
        module, qualname, kind, fingerprint = obj.__module__, obj.__qualname__, "cfunction", ""
        if isinstance(obj.__self__, types.ModuleType):
            module = obj.__self__.__name__
    elif t is types.CodeType:
        return _code_name(obj)
    else:
        msg = f"{_shown(obj)} is neither a class, a function, a code object nor a module"
        raise NotPortableError(msg)
    if type(module) is not str or type(qualname) is not str:
        raise NotPortableError(f"{_shown(obj)} has no module and qualified name")
    if module == "builtins" and kind in ("class", "cfunction") and (
        _builtin(qualname) is obj
    ):
        return Name("builtin", "builtins", qualname)
    found = _lookup(module, qualname)
    if found is not obj:
        msg = (f"{_shown(obj)} cannot be found by its name {module}.{qualname} "
               "(a lambda, a local function or class, or replaced in its module since)")
        raise NotPortableError(msg)
    if marked_constant(obj):
        raise NotPortableError(f"{_shown(obj)} {_UNTRACED}")
    if kind == "class":
        fingerprint = class_fingerprint(obj)
    elif kind == "function":
        fingerprint = function_fingerprint(obj)
    return Name(kind, module, qualname, fingerprint)


def _shown(obj: Any) -> str:
    t = type(obj)
    if issubclass(t, type):
        return f"the class {_class_path(obj)}"
    if t is types.FunctionType:
        return f"the function {obj.__module__}.{obj.__qualname__}"
    if t is types.CodeType:
        return f"the code of {obj.co_qualname} ({obj.co_filename})"
    return f"an object of type {_class_path(t)}"


def _code_name(code: types.CodeType) -> Name:
    """A code object is named by the module that defined it (found by its file among
    the imported modules) and its ``co_qualname``."""
    qualname = code.co_qualname
    for module in _modules_of_file(code.co_filename):
        try:
            found = _find_code(module, qualname)
        except StaleDocumentError:
            continue
        if found is code:
            return Name("code", module, qualname, code_fingerprint(code))
    msg = (f"{_shown(code)} cannot be found by its name (no imported module defines it "
           "under that name, or two functions share it)")
    raise NotPortableError(msg)


def _modules_of_file(filename: str) -> list[str]:
    found = []
    for name, module in list(sys.modules.items()):
        if type(module) is types.ModuleType and (
            _MODULE_DICT.__get__(module).get("__file__") == filename
        ):
            found.append(name)
    return found


#: The built-in types that the ``builtins`` module does not hold (``NoneType``,
#: ``function``, ``code``, ``cell``...), by name: ``types`` holds them all.
_UNLISTED_BUILTINS: dict[str, type] = {
    cls.__qualname__: cls for cls in vars(types).values()
    if type(cls) is type and cls.__module__ == "builtins"
    and builtins.__dict__.get(cls.__qualname__) is not cls
}


def _builtin(name: str) -> Any:
    """The builtin called ``name``: a built-in type that ``builtins`` does not hold
    (``NoneType``), or what ``builtins`` holds; ``_ABSENT`` for none."""
    found = _UNLISTED_BUILTINS.get(name)
    return found if found is not None else builtins.__dict__.get(name, _ABSENT)


# -- resolving ---------------------------------------------------------------------------
_ABSENT = object()


def _lookup(module_name: str, qualname: str) -> Any:
    """The object at ``module_name``.``qualname`` among the imported modules, through
    their ``__dict__`` and classes' own ``__dict__`` only; ``_ABSENT`` if there is none."""
    module = sys.modules.get(module_name)
    if not issubclass(type(module), types.ModuleType):  # a lazy module's subclass too
        return _ABSENT
    obj: Any = _MODULE_DICT.__get__(module).get(qualname.split(".")[0], _ABSENT)
    for part in qualname.split(".")[1:]:
        if not issubclass(type(obj), type):
            return _ABSENT
        obj = _TYPE_DICT.__get__(obj).get(part, _ABSENT)
        if type(obj) is staticmethod or type(obj) is classmethod:
            obj = obj.__func__
    return obj


def _stale(name: Name, why: str) -> StaleDocumentError:
    kind = {"cfunction": "function"}.get(name.kind, name.kind)
    return StaleDocumentError(f"the {kind} {name} {why}", str(name))


def _missing(name: Name) -> StaleDocumentError:
    if name.module not in sys.modules:
        return _stale(name, f"is not here: module {name.module!r} is not imported "
                            "(loading never imports)")
    return _stale(name, f"is not here: module {name.module!r} has no such name")


def _find_code(module: str, qualname: str) -> types.CodeType:
    """The code object ``qualname`` of ``module``: a function's code, or one nested in
    the code of the function that encloses it (``f.<locals>.g``)."""
    outer = qualname.split(_LOCALS)[0]
    function = _lookup(module, outer)
    name = Name("code", module, qualname)
    if type(function) is not types.FunctionType:
        raise _missing(name)
    if outer == qualname:
        return function.__code__
    found = [code for code in _nested_codes(function.__code__) if code.co_qualname == qualname]
    if len(found) != 1:
        why = "is not here" if not found else "is ambiguous here (two code objects share it)"
        raise _stale(name, why)
    return found[0]


def _nested_codes(code: types.CodeType) -> Iterator[types.CodeType]:
    for const in code.co_consts:
        if type(const) is types.CodeType:
            yield const
            yield from _nested_codes(const)


def resolve(name: Name) -> Any:
    """The object ``name`` names in this process, its fingerprint checked.

    Looks only in ``sys.modules`` (never imports) and only through ``__dict__``
    (no user code runs).  Raises :class:`~guards.StaleDocumentError` when the
    object is missing, of another kind, or has another fingerprint.
    """
    if name.kind == "builtin":
        found = _builtin(name.qualname)
        if found is _ABSENT:
            raise _stale(name, "is not a builtin here")
        return found
    if name.kind == "module":
        module = sys.modules.get(name.module)
        if not issubclass(type(module), types.ModuleType):  # no __class__ is asked
            raise _missing(name)
        if not plain_module(cast(types.ModuleType, module)):
            raise _stale(name, "runs code on attribute reads here (a module __getattr__, or a "
                               "module subclass such as a lazy module)")
        return module
    if name.kind == "code":
        code = _find_code(name.module, name.qualname)
        if code_fingerprint(code) != name.fingerprint:
            raise _stale(name, "has another fingerprint here (its code differs)")
        return code
    found = _lookup(name.module, name.qualname)
    if found is _ABSENT:
        raise _missing(name)
    if issubclass(type(found), type) and not plain_metaclass(type(found)):
        raise _stale(name, "has a metaclass whose hooks would run on reads and comparisons")
    expected = {"class": None, "function": types.FunctionType,
                "cfunction": types.BuiltinFunctionType}[name.kind]
    if (issubclass(type(found), type) if expected is None else type(found) is expected) is False:
        raise _stale(name, f"is not a {name.kind} here")
    if marked_constant(found):
        raise _stale(name, _UNTRACED)
    fingerprint = (class_fingerprint(found) if name.kind == "class"
                   else function_fingerprint(found) if name.kind == "function" else "")
    if fingerprint != name.fingerprint:
        raise _stale(name, "has another fingerprint here (its code differs)")
    return found
