"""Guards as JSON: CheckFunction.to_json and guards.load_check.

Laws: every value kind round-trips exactly; a loaded check answers as the original
on the values it was built from and on mutated ones, and explains the same
failures; a document is a fixed point (load, write again: the same text).
Safety: loading a hostile document raises DocumentError or gives a check, imports
nothing and calls no user code.
"""

from __future__ import annotations

import decimal
import enum
import functools
import json
import os
import subprocess
import sys
import textwrap
import types
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

import guards
import guards.testing as S
from guards import (
    BUILTIN_KINDS,
    AttrSource,
    CheckFunction,
    ClosureSource,
    DocumentError,
    GetItemSource,
    GlobalsSource,
    GuardBuilder,
    LocalSource,
    ModuleSource,
    NotPortableError,
    SkipGuardSource,
    StaleDocumentError,
    TypeSource,
    WeakRefCallSource,
    compile_guards,
    load_check,
)
from guards.checks.portable import KIND_CODECS, NOT_PORTABLE_KINDS
from guards.core.tagged import decode_value, encode_value
from guards.core.values import same_value


# -- the value codec ---------------------------------------------------------------------
class Color(enum.Enum):
    RED = 1
    BLUE = "b"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Shown(enum.Enum):
    """Its members show themselves with code of their own: never written."""

    ONE = 1

    def __repr__(self) -> str:
        return "one"


hashable_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-(2**70), 2**70),
    st.floats(), st.text(max_size=4), st.sampled_from(["\ud800", "é", ""]),
    st.binary(max_size=4), st.complex_numbers(),
    st.decimals(allow_nan=False, allow_infinity=True),
    st.just(...), st.just(NotImplemented), st.sampled_from([int, str, len, json, json.dumps]),
    st.sampled_from(Color), st.sampled_from(Level),
)


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    hashable = st.recursive(hashable_scalars, lambda c: st.one_of(
        st.lists(c, max_size=3).map(tuple), st.frozensets(c, max_size=3)), max_leaves=4)
    return st.one_of(
        st.lists(children, max_size=3),
        st.lists(children, max_size=3).map(tuple),
        st.sets(hashable, max_size=4),
        st.frozensets(hashable, max_size=4),
        st.dictionaries(hashable, children, max_size=3),
        st.binary(max_size=3).map(bytearray),
        st.decimals(allow_nan=True),  # a signaling NaN has no hash: not in a set
        st.builds(range, st.integers(-5, 5), st.integers(-5, 5),
                  st.integers(1, 3) | st.integers(-3, -1)),
        st.builds(slice, children, children, children),
    )


values = st.recursive(hashable_scalars, _containers, max_leaves=12)


def _holds_set(value: Any) -> bool:
    t = type(value)
    if t in (set, frozenset):
        return len(value) > 1 or any(map(_holds_set, value))
    if t in (list, tuple):
        return any(map(_holds_set, value))
    if t is dict:
        return any(_holds_set(k) or _holds_set(v) for k, v in value.items())
    if t is slice:
        return any(map(_holds_set, (value.start, value.stop, value.step)))
    return False


@settings(max_examples=300, deadline=None)
@given(values)
def test_every_value_round_trips_exactly(value: Any) -> None:
    """decode(encode(v)) is v exactly: types, ints of any size, -0.0, NaN, sets' order."""
    text = json.dumps(encode_value(value), allow_nan=False)
    try:
        back = decode_value(json.loads(text), "value")
    except StaleDocumentError:
        # Only a set whose order adding its items again does not reproduce.
        assert _holds_set(value)
        return
    assert same_value(back, value) or (value != value and back != back)
    assert type(back) is type(value)
    assert json.loads(text) == encode_value(back)


def test_the_values_that_look_alike_stay_apart() -> None:
    """True is not 1, a tuple not a list, -0.0 not 0.0, bytes not bytearray, big ints exact."""
    for value in [True, 1, 1.0, -0.0, 0.0, (1,), [1], b"a", bytearray(b"a"), 2**5000,
                  -(2**64), {1: "a", "1": "b", 1.5: None, (): b""},
                  float("inf"), float("-inf"), decimal.Decimal("1.00"), frozenset({1}),
                  {frozenset({1}): (None, ...)}]:
        back = decode_value(json.loads(json.dumps(encode_value(value))), "v")
        assert type(back) is type(value)
        assert same_value(back, value)
        assert repr(back) == repr(value)
    nan = decode_value(encode_value(float("nan")), "v")
    assert nan != nan


