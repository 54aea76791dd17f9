"""The tracer: runs a function on tracked inputs and collects the guards its run needs.

``specialize`` calls :func:`trace_call` on a miss.  The function runs for real,
but on proxies (:class:`~guards.proxy.Tracked`): its arguments, its closure
cells, the globals it reads and, recursively, the Python functions and methods
it calls.  Each operation on a proxy installs the guard it needs:

* reading an attribute or item gives another proxy (nothing is guarded yet);
* a *scalar* (None, bools, numbers, strings, bytes, enum members, classes,
  builtin functions) is never proxied: it is handed to user code as itself,
  with its guard (``CONSTANT_MATCH``, or ``ID_MATCH`` for classes and
  functions) installed when it is read.  C code (``str.join``, ``struct``,
  ``math``) reads scalars without any hook, so a lazy scalar could not be sound;
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
  ``x is None`` stays false only while it is.

See ``docs/specialize.md`` for the rules a function must follow.
"""

from __future__ import annotations

import builtins
import contextlib
import dis
import enum
import gc
import inspect
import os
import sys
import sysconfig
import types
import weakref
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

import attrs

from guards.builder import GuardBuilder
from guards.contexts import TracingContext
from guards.errors import GuardsError
from guards.escapes import function_holding, outliving
from guards.frames import (
    is_log_call,
    is_stack_reader,
    log_stacklevel,
    stack_reader_behind,
    stack_reader_in,
)
from guards.proxy import Tracked, tracer_of, tracker_of
from guards.sources import (
    AttrSource,
    GetItemSource,
    GlobalSource,
    LocalSource,
    Source,
    TypeSource,
)
from guards.taint import raised_by_tracing, taint_of, too_deep
from guards.tracker import LazyTracker

_BUILTIN_CONTAINERS = (list, tuple, dict, set, frozenset)
_MUTABLE_CONTAINERS = (list, dict, set, bytearray)
_ID_SCALARS = (
    type, types.BuiltinFunctionType, types.CodeType, types.WrapperDescriptorType,
    types.MethodDescriptorType, types.ClassMethodDescriptorType,
)
_GENERATORS = (
    types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType,
)
_MUTATORS: dict[type, frozenset[str]] = {
    list: frozenset({"append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse",
                     "__setitem__", "__delitem__", "__iadd__", "__imul__"}),
    dict: frozenset({"update", "pop", "popitem", "setdefault", "clear", "__setitem__",
                     "__delitem__", "__ior__"}),
    set: frozenset({"add", "discard", "remove", "pop", "clear", "update", "difference_update",
                    "intersection_update", "symmetric_difference_update", "__ior__", "__iand__",
                    "__isub__", "__ixor__"}),
}


class UntrackedCallError(GuardsError):
    """In strict mode: the call could not be tracked, so it could not be cached.

    ``reasons`` says why, in the words the statistics and logs use.
    """

    def __init__(self, message: str, reasons: tuple[str, ...]) -> None:
        super().__init__(message)
        self.reasons = reasons


#: Exact types of value scalars.  A subclass of one (``class Tag(str)``) may carry
#: attributes and Python methods that a guard on its value would not see, so its
#: instances are tracked like any object; enum members are the one exception.
_EXACT_VALUE_SCALARS = frozenset({int, float, complex, str, bytes, bool, range})


def _is_value_scalar(cls: type) -> bool:
    return cls in _EXACT_VALUE_SCALARS or issubclass(cls, enum.Enum)


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
        or _is_value_scalar(cls)
        or issubclass(cls, _ID_SCALARS)
    )


def _scalar_kind(value: Any) -> Any:
    if value is None:
        return GuardBuilder.NONE_MATCH
    if type(value) is bool:
        return GuardBuilder.BOOL_MATCH
    if _is_value_scalar(type(value)):
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


def _is_deep_immutable(value: Any) -> bool:
    if is_scalar(value):
        return True
    if type(value) in (tuple, frozenset):
        return all(_is_deep_immutable(item) for item in value)
    return False


_OBJECT_CLASS = object.__dict__["__class__"]


