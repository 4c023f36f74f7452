"""Background work at a lower CPU priority: bulk imports, and the server's rebuilds after a data
change.

Both take a processor core for seconds (an import of 100,000 actors, the index of a new store
revision). On a busy machine, at the usual priority, they took it from the API's requests: the
server answered a third of its usual requests during an import and the rebuild after it
(bench/bench_abuse.py). At a lower priority they use the time the requests leave, and run at full
speed on an idle machine.
"""

from __future__ import annotations

import os
import sys
import threading

__all__ = ["lower_priority"]


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
