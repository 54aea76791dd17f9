"""Hostile names and values: generated code holds only identifiers and never runs user text."""

from __future__ import annotations

import ast
import builtins
import re
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from guards import (
    AttrSource,
    CheckFunction,
    GetItemSource,
    GlobalSource,
    Guard,
    GuardBuilder,
    LocalSource,
    Source,
    compile_guards,
)
from guards.testing import Obj

SENTINEL = "GUARDS_INJECTION_SENTINEL"

#: Text that would run (and set the sentinel) if it ever reached generated code.
PAYLOADS = [
    "a b",
    "x'); import os; ('",
    'x"); import os; ("',
    "__import__('os').system('echo hi')",
    f"__import__('builtins').__dict__.__setitem__('{SENTINEL}', 1)",
    f"\nimport builtins; builtins.{SENTINEL} = 1\n",
    f"x\r\nimport builtins; builtins.{SENTINEL} = 1",
    f"x\u2028import builtins; builtins.{SENTINEL} = 1",
    f"x\x0cimport builtins; builtins.{SENTINEL} = 1",
    f"');setattr(__import__('builtins'), '{SENTINEL}', 1);('",
    f"#\nsetattr(__import__('builtins'), '{SENTINEL}', 1)",
    f"{{0}}.__class__.__init__.__globals__['{SENTINEL}']",
    "x\\",
    "\\",
    "'",
    '"',
    "'''",
    '"""',
    "\x00",
    "\udc80",
    "ünïcödé",
    "\ufb01",
    "\U0001f642",
    "{0}",
    "{T}",
    "{}",
    "}{",
    "L",
    "G",
    "_v0",
    "_k0_local",
    "check",
    "Exception",
    "__builtins__",
    "type",
    "getattr",
    "lambda: 1",
    "0",
    "",
    " ",
    "\t",
    "x" * 300,
]

#: What codegen may write as a literal: nothing that came from the user.
ALLOWED_CONSTANTS = {(type(None), None), (bool, True), (bool, False), (float, 0.0), (float, 1.0)}
ALLOWED_NAMES = re.compile(
    r"(L|G|check|_make_check|_part\d+|_v\d+|_d\d+|_k\d+_[A-Za-z_]\w*"
    r"|type|len|list|hasattr|getattr|Exception)\Z"
)


def assert_nothing_executed() -> None:
    assert not hasattr(builtins, SENTINEL), "user text was executed"


def assert_clean(cf: CheckFunction, secrets: tuple[Any, ...] = ()) -> None:
    """Only identifiers and library literals in the code; comments are printable ASCII."""
    code = cf.code
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant):
            assert (type(node.value), node.value) in ALLOWED_CONSTANTS, ast.dump(node)
        elif isinstance(node, ast.Name):
            assert ALLOWED_NAMES.match(node.id), node.id
        elif isinstance(node, ast.arg):
            assert ALLOWED_NAMES.match(node.arg), node.arg
        elif isinstance(node, ast.Attribute):
            assert node.attr.isidentifier()
            # What the text says is what Python reads (no NFKC folding of a user's name).
            segment = ast.get_source_segment(code, node)
            assert segment is not None and segment.endswith("." + node.attr), segment
        elif isinstance(node, (ast.Import, ast.ImportFrom, ast.Lambda, ast.JoinedStr)):
            raise AssertionError(ast.dump(node))
    for line in code.splitlines():
        if line.strip().startswith("#"):
            assert line.isascii() and line.isprintable(), line
    assert cf.filename.isascii() and cf.filename.isprintable()
    for secret in secrets:
        assert repr(secret) not in code
        assert str(secret) not in code


def obj_with(**attributes: Any) -> Obj:
    obj = Obj()
    for name, value in attributes.items():
        setattr(obj, name, value)
    return obj


def set_attr(obj: Obj, name: str, value: Any) -> Obj:
    setattr(obj, name, value)
    return obj


