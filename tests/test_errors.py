"""Errors users see: every public entry point rejects bad arguments with the library's own
error, naming the argument, its value and its type.

One table drives the test: ``(call, expected exception, words the message must hold)``.
A second test keeps the table honest: every public callable is either in it or in the
short list of records and exceptions, which the library makes and returns.
"""

from __future__ import annotations

import functools
import os
import traceback
from collections.abc import Callable
from typing import Any

import pytest

import guards
from guards import (
    CheckFunction,
    Config,
    GuardBuilder,
    GuardBuildError,
    GuardedCache,
    GuardsError,
    GuardsTypeError,
    GuardsValueError,
    LazyTracker,
    LocalSource,
    NoTracingContextError,
    TracingContext,
    UntrackableError,
    bind_args,
    compile_guards,
    config,
    constant,
    disable,
    install_guard,
    register_guard_kind,
    specialize,
    tracing,
    unregister_guard_kind,
)

PACKAGE_DIR = os.path.dirname(guards.__file__)
x = LocalSource("x")
TYPE_X = x.make_guard(GuardBuilder.TYPE_MATCH)


def checked() -> CheckFunction:
    return compile_guards([TYPE_X], {"x": 1})


def plain(a: int, b: int = 1) -> int:
    return a + b


class Opaque:
    """An object whose repr holds its memory address."""


def tracker(value: Any) -> LazyTracker:
    return TracingContext({"x": value}).local("x")


def builder() -> GuardBuilder:
    return GuardBuilder({"x": 1})


def cache_with_entry() -> GuardedCache:
    cache = GuardedCache()
    cache.add(checked(), "value")
    return cache


def install_inside_a_context(value: Any) -> None:
    with tracing({"x": 1}):
        install_guard(value)


def use_tracing(*args: Any, **kwargs: Any) -> None:
    with tracing(*args, **kwargs):
        pass


class Unhashable:
    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "Unhashable()"


def unknown_kind(builder: GuardBuilder, guard: Any) -> None:
    """A kind that is never registered."""


Case = tuple[str, Callable[[], Any], type[BaseException], list[str]]