def _type_lookup(cls: type, name: str) -> Any:
    """``name`` as the type defines it (what the interpreter calls for a dunder)."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    return None


_STDLIB_PREFIXES = tuple(
    {sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib")} - {""}
)
_OWN_PREFIX = os.path.dirname(os.path.abspath(__file__)) + os.sep


def is_library_code(code: types.CodeType) -> bool:
    """Code of the standard library, of installed packages, and of guards itself."""
    filename = code.co_filename
    return (
        filename.startswith(_OWN_PREFIX)
        or filename.startswith(_STDLIB_PREFIXES)
        or filename.startswith("<frozen ")
        or "site-packages" in filename.split(os.sep)
        or "dist-packages" in filename.split(os.sep)
    )


#: Opcodes that test identity (3.11 and 3.12 names); none of them reaches a proxy.
_IDENTITY_OPS = frozenset({
    "IS_OP", "POP_JUMP_IF_NONE", "POP_JUMP_IF_NOT_NONE", "POP_JUMP_FORWARD_IF_NONE",
    "POP_JUMP_FORWARD_IF_NOT_NONE", "POP_JUMP_BACKWARD_IF_NONE", "POP_JUMP_BACKWARD_IF_NOT_NONE",
})
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
    to the traced copies), or ``None``.  ``tests_identity``: it uses ``is``.
    ``unused``: parameters it never reads, so binding them needs no guard (none,
    when the code could read its frame another way: ``locals()``, ``super()``).
    ``reads_stack``: why it would see the tracer's frames (``guards.frames``), or ``None``.
    """

    writes: str | None
    tests_identity: bool
    unused: frozenset[str]
    reads_stack: str | None = None


_FACTS: weakref.WeakKeyDictionary[types.CodeType, CodeFacts] = weakref.WeakKeyDictionary()


def code_facts(code: types.CodeType) -> CodeFacts:
    """The :class:`CodeFacts` of ``code``, cached for as long as the code object lives."""
    facts = _FACTS.get(code)
    if facts is None:
        facts = _FACTS[code] = _scan(code)
    return facts


def _scan(code: types.CodeType) -> CodeFacts:
    writes = None
    tests_identity = False
    loaded: set[str] = set()
    freevars = set(code.co_freevars)
    for instr in dis.get_instructions(code):
        name = instr.opname
        if writes is None and name in ("STORE_GLOBAL", "DELETE_GLOBAL"):
            writes = f"{code.co_qualname} assigns the global {instr.argval!r}"
        elif writes is None and name in ("STORE_DEREF", "DELETE_DEREF") and (
            instr.argval in freevars
        ):
            writes = f"{code.co_qualname} rebinds the nonlocal {instr.argval!r}"
        tests_identity = tests_identity or name in _IDENTITY_OPS
        if name.startswith("LOAD_"):  # 3.13 pairs loads: argval is a tuple
            names = instr.argval if isinstance(instr.argval, tuple) else (instr.argval,)
            loaded.update(n for n in names if isinstance(n, str))
    params = set(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount])
    frame_read = bool(_FRAME_READERS & set(code.co_names))
    unused = frozenset() if frame_read else frozenset(params - loaded - set(code.co_cellvars))
    stack_name = stack_reader_in(code)
    reads_stack = None if stack_name is None else (
        f"{code.co_qualname} reads the call stack ({stack_name}), where the tracer's "
        "frames would show"
    )
    return CodeFacts(writes, tests_identity, unused, reads_stack)


@attrs.define
class TraceOutcome:
    """What one traced run gave: its result, and why it may not be cached (if it may not)."""

    result: Any
    reasons: tuple[str, ...]
    aliased: tuple[Any, ...]
    #: False when the function did not run to its end here (it raised, or its
    #: code writes what a traced copy cannot), so it must be called for real.
    completed: bool = True


class _Abandon(BaseException):
    """Stops a traced run before an effect it cannot replay; the call then runs untraced.

    A ``BaseException``, so that ``except Exception`` in user code does not swallow it.
    """


class _BuiltinMethod:
    """``proxy.name`` where ``name`` is a method of a built-in container type."""

    __slots__ = ("name", "proxy")

    def __init__(self, proxy: Tracked, name: str) -> None:
        self.proxy = proxy
        self.name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        tracer = tracer_of(self.proxy)
        with tracer.entered:
            return tracer.call_builtin_method(self.proxy, self.name, args, kwargs)

    def __repr__(self) -> str:
        return f"<tracked method {self.name} of {tracker_of(self.proxy).source.name}>"


