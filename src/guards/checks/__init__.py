"""Layer 2: guards turned into code.

The one entry point for generated code, the text of a check function, compiled
checks (:class:`~guards.CheckFunction`), explanations of failures and the
:class:`~guards.GuardedCache`.  Imports only from ``guards.core`` and below.
See ``docs/architecture.md``.
"""
