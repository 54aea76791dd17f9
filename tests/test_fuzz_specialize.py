"""Differential fuzzing: a specialized generated function agrees with the plain one at every call.

Hypothesis writes a small module (:func:`fuzz_programs.programs`) and a script
of calls and mutations (:data:`fuzz_programs.steps`); at each call the
specialized ``f`` and the plain ``f`` run on the same state and must give the
same value (exact types all the way down) or raise the same exception with the
same message, and the specialized call must change nothing.

CI runs :data:`EXAMPLES` examples (150).  For a long local run set the number
in the environment::

    GUARDS_FUZZ_EXAMPLES=5000 python -m pytest tests/test_fuzz_specialize.py -p no:cacheprovider

A failure prints the program's source and the script (Hypothesis' notes); replay
it with ``fuzz_programs.World(source).run(script)``, then keep the shrunk
program as a named test in ``tests/test_fuzz_regressions.py``.
"""

from __future__ import annotations

import os

from fuzz_programs import World, programs, same_outcome, same_value, steps
from hypothesis import HealthCheck, event, given, note, settings

#: Examples per run: 150 in CI (well under 20 s here); raise it with GUARDS_FUZZ_EXAMPLES.
EXAMPLES = int(os.environ.get("GUARDS_FUZZ_EXAMPLES", "150"))

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture,
    ],
)


@FUZZ
@given(source=programs(), script=steps)
def test_specialized_calls_equal_plain_calls(
    source: str, script: list[tuple[str, int]], quiet_recompiles: None
) -> None:
    note(f"program:\n{source}")
    note(f"script: {script!r}")
    world = World(source)
    for kind in world.run(script):
        event(f"call: {kind}")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=programs())
def test_generated_programs_run_plainly(source: str) -> None:
    """The generator's own law: programs compile, and a plain call returns or raises one of
    the errors its risky statements are written to raise (never a NameError or a
    SyntaxError, which would mean a malformed program)."""
    note(source)
    world = World(source)
    kind, value = world.call_plain()
    if kind == "raised":
        assert issubclass(value[0], RISKY_ERRORS), value


#: What a generated ``try`` body may raise when its handler does not catch it.
RISKY_ERRORS = (KeyError, IndexError, ValueError, AttributeError, TypeError)


def test_outcomes_compare_exact_types() -> None:
    """The comparison the fuzzer relies on can fail: types, -0.0, exceptions' messages."""
    assert not same_value(1, True)
    assert not same_value(0.0, -0.0)
    assert not same_value([1, (2, 3)], [1, [2, 3]])
    assert not same_value({"a": 1, "b": 2}, {"b": 2, "a": 1})
    assert same_value({"a": [1.5]}, {"a": [1.5]})
    assert not same_outcome(("raised", (KeyError, "'a'")), ("raised", (KeyError, "'b'")))
    assert not same_outcome(("raised", (KeyError, "'a'")), ("value", None))
