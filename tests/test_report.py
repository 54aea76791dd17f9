"""The HTML report of specialized functions, read back with the standard library's HTML parser.

Each test makes a report as a user would (``f.specialized.report()``,
``guards.report(...)`` or ``python -m guards report``), parses it into a small
element tree and asserts what a reader would look for: the entries and their
hit counts, the guards, every miss and why, the uncached reasons and their
lines; and that nothing in it is unescaped or loaded from elsewhere.
"""

from __future__ import annotations

import gc
import linecache
import os
import pathlib
import re
import subprocess
import sys
import textwrap
import weakref
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import attrs
import pytest

import guards
from guards.specialization.history import RECORDED_MISSES

# -- a small DOM ---------------------------------------------------------------------------
_VOID = frozenset({"meta", "br", "col", "img", "input", "link", "hr", "wbr"})


@attrs.define(eq=False)
class Element:
    """One parsed element: tag, attributes, children (elements and text)."""

    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = attrs.Factory(list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    def iter(self) -> Iterator[Element]:
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.iter()

    def find_all(self, tag: str | None = None, cls: str | None = None) -> list[Element]:
        return [
            e for e in self.iter()
            if (tag is None or e.tag == tag) and (cls is None or cls in e.classes)
        ]

    def by_id(self, ident: str) -> Element:
        [found] = [e for e in self.iter() if e.attrs.get("id") == ident]
        return found


class _Builder(HTMLParser):
    """Builds the tree, and fails on an end tag that does not close the open element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]
        self.doctype = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(element)
        if tag not in _VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        open_tag = self.stack[-1].tag
        assert tag == open_tag, f"</{tag}> closes <{open_tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(page: str) -> Element:
    """The page's element tree; every element must be closed, in order."""
    builder = _Builder()
    builder.feed(page)
    builder.close()
    assert builder.stack == [builder.root], "unclosed: " + " ".join(
        e.tag for e in builder.stack[1:]
    )
    assert builder.doctype.lower() == "doctype html"
    return builder.root


def entries_of(section: Element) -> list[Element]:
    return section.find_all("details", "entry")


def misses_of(section: Element) -> list[Element]:
    return section.find_all("li", "miss")


def section_of(page: Element, name: str) -> Element:
    [found] = [
        s for s in page.find_all("section", "function") if s.find_all("h2")[0].text.startswith(name)
    ]
    return found


# -- one function ---------------------------------------------------------------------------
class Config:
    def __init__(self, mode: str, tile: list[int]) -> None:
        self.mode, self.tile = mode, tile


def make_plan() -> Any:
    @guards.specialize(max_entries=2)
    def plan(cfg: Config) -> str:
        if cfg.mode == "fast":
            return f"fast, {len(cfg.tile)}-d"
        return cfg.mode
    return plan


def test_entries_are_shown_with_their_hit_counts_and_guard_trees() -> None:
    """One details element per entry, most recently used first, with its hits and guards."""
    plan = make_plan()
    for mode in ["fast", "fast", "fast", "slow", "slow"]:
        plan(Config(mode, [8, 8]))
    page = parse(plan.specialized.report())
    entries = entries_of(page)
    assert [e.attrs["id"] for e in entries] == ["f1-e2", "f1-e1"]
    assert [re.search(r"(\d+) hits?", e.text)[1] for e in entries] == ["1", "2"]  # type: ignore[index]
    fast = page.by_id("f1-e1")
    paths = [code.text for code in fast.find_all("code", "path")]
    assert paths[:2] == ["L['cfg']", "L['cfg'].mode"]
    assert "L['cfg'].tile" in paths
    kinds = {span.text for span in fast.find_all("span", "kind")}
    assert {"COMPARE_MATCH", "SEQUENCE_LENGTH"} <= kinds  # the mode is only compared
    # Each guard says which line of the function installed it.
    lines = {code.text for code in fast.find_all("code", "line")}
    assert 'if cfg.mode == "fast":' in lines
    assert "result: 'fast, 2-d'" in fast.text


def test_statistics_and_source_are_shown() -> None:
    """The cache's counts, and the function's source with the guarded lines marked."""
    plan = make_plan()
    for mode in ["fast", "fast", "slow"]:
        plan(Config(mode, [8]))
    page = parse(plan.specialized.report())
    stats = {
        s.find_all("span", "what")[0].text: s.find_all("span", "n")[0].text
        for s in page.find_all("div", "stat")
    }
    assert stats == {"hits": "1", "misses": "2", "entries": "2 / 2", "evictions": "0",
                     "uncached": "0"}
    [source] = page.find_all("table", "source")
    guarded = [row.find_all("td")[2].text.strip() for row in source.find_all("tr", "guarded")]
    assert guarded == ['if cfg.mode == "fast":', 'return f"fast, {len(cfg.tile)}-d"']
    h2 = page.find_all("h2")[0].text
    assert h2.startswith("make_plan.<locals>.plan")
    assert "test_report.py:" in page.find_all("p", "where")[0].text


def test_every_miss_is_shown_with_its_explanation_when_misses_are_recorded() -> None:
    """With record_misses on, each miss lists every entry's failing guard, expected and got."""
    plan = make_plan()
    with guards.config.patch(record_misses=True):
        for mode in ["fast", "slow", "eco"]:
            plan(Config(mode, [8]))
    page = parse(plan.specialized.report())
    misses = misses_of(page)
    assert [m.attrs["id"] for m in misses] == ["f1-m3", "f1-m2", "f1-m1"]  # newest first
    assert "The cache was empty" in page.by_id("f1-m1").text
    second = page.by_id("f1-m2")
    assert "stored as entry 2" in second.find_all("div", "outcome")[0].text
    [row] = second.find_all("table", "failures")[0].find_all("tbody")[0].find_all("tr")
    cells = [td.text.strip() for td in row.find_all("td")]
    assert cells[0] == "entry 1not cached now"  # evicted by the third miss
    assert cells[1:4] == ["COMPARE_MATCH (L['cfg'].mode == 'fast') is True", "True", "False"]
    assert 'if cfg.mode == "fast":' in cells[4]
    # The third miss tried both entries, and evicted the oldest.
    third = page.by_id("f1-m3")
    rows = third.find_all("table", "failures")[0].find_all("tbody")[0].find_all("tr")
    assert [r.find_all("td")[0].text for r in rows] == ["entry 2", "entry 1not cached now"]
    assert "stored as entry 3; entry 1 evicted" in third.text
    # The same explanation as the log's text, folded.
    text = third.find_all("pre")[-1].text
    assert "- entry 2: CONSTANT_MATCH L['cfg'].mode == 'slow': expected 'slow', got 'eco'" in text


def test_misses_are_recorded_but_not_explained_by_default() -> None:
    """Off by default, a miss is still listed (when, from where, what came of it), unexplained."""
    plan = make_plan()
    assert guards.config.record_misses is False
    for mode in ["fast", "slow"]:
        plan(Config(mode, [8]))
    page = parse(plan.specialized.report())
    assert "The cache was empty" in page.by_id("f1-m1").text  # known without explaining
    second = page.by_id("f1-m2")
    assert second.find_all("p", "none")[0].text == "not explained"
    assert "stored as entry 2" in second.text
    assert "from test_report.py:" in second.text
    notes = " ".join(p.text for p in page.find_all("p", "note"))
    assert "guards.config.record_misses" in notes


def test_explaining_misses_is_what_record_misses_costs() -> None:
    """With it off, a miss does not read the inputs again to explain itself; on, it does."""
    reads = []

    class Watched:
        def __init__(self, mode: str) -> None:
            self._mode = mode

        @property
        def mode(self) -> str:
            reads.append(self._mode)
            return self._mode

    @guards.specialize
    def f(w: Watched) -> str:
        return w.mode

    def reads_for_a_miss(record: bool) -> int:
        f.cache.clear()
        f(Watched("a"))
        reads.clear()
        with guards.config.patch(record_misses=record):
            f(Watched("b"))
        return len(reads)

    assert reads_for_a_miss(True) > reads_for_a_miss(False)


def test_uncached_calls_are_shown_with_counts_and_the_lines_they_name(
    quiet_recompiles: None,
) -> None:
    """Each reason once, with how many calls it made uncached and the source line it names."""

    class Key:
        def __hash__(self) -> int:
            return 1

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Key)

    @guards.specialize
    def lookup(d: dict[Any, int]) -> int:
        return d[Key()]

    for _ in range(3):
        lookup({Key(): 1})
    [(reason, count)] = lookup.specialized.uncached_reasons.items()
    page = parse(lookup.specialized.report())
    [table] = page.find_all("table", "reasons")
    [row] = table.find_all("tbody")[0].find_all("tr")
    calls, text = (td.text for td in row.find_all("td"))
    assert calls == "3" == str(count)
    assert text.startswith(reason)
    quotes = row.find_all("div", "quote")
    assert quotes, "the line the reason names is quoted"
    for quote in quotes:
        where = quote.find_all("span", "path")[0]
        name, line = where.text.rsplit(":", 1)
        assert f"{name}:{line}" in reason
        path = where.attrs["title"]
        assert quote.find_all("code")[0].text == linecache.getline(path, int(line)).strip()
    # A line of the function that a reason names is marked in the source, and no other.
    [source] = page.find_all("table", "source")
    for row in source.find_all("tr", "untracked"):
        assert f":{row.find_all('td')[0].text}" in reason
    assert bool(source.find_all("tr", "untracked")) == ("to run uncached" in page.text)
    # Each uncached miss says why, too.
    assert reason in page.by_id("f1-m1").text


