"""Sources: renderings, structure, equality, pickling, validation, and name == get."""

from __future__ import annotations

import copy
import os
import pickle
import weakref
from typing import Any

import attrs
import pytest
from hypothesis import given, settings, strategies as st

import guards
import guards.testing as S
from guards import (
    AttrSource,
    ChainedSource,
    ClosureSource,
    CodeSource,
    ConstantSource,
    DefaultsSource,
    DictKeySource,
    GetItemSource,
    GlobalSource,
    GlobalsSource,
    GuardBuilder,
    GuardSource,
    LocalSource,
    SkipGuardSource,
    Source,
    TypeSource,
    WeakRefCallSource,
)
from guards.core.guard import Guard, Provenance, plain_guard
from guards.core.sources import attr_source, fast_item_key, item_source, local_source

x = LocalSource("x")
cfg = LocalSource("cfg")
d = LocalSource("d")
fn = LocalSource("fn")
r = LocalSource("r")


def cell(base: Source, i: int) -> AttrSource:
    return AttrSource(GetItemSource(ClosureSource(base), i), "cell_contents")


# ------------------------------------------------------------------------ rendering
@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (LocalSource("x"), "L['x']"),
        (GlobalSource("y"), "G['y']"),
        (AttrSource(cfg, "mode"), "L['cfg'].mode"),
        (AttrSource(cfg, "a b"), "getattr(L['cfg'], 'a b')"),
        (GetItemSource(d, "k"), "L['d']['k']"),
        (GetItemSource(d, 0), "L['d'][0]"),
        (GetItemSource(d, (1, 2)), "L['d'][(1, 2)]"),
        (GetItemSource(d, slice(1, 3), index_is_slice=True), "L['d'][slice(1, 3, None)]"),
        (ClosureSource(fn), "L['fn'].__closure__"),
        (DefaultsSource(fn, 1), "L['fn'].__defaults__[1]"),
        (DefaultsSource(fn, "k", is_kw=True), "L['fn'].__kwdefaults__['k']"),
        (CodeSource(fn), "L['fn'].__code__"),
        (TypeSource(x), "type(L['x'])"),
        (WeakRefCallSource(r), "L['r']()"),
        (DictKeySource(d, 0), "list(dict.keys(L['d']))[0]"),
        (GlobalsSource(), "G"),
        (SkipGuardSource(AttrSource(cfg, "mode")), "L['cfg'].mode"),
        (ConstantSource("NAME"), "NAME"),
        (cell(fn, 0), "L['fn'].__closure__[0].cell_contents"),
    ],
    ids=lambda v: v if isinstance(v, str) else type(v).__name__,
)
def test_design_table_renderings(source: Source, expected: str) -> None:
    assert source.name == expected
    assert str(source) == expected


TYPE_OF = TypeSource(
    GetItemSource(DefaultsSource(cell(AttrSource(GlobalSource("mod"), "make"), 1), 0), "w")
)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            TYPE_OF,
            "type(G['mod'].make.__closure__[1].cell_contents.__defaults__[0]['w'])",
        ),
        (
            AttrSource(
                WeakRefCallSource(
                    DefaultsSource(GetItemSource(LocalSource("fns"), -1), "cb", is_kw=True)
                ),
                "a b",
            ),
            "getattr(L['fns'][-1].__kwdefaults__['cb'](), 'a b')",
        ),
        (
            CodeSource(cell(cell(fn, 0), 2)),
            "L['fn'].__closure__[0].cell_contents.__closure__[2].cell_contents.__code__",
        ),
        (
            GetItemSource(
                GetItemSource(AttrSource(TYPE_OF, "__mro__"), slice(None, -1, 2),
                              index_is_slice=True),
                ("k", None, 1.5),
            ),
            "type(G['mod'].make.__closure__[1].cell_contents.__defaults__[0]['w'])"
            ".__mro__[slice(None, -1, 2)][('k', None, 1.5)]",
        ),
        (
            AttrSource(SkipGuardSource(AttrSource(ConstantSource("CFG"), "x")), "y"),
            "CFG.x.y",
        ),
    ],
)
def test_compositions_render_step_by_step(source: Source, expected: str) -> None:
    assert source.name == expected


