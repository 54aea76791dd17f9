"""The loggers: ``guards.recompiles`` (misses that build an entry, calls run uncached)
and ``guards.guards`` (the guards of each new entry).

``GUARDS_LOGS=recompiles,guards`` in the environment turns them on, printing to
standard error, with no code, as ``TORCH_LOGS`` does for Dynamo; ``all`` turns
on both.  A logger turned on this way prints its records itself and does not
pass them on to the root logger, so a ``logging.basicConfig`` of the program's
own does not print each line twice.  Otherwise they are ordinary ``logging``
loggers, with no handler of their own: configure them as you like.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

recompiles_log = logging.getLogger("guards.recompiles")
guards_log = logging.getLogger("guards.guards")

_LOGGERS = {"recompiles": recompiles_log, "guards": guards_log}


def configure_from_env(environ: Mapping[str, str] | None = None) -> list[str]:
    """Turn on the loggers named in ``GUARDS_LOGS``; returns the names it turned on.

    Each one gets a handler printing to standard error and stops propagating
    to the root logger (whose handlers would print its records a second time).
    """
    value = (os.environ if environ is None else environ).get("GUARDS_LOGS", "")
    names = [name.strip() for name in value.split(",") if name.strip()]
    if "all" in names:
        names = list(_LOGGERS)
    enabled = []
    for name in names:
        logger = _LOGGERS.get(name)
        if logger is None:
            known = ", ".join([*_LOGGERS, "all"])
            print(f"guards: GUARDS_LOGS names unknown logger {name!r}; known: {known}",
                  file=sys.stderr)
            continue
        logger.setLevel(logging.DEBUG)
        if not any(getattr(h, "_guards_env", False) for h in logger.handlers):
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("[%(name)s] %(message)s"))
            handler._guards_env = True  # type: ignore[attr-defined]
            logger.addHandler(handler)
        logger.propagate = False
        enabled.append(name)
    return enabled
