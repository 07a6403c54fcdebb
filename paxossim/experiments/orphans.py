"""Pool workers that end when the process that started them is gone.

A worker of a ``ProcessPoolExecutor`` whose parent is killed with SIGKILL
goes on with its batch (issue 13 item 6: a minute and more), using cores and
writing nothing anyone reads. Each worker runs :func:`watch_parent` at start:
a daemon thread that checks every half second whether its parent changed
(on Linux an orphan is re-parented) and then ends the worker at once.
"""

from __future__ import annotations

import os
import threading
import time

POLL_SECONDS = 0.5


def watch_parent(parent: int) -> None:
    """Start the watcher in this (worker) process; ``parent`` is the pool owner's pid,
    passed from it rather than read here, because the owner may already be gone
    by the time a worker has imported enough to run its initializer."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(POLL_SECONDS)
        os._exit(1)  # nothing to clean up: the parent that would read our results is gone

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()
