"""Taint: an exception that tracing raised or caused must not steer the traced code.

A traced run is usable only if the function saw what a plain run would.  But
the tracer can raise into user code what a plain run would not: its own
``UntrackableError`` (a ``TypeError``), a ``TypeError`` from C code that
rejects a proxy, a ``RecursionError`` because tracing adds frames.  User code
may catch it (``except Exception``) and take another branch, which would then
be cached.  So, with the run abandoned (stopped, then the call run plainly)
whenever one of these reaches user code:

* at every boundary where user code hands control to the tracer (an operation
  on a proxy, a traced builtin), a ``GuardsError`` the tracer raised
  (:func:`raised_by_tracing`) abandons the run instead of reaching user code;
* whenever traced code reaches the tracer again while it handles an exception
  (an ``except TypeError:`` clause reads the name ``TypeError`` through the
  tracked globals), that exception is examined (:func:`taint_of`);
* a traced call nested so deep that tracing's extra frames could reach the
  recursion limit abandons the run first (:func:`too_deep`).

An abandon is always sound (the plain run is the only one whose result is
used), so these rules err on the side of abandoning.
"""

from __future__ import annotations

import dis
import sys
import types
from collections.abc import Callable

from guards.errors import EmptyCellError, GuardsError
from guards.specialization.library import is_own_file
from guards.specialization.reasons import without_addresses

#: Frames kept free below the recursion limit for the tracer's own work between
#: two traced calls (a proxy operation, a guard being installed, a source read).
DEPTH_MARGIN = 60
#: The recursion limit counts C-level calls too, which Python frames do not show:
#: a traced call level is 6 frames and 7 units of the limit (measured on 3.11:
#: the proxy's __call__ goes through a C slot); 1.5 leaves room for other paths.
UNITS_PER_FRAME = 1.5

#: Opcodes that call (3.11 to 3.13 names): where C code may have been handed a proxy.
_CALLS = frozenset(
    dis.opmap[name] for name in ("PRECALL", "CALL", "CALL_FUNCTION_EX", "CALL_KW")
    if name in dis.opmap
)


def raised_by_tracing(exc: BaseException) -> bool:
    """An error of the tracer's own, which a plain run would not raise.

    ``EmptyCellError`` is the ``NameError`` a plain run raises for an empty
    closure cell, with Python's own message: it is not one.
    """
    return isinstance(exc, GuardsError) and not isinstance(exc, EmptyCellError)


def taint_of(exc: BaseException, traced: Callable[[types.FrameType], bool]) -> str | None:
    """Why ``exc``, being handled while the run is traced, may not be a plain run's, or None.

    ``traced(frame)`` tells whether a frame runs traced code.  A
    ``RecursionError`` may come from tracing's extra frames.  A ``TypeError``
    is what C code (or a library) raises for a proxy it was handed, directly or
    inside another object; it is a plain run's too when raised in traced code
    other than by a call (a ``raise``, an operator: operators on proxies reach
    the tracer, which applies them to real values), or where the tracer applies
    a real operation to real values (a frame of guards itself).
    """
    name = type(exc).__name__
    if raised_by_tracing(exc):
        return f"the tracer raised {name} into the traced code: {without_addresses(str(exc))}"
    if isinstance(exc, RecursionError):
        return "a RecursionError in the traced run (tracing adds frames a plain call does not)"
    if isinstance(exc, TypeError):
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        if tb is None:
            return None
        frame, code = tb.tb_frame, tb.tb_frame.f_code
        if is_own_file(code.co_filename):
            return None
        if traced(frame) and not _calls(code, tb.tb_lasti):
            return None
        return (f"a {name} raised in {code.co_qualname} is handled by traced code; it may "
                "come from a tracked value handed to code the trace does not enter")
    return None


def too_deep() -> bool:
    """The stack may be within :data:`DEPTH_MARGIN` units of the recursion limit.

    A traced call level adds about six frames where a plain call adds one, so a
    run traced this deep is abandoned (and runs plainly) before tracing's
    frames could raise a ``RecursionError`` that a plain run would not.
    """
    frames = int((sys.getrecursionlimit() - DEPTH_MARGIN) / UNITS_PER_FRAME)
    try:
        sys._getframe(max(frames, 1))
    except ValueError:  # not that deep (the walk is in C: cheap)
        return False
    return True


def _calls(code: types.CodeType, offset: int) -> bool:
    return 0 <= offset < len(code.co_code) and code.co_code[offset] in _CALLS