# -------------------------------------------------------------------- examples
@pytest.mark.parametrize("name", PAYLOADS, ids=ascii)
def test_hostile_attribute_name(name: str) -> None:
    o = LocalSource("o")
    secret = "SECRET-VALUE-42"
    source = AttrSource(o, name)
    guard_list = [
        source.make_guard(GuardBuilder.EQUALS_MATCH),
        source.make_guard(GuardBuilder.HASATTR),
        AttrSource(o, name + "!absent").make_guard(GuardBuilder.HASATTR),
    ]
    value = set_attr(Obj(), name, secret)
    cf = compile_guards(guard_list, {"o": value})
    assert_clean(cf, (secret,))
    assert eval(source.name, {"L": {"o": value}}) == secret
    assert cf.check({"o": set_attr(Obj(), name, secret)})
    changed = set_attr(Obj(), name, "other")
    assert source.get({"o": changed}) == "other"
    assert cf.check({"o": changed}) is False
    assert cf.check_verbose({"o": changed}).passed is False
    assert cf.check({"o": Obj()}) is False
    assert cf.check({"o": set_attr(set_attr(Obj(), name, secret), name + "!absent", 1)}) is False
    assert_nothing_executed()


@pytest.mark.parametrize("name", PAYLOADS, ids=ascii)
def test_hostile_key(name: str) -> None:
    d = LocalSource("d")
    secret = 987654321
    guard_list = [
        GetItemSource(d, name).make_guard(GuardBuilder.EQUALS_MATCH),
        GetItemSource(d, name).make_guard(GuardBuilder.DICT_CONTAINS),
        GetItemSource(d, (name, 1)).make_guard(GuardBuilder.CONSTANT_MATCH),
        GetItemSource(d, name + "!absent").make_guard(GuardBuilder.DICT_CONTAINS),
        d.make_guard(GuardBuilder.DICT_KEYS_MATCH),
    ]
    value = {name: secret, (name, 1): None}
    cf = compile_guards(guard_list, {"d": value})
    assert_clean(cf, (secret,))
    assert eval(GetItemSource(d, (name, 1)).name, {"L": {"d": value}}) is None
    assert cf.check({"d": {name: secret, (name, 1): None}})
    assert cf.check({"d": {name: secret + 1, (name, 1): None}}) is False
    assert cf.check({"d": {name: secret, (name, 1): False}}) is False
    assert cf.check({"d": {name: secret, (name, 1): None, name + "!absent": 0}}) is False
    result = cf.check_verbose({"d": {(name, 1): None}})
    assert not result.passed
    assert all("\n" not in failure.message for failure in result.failures)
    assert_nothing_executed()


@pytest.mark.parametrize("name", PAYLOADS, ids=ascii)
def test_hostile_local_and_global_names(name: str) -> None:
    guard_list = [
        LocalSource(name).make_guard(GuardBuilder.EQUALS_MATCH),
        GlobalSource(name).make_guard(GuardBuilder.EQUALS_MATCH),
    ]
    cf = compile_guards(guard_list, {name: "local-secret"}, {name: "global-secret"})
    assert_clean(cf, ("local-secret", "global-secret"))
    assert cf.check({name: "local-secret"}, {name: "global-secret"})
    assert not cf.check({name: "local-secret"}, {name: "changed"})
    assert not cf.check({}, {name: "global-secret"})
    assert len(str(cf).splitlines()) == 5  # header, two paths, two checks: no stray newline
    assert_nothing_executed()


@pytest.mark.parametrize("value", PAYLOADS, ids=ascii)
def test_hostile_values_are_bound_not_pasted(value: str) -> None:
    cf = compile_guards([LocalSource("x").make_guard(GuardBuilder.EQUALS_MATCH)], {"x": value})
    assert_clean(cf)
    assert repr(value) not in cf.code
    assert cf.check({"x": value})
    assert not cf.check({"x": value + "?"})
    assert_nothing_executed()


