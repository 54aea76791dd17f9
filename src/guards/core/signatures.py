"""Function signatures: a code object's parameters, read in one place.

A code object lists its parameters first among ``co_varnames``: the positional
ones (``co_argcount``, the first ``co_posonlyargcount`` of them positional-only),
then the keyword-only ones (``co_kwonlyargcount``), then ``*args`` and
``**kwargs`` when the ``CO_VARARGS`` and ``CO_VARKEYWORDS`` flags say they are
there.  :func:`parameters` reads that layout; :func:`signature_shape` adds what
binding a call of a function also depends on (its defaults' shape, its
``__qualname__``); :func:`call_with` calls a function with its parameters bound
by name.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from guards.errors import UntrackableError


@attrs.frozen
class Parameters:
    """A code object's parameters, by kind."""

    positional: tuple[str, ...]
    posonly_count: int
    varargs: str | None
    kwonly: tuple[str, ...]
    varkw: str | None

    def names(self) -> list[str]:
        """Every parameter name in signature order, as a ``def`` lists them: positional,
        ``*args``, keyword-only, ``**kwargs``."""
        return [*self.positional, *filter(None, [self.varargs]), *self.kwonly,
                *filter(None, [self.varkw])]

    def frame_names(self) -> tuple[str, ...]:
        """Every parameter name in the order a frame's locals hold them (the first
        ``co_varnames``): positional, keyword-only, ``*args``, ``**kwargs``."""
        return (*self.positional, *self.kwonly, *filter(None, [self.varargs, self.varkw]))


def parameters(code: types.CodeType) -> Parameters:
    """The parameters of ``code``, read from ``co_varnames`` and its counts and flags."""
    names = code.co_varnames
    n_pos, n_kwonly = code.co_argcount, code.co_kwonlyargcount
    index = n_pos + n_kwonly
    varargs = varkw = None
    if code.co_flags & inspect.CO_VARARGS:
        varargs = names[index]
        index += 1
    if code.co_flags & inspect.CO_VARKEYWORDS:
        varkw = names[index]
    return Parameters(
        positional=names[:n_pos],
        posonly_count=code.co_posonlyargcount,
        varargs=varargs,
        kwonly=names[n_pos:n_pos + n_kwonly],
        varkw=varkw,
    )


@attrs.frozen
class SignatureShape(Parameters):
    """What binding a call of a function depends on: its code's parameters, the shape of
    its defaults (how many positional ones, which keyword-only ones), and its
    ``__qualname__``, which Python's binding errors name.  No default's value."""

    qualname: str
    n_defaults: int
    kwdefault_names: tuple[str, ...]


def signature_shape(function: types.FunctionType) -> SignatureShape:
    """The :class:`SignatureShape` of ``function`` as it is now.

    Raises :class:`~guards.UntrackableError` when ``__defaults__`` was given
    more values than there are positional parameters.
    """
    params = parameters(function.__code__)
    n_defaults = len(function.__defaults__ or ())
    if n_defaults > len(params.positional):
        msg = f"{function.__qualname__} has more __defaults__ ({n_defaults}) than parameters"
        raise UntrackableError(msg)
    kwdefaults = function.__kwdefaults__ or {}
    return SignatureShape(
        positional=params.positional,
        posonly_count=params.posonly_count,
        varargs=params.varargs,
        kwonly=params.kwonly,
        varkw=params.varkw,
        qualname=function.__qualname__,
        n_defaults=n_defaults,
        kwdefault_names=tuple(name for name in params.kwonly if name in kwdefaults),
    )


def call_with(
    function: Callable[..., Any], code: types.CodeType, arguments: Mapping[str, Any]
) -> Any:
    """Call ``function`` (whose code is ``code``) with every parameter bound as in
    ``arguments`` (defaults already applied).

    Parameters are found by name in the code's own layout (positional, keyword-only,
    ``*args``, ``**kwargs``), whatever the order of ``arguments``.
    """
    params = parameters(code)
    positional = [arguments[name] for name in params.positional]
    kwargs = {name: arguments[name] for name in params.kwonly}
    if params.varargs is not None:
        positional.extend(arguments[params.varargs])
    if params.varkw is not None:
        kwargs.update(arguments[params.varkw])
    return function(*positional, **kwargs)
