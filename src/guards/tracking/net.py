"""The safety net: user code that runs untraced during a trace makes the run uncached.

The tracer enters every Python function it can see being called (``CLOSURE_MATCH``
and a traced copy that runs on tracked globals).  Some user code starts
running without passing through it: a method of a real object, a function
that C code calls back (``sorted(key=...)``, ``map``), the body of a class
that a library wrapper calls.  Its reads would not be guarded, so a result
computed with it could go stale.  The net makes that impossible by
construction rather than by listing the ways in: while a run is traced, a
hook (see below) looks at every Python frame that starts, and a frame of user code (not
:func:`~guards.specialization.tracer.is_library_code`) that is not a traced copy (those run
with the tracer's globals dict as ``f_globals``) calls ``on_untraced``, which
marks the run uncached.

User code that guards itself runs while it reads a value through an access
path (a property getter, ``__getattr__``, a ``__getitem__``) is sound: the
guard on that path runs it again at every check.  Such reads run inside
:func:`exempt`.  So does user code run by an effect that a hit skips anyway,
as it skips printing: a logging call's handlers and filters, whose frames are
below one that ``is_effect_frame`` accepts.

How the net sees frames start depends on the Python:

* 3.12 and later: ``sys.monitoring`` (``PY_START`` and ``PY_RESUME`` events for a
  tool id of guards' own, claimed while any net is open and freed after).  It
  coexists with profilers and debuggers (cProfile uses its own tool id) and
  ``sys.getprofile()`` does not show it.  Events are process-wide, so the
  callback filters by thread: another thread's frame costs one thread-local read.
* 3.11: the trace function (``sys.settrace``) of the tracing thread, which also
  watches raises: its call events see every frame start, with a third of the
  callbacks a profile function gets (no returns, no C calls).  Under another
  trace function (a debugger, coverage), which is never replaced, a profile
  function (``sys.setprofile``) sees the frames instead.  A profile function
  already installed (cProfile, a user's hook) is never replaced: the call runs
  plainly (:func:`profiler_reason`), so the profiler keeps running and sees a
  plain call.  Traced code asking ``sys.getprofile()`` gets
  :func:`plain_getprofile`, which answers as a plain run would.  A trace
  function makes the interpreter check every line of every frame, so the
  stretches of guards' own code that cannot run user code but in
  :class:`exempt` reads (installing a guard, an operator on exact built-in
  scalars, reading an attribute or item whose value is one) run in
  :class:`quiet`, with the trace function off.  If code that the traced code
  ran replaced the trace function, the run is uncached.
"""

from __future__ import annotations

import os
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

from guards.forks import fork_safe

#: ``sys.setprofile``'s callback signature.
ProfileFunction = Callable[[types.FrameType, str, Any], Any]
#: ``sys.monitoring`` (3.12+), or None.
_SYS_MONITORING: Any = getattr(sys, "monitoring", None)
#: Whether frames are watched with ``sys.monitoring`` (else ``sys.setprofile``).
USES_MONITORING = _SYS_MONITORING is not None


class _State(threading.local):
    def __init__(self) -> None:
        self.net: UntracedCodeNet | None = None


_state = _State()


