"""The package surface: lazy loading, exports, version."""

from __future__ import annotations

import subprocess
import sys

import guards


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
        "import guards.specialization, guards.contexts, guards.options, guards\n"
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
