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
    from guards.checks.cache import (
        MISS as MISS,
        CacheChange as CacheChange,
        CacheEntry as CacheEntry,
        CacheInfo as CacheInfo,
        EntryFailure as EntryFailure,
        GuardedCache as GuardedCache,
        MissExplanation as MissExplanation,
    )
    from guards.checks.compiled import (
        CheckFunction as CheckFunction,
        compile_guards as compile_guards,
        load_check as load_check,
    )
    from guards.checks.explain import (
        CheckResult as CheckResult,
        GuardFailure as GuardFailure,
        Unreadable as Unreadable,
    )
    from guards.core.builder import (
        BUILTIN_KINDS as BUILTIN_KINDS,
        COST_CHEAP as COST_CHEAP,
        COST_IDENTITY as COST_IDENTITY,
        COST_USER_CODE as COST_USER_CODE,
        Check as Check,
        GuardBuilder as GuardBuilder,
        register_guard_kind as register_guard_kind,
        unregister_guard_kind as unregister_guard_kind,
    )
    from guards.core.guard import (
        Guard as Guard,
        Provenance as Provenance,
    )
    from guards.core.sources import (
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
    from guards.errors import (
        CacheLimitError as CacheLimitError,
        DocumentError as DocumentError,
        EmptyCellError as EmptyCellError,
        GuardBuildError as GuardBuildError,
        GuardsError as GuardsError,
        GuardsTypeError as GuardsTypeError,
        GuardsValueError as GuardsValueError,
        MissingExtraError as MissingExtraError,
        NotPortableError as NotPortableError,
        NoTracingContextError as NoTracingContextError,
        StaleDocumentError as StaleDocumentError,
        StaleHitError as StaleHitError,
        StoreWarning as StoreWarning,
        UntrackableError as UntrackableError,
        UntrackedCallError as UntrackedCallError,
    )
    from guards.markers import (
        constant as constant,
        disable as disable,
    )
    from guards.options import (
        Config as Config,
        config as config,
    )
    from guards.specialization.decorator import (
        CacheParameters as CacheParameters,
        SpecializedFunction as SpecializedFunction,
        SpecializedMethod as SpecializedMethod,
        explain as explain,
        specialize as specialize,
    )
    from guards.specialization.history import MissRecord as MissRecord
    from guards.specialization.report import report as report
    from guards.stores.fleet import (
        Loaded as Loaded,
        load_or_build as load_or_build,
    )
    from guards.stores.interface import (
        Store as Store,
        StoredEntry as StoredEntry,
        StoreKey as StoreKey,
        StoreStats as StoreStats,
    )
    from guards.stores.redis_store import RedisStore as RedisStore
    from guards.stores.serializers import (
        PickleSerializer as PickleSerializer,
        Serializer as Serializer,
    )
    from guards.stores.sqlite import SQLiteStore as SQLiteStore
    from guards.tracking.binding import (
        BoundCall as BoundCall,
        bind_args as bind_args,
    )
    from guards.tracking.lazy import (
        LazyTracker as LazyTracker,
        TracingContext as TracingContext,
        current_tracing as current_tracing,
        install_guard as install_guard,
        tracing as tracing,
    )

#: Public name -> the module that defines it.  Importing guards imports none of
#: them: each is loaded the first time it is used, so ``guards.disable`` costs
#: no more than the standard library modules ``guards.markers`` needs.
_EXPORTS: dict[str, str] = {
    'BoundCall': 'guards.tracking.binding',
    'bind_args': 'guards.tracking.binding',
    'BUILTIN_KINDS': 'guards.core.builder',
    'COST_CHEAP': 'guards.core.builder',
    'COST_IDENTITY': 'guards.core.builder',
    'COST_USER_CODE': 'guards.core.builder',
    'Check': 'guards.core.builder',
    'GuardBuilder': 'guards.core.builder',
    'CacheChange': 'guards.checks.cache',
    'CacheEntry': 'guards.checks.cache',
    'CacheInfo': 'guards.checks.cache',
    'CacheLimitError': 'guards.errors',
    'EntryFailure': 'guards.checks.cache',
    'GuardedCache': 'guards.checks.cache',
    'MISS': 'guards.checks.cache',
    'MissExplanation': 'guards.checks.cache',
    'CheckFunction': 'guards.checks.compiled',
    'compile_guards': 'guards.checks.compiled',
    'load_check': 'guards.checks.compiled',
    'DocumentError': 'guards.errors',
    'NotPortableError': 'guards.errors',
    'StaleDocumentError': 'guards.errors',
    'GuardBuildError': 'guards.errors',
    'GuardsError': 'guards.errors',
    'GuardsTypeError': 'guards.errors',
    'GuardsValueError': 'guards.errors',
    'Guard': 'guards.core.guard',
    'Provenance': 'guards.core.guard',
    'register_guard_kind': 'guards.core.builder',
    'unregister_guard_kind': 'guards.core.builder',
    'constant': 'guards.markers',
    'disable': 'guards.markers',
    'Config': 'guards.options',
    'config': 'guards.options',
    'AttrSource': 'guards.core.sources',
    'ChainedSource': 'guards.core.sources',
    'ClosureSource': 'guards.core.sources',
    'CodeSource': 'guards.core.sources',
    'ConstantSource': 'guards.core.sources',
    'DefaultsSource': 'guards.core.sources',
    'DictKeySource': 'guards.core.sources',
    'GetItemSource': 'guards.core.sources',
    'GlobalSource': 'guards.core.sources',
    'GlobalsSource': 'guards.core.sources',
    'GuardSource': 'guards.core.sources',
    'LocalSource': 'guards.core.sources',
    'ModuleSource': 'guards.core.sources',
    'SkipGuardSource': 'guards.core.sources',
    'Source': 'guards.core.sources',
    'TypeSource': 'guards.core.sources',
    'WeakRefCallSource': 'guards.core.sources',
    'StaleHitError': 'guards.errors',
    'specialize': 'guards.specialization.decorator',
    'CacheParameters': 'guards.specialization.decorator',
    'SpecializedFunction': 'guards.specialization.decorator',
    'SpecializedMethod': 'guards.specialization.decorator',
    'MissRecord': 'guards.specialization.history',
    'report': 'guards.specialization.report',
    'explain': 'guards.specialization.decorator',
    'UntrackedCallError': 'guards.errors',
    'NoTracingContextError': 'guards.errors',
    'TracingContext': 'guards.tracking.lazy',
    'current_tracing': 'guards.tracking.lazy',
    'install_guard': 'guards.tracking.lazy',
    'tracing': 'guards.tracking.lazy',
    'EmptyCellError': 'guards.errors',
    'LazyTracker': 'guards.tracking.lazy',
    'UntrackableError': 'guards.errors',
    'CheckResult': 'guards.checks.explain',
    'GuardFailure': 'guards.checks.explain',
    'Unreadable': 'guards.checks.explain',
    'MissingExtraError': 'guards.errors',
    'StoreWarning': 'guards.errors',
    'Loaded': 'guards.stores.fleet',
    'load_or_build': 'guards.stores.fleet',
    'Store': 'guards.stores.interface',
    'StoredEntry': 'guards.stores.interface',
    'StoreKey': 'guards.stores.interface',
    'StoreStats': 'guards.stores.interface',
    'RedisStore': 'guards.stores.redis_store',
    'PickleSerializer': 'guards.stores.serializers',
    'Serializer': 'guards.stores.serializers',
    'SQLiteStore': 'guards.stores.sqlite',
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
