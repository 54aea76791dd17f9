"""A Griffe extension for the API reference: Sphinx roles in docstrings as Markdown code.

The docstrings of guards name other objects the Sphinx way (``:class:`GuardedCache```,
``:func:`~guards.tracing```).  Markdown has no roles, so the site would show the role
name before the code.  This extension rewrites each role to plain inline code of the
name (the last dotted part, as Sphinx shows a ``~`` name), before mkdocstrings renders.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:class|func|meth|data|attr|exc|mod|obj):`(~?)([^`]+)`")


def _code(match: re.Match[str]) -> str:
    tilde, name = match.groups()
    return f"`{name.rsplit('.', 1)[-1] if tilde else name}`"


class SphinxRolesAsCode(griffe.Extension):
    """Rewrite ``:role:`name``` to ```name``` in every docstring Griffe loads."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub(_code, obj.docstring.value)
