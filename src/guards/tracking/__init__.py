"""Layer 3: guards installed while code is inspected: tracing contexts, lazy trackers, binding."""
