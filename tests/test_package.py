"""The package surface: lazy loading, exports, version."""

from __future__ import annotations

import ast
import pathlib
import runpy
import subprocess
import sys

import guards

#: Code written as a user would, that ``mypy --strict`` checks in CI (``.ci/run``).
TYPING_EXAMPLE = pathlib.Path(__file__).parent / "typecheck" / "specialize_usage.py"


def _run(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    return result.stdout.strip()


def test_disable_is_importable_without_loading_the_library() -> None:
    """guards.disable costs only guards.markers: no attrs, no tracer, no codegen."""
    loaded = _run(
        "import sys, guards\n"
        "guards.disable\n"
        "print(sorted(m for m in sys.modules if m.startswith(('guards', 'attr'))))"
    )
    assert loaded == "['guards', 'guards.markers']"


def test_public_names_are_the_objects_not_the_modules_of_the_same_name() -> None:
    """guards.specialize, guards.tracing and guards.config stay what the docs say."""
    out = _run(
        "import guards.specialization.decorator, guards.tracking.lazy, guards.options, guards\n"
        "print(callable(guards.specialize), type(guards.config).__name__,"
        " guards.tracing.__name__)"
    )
    assert out == "True Config tracing"


def test_every_export_resolves_and_is_documented() -> None:
    """Each name in __all__ loads, and each public callable or class has a docstring."""
    for name in guards.__all__:
        value = getattr(guards, name)
        if callable(value) and name != "__version__":
            assert (getattr(value, "__doc__", None) or "").strip(), name


def test_unknown_attribute_raises_attribute_error() -> None:
    """A typo is an AttributeError naming the attribute, as for any module."""
    try:
        guards.specialise  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "specialise" in str(exc)
    else:
        raise AssertionError("no AttributeError")


def test_version_has_three_parts() -> None:
    assert guards.__version__.count(".") == 2


def test_guard_kinds_are_known_in_a_fresh_process() -> None:
    """make_guard by a kind's name works before anything has imported the builder.

    Regression: the kind registry was filled only when ``guards.builder`` happened
    to be imported, so a fresh process got "unknown guard kind 'TYPE_MATCH'".
    """
    out = _run(
        "import guards\n"
        "print(guards.LocalSource('x').make_guard('TYPE_MATCH'))\n"
        "print(guards.Guard(guards.LocalSource('y'), 'EQUALS_MATCH').kind)"
    )
    assert out == "TYPE_MATCH(L['x'])\nEQUALS_MATCH"


def test_an_unknown_kind_lists_the_known_ones_in_a_fresh_process() -> None:
    """The error for a misspelt kind names every registered kind, never an empty list."""
    out = _run(
        "import guards\n"
        "try:\n"
        "    guards.LocalSource('x').make_guard('TYPE_MATCHES')\n"
        "except guards.GuardsValueError as exc:\n"
        "    print(exc)"
    )
    assert "unknown guard kind 'TYPE_MATCHES'" in out
    assert "TYPE_MATCH" in out.split("known kinds:")[1]
    assert "EQUALS_MATCH" in out


def _init_tree() -> ast.Module:
    path = pathlib.Path(guards.__file__)
    return ast.parse(path.read_text(), str(path))


def _type_checking_imports(tree: ast.Module) -> dict[str, str]:
    """Name -> module of the ``from M import X as X`` lines under ``if TYPE_CHECKING:``."""
    imports: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom), ast.unparse(statement)
                for alias in statement.names:
                    # "X as X" is how a stub re-exports under mypy --strict.
                    assert alias.asname == alias.name, ast.unparse(statement)
                    assert alias.name not in imports, f"{alias.name} imported twice"
                    imports[alias.name] = str(statement.module)
    return imports


def _exports_literal(tree: ast.Module) -> dict[str, str]:
    """The ``_EXPORTS`` dict as written (a repeated key would vanish from the runtime dict)."""
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and ast.unparse(node.target) == "_EXPORTS":
            assert isinstance(node.value, ast.Dict)
            pairs = []
            for key, value in zip(node.value.keys, node.value.values, strict=True):
                assert key is not None, "a ** in _EXPORTS hides its names from this test"
                pairs.append((ast.literal_eval(key), ast.literal_eval(value)))
            names = [name for name, _ in pairs]
            assert len(names) == len(set(names)), "a name is listed twice in _EXPORTS"
            return dict(pairs)
    raise AssertionError("no _EXPORTS in guards/__init__.py")


def test_lazy_exports_and_type_checking_imports_agree() -> None:
    """What type checkers see (the TYPE_CHECKING imports) is what runs (_EXPORTS): same
    names from the same modules, so neither can gain or move a name alone."""
    tree = _init_tree()
    imports, exports = _type_checking_imports(tree), _exports_literal(tree)
    assert imports
    assert imports == exports
    assert exports == guards._EXPORTS


def test_the_typing_example_holds_at_run_time() -> None:
    """The example mypy checks in CI also runs: every type it claims is what happens."""
    runpy.run_path(str(TYPING_EXAMPLE), run_name="__main__")


def test_every_folder_of_the_package_is_a_regular_package() -> None:
    """Each layer folder has an ``__init__.py``: setuptools' package discovery skips
    folders without one, so ``pip install .`` (not -e) would install no layer."""
    root = pathlib.Path(guards.__file__).parent
    folders = {path.parent for path in root.rglob("*.py")}
    assert all((folder / "__init__.py").is_file() for folder in folders), sorted(
        str(folder) for folder in folders if not (folder / "__init__.py").is_file()
    )
    assert {folder.name for folder in folders} >= {"core", "checks", "tracking", "specialization"}
