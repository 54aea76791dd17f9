"""``python -m guards demo``: what a new user reads first.

It must define its words before using them, show each function's source
before its results, keep the generated code to one block unless asked, and
report what really happened (hits, misses, the failing guard and its line).
"""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Callable

import pytest

import guards
from guards import demo
from guards.__main__ import main


def demo_text(*, show_code: bool = False) -> str:
    chunks: list[str] = []
    demo.run(chunks.append, show_code=show_code)
    return "\n".join(chunks)


@pytest.fixture(scope="module")
def text() -> str:
    return demo_text()


def test_the_glossary_comes_first_and_defines_every_word(text: str) -> None:
    """L, G, source, guard and check are explained before part 1 uses them."""
    glossary = text[: text.index("=== 1.")]
    for word, meaning in [
        ("L", "arguments"),
        ("L", "closure variables"),
        ("G", "globals"),
        ("source", "access path"),
        ("guard", "condition on the value at one source"),
        ("check", "generated Python function"),
    ]:
        assert re.search(rf"^  {word} .*{meaning}", glossary, re.MULTILINE | re.DOTALL), word
    assert "L[" not in text[: text.index("  source")]  # no path is shown before L is explained


@pytest.mark.parametrize(
    ("functions", "first_result"),
    [
        ((demo.make_kernel, demo.kernel_guards), "kernel(cfg) ->"),
        ((demo.make_planner,), "plan(query) ->"),
    ],
)
def test_each_functions_source_is_shown_before_its_results(
    text: str, functions: tuple[Callable[..., object], ...], first_result: str
) -> None:
    for function in functions:
        source = textwrap.indent(inspect.getsource(function).rstrip("\n"), "    ")
        assert source in text
        assert text.index(source) < text.index(first_result)


def test_the_global_the_planner_reads_is_shown_with_its_value(text: str) -> None:
    assert f"JOIN_STYLE = {demo.JOIN_STYLE!r}" in text
    assert "G['JOIN_STYLE']['postgres'] == 'HASH JOIN'" in text


def _check_code() -> str:
    kernel = demo.make_kernel(scale=3)
    cfg = demo.Config(mode="fast", unroll=2)
    return guards.compile_guards(demo.kernel_guards(), {"kernel": kernel, "cfg": cfg}).code


def test_generated_code_is_one_block_unless_asked_for(text: str) -> None:
    """By default only the check's first test; --show-code prints the whole function."""
    code = _check_code().rstrip("\n")
    lines = code.splitlines()
    assert lines[0] in text and code not in text
    shown = max(k for k in range(1, len(lines)) if "\n".join(lines[:k]) in text)
    assert 3 <= shown <= 8  # the header and one test
    assert "--show-code" in text
    full = demo_text(show_code=True)
    assert code in full
    # Only the code changed: the excerpt and its two lines of notes became the whole.
    assert len(full.splitlines()) == len(text.splitlines()) - shown - 2 + len(lines)


def test_the_output_stays_about_two_screens(text: str) -> None:
    """A reader sees it all without paging through machine code."""
    assert len(text.splitlines()) <= 140


def test_the_checks_and_the_cache_report_what_happened(text: str) -> None:
    assert re.search(r"^check\(L\) +-> True$", text, re.MULTILINE)
    assert re.search(r"make_kernel\(scale=3\)\) -> True", text)  # a new closure of the same def
    assert re.search(r"make_kernel\(scale=5\)\) -> False", text)
    assert "CacheInfo(hits=0, misses=1, maxsize=8, currsize=1)  (a miss" in text
    assert "CacheInfo(hits=1, misses=1, maxsize=8, currsize=1)  (a hit" in text
    assert text.rstrip().splitlines()[-1].startswith(
        "  CacheInfo(hits=2, misses=2, maxsize=8, currsize=2)"
    )


def test_the_failure_names_the_guard_and_the_demo_line_that_installed_it(text: str) -> None:
    """The demo is user code for provenance: the failing guard points into kernel_guards."""
    why = text[text.index("says why"): text.index("=== 2.")]
    assert "L['kernel'].__closure__[0].cell_contents == 3" in why
    assert "expected 3, got 5" in why
    lines, start = inspect.getsourcelines(demo.kernel_guards)
    line = start + next(i for i, src in enumerate(lines) if "scale.make_guard" in src)
    assert re.search(rf"demo\.py\D{{1,8}}{line}\b", why)
    miss = text[text.index("plan.explain(changed)"):]
    assert "L['query'].filters['status'] == 'open'" in miss and "got 'closed'" in miss


def test_the_command_line_runs_it_with_and_without_show_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo"]) == 0
    short = capsys.readouterr().out
    assert main(["demo", "--show-code"]) == 0
    full = capsys.readouterr().out
    assert _check_code().rstrip("\n") in full and _check_code().rstrip("\n") not in short
    assert short.startswith(demo.GLOSSARY)


@pytest.mark.parametrize("command", ["demo", "report"])
def test_an_unknown_option_is_shown_with_the_commands_usage(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """python -m guards demo --bogus: the demo's usage line, exit status 2."""
    with pytest.raises(SystemExit) as info:
        main([command, "--bogus", "script.py"] if command == "report" else [command, "--bogus"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: python -m guards {command} ")
    assert "unrecognized arguments: --bogus" in err
