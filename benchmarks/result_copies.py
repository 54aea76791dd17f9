"""Hits that hand out a stored result: with and without copies (issue 12, item 4).

Run: ``python benchmarks/result_copies.py``.  ``rows(n)`` builds a list of ``n``
one-item lists (100,000 rows: about 9 ms plainly); ``frozen_rows(n)`` builds a
tuple of ``n`` one-item tuples, which nothing can change.

Targets:

* a hit with ``copy_results=False`` returns the stored object: it costs at most
  1% of the plain call that builds the result (a copy would cost about as
  much as building it), and a hit on 100,000 rows costs at most 1.5 times a hit
  on one row (nothing about the hit grows with the result);
* a hit on a frozen result is never copied, with the default options: the
  same two bounds;
* the default copy of a mutable result is shown for information (a deep copy
  costs several times building the result: that is what ``copy_results=False``
  is for).
"""

from __future__ import annotations

from typing import Any

from _timing import compare, row

import guards

ROWS = 100_000
#: A hit costs at most this share of the plain call that builds the result.
HIT_SHARE = 0.01
#: A hit on ROWS rows costs at most this many times a hit on one row.
SIZE_RATIO = 1.5


def rows(n: int) -> list[list[int]]:
    return [[i] for i in range(n)]


def frozen_rows(n: int) -> tuple[tuple[int], ...]:
    return tuple((i,) for i in range(n))


def _specialized(function: Any, **options: Any) -> Any:
    wrapper = guards.specialize(function, **options)
    for n in (1, ROWS):
        wrapper(n)
        wrapper(n)
    assert wrapper.cache.info().hits == 2
    return wrapper


def run() -> list[dict[str, Any]]:
    shared = _specialized(rows, copy_results=False)
    frozen = _specialized(frozen_rows)
    copied = _specialized(rows)
    assert shared(ROWS) is shared(ROWS) and frozen(ROWS) is frozen(ROWS)
    slow = compare({
        "plain rows": (rows, (ROWS,)), "plain frozen rows": (frozen_rows, (ROWS,)),
        "hit, copied": (copied, (ROWS,)),
    }, number=3, rounds=7)
    fast = compare({
        "hit, copy_results=False": (shared, (ROWS,)), "... on one row": (shared, (1,)),
        "hit, frozen": (frozen, (ROWS,)), "... frozen, one row": (frozen, (1,)),
    }, number=20_000, rounds=9)
    print(f"a {ROWS:,}-row result (median µs per call)")
    for name, ns in {**slow, **fast}.items():
        print(f"  {name:<26} {ns / 1000:12.2f}")
    return [
        row("result copies", "hit, copy_results=False / plain",
            fast["hit, copy_results=False"] / slow["plain rows"], HIT_SHARE),
        row("result copies", "hit, copy_results=False: 100k / 1 row",
            fast["hit, copy_results=False"] / fast["... on one row"], SIZE_RATIO),
        row("result copies", "hit of a frozen result / plain",
            fast["hit, frozen"] / slow["plain frozen rows"], HIT_SHARE),
        row("result copies", "hit of a frozen result: 100k / 1 row",
            fast["hit, frozen"] / fast["... frozen, one row"], SIZE_RATIO),
        row("result copies", "hit, copied (default) / plain",
            slow["hit, copied"] / slow["plain rows"], None),
    ]


if __name__ == "__main__":
    run()
