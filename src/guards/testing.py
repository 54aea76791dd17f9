"""Hypothesis strategies for sources and guard sets, for testing tracers and guard code.

The strategies ``guards`` tests itself with, public so that authors of tracers,
JITs and caches built on guards can test theirs the same way.  Data is drawn as
a *spec* (nested tuples, pure data) and built into real objects by
:func:`build`, so one spec builds two independent but equal worlds.
:func:`paths` walks built data and returns every ``(source, value)`` pair
reachable from the roots: through dict keys (tuple keys too), list and tuple
indices and slices, object attributes (names that are not identifiers too),
closure cells, positional and keyword defaults, code objects, types and weak
references.

The main strategies:

- :data:`worlds`: the locals and globals of a frame (a :class:`World`);
- :func:`world_and_path`: a built world and one path into it;
- :func:`sources`: a source that reaches into some world;
- :func:`scenarios`: a world and a guard set that its values support
  (a :class:`Scenario`), for laws such as "a guard set passes on the values
  it was built from";
- :func:`mutations`: a change to one value of a built world, for laws such as
  "a check fails after a guarded value changes".

Needs Hypothesis: ``pip install 'guardset[testing]'``.
"""

from __future__ import annotations

import contextlib
import math
import types
import weakref
from collections.abc import Iterator, Mapping
from typing import Any

import attrs

try:
    from hypothesis import strategies as st
except ImportError as exc:
    msg = (
        "guards.testing needs Hypothesis, which guards does not install by itself: "
        "pip install 'guardset[testing]' (or pip install hypothesis)"
    )
    raise ImportError(msg, name=exc.name) from exc

from guards.core.builder import GuardBuilder
from guards.core.guard import Guard
from guards.core.sources import (
    AttrSource,
    ClosureSource,
    CodeSource,
    ConstantSource,
    DefaultsSource,
    DictKeySource,
    GetItemSource,
    GlobalSource,
    LocalSource,
    Source,
    TypeSource,
    WeakRefCallSource,
)

__all__ = [
    "CONSTANT_NAMES",
    "IDENTITY_KINDS",
    "KW_NAMES",
    "SLICES",
    "TRICKY_NAMES",
    "Fresh",
    "Mutation",
    "Obj",
    "Scenario",
    "SourceValue",
    "World",
    "alternative_code",
    "attr_names",
    "build",
    "candidate_guards",
    "is_plain",
    "keys",
    "make_function",
    "mutate",
    "mutations",
    "paths",
    "pick",
    "replacements",
    "root_names",
    "scalars",
    "scenarios",
    "sources",
    "specs",
    "strict_same",
    "world_and_path",
    "worlds",
]


class Obj:
    """A plain object whose attributes (of any str name) live in its ``__dict__``."""

    def __repr__(self) -> str:
        return f"Obj({vars(self)!r})"


class Fresh:
    """A class no generated value has: an instance of it never equals guarded data."""


# ----------------------------------------------------------------------------- names
TRICKY_NAMES = (
    "a b", "class", "None", "0", "", "x'y", 'x"y', "x\\y", "\n", "\ufb01", "\u210c", "é", "_",
    "match", "{0}", "{T}", "L", "G", "check", "_v0", "_k0_T", "x'); import os; ('",
)
"""Attribute names that are not plain identifiers, or are tricky ones."""

attr_names = st.one_of(
    st.sampled_from(("a", "mode", "x_1", "value", *TRICKY_NAMES)),
    st.text(max_size=5),
).filter(lambda n: not (n.startswith("__") and n.endswith("__")))
"""Attribute names: plain, tricky (:data:`TRICKY_NAMES`) or any short text, never dunders."""

root_names = st.one_of(st.sampled_from(("x", "fn", "cfg", "a b", "")), st.text(max_size=4))
"""Names of locals and globals, identifiers or not."""

CONSTANT_NAMES = ("C_0", "C_1")
"""Names of globals that may also be read through ConstantSource."""

KW_NAMES = ("k", "mode", "scale")
"""Keyword-only parameter names of generated functions."""

keys = st.one_of(
    st.integers(-2, 5),
    st.booleans(),
    st.none(),
    st.text(max_size=4),
    st.floats(allow_nan=False, allow_infinity=False),
    st.tuples(st.integers(0, 3), st.text(max_size=2)),
)
"""Dict keys: ints, bools, None, strings, floats and tuples."""

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 300),
    st.integers(),
    st.floats(),
    st.text(max_size=5),
    st.binary(max_size=3),
)
"""Scalars: None, bools, ints (small and any), floats (NaN and infinities too), text, bytes."""


