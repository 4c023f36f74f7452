"""Pausing Python's cyclic garbage collector while many objects are made at once.

Making 100,000 small containers (a bulk query's results, a store revision's index and tables)
triggers collections that walk every live object: about 40 % of a bulk nearest query
(bench/bench_engine.py), and pauses of up to 0.2 s while a server process rebuilds its index after
an import (its requests wait meanwhile). Reference counting still frees everything; the collector
runs again once no pause is under way.

The collector is one per process: pauses taken by several threads at once nest, and it is switched
back on (if it was on before the first) when the last ends.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

__all__ = ["collector_paused"]

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block (see the module docstring)."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