def test_key_renderings() -> None:
    assert GetItemSource(d, (1, 2)).name == "L['d'][(1, 2)]"
    assert GetItemSource(d, slice(1, 3), index_is_slice=True).name == "L['d'][slice(1, 3, None)]"
    assert GetItemSource(d, True).name == "L['d'][True]"
    assert GetItemSource(d, None).name == "L['d'][None]"
    assert GetItemSource(d, 1.0).name == "L['d'][1.0]"
    assert GetItemSource(d, "it's").name == 'L[\'d\']["it\'s"]'


def test_attribute_name_that_is_not_an_identifier_renders_as_getattr() -> None:
    assert AttrSource(x, "a b").name == "getattr(L['x'], 'a b')"
    assert AttrSource(x, "0").name == "getattr(L['x'], '0')"
    assert AttrSource(x, "").name == "getattr(L['x'], '')"
    assert AttrSource(x, "it's").name == 'getattr(L[\'x\'], "it\'s")'


def test_keyword_attribute_renders_as_getattr() -> None:
    """An attribute named like a keyword renders as getattr, since `L['x'].class` is no Python."""
    assert AttrSource(x, "class").name == "getattr(L['x'], 'class')"
    assert AttrSource(x, "None").name == "getattr(L['x'], 'None')"
    assert AttrSource(x, "match").name == "L['x'].match"  # a soft keyword is a fine attribute


def test_nfkc_changed_attribute_renders_as_getattr() -> None:
    """A name Python would NFKC-normalize (U+FB01 reads as 'fi') renders as getattr."""
    assert AttrSource(x, "\ufb01").name == "getattr(L['x'], '\ufb01')"
    assert AttrSource(x, "é").name == "L['x'].é"


def test_skip_guard_source_reads_and_renders_as_its_base() -> None:
    base = AttrSource(cfg, "mode")
    skipped = SkipGuardSource(base)
    holder = S.Obj()
    holder.mode = "fast"
    assert skipped.name == base.name
    assert skipped.get({"cfg": holder}) == "fast"
    assert skipped != base
    assert skipped.is_skipped
    assert AttrSource(skipped, "x").is_skipped
    assert not base.is_skipped


# ------------------------------------------------------------------------ structure
def test_base_root_chain_and_guard_source() -> None:
    path = cell(fn, 0)
    assert path.base == GetItemSource(ClosureSource(fn), 0)
    assert path.root == fn
    assert fn.base is None
    assert fn.root is fn
    assert path.chain() == (
        fn, ClosureSource(fn), GetItemSource(ClosureSource(fn), 0), path,
    )
    assert path.guard_source is GuardSource.LOCAL
    assert AttrSource(GlobalSource("g"), "a").guard_source is GuardSource.GLOBAL
    assert AttrSource(ConstantSource("K"), "a").guard_source is GuardSource.CONSTANT
    assert AttrSource(ConstantSource("K"), "a").root == ConstantSource("K")
    assert isinstance(path, ChainedSource)


def test_get_walks_real_values() -> None:
    def make(scale: int) -> Any:
        def inner(v: int, width: int = 4, *, k: str = "kw") -> int:
            return v * scale * width

        return inner

    f = make(3)
    target = S.Obj()
    ref = weakref.ref(target)
    f_locals = {"fn": f, "d": {(1, 2): [10, 20, 30, 40]}, "r": ref}
    assert cell(fn, 0).get(f_locals) == 3
    assert DefaultsSource(fn, 0).get(f_locals) == 4
    assert DefaultsSource(fn, "k", is_kw=True).get(f_locals) == "kw"
    assert CodeSource(fn).get(f_locals) is f.__code__
    assert GetItemSource(GetItemSource(d, (1, 2)), slice(1, 3), index_is_slice=True).get(
        f_locals
    ) == [20, 30]
    assert WeakRefCallSource(r).get(f_locals) is target
    assert DictKeySource(d, 0).get(f_locals) == (1, 2)
    assert TypeSource(r).get(f_locals) is weakref.ref
    assert GlobalSource("g").get({}, {"g": 5}) == 5
    assert ConstantSource("K").get({}, {"K": 7}) == 7
    assert GetItemSource(GlobalsSource(), "K").get({}, {"K": 7}) == 7