# ----------------------------------------------------------------------- functions
_FACTORIES: dict[tuple[int, int, tuple[str, ...], bool], Any] = {}


def _function_factory(
    n_cells: int, n_defaults: int, kw_names: tuple[str, ...], alt: bool = False
) -> Any:
    """``factory(*cell_values) -> fn``: one ``def`` per shape, so every fn shares its ``__code__``.

    ``alt=True`` gives another ``def`` of the same shape (another ``__code__``
    with the same free variables), to swap into ``fn.__code__``.  The text is
    compiled here rather than by ``guards.checks.generated``: these are user
    functions for tests to guard and trace, and that entry point marks its
    functions as the library's own code.  The text holds only the identifiers
    ``c0...``, ``d0...`` and the names of :data:`KW_NAMES`.
    """
    key = (n_cells, n_defaults, kw_names, alt)
    if key not in _FACTORIES:
        cells = [f"c{i}" for i in range(n_cells)]
        params = ["x"] + [f"d{i}=None" for i in range(n_defaults)]
        if kw_names:
            params += ["*", *(f"{k}=None" for k in kw_names)]
        body = "x" if alt else "None"
        text = (
            f"def factory({', '.join(cells)}):\n"
            f"    def fn({', '.join(params)}):\n"
            f"        return ({''.join(c + ', ' for c in cells)}{body})\n"
            f"    return fn\n"
        )
        namespace: dict[str, Any] = {}
        exec(compile(text, f"<factory {key}>", "exec"), namespace)
        _FACTORIES[key] = namespace["factory"]
    return _FACTORIES[key]


def make_function(
    cells: list[Any], defaults: list[Any], kwdefaults: dict[str, Any]
) -> types.FunctionType:
    """A real closure with these cell contents, positional defaults and keyword defaults."""
    kw_names = tuple(kwdefaults)
    fn: types.FunctionType = _function_factory(len(cells), len(defaults), kw_names)(*cells)
    fn.__defaults__ = tuple(defaults) or None
    fn.__kwdefaults__ = dict(kwdefaults) or None
    return fn


def alternative_code(fn: types.FunctionType) -> types.CodeType:
    """A different code object that may replace ``fn.__code__``."""
    code = fn.__code__
    n_defaults = code.co_argcount - 1
    factory = _function_factory(
        len(code.co_freevars), n_defaults, tuple(code.co_varnames[1 + n_defaults:
                                                                   1 + n_defaults
                                                                   + code.co_kwonlyargcount]),
        alt=True,
    )
    new_code: types.CodeType = factory(*range(len(code.co_freevars))).__code__
    return new_code


# --------------------------------------------------------------------------- specs
def _extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    small = st.lists(children, max_size=3)
    return st.one_of(
        small.map(lambda xs: ("list", tuple(xs))),
        small.map(lambda xs: ("tuple", tuple(xs))),
        st.lists(st.tuples(keys, children), max_size=3).map(lambda kv: ("dict", tuple(kv))),
        st.lists(st.tuples(attr_names, children), max_size=3).map(lambda kv: ("obj", tuple(kv))),
        st.tuples(
            st.lists(children, max_size=3),
            st.lists(children, max_size=2),
            st.lists(st.sampled_from(KW_NAMES), unique=True, max_size=2),
            st.lists(children, min_size=2, max_size=2),
        ).map(lambda t: ("fn", tuple(t[0]), tuple(t[1]), tuple(zip(t[2], t[3], strict=False)))),
        children.map(lambda c: ("weak", c)),
    )


_specs = st.recursive(scalars.map(lambda v: ("scalar", v)), _extend, max_leaves=10)
# deferred: the same strategy, with a short repr (a recursive one's repr runs to ~70 kB).
specs = st.deferred(lambda: _specs)
"""A spec: ``("scalar", v)``, ``("list"|"tuple", specs)``, ``("dict"|"obj", pairs)``,
``("fn", cells, defaults, kwdefaults)`` or ``("weak", spec)``; :func:`build` makes it real."""


