"""The tracer: runs a function on tracked inputs and collects the guards its run needs.

``specialize`` calls :func:`trace_call` on a miss.  The function runs for real,
but on proxies (:class:`~guards.specialization.proxy.Tracked`): its arguments, its closure
cells, the globals it reads and, recursively, the Python functions and methods
it calls.  Each operation on a proxy installs the guard it needs:

* reading an attribute or item gives another proxy (nothing is guarded yet);
* an int, float or non-empty str is a :class:`~guards.specialization.proxy.TrackedScalar`
  that installs nothing until used, then what the use asked (``n >= 1024``
  guards that outcome, any other use the value): see ``guards.specialization.scalars``,
  which also says when a run falls back to the rule below;
* any other *scalar* (None, bools, complex numbers, enum members, ranges, slices
  of scalars, classes, builtin functions) is never proxied: it is handed to user
  code as itself, with its guard (``CONSTANT_MATCH``, or ``ID_MATCH`` for classes
  and functions) installed when it is read;
* comparisons and arithmetic on containers guard the container's value, truth
  tests only its truth (``TRUTH_MATCH``), ``len`` its length, iteration its
  length or keys, ``in`` on a dict one key;
* a Python function or method that is called is traced into
  (``CLOSURE_MATCH`` on it, its used defaults and its cells tracked);
* anything the tracer cannot follow (a write to an input, a disabled function,
  C code that would read a tracked object, a generator that escapes, an
  exception) marks the run *untrackable*: its result is not cached.  A run
  that would next have an effect the trace cannot replay (a write to an input,
  a call of a disabled function or of one that assigns globals, ``globals()``,
  ``eval``, ``exec``) is abandoned *before* that effect, and the call then runs
  untraced, once: so each effect happens exactly once, and nothing later in the
  run reads a value the trace cached before the write.
* a parameter the code never loads (and cannot reach through ``locals()``,
  ``super()`` or the frame) is bound as it is, with no guard: changing an
  argument the function ignores is not a miss;
* an identity test (``x is None``, ``a is b``) cannot be seen on a proxy; when
  traced code contains one, every tracked object gets ``NOT_NONE_MATCH``, so
  ``x is None`` stays false only while it is; when it compares two values
  (``a is b``, ``x is SENTINEL``), the tracked objects get one ``NO_ALIASING``
  check, so objects that were distinct stay distinct.
* one object reached by two paths (an argument a global also refers to) is one
  proxy, guarded ``DUPLICATE_INPUT``, unless its ``==`` is ``object``'s and no traced
  code compares two values with ``is``: then each path has its own proxy and
  guards only what is read through it (an equal distinct object can hit; ``==``,
  ``id()`` and ``hash()`` answer for the object and pin it).  Code comparing with
  ``is`` entered after such a split traces the run again (``retry_exact``); a
  result holding the object keeps the paths one object (``DUPLICATE_INPUT``).

Around every run, one net per way a traced run could differ from a plain one,
each in its own module: user code that runs untraced makes it uncached
(``guards.tracking.net``); anything of it that outlives it discards it
(``guards.specialization.escapes``); an exception that tracing caused, handled by user code,
abandons it (``guards.specialization.taint``); so does code about to read the call stack
(``guards.specialization.frames``, with ``guards.specialization.polyfills``' stand-ins).

See ``docs/specialize.md`` for the rules a function must follow.
"""

from __future__ import annotations

import abc
import builtins
import collections
import contextlib
import decimal
import dis
import enum
import functools
import gc
import re
import struct
import sys
import types
import weakref
from collections.abc import Callable, Mapping
from sys import exception, gettrace, settrace
from typing import Any, NoReturn, TypeGuard

import attrs

from guards.core.builder import GuardBuilder
from guards.core.signatures import call_with, parameters
from guards.core.sources import (
    PLAIN_SUBSCRIPT_TYPES,
    AttrSource,
    GetItemSource,
    GlobalSource,
    GlobalsSource,
    LocalSource,
    ModuleSource,
    Source,
    TypeSource,
    WeakRefCallSource,
    calls_missing,
)
from guards.core.values import (
    OBJECT_CLASS,
    builtins_of,
    cell_is_empty,
    class_keys,
    is_immutable_type,
    item_types,
    type_defines,
    type_lookup,
)
from guards.errors import GuardsError
from guards.specialization.classes import (
    BY_IDENTITY,
    BY_VALUE,
    entry_kind,
    is_user_class,
    pinning,
    proxy_sites,
)
from guards.specialization.delegates import (
    NOT_DELEGATED,
    delegated_contains,
    delegated_iteration,
    delegated_operation,
)
from guards.specialization.escapes import function_holding, outliving
from guards.specialization.frames import (
    is_log_call,
    is_log_frame,
    log_stacklevel,
    stack_reader_behind,
    stack_reader_in,
)
from guards.specialization.library import (
    has_library_frames,
    is_library_code,
    is_library_file,
    is_library_frame,
    is_own_file,
)
from guards.specialization.library_values import (
    array_effect_mention,
    date_world_mention,
    holds_array,
    holds_date,
    is_library_value,
    is_ndarray,
    library_memory_read,
    library_value_reads,
    library_value_writes,
)
from guards.specialization.nested import (
    DEEPEST,
    CallsThroughCache,
    Roots,
    note_too_deep,
    plain_wrapper,
    reroot,
    specialized_state,
)
from guards.specialization.polyfills import (
    POLYFILLS,
    STAND_IN_TYPES,
    StandIn,
    abandoning,
    real_of,
    stand_in,
)
from guards.specialization.proxy import (
    OPERATIONS,
    SCALAR_PROXY_TYPES,
    UNANSWERED,
    Tracked,
    applied,
    c_type_name,
    is_proxy,
    is_scalar_proxy,
    proxy_class,
    tracer_of,
    tracker_of,
)
from guards.specialization.purity import class_unknown_reads, unknown_reads
from guards.specialization.reasons import (
    code_line,
    definition_line,
    frame_line,
    instruction_line,
    located,
    return_line,
)
from guards.specialization.scalars import NOT_REFUSALS, ScalarMethod, ScalarTracer
from guards.specialization.taint import raised_by_tracing, taint_of, too_deep
from guards.specialization.unbound import (
    UNBOUND_C_METHODS,
    TypeAtSite,
    UnboundCMethod,
    attribute_sites,
)
from guards.specialization.world import held_reads_world, reads_world, traced_library, world_value
from guards.tracking.lazy import UNREAD, LazyTracker, TracingContext, read_value
from guards.tracking.net import (
    TRACE_FUNCTION,
    UntracedCodeNet,
    exempt,
    profiler_reason,
    quiet,
    suspended,
    watches_raises,
)

_BUILTIN_CONTAINERS = (list, tuple, dict, set, frozenset)
#: Attributes C code looks up as a protocol (``{**x}`` reads ``x.keys``), and whose
#: absence it reports with the proxy's type name (the value's: see ``proxy_class``).
_PROTOCOL_ATTRIBUTES = frozenset({"keys"})
#: C special methods whose direct call (``x.__format__(spec)``) is what the proxy's
#: hook of that name answers, and how many arguments that call takes.
_AS_HOOKS = {"__format__": 1, "__str__": 0, "__repr__": 0, "__dir__": 0}
#: Special methods whose result C code checks for an exact type (``__str__`` a str,
#: ``__index__`` an int), which a tracked scalar is not.
_EXACT_RESULTS = frozenset({
    "__str__", "__repr__", "__format__", "__bytes__", "__index__", "__int__", "__float__",
    "__complex__", "__hash__", "__len__", "__length_hint__", "__fspath__", "__sizeof__",
    "__bool__", "__dir__",
})
#: A tuple's own ``%`` (``t % x``), which is not formatting with ``t``.
_PERCENT_OWN = frozenset({"__mod__", "__rmod__", "__imod__"})
#: Types of the functions and classes that have stand-ins (hashed by identity: looking
#: one up runs no user code).
_POLYFILLED_TYPES = (types.BuiltinFunctionType, types.FunctionType, type)
#: Class entries that hold a function: ``Cls.f`` reads the function (see ``_pin_entry``).
_METHOD_WRAPPERS = (staticmethod, classmethod)
#: C methods whose answer depends on an object's memory, not its value (see polyfills).
_MEMORY_METHODS = frozenset({"__sizeof__"})
_MUTABLE_CONTAINERS = (list, dict, set, bytearray)
_ID_SCALARS = (
    type, types.BuiltinFunctionType, types.CodeType, types.WrapperDescriptorType,
    types.MethodDescriptorType, types.ClassMethodDescriptorType,
)
_GENERATORS = (
    types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType,
)
def _bypassed_override(cls: type) -> str | None:
    """The method of a dict subclass that C code reading a dict bypasses, if any.

    ``dict(d)``, ``{**d}`` and ``dict.update(d)`` read a real dict subclass whose
    ``__iter__`` is dict's straight from its table, past a ``keys`` or
    ``__getitem__`` written in Python; a proxy has no table, so C code would call
    them.  A run with such a value cannot be faithful: it is abandoned.
    """
    if cls is dict or not issubclass(cls, dict) or type_lookup(cls, "__iter__") is not (
        dict.__iter__
    ):
        return None
    for name in ("keys", "__getitem__"):
        if isinstance(type_lookup(cls, name), types.FunctionType):
            return name
    return None


def _is_c_iterator(cls: type) -> bool:
    """``cls`` is an iterator implemented in C (``list_iterator``, ``map``, ``zip``...)."""
    step = type_lookup(cls, "__next__")
    return step is not None and not isinstance(step, types.FunctionType)


#: The views of a dict, by the method that makes each.
_DICT_VIEWS = {
    type({}.keys()): "keys", type({}.values()): "values", type({}.items()): "items",
}
_MUTATORS: dict[type, frozenset[str]] = {
    list: frozenset({"append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse",
                     "__setitem__", "__delitem__", "__iadd__", "__imul__"}),
    dict: frozenset({"update", "pop", "popitem", "setdefault", "clear", "__setitem__",
                     "__delitem__", "__ior__"}),
    set: frozenset({"add", "discard", "remove", "pop", "clear", "update", "difference_update",
                    "intersection_update", "symmetric_difference_update", "__ior__", "__iand__",
                    "__isub__", "__ixor__"}),
}




#: Exact types of value scalars.  A subclass of one (``class Tag(str)``) may carry
#: attributes and Python methods that a guard on its value would not see, so its
#: instances are tracked like any object; plain enum members are the one exception.
_EXACT_VALUE_SCALARS = frozenset({int, float, complex, str, bytes, bool, range})
#: What ``enum`` itself keeps in a member's ``__dict__``.
_ENUM_BOOKKEEPING = frozenset({"_value_", "_name_", "__objclass__", "_sort_order_"})


def _is_value_scalar(value: Any) -> bool:
    cls = type(value)
    if cls is slice:
        return _is_value_slice(value)
    return cls in _EXACT_VALUE_SCALARS or (issubclass(cls, enum.Enum) and _is_plain_member(value))


def _is_value_slice(value: slice) -> bool:
    """A slice whose ``start``, ``stop`` and ``step`` are ``None`` or value scalars.

    A slice is immutable and C code reads its fields without any hook (``xs[s]``,
    ``s.indices(n)``), so it cannot be tracked lazily; such a slice is guarded by its
    value instead (``CONSTANT_MATCH``: exact types, field by field), and equal fresh
    slices match.  One holding objects (``slice(Box(), None)``) is tracked like any object.
    """
    return all(
        field is None or _is_value_scalar(field) for field in (value.start, value.stop, value.step)
    )


def _is_plain_member(member: enum.Enum) -> bool:
    """An enum member guarded by value: a deep-immutable value and no attributes of its
    own.  One whose value is a dict, or with ``self.options = {...}`` set in
    ``__init__`` or later, holds mutable state a guard on the member would not see,
    so it is tracked like any object (by identity, what is read through it guarded)."""
    own = getattr(member, "__dict__", None)
    if type(own) is not dict or not _ENUM_BOOKKEEPING.issuperset(own):
        return False
    value = own.get("_value_")
    return value is member or is_deep_immutable(value)


def is_scalar(value: Any) -> bool:
    """True for values handed to user code as themselves, guarded when read.

    Decided by the exact type, never by ``isinstance``, which asks the value's
    ``__class__`` (user code, which may lie or raise).
    """
    cls = type(value)
    return (
        value is None
        or value is Ellipsis
        or value is NotImplemented
        or _is_value_scalar(value)
        or issubclass(cls, _ID_SCALARS)
    )


def _scalar_kind(value: Any) -> Any:
    if value is None:
        return GuardBuilder.NONE_MATCH
    if type(value) is bool:
        return GuardBuilder.BOOL_MATCH
    if type(value) in (float, complex) and value != value:
        # A NaN: which object it is shows where C compares identity first (`[a] == [b]`,
        # `a in (b,)`, dict lookups), and a NaN equals no other NaN.
        return GuardBuilder.ID_MATCH
    if _is_value_scalar(value):
        return GuardBuilder.CONSTANT_MATCH
    return GuardBuilder.ID_MATCH


def is_constant_like(value: Any) -> bool:
    """Scalars, and built-in containers of constant-like values (compared by value)."""
    if is_scalar(value):
        return True
    t = type(value)
    if t in (list, tuple, set, frozenset):
        return all(is_constant_like(item) for item in value)
    if t is dict:
        return all(is_constant_like(k) and is_constant_like(v) for k, v in value.items())
    return False


def is_deep_immutable(value: Any) -> bool:
    """True when nothing reachable from ``value`` can change: a scalar (:func:`is_scalar`,
    so an enum member only when it is a plain value), or a tuple or frozenset of them.

    Such a value is handed out as itself: a stored result needs no copy, a dict key
    needs no tracking.  Stricter than :func:`guards.core.values.equality_is_fixed`,
    which asks only whether what ``==`` compares can change.
    """
    if is_scalar(value):
        return True
    if type(value) in (tuple, frozenset):
        return all(is_deep_immutable(item) for item in value)
    return False


#: Ints below this many bits have fewer than 640 digits, the least limit
#: ``sys.set_int_max_str_digits`` accepts: converting them never reads it.
_STR_DIGITS_BITS = 2100

def _has_huge_int(value: Any) -> bool:
    """``value`` is, or is a slice holding, an int whose ``str()`` reads the digit limit."""
    if type(value) is slice:
        return any(map(_has_huge_int, (value.start, value.stop, value.step)))
    return type(value) is int and value.bit_length() > _STR_DIGITS_BITS


#: From this length on, a list or tuple of plain scalars that is iterated is guarded
#: as one value (``SEQUENCE_VALUES_MATCH``, exact item types) instead of item by item.
WHOLE_AT = 256


def _has_huge_item(items: list[Any] | tuple[Any, ...], kinds: frozenset[type]) -> bool:
    """Some item is an int whose ``str()`` reads the digit limit (:func:`_has_huge_int`);
    ``kinds`` are the items' exact types.  In C when every item is an int of 64 bits."""
    if kinds <= {int, bool}:
        try:  # in C: every item fits in 64 bits, so none is huge
            struct.pack(f"{len(items)}q", *items)
        except struct.error:
            pass
        else:
            return False
    return any(map(_has_huge_int, items))


def _plain_scalars(items: list[Any] | tuple[Any, ...]) -> bool:
    """Every item an exact value scalar (or None) whose ``str()`` reads no setting."""
    return all(
        item is None or (_is_value_scalar(item) and not _has_huge_int(item)) for item in items
    )


_OBJECT_NEW = object.__new__
_OBJECT_INIT = object.__dict__["__init__"]
_ABSENT = object()
_OBJECT_GETATTRIBUTE = object.__dict__["__getattribute__"]
#: ``object``'s special methods ``Tracer.object_default`` follows.
#: Special method -> the one CPython asks of the other operand when it declines
#: (``a < b`` asks ``b.__gt__(a)``; ``a + b`` asks ``b.__radd__(a)``; a reflected
#: ``b.__radd__(a)`` was asked after ``a.__add__(b)``, which gets the real value).
_REFLECTED: dict[str, str] = {
    "__eq__": "__eq__", "__ne__": "__ne__", "__lt__": "__gt__", "__gt__": "__lt__",
    "__le__": "__ge__", "__ge__": "__le__",
    **{f"__{op}__": f"__r{op}__" for op in (
        "add", "sub", "mul", "matmul", "truediv", "floordiv", "mod", "divmod", "pow",
        "lshift", "rshift", "and", "xor", "or")},
    **{f"__r{op}__": f"__{op}__" for op in (
        "add", "sub", "mul", "matmul", "truediv", "floordiv", "mod", "divmod", "pow",
        "lshift", "rshift", "and", "xor", "or")},
}
_OBJECT_DEFAULTS = frozenset({"__eq__", "__ne__", "__hash__", "__repr__", "__str__",
                              "__format__", "__dir__"})


def _identity_equal(cls: type) -> bool:
    """``==`` on ``cls`` is ``object``'s (identity, answered for two proxies of one object
    by ``guards.specialization.delegates``): its objects may have a proxy per path."""
    return getattr(cls, "__eq__", None) is object.__eq__ and not issubclass(cls, type)


def _fixed_type(cls: type) -> bool:
    """Every class of the MRO is a C type, whose dict cannot change (TYPE_MATCH suffices)."""
    return all(map(is_immutable_type, cls.__mro__))


