"""A process that calls a specialized function with a store (tests/test_specialize_store.py).

``python specialize_store_worker.py MODULE_DIR ARG [START_AT]``: imports the module
``planner`` from MODULE_DIR (made by the test: its ``plan`` is
``@specialize(store=...)``, the store named by the environment), waits until START_AT
(a time, for a burst), calls ``plan(ARG)`` and prints one JSON line: the value and
the cache's statistics (``store_hits`` 1: answered by an entry of the store).
"""

from __future__ import annotations

import importlib
import json
import sys
import time


def main() -> None:
    module_dir, arg = sys.argv[1], int(sys.argv[2])
    start_at = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    sys.path.insert(0, module_dir)
    planner = importlib.import_module("planner")
    while time.time() < start_at:
        time.sleep(0.001)
    value = planner.plan(arg)
    info = planner.plan.cache.info()
    print(json.dumps({"value": value, "store_hits": info.store_hits, "misses": info.misses}))


if __name__ == "__main__":
    main()
