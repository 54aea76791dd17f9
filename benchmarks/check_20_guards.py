"""``check`` of a 20-guard set against a hand-written function doing the same checks.

Run: ``python benchmarks/check_20_guards.py``.  Prints the median time per
call of each and the ratio (guards / hand-written); 1.0 means parity.
"""

from __future__ import annotations

import types

from _timing import compare

from guards import (
    AttrSource,
    ClosureSource,
    DefaultsSource,
    GetItemSource,
    GuardBuilder,
    LocalSource,
    compile_guards,
)


class Config:
    def __init__(self) -> None:
        self.mode = "fast"
        self.unroll = 4
        self.scale = 1.5
        self.debug = False
        self.name = "kernel"


def make_fn(offset: int) -> types.FunctionType:
    def fn(x: int, width: int = 8, *, tag: str = "a") -> int:
        return x + offset + width

    return fn  # type: ignore[return-value]


def build() -> tuple[dict[str, object], list[object]]:
    f_locals: dict[str, object] = {
        "cfg": Config(),
        "fn": make_fn(3),
        "shape": (2, 3, 4),
        "opts": {"a": 1, "b": "x", "c": None},
        "n": 7,
        "flag": True,
    }
    cfg, fn, shape, opts = (LocalSource(n) for n in ("cfg", "fn", "shape", "opts"))
    cell = AttrSource(GetItemSource(ClosureSource(fn), 0), "cell_contents")
    g = GuardBuilder
    guard_list = [
        cfg.make_guard(g.TYPE_MATCH),
        AttrSource(cfg, "mode").make_guard(g.EQUALS_MATCH),
        AttrSource(cfg, "unroll").make_guard(g.EQUALS_MATCH),
        AttrSource(cfg, "scale").make_guard(g.EQUALS_MATCH),
        AttrSource(cfg, "debug").make_guard(g.CONSTANT_MATCH),
        AttrSource(cfg, "name").make_guard(g.EQUALS_MATCH),
        fn.make_guard(g.CLOSURE_MATCH),
        cell.make_guard(g.EQUALS_MATCH),
        DefaultsSource(fn, 0).make_guard(g.EQUALS_MATCH),
        DefaultsSource(fn, "tag", is_kw=True).make_guard(g.EQUALS_MATCH),
        shape.make_guard(g.SEQUENCE_LENGTH),
        GetItemSource(shape, 0).make_guard(g.EQUALS_MATCH),
        GetItemSource(shape, 1).make_guard(g.EQUALS_MATCH),
        GetItemSource(shape, 2).make_guard(g.EQUALS_MATCH),
        opts.make_guard(g.DICT_KEYS_MATCH),
        GetItemSource(opts, "a").make_guard(g.EQUALS_MATCH),
        GetItemSource(opts, "b").make_guard(g.EQUALS_MATCH),
        GetItemSource(opts, "c").make_guard(g.CONSTANT_MATCH),
        LocalSource("n").make_guard(g.EQUALS_MATCH),
        LocalSource("flag").make_guard(g.CONSTANT_MATCH),
    ]
    return f_locals, guard_list


def hand_written(f_locals: dict[str, object]) -> types.FunctionType:
    """The best plain-Python check: shared prefixes in locals, constants in closure cells,
    and an identity test before type-and-equality."""
    cfg_t = type(f_locals["cfg"])
    fn_t = types.FunctionType
    code = f_locals["fn"].__code__  # type: ignore[attr-defined]
    keys = ["a", "b", "c"]
    float_t, int_t, str_t, tuple_t, dict_t = float, int, str, tuple, dict
    fast, four, scale, kernel, three, eight, tag = "fast", 4, 1.5, "kernel", 3, 8, "a"
    two, one, x, seven, zero, tag_key, a, b, c = 2, 1, "x", 7, 0, "tag", "a", "b", "c"

    def check(L: dict[str, object], G: object = None) -> bool:
        try:
            cfg = L["cfg"]
            if type(cfg) is not cfg_t:
                return False
            v = cfg.mode  # type: ignore[attr-defined]
            if not (v is fast or (type(v) is str_t and v == fast)):
                return False
            v = cfg.unroll  # type: ignore[attr-defined]
            if not (v is four or (type(v) is int_t and v == four)):
                return False
            v = cfg.scale  # type: ignore[attr-defined]
            if not (v is scale or (type(v) is float_t and v == scale)):
                return False
            if cfg.debug is not False:  # type: ignore[attr-defined]
                return False
            v = cfg.name  # type: ignore[attr-defined]
            if not (v is kernel or (type(v) is str_t and v == kernel)):
                return False
            fn = L["fn"]
            if type(fn) is not fn_t or fn.__code__ is not code:  # type: ignore[attr-defined]
                return False
            v = fn.__closure__[zero].cell_contents  # type: ignore[attr-defined]
            if not (v is three or (type(v) is int_t and v == three)):
                return False
            v = fn.__defaults__[zero]  # type: ignore[attr-defined]
            if not (v is eight or (type(v) is int_t and v == eight)):
                return False
            v = fn.__kwdefaults__[tag_key]  # type: ignore[attr-defined]
            if not (v is tag or (type(v) is str_t and v == tag)):
                return False
            shape = L["shape"]
            if type(shape) is not tuple_t or len(shape) != three:  # type: ignore[arg-type]
                return False
            v = shape[zero]  # type: ignore[index]
            if not (v is two or (type(v) is int_t and v == two)):
                return False
            v = shape[one]  # type: ignore[index]
            if not (v is three or (type(v) is int_t and v == three)):
                return False
            v = shape[two]  # type: ignore[index]
            if not (v is four or (type(v) is int_t and v == four)):
                return False
            opts = L["opts"]
            if type(opts) is not dict_t or list(opts) != keys:  # type: ignore[call-overload]
                return False
            v = opts[a]  # type: ignore[index]
            if not (v is one or (type(v) is int_t and v == one)):
                return False
            v = opts[b]  # type: ignore[index]
            if not (v is x or (type(v) is str_t and v == x)):
                return False
            if opts[c] is not None:  # type: ignore[index]
                return False
            v = L["n"]
            if not (v is seven or (type(v) is int_t and v == seven)):
                return False
            return L["flag"] is True
        except Exception:
            return False

    return check  # type: ignore[return-value]


def main() -> None:
    f_locals, guard_list = build()
    compiled = compile_guards(guard_list, f_locals)  # type: ignore[arg-type]
    manual = hand_written(f_locals)
    assert compiled.check(f_locals) and manual(f_locals)
    ours, theirs = compiled.check, manual
    times = compare({"guards": (ours, (f_locals,)), "hand-written": (theirs, (f_locals,))})
    print(f"20-guard check ({len(compiled.checks)} checks)")
    for name, ns in times.items():
        print(f"  {name:<13} {ns:8.1f} ns/call")
    print(f"  ratio guards / hand-written: {times['guards'] / times['hand-written']:.2f}")


if __name__ == "__main__":
    main()
