"""Options that steer ``specialize``, and ``config.patch`` to change them for a while.

``guards.config`` is the one instance of :class:`Config`.  Change an option for
a block or a function with ``guards.config.patch(...)``, which restores the old
values afterwards (it is a context manager and a decorator; TorchDynamo users:
like ``torch._dynamo.config.patch``).  Options are process-wide: a patch in one
thread is seen by the others while it lasts.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import attrs

from guards.errors import GuardsValueError, must_be
from guards.forks import fork_safe
from guards.markers import slow_path_reason


def _bool_option(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if type(value) is not bool:
        raise must_be(f"option {attribute.name}", "a bool", value)


@attrs.define
class Config:
    """The options of every specialized function, with their defaults.

    ``strict`` and ``verify`` given to ``@specialize`` win over these.

    Attributes:
        strict: A call that cannot be cached raises ``UntrackedCallError``
            instead of running uncached.  Default ``False``.
        verify: On every hit (``True``) or on a share of hits (a float in
            [0, 1]), also call the function and raise ``StaleHitError`` if
            the results differ.  Default ``False``.
        trace_library_code: Look inside the Python functions of the standard
            library and installed packages too; by default they are called
            with their arguments guarded by value, or make the run uncached.
            Default ``False``.
        skip_guards_on_constant_func_defaults: Unsafe: do not guard the
            literal defaults of called functions, so a change to them goes
            unnoticed.  Default ``False``.
        warn_uncached: Log a warning on the ``guards.recompiles`` logger the
            first time a function runs uncached for a given reason.  Default
            ``True``.
        record_misses: Explain every miss of a specialized function and keep
            the explanation in its ``specialized.miss_history`` (shown by its
            HTML report); ``python -m guards report`` turns it on.  Off by
            default because explaining walks every entry's paths again, which
            takes time and can run the inputs' properties.  Default ``False``.
    """

    #: Raise ``UntrackedCallError`` instead of running a call uncached.
    strict: bool = attrs.field(default=False, validator=_bool_option)
    #: On every hit (``True``) or on a share of hits (a float in [0, 1]), also run
    #: the function and raise ``StaleHitError`` if the results differ.
    verify: bool | float = attrs.field(
        default=False,
        validator=lambda self, a, v: check_verify_share(f"option {a.name}", v),
        on_setattr=attrs.setters.pipe(
            attrs.setters.validate, lambda self, a, v: _verify_set(self, v)
        ),
    )
    #: Trace into functions of the standard library and installed packages too
    #: (by default they are called with their arguments guarded by value).
    trace_library_code: bool = attrs.field(default=False, validator=_bool_option)
    #: Bind literal positional defaults of called functions without guards (unsafe).
    skip_guards_on_constant_func_defaults: bool = attrs.field(
        default=False, validator=_bool_option
    )
    #: Warn on the ``guards.recompiles`` logger when a call runs uncached.
    warn_uncached: bool = attrs.field(default=True, validator=_bool_option)
    #: Explain every miss of a specialized function and keep the explanation in its
    #: ``specialized.miss_history`` (for reports).  Off by default: explaining walks
    #: every entry's paths again, which can run the inputs' properties.
    record_misses: bool = attrs.field(default=False, validator=_bool_option)

    _lock: threading.RLock = attrs.field(factory=threading.RLock, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        fork_safe(self, "_lock")  # usable in a forked child (guards.forks)

    def patch(self, **changes: Any) -> contextlib.ContextDecorator:
        """Set options for the duration of a ``with`` block or a decorated function."""
        for name, value in changes.items():
            self._validate(name, value)
        return _Patch(self, changes)

    def _validate(self, name: str, value: Any) -> None:
        fields = {f.name: f for f in attrs.fields(Config) if not f.name.startswith("_")}
        if name not in fields:
            msg = f"unknown option {name!r}; options: {', '.join(sorted(fields))}"
            raise GuardsValueError(msg)
        if name == "verify":
            check_verify_share("option verify", value)
        elif type(value) is not bool:
            raise must_be(f"option {name}", "a bool", value)


class _Patch(contextlib.ContextDecorator):
    def __init__(self, config: Config, changes: dict[str, Any]) -> None:
        self._config = config
        self._changes = changes
        self._saved: list[dict[str, Any]] = []

    def __enter__(self) -> _Patch:
        with self._config._lock:
            self._saved.append({name: getattr(self._config, name) for name in self._changes})
            for name, value in self._changes.items():
                setattr(self._config, name, value)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._config._lock:
            for name, value in self._saved.pop().items():
                setattr(self._config, name, value)


def check_verify_share(name: str, value: Any) -> None:
    """Raise unless ``value`` is a bool or a float share of hits in [0, 1].

    ``name`` is how the error names the argument (``verify`` or ``option verify``).
    An int is refused, as ``strict=1`` is: ``verify=1`` reads like "every hit" but
    ``1.0`` and ``True`` say it.
    """
    if type(value) is bool:
        return
    if type(value) is not float:
        raise must_be(name, "a bool or a float share of hits in [0, 1]", value)
    if not 0.0 <= value <= 1.0:  # NaN fails both comparisons
        msg = f"{name} must be a share of hits in [0, 1], got {value!r}"
        raise GuardsValueError(msg)


def _verify_set(config: Config, value: bool | float) -> bool | float:
    # Specialized functions check one flag on their fast path; verify mode needs the slow one.
    if bool(value) != bool(getattr(config, "verify", False)):
        slow_path_reason(+1 if value else -1)
    return value


config = Config()

