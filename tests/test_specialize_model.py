"""Model-based soundness and minimality of @specialize over generated functions.

Each example builds a fresh world (a module namespace with a config object,
globals, a helper function with a closure and a default) and generates a
function from templates: it reads a drawn subset of paths (attributes, dict
keys, list items and lengths, a closure variable, a default, globals, a helper
call, a method call) and combines them arithmetically, optionally under a
branch.  Then it runs a drawn sequence of calls and mutations.

Two laws are checked on every call:

* soundness: the specialized function returns exactly what a fresh call of the
  undecorated function returns on the same inputs;
* minimality: when every mutation since the previous call touched only what the
  function's code never mentions, the call is a hit (``info().misses`` does not
  grow).
"""

from __future__ import annotations

import copy
import textwrap
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, note, settings, strategies as st

import guards

WORLD = '''
class Sub:
    def __init__(self, x, y, z):
        self.x, self.y, self.z = x, y, z


class Cfg:
    def __init__(self, a, b, sub, items, opts, unread, maybe=None):
        self.a, self.b, self.sub = a, b, sub
        self.items, self.opts, self.unread = items, opts, unread
        self.maybe = maybe

    def total(self):
        return self.a + self.b


G_CONF = {"r": 1, "s": 2}
G_SCALE = 3
G_OTHER = 4


def _make_helper(hk):
    hunused = 0

    def helper(c, w=2):
        return c.sub.y * w + hk

    def set_hk(value):
        nonlocal hk
        hk = value

    def set_hunused(value):
        nonlocal hunused
        hunused = value

    return helper, set_hk, set_hunused


helper, set_hk, set_hunused = _make_helper(1)
'''

#: (expression, the parts of the world it reads)
READERS: list[tuple[str, frozenset[str]]] = [
    ("cfg.a", frozenset({"a"})),
    ("cfg.b", frozenset({"b"})),
    ("cfg.sub.x", frozenset({"sub.x"})),
    ("cfg.sub.y", frozenset({"sub.y"})),
    ("len(cfg.items)", frozenset({"items.len"})),
    ("sum(cfg.items)", frozenset({"items.len", "items.0", "items.rest"})),
    ("cfg.items[0]", frozenset({"items.0"})),
    ("(1 if cfg.items else 0)", frozenset({"items.len"})),
    ("cfg.opts['p']", frozenset({"opts.p"})),
    ("cfg.opts.get('q', 0)", frozenset({"opts.q"})),
    ("(5 if 'q' in cfg.opts else -5)", frozenset({"opts.q"})),
    ("k", frozenset({"k"})),
    ("d", frozenset({"d"})),
    ("G_CONF['r']", frozenset({"G.r"})),
    ("G_SCALE", frozenset({"G_SCALE"})),
    ("helper(cfg)", frozenset({"sub.y", "helper.w", "helper.hk"})),
    ("cfg.total()", frozenset({"a", "b"})),
    ("max(cfg.sub.x, cfg.b)", frozenset({"sub.x", "b"})),
    ("(cfg.a if cfg.sub.x > 0 else cfg.b)", frozenset({"sub.x", "a", "b"})),
    ("(1 if cfg.maybe is None else 2)", frozenset({"maybe"})),
    ("len(cfg.maybe or [])", frozenset({"maybe"})),
]

OPS = ["+", "-", "*"]


class World:
    """One example's namespace, config and function, and how to mutate them."""

    def __init__(self, source: str, defaults: tuple[int, ...]) -> None:
        self.ns: dict[str, Any] = {"__name__": "guards_model_world"}
        exec(compile(WORLD, "<model world>", "exec"), self.ns)
        exec(compile(source, "<model function>", "exec"), self.ns)
        plain, self.set_k = self.ns["_factory"](2)
        if defaults:
            plain.__defaults__ = defaults
        self.plain = plain
        self.f = guards.specialize(plain)
        ns = self.ns
        self.cfg = ns["Cfg"](1, 2, ns["Sub"](1, 2, 3), [1, 2], {"p": 1, "zz": 0}, 0, [1])

    def mutate(self, name: str, v: int) -> frozenset[str]:
        """Apply the mutation ``name`` with value ``v``; return the parts it touched."""
        cfg, ns = self.cfg, self.ns
        touched: dict[str, Callable[[], frozenset[str]]] = {
            "a": lambda: _set(cfg, "a", v, "a"),
            "b": lambda: _set(cfg, "b", v, "b"),
            "sub.x": lambda: _set(cfg.sub, "x", v, "sub.x"),
            "sub.y": lambda: _set(cfg.sub, "y", v, "sub.y"),
            "sub.z": lambda: _set(cfg.sub, "z", v, "sub.z"),
            "unread": lambda: _set(cfg, "unread", v, "unread"),
            "replace sub": lambda: _do(
                setattr(cfg, "sub", ns["Sub"](v, cfg.sub.y, cfg.sub.z)), "sub.x"
            ),
            "equal sub": lambda: _do(
                setattr(cfg, "sub", ns["Sub"](cfg.sub.x, cfg.sub.y, v))
            ),
            "items.0": lambda: _do(cfg.items.__setitem__(0, v), "items.0"),
            "items.rest": lambda: _do(cfg.items.__setitem__(1, v), "items.rest"),
            "append": lambda: _do(cfg.items.append(v), "items.len", "items.rest"),
            "pop": lambda: (
                _do(cfg.items.pop(), "items.len", "items.rest") if len(cfg.items) > 2
                else frozenset()
            ),
            "equal items": lambda: _do(setattr(cfg, "items", list(cfg.items))),
            "opts.p": lambda: _do(cfg.opts.__setitem__("p", v), "opts.p"),
            "opts.q": lambda: _do(
                cfg.opts.pop("q") if "q" in cfg.opts else cfg.opts.__setitem__("q", v), "opts.q"
            ),
            "opts.zz": lambda: _do(cfg.opts.__setitem__("zz", v)),
            "opts new key": lambda: _do(cfg.opts.__setitem__(f"new{v}", v)),
            "k": lambda: _do(self.set_k(v), "k"),
            "d": lambda: _do(setattr(self.plain, "__defaults__", (v,)), "d")
            if self.plain.__defaults__ else frozenset(),
            "G.r": lambda: _do(ns["G_CONF"].__setitem__("r", v), "G.r"),
            "G.s": lambda: _do(ns["G_CONF"].__setitem__("s", v)),
            "equal G_CONF": lambda: _do(ns.__setitem__("G_CONF", dict(ns["G_CONF"]))),
            "G_SCALE": lambda: _do(ns.__setitem__("G_SCALE", v), "G_SCALE"),
            "G_OTHER": lambda: _do(ns.__setitem__("G_OTHER", v)),
            "helper.w": lambda: _do(setattr(ns["helper"], "__defaults__", (v,)), "helper.w"),
            "helper.hk": lambda: _do(ns["set_hk"](v), "helper.hk"),
            "helper.hunused": lambda: _do(ns["set_hunused"](v)),
            "copy cfg": lambda: _do(setattr(self, "cfg", copy.deepcopy(cfg))),
            "maybe": lambda: _do(setattr(cfg, "maybe", None if cfg.maybe else [v]), "maybe"),
        }
        return touched[name]()