def build(spec: Any) -> Any:
    """A fresh object graph for ``spec``; scalars are shared, everything else is new."""
    tag = spec[0]
    if tag == "scalar":
        return spec[1]
    if tag == "list":
        return [build(s) for s in spec[1]]
    if tag == "tuple":
        return tuple(build(s) for s in spec[1])
    if tag == "dict":
        return {k: build(s) for k, s in spec[1]}
    if tag == "obj":
        obj = Obj()
        for name, s in spec[1]:
            setattr(obj, name, build(s))
        return obj
    if tag == "fn":
        _, cells, defaults, kwdefaults = spec
        return make_function(
            [build(s) for s in cells],
            [build(s) for s in defaults],
            {k: build(s) for k, s in kwdefaults},
        )
    if tag == "weak":
        # The box holds the referent strongly, so the weak reference stays alive.
        target = Obj()
        setattr(target, "payload", build(spec[1]))  # noqa: B010 (Obj declares no attributes)
        box = Obj()
        setattr(box, "target", target)  # noqa: B010
        setattr(box, "ref", weakref.ref(target))  # noqa: B010
        return box
    raise AssertionError(spec)


@attrs.frozen
class World:
    """Specs for the locals and globals of a frame; ``build()`` makes a fresh copy."""

    local_specs: tuple[tuple[str, Any], ...]
    global_specs: tuple[tuple[str, Any], ...]

    def build(self) -> tuple[dict[str, Any], dict[str, Any]]:
        f_locals = {name: build(spec) for name, spec in self.local_specs}
        f_globals = {name: build(spec) for name, spec in self.global_specs}
        return f_locals, f_globals


worlds = st.builds(
    World,
    st.lists(st.tuples(root_names, specs), min_size=1, max_size=3).map(tuple),
    st.lists(
        st.tuples(st.one_of(root_names, st.sampled_from(CONSTANT_NAMES)), specs), max_size=2
    ).map(tuple),
)
"""A :class:`World`: one to three locals and up to two globals, each of any :data:`specs`."""


# --------------------------------------------------------------------------- paths
@attrs.frozen
class SourceValue:
    """A source, the value it reached when walked, and whether that value is re-made
    on every walk (through a slice), so that identity guards cannot hold on it."""

    source: Source
    value: Any = attrs.field(eq=False)
    fresh: bool = False


SLICES = (slice(0, 2), slice(None, None, -1), slice(1, None))
"""The slices :func:`paths` takes of every list and tuple."""


def paths(
    f_locals: Mapping[str, Any], f_globals: Mapping[str, Any], depth: int = 4
) -> list[SourceValue]:
    """Every (source, value) reachable from the roots, ``depth`` steps at most."""
    found: list[SourceValue] = []
    for name, value in f_locals.items():
        found += _walk(LocalSource(name), value, depth, False)
    for name, value in f_globals.items():
        found += _walk(GlobalSource(name), value, depth, False)
        if name in CONSTANT_NAMES:
            found += _walk(ConstantSource(name), value, depth, False)
    return found


def _walk(source: Source, value: Any, depth: int, fresh: bool) -> Iterator[SourceValue]:
    yield SourceValue(source, value, fresh)
    if depth <= 0:
        return
    yield SourceValue(TypeSource(source), type(value), False)
    t = type(value)
    if t is dict:
        for key, item in value.items():
            yield from _walk(GetItemSource(source, key), item, depth - 1, fresh)
        for i, key in enumerate(value):
            yield SourceValue(DictKeySource(source, i), key, fresh)
    elif t in (list, tuple):
        for i, item in enumerate(value):
            yield from _walk(GetItemSource(source, i), item, depth - 1, fresh)
        for s in SLICES:
            yield SourceValue(GetItemSource(source, s, index_is_slice=True), value[s], True)
    elif t is Obj:
        for name, item in vars(value).items():
            yield from _walk(AttrSource(source, name), item, depth - 1, fresh)
    elif t is types.FunctionType:
        for i, cell in enumerate(value.__closure__ or ()):
            cell_source = AttrSource(GetItemSource(ClosureSource(source), i), "cell_contents")
            yield from _walk(cell_source, cell.cell_contents, depth - 1, fresh)
        for i, item in enumerate(value.__defaults__ or ()):
            yield from _walk(DefaultsSource(source, i), item, depth - 1, fresh)
        for k, item in (value.__kwdefaults__ or {}).items():
            yield from _walk(DefaultsSource(source, k, is_kw=True), item, depth - 1, fresh)
        yield SourceValue(CodeSource(source), value.__code__, fresh)
    elif t is weakref.ref:
        yield from _walk(WeakRefCallSource(source), value(), depth - 1, fresh)


