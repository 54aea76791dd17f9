"""The documentation site stays complete: every page is in the nav, every public name
has an API reference entry.  (``mkdocs build --strict`` in .ci/run checks the rest:
links, anchors, and that mkdocstrings resolves each entry.)"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import attrs

import guards

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
ENTRY = re.compile(r"^::: (guards(?:\.\w+)*)\s*$", re.MULTILINE)


def _nav_pages() -> set[str]:
    text = (ROOT / "mkdocs.yml").read_text()
    nav = text.split("\nnav:\n", 1)[1].split("\n\n", 1)[0]
    return set(re.findall(r"([\w./-]+\.md)\s*$", nav, re.MULTILINE))


def _reference_entries() -> list[str]:
    return [
        name
        for page in sorted((DOCS / "reference").glob("*.md"))
        for name in ENTRY.findall(page.read_text())
    ]


def test_every_page_is_in_the_nav() -> None:
    """A page left out of mkdocs.yml's nav would be built but unreachable."""
    pages = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert pages == _nav_pages()


#: Modules documented as a whole, imported by their own names.
MODULES = {"guards.testing", "guards.pytest_plugin", "guards.events"}


def test_every_public_name_has_a_reference_entry() -> None:
    """Each name in guards.__all__ is documented once, under its public guards.X name;
    the other entries are the modules documented whole."""
    entries = _reference_entries()
    public = {f"guards.{name}" for name in guards.__all__ if name != "__version__"}
    assert sorted(entries) == sorted(set(entries)), "a name documented twice"
    assert set(entries) == public | MODULES


def test_the_reference_of_config_lists_every_option_with_its_default() -> None:
    """The API reference's table of options is Config's docstring: no option missing.

    Read cleaned (``inspect.getdoc``): 3.13 strips the indentation of ``__doc__``
    when compiling, 3.11 and 3.12 keep it.
    """
    doc = inspect.getdoc(guards.Config) or ""
    section = doc.split("Attributes:")[1]
    for field in attrs.fields(guards.Config):
        if field.name.startswith("_"):
            continue
        [entry] = re.findall(rf"^ {{4}}{field.name}: (.*?)(?=^ {{4}}\w+:|\Z)", section, re.M | re.S)
        assert f"Default ``{field.default!r}``." in " ".join(entry.split()), field.name


def test_miss_record_says_what_it_holds_without_pointing_elsewhere() -> None:
    """The site shows class docstrings, not the history module's: no 'see the module docstring'."""
    doc = guards.MissRecord.__doc__ or ""
    assert "module docstring" not in doc
    assert "record_misses" in doc