def _set(obj: Any, attr: str, v: int, part: str) -> frozenset[str]:
    setattr(obj, attr, v)
    return frozenset({part})


def _do(_: Any, *parts: str) -> frozenset[str]:
    return frozenset(parts)


MUTATIONS = [
    "a", "b", "sub.x", "sub.y", "sub.z", "unread", "replace sub", "equal sub", "items.0",
    "items.rest", "append", "pop", "equal items", "opts.p", "opts.q", "opts.zz",
    "opts new key", "k", "d", "G.r", "G.s", "equal G_CONF", "G_SCALE", "G_OTHER", "helper.w",
    "helper.hk", "helper.hunused", "copy cfg", "maybe",
]


@st.composite
def functions(draw: st.DrawFn) -> tuple[str, frozenset[str], bool]:
    """Source of ``_factory(k) -> (f, set_k)``, what ``f`` reads, and whether it has ``d``."""

    def expression() -> tuple[str, frozenset[str]]:
        picked = draw(st.lists(st.sampled_from(READERS), min_size=1, max_size=3))
        text = picked[0][0]
        for code, _ in picked[1:]:
            text = f"({text} {draw(st.sampled_from(OPS))} {code})"
        return text, frozenset().union(*(reads for _, reads in picked))

    first, reads = expression()
    if draw(st.booleans()):
        (cond, cond_reads), (other, other_reads) = expression(), expression()
        threshold = draw(st.integers(-3, 3))
        body = f"if {cond} > {threshold}:\n    return {first}\nreturn {other}"
        reads = reads | cond_reads | other_reads
    else:
        body = f"return {first}"
    has_d = "d" in reads
    params = "cfg, d=0" if has_d else "cfg"
    source = (
        "def _factory(k):\n"
        f"    def f({params}):\n{textwrap.indent(body, '        ')}\n"
        "    def set_k(value):\n"
        "        nonlocal k\n"
        "        k = value\n"
        "    return f, set_k\n"
    )
    return source, reads, has_d


STEPS = st.lists(
    st.one_of(
        st.just(("call", 0)),
        st.tuples(st.sampled_from(MUTATIONS), st.integers(-3, 3)),
    ),
    max_size=14,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(function=functions(), steps=STEPS)
def test_every_call_equals_a_fresh_call_and_unread_mutations_hit(
    function: tuple[str, frozenset[str], bool], steps: list[tuple[str, int]]
) -> None:
    source, reads, has_d = function
    note(source)
    world = World(source, (0,) if has_d else ())
    f = world.f
    touched_since_call: frozenset[str] | None = None  # None: no call yet
    for name, value in [("call", 0), *steps, ("call", 0)]:
        if name != "call":
            touched = world.mutate(name, value)
            if touched_since_call is not None:
                touched_since_call |= touched
            continue
        misses = f.cache.info().misses
        got = f(world.cfg)
        expected = world.plain(world.cfg)
        assert got == expected, (got, expected)
        if touched_since_call is not None and not touched_since_call & reads:
            assert f.cache.info().misses == misses, (
                f"a call missed after mutations of unread parts only:\n{f.cache}"
            )
        assert f.explain(world.cfg).hit  # the entry just used holds for the current state
        touched_since_call = frozenset()
    info = f.cache.info()
    assert info.uncached == 0, f.specialized.uncached_reasons
    assert info.entries <= info.max_entries


@settings(max_examples=50, deadline=None)
@given(function=functions(), values=st.lists(st.integers(-3, 3), min_size=3, max_size=3))
def test_a_hit_on_a_rebuilt_world_equals_a_fresh_call(
    function: tuple[str, frozenset[str], bool], values: list[int]
) -> None:
    """Entries built on one config are reused on an equal, separately built one."""
    source, _, has_d = function
    note(source)
    world = World(source, (0,) if has_d else ())
    f = world.f
    a, x, y = values
    world.cfg.a, world.cfg.sub.x, world.cfg.sub.y = a, x, y
    assert f(world.cfg) == world.plain(world.cfg)
    twin = world.ns["Cfg"](a, 2, world.ns["Sub"](x, y, 99), [1, 2], {"p": 1, "zz": 5}, 7, [1])
    assert f(twin) == world.plain(twin)
    assert f.cache.info()[:2] == (1, 1)