def test_user_values_are_escaped() -> None:
    """A repr, a reason or a source line holding markup shows as text, never as markup."""

    class Evil:
        def __repr__(self) -> str:
            return "<script>alert('repr')</script>"

        def __eq__(self, other: object) -> bool:
            return type(other) is Evil

        __hash__ = object.__hash__

    evil = Evil()

    @guards.specialize
    def tag(value: Any) -> bool:
        if value == "<b>":  # <i>a source line</i>
            return True
        return value is evil

    with guards.config.patch(record_misses=True, warn_uncached=False):
        tag("<b>")
        tag("<script>alert(1)</script>")
        tag(evil)
    text = tag.specialized.report()
    page = parse(text)
    tags = {e.tag for e in page.iter()}
    assert not tags & {"script", "b", "i", "iframe", "img"}
    assert "<script>alert(1)</script>" in page.text
    assert "&lt;script&gt;" in text
    assert "<i>a source line</i>" in page.text


def test_control_characters_in_user_text_are_written_escaped() -> None:
    """HTML allows no control character but newline and tab: a repr shows them as \\xNN."""

    class Tag:
        def __repr__(self) -> str:
            return "a\x00b\x1b[31mc\x7f\x85\rd\te"

    tag = Tag()

    @guards.specialize
    def pick(d: dict[str, Any]) -> Any:
        return d["k"]

    with guards.config.patch(record_misses=True):
        pick({"k": tag})
        pick({"k": Tag()})
    text = pick.specialized.report()
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", text)
    page = parse(text)
    assert "a\\x00b\\x1b[31mc\\x7f\\x85\\x0dd\te" in page.text