def test_get_raises_what_evaluating_the_name_raises() -> None:
    with pytest.raises(KeyError):
        x.get({})
    with pytest.raises(AttributeError):
        AttrSource(x, "missing").get({"x": S.Obj()})
    with pytest.raises(IndexError):
        GetItemSource(x, 5).get({"x": [1]})


def test_get_of_a_global_without_globals_is_a_guards_error() -> None:
    with pytest.raises(guards.GuardsValueError, match=r"G\['g'\]"):
        GlobalSource("g").get({}, None)
    with pytest.raises(ValueError, match="f_globals"):
        AttrSource(ConstantSource("K"), "a").get({})


def test_make_guard_returns_a_guard_on_this_source() -> None:
    guard = AttrSource(cfg, "mode").make_guard(GuardBuilder.EQUALS_MATCH)
    assert isinstance(guard, guards.Guard)
    assert guard.source == AttrSource(cfg, "mode")
    assert guard.kind == "EQUALS_MATCH"


# ------------------------------------------------------------ equality and pickling
ALL_KINDS_OF_SOURCE = [
    LocalSource("x"),
    GlobalSource("y"),
    ConstantSource("NAME"),
    AttrSource(cfg, "mode"),
    AttrSource(cfg, "a b"),
    GetItemSource(d, "k"),
    GetItemSource(d, (1, (2, "z"))),
    GetItemSource(d, slice(1, 3), index_is_slice=True),
    GetItemSource(d, frozenset({1, 2})),
    ClosureSource(fn),
    DefaultsSource(fn, 1),
    DefaultsSource(fn, "k", is_kw=True),
    CodeSource(fn),
    TypeSource(x),
    WeakRefCallSource(r),
    DictKeySource(d, 2),
    GlobalsSource(),
    SkipGuardSource(x),
    cell(cell(fn, 0), 1),
]


@pytest.mark.parametrize("source", ALL_KINDS_OF_SOURCE, ids=lambda s: s.name)
def test_pickle_and_copy_round_trip(source: Source) -> None:
    for clone in (pickle.loads(pickle.dumps(source)), copy.deepcopy(source)):
        assert clone == source
        assert hash(clone) == hash(source)
        assert clone.name == source.name
        assert type(clone) is type(source)
        assert {clone: 1}[source] == 1


@pytest.mark.parametrize("source", ALL_KINDS_OF_SOURCE, ids=lambda s: s.name)
def test_sources_are_immutable(source: Source) -> None:
    with pytest.raises(AttributeError):
        source.base = x  # type: ignore[misc]
    with pytest.raises(AttributeError):
        source.anything = 1  # type: ignore[attr-defined]


def test_structural_equality_and_hash() -> None:
    assert cell(fn, 0) == cell(LocalSource("fn"), 0)
    assert hash(cell(fn, 0)) == hash(cell(LocalSource("fn"), 0))
    assert AttrSource(cfg, "a") != AttrSource(cfg, "b")
    assert LocalSource("x") != GlobalSource("x")
    assert ClosureSource(fn) != CodeSource(fn)
    assert DefaultsSource(fn, 0) != DefaultsSource(fn, 1)
    assert GetItemSource(d, (1, 2)) == GetItemSource(d, (1, 2))
    assert GetItemSource(d, slice(1, 3), index_is_slice=True) == GetItemSource(
        d, slice(1, 3), index_is_slice=True
    )
    assert GetItemSource(d, slice(1, 3), index_is_slice=True) != GetItemSource(
        d, slice(1, 4), index_is_slice=True
    )
    assert len({cell(fn, 0), cell(fn, 0), cell(fn, 1)}) == 2


@pytest.mark.parametrize(
    "keys",
    [
        (1, True, 1.0),
        ((1, 2), (True, 2), (1.0, 2)),
        (0, False, 0.0, -0.0),
        (frozenset({1}), frozenset({True})),
        (slice(1, 2), slice(True, 2)),
    ],
    ids=repr,
)
def test_keys_with_different_names_make_different_sources(keys: tuple[Any, ...]) -> None:
    """GetItemSource(b, 1), (b, True), (b, 1.0), (b, -0.0)...: names differ, so sources differ."""
    is_slice = isinstance(keys[0], slice)
    sources = [GetItemSource(d, k, index_is_slice=is_slice) for k in keys]
    assert len({s.name for s in sources}) == len(keys)
    for i, a in enumerate(sources):
        for b in sources[i + 1:]:
            assert a != b, (a.name, b.name)
    assert len(set(sources)) == len(keys)