def pick(items: list[Any]) -> st.SearchStrategy[Any]:
    """One of ``items``; like ``sampled_from``, without a strategy repr as large as the list."""
    return st.integers(0, len(items) - 1).map(items.__getitem__)


@st.composite
def world_and_path(draw: st.DrawFn) -> tuple[World, dict[str, Any], dict[str, Any], SourceValue]:
    """A world, one built copy of it, and one path into that copy."""
    world = draw(worlds)
    f_locals, f_globals = world.build()
    path = draw(pick(paths(f_locals, f_globals)))
    return world, f_locals, f_globals, path


def sources() -> st.SearchStrategy[Source]:
    """A source that reaches into some world (for laws of sources alone: names, hashing,
    pickling); :func:`world_and_path` gives the world and the value too."""
    return world_and_path().map(lambda drawn: drawn[3].source)


# -------------------------------------------------------------------------- guards
_SCALAR_TYPES = (type(None), bool, int, float, complex, str, bytes)


def is_plain(value: Any) -> bool:
    """Built from scalars, types, code and built-in containers only (``==`` is reflexive)."""
    t = type(value)
    if t in _SCALAR_TYPES or isinstance(value, (type, types.CodeType)):
        return True
    if t in (list, tuple):
        return all(is_plain(v) for v in value)
    if t is dict:
        return all(is_plain(v) for v in value.values())
    return False


IDENTITY_KINDS = frozenset({"ID_MATCH", "FUNCTION_MATCH"})
"""Kinds that hold only on the very same objects, not on an equal rebuilt copy."""


def candidate_guards(found: list[SourceValue]) -> list[Guard]:
    """Every guard that the values at ``found`` support, one per (source, kind)."""
    out: list[Guard] = []
    stable = [p for p in found if not p.fresh]
    value_at = {p.source: p.value for p in found}
    for p in found:
        s, v = p.source, p.value
        out.append(s.make_guard(GuardBuilder.TYPE_MATCH))
        out.append(s.make_guard(GuardBuilder.NOT_NONE_MATCH if v is not None
                                else GuardBuilder.NONE_MATCH))
        if not p.fresh:
            out.append(s.make_guard(GuardBuilder.ID_MATCH))
        if is_plain(v):
            out.append(s.make_guard(GuardBuilder.EQUALS_MATCH))
            out.append(s.make_guard(GuardBuilder.CONSTANT_MATCH))
        if type(v) is bool:
            out.append(s.make_guard(GuardBuilder.BOOL_MATCH))
        if type(v) in (list, tuple, dict, str, bytes):
            out.append(s.make_guard(GuardBuilder.SEQUENCE_LENGTH))
        if type(v) is dict:
            out.append(s.make_guard(GuardBuilder.DICT_KEYS_MATCH))
            out.append(GetItemSource(s, "absent key").make_guard(GuardBuilder.DICT_CONTAINS))
        if isinstance(s, GetItemSource) and type(value_at.get(s.base)) is dict:
            out.append(s.make_guard(GuardBuilder.DICT_CONTAINS))
        if type(v) is Obj:
            out.append(AttrSource(s, "absent attr").make_guard(GuardBuilder.HASATTR))
        if isinstance(s, AttrSource) and type(value_at.get(s.base)) is Obj:
            out.append(s.make_guard(GuardBuilder.HASATTR))
        if type(v) is types.FunctionType:
            out.append(s.make_guard(GuardBuilder.CLOSURE_MATCH))
            if not p.fresh:
                out.append(s.make_guard(GuardBuilder.FUNCTION_MATCH))
        if type(v) is weakref.ref:
            out.append(s.make_guard(GuardBuilder.WEAKREF_ALIVE))
            out.append(WeakRefCallSource(s).make_guard(GuardBuilder.WEAKREF_ALIVE))
    for a in stable[:12]:
        for b in stable[:12]:
            if a.source != b.source and a.value is b.value:
                out.append(a.source.make_guard(GuardBuilder.DUPLICATE_INPUT, source_b=b.source))
    return out


@attrs.frozen
class Scenario:
    """A world, a built copy of it, the paths into that copy and guards drawn from them."""

    world: World
    f_locals: dict[str, Any] = attrs.field(repr=False)
    f_globals: dict[str, Any] = attrs.field(repr=False)
    found: list[SourceValue] = attrs.field(repr=False)
    guards: list[Guard] = attrs.field(repr=lambda gs: repr([str(g) for g in gs]))