def test_text_that_utf_8_cannot_encode_is_written_escaped(
    tmp_path: pathlib.Path, quiet_recompiles: None
) -> None:
    """A name holding a lone surrogate does not stop the report from being written."""

    def double(x: int) -> int:
        return 2 * x

    double.__qualname__ = double.__name__ = "double\udc80"
    fast = guards.specialize(double)
    fast(1), fast(1)
    text = fast.specialized.report(tmp_path / "r.html").read_text(encoding="utf-8")
    assert "double\\udc80" in text


def test_a_function_without_source_is_reported_without_it() -> None:
    """Code made by exec has no source file: the panel says so and shows the rest."""
    namespace: dict[str, Any] = {"guards": guards}
    exec("@guards.specialize\ndef made(x):\n    return x + 1\n", namespace)
    made = namespace["made"]
    made(1), made(1)
    page = parse(made.specialized.report())
    assert not page.find_all("table", "source")
    assert "source of the function is not available" in page.text
    assert len(entries_of(page)) == 1


def test_the_page_is_self_contained() -> None:
    """No script, no stylesheet or image from elsewhere: every link is an anchor in the page."""
    plan = make_plan()
    with guards.config.patch(record_misses=True):
        for mode in ["fast", "slow", "eco"]:
            plan(Config(mode, [8]))
    text = plan.specialized.report()
    page = parse(text)
    assert not page.find_all("script") and not page.find_all("link")
    assert not [e for e in page.iter() if "src" in e.attrs]
    ids = {e.attrs["id"] for e in page.iter() if "id" in e.attrs}
    hrefs = [a.attrs["href"] for a in page.find_all("a")]
    assert hrefs and all(h.startswith("#") and h[1:] in ids for h in hrefs)
    [style] = page.find_all("style")
    assert "url(" not in style.text and "@import" not in style.text


def test_report_writes_the_file_and_returns_its_path(tmp_path: pathlib.Path) -> None:
    """With a path, the page is written there (UTF-8) and the path comes back."""
    plan = make_plan()
    plan(Config("fast", [1]))
    target = tmp_path / "plan.html"
    assert plan.specialized.report(target) == target
    assert plan.specialized.report(str(target)) == target
    page = parse(target.read_text(encoding="utf-8"))
    assert len(entries_of(page)) == 1
    with pytest.raises(guards.GuardsTypeError, match=r"path must be .*got 3 \(type int\)"):
        plan.specialized.report(3)