#: Opcodes that test identity (3.11 and 3.12 names); none of them reaches a proxy.
_IDENTITY_OPS = frozenset({
    "IS_OP", "POP_JUMP_IF_NONE", "POP_JUMP_IF_NOT_NONE", "POP_JUMP_FORWARD_IF_NONE",
    "POP_JUMP_FORWARD_IF_NOT_NONE", "POP_JUMP_BACKWARD_IF_NONE", "POP_JUMP_BACKWARD_IF_NOT_NONE",
})
#: Types of the constants whose identity a scalar proxy tests as its value would
#: (``x is None``, ``x is True``: an int, float, str or bytes is none of them).
_SINGLETON_TYPES = (type(None), bool, type(Ellipsis))
#: Builtin classes by name: what ``type(x) is int`` compares with.
_CLASS_NAMES = frozenset(
    name for name, value in vars(builtins).items() if isinstance(value, type)
)
#: Names of functions that test identity (``operator.is_``).
_IDENTITY_FUNCTIONS = frozenset({"is_", "is_not"})
#: BINARY_OP's arguments for ``%`` and ``%=`` (NB_REMAINDER, NB_INPLACE_REMAINDER).
_PERCENT_ARGS = frozenset({6, 19})
#: Special methods that a constant's operators answer NotImplemented to a proxy when
#: called directly (``(5).__add__(n)``), where an operator would ask the proxy next.
_DIRECT_OPERATORS = frozenset(
    {name for name, _, kind in OPERATIONS if kind in ("binary", "reflected")} | {"__contains__"}
)
#: What is left of a %-format once its ``%%`` are taken out has a conversion if it has a ``%``.
_ESCAPED_PERCENT = re.compile(r"%%")
#: Exact types of values whose hashing, comparison and guarding run no user code.
_PLAIN_VALUES = frozenset({int, float, str, bytes, bool, type(None)})
#: Opcodes of ``match`` patterns that read the subject's type flags, not the subject.
_SHAPE_OPS = frozenset({"MATCH_MAPPING", "MATCH_SEQUENCE"})
#: Names through which code can read its own frame's locals without loading them
#: (zero-argument ``super()`` reads the first parameter from the frame).
_FRAME_READERS = frozenset(
    {"locals", "vars", "eval", "exec", "_getframe", "currentframe", "f_locals", "stack",
     "getframeinfo", "getouterframes", "trace", "settrace", "breakpoint", "super"}
)


@attrs.frozen
class CodeFacts:
    """What the tracer needs to know of a code object, from one pass over its bytecode.

    ``writes``: why running it on tracked cells and globals would not be
    faithful (it assigns a global or rebinds a ``nonlocal``: the write would go
    to the traced copies), or ``None``; ``writes_at``, the ``file:line`` of that
    write.  ``tests_identity``: it uses ``is``.
    ``tests_shape``: a ``match`` statement in it has mapping or sequence patterns,
    which test the subject's type flags without asking the subject.
    ``compares_identity``: it compares two values with ``is``, not only one with a
    constant.  The three flags count the code nested in it (a lambda, a
    comprehension, an inner function).
    ``percent_operands``: offsets of its ``%`` operations whose right operand may be
    a tracked tuple (it is not a tuple display ``(a, b)``).
    ``unused``: parameters it never reads, so binding them needs no guard (none,
    when the code could read its frame another way: ``locals()``, ``super()``).
    ``reads_stack``: why it would see the tracer's frames
    (``guards.specialization.frames``), or ``None``.
    """

    writes: str | None
    tests_identity: bool
    unused: frozenset[str]
    tests_shape: bool = False
    percent_operands: frozenset[int] = frozenset()
    #: It tests the identity of two values (``a is b``), not only against a constant.
    compares_identity: bool = False
    reads_stack: str | None = None
    writes_at: str | None = None
    #: It may test the identity of a scalar: ``a is b``, ``n is 5`` (anything but ``None``,
    #: a bool or ``...``), or through ``operator.is_``; a proxy would answer otherwise.
    scalar_identity: bool = False
    #: Names of builtin classes it tests identity with (``type(x) is int``): harmless
    #: to a proxy, as no scalar is a class, unless the function's globals define them.
    identity_names: frozenset[str] = frozenset()

    #: ``file:line`` of a ``"..." % x`` in it whose constant has no conversion (see
    #: :func:`blind_format`), or None.
    blind_format_at: str | None = None
    #: Why C code in it would take a scalar proxy otherwise than the value without asking
    #: it (a constant's own special method called directly, ``s in 'abc'``), or None.
    scalar_trap: str | None = None

    def tests_scalar_identity(self, namespace: Mapping[str, Any]) -> bool:
        """It may test a scalar's identity, run with the globals ``namespace``."""
        return self.scalar_identity or any(name in namespace for name in self.identity_names)

    def tells_scalars(self, namespace: Mapping[str, Any]) -> str | None:
        """Why running it with the globals ``namespace`` could tell a scalar proxy from its
        value (an identity test, or a :attr:`scalar_trap`), or None."""
        if self.tests_scalar_identity(namespace):
            return "tests identity, which a tracked scalar would fail"
        return self.scalar_trap


_FACTS: weakref.WeakKeyDictionary[types.CodeType, CodeFacts] = weakref.WeakKeyDictionary()


def code_facts(code: types.CodeType) -> CodeFacts:
    """The :class:`CodeFacts` of ``code``, cached for as long as the code object lives."""
    facts = _FACTS.get(code)
    if facts is None:
        facts = _FACTS[code] = _scan(code)
    return facts


def _scan(code: types.CodeType) -> CodeFacts:
    writes = writes_at = None
    tests_identity = tests_shape = compares_identity = scalar_identity = False
    identity_names: set[str] = set()
    loaded: set[str] = set()
    percent_operands: set[int] = set()
    freevars = set(code.co_freevars)
    previous = None
    scalar_trap = blind_format_at = None
    instructions = list(dis.get_instructions(code))
    for index, instr in enumerate(instructions):
        name = instr.opname
        if scalar_trap is None:
            scalar_trap = _scalar_trap(instructions, index)
        if blind_format_at is None and blind_format(instructions, index):
            blind_format_at = instruction_line(code, instr.offset)
        if name == "BINARY_OP" and instr.arg in _PERCENT_ARGS and (
            instr.is_jump_target or not _makes_tuple(previous)
        ):
            percent_operands.add(instr.offset)
        compares_identity = compares_identity or (
            name == "IS_OP" and (previous is None or previous.opname != "LOAD_CONST")
        )
        if name == "IS_OP":
            right = ("", None) if previous is None else (previous.opname, previous.argval)
            if right[0] == "LOAD_GLOBAL" and right[1] in _CLASS_NAMES:
                identity_names.add(str(right[1]))
            elif right[0] != "LOAD_CONST" or type(right[1]) not in _SINGLETON_TYPES:
                scalar_identity = True
        previous = instr
        if writes is None and name in ("STORE_GLOBAL", "DELETE_GLOBAL"):
            writes = f"{code.co_qualname} assigns the global {instr.argval!r}"
            writes_at = instruction_line(code, instr.offset)
        elif writes is None and name in ("STORE_DEREF", "DELETE_DEREF") and (
            instr.argval in freevars
        ):
            writes = f"{code.co_qualname} rebinds the nonlocal {instr.argval!r}"
            writes_at = instruction_line(code, instr.offset)
        tests_identity = tests_identity or name in _IDENTITY_OPS
        tests_shape = tests_shape or name in _SHAPE_OPS
        if "LOAD_" in name:  # 3.13 pairs loads, and a store with a load: argval is a tuple
            names = instr.argval if isinstance(instr.argval, tuple) else (instr.argval,)
            loaded.update(n for n in names if isinstance(n, str))
    # Functions, lambdas and comprehensions made in it run without the tracer seeing
    # them start: their tests count as its own.
    for nested in code.co_consts:
        if type(nested) is types.CodeType:
            facts = code_facts(nested)
            tests_identity = tests_identity or facts.tests_identity
            tests_shape = tests_shape or facts.tests_shape
            compares_identity = compares_identity or facts.compares_identity
            scalar_identity = scalar_identity or facts.scalar_identity
            identity_names.update(facts.identity_names)
            scalar_trap = scalar_trap or facts.scalar_trap
            blind_format_at = blind_format_at or facts.blind_format_at
    scalar_identity = scalar_identity or bool(_IDENTITY_FUNCTIONS & set(code.co_names))
    signature = parameters(code)
    params = {*signature.positional, *signature.kwonly}
    frame_read = bool(_FRAME_READERS & set(code.co_names))
    unused = frozenset() if frame_read else frozenset(params - loaded - set(code.co_cellvars))
    stack_name = stack_reader_in(code)
    reads_stack = None if stack_name is None else (
        f"{code.co_qualname} reads the call stack ({stack_name}), where the tracer's "
        "frames would show"
    )
    return CodeFacts(
        writes, tests_identity, unused, tests_shape, frozenset(percent_operands),
        compares_identity, reads_stack, writes_at, scalar_identity, frozenset(identity_names),
        blind_format_at, None if scalar_trap is None else f"{code.co_qualname} {scalar_trap}",
    )


def _scalar_trap(instructions: list[dis.Instruction], index: int) -> str | None:
    """What the instruction at ``index`` does that C code would do otherwise with a scalar
    proxy than with its value, without asking the proxy, or None.

    * ``(5).__add__(n)``, ``str.__eq__("a", s)``: a constant's own operator, called
      directly, returns NotImplemented for a proxy where the value gives an answer;
    * ``s in "abc"``: ``str.__contains__`` refuses anything but a str (the run would
      raise, and be traced again: this starts it with values).

    Anything else C code or the interpreter refuses a proxy for raises, which the
    net sees (``Tracer.raised_here``).
    """
    instr = instructions[index]
    name = instr.opname
    argval = instr.argval
    if name in ("LOAD_ATTR", "LOAD_METHOD", "IMPORT_FROM", "LOAD_GLOBAL", "LOAD_NAME") and (
        argval in _DIRECT_OPERATORS
    ):
        return f"uses {argval}"
    if name == "LOAD_CONST" and argval in _DIRECT_OPERATORS:  # getattr(5, "__add__")
        return f"names {argval}"
    previous = instructions[index - 1] if index else None
    if name == "CONTAINS_OP" and _loads_text(previous):
        return "tests `in` a constant string"
    return None


def blind_format(instructions: list[dis.Instruction], index: int) -> bool:
    """The instruction at ``index`` is ``"..." % x`` with a constant that has no conversion.

    C formatting then decides by ``x``'s type alone, asking nothing of it: a mapping
    or an empty tuple gives the constant, anything else raises.  So no hook of a
    tracked ``x`` runs, and no guard would hold the type that decided.
    """
    instr = instructions[index]
    if instr.opname != "BINARY_OP" or instr.arg not in _PERCENT_ARGS or instr.is_jump_target:
        return False
    left = _left_operand(instructions, index)
    return _loads_text(left) and "%" not in _ESCAPED_PERCENT.sub("", _text(left.argval))


def _loads_text(instr: dis.Instruction | None) -> TypeGuard[dis.Instruction]:
    """The instruction loads a str or bytes constant."""
    return instr is not None and instr.opname == "LOAD_CONST" and type(instr.argval) in (str, bytes)


def _text(constant: str | bytes) -> str:
    """A str or bytes constant as text (bytes read as Latin-1: one character per byte)."""
    return constant.decode("latin-1") if isinstance(constant, bytes) else constant


def _left_operand(instructions: list[dis.Instruction], index: int) -> dis.Instruction | None:
    """The instruction that pushed the left operand of the binary operation at ``index``
    (the first, walking back, at which two values are on the stack), or None when a
    jump target is in the way."""
    depth = 0
    for back in range(index - 1, -1, -1):
        instr = instructions[back]
        if instr.is_jump_target:
            return None
        arg = instr.arg if instr.opcode >= dis.HAVE_ARGUMENT else None
        depth += dis.stack_effect(instr.opcode, arg, jump=False)
        if depth >= 2:
            return instr
    return None


def _makes_tuple(instr: dis.Instruction | None) -> bool:
    """The instruction pushes a new tuple: a tuple display or a constant tuple."""
    if instr is None:
        return False
    return instr.opname == "BUILD_TUPLE" or (
        instr.opname == "LOAD_CONST" and type(instr.argval) is tuple
    )


@attrs.define
class TraceOutcome:
    """What one traced run gave: its result, and why it may not be cached (if it may not)."""

    result: Any
    reasons: tuple[str, ...]
    aliased: tuple[Any, ...]
    #: False when the function did not run to its end here (it raised, or its
    #: code writes what a traced copy cannot), so it must be called for real.
    completed: bool = True
    #: The run had scalar proxies, or a proxy per path to one object, and cannot be used
    #: (see guards.specialization.scalars, Tracer.wrap): trace it again with
    #: ``lazy_scalars=False`` (which also keeps one proxy per object).
    retry_exact: bool = False


#: A call of a specialized function that is traced into rather than answered by its cache.
_TRACE_INTO: Any = object()


class _Abandon(BaseException):
    """Stops a traced run before an effect it cannot replay; the call then runs untraced.

    A ``BaseException``, so that ``except Exception`` in user code does not swallow it.
    """


#: Methods written in C, bound to an object: a new one at each attribute read.
_BOUND_C_METHODS = (types.BuiltinMethodType, types.MethodWrapperType)


class _BuiltinMethod:
    """``proxy.name`` where ``name`` is a method written in C (of a built-in container type,
    or any C method of the value's type).

    Looks like the bound method it stands for: its class, its names, equality.
    """

    __slots__ = ("name", "proxy")

    def __init__(self, proxy: Tracked, name: str) -> None:
        self.proxy = proxy
        self.name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        tracer = tracer_of(self.proxy)
        with tracer.entered:
            return tracer.call_builtin_method(self.proxy, self.name, args, kwargs)

    def describe(self) -> str:
        """How reasons name it (no address; installs nothing)."""
        return f"the method {self.name} of {tracker_of(self.proxy).source.name}"

    def real(self) -> Any:
        """The bound method itself, on the real value; its type is guarded (TYPE_MATCH)."""
        tracker = tracker_of(self.proxy)
        tracker.python_type()
        return getattr(tracker.unguarded_value(), self.name)

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return type(self.real())

    def __getattr__(self, name: str) -> Any:
        if name == "__self__":
            return self.proxy
        return getattr(self.real(), name)

    def __eq__(self, other: object) -> bool:
        if type(other) is not _BuiltinMethod:
            return NotImplemented
        return self.proxy is other.proxy and self.name == other.name

    def __hash__(self) -> int:
        return hash((id(self.proxy), self.name))

    def __repr__(self) -> str:
        # It shows the address of the value it is bound to.
        tracker_of(self.proxy).identity()
        return repr(self.real())


def _array_state(array: Any) -> tuple[Any, ...]:
    """What of a NumPy array a write can change: its bytes, layout and flags."""
    flags = array.flags
    return (array.tobytes(), array.dtype, array.shape, array.strides,
            bool(flags.writeable), bool(flags.owndata), bool(flags.aligned))


class _ValueMethod:
    """A method of a library value (``d.isoformat``, ``pattern.findall``), bound to the
    real value, which is guarded by value: called, it gets its arguments realized
    (:meth:`Tracer.call_value_method`).  Looks like the bound method it stands for."""

    __slots__ = ("method", "name", "tracer", "value", "where")

    def __init__(self, tracer: Tracer, value: Any, name: str, method: Any, where: str) -> None:
        self.tracer = tracer
        self.value = value
        self.name = name
        self.method = method
        self.where = where

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self.tracer.entered:
            return self.tracer.call_value_method(self, args, kwargs)

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return type(self.method)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.method, name)

    def __eq__(self, other: object) -> bool:
        if type(other) is _ValueMethod:
            other = other.method
        return bool(self.method == other)

    def __hash__(self) -> int:
        return hash(self.method)

    def __repr__(self) -> str:
        return repr(self.method)


class _Boundary:
    """``with tracer.entered:`` wherever user code hands control to the tracer.

    On the way in: if user code is handling an exception, it may be one that
    tracing caused (``Tracer.check_handled``).  On the way out: an error of the
    tracer's own stops the run instead of reaching user code (see ``guards.specialization.taint``).
    """

    __slots__ = ("tracer",)

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer

    def __enter__(self) -> None:
        if sys.exception() is not None:
            self.tracer.check_handled()

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        if exc is not None and raised_by_tracing(exc):
            self.tracer.refuse(exc)


class _TrackedItems:
    """``iter(proxy)`` of a tracked list or tuple: its length read now, each item when reached.

    It holds the proxy, not the tracer: an iterator that outlives the run keeps
    the proxy alive, which the leak net sees.
    """

    __slots__ = ("index", "length", "proxy")

    def __init__(self, proxy: Tracked, length: int) -> None:
        self.proxy = proxy
        self.length = length
        self.index = 0

    def __iter__(self) -> _TrackedItems:
        return self

    def __next__(self) -> Any:
        index = self.index
        if index >= self.length:
            raise StopIteration
        self.index = index + 1
        tracer = tracer_of(self.proxy)
        with tracer.entered:
            return tracer.wrap(tracker_of(self.proxy).item(index))


