"""Layer 4: the machinery behind :func:`guards.specialize`.

The decorator, the generated dispatcher, the tracer and its proxies, and one
module per soundness mechanism.  The folder is not named ``specialize``: that
is the public decorator, and ``guards.specialize`` must stay the function.
See ``docs/architecture.md``.
"""