def test_enum_members_are_named_by_class_and_name() -> None:
    frame = {"c": Color.BLUE, "l": [Level.HIGH, 2], "s": Shown.ONE}
    check = compile_guards([LocalSource("c").make_guard(GuardBuilder.ID_MATCH),
                            LocalSource("l").make_guard(GuardBuilder.EQUALS_MATCH)], frame)
    loaded = load_check(check.to_json())
    assert loaded.check(frame) is True
    assert loaded.check({**frame, "c": Color.RED}) is False
    assert loaded.check({**frame, "l": [2, 2]}) is False  # an int is not the IntEnum member
    shown = compile_guards([LocalSource("s").make_guard(GuardBuilder.EQUALS_MATCH)], frame)
    assert shown.portable_reason is not None and "enum" in shown.portable_reason
    text = check.to_json().replace('"name":"BLUE"', '"name":"GREEN"')
    with pytest.raises(StaleDocumentError, match="no member 'GREEN'"):
        load_check(text)


def test_a_value_the_codec_does_not_write_is_not_portable() -> None:
    class Local:
        pass

    with pytest.raises(NotPortableError, match="Local"):
        encode_value(Local)
    with pytest.raises(NotPortableError, match="neither a class"):
        encode_value(Local())


# -- guard sets round-trip ---------------------------------------------------------------
def _portable_guards(scenario: S.Scenario) -> CheckFunction:
    """The scenario's guards that can be written, compiled together."""
    kept = [g for g in scenario.guards
            if compile_guards([g], scenario.f_locals, scenario.f_globals).portable_reason
            is None]
    return compile_guards(kept, scenario.f_locals, scenario.f_globals)


def _failures(check: CheckFunction, f_locals: Any, f_globals: Any) -> list[tuple[str, str]]:
    result = check.check_verbose(f_locals, f_globals)
    return [(str(f.guard), f.check.description) for f in result.failures]


def _load(check: CheckFunction) -> CheckFunction | None:
    try:
        return load_check(check.to_json())
    except StaleDocumentError as exc:
        assert "order" in str(exc)  # a set this process iterates otherwise
        return None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(S.scenarios(), st.data())
def test_a_loaded_check_answers_and_explains_as_the_original(
    scenario: S.Scenario, data: st.DataObject
) -> None:
    """load_check(c.to_json()) passes and fails where c does, with the same failures."""
    original = _portable_guards(scenario)
    loaded = _load(original)
    assume(loaded is not None)
    assert loaded is not None
    assert loaded.guards == original.guards
    assert loaded.to_json() == original.to_json()
    f_locals, f_globals = scenario.f_locals, scenario.f_globals
    assert loaded.check(f_locals, f_globals) is True
    for mutation in data.draw(st.lists(S.mutations(scenario.found), max_size=3)):
        mutation.apply(f_locals, f_globals)
        assert loaded.check(f_locals, f_globals) is original.check(f_locals, f_globals)
        assert _failures(loaded, f_locals, f_globals) == _failures(original, f_locals, f_globals)


@settings(max_examples=100, deadline=None)
@given(S.scenarios())
def test_a_check_is_portable_exactly_when_to_json_works(scenario: S.Scenario) -> None:
    check = compile_guards(scenario.guards, scenario.f_locals, scenario.f_globals)
    reason = check.portable_reason
    if reason is None:
        assert load_check(check.to_json()).guards == check.guards
    else:
        with pytest.raises(NotPortableError) as info:
            check.to_json()
        assert info.value.reason == reason


@settings(max_examples=200, deadline=None)
@given(values, values)
def test_equals_match_on_any_value_round_trips(value: Any, other: Any) -> None:
    frame = {"x": value}
    check = compile_guards([LocalSource("x").make_guard(GuardBuilder.EQUALS_MATCH)], frame)
    if check.portable_reason is not None:
        assert "NaN" in check.portable_reason
        return
    loaded = _load(check)
    assume(loaded is not None)
    assert loaded is not None
    assert loaded.check(frame) is True
    assert loaded.check({"x": other}) is check.check({"x": other})


# -- every kind ------------------------------------------------------------------------------
def module_function(x: int) -> int:
    return x + 1


class ModuleClass:
    def method(self) -> int:
        return 1


def make_adder(k: int) -> Any:
    def add(y: int) -> int:
        return y + k
    return add


def _frame() -> tuple[dict[str, Any], dict[str, Any]]:
    target = ModuleClass()
    return ({"x": 3, "f": module_function, "g": make_adder(2), "o": target, "s": [1, 2.0, -0.0],
             "d": {"k": 1, 2: None}, "t": (1, "a"), "b": True, "n": None, "z": frozenset({7}),
             "r": weakref.ref(ModuleClass), "c": make_adder(5), "cls": ModuleClass,
             "e": float("nan")},
            {"G": 1})


