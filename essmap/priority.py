"""Background work at a lower CPU priority: bulk imports, and the server's rebuilds after a data
change.

Both take a processor core for seconds (an import of 100,000 actors, the index of a new store
revision). On a busy machine, at the usual priority, they took it from the API's requests: the
server answered a third of its usual requests during an import and the rebuild after it
(bench/bench_abuse.py). At a lower priority they use the time the requests leave, and run at full
speed on an idle machine.

A server's rebuilds share more than the processor with its requests: Python's interpreter lock.
A lower priority does not stop a builder thread from taking the lock each time the thread
answering requests lets it go, and a saturated process rebuilding a 100,000-actor index answered
a third of its usual requests. So rebuilds are also *paced* (:func:`paced`): at each checkpoint
(:func:`pace`, between the steps of a build; :func:`fetch_all` while reading rows), the builder
pauses long enough to have computed at most a given share of the time, unless someone waits for
what it builds.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, Protocol

__all__ = ["fetch_all", "lower_priority", "pace", "paced"]

#: Rows converted between two checkpoints by :func:`fetch_all`.
FETCH_ROWS = 10_000

_local = threading.local()


class _Cursor(Protocol):
    def fetchmany(self, size: int, /) -> Any: ...


def lower_priority(niceness: int, *, this_thread_only: bool = False) -> bool:
    """Run this process, or only the calling thread, at a CPU priority of at least ``niceness``.

    ``niceness`` is as ``nice`` sets it: 0 the usual priority, 19 the lowest. A priority already
    lower is left as it is.

    Parameters
    ----------
    this_thread_only
        Lower the calling thread only (Linux keeps a priority per thread): a server's builder
        thread, beside the threads answering requests. Elsewhere nothing is changed.

    Returns
    -------
    bool
        Whether the priority is now at least ``niceness``.
    """
    if niceness <= 0:
        return True
    if not hasattr(os, "setpriority") or (this_thread_only and not sys.platform.startswith("linux")):
        return False
    who = threading.get_native_id() if this_thread_only else 0
    try:
        if os.getpriority(os.PRIO_PROCESS, who) < niceness:
            os.setpriority(os.PRIO_PROCESS, who, niceness)
    except OSError:
        return False
    return True


@contextlib.contextmanager
def paced(share: float, *, rush: threading.Event | None = None) -> Iterator[None]:
    """Run the block as paced background work: at each :func:`pace` checkpoint the calling
    thread pauses so as to have used at most ``share`` of a processor since the block began.

    While ``rush`` is set (someone waits for the result) the thread does not pause, and a pause
    under way ends when it is set. A ``share`` of 1 paces nothing. A block inside another paced
    block of the same thread is paced as the outer one.
    """
    if share <= 0:
        raise ValueError(f"share must be positive, not {share}")
    if getattr(_local, "pacing", None) is not None:
        yield
        return
    _local.pacing = (min(share, 1.0), rush)
    _local.mark = time.thread_time()
    try:
        yield
    finally:
        _local.pacing = None


def pace() -> None:
    """A checkpoint of background work, between two of its steps: in a :func:`paced` block, pause
    for what the steps since the last checkpoint computed, times ``(1 - share) / share``;
    elsewhere (a request, a command), return at once.

    Computing time is the thread's own processor time: waiting for the interpreter lock or for a
    processor does not count as work.
    """
    pacing = getattr(_local, "pacing", None)
    if pacing is None:
        return
    share, rush = pacing
    pause = (time.thread_time() - _local.mark) * (1 - share) / share
    if pause > 0:
        if rush is None:
            time.sleep(pause)
        elif not rush.is_set():
            rush.wait(pause)
    _local.mark = time.thread_time()


def fetch_all(cursor: _Cursor) -> list[Any]:
    """All the rows of a database cursor (sqlite3, psycopg), fetched :data:`FETCH_ROWS` at a time
    with a :func:`pace` checkpoint between: reading a large table is a build's longest step."""
    rows: list[Any] = []
    while True:
        chunk = cursor.fetchmany(FETCH_ROWS)
        rows.extend(chunk)
        if len(chunk) < FETCH_ROWS:
            return rows
        pace()
