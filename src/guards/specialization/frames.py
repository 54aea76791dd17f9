"""Code that reads the call stack would see the tracer's frames, so it runs plainly.

A traced call runs several frames of the tracer between two frames of user
code, and C code or library code that the trace calls runs under the tracer's
frames too.  ``sys._getframe(1)``, ``inspect.stack()``, ``frame.f_back``,
``traceback.format_exc()`` or ``warnings.warn`` would then see
``call_function`` where a plain run sees the caller.  Such code is found
before it reads the stack, and the run is abandoned (the call then runs
plainly), in one of three ways by where the code runs:

* traced code that calls a stack-reading function (:data:`STACK_READERS`),
  however it reached it (``sys._getframe``, ``from sys import _getframe as
  caller``, ``import inspect`` in the body): the tracer hands it a stand-in
  (``guards.specialization.polyfills``) that abandons the run when called, and only then;
* traced code that walks a frame or a traceback it got another way
  (``exc.__traceback__.tb_frame.f_back``): by name, in the bytecode of the code
  about to run and of the code nested in it (:func:`stack_reader_in`, names
  :data:`FRAME_WALKS`);
* library code, which runs untraced and so gets the real functions: by name,
  in its bytecode and in the module functions it calls by name, a few calls
  deep (:func:`stack_reader_behind`, names :data:`STACK_NAMES`), as
  ``typing.NamedTuple`` calls ``_caller``, which calls ``sys._getframe``.

Logging is the common exception, made to work: a record names the function
and line that logged, found by walking the stack.  A logging call from traced
code (:func:`is_log_call`) is run with a ``stacklevel`` that skips the
tracer's frames (:func:`log_stacklevel`), so the record names the user's code,
and what it runs (handlers, filters: an effect, which a hit skips as it skips
printing) may run untraced (:func:`is_log_frame`).
"""

from __future__ import annotations

import inspect
import logging
import sys
import traceback
import types
import warnings
import weakref
from collections.abc import Callable
from typing import Any

#: The functions that read the call stack, or a traceback (which holds the frames
#: an exception passed through, the tracer's among them).
STACK_READERS: tuple[Callable[..., Any], ...] = (
    sys._getframe, sys._current_frames, inspect.currentframe, inspect.stack, inspect.trace,
    inspect.getouterframes, inspect.getinnerframes,
    traceback.extract_stack, traceback.format_stack, traceback.print_stack,
    traceback.walk_stack, traceback.format_exc, traceback.print_exc, traceback.extract_tb,
    traceback.format_tb, traceback.print_tb, traceback.format_exception,
    traceback.print_exception, traceback.walk_tb,
    warnings.warn,  # attributes the warning to a caller `stacklevel` frames up
)

#: Attributes that walk from a frame or a traceback to the frames around it.
FRAME_WALKS = frozenset({"f_back", "tb_frame", "tb_next"})
#: Names that, in library code, mean it reaches frames of the call stack.  (``stack``,
#: ``trace`` and ``warn`` are common names for other things, and library code that
#: warns names its caller's caller, which is no value of the run's.)
STACK_NAMES = FRAME_WALKS | frozenset({
    "_getframe", "currentframe", "_current_frames",
    "getouterframes", "getinnerframes", "extract_stack", "format_stack", "print_stack",
    "walk_stack",
})

#: How many calls deep :func:`stack_reader_behind` looks.
BEHIND_DEPTH = 3
_BEHIND: weakref.WeakKeyDictionary[types.CodeType, str | None] = weakref.WeakKeyDictionary()


def stack_reader_behind(function: types.FunctionType) -> str | None:
    """A stack-reading name (:data:`STACK_NAMES`) in library ``function``, or in the
    functions of its module that it calls by global name (to :data:`BEHIND_DEPTH`
    calls), or ``None``.

    Cached per code object: library code keeps its globals.
    """
    code = function.__code__
    if code not in _BEHIND:
        _BEHIND[code] = _search(function, BEHIND_DEPTH, set())
    return _BEHIND[code]


def _search(function: types.FunctionType, depth: int, seen: set[types.CodeType]) -> str | None:
    code = function.__code__
    if code in seen:
        return None
    seen.add(code)
    found = stack_reader_in(code, STACK_NAMES)
    if found is not None or depth == 0:
        return found
    namespace = function.__globals__
    for name in code.co_names:
        callee = namespace.get(name)
        if type(callee) is types.FunctionType:
            found = _search(callee, depth - 1, seen)
            if found is not None:
                return f"{found}, in {callee.__qualname__}"
    return None


def stack_reader_in(code: types.CodeType, names: frozenset[str] = FRAME_WALKS) -> str | None:
    """The first of ``names`` in ``code`` or the code nested in it, or ``None``."""
    for name in code.co_names:
        if name in names:
            return name
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            found = stack_reader_in(const, names)
            if found is not None:
                return found
    return None


#: Logger methods and module functions that log one record and return None
#: (not the deprecated ``warn``, whose DeprecationWarning names its caller's caller).
_LOG_NAMES = ("debug", "info", "warning", "error", "exception", "critical", "fatal", "log")
_LOG_CALLS: tuple[Any, ...] = (
    *(getattr(logging.Logger, name) for name in _LOG_NAMES),
    *(getattr(logging, name) for name in _LOG_NAMES),
)
_LOG_CALL_IDS = frozenset(map(id, _LOG_CALLS))
_LOG_CODES = frozenset(function.__code__ for function in _LOG_CALLS)


def is_log_call(function: Any) -> bool:
    """``function`` logs one record (``Logger.info``, ``logging.warning``, ...)."""
    return id(function) in _LOG_CALL_IDS


def is_log_frame(frame: types.FrameType) -> bool:
    """``frame`` runs one of the logging calls of :func:`is_log_call`."""
    return frame.f_code in _LOG_CODES


def log_stacklevel(is_user_frame: Callable[[types.FrameType], bool]) -> int:
    """The ``stacklevel`` that makes a log call made by the caller name the user's frame.

    ``logging`` skips its own frames, then counts ``stacklevel`` frames up from
    its caller: from the frame that calls this function up to the first frame
    for which ``is_user_frame`` is true.
    """
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and not is_user_frame(frame):
        frame = frame.f_back
        level += 1
    return level