CASES: list[Case] = [
    # -- sources: what tests/test_sources.py does not already cover
    ("Source is abstract", lambda: guards.Source(), GuardsTypeError, ["Source", "abstract"]),
    ("ChainedSource is abstract", lambda: guards.ChainedSource(x), GuardsTypeError,
     ["ChainedSource", "abstract"]),
    ("Source.get f_locals", lambda: x.get(None), GuardsTypeError,  # type: ignore[arg-type]
     ["f_locals", "None", "NoneType"]),
    ("Source.get f_globals", lambda: x.get({"x": 1}, [1]), GuardsTypeError,  # type: ignore[arg-type]
     ["f_globals", "[1]", "list"]),
    ("make_guard kind", lambda: x.make_guard(3), GuardsTypeError, ["kind", "3", "int"]),
    ("make_guard unknown kind name", lambda: x.make_guard("NOPE"), GuardsValueError,
     ["'NOPE'", "kind"]),
    ("make_guard unhashable argument",
     lambda: x.make_guard(GuardBuilder.DUPLICATE_INPUT, source_b=[1]), GuardsTypeError,
     ["source_b", "[1]", "list"]),
    # -- Guard
    ("Guard source", lambda: guards.Guard(3, "TYPE_MATCH"), GuardsTypeError,  # type: ignore[arg-type]
     ["source", "3", "int"]),
    ("Guard kind", lambda: guards.Guard(x, 3), GuardsTypeError,  # type: ignore[arg-type]
     ["kind", "3", "int"]),
    ("Guard args", lambda: guards.Guard(x, "TYPE_MATCH", args=3), GuardsTypeError,  # type: ignore[arg-type]
     ["args", "3", "int"]),
    # -- compile_guards and CheckFunction
    ("load_check text", lambda: guards.load_check(3), GuardsTypeError,  # type: ignore[arg-type]
     ["text", "3", "int"]),
    ("load_check not JSON", lambda: guards.load_check("{"), guards.DocumentError, ["not JSON"]),
    ("load_check version", lambda: guards.load_check('{"format": "guards.check", "version": 9}'),
     guards.DocumentError, ["version", "9"]),
    ("compile_guards guard_list", lambda: compile_guards(3, {}), GuardsTypeError,  # type: ignore[arg-type]
     ["guard_list", "3", "int"]),
    ("compile_guards one guard", lambda: compile_guards(TYPE_X, {"x": 1}), GuardsTypeError,  # type: ignore[arg-type]
     ["guard_list", "TYPE_MATCH", "Guard"]),
    ("compile_guards item", lambda: compile_guards([TYPE_X, "g"], {"x": 1}), GuardsTypeError,  # type: ignore[list-item]
     ["guard_list[1]", "'g'", "str"]),
    ("compile_guards f_locals", lambda: compile_guards([TYPE_X], None), GuardsTypeError,  # type: ignore[arg-type]
     ["f_locals", "None", "NoneType"]),
    ("compile_guards f_globals", lambda: compile_guards([TYPE_X], {"x": 1}, 3), GuardsTypeError,  # type: ignore[arg-type]
     ["f_globals", "3", "int"]),
    ("compile_guards missing local", lambda: compile_guards([TYPE_X], {}), GuardBuildError,
     ["L['x']", "KeyError"]),
    ("compile_guards unknown kind", lambda: compile_guards([guards.Guard(x, "NOPE")], {"x": 1}),
     GuardsValueError, ["'NOPE'", "L['x']"]),
    ("compile_guards a kind's bad argument",
     lambda: compile_guards([x.make_guard(GuardBuilder.TYPE_MATCH, size=2)], {"x": 1}),
     GuardBuildError, ["TYPE_MATCH", "L['x']", "size"]),
    ("check_verbose f_locals", lambda: checked().check_verbose([1]), GuardsTypeError,  # type: ignore[arg-type]
     ["f_locals", "[1]", "list"]),
    ("check_verbose f_globals", lambda: checked().check_verbose({"x": 1}, 5), GuardsTypeError,  # type: ignore[arg-type]
     ["f_globals", "5", "int"]),
    ("CheckFunction by hand", lambda: CheckFunction((), (), 3), GuardsTypeError,  # type: ignore[arg-type]
     ["generated", "3", "int"]),
    # -- GuardBuilder, for authors of guard kinds
    ("GuardBuilder f_locals", lambda: GuardBuilder(None), GuardsTypeError,  # type: ignore[arg-type]
     ["f_locals", "None", "NoneType"]),
    ("GuardBuilder f_globals", lambda: GuardBuilder({}, "g"), GuardsTypeError,  # type: ignore[arg-type]
     ["f_globals", "'g'", "str"]),
    ("GuardBuilder values", lambda: GuardBuilder({}, values=3), GuardsTypeError,  # type: ignore[arg-type]
     ["values", "3", "int"]),
    ("GuardBuilder.build guard", lambda: builder().build("g"), GuardsTypeError,  # type: ignore[arg-type]
     ["guard", "'g'", "str"]),
    ("GuardBuilder.get source", lambda: builder().get("x"), GuardsTypeError,  # type: ignore[arg-type]
     ["source", "'x'", "str"]),
    ("add_check guard", lambda: builder().add_check(3, "{0}", expected=1, describe="d"),  # type: ignore[arg-type]
     GuardsTypeError, ["guard", "3", "int"]),
    ("add_check expr", lambda: builder().add_check(TYPE_X, 3, expected=1, describe="d"),  # type: ignore[arg-type]
     GuardsTypeError, ["expr", "3", "int"]),
    ("add_check describe", lambda: builder().add_check(TYPE_X, "{0}", expected=1, describe=3),  # type: ignore[arg-type]
     GuardsTypeError, ["describe", "3", "int"]),
    ("add_check describe template",
     lambda: builder().add_check(TYPE_X, "{0}", expected=1, describe="{0} {5}"),
     GuardsValueError, ["describe", "'{0} {5}'", "IndexError"]),
    ("add_check cost", lambda: builder().add_check(TYPE_X, "{0}", expected=1, describe="d",
                                                   cost="cheap"),  # type: ignore[arg-type]
     GuardsTypeError, ["cost", "'cheap'", "str"]),
    ("add_check actual", lambda: builder().add_check(TYPE_X, "{0}", expected=1, describe="d",
                                                     actual=3),  # type: ignore[arg-type]
     GuardsTypeError, ["actual", "3", "int"]),
    ("add_check sources", lambda: builder().add_check(TYPE_X, "{0}", expected=1, describe="d",
                                                      sources=x),  # type: ignore[arg-type]
     GuardsTypeError, ["sources", "LocalSource", "x"]),
    ("add_check sources item", lambda: builder().add_check(TYPE_X, "{0}", expected=1,
                                                           describe="d", sources=("x",)),  # type: ignore[arg-type]
     GuardsTypeError, ["sources[0]", "'x'", "str"]),
    ("add_check no sources", lambda: builder().add_check(TYPE_X, "True", expected=1,
                                                         describe="d", sources=()),
     GuardsTypeError, ["sources", "()", "tuple"]),
    ("add_check unbound constant", lambda: builder().add_check(TYPE_X, "{0} is {Z}", expected=1,
                                                               describe="d"),
     GuardsValueError, ["'{0} is {Z}'", "{Z}"]),
    ("add_check not an expression", lambda: builder().add_check(TYPE_X, "{0} is", expected=1,
                                                                describe="d"),
     GuardsValueError, ["'{0} is'", "expression"]),
    ("add_check a statement", lambda: builder().add_check(TYPE_X, "{0}); import os; (1",
                                                          expected=1, describe="d"),
     GuardsValueError, ["import os", "expression"]),
    ("add_check a comment", lambda: builder().add_check(TYPE_X, "{0} # no", expected=1,
                                                        describe="d"),
     GuardsValueError, ["'{0} # no'", "expression"]),
    # -- registering guard kinds
    ("register_guard_kind function", lambda: register_guard_kind(3), GuardsTypeError,  # type: ignore[arg-type]
     ["function", "3", "int"]),
    ("register_guard_kind name type", lambda: register_guard_kind(name=3), GuardsTypeError,  # type: ignore[arg-type]
     ["name", "3", "int"]),
    ("register_guard_kind name", lambda: register_guard_kind(unknown_kind, name="a b"),
     GuardsValueError, ["name", "'a b'", "str"]),
    ("register_guard_kind taken", lambda: register_guard_kind(unknown_kind, name="TYPE_MATCH"),
     GuardsValueError, ["'TYPE_MATCH'", "registered"]),
    ("register_guard_kind builder name", lambda: register_guard_kind(unknown_kind, name="build"),
     GuardsValueError, ["'build'", "GuardBuilder.build"]),
    ("unregister_guard_kind type", lambda: unregister_guard_kind([1]), GuardsTypeError,  # type: ignore[arg-type]
     ["name", "[1]", "list"]),
    ("unregister_guard_kind unknown", lambda: unregister_guard_kind("NOPE"), GuardsValueError,
     ["'NOPE'", "unknown"]),
    ("unregister_guard_kind built-in", lambda: unregister_guard_kind("TYPE_MATCH"),
     GuardsValueError, ["'TYPE_MATCH'", "built in"]),
    # -- tracing contexts and trackers
    ("tracing f_locals", lambda: use_tracing(3), GuardsTypeError, ["f_locals", "3", "int"]),
    ("tracing f_globals", lambda: use_tracing({}, 3), GuardsTypeError, ["f_globals", "3", "int"]),
    ("tracing full_stack", lambda: use_tracing({}, full_stack="yes"), GuardsTypeError,
     ["full_stack", "'yes'", "str"]),
    ("tracing skip_guards_on_constant_func_defaults",
     lambda: use_tracing({}, skip_guards_on_constant_func_defaults=1), GuardsTypeError,
     ["skip_guards_on_constant_func_defaults", "1", "int"]),
    ("TracingContext f_locals", lambda: TracingContext([]), GuardsTypeError,  # type: ignore[arg-type]
     ["f_locals", "[]", "list"]),
    ("install_guard outside a context", lambda: install_guard(TYPE_X), NoTracingContextError,
     ["install_guard", "tracing"]),
    ("install_guard guard", lambda: install_inside_a_context("g"), GuardsTypeError,
     ["guard", "'g'", "str"]),
    ("TracingContext.install_guard", lambda: TracingContext({}).install_guard(3),  # type: ignore[arg-type]
     GuardsTypeError, ["guard", "3", "int"]),
    ("TracingContext.track", lambda: TracingContext({}).track("L['x']"), GuardsTypeError,  # type: ignore[arg-type]
     ["source", "\"L['x']\"", "str"]),
    ("TracingContext.local", lambda: TracingContext({}).local(3), GuardsTypeError,  # type: ignore[arg-type]
     ["local_name", "3", "int"]),
    ("TracingContext.global_var", lambda: TracingContext({}).global_var(None), GuardsTypeError,  # type: ignore[arg-type]
     ["global_name", "None", "NoneType"]),
    ("TracingContext.value_of", lambda: TracingContext({}).value_of("x"), GuardsTypeError,  # type: ignore[arg-type]
     ["source", "'x'", "str"]),
    ("LazyTracker context", lambda: LazyTracker(3, x), GuardsTypeError,  # type: ignore[arg-type]
     ["context", "3", "int"]),
    ("LazyTracker source", lambda: LazyTracker(TracingContext({}), "x"), GuardsTypeError,  # type: ignore[arg-type]
     ["source", "'x'", "str"]),
    ("tracker.attr", lambda: tracker(1).attr(3), GuardsTypeError, ["member", "3", "int"]),  # type: ignore[arg-type]
    ("tracker.hasattr", lambda: tracker(1).hasattr(b"a"), GuardsTypeError,  # type: ignore[arg-type]
     ["member", "b'a'", "bytes"]),
    ("tracker.item", lambda: tracker({}).item([1]), GuardsTypeError, ["index", "[1]", "list"]),
    ("tracker.item slice-like", lambda: tracker({}).item(Unhashable()), GuardsTypeError,
     ["index", "Unhashable()", "hashable"]),
    ("tracker.contains", lambda: tracker({}).contains([1]), GuardsTypeError,  # type: ignore[arg-type]
     ["index", "[1]", "list"]),
    ("tracker.isinstance", lambda: tracker(1).isinstance(3), GuardsTypeError,  # type: ignore[arg-type]
     ["classinfo", "3", "int"]),
    ("tracker.isinstance tuple", lambda: tracker(1).isinstance((int, "str")), GuardsTypeError,  # type: ignore[arg-type]
     ["classinfo", "'str'", "tuple"]),
    ("tracker.bind not a function", lambda: tracker(3).bind(), UntrackableError,
     ["L['x']", "3", "int"]),
    ("bind_args fn", lambda: bind_args(plain), UntrackableError,  # type: ignore[arg-type]
     ["fn", "plain", "function"]),
    ("bind_args args", lambda: bind_args(tracker(plain), 3), GuardsTypeError,  # type: ignore[arg-type]
     ["args", "3", "int"]),
    ("bind_args kwargs", lambda: bind_args(tracker(plain), (1,), [("b", 2)]), GuardsTypeError,  # type: ignore[arg-type]
     ["kwargs", "[('b', 2)]", "list"]),
    # -- GuardedCache
    ("GuardedCache max_entries type", lambda: GuardedCache(max_entries="8"), GuardsTypeError,  # type: ignore[arg-type]
     ["max_entries", "'8'", "str"]),
    ("GuardedCache max_entries bool", lambda: GuardedCache(max_entries=True), GuardsTypeError,
     ["max_entries", "True", "bool"]),
    ("GuardedCache max_entries value", lambda: GuardedCache(max_entries=0), GuardsValueError,
     ["max_entries", "0", "int"]),
    ("GuardedCache on_limit", lambda: GuardedCache(on_limit="drop"), GuardsValueError,  # type: ignore[arg-type]
     ["on_limit", "'drop'", "str"]),
    ("GuardedCache on_limit unhashable", lambda: GuardedCache(on_limit=["evict"]),  # type: ignore[arg-type]
     GuardsValueError, ["on_limit", "['evict']", "list"]),
    ("GuardedCache.add check", lambda: GuardedCache().add(lambda f_locals: True, 1),  # type: ignore[arg-type]
     GuardsTypeError, ["check", "lambda", "function"]),
    ("GuardedCache.lookup f_locals", lambda: GuardedCache().lookup(None), GuardsTypeError,  # type: ignore[arg-type]
     ["f_locals", "None", "NoneType"]),
    ("GuardedCache.lookup f_locals, with an entry", lambda: cache_with_entry().lookup([1]),  # type: ignore[arg-type]
     GuardsTypeError, ["f_locals", "[1]", "list"]),
    ("GuardedCache.lookup f_globals", lambda: GuardedCache().lookup({}, 7), GuardsTypeError,  # type: ignore[arg-type]
     ["f_globals", "7", "int"]),
    ("GuardedCache.find f_locals", lambda: GuardedCache().find("L"), GuardsTypeError,  # type: ignore[arg-type]
     ["f_locals", "'L'", "str"]),
    ("GuardedCache.explain f_locals", lambda: GuardedCache().explain(3), GuardsTypeError,  # type: ignore[arg-type]
     ["f_locals", "3", "int"]),
    ("GuardedCache.explain f_globals", lambda: GuardedCache().explain({}, 3), GuardsTypeError,  # type: ignore[arg-type]
     ["f_globals", "3", "int"]),
    ("GuardedCache.add_listener", lambda: GuardedCache().add_listener("call me"), GuardsTypeError,  # type: ignore[arg-type]
     ["listener", "'call me'", "str"]),
    # -- specialize
    ("specialize function", lambda: specialize(3), GuardsTypeError, ["function", "3", "int"]),  # type: ignore[call-overload]
    ("specialize a builtin", lambda: specialize(len), GuardsTypeError,  # type: ignore[call-overload]
     ["function", "len", "builtin_function_or_method"]),
    ("specialize an lru_cache wrapper", lambda: specialize(functools.lru_cache(plain)),  # type: ignore[call-overload]
     GuardsTypeError, ["function", "plain", "_lru_cache_wrapper", "specialize(plain.__wrapped__)"]),
    ("specialize a partial", lambda: specialize(functools.partial(plain, 1)), GuardsTypeError,  # type: ignore[call-overload]
     ["function", "functools.partial of plain", "specialize plain itself", "a def that calls"]),
    ("specialize an object", lambda: specialize(Opaque()), GuardsTypeError,  # type: ignore[call-overload]
     ["function", "an object of type", "Opaque"]),
    ("specialize max_entries", lambda: specialize(max_entries=0), GuardsValueError,
     ["max_entries", "0", "int"]),
    ("specialize max_entries type", lambda: specialize(max_entries=2.0), GuardsTypeError,  # type: ignore[call-overload]
     ["max_entries", "2.0", "float"]),
    ("specialize on_limit", lambda: specialize(on_limit="never"), GuardsValueError,  # type: ignore[call-overload]
     ["on_limit", "'never'", "str"]),
    ("specialize strict", lambda: specialize(strict=1), GuardsTypeError,  # type: ignore[call-overload]
     ["strict", "1", "int"]),
    ("specialize verify", lambda: specialize(plain, verify="yes"), GuardsTypeError,  # type: ignore[call-overload]
     ["verify", "'yes'", "str"]),
    # -- config, disable, constant
    ("config.patch unknown option", lambda: config.patch(stric=True), GuardsValueError,
     ["stric", "strict"]),
    ("config.patch value", lambda: config.patch(strict="yes"), GuardsTypeError,
     ["strict", "'yes'", "str"]),
    ("config attribute", lambda: setattr(config, "verify", 1), GuardsTypeError,
     ["verify", "1", "int"]),
    ("Config", lambda: Config(warn_uncached=None), GuardsTypeError,  # type: ignore[arg-type]
     ["warn_uncached", "None", "NoneType"]),
    ("disable fn", lambda: disable(3), GuardsTypeError, ["fn", "3", "int"]),  # type: ignore[call-overload]
    ("disable recursive", lambda: disable(plain, recursive="no"), GuardsTypeError,  # type: ignore[call-overload]
     ["recursive", "'no'", "str"]),
    ("constant fn", lambda: constant("pure"), GuardsTypeError, ["fn", "'pure'", "str"]),  # type: ignore[type-var]
    ("Config record_misses", lambda: Config(record_misses=1), GuardsTypeError,  # type: ignore[arg-type]
     ["record_misses", "1", "int"]),
    ("report functions", lambda: guards.report(plain, path=None), GuardsTypeError,
     ["functions[0]", "plain", "function"]),
    ("report path", lambda: guards.report(specialize(plain), path=3), GuardsTypeError,  # type: ignore[call-overload]
     ["path", "3", "int"]),
    # -- stores
    ("StoreKey fingerprint", lambda: guards.StoreKey("m", "f", 3), GuardsTypeError,  # type: ignore[arg-type]
     ["StoreKey.fingerprint", "3", "int"]),
    ("StoredEntry value", lambda: guards.StoredEntry("{}", "x"), GuardsTypeError,  # type: ignore[arg-type]
     ["StoredEntry.value", "'x'", "str"]),
    ("SQLiteStore key", lambda: guards.SQLiteStore(":memory:", key=b"short"), GuardsValueError,
     ["key", "16 bytes", "5 bytes"]),
    ("SQLiteStore path", lambda: guards.SQLiteStore(None), GuardsTypeError,  # type: ignore[arg-type]
     ["path", "None", "NoneType"]),
    ("RedisStore key", lambda: guards.RedisStore("redis://127.0.0.1:1/0"), GuardsValueError,
     ["key", "None", "allow_unsigned=True"]),
    ("load_or_build store", lambda: guards.load_or_build(
        {}, guards.StoreKey("m", "f", "x"), plain, plain), GuardsTypeError,  # type: ignore[arg-type]
     ["store", "{}", "dict"]),
]

