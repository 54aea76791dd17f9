"""guards: may work done before be reused for new inputs, and if not, exactly why.

Sources are access paths (``L['fn'].__closure__[0].cell_contents``); guards are
checks on the values at those paths; :func:`compile_guards` turns a guard set
into one fast check function that can also explain every failure.
"""

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    # Re-exported for type checkers; at run time, __getattr__ below loads them.
    from guards.binding import (
        BoundCall as BoundCall,
        bind_args as bind_args,
    )
    from guards.builder import (
        BUILTIN_KINDS as BUILTIN_KINDS,
        COST_CHEAP as COST_CHEAP,
        COST_IDENTITY as COST_IDENTITY,
        COST_USER_CODE as COST_USER_CODE,
        Check as Check,
        GuardBuilder as GuardBuilder,
    )
    from guards.cache import (
        MISS as MISS,
        CacheEntry as CacheEntry,
        CacheInfo as CacheInfo,
        CacheLimitError as CacheLimitError,
        EntryFailure as EntryFailure,
        GuardedCache as GuardedCache,
        MissExplanation as MissExplanation,
    )
    from guards.check import (
        CheckFunction as CheckFunction,
        compile_guards as compile_guards,
    )
    from guards.contexts import (
        NoTracingContextError as NoTracingContextError,
        TracingContext as TracingContext,
        current_tracing as current_tracing,
        install_guard as install_guard,
        tracing as tracing,
    )
    from guards.errors import (
        GuardBuildError as GuardBuildError,
        GuardsError as GuardsError,
        GuardsTypeError as GuardsTypeError,
        GuardsValueError as GuardsValueError,
    )
    from guards.guard import (
        Guard as Guard,
        Provenance as Provenance,
        register_guard_kind as register_guard_kind,
        unregister_guard_kind as unregister_guard_kind,
    )
    from guards.markers import (
        constant as constant,
        disable as disable,
    )
    from guards.options import (
        Config as Config,
        config as config,
    )
    from guards.sources import (
        AttrSource as AttrSource,
        ChainedSource as ChainedSource,
        ClosureSource as ClosureSource,
        CodeSource as CodeSource,
        ConstantSource as ConstantSource,
        DefaultsSource as DefaultsSource,
        DictKeySource as DictKeySource,
        GetItemSource as GetItemSource,
        GlobalSource as GlobalSource,
        GlobalsSource as GlobalsSource,
        GuardSource as GuardSource,
        LocalSource as LocalSource,
        ModuleSource as ModuleSource,
        SkipGuardSource as SkipGuardSource,
        Source as Source,
        TypeSource as TypeSource,
        WeakRefCallSource as WeakRefCallSource,
    )
    from guards.specialization import (
        StaleHitError as StaleHitError,
        specialize as specialize,
    )
    from guards.tracer import (
        UntrackedCallError as UntrackedCallError,
    )
    from guards.tracker import (
        EmptyCellError as EmptyCellError,
        LazyTracker as LazyTracker,
        UntrackableError as UntrackableError,
    )
    from guards.verbose import (
        CheckResult as CheckResult,
        GuardFailure as GuardFailure,
        Unreadable as Unreadable,
    )

#: Public name -> the module that defines it.  Importing guards imports none of
#: them: each is loaded the first time it is used, so ``guards.disable`` costs
#: no more than the standard library modules ``guards.markers`` needs.
_EXPORTS: dict[str, str] = {
    'BoundCall': 'guards.binding',
    'bind_args': 'guards.binding',
    'BUILTIN_KINDS': 'guards.builder',
    'COST_CHEAP': 'guards.builder',
    'COST_IDENTITY': 'guards.builder',
    'COST_USER_CODE': 'guards.builder',
    'Check': 'guards.builder',
    'GuardBuilder': 'guards.builder',
    'CacheEntry': 'guards.cache',
    'CacheInfo': 'guards.cache',
    'CacheLimitError': 'guards.cache',
    'EntryFailure': 'guards.cache',
    'GuardedCache': 'guards.cache',
    'MISS': 'guards.cache',
    'MissExplanation': 'guards.cache',
    'CheckFunction': 'guards.check',
    'compile_guards': 'guards.check',
    'GuardBuildError': 'guards.errors',
    'GuardsError': 'guards.errors',
    'GuardsTypeError': 'guards.errors',
    'GuardsValueError': 'guards.errors',
    'Guard': 'guards.guard',
    'Provenance': 'guards.guard',
    'register_guard_kind': 'guards.guard',
    'unregister_guard_kind': 'guards.guard',
    'constant': 'guards.markers',
    'disable': 'guards.markers',
    'Config': 'guards.options',
    'config': 'guards.options',
    'AttrSource': 'guards.sources',
    'ChainedSource': 'guards.sources',
    'ClosureSource': 'guards.sources',
    'CodeSource': 'guards.sources',
    'ConstantSource': 'guards.sources',
    'DefaultsSource': 'guards.sources',
    'DictKeySource': 'guards.sources',
    'GetItemSource': 'guards.sources',
    'GlobalSource': 'guards.sources',
    'GlobalsSource': 'guards.sources',
    'GuardSource': 'guards.sources',
    'LocalSource': 'guards.sources',
    'ModuleSource': 'guards.sources',
    'SkipGuardSource': 'guards.sources',
    'Source': 'guards.sources',
    'TypeSource': 'guards.sources',
    'WeakRefCallSource': 'guards.sources',
    'StaleHitError': 'guards.specialization',
    'specialize': 'guards.specialization',
    'UntrackedCallError': 'guards.tracer',
    'NoTracingContextError': 'guards.contexts',
    'TracingContext': 'guards.contexts',
    'current_tracing': 'guards.contexts',
    'install_guard': 'guards.contexts',
    'tracing': 'guards.contexts',
    'EmptyCellError': 'guards.tracker',
    'LazyTracker': 'guards.tracker',
    'UntrackableError': 'guards.tracker',
    'CheckResult': 'guards.verbose',
    'GuardFailure': 'guards.verbose',
    'Unreadable': 'guards.verbose',
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        msg = f"module 'guards' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


def _configure_logs() -> None:
    import os

    if os.environ.get("GUARDS_LOGS"):
        from guards.logs import configure_from_env

        configure_from_env()


_configure_logs()