def test_defaults_positional_and_kw_differ() -> None:
    assert DefaultsSource(fn, "k", is_kw=True) != AttrSource(fn, "k")
    assert DefaultsSource(fn, 0) != GetItemSource(fn, 0)


class CountingKey:
    """A key that counts how often it is hashed."""

    calls = 0

    def __hash__(self) -> int:
        CountingKey.calls += 1
        return 7

    def __eq__(self, other: object) -> bool:
        return other is self

    def __repr__(self) -> str:
        return "CountingKey()"


def test_hash_is_computed_once() -> None:
    """Hashing a deep source again does not rehash its parts (the hash is cached)."""
    source = AttrSource(GetItemSource(d, CountingKey()), "a")
    hash(source)
    before = CountingKey.calls
    for _ in range(5):
        hash(source)
        hash(AttrSource(source, "b"))  # a new source on top hashes its base: cached too
    assert CountingKey.calls == before


def test_name_is_computed_once() -> None:
    source = cell(cell(fn, 0), 1)
    assert source.name is source.name


# ----------------------------------------------------------------- bad construction
@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (lambda: AttrSource(x, 3), TypeError, ["member", "3", "int"]),
        (lambda: AttrSource(x, b"a"), TypeError, ["member", "b'a'", "bytes"]),
        (lambda: AttrSource("L['x']", "a"), TypeError, ["base", "L['x']", "str"]),
        (lambda: GetItemSource(None, 0), TypeError, ["base", "None"]),
        (lambda: GetItemSource(d, slice(1, 3)), ValueError,
         ["index_is_slice", "slice(1, 3, None)"]),
        (lambda: GetItemSource(d, 1, index_is_slice=True), TypeError, ["index", "1", "slice"]),
        (lambda: GetItemSource(d, [1, 2]), TypeError, ["index", "[1, 2]", "hashable"]),
        (lambda: GetItemSource(d, {"a": 1}), TypeError, ["index", "{'a': 1}"]),
        (lambda: GetItemSource(d, LocalSource("k")), TypeError,
         ["index", "LocalSource(local_name='k')"]),
        (lambda: GetItemSource(d, 0, index_is_slice="yes"), TypeError,
         ["index_is_slice", "'yes'"]),
        (lambda: LocalSource(3), TypeError, ["local_name", "3"]),
        (lambda: GlobalSource(None), TypeError, ["global_name", "None"]),
        (lambda: ConstantSource("a b"), ValueError, ["source_name", "'a b'"]),
        (lambda: ClosureSource(3), TypeError, ["base", "3"]),
        (lambda: DefaultsSource(fn, "k"), TypeError, ["idx_key", "'k'", "is_kw"]),
        (lambda: DefaultsSource(fn, 0, is_kw=True), TypeError, ["idx_key", "0"]),
        (lambda: DefaultsSource(fn, True), TypeError, ["idx_key", "True"]),
        (lambda: DefaultsSource(fn, 1.0), TypeError, ["idx_key", "1.0"]),
        (lambda: DefaultsSource(fn, 0, is_kw=1), TypeError, ["is_kw", "1"]),
        (lambda: TypeSource("x"), TypeError, ["base", "'x'"]),
        (lambda: WeakRefCallSource(weakref), TypeError, ["base"]),
        (lambda: SkipGuardSource(None), TypeError, ["base", "None"]),
        (lambda: DictKeySource(d, -1), TypeError, ["DictKeySource.index", "-1"]),
        (lambda: DictKeySource(d, True), TypeError, ["DictKeySource.index", "True"]),
    ],
)
def test_bad_construction_names_the_field_and_value(
    make: Any, error: type[Exception], words: list[str]
) -> None:
    with pytest.raises(error) as info:
        make()
    assert isinstance(info.value, guards.GuardsError)
    message = str(info.value)
    for word in words:
        assert word in message, (word, message)