class UntracedCodeNet:
    """While open (``with net:``), report each untraced frame of user code once per run.

    ``traced_globals`` is the type of the globals dict traced copies run with;
    ``is_library_frame(frame)`` tells frames of the standard library, installed packages
    and guards itself (and the code they generate) from user code; ``on_untraced(reason,
    frame)`` is called for the first untraced user frame, as it starts (later ones are
    inside it, or add nothing: the run is uncached already), unless a frame between it
    and the traced code it was called from is one for which ``is_effect_frame(frame)``
    is true; ``is_library_code(code)``, optional, tells code whose frames are library
    frames whatever their globals: with ``sys.monitoring`` its events are switched off.
    ``on_raise(exc, frame, offset)``, optional, is called for every exception an
    instruction of traced code raises (the interpreter's own, or C code's it called; not
    one that reached it from a Python frame below), or of code other than guards' own
    that traced code called (a library class's operator, which the interpreter hands a
    proxy, as ``s in UserString(...)`` does): on 3.12 and later from the same ``RAISE``
    events, on 3.11 from the exception events of a trace function (``sys.settrace``)
    that the net installs when none is (:func:`watches_raises`).
    """

    def __init__(
        self,
        traced_globals: type,
        is_library_frame: Callable[[types.FrameType], bool],
        on_untraced: Callable[[str, types.FrameType], None],
        is_library_code: Callable[[types.CodeType], bool] = lambda code: False,
        is_effect_frame: Callable[[types.FrameType], bool] = lambda frame: False,
        on_raise: Callable[[BaseException, types.FrameType, int], None] | None = None,
    ) -> None:
        self.exempt = 0
        self.on_raise = on_raise
        self._traced_raises = False
        self.is_library_code = is_library_code
        self.tripped = False
        self._traced_globals = traced_globals
        self._is_library_frame = is_library_frame
        self._on_untraced = on_untraced
        self._is_effect_frame = is_effect_frame
        self._previous: ProfileFunction | None = None
        self._monitored = False
        self._by_trace = False
        # Files whose code is library code (``is_library_code``): the trace function
        # skips their frames before calling anything.
        self._library_files = _library_files(is_library_code)
        self._outer: UntracedCodeNet | None = None

    def __enter__(self) -> UntracedCodeNet:
        self._outer = _state.net
        _state.net = self
        self._monitored = _monitoring.open()
        if not self._monitored:
            if sys.gettrace() is None:
                sys.settrace(_trace_call)  # a nested net finds it installed, and leaves it
                self._traced_raises = True
            # The trace function's call events see every frame start, as a profile
            # function's do, for a third of the callbacks (no returns, no C calls).
            self._by_trace = sys.gettrace() is _trace_call
            if not self._by_trace:  # another trace function (a debugger, coverage) runs
                self._previous = sys.getprofile()  # type: ignore[assignment]
                sys.setprofile(self._profile)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._monitored:
            _monitoring.close()
        else:
            if not self._by_trace:
                sys.setprofile(self._previous)
            elif sys.gettrace() is not _trace_call and not self.tripped:
                # Code run by the traced code replaced the trace function: frames may
                # have started unseen since.
                self.tripped = True
                self._on_untraced(
                    "the trace function was replaced while the call was traced",
                    sys._getframe(),
                )
            if self._traced_raises:
                sys.settrace(None)
        _state.net = self._outer

    def _profile(self, frame: types.FrameType, event: str, arg: Any) -> Any:
        if event == "call":
            self.notice(frame)
        previous = self._previous
        if previous is not None:
            return previous(frame, event, arg)
        return None

    def notice(self, frame: types.FrameType) -> None:
        """``frame`` starts: report it if it is untraced user code (the first one only)."""
        code = frame.f_code
        if self.is_library_code(code):  # never reported
            filename = code.co_filename
            # Files on disk, and attrs' methods (one name per method of a class): the
            # trace function skips their frames from now on.  guards' own generated
            # code has a new name each time, and is not kept.
            if not filename.startswith("<guards ") and len(self._library_files) < _MAX_FILES:
                self._library_files.add(filename)
            return
        if (
            not self.tripped
            and not self.exempt
            and type(frame.f_globals) is not self._traced_globals
            and not self._is_library_frame(frame)
            and not self._in_effect(frame)
        ):
            self.tripped = True
            self._on_untraced(untraced_reason(frame), frame)

    def notice_raise(self, frame: types.FrameType, exc: BaseException, offset: int) -> None:
        """The instruction at ``offset`` of ``frame`` raised ``exc``: report it if ``frame``
        runs traced code, or code other than guards' own that traced code called."""
        if self.on_raise is None:
            return
        if type(frame.f_globals) is self._traced_globals or (
            not _is_own(frame) and self._below_traced(frame)
        ):
            self.on_raise(exc, frame, offset)

    def _below_traced(self, frame: types.FrameType) -> bool:
        caller = frame.f_back
        while caller is not None:
            if type(caller.f_globals) is self._traced_globals:
                return True
            if _is_own(caller):  # below the tracer itself: not on traced code's behalf
                return False
            caller = caller.f_back
        return False

    def _in_effect(self, frame: types.FrameType) -> bool:
        """``frame`` runs below an effect frame, itself below the traced code."""
        caller = frame.f_back
        while caller is not None and type(caller.f_globals) is not self._traced_globals:
            if self._is_effect_frame(caller):
                return True
            caller = caller.f_back
        return False

    @property
    def previous_profile(self) -> ProfileFunction | None:
        """The profile function installed before this net (what a plain run sees)."""
        return self._previous


