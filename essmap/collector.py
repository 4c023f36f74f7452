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

__all__ = ["collector_paused", "settle"]

#: Objects made during a pause from which :func:`settle` collects.
SETTLE_FROM = 10_000

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


def settle(minimum: int = SETTLE_FROM) -> None:
    """Collect now if at least ``minimum`` objects were made since the last collection (during a
    pause too).

    Objects made during a pause all sit in the youngest generation: once the collector is back
    on, the first thread that makes an object walks them all, then the next older generations
    walk them again, with the interpreter held each time (about 50 ms for a 120,000-actor index;
    up to 0.2 s on a busy machine). A builder calls this at the end of its build, where it can
    pause afterwards, rather than leave three walks to the threads answering requests.
    """
    if gc.get_count()[0] >= minimum:
        gc.collect()