#: Public callables that are records or exceptions: the library makes them (or users
#: raise them); they take any message, like built-in exceptions, or are plain data.
RECORDS_AND_EXCEPTIONS = {
    "BoundCall", "CacheChange", "CacheEntry", "CacheInfo", "Check", "CheckResult", "EntryFailure",
    "GuardFailure", "GuardSource", "MissExplanation", "MissRecord", "Provenance", "Unreadable",
    "CacheLimitError", "EmptyCellError", "GuardBuildError", "GuardsError", "GuardsTypeError",
    "GuardsValueError", "NoTracingContextError", "StaleHitError", "UntrackableError",
    "UntrackedCallError", "NotPortableError", "DocumentError", "StaleDocumentError",
    "current_tracing",  # takes no arguments
    "SpecializedFunction", "SpecializedMethod",  # protocols for type checkers, never called
    "CacheParameters",  # a TypedDict: a plain dict at run time, checks nothing
    "StoreStats", "Loaded", "MissingExtraError", "StoreWarning",
    "Store", "Serializer",  # protocols: never called
    "PickleSerializer",  # plain data: pickle itself checks its protocol
}

#: Sources' constructors are table-tested in tests/test_sources.py.
SOURCES = {
    "AttrSource", "ClosureSource", "CodeSource", "ConstantSource", "DefaultsSource",
    "DictKeySource", "GetItemSource", "GlobalSource", "GlobalsSource", "LocalSource",
    "ModuleSource", "SkipGuardSource",
    "TypeSource", "WeakRefCallSource",
}