class _Monitoring:
    """The ``sys.monitoring`` tool id of the nets, claimed while any net is open.

    ``open``/``close`` return False when monitoring cannot be used (3.11, or every
    tool id is taken); the net then uses ``sys.setprofile``.
    """

    #: Tool ids without a name in CPython first; the named ones only if those are taken.
    _CANDIDATES = (3, 4, 5, 2, 1, 0)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        fork_safe(self, "_lock")
        self._open = 0
        self._tool: int | None = None

    def open(self) -> bool:
        if not USES_MONITORING:
            return False
        with self._lock:
            if self._open == 0 and not self._claim():
                return False
            self._open += 1
            return True

    def close(self) -> None:
        with self._lock:
            self._open -= 1
            if self._open == 0:
                self._release()

    def _claim(self) -> bool:
        monitoring = _SYS_MONITORING
        for tool in self._CANDIDATES:
            if monitoring.get_tool(tool) is None:
                try:
                    monitoring.use_tool_id(tool, "guards untraced-code net")
                except ValueError:  # another thread's tool took it meanwhile
                    continue
                events = monitoring.events
                monitoring.register_callback(tool, events.PY_START, _on_frame_start)
                monitoring.register_callback(tool, events.PY_RESUME, _on_frame_start)
                monitoring.register_callback(tool, events.RAISE, _on_raise)
                monitoring.set_events(tool, events.PY_START | events.PY_RESUME | events.RAISE)
                self._tool = tool
                return True
        return False

    def _release(self) -> None:
        tool = self._tool
        if tool is not None:
            monitoring = _SYS_MONITORING
            monitoring.set_events(tool, 0)
            monitoring.register_callback(tool, monitoring.events.PY_START, None)
            monitoring.register_callback(tool, monitoring.events.PY_RESUME, None)
            monitoring.register_callback(tool, monitoring.events.RAISE, None)
            monitoring.free_tool_id(tool)
            self._tool = None


_monitoring = _Monitoring()


def _on_frame_start(code: types.CodeType, offset: int) -> Any:
    """``sys.monitoring``'s PY_START / PY_RESUME callback (any thread)."""
    net = _state.net
    if net is None:  # another thread, or this one between traces
        return None
    if net.is_library_code(code):  # for good: its frames are never reported
        return _SYS_MONITORING.DISABLE
    frame = sys._getframe(1)
    while net is not None:  # every open net sees it, as chained profile functions did
        net.notice(frame)
        net = net._outer
    return None


def _on_raise(code: types.CodeType, offset: int, exc: BaseException) -> Any:
    """``sys.monitoring``'s RAISE callback (any thread): an exception raised in this
    frame (by an instruction, or C code it called), not one that reached it from a
    Python frame it called, goes to the nets.

    The instruction is the traceback's (``tb_lasti``), not ``offset``: 3.13 passes
    the offset of a call's last inline cache entry, where 3.12 passes the call's.
    """
    net = _state.net
    if net is None or net.on_raise is None:
        return None
    frame = sys._getframe(1)
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is not None and tb.tb_frame is not frame:
        return None  # raised in a Python frame below: that frame reported it
    at = offset if tb is None else tb.tb_lasti
    while net is not None:
        net.notice_raise(frame, exc, at)
        net = net._outer
    return None


def _trace_call(frame: types.FrameType, event: str, arg: Any) -> Any:
    """3.11's trace function while a net is open: every frame that starts goes to the
    nets that watch frames through it; a frame of traced code gets :func:`_trace_frame`,
    without line events; any other frame, nothing."""
    net = _state.net
    if net is None or event != "call":
        return None
    traced = type(frame.f_globals) is net._traced_globals
    filename = frame.f_code.co_filename
    outer: UntracedCodeNet | None = net
    while outer is not None:
        if (
            outer._by_trace
            and not outer.tripped
            and not outer.exempt
            and (traced or filename not in outer._library_files)
        ):
            outer.notice(frame)
        outer = outer._outer
    if not traced:
        return None
    frame.f_trace_lines = False
    return _trace_frame


#: 3.11: the nets' trace function.  ``sys.gettrace() is TRACE_FUNCTION`` tells,
#: without a Python call (each Python frame started while it is on runs it), that a net
#: watches this thread's frames through it; a stretch that :class:`quiet` would cover
#: may then turn it off and on again itself, with ``sys.settrace`` (the hooks a miss
#: runs for each value it reads do, as ``quiet`` does, when ``sys.exception()`` is None).
TRACE_FUNCTION = _trace_call


def _trace_frame(frame: types.FrameType, event: str, arg: Any) -> Any:
    """A traced frame's trace function (3.11): an exception raised in the frame itself
    (its traceback ends here), or in code other than guards' own that it called and
    that has no trace function of its own, goes to the nets."""
    if event == "exception":
        exc, tb = arg[1], arg[2]
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        if tb is not None and (tb.tb_frame is frame or tb.tb_frame.f_trace is None):
            net = _state.net
            while net is not None:
                net.notice_raise(tb.tb_frame, exc, tb.tb_lasti)
                net = net._outer
    return _trace_frame


#: ``is_library_code`` function -> the files found to hold library code (shared by the
#: nets of every run, which pass the same function).
_LIBRARY_FILES: dict[Callable[[types.CodeType], bool], set[str]] = {}


