"""guards: may work done before be reused for new inputs, and if not, exactly why.

Sources are access paths (``L['fn'].__closure__[0].cell_contents``); guards are
checks on the values at those paths; :func:`compile_guards` turns a guard set
into one fast check function that can also explain every failure.
"""

from guards.binding import BoundCall, bind_args
from guards.builder import (
    BUILTIN_KINDS,
    COST_CHEAP,
    COST_IDENTITY,
    COST_USER_CODE,
    Check,
    GuardBuilder,
)
from guards.cache import (
    MISS,
    CacheEntry,
    CacheInfo,
    CacheLimitError,
    EntryFailure,
    GuardedCache,
    MissExplanation,
)
from guards.check import CheckFunction, compile_guards
from guards.config import Config, config
from guards.errors import GuardBuildError, GuardsError, GuardsTypeError, GuardsValueError
from guards.guard import Guard, Provenance, register_guard_kind, unregister_guard_kind
from guards.logs import configure_from_env as _configure_logs_from_env
from guards.markers import constant, disable
from guards.sources import (
    AttrSource,
    ChainedSource,
    ClosureSource,
    CodeSource,
    ConstantSource,
    DefaultsSource,
    GetItemSource,
    GlobalSource,
    GuardSource,
    LocalSource,
    SkipGuardSource,
    Source,
    TypeSource,
    WeakRefCallSource,
)
from guards.specialize import StaleHitError, specialize
from guards.tracer import UntrackedCallError
from guards.tracing import (
    NoTracingContextError,
    TracingContext,
    current_tracing,
    install_guard,
    tracing,
)
from guards.tracker import EmptyCellError, LazyTracker, UntrackableError
from guards.verbose import CheckResult, GuardFailure, Unreadable

__version__ = "0.1.0"

_configure_logs_from_env()

__all__ = [
    "BUILTIN_KINDS",
    "COST_CHEAP",
    "COST_IDENTITY",
    "COST_USER_CODE",
    "MISS",
    "AttrSource",
    "BoundCall",
    "CacheEntry",
    "CacheInfo",
    "CacheLimitError",
    "ChainedSource",
    "Check",
    "CheckFunction",
    "CheckResult",
    "ClosureSource",
    "CodeSource",
    "Config",
    "ConstantSource",
    "DefaultsSource",
    "EmptyCellError",
    "EntryFailure",
    "GetItemSource",
    "GlobalSource",
    "Guard",
    "GuardBuildError",
    "GuardBuilder",
    "GuardFailure",
    "GuardSource",
    "GuardedCache",
    "GuardsError",
    "GuardsTypeError",
    "GuardsValueError",
    "LazyTracker",
    "LocalSource",
    "MissExplanation",
    "NoTracingContextError",
    "Provenance",
    "SkipGuardSource",
    "Source",
    "StaleHitError",
    "TracingContext",
    "TypeSource",
    "Unreadable",
    "UntrackableError",
    "UntrackedCallError",
    "WeakRefCallSource",
    "__version__",
    "bind_args",
    "compile_guards",
    "config",
    "constant",
    "current_tracing",
    "disable",
    "install_guard",
    "register_guard_kind",
    "specialize",
    "tracing",
    "unregister_guard_kind",
]
