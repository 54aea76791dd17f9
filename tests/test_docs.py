"""The Python examples in README.md and docs/*.md run and their assertions hold."""

from __future__ import annotations

import linecache
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def _blocks() -> list[tuple[str, int, str]]:
    found = []
    for path in DOCS:
        for i, match in enumerate(BLOCK.finditer(path.read_text())):
            found.append((path.name, i, match.group(1)))
    return found


def test_docs_have_examples() -> None:
    """Every documentation file with examples is found (guards the finder itself)."""
    names = {name for name, _, _ in _blocks()}
    assert {"README.md", "guard-kinds.md", "sources.md"} <= names


def _run(code: str, filename: str, namespace: dict[str, object]) -> None:
    # Registered like a real file, so guards' provenance can show the line.
    linecache.cache[filename] = (len(code), None, code.splitlines(keepends=True), filename)
    exec(compile(code, filename, "exec"), namespace)


@pytest.mark.parametrize(("name", "index", "code"), _blocks(), ids=lambda v: str(v)[:30])
def test_doc_example_runs(name: str, index: int, code: str) -> None:
    """Each file's python blocks run in order in one namespace, as a reader would."""
    namespace: dict[str, object] = {"__name__": f"doc_{name}"}
    for earlier_name, earlier_index, earlier in _blocks():
        if earlier_name == name and earlier_index < index:
            _run(earlier, f"<{name} block {earlier_index}>", namespace)
    _run(code, f"<{name} block {index}>", namespace)
