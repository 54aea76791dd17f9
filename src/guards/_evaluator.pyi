"""Types of the optional C extension ``guards._evaluator`` (src/guards/_evaluator.c)."""

from typing import Any, final

LOCAL: int
GLOBAL: int
GLOBALS: int
ATTR: int
ITEM: int
SUBSCR: int
TYPE: int
COPY: int
CALL: int
CALL0: int
ROOT: int
TYPE_IS: int
IS: int
IS_NOT: int
EQUALS: int
LEN: int
KEYS: int
WEAK_IS: int
IS_REG: int
PRED: int

@final
class Evaluator:
    """``Evaluator(steps, registers)``: ``check(L, G=None) -> bool`` run in C."""

    def __new__(
        cls, steps: tuple[tuple[int, int, int, Any, Any, int, tuple[int, ...]], ...],
        registers: int,
    ) -> Evaluator: ...
    def __call__(self, L: Any, G: Any = None) -> bool: ...
    @property
    def steps(self) -> tuple[tuple[int, int, int, Any, Any, int, tuple[int, ...]], ...]: ...
    @property
    def registers(self) -> int: ...
