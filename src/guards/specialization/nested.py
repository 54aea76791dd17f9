"""Calls between specialized functions during a trace: the inner call goes through its cache.

When a traced run calls a specialized function (itself, recursively, or another
one), the tracer hands that function the call's real values and asks it
(``CallsThroughCache.call_for_trace``): a hit answers from the inner cache, a
miss traces the inner call in a tracing context of its own and stores its own
entry.  So each level of a recursion has its entry, as with ``lru_cache``.

The outer run stays sound because the entry that answered is installed into the
outer run's guards, *re-rooted* (:func:`reroot`): each of its guards reads the
inner frame (``L['n']``, ``G['K']``, a free variable), and the outer frame reaches
the same values by other paths:

- a parameter given a tracked value: the outer path of that value
  (``L['self']`` for ``self.m(...)``); given a default: the default's path,
  ``...__defaults__[i]``; given a value the outer run computed: nothing, the
  value is guarded by value in the outer run, which implies the guards that
  read only the value (its type, its value, a comparison); any other guard on it
  (an identity) cannot be carried, and the outer run traces into the call instead;
- a global of the inner function: the same ``G[...]`` when both share their
  module's globals, else ``...__wrapped__.__globals__[...]``;
- a free variable of the inner function: its cell, ``...__wrapped__.__closure__[i]``.

Anything that cannot be carried that way, an inner call that ran uncached or
raised, makes the tracer trace into the call as it did before (or the outer run
uncached, when the inner run already did what must not happen twice).
"""

from __future__ import annotations

import sys
import threading
import types
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Protocol

import attrs

from guards.checks.cache import CacheEntry
from guards.core.guard import Guard
from guards.core.sources import (
    ChainedSource,
    GetItemSource,
    GlobalSource,
    GlobalsSource,
    LocalSource,
    ModuleSource,
    Source,
    TypeSource,
)
from guards.specialization.dispatcher import MISSING

#: The name of the generated wrapper's file, as ``compile_generated`` names it.
_WRAPPER_FILE = "<guards specialize "
#: Guard kinds whose outcome depends only on the value at their source (and on values
#: at their other sources): implied when that value is guarded by value (a constant).
VALUE_KINDS = frozenset({
    "TYPE_MATCH", "EQUALS_MATCH", "CONSTANT_MATCH", "NONE_MATCH", "NOT_NONE_MATCH",
    "BOOL_MATCH", "SEQUENCE_LENGTH", "TRUTH_MATCH", "COMPARE_MATCH", "PREDICATE_MATCH",
    "HASATTR", "DICT_KEYS_MATCH",
})


@attrs.define
class CachedCall:
    """What a specialized function answered to a call made by a traced run.

    ``entry`` is the cache entry that answered (a hit, or the one the call just
    stored) and ``result`` the result for the caller.  With no entry: ``final``
    says the call ran (uncached, for ``reasons``) and ``result`` is its result,
    which the traced caller must use (the run may have done what must not happen
    twice); else nothing ran that matters: with ``reasons`` the call must run
    plainly (so must its caller), without, the caller traces into the call.
    ``deep`` says the call missed and was not traced: the stack is too deep.
    """

    result: Any
    entry: CacheEntry | None
    final: bool = False
    reasons: tuple[str, ...] = ()
    deep: bool = False


class CallsThroughCache(Protocol):
    """The state behind a specialized function, as the tracer of a caller uses it."""

    function: types.FunctionType

    def call_for_trace(self, f_locals: dict[str, Any], *, deep: bool = False) -> CachedCall:
        """Answer a call from a traced run (``f_locals``: the call's frame locals);
        ``deep``: answer only a hit (the stack is too deep to trace a miss)."""
        ...

    def dispatch(self, f_locals: dict[str, Any]) -> Any:
        """Answer a call as the wrapper does."""
        ...


class _Deepest(threading.local):
    """The call a recursion too deep to trace stopped at, for the outermost miss."""

    def __init__(self) -> None:
        #: Calls through a cache nested now, below the outermost traced run.
        self.levels = 0
        #: Levels of user calls that the calls being answered first stand for.
        self.offset = 0
        self.call: tuple[CallsThroughCache, dict[str, Any], int] | None = None
        #: A call stopped where a plain run would be past the recursion limit.
        self.beyond = False


DEEPEST = _Deepest()


def note_too_deep(state: CallsThroughCache, f_locals: dict[str, Any]) -> None:
    """A traced run's call of ``state``'s function missed too deep in the stack to be
    traced: remember it, so the outermost miss answers it first, at a shallow depth
    (unless a plain run would be past the recursion limit there: it then raises)."""
    levels = DEEPEST.levels
    if DEEPEST.offset + levels < sys.getrecursionlimit():
        DEEPEST.call = (state, f_locals, levels)
    else:
        DEEPEST.beyond = True


def beyond_limit() -> bool:
    """The last traced run stopped where a plain run would be past the recursion limit
    (and forget it): the outermost miss then raises ``RecursionError``, as a plain run."""
    beyond, DEEPEST.beyond = DEEPEST.beyond, False
    return beyond and not DEEPEST.levels


def forget_deepest() -> None:
    """At the start of an outermost miss: forget what a run that ended otherwise (an
    exception out of it) left, so that no call but this one's is ever answered for it."""
    if not DEEPEST.levels:
        DEEPEST.call, DEEPEST.beyond = None, False


