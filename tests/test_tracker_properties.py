"""Property: a traced guard set passes on its values, fails after a change to something
inspected, and still passes after a change to something never inspected.

Values are nested dicts (string keys), lists, tuples, plain objects with
attributes, ints, strings, ``None`` and bools.  An inspection is a path of
``attr``/``item`` steps from a local, then one of ``as_constant``, ``len``,
``python_type``, ``is_none``, ``keys`` or ``hasattr``.  Changed worlds are made by
copying only the containers along the changed path, so every other object keeps
its identity.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
from hypothesis import event, given, settings, strategies as st

from guards import AttrSource, GetItemSource, LocalSource, Source, tracing

Step = tuple[str, Any]  # ("attr", name) or ("item", key)
Path = tuple[Step, ...]


class Obj:
    """A plain object with attributes; ``==`` is identity."""

    def __repr__(self) -> str:
        return f"Obj({vars(self)!r})"


class Fresh:
    """A type no generated value has: an instance of it is a change to anything."""

    def __repr__(self) -> str:
        return "Fresh()"


def make_obj(attributes: dict[str, Any]) -> Obj:
    obj = Obj()
    obj.__dict__.update(attributes)
    return obj


KEYS = ("a", "b", "c", "d")
ATTRS = ("p", "q", "r")
ROOTS = ("x", "y")

scalars = st.one_of(
    st.integers(-3, 3), st.text(alphabet="ab", max_size=2), st.none(), st.booleans()
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(st.sampled_from(KEYS), children, max_size=3),
        st.dictionaries(st.sampled_from(ATTRS), children, max_size=3).map(make_obj),
    ),
    max_leaves=12,
)
worlds = st.dictionaries(st.sampled_from(ROOTS), values, min_size=1)


# ------------------------------------------------------------------ walking values
def children(value: Any) -> list[Step]:
    if type(value) in (list, tuple):
        return [("item", i) for i in range(len(value))]
    if type(value) is dict:
        return [("item", k) for k in value]
    if type(value) is Obj:
        return [("attr", n) for n in vars(value)]
    return []


def step(value: Any, s: Step) -> Any:
    kind, key = s
    return getattr(value, key) if kind == "attr" else value[key]


def walk(value: Any, path: Path) -> Any:
    for s in path:
        value = step(value, s)
    return value


def contains_obj(value: Any) -> bool:
    if type(value) is Obj:
        return True
    return any(contains_obj(step(value, s)) for s in children(value))


def update(value: Any, path: Path, change: Callable[[Any], Any]) -> Any:
    """``value`` with ``change`` applied at ``path``; only the containers on the path are copied."""
    if not path:
        return change(value)
    (kind, key), rest = path[0], path[1:]
    new_child = update(step(value, path[0]), rest, change)
    if kind == "attr":
        return make_obj({**vars(value), key: new_child})
    if type(value) is tuple:
        return (*value[:key], new_child, *value[key + 1:])
    copy = type(value)(value)
    copy[key] = new_child
    return copy


def source_of(root: str, path: Path) -> Source:
    source: Source = LocalSource(root)
    for kind, key in path:
        source = AttrSource(source, key) if kind == "attr" else GetItemSource(source, key)
    return source


# ------------------------------------------------------------------- inspections
@attrs.frozen
class Inspection:
    root: str
    path: Path
    op: str
    name: str | None = None  # the attribute of ``hasattr``

    def run(self, tx: Any) -> Any:
        t = tx.local(self.root)
        for kind, key in self.path:
            t = t.attr(key) if kind == "attr" else t.item(key)
        if self.op == "hasattr":
            return t.hasattr(self.name)
        return getattr(t, self.op)()

    def expected_result(self, value: Any) -> Any:
        return {
            "as_constant": lambda v: v,
            "python_type": type,
            "is_none": lambda v: v is None,
            "len": len,
            "keys": list,
            "hasattr": lambda v: hasattr(v, self.name),
        }[self.op](value)



def expected_guards(world: dict[str, Any], inspections: list[Inspection]) -> set[Any]:
    """The exact guards the inspections need: one per inspection, less those a
    stronger guard on the same source makes redundant (a TYPE_MATCH next to any
    guard that fixes the type, a SEQUENCE_LENGTH next to a DICT_KEYS_MATCH)."""
    out: set[tuple[Source, str]] = set()
    for ins in inspections:
        source = source_of(ins.root, ins.path)
        if ins.op == "hasattr":
            assert ins.name is not None
            out.add((AttrSource(source, ins.name), "HASATTR"))
        elif ins.op == "is_none":
            value = walk(world[ins.root], ins.path)
            out.add((source, "NONE_MATCH" if value is None else "NOT_NONE_MATCH"))
        else:
            kind = {
                "as_constant": "CONSTANT_MATCH",
                "python_type": "TYPE_MATCH",
                "len": "SEQUENCE_LENGTH",
                "keys": "DICT_KEYS_MATCH",
            }[ins.op]
            out.add((source, kind))
    pinned = {s for s, k in out if k in ("CONSTANT_MATCH", "NONE_MATCH", "SEQUENCE_LENGTH",
                                         "DICT_KEYS_MATCH")}
    keyed = {s for s, k in out if k == "DICT_KEYS_MATCH"}
    return {
        (s, k) for s, k in out
        if not (k == "TYPE_MATCH" and s in pinned) and not (k == "SEQUENCE_LENGTH" and s in keyed)
    }


def ops_for(value: Any) -> list[str]:
    ops = ["python_type", "is_none"]
    # A container holding a plain object is left out of as_constant: the builder's
    # snapshot deep-copies the object, and identity-== then rejects the original.
    if not (type(value) is not Obj and contains_obj(value)):
        ops.append("as_constant")
    if type(value) in (list, tuple, dict, str):
        ops.append("len")
    if type(value) is dict:
        ops.append("keys")
    if type(value) is Obj:
        ops.append("hasattr")
    return ops


@st.composite
def inspections_of(draw: Any, world: dict[str, Any]) -> Inspection:
    root = draw(st.sampled_from(sorted(world)))
    value, path = world[root], ()
    while children(value) and draw(st.integers(0, 2)) > 0:  # descend two times in three
        s = draw(st.sampled_from(children(value)))
        value, path = step(value, s), (*path, s)
    op = draw(st.sampled_from(ops_for(value)))
    name = draw(st.sampled_from([*ATTRS, "zz"])) if op == "hasattr" else None
    return Inspection(root, path, op, name)


# ------------------------------------------------------------------------ changes
def different(value: Any) -> Any:
    """A value of the same type (where one exists) that no guard on ``value`` accepts."""
    if type(value) is bool:
        return not value
    if type(value) is int:
        return value + 1
    if type(value) is str:
        return value + "!"
    if value is None:
        return 0
    if type(value) is list:
        return [*value, 0]
    if type(value) is tuple:
        return (*value, 0)
    if type(value) is dict:
        return {**value, "new": 0}
    assert type(value) is Obj
    return make_obj(vars(value))  # equal attributes, but == is identity


def inspected_change(ins: Inspection) -> Callable[[Any], Any]:
    """A change at ``ins.path`` that contradicts what ``ins`` saw."""
    if ins.op in ("as_constant", "len", "keys"):
        return different
    if ins.op == "python_type":
        return lambda v: Fresh()
    if ins.op == "is_none":
        return lambda v: 0 if v is None else None
    assert ins.op == "hasattr" and ins.name is not None
    name = ins.name

    def toggle(obj: Any) -> Obj:
        attributes = dict(vars(obj))
        if name in attributes:
            del attributes[name]
        else:
            attributes[name] = 0
        return make_obj(attributes)

    return toggle


def starts_with(path: Path, prefix: Path) -> bool:
    return path[: len(prefix)] == prefix


def uninspected_changes(
    world: dict[str, Any], inspections: list[Inspection]
) -> list[tuple[str, Path, Callable[[Any], Any]]]:
    """Every change that no inspection can see: replacing a child no path reached, or
    adding a sibling to a container whose size and keys nobody asked about."""
    out: list[tuple[str, Path, Callable[[Any], Any]]] = []

    def replace(v: Any) -> Fresh:
        return Fresh()

    def add(container: Any) -> Any:
        if type(container) is Obj:
            return make_obj({**vars(container), "fresh": Fresh()})
        if type(container) is dict:
            return {**container, "fresh": Fresh()}
        if type(container) is tuple:
            return (*container, Fresh())
        return [*container, Fresh()]

    for root, top in world.items():
        on_root = [i for i in inspections if i.root == root]
        stack: list[tuple[Any, Path]] = [(top, ())]
        while stack:
            value, path = stack.pop()
            constant_above = any(
                i.op == "as_constant" and starts_with(path, i.path) for i in on_root
            )
            if constant_above:
                continue  # everything below is covered by one equality check
            # Replace this value: only if no inspection reads it or anything below it.
            if not any(starts_with(i.path, path) for i in on_root):
                out.append((root, path, replace))
                continue
            # Add a sibling: only if nobody asked this container's size or keys.
            if type(value) in (dict, list, tuple, Obj) and not any(
                i.path == path and i.op in ("len", "keys") for i in on_root
            ):
                out.append((root, path, add))
            stack.extend((step(value, s), (*path, s)) for s in children(value))
    return out


def changed(world: dict[str, Any], root: str, path: Path, change: Callable[[Any], Any]
            ) -> dict[str, Any]:
    return {**world, root: update(world[root], path, change)}


# ----------------------------------------------------------------------- property
@settings(max_examples=150, deadline=None)
@given(world=worlds, data=st.data())
def test_guards_follow_exactly_what_was_inspected(world: dict[str, Any], data: Any) -> None:
    inspections = data.draw(st.lists(inspections_of(world), min_size=1, max_size=5))
    with tracing(world) as tx:
        for ins in inspections:
            got = ins.run(tx)
            assert got == ins.expected_result(walk(world[ins.root], ins.path)), ins
    assert {(g.source, g.kind) for g in tx.guards} == expected_guards(world, inspections)

    check = tx.compile()  # also checks that the guards accept the values they came from
    assert check.check(world)
    assert check.check_verbose(world).passed

    target = data.draw(st.sampled_from(inspections), label="changed inspection")
    broken = changed(world, target.root, target.path, inspected_change(target))
    assert not check.check(broken), (target, broken)
    assert not check.check_verbose(broken).passed

    unseen = uninspected_changes(world, inspections)
    assert check.check({**world, "unrelated": Fresh()})
    event(f"unseen changes available: {bool(unseen)}")
    event(f"changed inspection: {target.op}")
    if unseen:
        root, path, change = data.draw(st.sampled_from(unseen), label="unseen change")
        kept = changed(world, root, path, change)
        assert check.check(kept), (root, path, kept)
        assert check.check_verbose(kept).passed
