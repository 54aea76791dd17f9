"""Globals that are absent, and builtins, are read when the run reads them (issue 9, kind 4).

An absent global caught as ``NameError`` is guarded absent; a builtin is
looked up at trace time in the real builtins of the function's globals (not
in a copy taken when guards was imported) and guarded by ``BUILTIN_MATCH``:
no global shadows it, and the builtins hold the same object.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from typing import Any

import pytest

import guards
from guards import GetItemSource, GlobalsSource, GuardBuilder, compile_guards

SOURCE = '''
def optional():
    try:
        return OPTIONAL_SETTING
    except NameError:
        return "unset"

def size(xs):
    return len(xs)

def rounded(x):
    return round(x, 1)

def label(n):
    return _("items") + ": " + str(n)

def in_a_class(x):
    class C:
        k = K
    return C.k + x
'''


@pytest.fixture
def module() -> Iterator[dict[str, Any]]:
    """A fresh module namespace whose functions are specialized."""
    namespace: dict[str, Any] = {"__name__": "fresh", "K": 1}
    exec(compile(SOURCE, "<fresh module>", "exec"), namespace)
    for name in ("optional", "size", "rounded", "label", "in_a_class"):
        namespace[name] = guards.specialize(namespace[name])
    yield namespace


def _upper(text: str) -> str:
    return text.upper()


def test_an_absent_global_caught_as_name_error(module: dict[str, Any]) -> None:
    f = module["optional"]
    assert f() == "unset"
    assert f() == "unset"
    assert f.cache.info().hits == 1
    module["OPTIONAL_SETTING"] = 42
    assert f() == 42
    del module["OPTIONAL_SETTING"]
    assert f() == "unset"


def test_a_global_that_later_shadows_a_builtin(module: dict[str, Any]) -> None:
    f = module["size"]
    assert f([1, 2]) == 2
    assert f([1, 2]) == 2
    module["len"] = lambda xs: 99
    assert f([1, 2]) == f.__wrapped__([1, 2]) == 99
    del module["len"]
    assert f([1, 2]) == 2


def test_a_patched_builtin_is_the_one_read(
    module: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    f = module["rounded"]
    assert f(1.26) == 1.3
    monkeypatch.setattr(builtins, "round", lambda x, n=0: "patched")
    assert f(1.26) == f.__wrapped__(1.26) == "patched"
    assert f(1.26) == "patched"
    monkeypatch.undo()
    assert f(1.26) == 1.3


def test_a_builtin_added_after_import(
    module: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As ``gettext.install`` adds ``_`` to the builtins; then replaces it."""
    f = module["label"]
    monkeypatch.delattr(builtins, "_", raising=False)
    with pytest.raises(NameError):
        f(3)
    monkeypatch.setattr(builtins, "_", _upper, raising=False)
    assert f(3) == "ITEMS: 3"
    assert f(3) == "ITEMS: 3"
    assert f.cache.info().hits == 1
    monkeypatch.setattr(builtins, "_", str.lower)
    assert f(3) == f.__wrapped__(3) == "items: 3"


def test_a_class_body_reads_module_globals(module: dict[str, Any]) -> None:
    """Class bodies look names up in the globals' own items, then in the builtins."""
    f = module["in_a_class"]
    assert f(1) == 2
    assert f(1) == 2
    assert f.cache.info().hits == 1
    module["K"] = 5
    assert f(1) == 6


def test_builtin_match_checks_the_name_resolves_to_the_same_object() -> None:
    namespace: dict[str, Any] = {"__builtins__": builtins}
    guard = GetItemSource(GlobalsSource(), "len").make_guard(GuardBuilder.BUILTIN_MATCH)
    cf = compile_guards([guard], {}, namespace)
    assert cf.check({}, namespace)
    assert not cf.check({}, {**namespace, "len": len})
    result = cf.check_verbose({}, {**namespace, "len": 3})
    assert "len is the builtin" in str(result)


def test_builtin_match_of_an_absent_name() -> None:
    namespace: dict[str, Any] = {"__builtins__": builtins.__dict__}
    guard = GetItemSource(GlobalsSource(), "NOPE").make_guard(GuardBuilder.BUILTIN_MATCH)
    cf = compile_guards([guard], {}, namespace)
    assert cf.check({}, namespace)
    assert not cf.check({}, {**namespace, "NOPE": 1})


def test_builtin_match_refuses_a_global() -> None:
    guard = GetItemSource(GlobalsSource(), "x").make_guard(GuardBuilder.BUILTIN_MATCH)
    with pytest.raises(guards.GuardBuildError, match="is a global"):
        compile_guards([guard], {}, {"x": 1})


def test_gettext_underscore_is_cached_on_its_catalog(
    module: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``gettext.install``'s ``_`` is traced: its catalog lookup is guarded, not uncached."""
    import gettext

    translations = gettext.GNUTranslations.__new__(gettext.GNUTranslations)
    translations._catalog = {"items": "Artikel"}  # type: ignore[attr-defined]
    translations._fallback = None  # type: ignore[attr-defined]
    translations.plural = lambda n: int(n != 1)  # type: ignore[method-assign]
    monkeypatch.setattr(builtins, "_", translations.gettext, raising=False)
    f = module["label"]
    assert f(3) == "Artikel: 3"
    assert f(3) == "Artikel: 3"
    assert f.cache.info().hits == 1
    assert f.cache.info().uncached == 0
    translations._catalog["items"] = "Posten"  # type: ignore[attr-defined]
    assert f(3) == f.__wrapped__(3) == "Posten: 3"