def take_deepest() -> tuple[CallsThroughCache, dict[str, Any], int] | None:
    """At the outermost miss, after its traced run stopped: the deepest call it stopped
    at, to answer first with :func:`answer_deepest` (and forget it); None if none."""
    call, DEEPEST.call = DEEPEST.call, None
    return None if DEEPEST.levels else call


def answer_deepest(call: tuple[CallsThroughCache, dict[str, Any], int]) -> None:
    """Answer ``call`` (from :func:`take_deepest`) through its function's cache, so that
    the next trace of the outer call finds it cached."""
    state, f_locals, levels = call
    DEEPEST.offset += levels
    try:
        state.dispatch(f_locals)
    finally:
        DEEPEST.offset -= levels


def specialized_state(value: Any) -> CallsThroughCache | None:
    """The state behind ``value`` if it is a wrapper made by ``specialize``, else None
    (a function ``functools.wraps`` made look like one has its own code)."""
    if type(value) is not types.FunctionType:
        return None
    state = value.__dict__.get("__guards_specialized__")
    if state is None or not value.__code__.co_filename.startswith(_WRAPPER_FILE):
        return None
    return state  # type: ignore[no-any-return]


def plain_wrapper(wrapper: types.FunctionType) -> bool:
    """The wrapper's defaults are still the ones ``specialize`` made ("the function's
    default"): a call of it binds as a call of the function it wraps does."""
    defaults = wrapper.__defaults__ or ()
    kwdefaults = wrapper.__kwdefaults__ or {}
    return all(value is MISSING for value in (*defaults, *kwdefaults.values()))


@attrs.frozen
class Roots:
    """Where the outer frame reaches what the inner frame reads.

    ``locals`` maps an inner local (parameter or free variable) to its outer path;
    ``implied`` names the parameters whose value the outer run guarded by value;
    ``inner_locals`` are the inner frame's locals (for the values of implied paths);
    ``globals`` is the outer path of the inner function's globals, or None when
    they are the outer frame's own.
    """

    locals: Mapping[str, Source]
    implied: frozenset[str]
    inner_locals: Mapping[str, Any]
    globals: Source | None


class _Implied(Exception):
    """A source reads an implied parameter: it has no outer path."""


class _Unrooted(Exception):
    """A source the outer frame cannot reach."""


def reroot(guards: Sequence[Guard], roots: Roots) -> list[Guard] | None:
    """``guards`` (an inner entry's) as guards of the outer frame, or None if one cannot
    be carried; guards implied by the outer run's value guards are left out."""
    out: list[Guard] = []
    for guard in guards:
        try:
            carried = _reroot_guard(guard, roots)
        except _Unrooted:
            return None
        out.extend(carried)
    return out


def _reroot_guard(guard: Guard, roots: Roots) -> list[Guard]:
    try:
        source = _reroot_source(guard.source, roots)
    except _Implied:
        return _on_implied(guard, roots)
    args: list[tuple[str, Hashable]] = []
    for key, value in guard.args:
        if isinstance(value, Source):
            try:
                args.append((key, _reroot_source(value, roots)))
            except _Implied:
                if guard.kind != "COMPARE_MATCH":
                    raise _Unrooted from None
                # `x < n` with n a value: the same comparison with n's value.
                args.append((key, _implied_value(value, roots)))
        elif isinstance(value, tuple) and any(isinstance(item, Source) for item in value):
            try:
                args.append((key, tuple(
                    _reroot_source(item, roots) if isinstance(item, Source) else item
                    for item in value
                )))
            except _Implied:
                raise _Unrooted from None
        else:
            args.append((key, value))
    return [attrs.evolve(guard, source=source, args=tuple(args))]


def _on_implied(guard: Guard, roots: Roots) -> list[Guard]:
    """A guard on an implied parameter: left out when the value implies it."""
    through_type = any(isinstance(step, TypeSource) for step in guard.source.chain())
    if guard.kind not in VALUE_KINDS and not (
        through_type and guard.kind in ("ID_MATCH", "FUNCTION_MATCH", "BUILTIN_MATCH")
    ):
        raise _Unrooted  # an identity, an alias: not implied by a value
    kept: list[Guard] = []
    for _, value in guard.args:
        items = value if isinstance(value, tuple) else (value,)
        for item in items:
            if not isinstance(item, Source):
                continue
            try:
                other = _reroot_source(item, roots)
            except _Implied:
                continue
            if guard.kind != "COMPARE_MATCH":
                raise _Unrooted
            # `n < K` with n a value: it holds while K keeps its value.
            kept.append(Guard(other, "CONSTANT_MATCH", provenance=guard.provenance))
    return kept


def _implied_value(source: Source, roots: Roots) -> Any:
    try:
        value = source.get(roots.inner_locals, {})
    except Exception:
        raise _Unrooted from None
    if type(value) not in (int, float, str, bytes, bool):
        raise _Unrooted
    return value


def _reroot_source(source: Source, roots: Roots) -> Source:
    chain = source.chain()
    root = chain[0]
    new: Source
    if isinstance(root, LocalSource):
        name = root.local_name
        if name in roots.implied:
            raise _Implied
        found = roots.locals.get(name)
        if found is None:
            raise _Unrooted
        new = found
    elif isinstance(root, GlobalSource):
        new = root if roots.globals is None else GetItemSource(roots.globals, root.global_name)
    elif isinstance(root, GlobalsSource):
        new = root if roots.globals is None else roots.globals
    elif isinstance(root, ModuleSource):
        new = root
    else:
        raise _Unrooted
    for step in chain[1:]:
        if not isinstance(step, ChainedSource):
            raise _Unrooted
        new = attrs.evolve(step, base=new)
    return new
