"""Map a function over many independent jobs, in this process or in a worker pool.

Results come back in job order whatever the worker count, so a table built
from them does not depend on it. Pool workers end when their parent is
killed (:func:`paxossim.experiments.orphans.watch_parent`).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable, Iterator, Sized
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

from paxossim.experiments.orphans import watch_parent

Job = TypeVar("Job")
Result = TypeVar("Result")


WINDOW_CHUNKS = 16
"""Chunks per worker submitted at a time: enough to keep workers busy, few enough
that a billion-seed exploration is not planned into memory before it starts."""


def ordered_map(function: Callable[[Job], Result], jobs: Iterable[Job],
                workers: int = 1, chunk: int = 64,
                scheduler: str | None = None) -> Iterator[Result]:
    """``map(function, jobs)``, spread over ``workers`` processes when that is more than one.

    ``function`` and the jobs must pickle (a module-level function, plain data).
    ``jobs`` is read lazily, a window of ``workers * WINDOW_CHUNKS * chunk`` at a
    time (a sequence of known length gets smaller chunks, about eight per worker,
    to balance uneven run lengths); results come back in job order. With
    ``scheduler`` (a dask scheduler's address) the chunks run on that cluster.
    """
    if scheduler is not None:
        from paxossim.experiments.dask_executor import dask_map

        yield from dask_map(scheduler, function, jobs, chunk, max(workers, 8) * WINDOW_CHUNKS
                            * chunk)
        return
    if workers <= 1:
        yield from map(function, jobs)
        return
    if isinstance(jobs, Sized):
        chunk = max(1, min(chunk, len(jobs) // (workers * 8)))
    window = workers * WINDOW_CHUNKS * chunk
    pending = iter(jobs)
    with ProcessPoolExecutor(max_workers=workers, initializer=watch_parent,
                             initargs=(os.getpid(),)) as pool:
        while batch := list(itertools.islice(pending, window)):
            yield from pool.map(function, batch, chunksize=chunk)


def consume(results: Iterable[Result], on_result: Callable[[Result], None] | None) -> list[Result]:
    """Collect ``results``, telling ``on_result`` (a progress bar, say) about each as it comes."""
    collected = []
    for result in results:
        collected.append(result)
        if on_result is not None:
            on_result(result)
    return collected
