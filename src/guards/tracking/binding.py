"""Binding a call of a tracked Python function, as Dynamo's ``bind_args_cached`` does.

``bind_args(fn, args, kwargs)`` installs ``CLOSURE_MATCH`` on the function and
binds the arguments with the function's real signature.  The caller's
arguments come back as they were given (trackers or plain values); each
default that the call *uses* becomes a lazy tracker on
``DefaultsSource(fn, i)`` (or ``DefaultsSource(fn, name, is_kw=True)``), and
each closure cell a lazy tracker on ``fn.__closure__[i].cell_contents``.  So an
unused default or an unread cell gets no guard.

Bad calls raise the very ``TypeError`` Python would: binding runs a stub
function generated with the same parameters, names and qualified name, whose
defaults are markers that say which defaults were used.
"""

from __future__ import annotations

import types
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from guards.checks.generated import LineWriter, run_factory
from guards.core.builder import GuardBuilder
from guards.core.signatures import SignatureShape, signature_shape
from guards.core.sources import (
    AttrSource,
    ClosureSource,
    DefaultsSource,
    GetItemSource,
    SkipGuardSource,
    is_plain_identifier,
)
from guards.errors import UntrackableError, describe, must_be
from guards.tracking.lazy import LazyTracker


@attrs.frozen
class BoundCall:
    """The result of :func:`bind_args`.

    ``arguments`` maps every parameter, in signature order, to its value: what
    the caller passed, or a lazy tracker of the default used.  ``cells`` maps
    each free variable to the lazy tracker of its cell's contents;
    ``annotations`` is the function's ``__annotations__`` read through
    :class:`~guards.SkipGuardSource`, so it installs no guards.
    """

    function: types.FunctionType
    arguments: dict[str, Any]
    cells: dict[str, LazyTracker]
    annotations: LazyTracker
    defaults_used: tuple[str, ...]


@attrs.frozen
class _PositionalDefault:
    index: int


@attrs.frozen
class _KeywordDefault:
    name: str


# code object -> {shape: stub}; entries go away with the code object.
_STUBS: weakref.WeakKeyDictionary[
    types.CodeType, dict[SignatureShape, Callable[..., tuple[Any, ...]]]
] = weakref.WeakKeyDictionary()


def bind_args(
    fn: LazyTracker, args: Sequence[Any] = (), kwargs: Mapping[str, Any] | None = None
) -> BoundCall:
    """Bind ``fn(*args, **kwargs)`` for a tracked Python function; see the module doc."""
    if not isinstance(fn, LazyTracker):
        raise must_be("fn", "a LazyTracker of a Python function", fn, UntrackableError)
    if not isinstance(args, (tuple, list)):
        raise must_be("args", "a tuple or list of arguments", args)
    if kwargs is not None and not isinstance(kwargs, Mapping):
        raise must_be("kwargs", "a mapping of keyword arguments or None", kwargs)
    function = fn.peek()
    if type(function) is not types.FunctionType:
        msg = f"bind_args needs a Python function at {fn.source.name}, got {describe(function)}"
        raise UntrackableError(msg)
    fn.install(GuardBuilder.CLOSURE_MATCH)
    shape = signature_shape(function)
    values = _stub_for(function.__code__, shape)(*args, **(kwargs or {}))
    names = shape.names()
    context = fn.context
    arguments: dict[str, Any] = {}
    used: list[str] = []
    for name, value in zip(names, values, strict=True):
        # Exact type tests: an argument may be a proxy, whose isinstance() would guard.
        if type(value) is _PositionalDefault:
            used.append(name)
            default = function.__defaults__[value.index]  # type: ignore[index]
            if context.skip_guards_on_constant_func_defaults and _is_literal(default):
                arguments[name] = default
            else:
                arguments[name] = context.track(DefaultsSource(fn.source, value.index))
        elif type(value) is _KeywordDefault:
            used.append(name)
            arguments[name] = context.track(DefaultsSource(fn.source, value.name, is_kw=True))
        else:
            arguments[name] = value
    _guard_defaults_exist(fn, arguments, used)
    closure = ClosureSource(fn.source)
    cells = {
        name: context.track(AttrSource(GetItemSource(closure, i), "cell_contents"))
        for i, name in enumerate(function.__code__.co_freevars)
    }
    annotations = context.track(SkipGuardSource(AttrSource(fn.source, "__annotations__")))
    return BoundCall(function, arguments, cells, annotations, tuple(used))


