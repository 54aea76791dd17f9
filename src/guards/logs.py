"""The loggers: ``guards.recompiles`` (misses that build an entry, calls run uncached)
and ``guards.guards`` (the guards of each new entry).

``GUARDS_LOGS=recompiles,guards`` in the environment turns them on, printing to
standard error, with no code, as ``TORCH_LOGS`` does for Dynamo; ``all`` turns
on both.  Otherwise they are ordinary ``logging`` loggers: configure them as
you like.
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
    """Turn on the loggers named in ``GUARDS_LOGS``; returns the names it turned on."""
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
        enabled.append(name)
    return enabled