@pytest.mark.parametrize(("name", "call", "error", "words"), CASES, ids=[c[0] for c in CASES])
def test_bad_argument_raises_the_librarys_error_naming_it(
    name: str, call: Callable[[], Any], error: type[BaseException], words: list[str]
) -> None:
    with pytest.raises(error) as info:
        call()
    exc = info.value
    assert isinstance(exc, GuardsError), f"{type(exc).__name__} is not a GuardsError"
    message = str(exc)
    for word in words:
        assert word in message, (word, message)
    assert "\n  File " not in message  # no traceback pasted into a message


def test_type_errors_are_type_errors_and_value_errors_value_errors() -> None:
    """Code written against the built-ins keeps working: except TypeError catches ours."""
    for name, call, error, _ in CASES:
        with pytest.raises(Exception) as info:
            call()
        if error is GuardsTypeError:
            assert isinstance(info.value, TypeError), name
        if error is GuardsValueError:
            assert isinstance(info.value, ValueError), name


def test_every_public_callable_is_covered() -> None:
    """A new entry point without a row in the table (or a reason not to have one) fails here."""
    covered = " ".join(name for name, *_ in CASES)
    missing = [
        name for name in guards.__all__
        if callable(getattr(guards, name))
        and name not in RECORDS_AND_EXCEPTIONS | SOURCES
        and name not in covered
    ]
    assert missing == []