def test_an_identifier_that_python_would_normalize_is_read_as_written() -> None:
    """'\ufb01' (the fi ligature) is read with getattr, not as `.fi`, which Python folds it to."""
    ligature = "\ufb01"  # a variable: `o.\ufb01 = ...` in source would itself be folded to `o.fi`
    source = AttrSource(LocalSource("o"), ligature)
    value = obj_with(fi="decoy")
    setattr(value, ligature, "real")
    cf = compile_guards([source.make_guard(GuardBuilder.EQUALS_MATCH)], {"o": value})
    assert_clean(cf)
    other = obj_with(fi="real")
    setattr(other, ligature, "changed")
    assert source.get({"o": other}) == "changed"
    assert cf.check({"o": other}) is False
    decoy_changed = obj_with(fi="changed too")
    setattr(decoy_changed, ligature, "real")
    assert cf.check({"o": decoy_changed}) is True


def test_braces_in_a_name_do_not_reach_the_description_template() -> None:
    """HASATTR / DICT_CONTAINS on names like '{x}' or '{0}' build and describe the real name."""
    o = obj_with(**{"{x}": 1})
    cf = compile_guards(
        [
            AttrSource(LocalSource("o"), "{x}").make_guard(GuardBuilder.HASATTR),
            GetItemSource(LocalSource("d"), "{0}").make_guard(GuardBuilder.DICT_CONTAINS),
        ],
        {"o": o, "d": {"{0}": 1}},
    )
    failures = cf.check_verbose({"o": Obj(), "d": {}}).failures
    assert len(failures) == 2
    assert "'{x}'" in failures[0].message
    assert "'{0}' in L['d']" in failures[1].message


# ---------------------------------------------------------------------- fuzzing
names = st.text().filter(lambda n: not (n.startswith("__") and n.endswith("__")))
keys = st.one_of(st.text(), st.tuples(st.text(), st.integers()), st.integers())


@settings(max_examples=150, deadline=None)
@given(names, keys, names, st.text())
def test_fuzz_names_and_keys(member: str, key: Any, root: str, value: str) -> None:
    """Any text as attribute name, key or root name: clean code, and check agrees with get."""
    base = LocalSource(root)
    attr = AttrSource(base, member)
    item = GetItemSource(attr, key)
    guard_list: list[Guard] = [
        item.make_guard(GuardBuilder.EQUALS_MATCH),
        attr.make_guard(GuardBuilder.HASATTR),
        item.make_guard(GuardBuilder.DICT_CONTAINS),
        AttrSource(base, member + "\x00").make_guard(GuardBuilder.HASATTR),
    ]
    holder = set_attr(Obj(), member, {key: value})
    cf = compile_guards(guard_list, {root: holder})
    assert_clean(cf)
    for candidate in [
        set_attr(Obj(), member, {key: value}),
        set_attr(Obj(), member, {key: value + "!"}),
        set_attr(Obj(), member, {}),
        Obj(),
    ]:
        f_locals = {root: candidate}
        try:
            expected = item.get(f_locals) == value
        except (AttributeError, KeyError):
            expected = False
        assert cf.check(f_locals) is expected
        assert cf.check_verbose(f_locals).passed is expected
    assert_nothing_executed()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(names, st.text(max_size=3)), min_size=1, max_size=4))
def test_fuzz_many_hostile_attributes_on_one_object(pairs: list[tuple[str, str]]) -> None:
    """Guards on several hostile attributes of one object read each attribute, not a neighbour."""
    attributes = dict(pairs)
    root = LocalSource("o")
    sources: list[Source] = [AttrSource(root, name) for name in attributes]
    cf = compile_guards(
        [s.make_guard(GuardBuilder.EQUALS_MATCH) for s in sources], {"o": obj_with(**attributes)}
    )
    assert_clean(cf)
    for name in attributes:
        changed = obj_with(**attributes)
        setattr(changed, name, getattr(changed, name) + "!")
        assert cf.check({"o": changed}) is False
        assert cf.check({"o": obj_with(**attributes)}) is True