class _Boundary:
    """``with tracer.entered:`` wherever user code hands control to the tracer.

    On the way in: if user code is handling an exception, it may be one that
    tracing caused (``Tracer.check_handled``).  On the way out: an error of the
    tracer's own stops the run instead of reaching user code (see ``guards.taint``).
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

    def __init__(self, context: TracingContext, *, trace_library_code: bool = False) -> None:
        self.context = context
        self.reasons: list[str] = []
        self.aliased: list[Any] = []
        self.trace_library_code = trace_library_code
        self.abandoned = False
        self.identity_tested = False
        self._proxies: dict[int, Tracked] = {}
        # id -> (object, its tracker or None for a part of it): mutable inputs handed
        # to untraced code as themselves, which that code may hand back.
        self._realized: dict[int, tuple[Any, LazyTracker | None]] = {}
        self._globals: dict[tuple[int, Source | None], _TrackedGlobals] = {}
        # Classes made during the run (weakly): one alive after it escaped.
        self._made: list[weakref.ref[Any]] = []
        # The exception the caller was handling, if any: not one of the run's.
        self._outer_exception = sys.exception()
        self.entered = _Boundary(self)

    # -- bookkeeping --------------------------------------------------------------
    def untrackable(self, reason: str) -> None:
        """Record why this run's result must not be cached."""
        if reason not in self.reasons:
            self.reasons.append(reason)

    def abandon(self, reason: str) -> NoReturn:
        """Stop the run before an effect the trace cannot replay (see the module doc)."""
        self.untrackable(reason)
        self.abandoned = True
        raise _Abandon(reason)

    # -- taint (see guards.taint) ----------------------------------------------------
    def check_handled(self) -> None:
        """Abandon if the exception traced code is handling may be one that tracing caused."""
        exc = sys.exception()
        if exc is None or exc is self._outer_exception:
            return
        reason = taint_of(exc, _runs_traced)
        if reason is not None:
            self.abandon(reason)

    def refuse(self, exc: BaseException) -> NoReturn:
        """The tracer raised ``exc`` on its way back to user code: stop the run instead."""
        self.abandon(taint_of(exc, _runs_traced) or f"the tracer raised {type(exc).__name__}")

    def enter(self, code: types.CodeType) -> None:
        """Note what running ``code`` on proxies needs guarded (its identity tests)."""
        if not self.identity_tested and code_facts(code).tests_identity:
            self.identity_tested = True

    def guard_identities(self) -> None:
        """``NOT_NONE_MATCH`` on every tracked object, if traced code tested identity."""
        if self.identity_tested:
            for proxy in self._proxies.values():
                tracker_of(proxy)._install(GuardBuilder.NOT_NONE_MATCH)

    # -- proxies ------------------------------------------------------------------
    def wrap(self, tracker: LazyTracker) -> Any:
        """What user code sees for ``tracker``: a scalar (guarded now) or a proxy."""
        value = tracker._value()
        if is_stack_reader(value):
            self.abandon(f"reads {tracker.source.name}, which reads the call stack, where "
                         "the tracer's frames would show")
        if _is_bound_c_method(value):
            # Called, it runs on the object itself: it may store a proxy there (which
            # the leak net would see only after the fact) or write what the trace
            # cannot see.  So the run stops before the call, not after.
            self.abandon(f"reads {tracker.source.name}, a method written in C of a tracked "
                         "object, which the trace cannot see into")
        if is_scalar(value):
            tracker._install(_scalar_kind(value))
            return value
        proxy = self._proxies.get(id(value))
        if proxy is not None:
            first = tracker_of(proxy)
            if first.source != tracker.source:
                # Two paths, one object: user code may compare them with `is`.
                tracker._install(GuardBuilder.DUPLICATE_INPUT, source_b=first.source)
            return proxy
        proxy = Tracked(tracker, self)
        self._proxies[id(value)] = proxy
        return proxy

    def unwrap(self, value: Any) -> Any:
        """The real value behind proxies, with no guard (for runs already untrackable)."""
        if type(value) is Tracked:
            return tracker_of(value).peek()
        if type(value) is _BuiltinMethod:
            return getattr(self.unwrap(value.proxy), value.name)
        t = type(value)
        if t in (list, tuple, set, frozenset):
            return t(self.unwrap(item) for item in value)
        if t is dict:
            return {self.unwrap(k): self.unwrap(v) for k, v in value.items()}
        return value

    def realize(self, value: Any, why: str) -> Any:
        """The real value, guarded by value; untrackable if it cannot be guarded by value."""
        if type(value) is Tracked:
            tracker = tracker_of(value)
            real = tracker._value()
            if is_constant_like(real):
                tracker._install(GuardBuilder.CONSTANT_MATCH)
                self._note_realized(real, tracker)
                return real
            self.untrackable(f"{why} reads all of {tracker.source.name}")
            return real
        t = type(value)
        if t in (list, tuple, set, frozenset):
            return t(self.realize(item, why) for item in value)
        if t is dict:
            return {self.realize(k, why): self.realize(v, why) for k, v in value.items()}
        if type(value) is _BuiltinMethod:
            self.untrackable(f"{why} receives {value!r}")
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
        if type(key) is Tracked:
            tracker = tracker_of(key)
            real = tracker._value()
            if _is_deep_immutable(real):
                tracker._install(GuardBuilder.CONSTANT_MATCH)
            else:
                tracker._install(GuardBuilder.ID_MATCH)
            return real
        return self.realize(key, "a subscript")

    # -- operations on proxies ------------------------------------------------------
    def get_attr(self, proxy: Tracked, name: str) -> Any:
        """``proxy.name``: a tracker on the longer path (its value wrapped in turn)."""
        tracker = tracker_of(proxy)
        value = tracker._value()
        if name == "__class__" and _type_lookup(type(value), name) is _OBJECT_CLASS:
            return tracker.python_type()  # else a property of its own: read it as one
        if type(value) in _BUILTIN_CONTAINERS and callable(_type_lookup(type(value), name)):
            return _BuiltinMethod(proxy, name)
        return self.wrap(tracker.attr(name))

    def get_item(self, proxy: Tracked, key: Any) -> Any:
        """``proxy[key]``, the key guarded by value if it is tracked itself."""
        return self.wrap(tracker_of(proxy).item(self._realize_key(key)))

    def length(self, proxy: Tracked) -> int:
        """``len(proxy)``: SEQUENCE_LENGTH, or a traced ``__len__`` written in Python."""
        tracker = tracker_of(proxy)
        impl = _type_lookup(type(tracker._value()), "__len__")
        if isinstance(impl, types.FunctionType):
            return int(self.call_dunder(proxy, "__len__", ()))
        return tracker.len()

    def truth(self, proxy: Tracked) -> bool:
        """``bool(proxy)``: only the outcome is guarded (TRUTH_MATCH), or a traced hook."""
        tracker = tracker_of(proxy)
        cls = type(tracker._value())
        for name in ("__bool__", "__len__"):
            impl = _type_lookup(cls, name)
            if isinstance(impl, types.FunctionType):
                return bool(self.call_dunder(proxy, name, ()))
            if impl is not None:
                tracker._install(GuardBuilder.TRUTH_MATCH)
                return bool(tracker._value())
        tracker._install(GuardBuilder.TYPE_MATCH)  # neither hook: always true
        return True

    def iterate(self, proxy: Tracked) -> Any:
        """``iter(proxy)``: length and lazy items, dict keys, or a traced ``__iter__``."""
        tracker = tracker_of(proxy)
        value = tracker._value()
        t = type(value)
        if t in (list, tuple):
            return _TrackedItems(proxy, tracker.len())
        if t is dict:
            return iter(tracker.keys())
        if t in (set, frozenset):
            return iter(self.realize(proxy, "iteration over a set"))
        if isinstance(_type_lookup(t, "__iter__"), types.FunctionType):
            return self.call_dunder(proxy, "__iter__", ())
        self.untrackable(f"iterates {tracker.source.name}, {t.__qualname__}, in C code")
        return iter(value)

    def contains(self, proxy: Tracked, item: Any) -> bool:
        """``item in proxy``: one key of a dict, the value of other built-ins."""
        tracker = tracker_of(proxy)
        value = tracker._value()
        if type(value) is dict:
            key = self._realize_key(item)
            return tracker.contains(key)
        if type(value) in _BUILTIN_CONTAINERS:
            return self.realize(item, "`in`") in self.realize(proxy, "`in`")
        if isinstance(_type_lookup(type(value), "__contains__"), types.FunctionType):
            return bool(self.call_dunder(proxy, "__contains__", (item,)))
        self.untrackable(f"`in` on {tracker.source.name} runs C code")
        return self.unwrap(item) in value

    def operate(self, proxy: Tracked, name: str, fn: Callable[..., Any],
                args: tuple[Any, ...]) -> Any:
        """An operator or conversion with ``proxy`` among ``args``."""
        tracker = tracker_of(proxy)
        value = tracker._value()
        impl = _type_lookup(type(value), name)
        if isinstance(impl, types.FunctionType):
            others = tuple(a for a in args if a is not proxy)
            return self.call_dunder(proxy, name, others)
        if type(value) in _BUILTIN_CONTAINERS or type(value) is bytearray:
            return fn(*(self.realize(a, name) for a in args))
        if impl is _type_lookup(object, name) and name in ("__eq__", "__ne__", "__hash__"):
            tracker._install(GuardBuilder.ID_MATCH)  # object's own: identity
            return fn(*(self.unwrap(a) for a in args))
        if name in ("__str__", "__format__") and impl is _type_lookup(object, name):
            return self.operate(proxy, "__repr__", repr, (proxy,))
        if name == "__repr__" and impl is _type_lookup(object, name):
            tracker._install(GuardBuilder.ID_MATCH)  # the default repr shows type and address
            return repr(value)
        self.untrackable(f"{name} of {tracker.source.name} runs code the trace cannot see")
        return fn(*(self.unwrap(a) for a in args))

    def inplace(self, proxy: Tracked, name: str, fn: Callable[..., Any], other: Any) -> Any:
        """``proxy op= other``: a write for mutable values, a new value otherwise."""
        tracker = tracker_of(proxy)
        value = tracker._value()
        if isinstance(_type_lookup(type(value), name), types.FunctionType):
            return self.call_dunder(proxy, name, (other,))
        if issubclass(type(value), _MUTABLE_CONTAINERS):
            self.write(proxy, f"applies {name} to")
        binary = "__" + name[3:]  # __iadd__ -> __add__: a new value, as Python falls back
        return self.operate(proxy, binary, fn, (proxy, other))

    def write(self, proxy: Tracked, what: str) -> NoReturn:
        """A write to a tracked input: the run is abandoned before it (the call reruns)."""
        self.abandon(f"{what} {tracker_of(proxy).source.name}, a tracked input")

    def identity(self, proxy: Tracked) -> int:
        """``id(proxy)``: the object's identity matters, so ID_MATCH."""
        return id(tracker_of(proxy).identity())

    # -- calls ----------------------------------------------------------------------
    def call(self, proxy: Tracked, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        tracker = tracker_of(proxy)
        value = tracker._value()
        if getattr(value, "__guards_disabled__", False):
            self.abandon(f"calls {_callable_name(value)}, which guards.disable marks opaque")
        if getattr(value, "__guards_constant__", False):
            tracker._install(GuardBuilder.ID_MATCH)
            why = f"the constant function {_callable_name(value)}"
            return value(*self.realize(args, why), **self.realize(kwargs, why))
        wrapped = getattr(value, "__guards_specialized__", None)
        if wrapped is not None:
            return self.call_function(tracker.attr("__wrapped__"), args, kwargs)
        if type(value) is types.FunctionType:
            return self.call_function(tracker, args, kwargs)
        if type(value) is types.MethodType:
            self_proxy = self.wrap(tracker.attr("__self__"))
            return self.call_function(tracker.attr("__func__"), (self_proxy, *args), kwargs)
        if isinstance(_type_lookup(type(value), "__call__"), types.FunctionType):
            return self.call_dunder(proxy, "__call__", args, kwargs)
        tracker._install(GuardBuilder.ID_MATCH)
        return self.call_opaque(value, args, kwargs)

    def call_dunder(self, proxy: Tracked, name: str, args: tuple[Any, ...],
                    kwargs: dict[str, Any] | None = None) -> Any:
        """Trace ``type(value).name(proxy, *args)``, a special method written in Python."""
        source = AttrSource(TypeSource(tracker_of(proxy).source), name)
        return self.call_function(self.context.track(source), (proxy, *args), kwargs or {})

    def call_opaque(self, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Call code the trace does not enter, with arguments guarded by value."""
        why = f"the untraced {_callable_name(fn)}"
        return fn(*self.realize(args, why), **self.realize(kwargs, why))

    def call_log(self, function: Any, args: tuple[Any, ...] | list[Any],
                 kwargs: Mapping[str, Any]) -> None:
        """A logging call (``guards.frames``): run on the real values, with no guard.

        What it logs is an effect, which a hit skips as it skips printing; it
        returns None, so nothing of the logger or the logged values reaches the
        result.  The record names the traced caller, as a plain call's would.
        """
        args, kwargs = self.unwrap(tuple(args)), self.unwrap(dict(kwargs))
        if kwargs.get("stack_info") or kwargs.get("stacklevel", 1) != 1:
            self.abandon(f"calls {_callable_name(function)} with stack_info or a stacklevel, "
                         "which would show the tracer's frames")
        function(*args, stacklevel=log_stacklevel(_runs_traced), **kwargs)

    def call_function(self, fn: LazyTracker, args: tuple[Any, ...] | list[Any],
                      kwargs: Mapping[str, Any]) -> Any:
        """Trace a call of the Python function tracked by ``fn``."""
        function = fn._value()
        if type(function) is not types.FunctionType:
            fn._install(GuardBuilder.ID_MATCH)
            return self.call_opaque(function, tuple(args), dict(kwargs))
        code = function.__code__
        if is_library_code(code) and not self.trace_library_code:
            if is_log_call(function):
                return self.call_log(function, args, kwargs)
            stack_name = stack_reader_behind(function)
            if stack_name is not None:  # it would run under the tracer's frames
                self.abandon(f"calls {code.co_qualname}, which reads the call stack "
                             f"({stack_name}), where the tracer's frames would show")
            fn._install(GuardBuilder.ID_MATCH)
            return self.call_opaque(function, tuple(args), dict(kwargs))
        reason = code_facts(code).writes or code_facts(code).reads_stack
        if reason is not None:
            self.abandon(reason)
        if too_deep():
            self.abandon(f"calls {code.co_qualname} near the recursion limit, where tracing's "
                         "extra frames would raise a RecursionError a plain call does not")
        self.enter(code)
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
        return _call_with(run, code, arguments)

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

    def call_builtin_method(self, proxy: Tracked, name: str, args: tuple[Any, ...],
                            kwargs: dict[str, Any]) -> Any:
        """``container.name(*args)`` for a tracked built-in container."""
        tracker = tracker_of(proxy)
        value = tracker._value()
        t = type(value)
        if name in _MUTATORS.get(t, frozenset()):
            self.write(proxy, f"calls .{name}() on")
        if t is dict:
            if name == "get" and args and not kwargs:
                key = self._realize_key(args[0])
                if tracker.contains(key):
                    return self.wrap(tracker.item(key))
                return args[1] if len(args) > 1 else None
            if name == "keys" and not args:
                tracker.keys()
                return value.keys()
            if name in ("values", "items", "copy") and not args:
                keys = tracker.keys()
                pairs = [(key, self.wrap(tracker.item(key))) for key in keys]
                if name == "values":
                    return [item for _, item in pairs]
                return pairs if name == "items" else dict(pairs)
        if t is list and name == "copy" and not args:
            return [self.wrap(tracker.item(i)) for i in range(tracker.len())]
        method = getattr(t, name)
        why = f".{name}() of {tracker.source.name}"
        return method(self.realize(proxy, why), *self.realize(args, why),
                      **self.realize(kwargs, why))

    # -- globals --------------------------------------------------------------------
    def globals_for(self, function: types.FunctionType, fn_source: Source) -> _TrackedGlobals:
        """The tracked globals a traced copy of ``function`` runs with.

        Read as ``G[...]`` only for a function found in those very globals;
        any other (an argument, a method, an attribute) is guarded only on its
        code, and another function of that code may have other globals, so its
        reads go through its own ``__globals__``.
        """
        real = function.__globals__
        root = self.context.f_globals
        own = real is root and isinstance(fn_source, GlobalSource)
        base: Source | None = None if own else AttrSource(fn_source, "__globals__")
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
        kept = outliving((self._proxies, self._globals), self._made)
        if kept is None:
            return None
        if type(kept) is Tracked:
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
        real = tracker._value()
        if _is_deep_immutable(real):
            tracker._install(GuardBuilder.CONSTANT_MATCH)
        elif self._read_again(tracker) is real:
            tracker._install(GuardBuilder.ID_MATCH)  # the result is the input itself
            self.aliased.append(real)
        elif is_constant_like(real):
            # A new object at each read of its path (a slice, a property): by value.
            tracker._install(GuardBuilder.CONSTANT_MATCH)
        else:
            self.untrackable(f"returns {tracker.source.name}, a new object at each read")
        return real

    def _read_again(self, tracker: LazyTracker) -> Any:
        try:
            return tracker.source.get(self.context.f_locals, self.context.f_globals)
        except Exception:
            return None

    def _fix(self, value: Any, memo: dict[int, Any]) -> Any:
        if type(value) is Tracked:
            return self._fix_input(tracker_of(value))
        if type(value) is _BuiltinMethod:
            self.untrackable(f"returns {value!r}")
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
        elif issubclass(t, _GENERATORS):
            self.untrackable("returns a generator, which would run later on tracked values")
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
        elif t is not _TrackedItems and _slot_members(t):  # the net sees an escaped iterator
            self._fix_slots(value, memo)
        elif any(type(ref) is Tracked for ref in gc.get_referents(value)):
            self.untrackable(f"a tracked value escaped into a {t.__qualname__} in the result")
        return memo[key]

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


class _TrackedGlobals(dict):  # type: ignore[type-arg]
    """A function's globals as the traced copy sees them: every read is tracked.

    CPython looks a global up through ``__getitem__`` when the globals are a
    dict subclass; a name that is not a global falls through to the tracked
    builtins.
    """

    def __init__(self, tracer: Tracer, real: Mapping[str, Any], base: Source | None) -> None:
        super().__init__()
        dict.__setitem__(self, "__builtins__", TRACED_BUILTINS)
        self._tracer = tracer
        self._real = real
        self._base = base

    def __getitem__(self, name: str) -> Any:
        with self._tracer.entered:  # an `except X:` clause looks X up here, too
            if name not in self._real:
                raise KeyError(name)
            source = GlobalSource(name) if self._base is None else GetItemSource(self._base, name)
            return self._tracer.wrap(self._tracer.context.track(source))


def _is_bound_c_method(value: Any) -> bool:
    """A method written in C, bound to an object (not a module's function, not a classmethod)."""
    t = type(value)
    if t is types.MethodWrapperType:
        return True
    if not issubclass(t, types.BuiltinMethodType):  # 3.11 has a subclass for some
        return False
    owner = value.__self__
    return owner is not None and not isinstance(owner, (types.ModuleType, type))


def _runs_traced(frame: types.FrameType) -> bool:
    """The frame runs traced code (a traced copy, or a function made during the run)."""
    return type(frame.f_globals) is _TrackedGlobals


def _callable_name(fn: Any) -> str:
    return str(getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn))


def _call_with(run: types.FunctionType, code: types.CodeType, arguments: dict[str, Any]) -> Any:
    """Call ``run`` with every parameter bound as in ``arguments`` (defaults already applied).

    Parameters are found by name in the code's own layout (positional, keyword-only,
    ``*args``, ``**kwargs``), whatever the order of ``arguments``.
    """
    names = code.co_varnames
    n_pos, n_kwonly = code.co_argcount, code.co_kwonlyargcount
    positional = [arguments[name] for name in names[:n_pos]]
    kwargs = {name: arguments[name] for name in names[n_pos:n_pos + n_kwonly]}
    index = n_pos + n_kwonly
    if code.co_flags & inspect.CO_VARARGS:
        positional.extend(arguments[names[index]])
        index += 1
    if code.co_flags & inspect.CO_VARKEYWORDS:
        kwargs.update(arguments[names[index]])
    return run(*positional, **kwargs)


# -- builtins as the traced code sees them -----------------------------------------------
class _TypeMeta(type):
    """Makes ``traced_type`` stand in for ``type`` in isinstance and issubclass checks."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, type)

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, type)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and not kwargs and type(args[0]) is Tracked:
            return tracker_of(args[0]).python_type()
        made = type(*args, **kwargs)
        if len(args) == 3:
            _note_made(made, sys._getframe(1).f_globals)
        return made


class traced_type(metaclass=_TypeMeta):  # lower case: it stands in for the builtin `type`
    """``type`` for traced code: ``type(proxy)`` is the tracked value's type (``TYPE_MATCH``)."""


def _note_made(cls: Any, caller_globals: Mapping[str, Any]) -> None:
    if type(caller_globals) is _TrackedGlobals:
        caller_globals._tracer.made(cls)


def _traced_build_class(body: Any, name: str, *bases: Any, **kwargs: Any) -> Any:
    """``__build_class__`` for traced code: the class statement's class is noted as made."""
    cls = builtins.__build_class__(body, name, *bases, **kwargs)
    _note_made(cls, sys._getframe(1).f_globals)
    return cls


def _traced_id(obj: Any) -> int:
    if type(obj) is Tracked:
        return tracer_of(obj).identity(obj)
    return id(obj)


def _traced_isinstance(obj: Any, classinfo: Any) -> bool:
    if type(classinfo) is Tracked:
        classinfo = tracer_of(classinfo).realize(classinfo, "isinstance")
    if type(obj) is Tracked:
        with tracer_of(obj).entered:
            return tracker_of(obj).isinstance(classinfo)
    return isinstance(obj, classinfo)


def _traced_callable(obj: Any) -> bool:
    if type(obj) is Tracked:
        tracker = tracker_of(obj)
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
        if type(arg) is Tracked:
            tracer_of(arg).untrackable(
                f"super() on {tracker_of(arg).source.name} reads the object in C code"
            )
    return super(*(tracer_of(a).unwrap(a) if type(a) is Tracked else a for a in args))


def _untracked_builtin(name: str) -> Callable[..., Any]:
    real = getattr(builtins, name)

    def untracked(*args: Any, **kwargs: Any) -> Any:
        frame = sys._getframe(1)
        tracked = frame.f_globals
        if isinstance(tracked, _TrackedGlobals):
            tracked._tracer.abandon(f"calls {name}(), which the trace cannot follow")
        return real(*args, **kwargs)

    untracked.__name__ = name
    return untracked


TRACED_BUILTINS: dict[str, Any] = {
    **builtins.__dict__,
    "type": traced_type,
    "id": _traced_id,
    "isinstance": _traced_isinstance,
    "callable": _traced_callable,
    "super": _traced_super,
    "__build_class__": _traced_build_class,
    **{name: _untracked_builtin(name) for name in ("globals", "eval", "exec")},
}


def trace_call(
    function: types.FunctionType,
    context: TracingContext,
    *,
    trace_library_code: bool = False,
) -> TraceOutcome:
    """Run ``function`` on the tracked frame ``context`` (its parameters and free variables)."""
    tracer = Tracer(context, trace_library_code=trace_library_code)
    reason = code_facts(function.__code__).writes or code_facts(function.__code__).reads_stack
    if reason is not None:
        return TraceOutcome(None, (reason,), (), completed=False)
    try:
        result = tracer.finalize(_run_top(tracer, function))
    except _Abandon:
        return TraceOutcome(None, tuple(tracer.reasons), (), completed=False)
    except Exception as exc:
        reasons = tuple(tracer.reasons)
        if not tracer.abandoned:  # else it was raised while the abandoned run unwound
            reasons = (*reasons, f"raised {type(exc).__name__}: {exc}")
        return TraceOutcome(None, reasons, (), completed=False)
    if tracer.abandoned:  # the function swallowed the abandon (a bare `except:`)
        return TraceOutcome(None, tuple(tracer.reasons), (), completed=False)
    # The run's frames are gone: whatever of it is still referenced escaped.  Its
    # effects were all readable (an effect the trace sees is abandoned before it
    # happens), so it is simply run again, plainly, as a run that raised is.
    leak = tracer.leaked()
    if leak is not None:  # named only when it is the one reason not to cache the run
        return TraceOutcome(None, tuple(tracer.reasons) or (leak,), (), completed=False)
    tracer.guard_identities()
    return TraceOutcome(result, tuple(tracer.reasons), tuple(tracer.aliased))


def _run_top(tracer: Tracer, function: types.FunctionType) -> Any:
    """Run the traced copy of ``function``; its frame, cells and arguments die on return."""
    context = tracer.context
    code = function.__code__
    n_params = code.co_argcount + code.co_kwonlyargcount
    n_params += bool(code.co_flags & inspect.CO_VARARGS)
    n_params += bool(code.co_flags & inspect.CO_VARKEYWORDS)
    unused = code_facts(code).unused
    arguments = {
        name: tracer._argument(context.track(LocalSource(name)), name in unused)
        for name in code.co_varnames[:n_params]
    }
    closure = tuple(
        tracer._cell_for(context.track(LocalSource(name))) if name in context.f_locals
        else types.CellType()
        for name in code.co_freevars
    ) or None
    # The top frame's cells are read as its locals, as a real frame's f_locals holds them.
    run = types.FunctionType(
        code, tracer.top_globals(function), function.__name__, None, closure
    )
    tracer.enter(code)
    return _call_with(run, code, arguments)