def test_docs_error_message_for_a_bad_member() -> None:
    with pytest.raises(TypeError, match=r"AttrSource.member must be a str, got 3 \(type int\)"):
        AttrSource(x, 3)


# ------------------------------------------------------------------------ properties
def same(a: Any, b: Any) -> bool:
    return a is b or (type(a) is type(b) and a == b)


def evaluate(source: Source, f_locals: Any, f_globals: Any) -> Any:
    namespace = {"L": f_locals, "G": f_globals}
    namespace.update({k: f_globals[k] for k in S.CONSTANT_NAMES if k in f_globals})
    return eval(source.name, namespace)


@settings(max_examples=200, deadline=None)
@given(S.world_and_path())
def test_name_means_what_get_reads(world_and_path: Any) -> None:
    """Evaluating a source's rendered name in Python reaches what get() reaches."""
    _, f_locals, f_globals, path = world_and_path
    got = path.source.get(f_locals, f_globals)
    assert same(got, path.value)
    assert same(evaluate(path.source, f_locals, f_globals), got)


@settings(max_examples=100, deadline=None)
@given(S.worlds, st.data())
def test_equal_sources_iff_equal_names(world: S.World, data: st.DataObject) -> None:
    """Within one world, two sources are equal exactly when their names are (and hash alike)."""
    f_locals, f_globals = world.build()
    found = [p.source for p in S.paths(f_locals, f_globals)]
    a = data.draw(S.pick(found))
    b = data.draw(S.pick(found))
    assert (a == b) == (a.name == b.name)
    if a == b:
        assert hash(a) == hash(b)
    clone = pickle.loads(pickle.dumps(a))
    assert clone == a
    assert hash(clone) == hash(a)
    assert clone.name == a.name
    assert same(clone.get(f_locals, f_globals), a.get(f_locals, f_globals))


@settings(max_examples=100, deadline=None)
@given(
    st.text().filter(lambda n: not (n.startswith("__") and n.endswith("__"))),
    st.one_of(st.text(), st.integers(), st.tuples(st.integers(), st.text())),
)
def test_arbitrary_text_names_and_keys_evaluate_back(member: str, key: Any) -> None:
    """Any attribute name or key renders into a name that Python reads back to the same value."""
    holder = S.Obj()
    setattr(holder, member, {key: "found"})
    source = GetItemSource(AttrSource(LocalSource(member), member), key)
    f_locals = {member: holder}
    assert source.get(f_locals) == "found"
    assert eval(source.name, {"L": f_locals}) == "found"


# -- sources and guards made by guards' own code ------------------------------------------
def _same_record(made: Any, expected: Any) -> None:
    """Every field of ``made`` is the one attrs' ``__init__`` set in ``expected``; and
    the two are equal, hash equal, and are found for each other as dict keys."""
    assert type(made) is type(expected)
    for field in attrs.fields(type(expected)):
        got, want = getattr(made, field.name), getattr(expected, field.name)
        if field.name == "_hash_now":
            assert got() == want()
        else:
            assert type(got) is type(want) and got == want, field.name
    assert made == expected and hash(made) == hash(expected)
    assert {made: 1}[expected] == 1 and {expected: 1}[made] == 1


_BASES = st.sampled_from([
    LocalSource("x"), GlobalSource("g"), SkipGuardSource(LocalSource("x")),
    AttrSource(LocalSource("x"), "a b"), GetItemSource(LocalSource("x"), -1),
])


@given(base=_BASES, member=st.text(max_size=6))
def test_attr_source_is_the_source_attrs_makes(base: Source, member: str) -> None:
    _same_record(attr_source(base, member), AttrSource(base, member))
    made = attr_source(base, member)
    assert pickle.loads(pickle.dumps(made)) == made and copy.deepcopy(made) == made


@given(base=_BASES, index=st.one_of(
    st.text(max_size=4), st.integers(1 - 2**59, 2**59 - 1), st.sampled_from([0, 1, -1]),
))
def test_item_source_is_the_source_attrs_makes(base: Source, index: int | str) -> None:
    assert fast_item_key(index)
    _same_record(item_source(base, index), GetItemSource(base, index))