def test_guards_report_covers_the_functions_called() -> None:
    """guards.report(): every live specialized function that was called; or those named."""
    called, never = make_plan(), make_plan()
    called(Config("fast", [1]))
    page = parse(guards.report())
    sections = page.find_all("section", "function")
    states = [s.find_all("h2")[0].text for s in sections]
    assert any(name.startswith("make_plan.<locals>.plan") for name in states)
    assert all(len(misses_of(s)) or len(entries_of(s)) or "Uncached" in s.text for s in sections)
    named = parse(guards.report(never, called))
    assert [len(entries_of(s)) for s in named.find_all("section", "function")] == [0, 1]
    assert len(named.find_all("nav")) == 1  # an index once there are several
    with pytest.raises(guards.GuardsTypeError, match=r"functions\[1\] must be a function made"):
        guards.report(called, len)


def test_the_registry_does_not_keep_functions_alive() -> None:
    """A specialized function that is gone is not in the next report, and was not kept for it."""
    plan = make_plan()
    plan(Config("fast", [1]))
    gone = weakref.ref(plan)
    state = weakref.ref(plan.specialized)
    del plan
    gc.collect()
    assert gone() is None and state() is None


def test_miss_history_is_bounded_and_holds_no_values() -> None:
    """Misses are kept as text: the last RECORDED_MISSES, none keeping an argument alive."""

    class Box:
        def __init__(self, n: int) -> None:
            self.n = n

    @guards.specialize(max_entries=4)
    def f(box: Box) -> int:
        return box.n

    box = Box(0)
    with guards.config.patch(record_misses=True):
        f(box)
        for n in range(1, RECORDED_MISSES + 5):
            f(Box(n))
    history = f.specialized.miss_history
    assert len(history) == RECORDED_MISSES
    assert history[-1].number == RECORDED_MISSES + 5
    assert history[-1].outcome == "stored" and history[-1].evicted is not None
    assert history[-1].explained
    assert "expected" in str(history[-1])
    ref = weakref.ref(box)
    f.cache.clear()
    del box
    gc.collect()
    assert ref() is None


def test_the_outcome_of_a_full_cache_is_recorded() -> None:
    """on_limit='run' declines the entry; on_limit='raise' raises, and both are recorded."""

    @guards.specialize(max_entries=1, on_limit="run")
    def run(x: int) -> int:
        return x

    @guards.specialize(max_entries=1, on_limit="raise")
    def strict(x: int) -> int:
        return x

    run(1), run(2)
    assert [r.outcome for r in run.specialized.miss_history] == ["stored", "declined"]
    strict(1)
    with pytest.raises(guards.CacheLimitError):
        strict(2)
    last = strict.specialized.miss_history[-1]
    assert last.outcome == "limit" and last.explained  # a full raise cache explains anyway
    page = parse(strict.specialized.report())
    assert "CacheLimitError" in page.by_id("f1-m2").text


# -- the command line ----------------------------------------------------------------------
SCRIPT = '''
import sys
import guards

@guards.specialize
def area(shape):
    return shape["w"] * shape["h"]

@guards.specialize
def unused(x):
    return x

for h in [1, 1, 2, int(sys.argv[1])]:
    area({"w": 3, "h": h})
if sys.argv[2:] == ["crash"]:
    raise RuntimeError("the script failed")
'''