@st.composite
def scenarios(draw: st.DrawFn, max_guards: int = 10) -> Scenario:
    """A world with a guard set that its own values support."""
    world = draw(worlds)
    f_locals, f_globals = world.build()
    found = paths(f_locals, f_globals)
    candidates = candidate_guards(found)
    chosen = draw(st.lists(pick(candidates), min_size=1, max_size=max_guards))
    return Scenario(world, f_locals, f_globals, found, chosen)


# ----------------------------------------------------------------------- mutations
replacements: st.SearchStrategy[Any] = st.one_of(
    scalars,
    st.builds(Fresh),
    st.builds(list),
    st.builds(lambda: {"absent key": 1}),
)
"""What a mutation may put in place of a value."""


@attrs.frozen
class Mutation:
    """Replace (or, with ``delete``, remove) the value at ``source``, in place."""

    source: Source
    delete: bool
    new: Any = attrs.field(eq=False)

    def apply(self, f_locals: dict[str, Any], f_globals: dict[str, Any]) -> None:
        mutate(self.source, f_locals, f_globals, delete=self.delete, new=self.new)


def mutations(found: list[SourceValue]) -> st.SearchStrategy[Mutation]:
    """A change to one of the values at ``found``: replaced by a :data:`replacements`
    value, or removed."""
    return st.builds(Mutation, pick([p.source for p in found]), st.booleans(),
                     replacements)


def _root_slot(
    source: Source, f_locals: dict[str, Any], f_globals: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    if isinstance(source, LocalSource):
        return f_locals, source.local_name
    if isinstance(source, GlobalSource):
        return f_globals, source.global_name
    assert isinstance(source, ConstantSource)
    return f_globals, source.source_name


def mutate(
    source: Source, f_locals: dict[str, Any], f_globals: dict[str, Any], *, delete: bool, new: Any
) -> None:
    """Change the value at ``source`` in place; a step that cannot be changed changes its base."""
    base = source.base
    if base is None:
        space, name = _root_slot(source, f_locals, f_globals)
        if delete:
            space.pop(name, None)
        else:
            space[name] = new
        return
    try:
        base_value = base.get(f_locals, f_globals)
    except Exception:
        return  # an earlier mutation already broke the path
    if isinstance(source, AttrSource) and type(base_value) in (Obj, types.CellType):
        if delete:
            with contextlib.suppress(AttributeError, ValueError):  # ValueError: an empty cell
                delattr(base_value, source.member)
        else:
            setattr(base_value, source.member, new)
        return
    if isinstance(source, GetItemSource) and not source.index_is_slice and type(
        base_value
    ) in (dict, list):
        try:
            if delete:
                del base_value[source.index]
            else:
                base_value[source.index] = new
        except (KeyError, IndexError):
            pass
        return
    if isinstance(source, DefaultsSource) and type(base_value) is types.FunctionType:
        if source.is_kw:
            kwdefaults = dict(base_value.__kwdefaults__ or {})
            if delete:
                kwdefaults.pop(str(source.idx_key), None)
            else:
                kwdefaults[str(source.idx_key)] = new
            base_value.__kwdefaults__ = kwdefaults
        else:
            defaults = list(base_value.__defaults__ or ())
            if delete:
                base_value.__defaults__ = None
            elif int(source.idx_key) < len(defaults):
                defaults[int(source.idx_key)] = new
                base_value.__defaults__ = tuple(defaults)
        return
    if isinstance(source, CodeSource) and type(base_value) is types.FunctionType:
        base_value.__code__ = alternative_code(base_value)
        return
    mutate(base, f_locals, f_globals, delete=delete, new=new)


def strict_same(a: Any, b: Any) -> bool:
    """Equal as EQUALS_MATCH promises: exact types all the way down, NaN is NaN, -0.0 is not
    0.0, sets in iteration order, ranges by start, stop and step."""
    if type(a) is not type(b):
        return False
    if type(a) is float:
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if type(a) is complex:
        return strict_same(a.real, b.real) and strict_same(a.imag, b.imag)
    if type(a) in (list, tuple, set, frozenset):  # sets in iteration order, as list(s) shows
        return len(a) == len(b) and all(strict_same(i, j) for i, j in zip(a, b, strict=True))
    if type(a) is range:
        return (a.start, a.stop, a.step) == (b.start, b.stop, b.step)
    if type(a) is dict:
        return strict_same(list(a), list(b)) and all(
            strict_same(a[k], b[k]) for k in a
        )
    return bool(a == b)
