"""The house stands: layers import only downward, and no private name crosses a module.

The package's folders are its layers (``docs/architecture.md``).  A module may
import from its own layer and the layers below it; an import placed inside a
function to dodge a cycle is allowed only where listed here, with its reason.
Names a module uses from another are that module's inner API: public names with
docstrings, never ``_underscore`` ones.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

import guards

PACKAGE = pathlib.Path(guards.__file__).parent

#: Layer of each folder or top-level module, lowest first.
LAYERS: dict[str, int] = {
    "errors": 0, "_evaluator": 0, "markers": 0, "logs": 0, "options": 0, "events": 0, "forks": 0,
    "core": 1,
    "checks": 2, "stores": 2,
    "tracking": 3,
    "specialization": 4,
    "demo": 5, "__main__": 5, "__init__": 5, "testing": 5, "pytest_plugin": 5,
}

#: (importing module, imported module): the deliberate imports inside functions.
DELIBERATE_LOCAL_IMPORTS: dict[tuple[str, str], str] = {
    ("guards.markers", "guards.errors"):
        "guards.disable must not load anything but the standard library",
    ("guards.core.sources", "guards.core.builder"):
        "Source.make_guard: guard kinds are built on sources, not the reverse",
    ("guards.tracking.lazy", "guards.tracking.binding"):
        "LazyTracker.bind: binding a call is built on trackers, not the reverse",
    ("guards.__main__", "guards.demo"): "the demo loads only when asked for",
    ("guards.__main__", "guards.specialization.report"):
        "the report command loads the specialize machinery only when asked for",
    ("guards", "guards.logs"): "GUARDS_LOGS is read at import; logs load only when it is set",
}


#: C extensions, named with a leading underscore as CPython names its accelerators
#: (``_functools``): each has a pure-Python path, chosen by the module that imports it.
ACCELERATORS = {"guards._evaluator": "guards.checks.plan runs checks in it when built"}


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> int:
    parts = module.split(".")
    key = parts[1] if len(parts) > 1 else "__init__"
    return LAYERS[key]


MODULES = {_module_name(p): ast.parse(p.read_text(), str(p)) for p in PACKAGE.rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _imports(tree: ast.Module) -> list[tuple[ast.ImportFrom | ast.Import, bool, bool]]:
    """Every import of the module: (node, inside a function, under TYPE_CHECKING)."""
    found: list[tuple[ast.ImportFrom | ast.Import, bool, bool]] = []

    def visit(node: ast.AST, in_function: bool, typing_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.append((child, in_function, typing_only))
            visit(
                child,
                in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef),
                typing_only or (isinstance(child, ast.If) and _is_type_checking(child)),
            )

    visit(tree, False, False)
    return found


def _targets(node: ast.ImportFrom | ast.Import) -> list[str]:
    """The modules an import loads (``from guards import demo`` loads ``guards.demo``)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    module = node.module or ""
    submodules = [f"{module}.{alias.name}" for alias in node.names]
    return [name for name in submodules if name in MODULES] or [module]


def _guards_imports(module: str) -> list[tuple[str, ast.ImportFrom | ast.Import, bool, bool]]:
    return [
        (target, node, local, typing_only)
        for node, local, typing_only in _imports(MODULES[module])
        for target in _targets(node)
        if target == "guards" or target.startswith("guards.")
    ]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_only_downward(module: str) -> None:
    """A module imports (at run time) only from its own layer or the layers below."""
    upward = [
        f"line {node.lineno}: {target}"
        for target, node, _, typing_only in _guards_imports(module)
        if not typing_only and target != "guards" and _layer(target) > _layer(module)
    ]
    assert not upward, f"{module} imports from a higher layer: {upward}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_inside_functions_are_the_listed_ones(module: str) -> None:
    """No import hidden in a function to dodge a cycle, beyond the deliberate few."""
    hidden = [
        f"line {node.lineno}: {target}"
        for target, node, local, typing_only in _guards_imports(module)
        if local and not typing_only and (module, target) not in DELIBERATE_LOCAL_IMPORTS
    ]
    assert not hidden, f"{module} imports inside functions: {hidden}"


def test_the_deliberate_local_imports_still_exist() -> None:
    """The list above names only imports that are there (a stale entry hides nothing)."""
    present = {
        (module, target)
        for module in MODULES
        for target, _, local, _ in _guards_imports(module)
        if local
    }
    assert set(DELIBERATE_LOCAL_IMPORTS) <= present


def test_module_level_imports_have_no_cycle() -> None:
    """Within a layer too, module-level imports form no cycle (the order is a DAG)."""
    graph = {
        module: {
            target for target, _, local, typing_only in _guards_imports(module)
            if not local and not typing_only and target in MODULES and target != module
        }
        for module in MODULES
    }
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import cycle: {' -> '.join((*path, module))}"
        if module in done:
            return
        for target in graph[module]:
            visit(target, (*path, module))
        done.add(module)

    for module in graph:
        visit(module, ())


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _defined_private_names(tree: ast.Module) -> set[str]:
    """Private names a module defines: functions, classes, attributes it assigns."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {name for name in names if _private(name)}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_name_is_imported_from_another_module(module: str) -> None:
    """``from guards.x import _name`` is the inner API leaking: name it publicly."""
    leaked = [
        f"{target}.{alias.name}"
        for target, node, _, _ in _guards_imports(module)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if _private(alias.name) and f"{target}.{alias.name}" not in ACCELERATORS
    ]
    assert not leaked, f"{module} imports private names: {leaked}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_attribute_of_another_module_is_used(module: str) -> None:
    """``obj._method`` where only another module defines ``_method``: a private name crossing."""
    own = _defined_private_names(MODULES[module])
    others = set().union(*(
        _defined_private_names(tree) for name, tree in MODULES.items() if name != module
    ))
    crossing = sorted({
        f"line {node.lineno}: .{node.attr}"
        for node in ast.walk(MODULES[module])
        if isinstance(node, ast.Attribute)
        and _private(node.attr)
        and node.attr not in own
        and node.attr in others
    })
    assert not crossing, f"{module} uses private names of other modules: {crossing}"