def _example(kind: str) -> list[Any]:
    x, s, d = LocalSource("x"), LocalSource("s"), LocalSource("d")
    cell = AttrSource(GetItemSource(ClosureSource(LocalSource("c")), 0), "cell_contents")
    make = {
        "DUPLICATE_INPUT": lambda: x.make_guard(GuardBuilder.DUPLICATE_INPUT, source_b=x),
        "NO_ALIASING": lambda: x.make_guard(GuardBuilder.NO_ALIASING, others=(s, d)),
        "HASATTR": lambda: AttrSource(LocalSource("o"), "method").make_guard(
            GuardBuilder.HASATTR),
        "DICT_CONTAINS": lambda: GetItemSource(d, 2).make_guard(GuardBuilder.DICT_CONTAINS),
        "CELL_EMPTY": lambda: cell.make_guard(GuardBuilder.CELL_EMPTY),
        "BUILTIN_MATCH": lambda: GetItemSource(GlobalsSource(), "len").make_guard(
            GuardBuilder.BUILTIN_MATCH),
        "WEAKREF_ALIVE": lambda: WeakRefCallSource(LocalSource("r")).make_guard(
            GuardBuilder.WEAKREF_ALIVE),
        "CLASS_KEYS_MATCH": lambda: AttrSource(LocalSource("cls"), "__dict__").make_guard(
            GuardBuilder.CLASS_KEYS_MATCH),
        "COMPARE_MATCH": lambda: x.make_guard(
            functools.partial(GuardBuilder.COMPARE_MATCH, op=">", other=LocalSource("b"),
                              apply=("%", 2))),
        "PREDICATE_MATCH": lambda: GetItemSource(LocalSource("t"), 1).make_guard(
            functools.partial(GuardBuilder.PREDICATE_MATCH, method="isalpha")),
        "CONTAINS_MATCH": lambda: x.make_guard(
            functools.partial(GuardBuilder.CONTAINS_MATCH, container=LocalSource("z"))),
        "DECIMAL_CONTEXT_MATCH": lambda: ModuleSource("decimal").make_guard(
            GuardBuilder.DECIMAL_CONTEXT_MATCH),
        "NDARRAY_MATCH": lambda: x.make_guard(GuardBuilder.NDARRAY_MATCH),
        "SEQUENCE_VALUES_MATCH": lambda: s.make_guard(GuardBuilder.SEQUENCE_VALUES_MATCH),
        "DICT_KEYS_MATCH": lambda: d.make_guard(GuardBuilder.DICT_KEYS_MATCH),
        "SEQUENCE_LENGTH": lambda: s.make_guard(GuardBuilder.SEQUENCE_LENGTH),
        "BOOL_MATCH": lambda: LocalSource("b").make_guard(GuardBuilder.BOOL_MATCH),
        "NONE_MATCH": lambda: LocalSource("n").make_guard(GuardBuilder.NONE_MATCH),
        "TRUTH_MATCH": lambda: s.make_guard(GuardBuilder.TRUTH_MATCH),
        "CLOSURE_MATCH": lambda: LocalSource("g").make_guard(GuardBuilder.CLOSURE_MATCH),
        "FUNCTION_MATCH": lambda: LocalSource("f").make_guard(GuardBuilder.FUNCTION_MATCH),
        "ID_MATCH": lambda: TypeSource(LocalSource("o")).make_guard(GuardBuilder.ID_MATCH),
        "TYPE_MATCH": lambda: LocalSource("o").make_guard(GuardBuilder.TYPE_MATCH),
        "EQUALS_MATCH": lambda: LocalSource("e").make_guard(GuardBuilder.EQUALS_MATCH),
    }.get(kind, lambda: LocalSource("t").make_guard(getattr(GuardBuilder, kind)))
    return [make()]


scalar_values = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                          st.text(max_size=4), st.binary(max_size=3), st.complex_numbers())


def _scalar_guards(value: Any, other: Any) -> list[Any]:
    x, y = LocalSource("x"), LocalSource("y")
    made = [x.make_guard(functools.partial(GuardBuilder.CONTAINS_MATCH,
                                           container=LocalSource("c")))]
    for op in (">", "<=", "==", "!="):
        made.append(x.make_guard(functools.partial(GuardBuilder.COMPARE_MATCH, op=op, other=y)))
        made.append(x.make_guard(functools.partial(GuardBuilder.COMPARE_MATCH, op=op,
                                                   other=other)))
    if type(value) in (int, float) and type(other) in (int, float):
        made.append(x.make_guard(functools.partial(GuardBuilder.COMPARE_MATCH, op="==",
                                                   other=0, apply=("%", other))))
    if type(value) in (str, bytes):
        made.append(x.make_guard(functools.partial(GuardBuilder.COMPARE_MATCH, op=">",
                                                   other=2, apply=("len",))))
        made.append(x.make_guard(functools.partial(GuardBuilder.PREDICATE_MATCH,
                                                   method="startswith", args=(value[:1],))))
        made.append(x.make_guard(functools.partial(GuardBuilder.PREDICATE_MATCH,
                                                   method="isdigit")))
    if type(value) is float:
        made.append(x.make_guard(functools.partial(GuardBuilder.PREDICATE_MATCH,
                                                   method="is_integer")))
    return made


