"""Layer 3: guards installed while code is inspected.

Tracing contexts and lazy trackers, binding a tracked call, and the net that
sees user code run untraced.  The folder is not named ``tracing``: that is the
public function :func:`guards.tracing`.  See ``docs/architecture.md``.
"""
