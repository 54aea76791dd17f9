"""Layer 2: guards turned into code: generated checks, explanations and the guarded cache."""