@settings(max_examples=200, deadline=None)
@given(scalar_values, scalar_values, st.lists(scalar_values, max_size=3), st.data())
def test_comparisons_and_predicates_round_trip(
    value: Any, other: Any, table: list[Any], data: st.DataObject
) -> None:
    """COMPARE_MATCH, PREDICATE_MATCH and CONTAINS_MATCH keep only outcomes: loaded from
    them, a check answers as the original on any new scalars."""
    frame = {"x": value, "y": other, "c": frozenset(v for v in table if v == v)}
    built = []
    for guard in _scalar_guards(value, other):
        try:
            built.append(compile_guards([guard], frame))
        except guards.GuardBuildError:
            continue  # a comparison the kind does not take (complex > ..., str > int)
    for check in built:
        loaded = load_check(check.to_json())
        assert [_shape(c) for c in loaded.checks] == [_shape(c) for c in check.checks]
        for _ in range(3):
            new = {**frame, "x": data.draw(scalar_values), "y": data.draw(scalar_values)}
            assert loaded.check(new) is check.check(new)
            assert _failures(loaded, new, None) == _failures(check, new, None)


def _shape(check: Any) -> tuple[Any, ...]:
    # The guard by its text: a guard with a NaN argument equals no copy of itself.
    return (str(check.guard), check.sources, check.expr, check.description, check.cost,
            check.label, tuple(name for name, _ in check.constants), repr(check.expected))


def test_every_kind_is_written_or_named_as_not_portable() -> None:
    """The kinds of docs/guard-kinds.md: each round-trips, or its reason says why not."""
    assert set(KIND_CODECS) | set(NOT_PORTABLE_KINDS) == set(BUILTIN_KINDS)
    assert not set(KIND_CODECS) & set(NOT_PORTABLE_KINDS)
    documented = Path(__file__).parent.parent.joinpath("docs", "persistence.md").read_text()
    for kind in BUILTIN_KINDS:
        assert f"`{kind}`" in documented, kind
        f_locals, f_globals = _frame()
        if kind == "NDARRAY_MATCH":
            numpy = pytest.importorskip("numpy")
            f_locals["x"] = numpy.arange(3)
        check = compile_guards(_example(kind), f_locals, f_globals)
        if kind in NOT_PORTABLE_KINDS:
            assert check.portable_reason is not None
            assert kind in check.portable_reason
            continue
        assert check.portable_reason is None, (kind, check.portable_reason)
        loaded = load_check(check.to_json())
        assert [_shape(c) for c in loaded.checks] == [_shape(c) for c in check.checks], kind
        assert loaded.check(f_locals, f_globals) is True
        assert loaded.to_json() == check.to_json()


def test_a_closure_matches_by_code_and_cells_keep_their_labels() -> None:
    f_locals, f_globals = _frame()
    cell = AttrSource(GetItemSource(ClosureSource(LocalSource("c")), 0), "cell_contents")
    check = compile_guards([LocalSource("c").make_guard(GuardBuilder.CLOSURE_MATCH),
                            cell.make_guard(GuardBuilder.EQUALS_MATCH)], f_locals, f_globals)
    loaded = load_check(check.to_json())
    assert loaded.check({"c": make_adder(5)}) is True
    assert loaded.check({"c": make_adder(6)}) is False
    assert loaded.check({"c": module_function}) is False
    failure = loaded.check_verbose({"c": make_adder(6)}).failures[0]
    assert failure.label == "k"


def test_dropped_guards_are_written_and_make_no_check() -> None:
    f_locals, _ = _frame()
    skipped = SkipGuardSource(LocalSource("x"))
    check = compile_guards([skipped.make_guard(GuardBuilder.TYPE_MATCH),
                            LocalSource("s").make_guard(GuardBuilder.TYPE_MATCH)], f_locals)
    loaded = load_check(check.to_json())
    assert loaded.dropped_guards == check.dropped_guards
    assert loaded.check({"x": "anything", "s": []}) is True


def test_a_dropped_guard_that_cannot_be_written_is_left_out() -> None:
    """Regression: its source was half entered in the table, shifting later indexes."""
    key = ModuleClass()  # hashable, but has no name in another process
    frame = {"d": {key: 1}, "s": [1]}
    skipped = GetItemSource(SkipGuardSource(LocalSource("d")), key)
    check = compile_guards([skipped.make_guard(GuardBuilder.TYPE_MATCH),
                            skipped.make_guard(GuardBuilder.NOT_NONE_MATCH),
                            LocalSource("s").make_guard(GuardBuilder.SEQUENCE_LENGTH)], frame)
    loaded = load_check(check.to_json())
    assert loaded.dropped_guards == ()
    assert loaded.guards == check.guards
    assert loaded.check(frame) is True
    assert loaded.check({**frame, "s": [1, 2]}) is False


