"""Layer 4: the ``@specialize`` machinery: decorator, dispatcher, tracer, proxies and nets."""