#: At most this many library file names are kept per ``is_library_code`` function.
_MAX_FILES = 100_000


def _library_files(is_library_code: Callable[[types.CodeType], bool]) -> set[str]:
    return _LIBRARY_FILES.setdefault(is_library_code, set())


def _is_own(frame: types.FrameType) -> bool:
    """``frame`` runs guards' own code (a proxy's hook, the tracer)."""
    name = frame.f_globals.get("__name__")
    return type(name) is str and (name == "guards" or name.startswith("guards."))


def watches_raises() -> bool:
    """Whether a net can see every exception traced code raises: always with
    ``sys.monitoring``; on 3.11 unless another trace function (a debugger, coverage)
    is installed, which the net does not replace."""
    return USES_MONITORING or sys.gettrace() in (None, _trace_call)


def profiler_reason() -> str | None:
    """Why a call must run plainly because of the profiler, or None.

    With ``sys.setprofile`` the net would replace a profile function that is
    already installed (cProfile's cannot even be called from Python), and any
    profile function would see the traced copies' frames.  A net's own function
    (a trace nested in a trace) does not count.
    """
    current = sys.getprofile()
    if current is None:
        return None
    net = _state.net
    if net is not None and current == net._profile:
        return None
    kind = type(current).__qualname__
    return (
        f"a profiler is active (sys.getprofile() is a {kind}): it would see the "
        "tracer's frames, so the call runs plainly"
    )


def plain_getprofile() -> Any:
    """``sys.getprofile()`` as a plain run sees it: the nets' own functions are hidden."""
    current = sys.getprofile()
    net = _state.net
    while net is not None and current is not None and current == net._profile:
        current, net = net.previous_profile, net._outer
    return current


def untraced_reason(frame: types.FrameType) -> str:
    """Why a run is uncached when ``frame``'s code ran untraced: names it, its file and line."""
    code = frame.f_code
    where = f"{os.path.basename(code.co_filename)}:{code.co_firstlineno}"
    caller = frame.f_back
    by = "from C code" if caller is None else f"by {caller.f_code.co_qualname}"
    return f"{code.co_qualname} ({where}) ran untraced, called {by}"


class quiet:
    """A stretch of guards' own code that runs no user code but inside :class:`exempt`
    (building and installing a guard, an operator on exact built-in scalars): on 3.11 the
    net's trace function is off while it runs, so its lines are not traced one by one.

    A no-op with ``sys.monitoring`` (3.12+), when no net is open in this thread, when
    the trace function is not the net's, or while an exception is being handled.
    Nothing the net reports can happen inside: frames of guards' own code are library
    frames, and its raises are not traced code's.
    """

    __slots__ = ("_off",)

    def __enter__(self) -> None:
        net = _state.net
        self._off = (
            net is not None and net._by_trace and sys.gettrace() is _trace_call
            # An exception being handled is examined on the way in (a user's exception
            # class may answer isinstance with code of its own): not quiet then.
            and sys.exception() is None
        )
        if self._off:
            sys.settrace(None)

    def __exit__(self, *exc: object) -> None:
        if self._off:
            sys.settrace(_trace_call)


class suspended:
    """A block that the nets open in this thread do not watch at all: a call they need
    not see into, whose own trace (if any) opens a net of its own.

    For a call of a specialized function that a traced run makes through that
    function's cache: it gets values, not proxies, and what it reads reaches the
    caller as the guards of the entry that answered.  On 3.11 the nets' profile and
    trace functions are taken out for the block (a nested net would otherwise chain
    to each of them for every frame); with ``sys.monitoring`` the events go to no net.
    """

    __slots__ = ("_hooks", "_net")

    def __enter__(self) -> None:
        net = self._net = _state.net
        self._hooks: tuple[Any, Any] | None = None
        if net is None:
            return
        _state.net = None
        if not net._monitored:
            self._hooks = (sys.getprofile(), sys.gettrace())
            sys.setprofile(None)
            if sys.gettrace() is _trace_call:
                sys.settrace(None)

    def __exit__(self, *exc: object) -> None:
        _state.net = self._net
        if self._hooks is not None:
            profile, trace = self._hooks
            sys.setprofile(profile)
            if trace is _trace_call:
                sys.settrace(trace)


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


def exempt_call(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` inside :class:`exempt`, in one call: a read a miss makes for
    each value (``getattr(obj, name)``), where the block's two calls were a fifth of
    the read."""
    net = _state.net
    if net is None:
        return function(*args)
    net.exempt += 1
    try:
        return function(*args)
    finally:
        net.exempt -= 1