# -- what cannot be written ----------------------------------------------------------------
def test_identity_of_an_arbitrary_object_is_not_portable() -> None:
    frame = {"o": ModuleClass()}
    check = compile_guards([LocalSource("o").make_guard(GuardBuilder.ID_MATCH)], frame)
    reason = check.portable_reason
    assert reason is not None and "ID_MATCH(L['o'])" in reason
    assert "identity" in reason
    with pytest.raises(NotPortableError, match="identity") as info:
        check.to_json()
    assert info.value.reason == reason


def test_a_class_with_a_hooking_metaclass_is_not_portable() -> None:
    check = compile_guards([LocalSource("v").make_guard(GuardBuilder.ID_MATCH)], {"v": Hooked})
    assert check.portable_reason is not None
    assert "metaclass" in check.portable_reason


def test_a_lambda_and_a_local_class_are_not_portable() -> None:
    class Local:
        pass

    for value in [lambda: 1, Local]:
        check = compile_guards([LocalSource("v").make_guard(GuardBuilder.ID_MATCH)],
                               {"v": value})
        assert check.portable_reason is not None
        assert "cannot be found by its name" in check.portable_reason


def test_a_user_kind_is_not_portable() -> None:
    @guards.register_guard_kind
    def ALWAYS(builder: GuardBuilder, guard: Any) -> None:
        builder.add_check(guard, "True", expected=True, describe="always")

    try:
        check = compile_guards([LocalSource("x").make_guard(GuardBuilder.ALWAYS)], {"x": 1})
        assert check.portable_reason is not None
        assert "ALWAYS is not a built-in kind" in check.portable_reason
    finally:
        guards.unregister_guard_kind("ALWAYS")


# -- names and fingerprints -----------------------------------------------------------------
@pytest.fixture
def module_dir(tmp_path: Path) -> Iterator[Path]:
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    for name in [n for n in sys.modules if n.startswith("portable_probe")]:
        del sys.modules[name]


def _write_module(directory: Path, name: str, body: str) -> None:
    directory.joinpath(f"{name}.py").write_text(textwrap.dedent(body))


MODULE_V1 = """
    class Config:
        def scale(self):
            return 2

    def step(x):
        return x + 1
"""


def _guards_on_module(module: Any) -> tuple[CheckFunction, dict[str, Any]]:
    frame = {"cfg": module.Config(), "fn": module.step}
    check = compile_guards([LocalSource("cfg").make_guard(GuardBuilder.TYPE_MATCH),
                            LocalSource("fn").make_guard(GuardBuilder.FUNCTION_MATCH)], frame)
    return check, frame


def test_a_changed_class_or_a_missing_module_is_refused(module_dir: Path) -> None:
    import importlib

    _write_module(module_dir, "portable_probe_a", MODULE_V1)
    module = importlib.import_module("portable_probe_a")
    check, frame = _guards_on_module(module)
    text = check.to_json()
    assert load_check(text).check(frame) is True
    # The same code under another process's view: a fresh import of the same file.
    del sys.modules["portable_probe_a"]
    before = set(sys.modules)
    with pytest.raises(StaleDocumentError, match="not imported") as info:
        load_check(text)
    assert info.value.name == "portable_probe_a.Config"
    assert set(sys.modules) == before  # loading imported nothing
    _write_module(module_dir, "portable_probe_a", MODULE_V1.replace("return 2", "return 3"))
    importlib.invalidate_caches()
    changed = importlib.import_module("portable_probe_a")
    with pytest.raises(StaleDocumentError, match="another fingerprint"):
        load_check(text)
    # The method of the first version again: the class is the same code as the one written,
    # and so is step (unchanged): both are found.
    changed.Config.scale = module.Config.scale
    loaded = load_check(text)
    assert loaded.check({"cfg": changed.Config(), "fn": changed.step}) is True
    changed.step = module_function
    with pytest.raises(StaleDocumentError, match=r"function portable_probe_a\.step"):
        load_check(text)


def test_the_same_code_reimported_is_the_same_name(module_dir: Path) -> None:
    import importlib

    _write_module(module_dir, "portable_probe_b", MODULE_V1)
    first = importlib.import_module("portable_probe_b")
    check, _ = _guards_on_module(first)
    text = check.to_json()
    del sys.modules["portable_probe_b"]
    second = importlib.import_module("portable_probe_b")
    assert second is not first
    loaded = load_check(text)
    assert loaded.check({"cfg": second.Config(), "fn": second.step}) is True
    assert loaded.check({"cfg": first.Config(), "fn": second.step}) is False


