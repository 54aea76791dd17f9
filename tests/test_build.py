"""Building guard sets: the collector pause around a build, and large sets split in parts."""

from __future__ import annotations

import gc

import pytest

from guards import GuardBuilder, LocalSource, compile_guards
from guards.checks.codegen import PART_LINES


def _guards(n: int, *, item: bool = False) -> tuple[list, dict[str, object]]:  # type: ignore[type-arg]
    # One-item tuples are compared one by one; exact ints would be read as one tuple.
    f_locals: dict[str, object] = {f"x{i}": (i,) if item else i for i in range(n)}
    return [LocalSource(name).make_guard(GuardBuilder.EQUALS_MATCH) for name in f_locals], f_locals


@pytest.mark.parametrize("enabled", [True, False])
def test_compile_leaves_the_collector_as_it_found_it(enabled: bool) -> None:
    """The pause during a build ends with the build, and never turns a collector on."""
    guard_list, f_locals = _guards(5)
    (gc.enable if enabled else gc.disable)()
    try:
        compile_guards(guard_list, f_locals)
        assert gc.isenabled() is enabled
        with pytest.raises(TypeError):
            compile_guards(guard_list, "not a mapping")  # type: ignore[arg-type]
        assert gc.isenabled() is enabled
    finally:
        gc.enable()


def test_a_large_set_is_checked_in_parts_with_the_same_verdict() -> None:
    """Sets longer than one part compile to several functions and still check every guard."""
    guard_list, f_locals = _guards(PART_LINES, item=True)  # three lines a guard: several parts
    check = compile_guards(guard_list, f_locals)
    assert "def _part1(" in check.code
    assert check.check(f_locals)
    for name in ("x0", f"x{PART_LINES // 2}", f"x{PART_LINES - 1}"):
        changed = dict(f_locals, **{name: -1})
        assert not check.check(changed)
        [failure] = check.check_verbose(changed).failures
        assert failure.guard.source == LocalSource(name)