def run_cli(tmp_path: pathlib.Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    src = str(pathlib.Path(guards.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "guards", "report", *args], capture_output=True, text=True,
        cwd=tmp_path, env=env, check=False,
    )


@pytest.fixture
def script(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "shapes.py"
    path.write_text(textwrap.dedent(SCRIPT))
    return path


def test_cli_runs_the_script_and_reports_what_it_called(
    tmp_path: pathlib.Path, script: pathlib.Path
) -> None:
    """python -m guards report script.py ARGS: one page, every called function, misses explained."""
    out = tmp_path / "out.html"
    result = run_cli(tmp_path, "-o", str(out), str(script), "3")
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stderr
    page = parse(out.read_text(encoding="utf-8"))
    [section] = page.find_all("section", "function")  # `unused` was never called
    assert section.find_all("h2")[0].text.startswith("area")
    assert len(entries_of(section)) == 3
    misses = misses_of(section)
    assert len(misses) == 3
    newest = misses[0]
    assert "expected 2, got 3" in newest.find_all("pre")[-1].text
    assert "from shapes.py:" in newest.text


def test_cli_names_a_function_and_refuses_an_unknown_one(
    tmp_path: pathlib.Path, script: pathlib.Path
) -> None:
    """--function picks functions by name, qualified name or module:qualname."""
    out = tmp_path / "one.html"
    result = run_cli(tmp_path, "-o", str(out), "--function", "__main__:unused", str(script), "1")
    assert result.returncode == 0, result.stderr
    [section] = parse(out.read_text()).find_all("section", "function")
    assert section.find_all("h2")[0].text.startswith("unused")
    bad = run_cli(tmp_path, "-o", str(tmp_path / "no.html"), "--function", "nope", str(script), "1")
    assert bad.returncode == 2
    assert "no specialized function named nope" in bad.stderr
    assert "__main__:area" in bad.stderr
    assert not (tmp_path / "no.html").exists()


def test_cli_reports_a_script_that_raised(tmp_path: pathlib.Path, script: pathlib.Path) -> None:
    """The script's traceback is printed, the report written anyway, and the status is 1."""
    result = run_cli(tmp_path, str(script), "2", "crash")
    assert result.returncode == 1
    assert "RuntimeError: the script failed" in result.stderr
    page = parse((tmp_path / "guards-report.html").read_text())
    assert len(entries_of(page)) == 2


def test_cli_runs_a_module_by_name(tmp_path: pathlib.Path, script: pathlib.Path) -> None:
    """A target that is not a file is a module, run as python -m runs it."""
    result = run_cli(tmp_path, "-o", "mod.html", "shapes", "1")
    assert result.returncode == 0, result.stderr
    page = parse((tmp_path / "mod.html").read_text())
    assert len(entries_of(page)) == 2  # h = 1, 1, 2, 1


def test_cli_refuses_a_script_path_that_does_not_exist(tmp_path: pathlib.Path) -> None:
    """A path (ends in .py, or holds a separator) that is not there is not run as a module."""
    for target in ["no_such_script.py", os.path.join("sub", "no_such_script")]:
        result = run_cli(tmp_path, "-o", "r.html", target)
        assert result.returncode == 2
        assert result.stderr.strip() == f"guards report: no such file: {target}"
        assert not (tmp_path / "r.html").exists()


def test_cli_refuses_an_output_it_cannot_write_before_running_the_script(
    tmp_path: pathlib.Path,
) -> None:
    """A missing folder, or a folder given as the output, is one line and status 2; no run."""
    ran = tmp_path / "ran"
    (tmp_path / "s.py").write_text(f"open({str(ran)!r}, 'w').close()\n")
    (tmp_path / "adir").mkdir()
    for output, why in [
        (str(tmp_path / "nowhere" / "r.html"), "no such folder"),
        ("adir", "it is a folder"),
    ]:
        result = run_cli(tmp_path, "-o", output, "s.py")
        assert result.returncode == 2
        [line] = result.stderr.splitlines()
        assert line.startswith(f"guards report: cannot write the report to {output}: {why}")
        assert not ran.exists()


def test_cli_shows_only_the_scripts_frames_when_it_raises(
    tmp_path: pathlib.Path, script: pathlib.Path
) -> None:
    """As python prints it: no frame of guards or runpy above the script's."""
    for target in [str(script), "shapes"]:
        result = run_cli(tmp_path, target, "2", "crash")
        assert result.returncode == 1
        trace = result.stderr.split("RuntimeError: the script failed")[0]
        frames = re.findall(r'^  File "([^"]*)", line \d+, in (\S+)$', trace, re.MULTILINE)
        [(filename, function)] = frames
        assert filename.endswith("shapes.py")
        assert function == "<module>"


def test_explain_the_log_history_and_report_name_an_entry_alike(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An entry has one name everywhere: its number, 1 for the function's first entry."""

    @guards.specialize
    def area(shape: dict[str, int]) -> int:
        return shape["w"] * shape["h"]

    with guards.config.patch(record_misses=True), caplog.at_level(
        "INFO", logger="guards.recompiles"
    ):
        for h in [1, 2, 3]:
            area({"w": 3, "h": h})
    numbers = [entry.number for entry in area.cache.entries]
    assert numbers == [3, 2, 1]
    explained = re.findall(r"entry (\d+):", str(area.explain({"w": 3, "h": 9})))
    assert [int(n) for n in explained] == numbers
    last_log = caplog.records[-1].getMessage()
    assert re.findall(r"- entry (\d+):", last_log) == ["2", "1"]
    assert re.findall(r"- entry (\d+):", str(area.specialized.miss_history[-1])) == ["2", "1"]
    page = parse(area.specialized.report())
    assert [e.find_all("span", "entry")[0].text for e in entries_of(page)] == [
        "entry 3", "entry 2", "entry 1",
    ]
