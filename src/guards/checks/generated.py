"""Running generated source: one place that compiles and executes the library's own code.

Generated functions get a namespace whose ``__name__`` marks them as library
code, so provenance capture walks past their frames to the user's line.
"""

from __future__ import annotations

import builtins
from typing import Any


def run_factory(source: str, filename: str, factory: str, arguments: dict[str, Any]) -> Any:
    """Execute ``source`` (text built from identifiers only) and call ``factory(**arguments)``.

    The factory's parameters must be ``arguments``' keys, in order: they are
    passed by position, since matching thousands of keywords is quadratic.
    """
    namespace: dict[str, Any] = {"__builtins__": builtins, "__name__": "guards.checks.generated"}
    exec(compile(source, filename, "exec"), namespace)
    return namespace[factory](*arguments.values())
