"""The pytest plugin (guards.pytest_plugin), run on small test files with pytester.

Each test writes a test file, runs pytest on it in this process, and reads the
outcome.  The inner runs load the plugin with ``-p guards.pytest_plugin`` (and
block the installed entry point, ``-p no:guards``, so it is not loaded twice);
one test checks that the entry point alone loads it where the package is
installed.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import guards

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
#: The plugin by module name; this process imported it already, so pytest cannot
#: rewrite its asserts (it has none) and would say so.
PLUGIN = (
    "-p", "no:guards", "-p", "guards.pytest_plugin", "-p", "no:cacheprovider",
    "-W", "ignore::pytest.PytestAssertRewriteWarning",
)

AREA = """
import threading

import guards
import pytest


@guards.specialize
def area(shape):
    return shape["w"] * shape["h"]


@guards.specialize
def perimeter(shape):
    return 2 * (shape["w"] + shape["h"])
"""


def run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    """Run pytest on AREA plus ``source``, with no plugin but guards' (and pytest's own)."""
    pytester.makepyfile(test_inner=AREA + textwrap.dedent(source))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
        return pytester.runpytest(*PLUGIN, *args)


# ------------------------------------------------------------ guards_max_misses
def test_max_misses_passes_within_the_limit_and_fails_over_it(pytester: pytest.Pytester) -> None:
    """The marker counts every miss of the body and fails the test over the limit."""
    result = run(pytester, """
        @pytest.mark.guards_max_misses(1)
        def test_within():
            for _ in range(5):
                area({"w": 1, "h": 2})          # one miss, then hits

        @pytest.mark.guards_max_misses(1)
        def test_over():
            for h in range(3):
                area({"w": 1, "h": h})          # the two new heights miss
    """)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*guards_max_misses(1): 2 misses of specialized functions, more than the 1 allowed:",
        "*area: 2",
        "the guards.recompiles log of the test:",
        "Recompiling function area in *test_inner.py*",
    ])
    result.stdout.re_match_lines([r".*CONSTANT_MATCH L\['shape'\]\['h'\] == 2: expected 2, got 0"])


OVER_BY_ONE = """
    @pytest.mark.guards_max_misses(0)
    def test_over():
        area({"w": 1, "h": 2})
        area({"w": 1, "h": 3})                  # recompiles: h was 2
"""


def test_max_misses_prints_the_log_once_in_the_message(pytester: pytest.Pytester) -> None:
    """One miss is "1 miss"; the log the marker turned on is not in pytest's captured log too."""
    result = run(pytester, OVER_BY_ONE + """
    @pytest.mark.guards_max_misses(0)
    def test_one():
        perimeter({"w": 1, "h": 2})
    """)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "*guards_max_misses(0): 2 misses of specialized functions, more than the 0 allowed:",
        "the guards.recompiles log of the test:",
        "Recompiling function area in *test_inner.py*",
    ])
    result.stdout.fnmatch_lines(["*guards_max_misses(0): 1 miss of specialized functions, *"])
    # The failure sections only: the short summary repeats the message's first line,
    # more of it on a wider terminal.
    text = result.stdout.str().split("short test summary info")[0]
    assert "Captured log" not in text
    assert text.count("Recompiling function area") == 1


def test_max_misses_points_at_the_captured_log_when_it_shows_the_log(
    pytester: pytest.Pytester,
) -> None:
    """With the logger on at INFO anyway, pytest's captured log has it; the message points there."""
    result = run(pytester, OVER_BY_ONE, "--log-level=INFO")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*2 misses of specialized functions, more than the 0 allowed:",
        "*area: 2",
        "the guards.recompiles log of the test is in its captured log below",
        "*Captured log call*",
        "INFO*guards.recompiles*Recompiling function area in *test_inner.py*",
    ])
    assert result.stdout.str().count("Recompiling function area") == 1


def test_max_misses_counts_the_body_not_the_fixtures(pytester: pytest.Pytester) -> None:
    """A fixture may warm a cache up: misses before the body starts are not counted."""
    result = run(pytester, """
        @pytest.fixture
        def warm():
            for h in range(5):
                area({"w": 1, "h": h})

        @pytest.mark.guards_max_misses(0)
        def test_all_hits(warm):
            for h in range(5):
                area({"w": 1, "h": 4 - h})
    """)
    result.assert_outcomes(passed=1)


def test_max_misses_adds_up_functions_and_threads(pytester: pytest.Pytester) -> None:
    """Misses of every specialized function count, in every thread, each named."""
    result = run(pytester, """
        @pytest.mark.guards_max_misses(3)
        def test_over():
            area({"w": 1, "h": 1})
            perimeter({"w": 1, "h": 1})
            worker = threading.Thread(target=lambda: [perimeter({"w": 2, "h": h})
                                                      for h in range(3)])
            worker.start()
            worker.join()
    """)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*5 misses of specialized functions, more than the 3 allowed:",
        "*perimeter: 4",
        "*area: 1",
    ])


