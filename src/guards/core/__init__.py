"""Layer 1: what a guard is.

Sources (access paths), the :class:`~guards.Guard` record, the guard kinds of
:class:`~guards.GuardBuilder` with their registry, how values are compared and
shown, and a code object's parameters.  Imports only ``guards.errors`` below it.
See ``docs/architecture.md``.
"""
