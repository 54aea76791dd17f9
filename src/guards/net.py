"""The safety net: user code that runs untraced during a trace makes the run uncached.

The tracer enters every Python function it can see being called (``CLOSURE_MATCH``
and a traced copy that runs on tracked globals).  Some user code starts
running without passing through it: a method of a real object, a function
that C code calls back (``sorted(key=...)``, ``map``), the body of a class
that a library wrapper calls.  Its reads would not be guarded, so a result
computed with it could go stale.  The net makes that impossible by
construction rather than by listing the ways in: while a run is traced, a
profile function (``sys.setprofile``, in the tracing thread only) looks at
every Python frame that starts, and a frame of user code (not
:func:`~guards.tracer.is_library_code`) that is not a traced copy (those run
with the tracer's globals dict as ``f_globals``) calls ``on_untraced``, which
marks the run uncached.

User code that guards itself runs while it reads a value through an access
path (a property getter, ``__getattr__``, a ``__getitem__``) is sound: the
guard on that path runs it again at every check.  Such reads run inside
:func:`exempt`.  So does user code run by an effect that a hit skips anyway,
as it skips printing: a logging call's handlers and filters, whose frames are
below one that ``is_effect_frame`` accepts.
"""

from __future__ import annotations

import os
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

#: ``sys.setprofile``'s callback signature.
ProfileFunction = Callable[[types.FrameType, str, Any], Any]


class _State(threading.local):
    def __init__(self) -> None:
        self.net: UntracedCodeNet | None = None


_state = _State()


class UntracedCodeNet:
    """While open (``with net:``), report each untraced frame of user code once per run.

    ``traced_globals`` is the type of the globals dict traced copies run with;
    ``is_library_frame(frame)`` tells frames of the standard library, installed
    packages and guards itself (and the code they generate) from user code;
    ``on_untraced(reason)`` is called for the first untraced user frame (later
    ones are inside it, or add nothing: the run is uncached already), unless a
    frame between it and the traced code it was called from is one for which
    ``is_effect_frame(frame)`` is true.
    """

    def __init__(
        self,
        traced_globals: type,
        is_library_frame: Callable[[types.FrameType], bool],
        on_untraced: Callable[[str], None],
        is_effect_frame: Callable[[types.FrameType], bool] = lambda frame: False,
    ) -> None:
        self.exempt = 0
        self.tripped = False
        self._traced_globals = traced_globals
        self._is_library_frame = is_library_frame
        self._on_untraced = on_untraced
        self._is_effect_frame = is_effect_frame
        self._previous: ProfileFunction | None = None
        self._outer: UntracedCodeNet | None = None

    def __enter__(self) -> UntracedCodeNet:
        self._previous = sys.getprofile()  # type: ignore[assignment]
        self._outer = _state.net
        _state.net = self
        sys.setprofile(self._profile)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.setprofile(self._previous)
        _state.net = self._outer

    def _profile(self, frame: types.FrameType, event: str, arg: Any) -> Any:
        if (
            event == "call"
            and not self.tripped
            and not self.exempt
            and type(frame.f_globals) is not self._traced_globals
            and not self._is_library_frame(frame)
            and not self._in_effect(frame)
        ):
            self.tripped = True
            self._on_untraced(untraced_reason(frame))
        previous = self._previous
        if previous is not None:
            return previous(frame, event, arg)
        return None


    def _in_effect(self, frame: types.FrameType) -> bool:
        """``frame`` runs below an effect frame, itself below the traced code."""
        caller = frame.f_back
        while caller is not None and type(caller.f_globals) is not self._traced_globals:
            if self._is_effect_frame(caller):
                return True
            caller = caller.f_back
        return False


def untraced_reason(frame: types.FrameType) -> str:
    """Why a run is uncached when ``frame``'s code ran untraced: names it, its file and line."""
    code = frame.f_code
    where = f"{os.path.basename(code.co_filename)}:{code.co_firstlineno}"
    caller = frame.f_back
    by = "from C code" if caller is None else f"by {caller.f_code.co_qualname}"
    return f"{code.co_qualname} ({where}) ran untraced, called {by}"


class exempt:
    """A block in which user code may run untraced: guards re-run it at every check.

    A no-op when no net is open in this thread.
    """

    __slots__ = ("_net",)

    def __enter__(self) -> None:
        net = self._net = _state.net
        if net is not None:
            net.exempt += 1

    def __exit__(self, *exc: object) -> None:
        net = self._net
        if net is not None:
            net.exempt -= 1