class Tracer:
    """One traced run of a function; answers every operation on its proxies."""

    def __init__(
        self,
        context: TracingContext,
        *,
        trace_library_code: bool = False,
        code: types.CodeType | None = None,
        lazy_scalars: bool = True,
    ) -> None:
        self.context = context
        #: The traced function's code: reasons with no traced line running point to it.
        self.code = code
        self.reasons: list[str] = []
        self.aliased: list[Any] = []
        self.trace_library_code = trace_library_code
        self.abandoned = False
        #: The traced function runs now (its frames are on the stack).
        self.running = False
        self.identity_tested = False
        self.shape_tested = False
        self.identity_compared = False
        self._proxies: dict[int, Tracked] = {}
        # (id, source) -> the proxy of an object for a second path to it (see wrap):
        # made while no traced code compares identities (``split_aliases``).
        self._split: dict[tuple[int, Source], Tracked] = {}
        self.split_aliases = lazy_scalars
        # Why a run with split proxies must be traced again with one proxy per object.
        self.alias_trouble: str | None = None
        # id -> (object, its tracker or None for a part of it): mutable inputs handed
        # to untraced code as themselves, which that code may hand back.
        self._realized: dict[int, tuple[Any, LazyTracker | None]] = {}
        self._globals: dict[tuple[int, Source | None], _TrackedGlobals] = {}
        # id -> (private copy of a tracked dict, its tracker): the dicts whose views
        # .values() and .items() of a tracked dict are.
        self._dict_copies: dict[int, tuple[dict[Any, Any], LazyTracker]] = {}
        self._pinned: set[Source] = set()
        # The path of a pinned class's entry that holds a function with a stand-in,
        # which reads of the class show as the real function (see _pin_entry).
        self._real_in_class: str | None = None
        # id -> a class's proxy made for one site (class_at_site): kept, for the leak net.
        self._site_proxies: dict[int, Tracked] = {}
        # Classes made during the run (weakly): one alive after it escaped.
        self._made: list[weakref.ref[Any]] = []
        # Why the run's result cannot be handed out at all (it holds a C iterator).
        self._discard: str | None = None
        # The exception the caller was handling, if any: not one of the run's.
        self._outer_exception = sys.exception()
        self.entered = _Boundary(self)
        #: A Decimal or its class reached traced code (see guard_decimal_context).
        self.reads_decimal_context = False
        #: A real date or time reached user code (see guard_world_state).
        self.made_dates = False
        #: A real NumPy array or scalar made by code the trace does not enter reached
        #: user code (see guard_world_state).
        self.made_arrays = False
        #: The code objects traced in this run.
        self._codes: set[types.CodeType] = set()
        #: id -> (a NumPy array handed to code as itself, its state then, its path).
        self._arrays: dict[int, tuple[Any, tuple[Any, ...], str]] = {}
        #: The scalars handed over as proxies (see guards.specialization.scalars).
        self.scalars = ScalarTracer(self, lazy=lazy_scalars)
        #: id(cell) -> the free variable of the traced function that the cell holds.
        self.top_cells: dict[int, str] = {}

    # -- bookkeeping --------------------------------------------------------------
    def untrackable(self, reason: str, *, at: str | None = None) -> None:
        """Record why this run's result must not be cached, and where it happened.

        ``at`` is the ``file:line`` (``guards.specialization.reasons``); by default
        the line of traced code running now, else (after the run) the traced
        function's ``return``.
        """
        if self.running and self.scalars.made and not self.abandoned:
            # An uncached run gains nothing from scalar proxies, and what makes it uncached
            # may be an effect about to happen (`next(it)`): a run that could yet be traced
            # again must go back to values before it, so it happens once.
            self.scalars.give_up(reason)
        reason = located(reason, self.where() if at is None else at)
        if reason not in self.reasons:
            self.reasons.append(reason)

    def untraced(self, reason: str, frame: types.FrameType) -> None:
        """The net saw user code start untraced in ``frame`` (``reason``): the run is
        uncached, and scalars are handed over as values from now on.  That code could
        tell a scalar proxy from its value (``type(x) is int``), so a run that made one
        is traced again with values (the code runs now: stopping it here, in the net's
        callback, would come too late, and cannot raise)."""
        # A proxy may reach it anywhere (in a list, an attribute, an object it compares):
        # the run is traced again with values if any was made; what the untraced code
        # does then happens twice on this call.
        self.scalars.fall_back(reason)
        self.scalars.lazy = False
        reason = located(reason, self.where())
        if reason not in self.reasons:
            self.reasons.append(reason)

    def abandon(self, reason: str, *, at: str | None = None) -> NoReturn:
        """Stop the run before an effect the trace cannot replay (see the module doc)."""
        self.abandoned = True
        self.untrackable(reason, at=at)
        raise _Abandon(reason)

    def where(self) -> str:
        """``file:line`` of the innermost line of this run's traced code on the stack, or
        when none runs (the run is over), of the traced function's ``return``."""
        frame: types.FrameType | None = sys._getframe(1)
        while frame is not None:
            if self.runs_here(frame):
                return frame_line(frame)
            frame = frame.f_back
        return "?" if self.code is None else return_line(self.code)

    def runs_here(self, frame: types.FrameType) -> bool:
        """``frame`` runs code traced by this tracer (not by a trace nested in it, or around it)."""
        found = frame.f_globals
        return type(found) is _TrackedGlobals and found._tracer is self

    def raised_at(self, exc: BaseException) -> str:
        """``file:line`` of the innermost line of traced code that ``exc`` went through."""
        where = None
        tb = exc.__traceback__
        while tb is not None:
            if self.runs_here(tb.tb_frame):
                where = code_line(tb.tb_frame.f_code, tb.tb_lineno)
            tb = tb.tb_next
        return where if where is not None else self.where()

    # -- taint (see guards.specialization.taint) ---------------------------------------------------
    def raised_here(self, exc: BaseException, frame: types.FrameType, offset: int) -> None:
        """An instruction of ``frame`` raised ``exc`` (the net saw it; ``frame`` runs traced
        code, or library code that traced code called, which may have been handed a
        proxy by an operator: ``s in UserString(...)``): the interpreter or C code may
        have refused a scalar proxy by its type, asking it nothing, which a plain run
        would not do; if the function then handles it, nothing else shows.  An explicit
        ``raise`` of anything but a TypeError (``raise s`` of a proxy) is what a plain
        run raises."""
        if not self.scalars.made or not _may_be_refusal(exc):
            return
        code = frame.f_code.co_code
        if 0 <= offset < len(code) and code[offset] in _RAISE_OPCODES and not isinstance(
            exc, TypeError
        ):
            return
        self.scalars.fall_back(
            f"{type(exc).__name__} raised in traced code, where a tracked scalar may have "
            "been refused without being asked"
        )

    def check_handled(self) -> None:
        """Abandon if the exception traced code is handling may be one that tracing caused."""
        exc = sys.exception()
        if exc is None or exc is self._outer_exception:
            return
        reason = taint_of(exc, _runs_traced)
        if reason is not None:
            self.scalars.fall_back(reason)
            self.abandon(reason)

    def refuse(self, exc: BaseException) -> NoReturn:
        """The tracer raised ``exc`` on its way back to user code: stop the run instead."""
        self.abandon(taint_of(exc, _runs_traced) or f"the tracer raised {type(exc).__name__}")

    def enter(self, code: types.CodeType, namespace: Mapping[str, Any]) -> None:
        """Note what running ``code`` on proxies needs guarded (identity and shape tests).

        Code that may test a scalar's identity gets no scalar proxy: if one was made
        already, the run is traced again without them (``ScalarTracer.trouble``).
        """
        self._codes.add(code)
        facts = code_facts(code)
        if facts.blind_format_at is not None:
            self.untrackable(
                f"{code.co_qualname} formats with a constant that takes no argument: C code "
                "decides by the operand's type without asking it", at=facts.blind_format_at,
            )
        tells = facts.tells_scalars(namespace)
        if tells is not None:
            identity = facts.tests_scalar_identity(namespace)
            self.scalars.give_up(f"{code.co_qualname} {tells}" if identity else tells)
        if facts.compares_identity or tells is not None:
            if self._split:
                reason = f"{code.co_qualname} tests identity, which split proxies would fail"
                self.alias_trouble = reason
                self.abandon(reason)
            self.split_aliases = False
        self.identity_tested = self.identity_tested or facts.tests_identity
        self.identity_compared = self.identity_compared or facts.compares_identity
        self.shape_tested = self.shape_tested or facts.tests_shape

    def guard_identities(self) -> None:
        """If traced code tested identity: ``NOT_NONE_MATCH`` on every tracked object, and
        if it compared two values with ``is``, ``NO_ALIASING`` on those not pinned by
        ``ID_MATCH``: objects that were distinct stay distinct (``a is b`` stays false,
        ``x is SENTINEL`` too), as ``DUPLICATE_INPUT`` keeps those that were one object."""
        if self.identity_tested:
            for proxy in (*self._proxies.values(), *self._split.values()):
                tracker_of(proxy).install(GuardBuilder.NOT_NONE_MATCH)
            for scalar in self.scalars.proxies.values():  # `n is True` too: its exact type
                tracker_of(scalar).install(GuardBuilder.TYPE_MATCH)
        if self.identity_compared:
            pinned = {g.source for g in self.context.guards if g.kind == "ID_MATCH"}
            sources = [tracker_of(proxy).source for proxy in self._proxies.values()]
            loose = [source for source in sources if source not in pinned]
            if loose and len(sources) > 1:
                others = tuple(s for s in sources if s != loose[0])
                tracker = self.context.track(loose[0])
                tracker.install(GuardBuilder.NO_ALIASING, others=others)

    def guard_shapes(self) -> None:
        """``TYPE_MATCH`` on every tracked object, if traced code matched mapping or
        sequence patterns: a proxy's class has the flags of its value's type, and
        ``match`` reads them with no hook (so any proxy may have been a subject)."""
        if self.shape_tested:
            for proxy in (*self._proxies.values(), *self._split.values(),
                          *self.scalars.proxies.values()):
                tracker_of(proxy).install(GuardBuilder.TYPE_MATCH)

    # -- proxies ------------------------------------------------------------------
    def _proxied(self, value: Any) -> bool:
        """``value`` is handed over as a scalar stand-in (:meth:`wrap`)."""
        # Not a NaN (see `_scalar_kind`), nor an empty str or bytes, which C code that
        # refuses a str by its exact type takes as an empty iterable (`bytes("")`).
        return type(value) in SCALAR_PROXY_TYPES and self.scalars.lazy and value == value and (
            bool(value) or type(value) not in (str, bytes)
        )

    def wrap(self, tracker: LazyTracker) -> Any:
        """What user code sees for ``tracker``: a scalar (guarded now) or a proxy.

        A function that would see the trace (through a proxy, or on the call
        stack) is replaced by its stand-in (:mod:`guards.specialization.polyfills`).
        """
        value = tracker.unguarded_value()
        if type(value) in _POLYFILLED_TYPES and value in _STAND_IN_OF:
            tracker.install(GuardBuilder.ID_MATCH)  # `builtins.len` is `len`: one stand-in
            return _STAND_IN_OF[value]
        if _is_bound_c_method(value) and not is_scalar(value.__self__):
            self.note_world(value)  # random.random: the method of a Random instance
            return self._c_method_of(tracker, value)
        if _is_bound_c_method(value) and value.__name__ in _DIRECT_OPERATORS:
            # `(5).__add__` held somewhere: it answers NotImplemented to a proxy.
            self.scalars.give_up(f"reads {tracker.source.name}, an operator of a constant")
        if type(value) in UNBOUND_C_METHODS:  # called with a proxy, it takes the bound path
            tracker.install(GuardBuilder.ID_MATCH)
            return UnboundCMethod(self, value)
        if self._proxied(value):
            return self.scalars.proxy(tracker, value)  # guarded when used, by what the use asks
        if type(value) is decimal.Decimal:
            self.guard_decimal_context()
        if is_scalar(value):
            kind = _scalar_kind(value)
            tracker.install(kind)
            if issubclass(type(value), type):
                self.pin_class(tracker)
            if kind is GuardBuilder.ID_MATCH:  # a class or builtin, used where we cannot see
                self.note_world(value)
            elif _has_huge_int(value):
                self.guard_str_digits()
            return value
        proxy = self._proxies.get(id(value))
        if proxy is not None:
            first = tracker_of(proxy)
            if first.source == tracker.source:
                return proxy
            if self.split_aliases and _identity_equal(type(value)):
                # Two paths, one object, and no traced code compares identities: a proxy
                # per path, each guarding what is read through it (no DUPLICATE_INPUT).
                key = (id(value), tracker.source)
                own = self._split.get(key)
                if own is None:
                    own = self._split[key] = proxy_class(type(value))(tracker, self)
                return own
            # Two paths, one object: user code may compare them with `is`.
            tracker.install(GuardBuilder.DUPLICATE_INPUT, source_b=first.source)
            return proxy
        bypassed = _bypassed_override(type(value))
        if bypassed is not None:
            self.abandon(
                f"reads {tracker.source.name}, a {type(value).__qualname__} overriding "
                f"dict.{bypassed} in Python, which C code reading a dict bypasses"
            )
        proxy = proxy_class(type(value))(tracker, self)
        self._proxies[id(value)] = proxy
        return proxy

    def _c_method_of(self, tracker: LazyTracker, method: Any) -> Any:
        """A method written in C bound to an object, read from anywhere (``obj.callback``,
        ``handlers["add"]``): it stands for that object's method, the object tracked as
        ``tracker``'s ``__self__``, so that its call goes where every C method of a tracked
        object goes (``call_builtin_method``) and no proxy reaches C code."""
        name = method.__name__
        # Which method of the object it is: rebinding the name to another (`d.get` to
        # `d.__contains__`) keeps `__self__` and must miss.
        tracker.install(GuardBuilder.TYPE_MATCH)
        self.context.track(AttrSource(tracker.source, "__name__")).install(
            GuardBuilder.CONSTANT_MATCH
        )
        if type_lookup(type(method.__self__), name) is None:  # not its type's method
            self.abandon(f"reads {tracker.source.name}, a method written in C of an object "
                         "the trace cannot see into")
        receiver = self.wrap(tracker.attr("__self__"))
        if not is_proxy(receiver):
            self.abandon(f"reads {tracker.source.name}, a method written in C of an object "
                         "the trace cannot see into")
        return _BuiltinMethod(receiver, name)

    def seen(self, value: Any) -> Any:
        """``value`` as traced code must get it when it is handed over as itself: the
        stand-in of a function or class that has one (``len``, ``type``), else itself."""
        return _seen(value)

    def guard_str_digits(self) -> None:
        """A huge int reached user code: ``str()`` of it reads the interpreter's digit
        limit, so that limit is guarded by value (``sys.get_int_max_str_digits()``,
        a call with no arguments, as a weak reference is called)."""
        getter = AttrSource(ModuleSource("sys"), "get_int_max_str_digits")
        self.context.track(WeakRefCallSource(getter)).install(GuardBuilder.CONSTANT_MATCH)

    # -- classes (see guards.specialization.classes) -----------------------------------------------
    def pin_class(self, tracker: LazyTracker) -> None:
        """A class handed to user code as itself: guard all that reading it can see.

        Its MRO by value, then for each user class in it the keys of its
        ``__dict__`` and each entry (functions and descriptors by identity, data
        by value); data that cannot be guarded by value makes the run uncached.
        """
        source = tracker.source
        cls = tracker.unguarded_value()
        if source in self._pinned or not is_user_class(cls, is_library_file):
            return
        self._pinned.add(source)
        mro = AttrSource(source, "__mro__")
        self.context.track(mro).install(GuardBuilder.SEQUENCE_LENGTH)
        for index in range(1, len(cls.__mro__)):  # by weak identity: classes may die
            self.context.track(GetItemSource(mro, index)).install(GuardBuilder.ID_MATCH)
        for index, klass in pinning(cls, is_library_file):
            klass_source = source if index == 0 else GetItemSource(mro, index)
            dict_source = AttrSource(klass_source, "__dict__")
            self.context.track(dict_source).install(GuardBuilder.CLASS_KEYS_MATCH)
            for name in class_keys(klass.__dict__):
                self._pin_entry(GetItemSource(dict_source, name), name, klass.__dict__[name])
        if type(cls) is not type:
            self.pin_class(self.context.track(TypeSource(source)))  # a metaclass of its own

    def _pin_entry(self, source: Source, name: str, value: Any) -> None:
        kind = entry_kind(name, value, is_constant_like)
        held = getattr(value, "__func__", value) if type(value) in _METHOD_WRAPPERS else value
        if _seen(held) is not held and self._real_in_class is None:
            self._real_in_class = source.name  # `cls.key is len` would be False: see leaked
        if type(value) in (types.MemberDescriptorType, types.GetSetDescriptorType):
            # Not weakly referable, and they hold their class: pin what they are instead.
            entry = self.context.track(source)
            entry.install(GuardBuilder.TYPE_MATCH)
            self.context.track(AttrSource(source, "__objclass__")).install(GuardBuilder.ID_MATCH)
            self.context.track(AttrSource(source, "__name__")).install(
                GuardBuilder.CONSTANT_MATCH
            )
        elif kind == BY_VALUE:
            self.context.track(source).install(GuardBuilder.CONSTANT_MATCH)
        elif kind == BY_IDENTITY:
            self.context.track(source).install(GuardBuilder.ID_MATCH)
        else:
            self.untrackable(
                f"{source.name} ({type(value).__qualname__}) is class state that cannot be "
                "guarded by value, and its class is handed over as itself"
            )

    def type_lookup(self, tracker: LazyTracker, name: str) -> Any:
        """``name`` as ``type(value)`` defines it (``_PyType_Lookup``; ``None`` if absent),
        guarded as found, so that which special method runs is part of the entry.

        Each lookup the tracer makes to decide an operation goes through here, the
        absent and the losing ones too (no ``__bool__`` before ``__len__``): an entry
        found is guarded by identity on ``type(x).name``, an absent one by ``HASATTR``
        on the type.  A class the metaclass answers for (``type.__or__``) is pinned.
        A C type's dict cannot change: nothing is guarded for it here.
        """
        cls = type(tracker.unguarded_value())
        found = type_lookup(cls, name)
        if _fixed_type(cls):  # the guards the operation installs on the value decide
            return found
        type_tracker = self.context.track(TypeSource(tracker.source))
        if not type_defines(cls, name):
            if hasattr(cls, name):  # the metaclass has it: only the class's keys say absent
                self.pin_class(type_tracker)
            else:
                type_tracker.hasattr(name)
            return found
        try:
            seen = getattr(cls, name)
        except AttributeError:
            seen = _ABSENT
        if seen is not found:  # a descriptor (classmethod, property) or metaclass entry
            self.pin_class(type_tracker)
            return found
        entry = self.context.track(AttrSource(TypeSource(tracker.source), name))
        if found is None:
            entry.install(GuardBuilder.NONE_MATCH)  # __hash__ = None
        elif type(found) is types.FunctionType:
            entry.install(GuardBuilder.CLOSURE_MATCH)
        else:
            entry.install(GuardBuilder.ID_MATCH)
        return found

    def type_of(self, tracker: LazyTracker) -> type:
        """``type(value)`` handed to user code (``TYPE_MATCH``, and the class pinned)."""
        cls = tracker.python_type()
        if is_user_class(cls, is_library_file):
            self.pin_class(self.context.track(TypeSource(tracker.source)))
        self.computed(cls)  # `type(d).now()`: the class of a date reads the clock
        return cls

    def class_at_site(self, tracker: LazyTracker) -> Any:
        """A user class read where one operation alone consumes it: a proxy (see
        ``guards.specialization.classes``), so that operation is tracked; else the class, pinned."""
        frame = _user_frame()  # the traced frame executing LOAD_GLOBAL (or LOAD_NAME)
        if frame is not None and frame.f_lasti in proxy_sites(frame.f_code) and is_user_class(
            tracker.unguarded_value(), is_library_file
        ):
            return self._class_proxy(tracker)
        return self.wrap(tracker)

    def _class_proxy(self, tracker: LazyTracker) -> Any:
        """A proxy of the user class at ``tracker``, for one operation that consumes it."""
        tracker.install(GuardBuilder.ID_MATCH)
        proxy = proxy_class(type(tracker.unguarded_value()))(tracker, self)
        self._site_proxies[id(proxy)] = proxy  # one per site: the leak net counts them too
        return proxy

    def construct(self, tracker: LazyTracker, args: tuple[Any, ...],
                  kwargs: dict[str, Any]) -> Any:
        """``Cls(*args)`` for a user class: a plain class (no metaclass, no ``__new__`` of
        its own) is built with ``object.__new__`` and its ``__init__`` traced; any other
        is called as it is (its own code then runs untraced, and the net notes it)."""
        cls = tracker.unguarded_value()
        tracker.install(GuardBuilder.ID_MATCH)
        self.pin_class(tracker)
        self.note_world(cls)  # a subclass of random.Random: its instance reads the world
        init = type_lookup(cls, "__init__")
        if type(cls) is not type or type_lookup(cls, "__new__") is not _OBJECT_NEW or not (
            type(init) is types.FunctionType or (init is _OBJECT_INIT and not args and not kwargs)
        ):
            # Its code runs untraced and may keep what it gets (an enum's value map).
            args, kwargs = self.scalar_values(args, kwargs)
            return cls(*args, **kwargs)
        instance = _OBJECT_NEW(cls)
        if init is not _OBJECT_INIT:
            init_tracker = self.context.track(AttrSource(tracker.source, "__init__"))
            returned = self.call_function(init_tracker, (instance, *args), kwargs)
            if returned is not None:
                msg = f"__init__() should return None, not '{type(returned).__name__}'"
                raise TypeError(msg)
        return instance

    def unwrap(self, value: Any) -> Any:
        """The real value behind proxies, with no guard (for runs already untrackable)."""
        if is_scalar_proxy(value):
            return self.scalars.value(value)
        if is_proxy(value):
            return tracker_of(value).peek()
        if type(value) in (_BuiltinMethod, ScalarMethod):
            return getattr(self.unwrap(value.proxy), value.name)
        t = type(value)
        if t in (list, tuple, set, frozenset):
            return t(self.unwrap(item) for item in value)
        if t is dict:
            return {self.unwrap(k): self.unwrap(v) for k, v in value.items()}
        if t is slice and any(map(is_proxy, (value.start, value.stop, value.step))):
            return slice(*map(self.unwrap, (value.start, value.stop, value.step)))
        return value

    def whole_scalars(self, proxy: Any) -> Any:
        """The list, tuple, set or frozenset behind ``proxy``, guarded as one value, when
        it is a long one (:data:`WHOLE_AT` items or more) of exact built-in scalars; else
        None, and nothing guarded.

        One ``SEQUENCE_VALUES_MATCH`` instead of one guard per item: a loop over many
        items reads them all, or nearly (``sum(xs)`` over 10,000 ints), and its items
        are handed over as values, found in C (issue 12).
        """
        if not is_proxy(proxy) or is_scalar_proxy(proxy):
            return None
        tracker = tracker_of(proxy)
        real = tracker.unguarded_value()
        if type(real) not in (list, tuple, set, frozenset) or len(real) < WHOLE_AT:
            return None
        kinds = item_types(real)
        if kinds is None:
            return None
        tracker.install(GuardBuilder.SEQUENCE_VALUES_MATCH)
        if int in kinds and _has_huge_item(real, kinds):
            self.guard_str_digits()
        if type(real) in _MUTABLE_CONTAINERS:  # handed on as itself (`iter(xs)` reduces to it)
            self._realized[id(real)] = (real, tracker)
        return real

    def realize(self, value: Any, why: str) -> Any:
        """The real value, guarded by value; untrackable if it cannot be guarded by value."""
        if is_scalar_proxy(value):
            return self.scalars.realize(value)
        whole = self.whole_scalars(value)
        if whole is not None:
            return whole
        if is_proxy(value):
            tracker = tracker_of(value)
            real = tracker.unguarded_value()
            if is_ndarray(real):
                tracker.install(GuardBuilder.NDARRAY_MATCH)
                self._arrays.setdefault(id(real), (real, _array_state(real), tracker.source.name))
                return real
            if is_constant_like(real) or is_library_value(real):
                tracker.install(GuardBuilder.CONSTANT_MATCH)
                self._note_realized(real, tracker)
                return real
            self.untrackable(f"{why} reads all of {tracker.source.name}")
            return real
        t = type(value)
        if t in (list, tuple, set, frozenset):
            return t(self.realize(item, why) for item in value)
        if t is dict:
            return {self.realize(k, why): self.realize(v, why) for k, v in value.items()}
        if t is slice and any(map(is_proxy, (value.start, value.stop, value.step))):
            return slice(*(self.realize(part, why) for part in (value.start, value.stop,
                                                                  value.step)))
        if t is ScalarMethod:
            return value.real()
        if type(value) is _BuiltinMethod:
            self.untrackable(f"{why} receives {value.describe()}")
            return self.unwrap(value)
        return value

    def _note_realized(self, real: Any, tracker: LazyTracker) -> None:
        """Remember the mutable parts of ``real``, handed to untraced code as themselves."""
        stack: list[tuple[Any, LazyTracker | None]] = [(real, tracker)]
        while stack:
            obj, owner = stack.pop()
            t = type(obj)
            if t in _MUTABLE_CONTAINERS and (owner is not None or id(obj) not in self._realized):
                self._realized[id(obj)] = (obj, owner)
            if t in (list, tuple, set, frozenset):
                stack.extend((item, None) for item in obj)
            elif t is dict:
                stack.extend((item, None) for item in obj.values())

    def _realize_key(self, key: Any) -> Any:
        if is_scalar_proxy(key):
            return self.scalars.realize(key)
        if is_proxy(key):
            tracker = tracker_of(key)
            real = tracker.unguarded_value()
            if is_deep_immutable(real):
                tracker.install(GuardBuilder.CONSTANT_MATCH)
            else:
                tracker.install(GuardBuilder.ID_MATCH)
            return real
        return self.realize(key, "a subscript")

    def _dict_keys(self, tracker: LazyTracker) -> list[Any]:
        """A tracked dict's keys as user code sees them (``DICT_KEYS_MATCH``).

        A key that is not a deep-immutable value (an object used as a key) is
        handed over tracked, on its ``DictKeySource`` path: what is read through
        it is guarded like any other read.
        """
        return [
            _seen(key) if is_deep_immutable(key) else self.wrap(tracker.key_at(i))
            for i, key in enumerate(tracker.keys())
        ]

    # -- operations on proxies ------------------------------------------------------
    def get_attr(self, proxy: Tracked, name: str) -> Any:
        """``proxy.name``: a tracker on the longer path (its value wrapped in turn)."""
        # quiet(), inline: guards' own code and exempt reads, up to a value that is not
        # plain (each value a miss reads comes here; the block's calls were traced frames).
        trace = gettrace()
        off = trace is TRACE_FUNCTION and exception() is None
        if off:
            settrace(None)
        try:
            found = self.plain_attr(proxy, name)
        finally:
            if off:
                settrace(trace)
        if found is not UNANSWERED:
            return found
        return self.other_attr(proxy, name)

    def plain_attr(self, proxy: Tracked, name: str) -> Any:
        """:meth:`get_attr` of the commonest read of a miss, an attribute of an object
        whose value is an exact built-in scalar: guards' own code and an exempt read
        (its caller may turn the net's trace function off around it, as ``quiet``);
        :data:`~guards.specialization.proxy.UNANSWERED` for any other read, with nothing
        done but the read (then :meth:`other_attr` answers)."""
        tracker = tracker_of(proxy)
        value = read_value(tracker)  # tracker.unguarded_value(), without its call
        if value is UNREAD:
            value = tracker.unguarded_value()
        if (
            name == "__class__" or name == "__annotations__"
            or type(value) in _BUILTIN_CONTAINERS or is_library_value(value)
        ):
            return UNANSWERED
        try:  # self._read_attr(tracker, name), inline (one per value a miss reads)
            child = tracker.attr(name)
        except Exception as exc:
            self._attr_failed(tracker, name, exc)
            raise
        attr = read_value(child)
        if attr is UNREAD:
            attr = child.unguarded_value()
        if type(attr) in _PLAIN_VALUES:  # an exact built-in scalar: no user code runs
            # self._proxied(attr), inline: wrap()'s own first case for it, at once.
            if type(attr) in SCALAR_PROXY_TYPES and self.scalars.lazy and (
                attr == attr and (bool(attr) or type(attr) not in (str, bytes))
            ):
                return self.scalars.proxy(child, attr)
            return self.wrap(child)
        return UNANSWERED

    def other_attr(self, proxy: Tracked, name: str) -> Any:
        """:meth:`get_attr` of a read :meth:`plain_attr` did not answer (a read of an
        attribute of an object it made is found again, not made twice)."""
        tracker = tracker_of(proxy)
        value = tracker.unguarded_value()
        if not (
            name == "__class__" or name == "__annotations__"
            or type(value) in _BUILTIN_CONTAINERS or is_library_value(value)
        ):
            with quiet():  # read already by plain_attr: its tracker
                child = self._read_attr(tracker, name)
            attr = child.unguarded_value()
        else:
            if name == "__class__" and self.type_lookup(tracker, name) is OBJECT_CLASS:
                return self.type_of(tracker)  # else a property of its own: read it as one
            if is_library_value(value):
                return self._value_attr(proxy, name)
            if type(value) in _BUILTIN_CONTAINERS and callable(type_lookup(type(value), name)):
                tracker.python_type()  # a subclass may override the method: pin the type
                return _BuiltinMethod(proxy, name)
            if name == "__annotations__" and type(value) is types.FunctionType:
                # LazyTracker.attr skips guards on a function's annotations; what the
                # function reads of them may decide its result, so here they are guarded.
                return self.wrap(self.context.track(AttrSource(tracker.source, name)))
            with quiet():  # the read is exempt, the rest guards' own code
                child = self._read_attr(tracker, name)
            attr = child.unguarded_value()
        if type(attr) in _BOUND_C_METHODS and attr.__self__ is value and (
            self.type_lookup(tracker, name) is not None
        ):  # a new object at each read, so never guarded by identity: its type's method
            return _BuiltinMethod(proxy, name)
        return self.wrap(child)

    def _read_attr(self, tracker: LazyTracker, name: str) -> LazyTracker:
        """``tracker.attr(name)``; a missing protocol attribute pins the type first.

        A read that raises something else than ``AttributeError`` (a property's
        ``KeyError``) makes the run uncached: no guard says that the read raises
        again, and a guard on the path takes a raising read as a failed check.
        """
        try:
            return tracker.attr(name)
        except Exception as exc:
            self._attr_failed(tracker, name, exc)
            raise

    def _attr_failed(self, tracker: LazyTracker, name: str, exc: Exception) -> None:
        """What :meth:`_read_attr` does when ``tracker.attr(name)`` raised ``exc`` (which
        its caller raises again)."""
        if isinstance(exc, AttributeError):
            if name in _PROTOCOL_ATTRIBUTES:
                tracker.python_type()  # C code names the type in the error it raises next
        elif not isinstance(exc, GuardsError):
            self.untrackable(f"reading {tracker.source.name}.{name} raised "
                             f"{type(exc).__name__}, which no guard can promise again")

    def _value_attr(self, proxy: Tracked, name: str) -> Any:
        """``proxy.name`` of a library value (:mod:`guards.specialization.library_values`):
        the value guarded whole, the attribute read from it; a method comes bound to the
        real value, its arguments realized when it is called (:meth:`call_value_method`)."""
        where = tracker_of(proxy).source.name
        real = self.realize(proxy, f".{name} of {where}")
        memory = library_memory_read(real, name)
        if memory is not None:
            self.untrackable(f"reads .{name} of {where}, {memory}")
        attr = getattr(real, name)
        if type(attr) in (*_BOUND_C_METHODS, types.MethodType):
            return _ValueMethod(self, real, name, attr, where)
        return self.computed(attr)

    def computed(self, value: Any) -> Any:
        """``value``, computed by code the trace does not enter, about to reach user code:
        noted if it holds a date or time (:attr:`made_dates`)."""
        if not self.made_dates and holds_date(value):
            self.made_dates = True
        if not self.made_arrays and holds_array(value):
            self.made_arrays = True
        return value

    def call_value_method(self, method: _ValueMethod, args: tuple[Any, ...],
                          kwargs: dict[str, Any]) -> Any:
        """A method of a library value, called on real arguments; one that reads the world
        (``d.astimezone()``, ``d.strftime("%a")``) stops the run before it runs."""
        why = f".{method.name}() of {method.where}"
        real_args = self.realize(args, why)
        real_kwargs = self.realize(kwargs, why)
        self._check_value_use(method.value, method.name, real_args, method.where, real_kwargs)
        return self.computed(method.method(*real_args, **real_kwargs))

    def _check_value_use(self, value: Any, name: str, args: tuple[Any, ...], where: str,
                         kwargs: Mapping[str, Any] | None = None) -> None:
        """Stop the run before a use of a library value that writes to it or reads the world."""
        if library_value_writes(value, name, args, kwargs or {}):
            self.abandon(f"calls .{name}() on {where}, a tracked input")
        reads = library_value_reads(value, name, args)
        if reads is not None:
            self.abandon(f"calls .{name}() of {where}, a {type(value).__qualname__}, "
                         f"which reads {reads}")

    def _value_operation(self, proxy: Tracked, name: str, fn: Callable[..., Any],
                         args: tuple[Any, ...]) -> Any:
        """An operator or conversion of a library value: on the real values."""
        tracker = tracker_of(proxy)
        why = f"{name} of {tracker.source.name}"
        real_args = tuple(self.realize(a, why) for a in args)
        others = tuple(a for a, r in zip(args, real_args, strict=True) if a is not proxy)
        self._check_value_use(tracker.unguarded_value(), name, others, tracker.source.name)
        return self.computed(fn(*real_args))

    def get_item(self, proxy: Tracked, key: Any) -> Any:
        """``proxy[key]``, the key guarded by value if it is tracked itself.

        A key that a ``__getitem__`` written in Python reports missing is looked up
        again by tracing that method: no guard on the path can say it stays missing,
        unless the object is a ``Mapping`` (``DICT_CONTAINS`` then guards the key
        absent, as for ``os.environ``, whose ``__getitem__`` is library code).
        """
        # quiet(), inline: guards' own code and the exempt read, up to a value that is not
        # plain (no user code hashes, compares or looks up the key).
        trace = gettrace()
        off = trace is TRACE_FUNCTION and exception() is None
        if off:
            settrace(None)
        try:
            found = self.plain_item(proxy, key)
        finally:
            if off:
                settrace(trace)
        if found is not UNANSWERED:
            return found
        return self.other_item(proxy, key)

    def plain_item(self, proxy: Tracked, key: Any) -> Any:
        """:meth:`get_item` of the commonest item read, an exact scalar key of an exact
        list, tuple or dict whose item is an exact built-in scalar: guards' own code and
        an exempt read (its caller may turn the net's trace function off around it, as
        ``quiet``); :data:`~guards.specialization.proxy.UNANSWERED` for any other read
        (then :meth:`other_item` answers)."""
        tracker = tracker_of(proxy)
        if type(key) in _PLAIN_VALUES and type(tracker.unguarded_value()) in (
            PLAIN_SUBSCRIPT_TYPES
        ):
            try:
                child = tracker.item(key)
                item = read_value(child)  # child.unguarded_value(), without its call
                if item is UNREAD:
                    item = child.unguarded_value()
                if type(item) in _PLAIN_VALUES:
                    # self._proxied(item), inline: wrap()'s own first case for it, at once.
                    if type(item) in SCALAR_PROXY_TYPES and self.scalars.lazy and (
                        item == item and (bool(item) or type(item) not in (str, bytes))
                    ):
                        return self.scalars.proxy(child, item)
                    return self.wrap(child)
            except GuardsError:
                raise
            except Exception:
                pass  # read again by other_item, to be answered as any failing read is
        return UNANSWERED

    def other_item(self, proxy: Tracked, key: Any) -> Any:
        """:meth:`get_item` of a read :meth:`plain_item` did not answer."""
        tracker = tracker_of(proxy)
        plain = type(key) in _PLAIN_VALUES and type(tracker.unguarded_value()) in (
            PLAIN_SUBSCRIPT_TYPES
        )
        if plain:  # neither a library value nor a dict with __missing__; the key as it is
            real_key = key
        else:
            if is_library_value(tracker.unguarded_value()):  # an array: by value
                why = f"[] of {tracker.source.name}"
                return self.computed(self.realize(proxy, why)[self.realize(key, why)])
            real_key = self._realize_key(key)
            if calls_missing(tracker.unguarded_value(), real_key):
                return self._missing_item(proxy, real_key)
        try:
            if type(real_key) in _PLAIN_VALUES and type(tracker.unguarded_value()) in (
                PLAIN_SUBSCRIPT_TYPES
            ):  # no user code hashes, compares or looks up the key, nor reads a missing one
                with quiet():  # the read is exempt, the rest guards' own code
                    child = tracker.item(real_key)
                    if type(child.unguarded_value()) in _PLAIN_VALUES:
                        return self.wrap(child)
            else:
                child = tracker.item(real_key)
            return self.wrap(child)
        except LookupError as exc:
            value = tracker.unguarded_value()
            impl = self.type_lookup(tracker, "__getitem__")
            if not isinstance(impl, types.FunctionType) or (
                isinstance(exc, KeyError) and isinstance(value, Mapping)
            ):
                raise
        except GuardsError:
            raise
        except Exception as exc:
            # A TypeError of C code is decided by the type (TYPE_MATCH is installed);
            # what else a __getitem__ raises, no guard can promise again.
            impl = self.type_lookup(tracker, "__getitem__")
            if not isinstance(exc, TypeError) or isinstance(impl, types.FunctionType):
                self.untrackable(f"reading an item of {tracker.source.name} raised "
                                 f"{type(exc).__name__}, which no guard can promise again")
            raise
        return self.call_dunder(proxy, "__getitem__", (key,))

    def _missing_item(self, proxy: Tracked, key: Any) -> Any:
        """``proxy[key]`` for a key a dict subclass lacks: its ``__missing__`` answers.

        The key is guarded absent; a ``__missing__`` written in Python is traced,
        one in C (``defaultdict`` inserts the key) is an effect: the run is abandoned.
        """
        tracker = tracker_of(proxy)
        source = GetItemSource(tracker.source, key)
        tracker.install(GuardBuilder.DICT_CONTAINS, source)
        if isinstance(self.type_lookup(tracker, "__missing__"), types.FunctionType):
            return self.call_dunder(proxy, "__missing__", (key,))
        self.abandon(f"reads the missing key {source.name}, whose __missing__ may insert it")

    def length(self, proxy: Tracked) -> int:
        """``len(proxy)``: SEQUENCE_LENGTH, or a traced ``__len__`` written in Python."""
        tracker = tracker_of(proxy)
        impl = self.type_lookup(tracker, "__len__")
        if isinstance(impl, types.FunctionType):
            return int(self.call_dunder(proxy, "__len__", ()))
        return tracker.len()

    def truth(self, proxy: Tracked) -> bool:
        """``bool(proxy)``: only the outcome is guarded (TRUTH_MATCH), or a traced hook."""
        tracker = tracker_of(proxy)
        for name in ("__bool__", "__len__"):
            impl = self.type_lookup(tracker, name)
            if isinstance(impl, types.FunctionType):
                return bool(self.call_dunder(proxy, name, ()))
            if impl is not None:
                tracker.install(GuardBuilder.TRUTH_MATCH)
                return bool(tracker.unguarded_value())
        tracker.install(GuardBuilder.TYPE_MATCH)  # neither hook: always true
        return True

    def iterate(self, proxy: Tracked) -> Any:
        """``iter(proxy)``: length and lazy items, dict keys, or a traced ``__iter__``."""
        tracker = tracker_of(proxy)
        value = tracker.unguarded_value()
        t = type(value)
        if t in (list, tuple):
            whole = self.whole_scalars(proxy)
            if whole is not None:
                return iter(whole)
            if len(value) >= WHOLE_AT and _plain_scalars(value):
                # enum members, ranges, slices: EQUALS_MATCH on the whole value
                return iter(self.realize(proxy, "iteration"))
            return _TrackedItems(proxy, tracker.len())
        if t is dict:
            return iter(self._dict_keys(tracker))
        if is_library_value(value):
            return iter(self.realize(proxy, f"iteration over {tracker.source.name}"))
        if t in (set, frozenset):
            whole = self.whole_scalars(proxy)
            if whole is not None:
                return iter(whole)
            items = self.realize(proxy, "iteration over a set")
            if any(type(item) in _POLYFILLED_TYPES for item in items):
                return iter([_seen(item) for item in items])  # `len` is its stand-in
            return iter(items)
        if isinstance(self.type_lookup(tracker, "__iter__"), types.FunctionType):
            return self.call_dunder(proxy, "__iter__", ())
        if self.type_lookup(tracker, "__iter__") is None and (
            self.type_lookup(tracker, "__getitem__") is None
        ):
            message = _not_iterable_message(t)
            if message is None:
                self.abandon(f"iterates {tracker.source.name}, which is not iterable, in f(*x)")
            tracker.python_type()  # not iterable, by its type
            raise TypeError(message)
        by_index = delegated_iteration(self, proxy)
        if by_index is not None:
            return by_index
        self.untrackable(f"iterates {tracker.source.name}, {t.__qualname__}, in C code")
        return iter(value)

    def contains(self, proxy: Tracked, item: Any) -> bool:
        """``item in proxy``: one key of a dict, the value of other built-ins."""
        tracker = tracker_of(proxy)
        value = tracker.unguarded_value()
        if type(value) in (dict, set, frozenset) and is_scalar_proxy(item) and not applied(item):
            # only whether it is in: CONTAINS_MATCH
            tracker.python_type()
            return self.scalars.contained(item, tracker)
        if type(value) is dict:
            key = self._realize_key(item)
            tracker.python_type()  # a subclass may define its own __contains__
            return tracker.contains(key)
        if type(value) in _BUILTIN_CONTAINERS or is_library_value(value):
            return self.realize(item, "`in`") in self.realize(proxy, "`in`")
        if isinstance(self.type_lookup(tracker, "__contains__"), types.FunctionType):
            return bool(self.call_dunder(proxy, "__contains__", (item,)))
        found = delegated_contains(self, proxy, item)
        if found is not NOT_DELEGATED:
            return bool(found)
        self.untrackable(f"`in` on {tracker.source.name} runs C code")
        return self.unwrap(item) in value

    def operate(self, proxy: Tracked, name: str, fn: Callable[..., Any],
                args: tuple[Any, ...]) -> Any:
        """An operator or conversion with ``proxy`` among ``args``."""
        tracker = tracker_of(proxy)
        value = tracker.unguarded_value()
        if is_library_value(value):
            return self._value_operation(proxy, name, fn, args)
        impl = self.type_lookup(tracker, name)
        if name in _MEMORY_METHODS and not isinstance(impl, types.FunctionType):
            return self._read_memory(proxy, name, ())
        if issubclass(type(value), tuple) and name not in _PERCENT_OWN:
            self._check_percent_operand(proxy)
        if isinstance(impl, types.FunctionType):
            # The proxy is the first operand (the second for a reflected one): drop it
            # there only, since it may be the other operand too (`x == x`).
            others = args[1:] if args[0] is proxy else args[:-1]
            answer = self.call_dunder(proxy, name, others)
            if answer is NotImplemented and len(args) == 2:
                return self._other_operand(proxy, name, args)
            return answer
        if type(value) in _BUILTIN_CONTAINERS or type(value) is bytearray:
            return fn(*(self.realize(a, name) for a in args))
        answer = delegated_operation(self, proxy, name, fn, args)
        if answer is not NOT_DELEGATED:  # a C default that calls a Python method
            return answer
        if impl is not None and impl is type_lookup(object, name):
            return self.object_default(proxy, name, fn, args)
        self.untrackable(f"{name} of {tracker.source.name} runs code the trace cannot see")
        return fn(*(self.unwrap(a) for a in args))

    def _other_operand(self, proxy: Tracked, name: str, args: tuple[Any, ...]) -> Any:
        """The value's own ``name`` declined (``NotImplemented``): the other operand's
        method, given the real value, as CPython would give it next.

        Returned as is, ``NotImplemented`` would make CPython ask the other operand's
        C method with the *proxy*, which it does not recognise: ``{} == counter`` is
        True (``dict.__eq__`` compares a ``Counter`` as a dict) but would be False.
        Both declining: ``==`` and ``!=`` compare identity, as CPython does.
        """
        other = args[1] if args[0] is proxy else args[0]
        mirror = _REFLECTED.get(name)
        if mirror is None or is_proxy(other):
            return NotImplemented
        real = self.realize(proxy, name)
        method = type_lookup(type(other), mirror)
        answer = NotImplemented if method is None else method(other, real)
        if answer is NotImplemented and name in ("__eq__", "__ne__"):
            tracker_of(proxy).install(GuardBuilder.ID_MATCH)
            same = real is other
            return same if name == "__eq__" else not same
        return answer

    def _check_percent_operand(self, proxy: Tracked) -> None:
        """Abandon ``"%s-%s" % t`` for a tracked tuple ``t``.

        C formatting unpacks a tuple operand without asking it (a proxy is not a
        tuple, so it would be formatted whole); a hook of ``t`` that runs while the
        calling code is at a ``%`` whose operand may be ``t`` shows that case.
        """
        frame = _user_frame()
        if frame is not None and frame.f_lasti in code_facts(frame.f_code).percent_operands:
            self.abandon(
                f"formats with % by {tracker_of(proxy).source.name}, a tuple whose items "
                "C code reads without the tracer"
            )

    def object_default(self, proxy: Tracked, name: str, fn: Callable[..., Any],
                       args: tuple[Any, ...]) -> Any:
        """``object``'s own special method ``name`` on ``proxy`` (``fn(*args)`` is the
        operation), followed as CPython runs it; the other half of the delegating
        defaults of :mod:`guards.specialization.delegates`.

        ``object.__format__`` rejects a format spec and else calls ``str(x)``;
        ``object.__str__`` calls ``repr(x)``: each is traced through the type's
        own next method, whatever it is.  That the type inherits ``object``'s is
        guarded (``ID_MATCH`` on ``type(x).__str__``), since it decides which runs.
        """
        tracker = tracker_of(proxy)
        if name in ("__eq__", "__ne__", "__hash__", "__repr__"):
            # Identity: object's ==, hash, and repr (which shows the address).
            tracker.install(GuardBuilder.ID_MATCH)
            return fn(*(self.unwrap(a) for a in args))
        if name == "__dir__":
            return self._object_dir(proxy)
        if name in ("__format__", "__str__"):
            self.context.track(AttrSource(TypeSource(tracker.source), name)).install(
                GuardBuilder.ID_MATCH
            )
            if name == "__str__":
                return self.operate(proxy, "__repr__", repr, (proxy,))
            if args[1:] and args[1]:  # raises the TypeError that names the type
                return object.__format__(tracker.unguarded_value(), args[1])
            return self.operate(proxy, "__str__", str, (proxy,))
        self.untrackable(f"{name} of {tracker.source.name} runs code the trace cannot see")
        return fn(*(self.unwrap(a) for a in args))

    def _object_dir(self, proxy: Tracked) -> list[str]:
        """``object.__dir__``: the keys of ``x.__dict__`` and of every class's ``__dict__``.

        Guarded as read: the instance dict's keys, the class (``x.__class__``), its
        ``__mro__`` and the keys of each class that can change (not a C type's).
        """
        names: dict[str, None] = {}
        try:
            instance_dict = self.get_attr(proxy, "__dict__")
        except AttributeError:
            instance_dict = None
        if is_proxy(instance_dict) and isinstance(tracker_of(instance_dict).peek(), dict):
            names.update(dict.fromkeys(tracker_of(instance_dict).keys()))
        tracker = tracker_of(proxy)
        if self.type_lookup(tracker, "__class__") is not OBJECT_CLASS:
            self.untrackable(f"dir() of {tracker.source.name} reads a __class__ it defines")
            return list(object.__dir__(tracker.unguarded_value()))
        cls = tracker.python_type()
        mro = self.context.track(AttrSource(TypeSource(tracker.source), "__mro__"))
        mro.as_constant()
        for i, klass in enumerate(cls.__mro__):
            if is_immutable_type(klass):
                names.update(dict.fromkeys(klass.__dict__))
            else:
                class_dict = AttrSource(GetItemSource(mro.source, i), "__dict__")
                names.update(dict.fromkeys(self.context.track(class_dict).keys()))
        return list(names)

    def inplace(self, proxy: Tracked, name: str, fn: Callable[..., Any], other: Any) -> Any:
        """``proxy op= other``: a write for mutable values, a new value otherwise."""
        tracker = tracker_of(proxy)
        value = tracker.unguarded_value()
        if isinstance(self.type_lookup(tracker, name), types.FunctionType):
            return self.call_dunder(proxy, name, (other,))
        if issubclass(type(value), _MUTABLE_CONTAINERS) or is_ndarray(value):
            self.write(proxy, f"applies {name} to")
        binary = "__" + name[3:]  # __iadd__ -> __add__: a new value, as Python falls back
        return self.operate(proxy, binary, fn, (proxy, other))

    def write(self, proxy: Tracked, what: str) -> NoReturn:
        """A write to a tracked input: the run is abandoned before it (the call reruns)."""
        self.abandon(f"{what} {tracker_of(proxy).source.name}, a tracked input")

    def identity(self, proxy: Tracked) -> int:
        """``id(proxy)``: the object's identity matters, so ID_MATCH."""
        if is_scalar_proxy(proxy) and applied(proxy):  # a new number: plain code's is too
            return id(self.realize(proxy, "id()"))
        return id(tracker_of(proxy).identity())

    def length_of(self, proxy: Tracked) -> Any:
        """``len(proxy)`` as traced code's ``len`` answers it: of an exact built-in
        container, a derived value (``len(L['xs']) > 3`` guards only that outcome);
        else as ``len`` does (the proxy's ``__len__``)."""
        if is_scalar_proxy(proxy):
            if not applied(proxy):  # whether it has a length is its type's (a number: none)
                if not self.scalars.ask(proxy, GuardBuilder.TYPE_MATCH):
                    return len(self.scalars.realize(proxy))
                if type(self.scalars.value(proxy)) in (str, bytes):
                    return self.scalars.length_of(tracker_of(proxy))
        elif self.scalars.lazy:
            found = self.scalars.length_of(tracker_of(proxy))
            if found is not None:
                return found
        return len(proxy)

    # -- calls ----------------------------------------------------------------------
    def call(self, proxy: Tracked, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        tracker = tracker_of(proxy)
        value = tracker.unguarded_value()
        if getattr(value, "__guards_disabled__", False):
            self.abandon(f"calls {_callable_name(value)}, which guards.disable marks opaque")
        if getattr(value, "__guards_constant__", False):
            tracker.install(GuardBuilder.ID_MATCH)
            why = f"the constant function {_callable_name(value)}"
            args, kwargs = self.realize(args, why), self.realize(kwargs, why)
            with exempt():  # guards.constant: pure by the user's word, its arguments guarded
                return value(*args, **kwargs)
        wrapped = getattr(value, "__guards_specialized__", None)
        if wrapped is not None and type(value) is not types.MethodType:  # (else bound below)
            if specialized_state(value) is not None:  # through its cache
                return self.call_function(tracker, args, kwargs)
            return self.call_function(tracker.attr("__wrapped__"), args, kwargs)
        if type(value) is functools.partial:
            return self.call_partial(tracker, args, kwargs)
        if type(value) is types.FunctionType and value.__code__ is _SINGLEDISPATCH_CODE and args:
            return self.call_singledispatch(tracker, args, kwargs)
        if type(value) is types.FunctionType:
            return self.call_function(tracker, args, kwargs)
        if issubclass(type(value), type) and is_user_class(value, is_library_file):
            return self.construct(tracker, args, kwargs)
        if type(value) is types.MethodType:
            self_proxy = self.wrap(self._receiver(tracker, value))
            return self.call_function(tracker.attr("__func__"), (self_proxy, *args), kwargs)
        if isinstance(self.type_lookup(tracker, "__call__"), types.FunctionType):
            return self.call_dunder(proxy, "__call__", args, kwargs)
        tracker.install(GuardBuilder.ID_MATCH)
        wrapped = getattr(value, "__wrapped__", None) if type(value) is _LRU_WRAPPER else None
        if type(wrapped) is types.FunctionType and not is_library_code(wrapped.__code__):
            # Its result is whatever its own cache holds, which no guard can see.
            self.untrackable(f"calls {_callable_name(value)} through functools.lru_cache")
        return self.call_opaque(value, args, kwargs)

    def call_partial(self, tracker: LazyTracker, args: tuple[Any, ...],
                     kwargs: dict[str, Any]) -> Any:
        """``functools.partial(func, *pargs, **pkw)(*args)``: ``func`` called as traced
        code would call it, its bound arguments tracked as items of ``.args`` and
        ``.keywords``.

        So a partial is compared by what its call reads, not by identity: an equal
        fresh partial matches (``func`` by ``CLOSURE_MATCH`` when it is a Python
        function, each bound argument as it is used).  Its fields are read at each
        check, so rebinding them (``p.__setstate__(...)``) misses; its own attributes
        play no part in the call, and are guarded only where user code reads them.
        A user class as ``func`` is constructed as ``Cls(...)`` in traced code is.
        """
        tracker.install(GuardBuilder.TYPE_MATCH)
        bound = tracker.attr("args")
        pargs = [self.wrap(bound.item(i)) for i in range(bound.len())]
        keywords = tracker.attr("keywords")
        pkw = {key: self.wrap(keywords.item(key)) for key in keywords.keys()}  # noqa: SIM118 - guarded
        func_tracker = tracker.attr("func")
        func_value = func_tracker.unguarded_value()
        if issubclass(type(func_value), type) and is_user_class(func_value, is_library_file):
            func = self._class_proxy(func_tracker)
        else:
            func = self.wrap(func_tracker)
        arguments, named = (*pargs, *args), {**pkw, **kwargs}
        if not is_proxy(func) and type(func) is not types.FunctionType:
            # C code (`partial(int, base=2)`): it gets values, as C code called from
            # traced code does (`call_opaque`)
            arguments, named = self.scalar_values(arguments, named)
        return func(*arguments, **named)

    def scalar_values(self, args: tuple[Any, ...], kwargs: dict[str, Any]
                      ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """``args`` and ``kwargs`` with each scalar proxy among them replaced by its value,
        guarded by value: for code that gets them where the trace does not follow."""
        def value(item: Any) -> Any:
            return self.scalars.realize(item) if is_scalar_proxy(item) else item

        return tuple(map(value, args)), {key: value(item) for key, item in kwargs.items()}

    def call_singledispatch(self, tracker: LazyTracker, args: tuple[Any, ...],
                            kwargs: dict[str, Any]) -> Any:
        """A ``functools.singledispatch`` function: dispatch on the first argument's type
        (guarded), then call the implementation, tracked as an item of ``.registry``.

        A registry holding an abstract class is called as it is: registering a
        virtual subclass later changes the dispatch without changing the registry.
        """
        value = tracker.unguarded_value()
        registry = tracker.attr("registry")
        keys = registry.keys()
        if any(isinstance(key, abc.ABCMeta) for key in keys):
            tracker.install(GuardBuilder.ID_MATCH)
            return self.call_opaque(value, args, kwargs)
        first = args[0]
        if is_scalar_proxy(first) and applied(first):
            cls = type(self.scalars.value(first))  # its type follows from its base's, guarded
        else:
            cls = tracker_of(first).python_type() if is_proxy(first) else type(first)
        impl = value.dispatch(cls)
        key = next(key for key in keys if value.registry[key] is impl)
        return self.wrap(registry.item(key))(*args, **kwargs)

    def imported(self, module: Any) -> Any:
        """A module an ``import`` in traced code gave: tracked at ``sys.modules[name]``."""
        name = getattr(module, "__name__", None)
        if type(module) is not types.ModuleType or sys.modules.get(str(name)) is not module:
            self.untrackable(f"imports {name!r}, which is not the module sys.modules holds")
            return module
        return self.wrap(self.context.track(ModuleSource(str(name))))

    def call_dunder(self, proxy: Tracked, name: str, args: tuple[Any, ...],
                    kwargs: dict[str, Any] | None = None) -> Any:
        """Trace ``type(value).name(proxy, *args)``, a special method written in Python.

        A special method whose result C code takes only of an exact type (``__str__``
        must return a str) gets a tracked scalar's value, guarded by value.
        """
        source = AttrSource(TypeSource(tracker_of(proxy).source), name)
        result = self.call_function(self.context.track(source), (proxy, *args), kwargs or {})
        if name in _EXACT_RESULTS and is_scalar_proxy(result):
            return self.scalars.realize(result)
        return result

    def call_opaque(self, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Call code the trace does not enter, with arguments guarded by value.

        A callable that reads the outside world (:mod:`guards.specialization.world`), or
        library code not known to read only its arguments, abandons the run before it is
        called (the call then runs once, in the plain run); a result whose operations
        read the world (a ``Decimal``) makes the run uncached.
        """
        reason = reads_world(fn) or library_reads(fn)
        if reason is not None:
            # Stop before the call: it may have an effect (print, a write, a draw from
            # the random state) that the plain run this makes would then repeat.
            self.abandon(reason)
        why = f"the untraced {_callable_name(fn)}"
        result = self.computed(fn(*self.realize(args, why), **self.realize(kwargs, why)))
        if type(result) is decimal.Decimal or result is decimal.Decimal:
            self.guard_decimal_context()
            return result
        reason = world_value(result)
        if reason is not None:
            self.untrackable(reason)
        return result

    def note_world(self, value: Any) -> None:
        """Abandon the run if ``value``, about to be handed to user code as itself, reads
        the outside world (``time.time``, ``os.getenv``, the class ``Decimal``...) or is
        library code not known to read only its arguments (``print``): the call then
        runs plainly, and whatever it does happens once."""
        if value is decimal.Decimal:  # what its values read of the world is guarded
            self.guard_decimal_context()
            return
        reason = held_reads_world(value) or library_reads(value)
        if reason is not None:
            # Stop before user code can call it: its effect (print, a draw from the
            # random state) would happen again in the plain run this makes.
            self.abandon(reason)

    def guard_decimal_context(self) -> None:
        """A ``Decimal`` (or its class) reached traced code: its operations read the
        thread's decimal context and set its flags, so the context is guarded
        (``DECIMAL_CONTEXT_MATCH``, by :meth:`guard_world_state` after the run, with
        the flags the run set)."""
        self.reads_decimal_context = True

    def _untrackable_if_mentioned(
        self, mention_in: Callable[[types.CodeType], str | None], what: str, way: str
    ) -> None:
        """Make the run uncached if code it traced mentions a way (``mention_in``) to a
        method of ``what`` made during the run, a real object the trace cannot see into."""
        for code in self._codes:
            mention = mention_in(code)
            if mention is not None:
                self.untrackable(
                    f"{what} made during the run is a real object, whose methods the trace "
                    f"cannot see, and {code.co_qualname} uses {mention} ({way})",
                    at=definition_line(code),
                )
                return

    def guard_world_state(self) -> None:
        """After a run: guard the state it read that no input holds (the decimal context)."""
        if self.reads_decimal_context:
            self.context.track(ModuleSource("decimal")).install(
                GuardBuilder.DECIMAL_CONTEXT_MATCH
            )
        if self.made_dates:
            self._untrackable_if_mentioned(
                date_world_mention, "a date or time",
                "a way to a method that reads the clock, the time zone or the locale",
            )
        if self.made_arrays:
            self._untrackable_if_mentioned(
                array_effect_mention, "a NumPy array", "a way to write a file or read its memory"
            )
        for array, state, name in self._arrays.values():
            # Written through a view (`a.T[0] = 1`), its flags (`a.flags.writeable = False`)
            # or by code given it (`np.copyto`): the write happened once, in this run, and
            # its result is not stored.
            if _array_state(array) != state:
                self.untrackable(f"writes to {name}, a NumPy array")

    def call_log(self, function: Any, args: tuple[Any, ...] | list[Any],
                 kwargs: Mapping[str, Any]) -> None:
        """A logging call (``guards.specialization.frames``): run on the real values, with no guard.

        What it logs is an effect, which a hit skips as it skips printing; it
        returns None, so nothing of the logger or the logged values reaches the
        result.  The record names the traced caller, as a plain call's would.  The
        handlers and filters it runs may be user code, which runs untraced (``exempt``):
        what they do is the logging's effect.
        """
        # Logging is an effect: it must happen once, so not in a run that may yet be
        # traced again with scalars by value.
        self.scalars.give_up(f"calls {_callable_name(function)}, an effect")
        args, kwargs = self.unwrap(tuple(args)), self.unwrap(dict(kwargs))
        if kwargs.get("stack_info") or kwargs.get("stacklevel", 1) != 1:
            self.abandon(f"calls {_callable_name(function)} with stack_info or a stacklevel, "
                         "which would show the tracer's frames")
        with exempt():
            function(*args, stacklevel=log_stacklevel(_runs_traced), **kwargs)

    def call_function(self, fn: LazyTracker, args: tuple[Any, ...] | list[Any],
                      kwargs: Mapping[str, Any]) -> Any:
        """Trace a call of the Python function tracked by ``fn``."""
        function = fn.unguarded_value()
        state = specialized_state(function)
        if state is not None:
            return self.call_specialized(fn, state, args, kwargs)
        if type(function) is not types.FunctionType:
            fn.install(GuardBuilder.ID_MATCH)
            return self.call_opaque(function, tuple(args), dict(kwargs))
        code = function.__code__
        if is_library_code(code) and not self.trace_library_code and not traced_library(function):
            if is_log_call(function):
                return self.call_log(function, args, kwargs)
            stack_name = stack_reader_behind(function)
            if stack_name is not None:  # it would run under the tracer's frames
                self.abandon(f"calls {code.co_qualname}, which reads the call stack "
                             f"({stack_name}), where the tracer's frames would show")
            fn.install(GuardBuilder.ID_MATCH)
            return self.call_opaque(function, tuple(args), dict(kwargs))
        facts = code_facts(code)
        if facts.writes is not None:
            self.abandon(facts.writes, at=facts.writes_at)
        if facts.reads_stack is not None:
            self.abandon(facts.reads_stack)
        if too_deep():
            self.abandon(f"calls {code.co_qualname} near the recursion limit, where tracing's "
                         "extra frames would raise a RecursionError a plain call does not")
        self.enter(code, function.__globals__)
        bound = fn.bind(*args, **kwargs)
        unused = code_facts(code).unused
        arguments = {
            name: self._argument(value, name in unused)
            for name, value in bound.arguments.items()
        }
        closure = tuple(self._cell_for(cell) for cell in bound.cells.values()) or None
        run = types.FunctionType(
            code, self.globals_for(function, fn.source), function.__name__, None, closure
        )
        return call_with(run, code, arguments)

    def _receiver(self, tracker: LazyTracker, method: types.MethodType) -> LazyTracker:
        """The tracker of ``method.__self__``: for ``obj.m`` with ``m`` a specialized function
        bound to ``obj`` itself, ``obj``'s (guarded to be it), so that the guards a call of
        ``self.m`` carries from its cache stay on ``L['self']`` however deep it recurses."""
        bound = tracker.attr("__self__")
        source = tracker.source
        if specialized_state(method.__func__) is None or not isinstance(source, AttrSource):
            return bound
        receiver = self.context.track(source.base)
        if receiver.unguarded_value() is not method.__self__:
            return bound
        bound.install(GuardBuilder.DUPLICATE_INPUT, source_b=receiver.source)
        return receiver

    def call_specialized(self, wrapper: LazyTracker, state: CallsThroughCache,
                         args: tuple[Any, ...] | list[Any], kwargs: Mapping[str, Any]) -> Any:
        """A call of a specialized function (``wrapper``): through its cache, with the
        guards of the entry that answered carried into this run (see
        :mod:`guards.specialization.nested`); else traced into, as any function."""
        fn = wrapper.attr("__wrapped__")
        answer = self._through_cache(wrapper, fn, state, args, kwargs)
        if answer is _TRACE_INTO:
            return self.call_function(fn, args, kwargs)
        return answer

    def _through_cache(self, wrapper: LazyTracker, fn: LazyTracker, state: CallsThroughCache,
                       args: tuple[Any, ...] | list[Any], kwargs: Mapping[str, Any]) -> Any:
        function = state.function
        if not plain_wrapper(wrapper.unguarded_value()):
            # Traced into, `__wrapped__` would bind with its own defaults.
            self.abandon(f"calls {function.__qualname__}, whose wrapper's __defaults__ or "
                         "__kwdefaults__ were reassigned")
        try:
            if fn.unguarded_value() is not function:
                return _TRACE_INTO
        except Exception:  # `__wrapped__` deleted, or a hostile attribute
            return _TRACE_INTO
        by_value = {
            name: value for name, value in (*enumerate(args), *kwargs.items())
            if not is_proxy(value) or is_scalar_proxy(value)
        }
        if not all(map(self._passes_by_value, by_value.values())):
            return _TRACE_INTO
        wrapper.install(GuardBuilder.ID_MATCH)
        # A call binds with the wrapper's own defaults, which say "the function's": the
        # call goes where it went while they stay the ones specialize made.
        wrapper.attr("__defaults__").install(GuardBuilder.ID_MATCH)
        kwdefaults = wrapper.attr("__kwdefaults__")
        if kwdefaults.unguarded_value() is None:
            kwdefaults.install(GuardBuilder.ID_MATCH)
        else:
            for key in kwdefaults.keys():  # noqa: SIM118 - guarded
                kwdefaults.item(key).install(GuardBuilder.ID_MATCH)
        fn.install(GuardBuilder.ID_MATCH)
        bound = fn.bind(*args, **kwargs)  # a bad call raises Python's own TypeError
        why = f"an argument of {function.__qualname__}"
        f_locals: dict[str, Any] = {}
        outer: dict[str, Source] = {}
        implied: set[str] = set()
        for name, value in bound.arguments.items():
            if type(value) is LazyTracker:  # a default it used
                outer[name] = value.source
                f_locals[name] = value.unguarded_value()
            elif is_proxy(value) and not is_scalar_proxy(value):
                tracker = tracker_of(value)
                outer[name] = tracker.source
                f_locals[name] = tracker.unguarded_value()
            else:
                f_locals[name] = self.realize(value, why)
                implied.add(name)
        for i, (name, cell) in enumerate(bound.cells.items()):
            real_cell = (function.__closure__ or ())[i]
            # A cell the traced function has too (a nested def calling itself by its
            # name): read as the traced frame's own local, so paths do not grow per level.
            top_name = self.top_cells.get(id(real_cell))
            outer[name] = cell.source if top_name is None else LocalSource(top_name)
            if not cell_is_empty(real_cell):
                f_locals[name] = real_cell.cell_contents
        real_globals = function.__globals__
        base = None if real_globals is self.context.f_globals else AttrSource(fn.source,
                                                                               "__globals__")
        roots = Roots(outer, frozenset(implied), f_locals, base)
        deep = too_deep()
        DEEPEST.levels += 1
        try:
            with suspended():  # its checks and its own trace: the entry's guards are carried
                answer = state.call_for_trace(f_locals, deep=deep)
        finally:
            DEEPEST.levels -= 1
        entry = answer.entry
        if entry is None:
            name = function.__qualname__
            if answer.deep:
                note_too_deep(state, f_locals)
                self.abandon(f"calls {name} near the recursion limit, where tracing's extra "
                             "frames would raise a RecursionError a plain call does not")
            if answer.reasons and not answer.final:  # traced into, it would stop there too
                self.abandon(f"calls {name}, which runs plainly")
            if not answer.final:
                return _TRACE_INTO
            self.untrackable(f"calls {function.__qualname__}, which ran uncached: "
                             + "; ".join(answer.reasons))
            return answer.result
        if getattr(entry.value, "aliased", ()):  # an input returned as itself
            return _TRACE_INTO
        guards = reroot(entry.check.guards, roots)
        if guards is None:
            return _TRACE_INTO
        self.context.install_guard(*guards)
        return answer.result

    def _passes_by_value(self, value: Any) -> bool:
        """``value`` can be handed to a specialized function as a value, guarded by value
        here: a scalar, or a built-in container of them, proxies of them included."""
        if is_scalar_proxy(value):
            return True
        if is_proxy(value):
            return is_constant_like(tracker_of(value).unguarded_value())
        t = type(value)
        if t in (list, tuple, set, frozenset):
            return all(map(self._passes_by_value, value))
        if t is dict:
            return all(map(self._passes_by_value, (*value.keys(), *value.values())))
        return is_scalar(value)

    def _argument(self, value: Any, unused: bool) -> Any:
        """A parameter's value for the traced run: tracked, unless the code never reads it."""
        if type(value) is not LazyTracker:
            return value  # the caller's value, tracked (or not) as the caller got it
        return value.peek() if unused else self.wrap(value)

    def _cell_for(self, tracker: LazyTracker) -> types.CellType:
        try:
            return types.CellType(self.wrap(tracker))
        except NameError:  # an empty cell: the guard that it is empty is installed
            return types.CellType()

    def call_unbound(self, method: Any, proxy: Tracked, args: tuple[Any, ...],
                     kwargs: dict[str, Any]) -> Any:
        """``method(proxy, *args)`` for a C method descriptor or slot wrapper (see
        :mod:`guards.specialization.unbound`): the path of the bound form, when the
        type's own entry is this method; ``object``'s defaults as ``object_default``
        follows them; else the method runs on the value, realized (a mutator abandons
        the run first)."""
        if is_scalar_proxy(proxy) and applied(proxy):  # a number derived from an input
            why = f"{method.__objclass__.__name__}.{method.__name__}()"
            return method(self.realize(proxy, why), *self.realize(args, why),
                          **self.realize(kwargs, why))
        tracker = tracker_of(proxy)
        name = method.__name__
        if method is _OBJECT_GETATTRIBUTE and len(args) == 1 and not kwargs and (
            self.type_lookup(tracker, "__getattribute__") is _OBJECT_GETATTRIBUTE
            and self.type_lookup(tracker, "__getattr__") is None
        ):
            return self.get_attr(proxy, str(self.realize(args[0], "object.__getattribute__")))
        if method is type_lookup(object, name) and name in _OBJECT_DEFAULTS and not kwargs:
            return self.object_default(proxy, name, method, (proxy, *args))
        if self.type_lookup(tracker, name) is method:
            return getattr(proxy, name)(*args, **kwargs)
        owner = method.__objclass__
        if name in _MUTATORS.get(owner, frozenset()) or (
            owner is object and name in ("__setattr__", "__delattr__")
        ):
            self.write(proxy, f"calls {owner.__name__}.{name}() on")
        why = f"{owner.__name__}.{name}() of {tracker.source.name}"
        return method(self.realize(proxy, why), *self.realize(args, why),
                      **self.realize(kwargs, why))

    def _dicts_own(self, tracker: LazyTracker, name: str) -> bool:
        """A dict subclass whose ``name`` is ``dict``'s own, and its items too (guarded):
        ``name`` reads it as it reads a dict (``dict(d)`` calls ``d.keys()``).  An
        ``OrderedDict``'s ``keys()`` too: a live view, in its order, that
        ``DICT_KEYS_MATCH`` guards."""
        t = type(tracker.unguarded_value())
        if t is collections.OrderedDict:  # its own keys() is a view in its own order
            return name == "keys"
        if not issubclass(t, dict) or name not in ("get", "keys", "values", "items", "copy"):
            return False
        return all(
            self.type_lookup(tracker, method) is dict.__dict__[method]
            for method in (name, "__getitem__", "__iter__", "__len__")
        )

    def call_builtin_method(self, proxy: Tracked, name: str, args: tuple[Any, ...],
                            kwargs: dict[str, Any]) -> Any:
        """``proxy.name(*args)`` for ``name`` a method written in C (a ``_BuiltinMethod``).

        The methods of the built-in containers are followed: the writes abandon the
        run (before they happen), the reads are guarded.  A C method that answers as a
        special method of the proxy does (``x.__str__()``) follows that hook, and one
        that reads memory makes the run uncached.  Any other C method (a deque's
        ``append``, a pattern's ``match``, ``obj.__setattr__``) may write to the
        object or keep what it is given, which the trace can neither see nor undo: the
        run stops before it (the call then runs plainly, its effect happening once).
        """
        tracker = tracker_of(proxy)
        value = tracker.unguarded_value()
        t = type(value)
        if is_library_value(value):  # a C method read elsewhere (`fmt = d.isoformat`)
            where = tracker.source.name
            real = self.realize(proxy, f".{name}() of {where}")
            method = _ValueMethod(self, real, name, getattr(real, name), where)
            return self.call_value_method(method, args, kwargs)
        if name in _MUTATORS.get(t, frozenset()):
            self.write(proxy, f"calls .{name}() on")
        if t is dict or self._dicts_own(tracker, name):
            if name == "get" and args and not kwargs:
                key = self._realize_key(args[0])
                if tracker.contains(key):
                    return self.wrap(tracker.item(key))
                return args[1] if len(args) > 1 else None
            if name == "keys" and not args:
                if not all(map(is_deep_immutable, tracker.keys())):
                    self.untrackable(f".keys() of {tracker.source.name} hands out its keys")
                return value.keys()
            if name in ("values", "items", "copy") and not args:
                # Views of a private dict of tracked values: views, as the real ones are.
                keys = tracker.keys()
                # An object used as a key is tracked on its DictKeySource path.
                copied = {
                    shown: self.wrap(tracker.item(key))
                    for key, shown in zip(keys, self._dict_keys(tracker), strict=True)
                }
                self._dict_copies[id(copied)] = (copied, tracker)
                if name == "values":
                    return copied.values()
                return copied.items() if name == "items" else copied
        if t is list and name == "copy" and not args:
            return [self.wrap(tracker.item(i)) for i in range(tracker.len())]
        if name in _MEMORY_METHODS:
            return self._read_memory(proxy, name, args)
        if _AS_HOOKS.get(name) == len(args) and not kwargs and t not in _BUILTIN_CONTAINERS:
            # `x.__str__()` is `str(x)` when C code implements it: the hook follows it.
            return getattr(type(proxy), name)(proxy, *args, **kwargs)
        if t not in _BUILTIN_CONTAINERS:
            self.abandon(f"calls .{name}() of {tracker.source.name}, a method written in C "
                         "that the trace cannot see into")
        method = getattr(t, name)
        why = f".{name}() of {tracker.source.name}"
        return method(self.realize(proxy, why), *self.realize(args, why),
                      **self.realize(kwargs, why))

    def _read_memory(self, proxy: Tracked, name: str, args: tuple[Any, ...]) -> Any:
        """A C method that answers from the value's memory (``__sizeof__``): not cached."""
        tracker = tracker_of(proxy)
        self.untrackable(f"{name} reads {tracker.source.name} in memory, not by value")
        return getattr(tracker.unguarded_value(), name)(*self.unwrap(args))

    # -- globals --------------------------------------------------------------------
    def globals_for(self, function: types.FunctionType, fn_source: Source) -> _TrackedGlobals:
        """The tracked globals a traced copy of ``function`` runs with.

        A called function is guarded on its code only, and another function of
        that code may have other globals (``types.FunctionType(code, other)``,
        bound to the same name or handed in), so where it reads its globals is
        guarded too: when they are the specialized function's own, by one
        identity check (``fn.__globals__ is G``), and its reads are ``G[...]``;
        else its reads go through its own ``fn.__globals__``.
        """
        real = function.__globals__
        own = AttrSource(fn_source, "__globals__")
        base: Source | None = own
        if real is self.context.f_globals:
            self.context.track(own).install(GuardBuilder.DUPLICATE_INPUT, source_b=GlobalsSource())
            base = None
        key = (id(real), base)
        tracked = self._globals.get(key)
        if tracked is None:
            tracked = self._globals[key] = _TrackedGlobals(self, real, base)
        return tracked

    def top_globals(self, function: types.FunctionType) -> _TrackedGlobals:
        """The tracked globals of the traced function itself (read as ``G[...]``)."""
        tracked = self._globals[(id(function.__globals__), None)] = _TrackedGlobals(
            self, function.__globals__, None
        )
        return tracked

    # -- the leak net -----------------------------------------------------------------
    def made(self, cls: Any) -> None:
        """Note a class made by the traced code: a plain call would make a new one."""
        with contextlib.suppress(TypeError):  # not weakly referable: not a class to follow
            self._made.append(weakref.ref(cls))

    def leaked(self) -> str | None:
        """After the run: why it must not be used, if anything of it outlives it.

        A proxy or a tracked globals dict still referenced from outside the
        tracer means the caller (or anything else) holds a piece of the trace:
        the run is discarded (the reason is returned).  A class made during the
        run that outlives it (returned, or the type of a returned object) is
        fine to return, but a hit would return that same class: not cached.
        """
        self._dict_copies.clear()  # the views in the result were rewritten (finalize)
        if self._real_in_class is not None and self.identity_compared:  # see _pin_entry
            return (f"tests identity, and {self._real_in_class}, of a class handed over as "
                    "itself, is a function the run gets a stand-in for where it reads it")
        if self._discard is not None:
            return self._discard
        kept = outliving(
            (self._proxies, self._split, self._site_proxies, self._globals,
             self.scalars.proxies, self.scalars.derived),
            self._made,
        )
        if kept is None:
            return None
        if is_scalar_proxy(kept):
            self.scalars.fall_back("a tracked scalar escaped the call")
        if is_proxy(kept):
            return f"a tracked value of {tracker_of(kept).source.name} escaped the call"
        if type(kept) is _TrackedGlobals:
            holder = function_holding(kept)
            if holder is not None:
                return (f"the function {holder.__qualname__} made during the call keeps "
                        "the traced globals")
            return "a frame of the call outlives it (a generator or a traceback keeps it)"
        self.untrackable(f"the class {_callable_name(kept)} made during the call outlives it")
        return None

    # -- the result -----------------------------------------------------------------
    def finalize(self, result: Any) -> Any:
        """The result as plain values: no proxy may escape into user code or the cache."""
        try:
            return self._fix(result, {})
        except RecursionError:
            self.untrackable("the result is too deeply nested to check for tracked values")
            return self.unwrap(result)

    def _fix_input(self, tracker: LazyTracker) -> Any:
        """A tracked value in the result: guarded so that a hit returns what a call would."""
        real = tracker.unguarded_value()
        if is_deep_immutable(real):
            tracker.install(GuardBuilder.CONSTANT_MATCH)
        elif self._read_again(tracker) is real:
            tracker.install(GuardBuilder.ID_MATCH)  # the result is the input itself
            self.aliased.append(real)
            self._keep_aliasing(tracker, real)
        elif is_constant_like(real):
            # A new object at each read of its path (a slice, a property): by value.
            tracker.install(GuardBuilder.CONSTANT_MATCH)
        else:
            self.untrackable(f"returns {tracker.source.name}, a new object at each read")
        return real

    def _keep_aliasing(self, tracker: LazyTracker, real: Any) -> None:
        """An input in the result reached by several paths with a proxy each: they stay
        one object (``DUPLICATE_INPUT``), as the stored result's copies alias them."""
        first = self._proxies.get(id(real))
        if first is None:
            return
        sources = [tracker_of(first).source, *(
            source for (key, source) in self._split if key == id(real)
        )]
        for source in sources:
            if source != tracker.source:
                tracker.install(GuardBuilder.DUPLICATE_INPUT, source_b=source)

    def _read_again(self, tracker: LazyTracker) -> Any:
        try:
            with exempt():  # the guard reads the path again at every check
                return tracker.source.get(self.context.f_locals, self.context.f_globals)
        except Exception:
            return None

    def _fix(self, value: Any, memo: dict[int, Any]) -> Any:
        if is_scalar_proxy(value):
            return self.scalars.realize(value)
        if is_proxy(value):
            return self._fix_input(tracker_of(value))
        if type(value) is ScalarMethod:
            return value.real()
        if type(value) is _BuiltinMethod:
            self.untrackable(f"returns {value.describe()}")
            return self.unwrap(value)
        if is_scalar(value):
            return value
        realized = self._realized.get(id(value))
        if realized is not None:  # an input, handed back by code the trace did not enter
            owner = realized[1]
            if owner is not None:
                return self._fix_input(owner)
            self.untrackable("returns part of an input that untraced code handed back")
            return value
        key = id(value)
        if key in memo:
            return memo[key]
        memo[key] = value
        t = type(value)
        if t is list:
            for i, item in enumerate(value):
                value[i] = self._fix(item, memo)
        elif t in (tuple, set, frozenset):
            items = [self._fix(item, memo) for item in value]
            if any(a is not b for a, b in zip(items, value, strict=True)):
                memo[key] = t(items)
        elif t is dict:
            fixed = {self._fix(k, memo): self._fix(v, memo) for k, v in value.items()}
            value.clear()
            value.update(fixed)
        elif t in _DICT_VIEWS:
            memo[key] = self._fix_view(value, memo)
        elif issubclass(t, _GENERATORS):
            self.untrackable("returns a generator, which would run later on tracked values")
        elif _is_c_iterator(t):
            # It reads what it iterates when consumed (an input, or the trace's private
            # copy of one), and a stored copy would not: the caller gets a plain run's.
            self._discard = f"returns a {t.__qualname__}, which reads its input when consumed"
        elif t in STAND_IN_TYPES:
            memo[key] = real_of(value)  # a stand-in is the trace's own (`len`)
        elif is_ndarray(value):
            self._check_array_result(value)
        elif issubclass(t, types.FunctionType):
            for cell in value.__closure__ or ():
                with contextlib.suppress(ValueError):  # an empty cell holds nothing to fix
                    cell.cell_contents = self._fix(cell.cell_contents, memo)
            if value.__defaults__:
                value.__defaults__ = tuple(self._fix(d, memo) for d in value.__defaults__)
        elif hasattr(value, "__dict__") and not issubclass(t, (type, types.ModuleType)):
            for name, item in list(vars(value).items()):
                fixed_item = self._fix(item, memo)
                if fixed_item is not item:
                    vars(value)[name] = fixed_item
            self._fix_slots(value, memo)
            self._keeps_stand_in(value)
        elif t is not _TrackedItems and _slot_members(t):  # the net sees an escaped iterator
            self._fix_slots(value, memo)
        elif self._keeps_stand_in(value):
            pass  # the run's result is discarded
        elif any(is_proxy(ref) for ref in gc.get_referents(value)):
            if any(map(is_scalar_proxy, gc.get_referents(value))):
                self.scalars.fall_back(f"a tracked scalar escaped into a {t.__qualname__}")
            self.untrackable(f"a tracked value escaped into a {t.__qualname__} in the result")
        return memo[key]

    def _check_array_result(self, array: Any) -> None:
        """A NumPy array in the result that may share memory with an input array (a view,
        ``a[1:]``, ``a.T``): a fresh call's result would show the new input's data."""
        numpy = sys.modules["numpy"]
        for real, _, name in self._arrays.values():
            if numpy.may_share_memory(array, real):
                self.untrackable(f"returns a view of {name}, a NumPy array")

    def _keeps_stand_in(self, value: Any) -> bool:
        """``value``, in the result, holds a stand-in where it cannot be replaced
        (``functools.partial(len).func``): the caller gets a plain run's result."""
        for ref in gc.get_referents(value):
            if type(ref) in STAND_IN_TYPES:
                self._discard = (f"returns a {type(value).__qualname__} that holds the "
                                 f"stand-in of {real_of(ref)!r}")
                return True
        return False

    def _fix_view(self, view: Any, memo: dict[int, Any]) -> Any:
        """A dict view in the result: a view of a tracked dict stays live, as in a plain run."""
        (mapping,) = gc.get_referents(view)
        copied = self._dict_copies.get(id(mapping))
        tracker = copied[1] if copied is not None else None
        if tracker is None and id(mapping) in self._proxies:
            tracker = tracker_of(self._proxies[id(mapping)])
        if tracker is None:  # a view of a dict the run made
            self._fix(mapping, memo)
            return view
        self.untrackable(f"returns a view of {tracker.source.name}, which a later write changes")
        return getattr(tracker.unguarded_value(), _DICT_VIEWS[type(view)])()

    def _fix_slots(self, value: Any, memo: dict[int, Any]) -> None:
        """Fix what the ``__slots__`` of ``value``'s classes hold (whatever is left, the
        leak net sees)."""
        for member in _slot_members(type(value)):
            try:
                item = member.__get__(value, type(value))
            except AttributeError:  # an empty slot
                continue
            fixed = self._fix(item, memo)
            if fixed is not item:
                member.__set__(value, fixed)


def _slot_members(cls: type) -> list[Any]:
    """The slots that classes written in Python (``__slots__``) give ``cls``'s instances."""
    return [
        member
        for klass in cls.__mro__ if "__slots__" in klass.__dict__
        for member in klass.__dict__.values()
        if type(member) is types.MemberDescriptorType and member.__objclass__ is klass
    ]


@attrs.frozen(eq=False)  # one per tracked globals dict: compared by identity
class _Namespace:
    """One function's real globals, as traced code reads them: the tracer, the dict and
    its path (``None``: the specialized function's own globals, read as ``G[...]``).

    Shared by the tracked globals and their builtins, so that neither refers to the
    other: the leak net counts the references to a tracked globals dict.
    """

    tracer: Tracer
    real: Mapping[str, Any]
    base: Source | None

    def source_of(self, name: str) -> Source:
        """The path of the global ``name``."""
        return GlobalSource(name) if self.base is None else GetItemSource(self.base, name)

    def namespace(self) -> Source:
        """The path of the globals dict itself."""
        return GlobalsSource() if self.base is None else self.base

    def read(self, name: str) -> Any:
        """The global ``name`` for traced code (``KeyError`` if it is not one)."""
        if name not in self.real:
            raise KeyError(name)
        tracker = self.tracer.context.track(self.source_of(name))
        if issubclass(type(self.real[name]), type):
            return self.tracer.class_at_site(tracker)
        return self.tracer.wrap(tracker)


class _TrackedGlobals(dict):  # type: ignore[type-arg]
    """A function's globals as the traced copy sees them: every read is tracked.

    CPython looks a global up through ``__getitem__`` when the globals are a
    dict subclass; a name that is not a global falls through to the tracked
    builtins, which guard that it is not a global.
    """

    def __init__(self, tracer: Tracer, real: Mapping[str, Any], base: Source | None) -> None:
        super().__init__()
        self._names = _Namespace(tracer, real, base)
        dict.__setitem__(self, "__builtins__", _TrackedBuiltins(self._names))
        self._tracer = tracer
        self._real = real

    def abandon_run(self, reason: str) -> NoReturn:
        """Abandon the traced run whose code runs with these globals (see polyfills)."""
        self._tracer.abandon(reason)

    def module_seen(self, module: types.ModuleType) -> Any:
        """``module`` as code running with these globals would get it by importing it
        (tracked at ``sys.modules[name]``), for a stand-in's ``__self__`` (see polyfills)."""
        if sys.modules.get(module.__name__) is not module:
            return module
        with self._tracer.entered:
            return self._tracer.imported(module)

    def __getitem__(self, name: str) -> Any:
        if name == "__builtins__" and name not in sys._getframe(1).f_code.co_names:
            # Not the code's own read: C code asking for the running code's builtins
            # (PyImport_Import, for `__import__`, when NumPy imports a helper lazily),
            # which must be a dict: the tracked builtins, whose reads are guarded.
            return dict.__getitem__(self, name)
        with self._tracer.entered:  # an `except X:` clause looks X up here, too
            return self._names.read(name)


_SINGLEDISPATCH_CODE = functools.singledispatch(lambda value: value).__code__  # type: ignore[attr-defined]
_LRU_WRAPPER = type(functools.lru_cache(lambda: None))


def _traced_import(name: str, globals: Any = None, locals: Any = None,
                   fromlist: Any = (), level: int = 0) -> Any:
    """``__import__`` for traced code: the module is tracked through ``sys.modules``."""
    tracked = sys._getframe(1).f_globals
    if not isinstance(tracked, _TrackedGlobals):
        return builtins.__import__(name, globals, locals, fromlist, level)
    real_globals = tracked._real if globals is tracked else globals
    module = builtins.__import__(name, real_globals, locals, fromlist, level)
    with tracked._tracer.entered:
        return tracked._tracer.imported(module)


def _user_frame() -> types.FrameType | None:
    """The frame of the code whose operation runs the current hook (the first outside guards)."""
    frame: types.FrameType | None = sys._getframe(1)
    while frame is not None and is_own_file(frame.f_code.co_filename):
        frame = frame.f_back
    return frame


def _not_iterable_message(cls: type) -> str | None:
    """The error CPython raises for iterating a ``cls``, at the operation that asked.

    It rewords the error of ``iter()`` for ``[*x]`` and unpacking when the type has
    no ``__iter__``; a proxy's type has one, so the rewording is done here.  None
    for ``f(*x)``, whose wording names ``f``, which a hook cannot see.
    """
    name = c_type_name(cls)
    frame = _user_frame()
    if frame is not None:
        op = dis.opname[frame.f_code.co_code[frame.f_lasti]]
        if op == "LIST_EXTEND":
            return f"Value after * must be an iterable, not {name}"
        if op in ("UNPACK_SEQUENCE", "UNPACK_EX"):
            return f"cannot unpack non-iterable {name} object"
        if op == "CALL_FUNCTION_EX":
            return None
    return f"'{name}' object is not iterable"


class _TrackedBuiltins(dict):  # type: ignore[type-arg]
    """The builtins as a traced copy sees them: looked up when read, and guarded.

    Each name is looked up, at trace time, in the real builtins of the
    function's globals (:func:`~guards.core.values.builtins_of`), so a builtin added
    or patched after guards was imported (``gettext.install``'s ``_``, a patched
    ``round``) is the one the run sees; ``BUILTIN_MATCH`` guards that the name is
    not a global and that the builtins hold the same object (or lack the name:
    an absent global caught as ``NameError``).  A builtin that is not a plain
    value (a Python function patched in) is tracked on its path.  While a
    builtin is the original, the tracer's stand-in for it answers (``type``,
    ``isinstance``, ``id``...).  The dict's own items, which C code may read
    without ``__getitem__`` (``__import__``), are :data:`TRACED_BUILTINS`.
    """

    def __init__(self, owner: _Namespace) -> None:
        super().__init__(TRACED_BUILTINS)
        self._owner = owner

    def __getitem__(self, name: str) -> Any:
        owner = self._owner
        if name in owner.real:  # LOAD_NAME reads the globals' own items, then lands here
            return owner.read(name)
        tracer = owner.tracer
        where = owner.namespace()
        tracer.context.track(where).install(GuardBuilder.BUILTIN_MATCH, GetItemSource(where, name))
        table = builtins_of(owner.real)
        if name not in table:
            raise KeyError(name)
        value = table[name]
        if name in STAND_INS and value is _ORIGINAL_BUILTINS.get(name):
            return STAND_INS[name]
        if type(value) is type and sys._getframe(1).f_lasti in attribute_sites(
            sys._getframe(1).f_code
        ):  # `object.__repr__(x)`: its C methods must not get a proxy as self
            return TypeAtSite(tracer, value)
        if is_scalar(value):
            tracer.note_world(value)  # open(), input()
            return value
        return self._tracked(name, value)

    def _tracked(self, name: str, value: Any) -> Any:
        """A builtin that is not a plain value, tracked on ``G['__builtins__']...[name]``."""
        owner = self._owner
        tracer = owner.tracer
        holder = owner.source_of("__builtins__")
        try:
            found = tracer.context.value_of(holder)
        except KeyError:
            tracer.untrackable(f"reads the builtin {name!r} of globals without __builtins__")
            return value
        table = AttrSource(holder, "__dict__") if type(found) is types.ModuleType else holder
        return tracer.wrap(tracer.context.track(GetItemSource(table, name)))


def _is_bound_c_method(value: Any) -> bool:
    """A method written in C, bound to an object (not a module's function, not a classmethod)."""
    t = type(value)
    if t is types.MethodWrapperType:
        return True
    if not issubclass(t, types.BuiltinMethodType):  # 3.11 has a subclass for some
        return False
    owner = value.__self__
    return owner is not None and not isinstance(owner, (types.ModuleType, type))


def _may_be_refusal(exc: BaseException) -> bool:
    """``exc`` may be C code or the interpreter refusing an object by its type."""
    return isinstance(exc, Exception) and not isinstance(exc, NOT_REFUSALS)


#: ``raise`` and re-raise instructions.
_RAISE_OPCODES = frozenset(
    dis.opmap[name] for name in ("RAISE_VARARGS", "RERAISE") if name in dis.opmap
)


def _runs_traced(frame: types.FrameType) -> bool:
    """The frame runs traced code (a traced copy, or a function made during the run)."""
    return type(frame.f_globals) is _TrackedGlobals

def library_reads(value: Any) -> str | None:
    """Why library code in ``value`` (a callable or class called where the trace does
    not follow) may read more than its arguments (:mod:`guards.specialization.purity`), or ``None``.

    User functions are traced, not asked about; a user class is asked about the
    library classes it inherits from (their methods run untraced).
    """
    if type(value) is types.FunctionType and not is_library_code(value.__code__):
        return None
    cls = value if issubclass(type(value), type) else None
    if cls is None and type(value) not in _OPAQUE_CALLABLES:
        cls = type(value)  # a callable object
    if cls is None:
        return unknown_reads(value)
    for klass in cls.__mro__:
        if not is_user_class(klass, is_library_file):
            reason = class_unknown_reads(klass)
            if reason is not None:
                return reason
    return None


_OPAQUE_CALLABLES = (
    types.FunctionType, types.BuiltinFunctionType, types.MethodType,
    types.MethodDescriptorType, types.WrapperDescriptorType,
    types.ClassMethodDescriptorType, types.MethodWrapperType,
)


def _callable_name(fn: Any) -> str:
    return str(getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn))


# -- builtins as the traced code sees them -----------------------------------------------
def _traced_type(*args: Any, **kwargs: Any) -> Any:
    """``type`` for traced code: ``type(proxy)`` is the tracked value's type (``TYPE_MATCH``),
    ``type(stand_in)`` the real function's, and a class with a stand-in is its stand-in."""
    if len(args) == 1 and not kwargs:
        obj = args[0]
        if is_scalar_proxy(obj) and applied(obj):
            found = type(tracer_of(obj).scalars.value(obj))
        elif is_proxy(obj):
            tracer = tracer_of(obj)
            with tracer.entered:
                found = tracer.type_of(tracker_of(obj))
        elif type(obj) in (_BuiltinMethod, ScalarMethod):
            found = type(obj.real())
        else:
            found = type(real_of(obj))
        # `type(cls) is type`: the answer `type` is its stand-in (hashed by identity)
        return _STAND_IN_OF.get(found, found) if type(found) is type else found
    if len(args) == 3 and type(args[1]) is tuple:  # a base may be a stand-in (`type`)
        args = (args[0], tuple(map(real_of, args[1])), args[2])
    made = type(*args, **kwargs)
    if len(args) == 3:
        _note_made(made, sys._getframe(1).f_globals)
    return made


def _note_made(cls: Any, caller_globals: Mapping[str, Any]) -> None:
    if type(caller_globals) is _TrackedGlobals:
        caller_globals._tracer.made(cls)


def _seen(value: Any) -> Any:
    """``value`` as traced code gets it when it is handed over as itself (a dict's key):
    the stand-in of a function or class that has one (``len``), else itself."""
    if type(value) in _POLYFILLED_TYPES and value in _STAND_IN_OF:
        return _STAND_IN_OF[value]
    return value


def _traced_build_class(body: Any, name: str, *bases: Any, **kwargs: Any) -> Any:
    """``__build_class__`` for traced code: the class statement's class is noted as made;
    a stand-in among its bases or as its metaclass (``class M(type)``) is the real class."""
    if "metaclass" in kwargs:
        kwargs["metaclass"] = real_of(kwargs["metaclass"])
    cls = builtins.__build_class__(body, name, *map(real_of, bases), **kwargs)
    _note_made(cls, sys._getframe(1).f_globals)
    return cls


def _traced_id(obj: Any) -> int:
    if is_proxy(obj):
        tracer = tracer_of(obj)
        with tracer.entered:
            return tracer.identity(obj)
    if type(obj) in STAND_IN_TYPES:
        return id(real_of(obj))
    return id(obj)


def _real_classinfo(classinfo: Any) -> Any:
    """``classinfo`` with the real classes in place of stand-ins (``isinstance(x, type)``)."""
    if type(classinfo) is tuple:
        return tuple(map(_real_classinfo, classinfo))
    return real_of(classinfo)


def _traced_isinstance(obj: Any, classinfo: Any) -> bool:
    if is_proxy(classinfo):
        classinfo = tracer_of(classinfo).realize(classinfo, "isinstance")
    if type(classinfo) is not type:
        classinfo = _real_classinfo(classinfo)
    if is_scalar_proxy(obj) and applied(obj):  # its type follows from its base's, guarded
        obj = tracer_of(obj).scalars.value(obj)
    if is_proxy(obj):
        with tracer_of(obj).entered:
            return tracker_of(obj).isinstance(classinfo)
    return isinstance(obj, classinfo)


def _traced_len(obj: Any) -> Any:
    if is_proxy(obj):
        tracer = tracer_of(obj)
        with tracer.entered:
            return tracer.length_of(obj)
    return len(obj)


def _traced_sum(iterable: Any, /, start: Any = 0) -> Any:
    # sum refuses a str start by its exact type, and adds exact floats its own way
    # (compensated, on 3.12 and later), asking neither anything: its operands are
    # handed over as values, guarded by value (as a sum reads them all).
    if is_proxy(iterable) and not is_scalar_proxy(iterable):
        tracer = tracer_of(iterable)
        with tracer.entered:
            whole = tracer.whole_scalars(iterable)
        if whole is not None:  # values already: summed in C, with no call per item
            return sum(whole, _value_of(start))
    return sum(map(_value_of, iterable), _value_of(start))


def _value_of(value: Any) -> Any:
    """``value``, or the value a scalar proxy stands for, guarded by value."""
    if is_scalar_proxy(value):
        tracer = tracer_of(value)
        with tracer.entered:
            return tracer.scalars.realize(value)
    return value


def _traced_callable(obj: Any) -> bool:
    if is_scalar_proxy(obj) and applied(obj):
        return False  # a number
    if is_proxy(obj):
        tracker = tracker_of(obj)
        with tracer_of(obj).entered:
            tracker.python_type()  # callable() is decided by the type
        return callable(tracker.peek())
    return callable(obj)


def _traced_super(*args: Any) -> Any:
    if not args:
        frame = sys._getframe(1)
        code = frame.f_code
        if not code.co_argcount or "__class__" not in frame.f_locals:
            msg = "super(): no arguments"
            raise RuntimeError(msg)
        args = (frame.f_locals["__class__"], frame.f_locals[code.co_varnames[0]])
    for arg in args:
        if is_proxy(arg):
            tracer_of(arg).untrackable(
                f"super() on {tracker_of(arg).source.name} reads the object in C code"
            )
    return super(*(tracer_of(a).unwrap(a) if is_proxy(a) else real_of(a) for a in args))


#: The builtins as guards found them at import: a stand-in replaces one of them
#: only while it is still the original.
_ORIGINAL_BUILTINS: dict[str, Any] = dict(builtins.__dict__)
#: Builtin name -> the :class:`~guards.specialization.polyfills.StandIn` traced code
#: gets in its place: the builtin would read a proxy without the tracer (``type``,
#: ``id``...), or do what the trace cannot follow.
STAND_INS: dict[str, StandIn] = {
    **{
        name: stand_in(getattr(builtins, name), behaviour)
        for name, behaviour in (
            ("type", _traced_type),
            ("len", _traced_len),
            ("sum", _traced_sum),
            ("id", _traced_id),
            ("isinstance", _traced_isinstance),
            ("callable", _traced_callable),
            ("super", _traced_super),
            ("__import__", _traced_import),
            ("__build_class__", _traced_build_class),
        )
    },
    **{
        name: abandoning(getattr(builtins, name), f"{name}()")
        for name in ("globals", "eval", "exec")
    },
}
TRACED_BUILTINS: dict[str, Any] = {**_ORIGINAL_BUILTINS, **STAND_INS}
#: Every function and class that traced code gets a stand-in for, wherever it reads it
#: (a builtin, a module's attribute, a global, an argument): the stand-in.
_STAND_IN_OF: dict[Any, StandIn] = {
    **POLYFILLS, **{real_of(stand_in): stand_in for stand_in in STAND_INS.values()}
}


def trace_call(
    function: types.FunctionType,
    context: TracingContext,
    *,
    trace_library_code: bool = False,
    lazy_scalars: bool = True,
) -> TraceOutcome:
    """Run ``function`` on the tracked frame ``context`` (its parameters and free variables).

    With ``lazy_scalars``, scalars are guarded by what their uses ask
    (:mod:`guards.specialization.scalars`); an outcome with ``retry_exact`` must then
    be thrown away and the call traced again, in a new context, without them.
    """
    code = function.__code__
    facts = code_facts(code)
    tracer = Tracer(context, trace_library_code=trace_library_code, code=code,
                    lazy_scalars=lazy_scalars and watches_raises()
                    and facts.tells_scalars(function.__globals__) is None)
    outcome = _trace(tracer, function, facts)
    # A run that raised is traced again only if a proxy may have been refused on the way
    # (`trouble`: the net reports every raise): else it raised as a plain run does, and
    # runs plainly, once more, as any run that raised.
    if tracer.scalars.trouble is not None or tracer.alias_trouble is not None:
        outcome.retry_exact = True
    return outcome


def _trace(tracer: Tracer, function: types.FunctionType, facts: CodeFacts) -> TraceOutcome:
    code = function.__code__
    reason = facts.writes or facts.reads_stack or profiler_reason()
    if reason is not None:
        at = facts.writes_at if facts.writes is not None else definition_line(code)
        tracer.untrackable(reason, at=at)
        return TraceOutcome(None, tuple(tracer.reasons), (), completed=False)
    try:
        with UntracedCodeNet(
            _TrackedGlobals, is_library_frame, tracer.untraced,
            is_library_code=has_library_frames, is_effect_frame=is_log_frame,
            on_raise=tracer.raised_here,
        ):
            tracer.running = True
            try:
                result = tracer.finalize(_run_top(tracer, function))
            finally:
                tracer.running = False
    except _Abandon:
        return TraceOutcome(None, tuple(tracer.reasons), (), completed=False)
    except Exception as exc:
        if not tracer.abandoned:  # else it was raised while the abandoned run unwound
            # Not its message, which may differ at every call (the plain run raises it).
            tracer.untrackable(f"raised {type(exc).__name__}", at=tracer.raised_at(exc))
        return TraceOutcome(None, tuple(tracer.reasons), (), completed=False)
    if tracer.abandoned:  # the function swallowed the abandon (a bare `except:`)
        return TraceOutcome(None, tuple(tracer.reasons), (), completed=False)
    # The run's frames are gone: whatever of it is still referenced escaped.  Its
    # effects were all readable (an effect the trace sees is abandoned before it
    # happens), so it is simply run again, plainly, as a run that raised is.
    leak = tracer.leaked()
    if leak is not None:  # named only when it is the one reason not to cache the run
        if not tracer.reasons:
            tracer.untrackable(leak)
        return TraceOutcome(None, tuple(tracer.reasons), (), completed=False)
    tracer.scalars.install_asked_types()  # before anything reads the guards
    tracer.guard_identities()
    tracer.guard_shapes()
    tracer.context.merge_item_guards(WHOLE_AT)  # `xs[i]` for every i: one guard on xs
    tracer.context.guard_reads()  # a read whose value went unused: that it still reads
    tracer.guard_world_state()
    return TraceOutcome(result, tuple(tracer.reasons), tuple(tracer.aliased))


def _reads_plain(tracker: LazyTracker) -> bool:
    """The value at ``tracker`` is an exact built-in scalar (read exempt, no guard)."""
    try:
        return type(tracker.unguarded_value()) in _PLAIN_VALUES
    except Exception:  # read again, and raised where it was, by Tracer._argument
        return False


def _run_top(tracer: Tracer, function: types.FunctionType) -> Any:
    """Run the traced copy of ``function``; its frame, cells and arguments die on return."""
    context = tracer.context
    code = function.__code__
    unused = code_facts(code).unused
    arguments: dict[str, Any] = {}
    for name in parameters(code).frame_names():
        # quiet(), inline (its __enter__ and __exit__ were two calls per parameter):
        # guards' own code and exempt reads, up to a value that is not plain.
        trace = gettrace()
        off = trace is TRACE_FUNCTION and exception() is None
        if off:
            settrace(None)
        try:
            tracker = context.local(name)
            plain = name not in unused and _reads_plain(tracker)
            if plain:  # an exact built-in scalar (as in Tracer.get_attr): no user code runs
                value = tracker.unguarded_value()  # read by _reads_plain
                # wrap()'s own first case for such a value, at once.
                arguments[name] = (
                    tracer.scalars.proxy(tracker, value) if tracer._proxied(value)
                    else tracer.wrap(tracker)
                )
        finally:
            if off:
                settrace(trace)
        if not plain:
            arguments[name] = tracer._argument(tracker, name in unused)
    closure = tuple(
        tracer._cell_for(context.track(LocalSource(name))) if name in context.f_locals
        else types.CellType()
        for name in code.co_freevars
    ) or None
    # The top frame's cells are read as its locals, as a real frame's f_locals holds them.
    tracer.top_cells = {
        id(cell): name for name, cell in zip(code.co_freevars, function.__closure__ or (),
                                             strict=True)
    }
    run = types.FunctionType(
        code, tracer.top_globals(function), function.__name__, None, closure
    )
    tracer.enter(code, function.__globals__)
    return call_with(run, code, arguments)