def test_max_misses_leaves_a_failing_test_its_own_failure(pytester: pytest.Pytester) -> None:
    """A body that fails reports its own error, not the count."""
    result = run(pytester, """
        @pytest.mark.guards_max_misses(0)
        def test_fails():
            area({"w": 1, "h": 1})
            assert False, "the body's own failure"
    """)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the body's own failure*"])
    result.stdout.no_fnmatch_line("*misses of specialized functions*")


@pytest.mark.parametrize("arguments", ["-1", "'3'", ""])
def test_max_misses_needs_a_count(pytester: pytest.Pytester, arguments: str) -> None:
    """A bad or missing limit is an error of the test's setup that names the marker."""
    result = run(pytester, f"""
        @pytest.mark.guards_max_misses({arguments})
        def test_marked():
            pass
    """)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*guards_max_misses(n) needs an int n >= 0*"])


def test_the_markers_are_registered(pytester: pytest.Pytester) -> None:
    """--strict-markers accepts them, and --markers describes them."""
    result = run(pytester, """
        @pytest.mark.guards_max_misses(5)
        @pytest.mark.guards_verify
        def test_marked():
            area({"w": 1, "h": 1})
    """, "--strict-markers")
    result.assert_outcomes(passed=1)
    markers = run(pytester, "", "--markers")
    markers.stdout.fnmatch_lines([
        "@pytest.mark.guards_max_misses(n): fail the test when its body causes more than n*",
        "@pytest.mark.guards_verify(share=True): run specialized functions in verify mode*",
    ])


# ------------------------------------------------------------- guards_misses
def test_the_misses_fixture_counts_resets_and_asserts(pytester: pytest.Pytester) -> None:
    """guards_misses: count, by_function, reset and assert_at_most, with the message."""
    result = run(pytester, """
        def test_counts(guards_misses):
            area({"w": 1, "h": 1})
            area({"w": 1, "h": 1})
            perimeter({"w": 1, "h": 1})
            assert guards_misses.count == 2
            assert guards_misses.by_function == {"area": 1, "perimeter": 1}
            guards_misses.assert_at_most(2)
            guards_misses.reset()
            area({"w": 1, "h": 1})
            assert guards_misses.count == 0

        def test_assert(guards_misses):
            for h in range(4):
                area({"w": 5, "h": h})
            guards_misses.assert_at_most(2)
    """)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "E*AssertionError: 4 misses of specialized functions, more than the 2 allowed:",
        "E*area: 4",
    ])


def test_the_misses_fixture_stops_counting_after_the_test(pytester: pytest.Pytester) -> None:
    """Each test gets its own counter; the last one stops watching at teardown."""
    result = run(pytester, """
        seen = []

        def test_first(guards_misses):
            area({"w": 7, "h": 7})
            seen.append(guards_misses)

        def test_second():
            area({"w": 8, "h": 8})
            assert seen[0].count == 1
    """)
    result.assert_outcomes(passed=2)


# --------------------------------------------------------- guards_recompiles
def test_the_recompiles_fixture_captures_why_calls_missed(pytester: pytest.Pytester) -> None:
    """guards_recompiles holds the recompile messages and the uncached warnings."""
    result = run(pytester, """
        @guards.specialize
        def register(names, name):
            names.append(name)
            return len(names)

        def test_log(guards_recompiles):
            area({"w": 1, "h": 1})
            assert guards_recompiles.messages == []      # a first call explains nothing
            area({"w": 1, "h": 2})
            [message] = guards_recompiles.messages
            assert message.startswith("Recompiling function area in ")
            assert "L['shape']['h'] == 1: expected 1, got 2" in message
            guards_recompiles.clear()
            register([], "a")
            assert "running register uncached" in guards_recompiles.text
            assert guards_recompiles.records[0].levelname == "WARNING"
    """)
    result.assert_outcomes(passed=1)


def test_the_recompiles_fixture_restores_the_logger(pytester: pytest.Pytester) -> None:
    """After the test the logger has its level again and no handler of the fixture's."""
    logger = logging.getLogger("guards.recompiles")
    level, handlers = logger.level, list(logger.handlers)
    result = run(pytester, """
        import logging

        def test_level(guards_recompiles):
            assert logging.getLogger("guards.recompiles").isEnabledFor(logging.INFO)
    """)
    result.assert_outcomes(passed=1)
    assert (logger.level, logger.handlers) == (level, handlers)


# --------------------------------------------------------------- verify mode
STALE = """
    STATE = {"rate": 1}

    @guards.constant
    def rate():                  # not pure, although marked so: hits can be stale
        return STATE["rate"]

    @guards.specialize
    def price(amount):
        return amount * rate()

    def test_stale():
        assert price(10) == 10
        STATE["rate"] = 2
        assert price(10) == 10   # a stale hit, unless verify mode catches it
"""


def test_without_verify_a_stale_hit_goes_unnoticed(pytester: pytest.Pytester) -> None:
    """The baseline the next tests change: no option, no marker, no check."""
    run(pytester, STALE).assert_outcomes(passed=1)