def test_item_source_takes_only_keys_it_renders_as_attrs_does() -> None:
    # A bool is an int to == (True == 1) but renders and compares apart; a huge int's
    # repr may exceed the digit limit; other types go through GetItemSource.
    assert not any(fast_item_key(k) for k in (True, 2**60, 1.0, (1,), None, b"k"))
    assert GetItemSource(LocalSource("x"), 1) != GetItemSource(LocalSource("x"), True)


@given(name=st.text(max_size=6))
def test_local_source_is_the_source_attrs_makes(name: str) -> None:
    _same_record(local_source(name), LocalSource(name))


@given(base=_BASES, kind=st.sampled_from(["TYPE_MATCH", "CONSTANT_MATCH"]))
def test_plain_guard_is_the_guard_attrs_makes(base: Source, kind: str) -> None:
    provenance = Provenance("f.py", 3, "f")
    made = plain_guard(base, kind, provenance)
    _same_record(made, Guard(base, kind, (), provenance=provenance))
    assert made.provenance is provenance
    assert pickle.loads(pickle.dumps(made)) == made


def test_a_source_hashes_in_the_process_that_loads_it(tmp_path: Any) -> None:
    """A str's hash differs between processes: a pickled source is made again, not
    given the hash it had where it was pickled."""
    import subprocess
    import sys

    source = AttrSource(GetItemSource(LocalSource("cfg"), "k"), "mode")
    path = tmp_path / "source.pickle"
    path.write_bytes(pickle.dumps(source))
    code = (
        "import pickle, sys\n"
        "from guards.core.sources import AttrSource, GetItemSource, LocalSource\n"
        f"loaded = pickle.loads(open({str(path)!r}, 'rb').read())\n"
        "fresh = AttrSource(GetItemSource(LocalSource('cfg'), 'k'), 'mode')\n"
        "assert hash(loaded) == hash(fresh) and {fresh: 1}[loaded] == 1\n"
        "print('ok')\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_equal_paths_thousands_of_steps_long_compare_and_hash() -> None:
    """Equality walks two paths in a loop: attrs' ``__eq__`` compared each base with
    ``==``, a call per step, and raised RecursionError past about 1,000 steps."""
    def chain(n: int, last: str) -> Source:
        source: Source = LocalSource("node")
        for _ in range(n):
            source = GetItemSource(source, "next")
        return AttrSource(source, last)

    a, b = chain(5000, "v"), chain(5000, "v")
    assert a is not b and a == b and hash(a) == hash(b)
    assert (a != b) is False
    assert {a: 1}[b] == 1
    assert a != chain(5000, "w") and a != chain(4999, "v")
    assert (a == LocalSource("node")) is False and a != 3
    assert a.__eq__(3) is NotImplemented


# -------------------------------------------- sources and guards users define with attrs
@attrs.frozen
class _Folded(Source):
    """A user's root source whose key compares case-blind (attrs' ``eq`` key)."""

    key: str = attrs.field(eq=str.lower)

    def _render(self) -> str:
        return f"F[{self.key!r}]"

    def _root_kind(self) -> Any:
        return LocalSource("x")._root_kind()


@attrs.frozen
class _Tagged(ChainedSource):
    """A user's chained source with a keyword-only field."""

    tag: str = attrs.field(kw_only=True)

    def _render(self) -> str:
        return f"{self.base.name}<{self.tag}>"


@attrs.frozen
class _Shifted(ChainedSource):
    """A user's chained source whose field has a converter (not idempotent)."""

    n: int = attrs.field(converter=lambda v: int(v) + 1)

    def _render(self) -> str:
        return f"{self.base.name}+{self.n}"


@attrs.frozen(slots=False)
class _Extra(AttrSource):
    """A user's subclass of a source without slots (a ``__dict__``), with a field."""

    extra: int = 1


@attrs.frozen(slots=False)
class _DictGuard(Guard):
    """A user's guard class without slots, with a field of its own."""

    note: str = "n"


@attrs.frozen
class _NotedGuard(Guard):
    """A user's guard class with a field of its own."""

    note: str = "n"


def test_chained_sources_compare_a_users_base_with_its_own_equality() -> None:
    """Equal bases make equal paths, whatever equality the bases' class has."""
    a, b = _Folded("A"), _Folded("a")
    assert a == b and hash(a) == hash(b)
    for make in (lambda s: AttrSource(s, "m"), lambda s: GetItemSource(AttrSource(s, "m"), 0)):
        x, y = make(a), make(b)
        assert x == y and (x != y) is False and hash(x) == hash(y)
        assert {x: 1}[y] == 1
    assert AttrSource(a, "m") != AttrSource(_Folded("b"), "m")


@pytest.mark.parametrize(
    "record",
    [
        _Tagged(LocalSource("x"), tag="t"),
        AttrSource(_Tagged(LocalSource("x"), tag="t"), "a"),
        _Shifted(LocalSource("x"), 1),
        _NotedGuard(LocalSource("x"), "TYPE_MATCH", note="hi"),
        Guard(_Shifted(LocalSource("x"), 1), "TYPE_MATCH"),
        _Extra(LocalSource("x"), "a", 5),
        _DictGuard(LocalSource("x"), "TYPE_MATCH", note="hi"),
    ],
    ids=repr,
)
def test_users_sources_and_guards_pickle_and_copy_as_they_are(record: Any) -> None:
    """Made again from their fields (not through ``__init__``): a keyword-only field,
    a converter and a subclass of Guard come back as they were."""
    for clone in (pickle.loads(pickle.dumps(record)), copy.copy(record),
                  copy.deepcopy(record)):
        assert type(clone) is type(record)
        assert clone == record and hash(clone) == hash(record)
        def fields(r: Any) -> dict[str, Any]:
            return attrs.asdict(r, recurse=False, filter=lambda f, v: f.name != "_hash_now")
        assert fields(clone) == fields(record)


@pytest.mark.parametrize("source", ALL_KINDS_OF_SOURCE, ids=lambda s: s.name)
def test_a_classs_hash_called_directly_is_the_hash(source: Source) -> None:
    """``cls.__hash__(obj)`` is ``hash(obj)``, as for any class (the hash is a slot read
    in C: the slot's descriptor alone is not callable)."""
    assert type(source).__hash__(source) == hash(source)
    assert Source.__hash__(source) == hash(source)
    guard = Guard(source, "TYPE_MATCH")
    assert Guard.__hash__(guard) == hash(guard)
    assert plain_guard(source, "TYPE_MATCH", None).__hash__() == hash(guard)


def test_a_users_subclass_may_hash_with_super() -> None:
    @attrs.frozen(eq=False)
    class Salted(AttrSource):
        def __hash__(self) -> int:
            return super().__hash__() ^ 1

    salted = Salted(LocalSource("x"), "a")
    assert hash(salted) == AttrSource.__hash__(salted) ^ 1
    assert hash(salted) != hash(Salted(LocalSource("x"), "b"))


def test_a_path_hundreds_of_steps_long_pickles_and_copies() -> None:
    """A source pickles as its class and fields, each an argument of its own: pickle
    nests its calls per container, so a dict of the fields per step halved the depth
    of a path that pickles."""
    source: Source = LocalSource("node")
    for _ in range(250):
        source = GetItemSource(source, "next")
    assert pickle.loads(pickle.dumps(source)) == source
    assert copy.deepcopy(source) == source


@pytest.mark.parametrize("source", ALL_KINDS_OF_SOURCE, ids=lambda s: s.name)
def test_attrs_shows_the_fields_of_sources_and_guards_only(source: Source) -> None:
    """``attrs.asdict``/``astuple`` of equal records are equal (the kept hash, a bound
    method that differs between them, is no field), and a guard's is JSON."""
    import json

    twin = pickle.loads(pickle.dumps(source))
    assert twin is not source
    assert attrs.asdict(twin) == attrs.asdict(source)
    assert attrs.astuple(twin) == attrs.astuple(source)
    assert "_hash_now" not in {f.name for f in attrs.fields(type(source))}
    guard = Guard(source, "TYPE_MATCH")
    assert attrs.asdict(guard) == attrs.asdict(Guard(twin, "TYPE_MATCH"))
    plain = Guard(AttrSource(LocalSource("cfg"), "mode"), "TYPE_MATCH")
    assert json.loads(json.dumps(attrs.asdict(plain)))["source"]["member"] == "mode"
