"""Special methods whose C default calls a Python method are traced (issue 9, kind 4).

``a != b`` on a class that defines only ``__eq__`` runs ``object.__ne__``, which
calls the Python ``__eq__``: that ``__eq__`` is traced, so what it reads is
guarded.  The same for ``str`` -> ``__repr__``, ``format`` -> ``__str__``,
``int``/``float`` -> ``__index__``, iteration -> ``__getitem__`` and ``in`` ->
iteration.  See ``guards.specialization.delegates``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import guards


class V:
    def __init__(self, x: int) -> None:
        self.x = x

    def __eq__(self, other: object) -> bool:
        return isinstance(other, V) and self.x == other.x

    __hash__ = None  # type: ignore[assignment]


class Plain:
    def __init__(self, x: int) -> None:
        self.x = x


class Shown:
    def __init__(self, x: int) -> None:
        self.x = x

    def __str__(self) -> str:
        return f"shown {self.x}"

    def __repr__(self) -> str:
        return f"Shown({self.x})"


class Reprd:
    def __init__(self, x: int) -> None:
        self.x = x

    def __repr__(self) -> str:
        return f"Reprd({self.x})"


class Index:
    def __init__(self, x: int) -> None:
        self.x = x

    def __index__(self) -> int:
        return self.x


class Seq:
    """Iterable by the old protocol only: ``__getitem__`` until IndexError."""

    def __init__(self, items: list[int]) -> None:
        self.items = items

    def __getitem__(self, i: int) -> int:
        return self.items[i]


class Iterable:
    def __init__(self, items: list[int]) -> None:
        self.items = items

    def __iter__(self) -> Any:
        return iter(self.items)


def check_calls(f: Any, calls: list[tuple[Callable[[], None], tuple[Any, ...]]]) -> None:
    """After each mutation, the specialized function returns what the plain one does."""
    for mutate, args in calls:
        mutate()
        assert f(*args) == f.__wrapped__(*args)


def nothing() -> None:
    pass


def test_ne_falls_back_to_a_python_eq() -> None:
    @guards.specialize
    def f(a: V, b: V) -> bool:
        return a != b

    a, b = V(1), V(1)
    assert f(a, b) is False
    assert f(a, b) is False
    assert f.cache.info().hits == 1
    a.x = 2
    assert f(a, b) is True


class ByX:
    def __init__(self, x: int) -> None:
        self.x = x

    def __eq__(self, other: object) -> bool:
        return self.x == getattr(other, "x", None)

    __hash__ = None  # type: ignore[assignment]


def test_eq_reflects_to_the_other_operands_python_eq() -> None:
    """``plain == v``: object.__eq__ says NotImplemented, so Python asks ByX.__eq__."""

    @guards.specialize
    def f(p: Plain, v: ByX) -> bool:
        return p == v

    p, v = Plain(1), ByX(1)
    assert f(p, v) is True
    check_calls(f, [(nothing, (p, v)), (lambda: setattr(v, "x", 3), (p, v)),
                    (lambda: setattr(p, "x", 3), (p, v))])


def test_identity_equality_of_plain_objects() -> None:
    @guards.specialize
    def f(a: Plain, b: Plain) -> tuple[bool, bool]:
        return a == b, a != b

    a, b = Plain(1), Plain(1)
    assert f(a, b) == (False, True)
    assert f(a, a) == (True, False)
    assert f(a, b) == (False, True)


def test_format_and_fstrings_use_str() -> None:
    @guards.specialize
    def f(s: Shown, r: Reprd) -> tuple[str, str, str, str]:
        return f"{s}", format(s), str(r), f"{r}"

    s, r = Shown(1), Reprd(2)
    assert f(s, r) == ("shown 1", "shown 1", "Reprd(2)", "Reprd(2)")
    check_calls(f, [(nothing, (s, r)), (lambda: setattr(s, "x", 5), (s, r)),
                    (lambda: setattr(r, "x", 6), (s, r))])


def test_a_format_spec_on_a_class_without_format_raises_as_plain() -> None:
    @guards.specialize
    def f(s: Shown) -> str:
        return format(s, ">10")

    with pytest.raises(TypeError, match="unsupported format string"):
        f(Shown(1))


def test_int_and_float_fall_back_to_index() -> None:
    @guards.specialize
    def f(i: Index) -> tuple[int, float]:
        return int(i), float(i)

    i = Index(3)
    assert f(i) == (3, 3.0)
    assert f(i) == (3, 3.0)
    i.x = 4
    assert f(i) == (4, 4.0)


def test_iteration_by_getitem_is_traced() -> None:
    @guards.specialize
    def f(s: Seq) -> list[int]:
        return [x * 2 for x in s]

    s = Seq([1, 2])
    check_calls(f, [(nothing, (s,)), (nothing, (s,)), (lambda: s.items.append(3), (s,)),
                    (lambda: s.items.__setitem__(0, 9), (s,))])
    assert f.cache.info().hits >= 1


@pytest.mark.parametrize("make", [Seq, Iterable])
def test_in_falls_back_to_iteration(make: Any) -> None:
    @guards.specialize
    def f(c: Any, x: int) -> bool:
        return x in c

    c = make([1, 2])
    check_calls(f, [(nothing, (c, 2)), (nothing, (c, 2)), (lambda: c.items.remove(2), (c, 2)),
                    (lambda: c.items.append(2), (c, 2)), (nothing, (c, 5))])


# -- which special method a class provides is guarded (absent and losing ones too) --------


def _added_later(operation: Callable[[Any, Any], Any], make: Callable[[], Any], name: str,
                 method: Callable[..., Any], *, on: Callable[[Any], type] = type) -> None:
    """``operation(x, y)`` twice (a hit), then ``name`` set on the class: a miss, a fresh answer."""
    f = guards.specialize(operation)
    x, y = make(), make()
    assert f(x, y) == operation(x, y)
    assert f(x, y) == operation(x, y)
    hits = f.cache.info().hits
    assert hits == 1
    setattr(on(x), name, method)
    assert f(x, y) == operation(x, y)
    assert f.cache.info().hits == hits


def _fresh_class(*bases: type, **namespace: Any) -> type:
    def init(self: Any, v: int = 1) -> None:
        self.v = v
        self.items: list[int] = [1]

    return type("Fresh", bases or (object,), {"__init__": init, **namespace})


@pytest.mark.parametrize(("operation", "name", "method"), [
    (lambda x, y: x == y, "__eq__", lambda s, o: s.v == o.v),
    (lambda x, y: x != y, "__eq__", lambda s, o: s.v == o.v),
    (lambda x, y: x != y, "__ne__", lambda s, o: False),
    (lambda x, y: x in [y], "__eq__", lambda s, o: s.v == o.v),
    (lambda x, y: hash(x) == id(x) // 16, "__hash__", lambda s: 3),
    (lambda x, y: "full" if x else "empty", "__len__", lambda s: 0),
    (lambda x, y: "full" if x else "empty", "__bool__", lambda s: False),
    (lambda x, y: str(x)[:6], "__str__", lambda s: "custom"),
])
def test_a_special_method_added_to_the_class_is_seen(
    operation: Callable[[Any, Any], Any], name: str, method: Callable[..., Any]
) -> None:
    _added_later(operation, _fresh_class(), name, method)


def test_a_special_method_added_to_a_base_class_is_seen() -> None:
    base = _fresh_class()
    cls = type("Sub", (base,), {})
    _added_later(lambda x, y: x != y, cls, "__eq__", lambda s, o: s.v == o.v,
                 on=lambda x: base)


def test_bool_added_before_a_python_len_is_seen() -> None:
    cls = _fresh_class(__len__=lambda s: len(s.items))
    _added_later(lambda x, y: "full" if x else "empty", cls, "__bool__", lambda s: False)


def test_contains_added_before_a_python_iter_is_seen() -> None:
    cls = _fresh_class(__iter__=lambda s: iter(s.items))
    _added_later(lambda x, y: 1 in x, cls, "__contains__", lambda s, x: False)


def test_len_replaced_by_a_c_function_is_seen() -> None:
    cls = _fresh_class(__len__=lambda s: len(s.items))
    _added_later(lambda x, y: len(x), cls, "__len__", lambda s: 7)


def test_the_same_class_still_hits() -> None:
    cls = _fresh_class()

    @guards.specialize
    def f(a: Any, b: Any) -> tuple[bool, bool, bool]:
        return a == b, bool(a), a != b

    a, b = cls(1), cls(1)
    assert f(a, b) == (False, True, True)
    assert f(a, b) == (False, True, True)
    assert f.cache.info().hits == 1


# -- C methods called unbound with a tracked value as self --------------------------------


class Node:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"{self.name}:{object.__repr__(self)}"


class Lazy:
    def __init__(self) -> None:
        self.loaded = {"x": 1}

    def get(self, name: str) -> Any:
        try:
            return object.__getattribute__(self, "loaded")[name]
        except AttributeError:
            return "not loaded"


DICT_GET = dict.get


def test_object_repr_called_unbound_shows_the_object() -> None:
    @guards.specialize
    def show(n: Node) -> str:
        return repr(n)

    n = Node("a")
    assert show(n) == repr(n)
    assert show(n) == repr(n)


def test_object_hash_called_unbound_hashes_the_object() -> None:
    @guards.specialize
    def h(t: Plain) -> bool:
        return hash(t) == object.__hash__(t)

    assert h(Plain(1)) is True


def test_object_getattribute_called_unbound_reads_the_attribute() -> None:
    @guards.specialize
    def f(lazy: Lazy) -> Any:
        return lazy.get("x")

    lazy = Lazy()
    assert f(lazy) == 1
    assert f(lazy) == 1
    lazy.loaded["x"] = 2
    assert f(lazy) == 2
    assert f.cache.info().hits == 1


def test_dict_method_called_unbound_reads_the_dict() -> None:
    @guards.specialize
    def lookup(d: dict[str, int], k: str) -> Any:
        try:
            return dict.get(d, k, "missing"), DICT_GET(d, k)
        except TypeError:
            return "not a dict"

    d = {"a": 1}
    assert lookup(d, "a") == (1, 1)
    assert lookup(d, "a") == (1, 1)
    d["a"] = 2
    assert lookup(d, "a") == (2, 2)
    assert lookup(d, "b") == ("missing", None)
    assert lookup.cache.info().hits == 1


def test_a_base_method_called_unbound_from_an_override_runs_on_the_value() -> None:
    class Counting(dict[str, int]):
        def __getitem__(self, key: str) -> int:
            return dict.__getitem__(self, key) + 100

    @guards.specialize
    def f(c: Counting) -> int:
        return c["a"]

    c = Counting(a=1)
    assert f(c) == 101
    c["a"] = 2
    assert f(c) == 102


def test_str_join_called_unbound_still_works() -> None:
    @guards.specialize
    def f(xs: list[str]) -> str:
        return str.join(",", xs) + str.upper("a")

    assert f(["a", "b"]) == "a,bA"


# -- C methods bound to a container are tracked as the container and a name ---------------


RATES = {"eu": 0.2}
rate_of = RATES.get
SEEN = [1, 2]
DATA = [3, 1, 2]
count_data = DATA.__len__


def test_a_bound_dict_method_in_a_global_reads_the_dict() -> None:
    @guards.specialize
    def price(amount: int, region: str) -> float:
        return amount * (1 + rate_of(region, 0))

    assert price(10, "eu") == 12.0
    assert price(10, "eu") == 12.0
    try:
        RATES["eu"] = 0.5
        assert price(10, "eu") == 15.0
    finally:
        RATES["eu"] = 0.2
    assert price.cache.info().hits == 1


def test_a_bound_list_method_as_a_default_reads_the_list() -> None:
    @guards.specialize
    def seen(x: int, _has: Callable[[int], bool] = SEEN.__contains__) -> bool:
        return _has(x)

    assert seen(3) is False
    assert seen(3) is False
    try:
        SEEN.append(3)
        assert seen(3) is True
    finally:
        SEEN.remove(3)


def test_a_bound_method_wrapper_in_a_global_reads_the_list() -> None:
    @guards.specialize
    def n() -> int:
        return count_data()

    assert n() == 3
    assert n() == 3
    try:
        DATA.append(9)
        assert n() == 4
    finally:
        DATA.pop()
    assert n.cache.info().hits == 1


def test_bound_methods_in_a_closure_read_their_dict_and_a_mutator_runs_plainly() -> None:
    table: dict[str, str] = {}
    get, put = table.get, table.__setitem__

    @guards.specialize
    def lookup(k: str) -> str:
        return get(k, "none")

    @guards.specialize
    def store(k: str) -> int:
        put(k, "stored")
        return len(table)

    assert lookup("a") == "none"
    assert lookup("a") == "none"
    put("a", "yes")
    assert lookup("a") == "yes"
    assert store("b") == 2
    assert store("c") == 3
    assert table == {"a": "yes", "b": "stored", "c": "stored"}
    assert lookup.cache.info().hits == 1


OTHER_RATES = {"eu": 0.2}
held = OTHER_RATES.get


def test_a_global_rebound_to_another_method_of_the_same_dict_misses() -> None:
    global held

    @guards.specialize
    def rate(region: str) -> Any:
        return held(region)

    assert rate("eu") == 0.2
    assert rate("eu") == 0.2
    try:
        held = OTHER_RATES.__contains__
        assert rate("eu") is True
    finally:
        held = OTHER_RATES.get