def _guard_defaults_exist(fn: LazyTracker, arguments: dict[str, Any], used: list[str]) -> None:
    """A call that used a default depends on that default still being there.

    Reassigning ``__defaults__`` (to another length) or ``__kwdefaults__`` changes
    which parameters are required, and which index holds which default.
    """
    tracked = [arguments[name] for name in used if type(arguments[name]) is LazyTracker]
    sources = [t.source for t in tracked if isinstance(t.source, DefaultsSource)]
    if any(not s.is_kw for s in sources):
        fn.install(GuardBuilder.SEQUENCE_LENGTH, AttrSource(fn.source, "__defaults__"))
    for s in sources:
        if s.is_kw:
            kwdefaults = AttrSource(fn.source, "__kwdefaults__")
            fn.install(GuardBuilder.DICT_CONTAINS, GetItemSource(kwdefaults, s.idx_key))


def _stub_for(code: types.CodeType, shape: SignatureShape) -> Callable[..., tuple[Any, ...]]:
    stubs = _STUBS.setdefault(code, {})
    stub = stubs.get(shape)
    if stub is None:
        stub = stubs[shape] = _make_stub(code, shape)
    return stub


def parameter_list(
    shape: SignatureShape,
    positional_default: Callable[[str, int], str],
    keyword_default: Callable[[str], str],
) -> list[str]:
    """The parameters of a ``def`` with ``shape``'s signature, ``/`` and ``*`` included.

    A parameter with a default gets ``name=EXPR``, where ``EXPR`` is what
    ``positional_default(name, index into __defaults__)`` or
    ``keyword_default(name)`` returns.
    """
    params: list[str] = []
    first_default = len(shape.positional) - shape.n_defaults
    for i, name in enumerate(shape.positional):
        if i >= first_default:
            params.append(f"{name}={positional_default(name, i - first_default)}")
        else:
            params.append(name)
        if i == shape.posonly_count - 1:
            params.append("/")
    if shape.varargs:
        params.append(f"*{shape.varargs}")
    elif shape.kwonly:
        params.append("*")
    for name in shape.kwonly:
        if name in shape.kwdefault_names:
            params.append(f"{name}={keyword_default(name)}")
        else:
            params.append(name)
    if shape.varkw:
        params.append(f"**{shape.varkw}")
    return params


def _make_stub(code: types.CodeType, shape: SignatureShape) -> Callable[..., tuple[Any, ...]]:
    """A function with ``code``'s parameters that returns what each one was bound to."""
    every = [*shape.positional, *shape.kwonly, shape.varargs or "", shape.varkw or ""]
    if not all(is_plain_identifier(name) for name in every if name):
        msg = f"cannot bind {code.co_qualname}: a parameter name is not an identifier"
        raise UntrackableError(msg)
    markers: dict[str, Any] = {}

    def positional_marker(name: str, index: int) -> str:
        markers[f"_d{index}"] = _PositionalDefault(index)
        return f"_d{index}"

    def keyword_marker(name: str) -> str:
        markers[f"_kw_{name}"] = _KeywordDefault(name)
        return f"_kw_{name}"

    params = parameter_list(shape, positional_marker, keyword_marker)
    results = shape.names()
    writer = LineWriter()
    writer.line(f"def _make_stub({', '.join(markers)}):")
    with writer.indent():
        writer.line(f"def _stub({', '.join(params)}):")
        with writer.indent():
            writer.line(f"return ({''.join(f'{name}, ' for name in results)})")
        writer.line("return _stub")
    stub: Any = run_factory(
        writer.text(), kind="binding stub", label=code.co_qualname, factory="_make_stub",
        arguments=markers,
    )
    # Python's binding errors name the function by its __qualname__ (not its code's).
    stub.__code__ = stub.__code__.replace(co_name=code.co_name, co_qualname=shape.qualname)
    stub.__name__, stub.__qualname__ = code.co_name, shape.qualname
    return stub  # type: ignore[no-any-return]


_LITERALS = (int, float, complex, str, bytes, bool, type(None))


def _is_literal(value: Any) -> bool:
    """A value that can be written as a literal in a ``def`` line."""
    if type(value) is tuple:
        return all(_is_literal(item) for item in value)
    return type(value) in _LITERALS
