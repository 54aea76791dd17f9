"""Layer 1: what a guard *is*: sources, guard records, guard kinds and their registry."""