def test_bad_input_to_check_is_a_failed_check_not_an_error() -> None:
    """The hot path never raises: a frame that is not a mapping simply does not pass."""
    check = checked()
    for bad in (None, 3, [1], "x", object()):
        assert check.check(bad) is False  # type: ignore[arg-type]
        assert check.check({"x": 1}, bad) is True  # the globals are not read by this check


@pytest.mark.parametrize(("name", "call", "error", "words"), CASES, ids=[c[0] for c in CASES])
def test_the_error_is_raised_on_purpose_by_the_library(
    name: str, call: Callable[[], Any], error: type[BaseException], words: list[str]
) -> None:
    """The raising frame is the library's own validation, not an assert or a failed
    lookup deep inside (and not Python rejecting the call's shape)."""
    with pytest.raises(GuardsError) as info:
        call()
    assert not isinstance(info.value, (AssertionError, KeyError, AttributeError, IndexError))
    innermost = traceback.extract_tb(info.value.__traceback__)[-1]
    assert innermost.filename.startswith(PACKAGE_DIR), innermost


def test_a_bad_call_of_a_specialized_function_raises_what_the_function_would() -> None:
    """Calls are bound by Python's rules: the same TypeError, naming the user's function."""
    fast = specialize(plain)
    for args in [(), (1, 2, 3)]:
        with pytest.raises(TypeError) as expected:
            plain(*args)
        with pytest.raises(TypeError) as got:
            fast(*args)
        assert str(got.value) == str(expected.value)
        with pytest.raises(TypeError) as explained:
            fast.explain(*args)
        assert str(explained.value) == str(expected.value)


def test_specialize_refusals_name_what_was_given_without_a_memory_address() -> None:
    """An address differs from run to run and says nothing: the type and name say what it was."""
    for given in [functools.lru_cache(plain), functools.partial(plain, 1), Opaque(), len]:
        with pytest.raises(GuardsTypeError) as info:
            specialize(given)  # type: ignore[call-overload]
        assert " at 0x" not in str(info.value), str(info.value)