def test_a_document_from_another_process_loads_here(module_dir: Path) -> None:
    """A second Python process writes the document; this one loads and checks it."""
    import importlib

    _write_module(module_dir, "portable_probe_c", MODULE_V1 + """
    def make(k):
        def inner(y):
            return y * k
        return inner
    """)
    writer = textwrap.dedent("""
        import sys
        import guards
        import portable_probe_c as m
        from guards import GuardBuilder, LocalSource, AttrSource, GetItemSource, ClosureSource
        frame = {"cfg": m.Config(), "fn": m.step, "g": m.make(3),
                 "data": {"sizes": (1, 2**80, -0.0), "name": "x"}}
        cell = AttrSource(GetItemSource(ClosureSource(LocalSource("g")), 0), "cell_contents")
        check = guards.compile_guards([
            LocalSource("cfg").make_guard(GuardBuilder.TYPE_MATCH),
            LocalSource("fn").make_guard(GuardBuilder.FUNCTION_MATCH),
            LocalSource("g").make_guard(GuardBuilder.CLOSURE_MATCH),
            cell.make_guard(GuardBuilder.EQUALS_MATCH),
            LocalSource("data").make_guard(GuardBuilder.EQUALS_MATCH),
        ], frame)
        sys.stdout.write(check.to_json())
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(module_dir), str(Path(guards.__file__).parent.parent)]))
    done = subprocess.run([sys.executable, "-c", writer], capture_output=True, text=True,
                          env=env, check=True, timeout=120)
    text = done.stdout
    before = set(sys.modules)
    with pytest.raises(StaleDocumentError, match="not imported"):
        load_check(text)
    assert set(sys.modules) == before
    module = importlib.import_module("portable_probe_c")
    loaded = load_check(text)
    frame = {"cfg": module.Config(), "fn": module.step, "g": module.make(3),
             "data": {"sizes": (1, 2**80, -0.0), "name": "x"}}
    assert loaded.check(frame) is True
    for name, other in [("cfg", ModuleClass()), ("fn", module_function), ("g", module.make(4)),
                        ("data", {"sizes": (1, 2**80, 0.0), "name": "x"})]:
        assert loaded.check({**frame, name: other}) is False, name
    failures = loaded.check_verbose({**frame, "g": module.make(4)}).failures
    assert [f.label for f in failures] == ["k"]


# -- hostile documents -----------------------------------------------------------------------
def _document() -> str:
    f_locals, f_globals = _frame()
    kinds = [k for k in KIND_CODECS if k != "EQUALS_MATCH"]
    return compile_guards([g for k in kinds for g in _example(k)] + [
        LocalSource("t").make_guard(GuardBuilder.EQUALS_MATCH),
        LocalSource("d").make_guard(GuardBuilder.EQUALS_MATCH),
    ], f_locals, f_globals).to_json()


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: "{", "not JSON"),
    (lambda d: "[]", "must be a JSON object"),
    (lambda d: d.replace('"version":1', '"version":2'), "version must be 1"),
    (lambda d: d.replace('"version":1', '"version":true'), "version must be 1"),
    (lambda d: d.replace('"guards.check"', '"pickle"'), "format must be"),
    (lambda d: d.replace('"TYPE_MATCH"', '"EVAL_MATCH"', 1), r"guards\[\d+\].kind must be"),
    (lambda d: d.replace('"LocalSource"', '"EvalSource"', 1), r"sources\[0\].class must be"),
    (lambda d: d.replace('"local_name":"x"', '"local_name":7', 1), "LocalSource.local_name"),
    (lambda d: d.replace('"base":0', '"base":999', 1), "index into the"),
    (lambda d: d.replace('"builtin","name":"list"', '"builtin","name":"no_such_name"', 1),
     "is not a builtin here"),
    (lambda d: d.replace('"builtin","name":"list"', '"builtin","name":"eval"', 1),
     "must be a class"),
    (lambda d: d.replace('"$":"builtin"', '"$":"pickle"', 1), "known value tag"),
    (lambda d: d.replace('"format"', '"format":1,"format"', 1), "repeats the keys"),
    (lambda d: d[:-1] + ',"extra":1}', "unknown fields"),
    (lambda d: '{"format":"guards.check","version":1,"x":' + "[" * 100000 + "]" * 100000 + "}",
     "nests too deeply"),
    (lambda d: d.replace('"version":1', '"version":NaN'), "non-JSON number"),
    (lambda d: d.replace('"sources":[', '"sources":[{"class":"LocalSource","local_name":"x"},'
                         + "".join(f'{{"class":"AttrSource","base":{i},"member":"a"}},'
                                   for i in range(2000)), 1),
     "more than 1000 steps"),
    (lambda d: d.replace('"$":"float","repr":"2.0"', '"$":"float","repr":"two"', 1),
     "float's repr"),
    (lambda d: d.replace(f'"module":"{__name__}"', '"module":"os"', 1),
     "has no such name|not imported"),
    (lambda d: d.replace('"qualname":"ModuleClass"', '"qualname":"Hooked"', 1),
     "metaclass whose hooks"),
])
def test_a_malformed_document_is_refused_by_name(change: Any, message: str) -> None:
    text = change(_document())
    with pytest.raises(DocumentError, match=message):
        load_check(text)


class _Recorder(type):
    """Every hook that could run records its call."""

    calls: list[str] = []  # noqa: RUF012

    def __getattr__(cls, name: str) -> Any:
        _Recorder.calls.append(f"getattr {name}")
        raise AttributeError(name)


class Hooked(metaclass=_Recorder):
    """A class whose metaclass would record attribute reads: never loaded."""


class Recorded:
    def __eq__(self, other: object) -> bool:
        _Recorder.calls.append("eq")
        return False

    def __hash__(self) -> int:
        _Recorder.calls.append("hash")
        return 0


def _module_getattr(name: str) -> Any:
    _Recorder.calls.append(f"module getattr {name}")
    raise AttributeError(name)


def _recorded_function(x: int) -> int:
    _Recorder.calls.append("called")
    return x


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=6),
              st.sampled_from(["$", "class", "base", "facts", "int", "tuple", "set",
                               __name__, "Recorded", "Hooked", "portable_probe_hook",
                               "_recorded_function", "os", "subprocess", "json"])),
    lambda c: st.one_of(st.lists(c, max_size=4),
                        st.dictionaries(st.sampled_from(["$", "class", "base", "index",
                                                         "items", "module", "qualname",
                                                         "fingerprint", "name", "source",
                                                         "kind", "args", "facts", "hex"]),
                                        c, max_size=4)),
    max_leaves=12)


def _mutate(document: Any, data: st.DataObject) -> Any:
    if type(document) is dict and document:
        key = data.draw(st.sampled_from(sorted(document)))
        choice = data.draw(st.integers(0, 3))
        if choice == 0:
            return {k: v for k, v in document.items() if k != key}
        if choice == 1:
            return {**document, key: data.draw(json_values)}
        return {**document, key: _mutate(document[key], data)}
    if type(document) is list and document:
        i = data.draw(st.integers(0, len(document) - 1))
        replaced = list(document)
        replaced[i] = (_mutate(document[i], data) if data.draw(st.booleans())
                       else data.draw(json_values))
        return replaced
    return data.draw(json_values)


def _hook_document() -> str:
    """A document naming the recording class and function of the probe module."""
    frame = {"o": Recorded(), "f": _recorded_function, "m": json}
    text = compile_guards([LocalSource("o").make_guard(GuardBuilder.TYPE_MATCH),
                           LocalSource("f").make_guard(GuardBuilder.ID_MATCH),
                           LocalSource("m").make_guard(GuardBuilder.ID_MATCH)], frame).to_json()
    return text


@pytest.fixture(scope="module")
def hook_module() -> Iterator[None]:
    module = types.ModuleType("portable_probe_hook")
    setattr(module, "__getattr__", _module_getattr)  # noqa: B010
    sys.modules["portable_probe_hook"] = module
    yield
    del sys.modules["portable_probe_hook"]


@settings(max_examples=400, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
@given(st.data())
def test_a_fuzzed_document_raises_document_error_or_loads_and_runs_nothing(
    hook_module: None, data: st.DataObject
) -> None:
    """Mutations of real documents and random JSON: only DocumentError or a CheckFunction;
    no module imported, no user hook or function called."""
    if data.draw(st.booleans()):
        base = json.loads(data.draw(st.sampled_from([_document(), _hook_document()])))
        fuzzed = base
        for _ in range(data.draw(st.integers(1, 4))):
            fuzzed = _mutate(fuzzed, data)
        text = json.dumps(fuzzed)
    else:
        text = data.draw(st.one_of(json_values.map(json.dumps), st.text(max_size=40)))
    before = set(sys.modules)
    _Recorder.calls.clear()
    try:
        loaded = load_check(text)
    except DocumentError:
        pass
    else:
        assert type(loaded) is CheckFunction
    assert set(sys.modules) == before
    assert _Recorder.calls == []


def test_the_hook_document_loads_without_calling_its_hooks(hook_module: None) -> None:
    _Recorder.calls.clear()
    loaded = load_check(_hook_document())
    assert loaded.check({"o": Recorded(), "f": _recorded_function, "m": json}) is True
    with pytest.raises(StaleDocumentError, match="runs code on attribute reads"):
        load_check(_hook_document().replace('"name":"json"', '"name":"portable_probe_hook"'))
    assert _Recorder.calls == []
    with pytest.raises(NotPortableError, match="runs code on attribute reads"):
        compile_guards([LocalSource("m").make_guard(GuardBuilder.ID_MATCH)],
                       {"m": sys.modules["portable_probe_hook"]}).to_json()


def _constant_rate(x: int) -> int:
    return x * 2


@guards.constant
def constant_lookup(x: int) -> int:
    """Untraced: what it returns depends on _constant_rate, whose code no guard names."""
    return _constant_rate(x)


@guards.constant
class ConstantTable:
    def __init__(self, x: int) -> None:
        self.x = _constant_rate(x)


class DerivedTable(ConstantTable):
    pass


def later_marked(x: int) -> int:
    return _constant_rate(x)


def test_a_function_marked_constant_is_not_named_across_processes() -> None:
    # Its fingerprint is its own code's; what it returns depends on code it calls.
    for obj in (constant_lookup, ConstantTable, DerivedTable):
        check = compile_guards([LocalSource("f").make_guard(GuardBuilder.ID_MATCH)], {"f": obj})
        assert check.portable_reason is not None
        assert "guards.constant" in check.portable_reason
    frame = {"f": later_marked}
    text = compile_guards([LocalSource("f").make_guard(GuardBuilder.ID_MATCH)], frame).to_json()
    later_marked.__guards_constant__ = True  # type: ignore[attr-defined]
    try:
        with pytest.raises(StaleDocumentError, match=r"guards\.constant"):
            guards.load_check(text)
    finally:
        del later_marked.__guards_constant__  # type: ignore[attr-defined]
    assert guards.load_check(text).check(frame)


def test_a_specialized_call_of_a_constant_function_stays_local(tmp_path: Path) -> None:
    store = guards.SQLiteStore(tmp_path / "entries.db")

    @guards.specialize(store=store)
    def price(x: int) -> int:
        return constant_lookup(x) + 1

    assert price(5) == 11 and price.cache.info().entries == 1
    assert store.stats().puts == 0


def _shade(red: int, green: int = 10) -> type[enum.Enum]:
    class Shade(enum.Enum):
        RED = red
        GREEN = green

    Shade.__qualname__ = "Shade"
    Shade.__module__ = __name__
    return Shade


Shade = _shade(1)


def test_an_enum_member_of_another_value_is_another_member() -> None:
    # A member is named by class and name, and no guard reads its value: a class whose
    # members have other values (the next version of the program) must not match.
    global Shade
    frame = {"c": Shade.RED}
    check = compile_guards([LocalSource("c").make_guard(GuardBuilder.CONSTANT_MATCH)], frame)
    text = check.to_json()
    assert guards.load_check(text).check(frame)
    original = Shade
    try:
        for red, green in ((2, 10), (1, 11), (10, 1)):
            Shade = _shade(red, green)
            with pytest.raises(StaleDocumentError, match="another fingerprint"):
                guards.load_check(text)
        Shade = _shade(1)  # the same members and values: the same class, for a document
        assert guards.load_check(text).check({"c": Shade.RED})
    finally:
        Shade = original


COLLIDING = [i * ((1 << 61) - 1) for i in range(65)]  # every one hashes to 0


@pytest.mark.parametrize("tag", ["set", "frozenset", "dict"])
def test_a_document_of_values_with_one_hash_is_refused(tag: str) -> None:
    # Each value that shares a hash probes past all the others: loading n of them
    # would cost n**2 (a hostile document of 64 MiB: hours).
    check = compile_guards([LocalSource("x").make_guard(GuardBuilder.EQUALS_MATCH)], {"x": 1})
    doc = json.loads(check.to_json())
    items: list[Any] = [encode_value(k) for k in COLLIDING]
    if tag == "dict":
        items = [[k, 0] for k in items]
    doc["guards"][0]["facts"]["value"] = {"$": tag, "items": items}
    with pytest.raises(DocumentError, match="values with one hash"):
        load_check(json.dumps(doc))
    keys = [encode_value(k) for k in COLLIDING[:64]]  # as many as may share one: loaded
    doc["guards"][0]["facts"]["value"] = {"$": "dict", "items": [[k, 0] for k in keys]}
    assert load_check(json.dumps(doc)).check({"x": dict.fromkeys(COLLIDING[:64], 0)})


def test_a_guard_on_values_with_one_hash_is_not_portable() -> None:
    for value in (set(COLLIDING), dict.fromkeys(COLLIDING)):
        check = compile_guards([LocalSource("x").make_guard(GuardBuilder.EQUALS_MATCH)],
                               {"x": value})
        assert check.portable_reason is not None and "one hash" in check.portable_reason


def test_a_document_of_sources_with_one_hash_is_refused() -> None:
    # Sources (and so guards) are keys while loading: indexes that all hash to 0 would
    # make a small document cost minutes (4,000 of them: 27 s).
    frame = {"x": dict.fromkeys(COLLIDING, 1)}
    many = [GetItemSource(LocalSource("x"), k).make_guard(GuardBuilder.NOT_NONE_MATCH)
            for k in COLLIDING]
    check = compile_guards(many, frame)
    assert check.portable_reason is not None and "one hash" in check.portable_reason
    doc = json.loads(compile_guards(many[:1], frame).to_json())
    base, item = doc["sources"]
    doc["sources"] = [base] + [{**item, "index": encode_value(k)} for k in COLLIDING]
    doc["guards"] = [{**doc["guards"][0], "source": i + 1} for i in range(len(COLLIDING))]
    with pytest.raises(DocumentError, match="values with one hash"):
        load_check(json.dumps(doc))
    doc["sources"], doc["guards"] = doc["sources"][:65], doc["guards"][:64]
    assert load_check(json.dumps(doc)).check(frame)