def test_the_verify_option_catches_a_stale_hit(pytester: pytest.Pytester) -> None:
    """--guards-verify: every hit is checked against a fresh call."""
    result = run(pytester, STALE, "--guards-verify")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*StaleHitError: stale hit in price*"])


def test_the_verify_ini_option_catches_a_stale_hit(pytester: pytest.Pytester) -> None:
    """guards_verify = true in the ini file, as --guards-verify for every run."""
    pytester.makeini("[pytest]\nguards_verify = true\n")
    run(pytester, STALE).assert_outcomes(failed=1)


def test_the_verify_marker_wins_over_the_option(pytester: pytest.Pytester) -> None:
    """The marker turns verify mode on for one test, or off (False), or to a share."""
    result = run(pytester, """
        @pytest.fixture
        def verify_in_setup():
            return guards.config.verify

        def test_option(verify_in_setup):
            assert verify_in_setup is True and guards.config.verify is True

        @pytest.mark.guards_verify(False)
        def test_off():
            assert guards.config.verify is False

        @pytest.mark.guards_verify(0.25)
        def test_share():
            assert guards.config.verify == 0.25
    """, "--guards-verify")
    result.assert_outcomes(passed=3)
    result = run(pytester, """
        @pytest.mark.guards_verify
        def test_on():
            assert guards.config.verify is True

        def test_unmarked():
            assert guards.config.verify is False
    """)
    result.assert_outcomes(passed=2)
    assert guards.config.verify is False


@pytest.mark.parametrize("arguments", ["'yes'", "2.0", "1"])
def test_the_verify_marker_needs_a_share(pytester: pytest.Pytester, arguments: str) -> None:
    """A bad share is an error of the test's setup that names the marker."""
    result = run(pytester, f"""
        @pytest.mark.guards_verify({arguments})
        def test_marked():
            pass
    """)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*@pytest.mark.guards_verify must be a *share of hits*"])
    assert guards.config.verify is False


# ------------------------------------------------------------------ the docs
TITLED = re.compile(r'^```python title="(test_\w+\.py)"\n(.*?)^```', re.DOTALL | re.MULTILINE)
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _test_files() -> list[tuple[str, str, str]]:
    """The pytest files the docs show: (doc page, file name, text)."""
    return [
        (path.name, name, text)
        for path in DOCS
        for name, text in TITLED.findall(path.read_text())
    ]


def test_the_docs_show_test_files() -> None:
    """The finder finds the testing guide's examples (guards the finder itself)."""
    names = {name for page, name, _ in _test_files() if page == "testing.md"}
    assert {"test_pricing.py", "test_counting.py", "test_verified.py"} <= names


@pytest.mark.parametrize(("page", "name", "text"), _test_files(), ids=lambda v: str(v)[:30])
def test_a_doc_test_file_passes(pytester: pytest.Pytester, page: str, name: str, text: str) -> None:
    """Each ```python title="test_....py" block of the docs passes under pytest."""
    pytester.makepyfile(**{name.removesuffix(".py"): text})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
        result = pytester.runpytest(*PLUGIN)
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 1 and set(outcomes) <= {"passed"}, result.stdout.str()


# ------------------------------------------------------------------ packaging
def test_the_entry_point_loads_the_plugin(pytester: pytest.Pytester) -> None:
    """Installed, the package registers the plugin: no -p needed."""
    installed = [ep.value for ep in entry_points(group="pytest11") if ep.name == "guards"]
    assert installed == ["guards.pytest_plugin"], (
        "install the package (python -m pip install -e '.[test]') to run the tests: its "
        f"pytest11 entry point is {installed or 'absent'}"
    )
    pytester.makepyfile(test_inner=AREA + textwrap.dedent("""
        @pytest.mark.guards_max_misses(1)
        def test_fixture(guards_misses):
            area({"w": 3, "h": 3})
            assert guards_misses.count == 1
    """))
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    pytester.runpytest("-p", "no:guards", "-p", "no:cacheprovider").assert_outcomes(errors=1)


def _python(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter where ``import hypothesis`` fails."""
    prelude = "import sys; sys.modules['hypothesis'] = None\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + code], capture_output=True, text=True, check=False,
        env={"PYTHONPATH": str(ROOT / "src")},
    )


def test_the_plugin_needs_no_hypothesis() -> None:
    """The plugin loads in every pytest run where the package is: it must not need the extra."""
    done = _python("import guards.pytest_plugin; print('loaded')")
    assert done.stdout.strip() == "loaded", done.stderr


def test_guards_testing_without_hypothesis_names_the_extra() -> None:
    """Without Hypothesis, importing guards.testing says what to install."""
    done = _python("import guards.testing")
    assert done.returncode == 1
    [last] = done.stderr.strip().splitlines()[-1:]
    assert re.fullmatch(
        r"ImportError: guards\.testing needs Hypothesis, .*pip install 'guardset\[testing\]'.*",
        last,
    ), last
