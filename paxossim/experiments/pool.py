"""Map a function over many independent jobs, in this process or in a worker pool.

Results come back in job order whatever the worker count, so a table built
from them does not depend on it. Pool workers end when their parent is
killed (:func:`paxossim.experiments.orphans.watch_parent`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

from paxossim.experiments.orphans import watch_parent

Job = TypeVar("Job")
Result = TypeVar("Result")


def ordered_map(function: Callable[[Job], Result], jobs: list[Job],
                workers: int = 1) -> Iterator[Result]:
    """``map(function, jobs)``, spread over ``workers`` processes when that is more than one.

    ``function`` and the jobs must pickle (a module-level function, plain data).
    Jobs go out in chunks of up to 64 so that short runs do not pay a round
    trip each, while a handful of workers still get about eight chunks apiece
    to balance uneven run lengths.
    """
    if workers <= 1 or len(jobs) <= 1:
        yield from map(function, jobs)
        return
    chunk = max(1, min(64, len(jobs) // (workers * 8)))
    with ProcessPoolExecutor(max_workers=workers, initializer=watch_parent,
                             initargs=(os.getpid(),)) as pool:
        yield from pool.map(function, jobs, chunksize=chunk)


def consume(results: Iterable[Result], on_result: Callable[[Result], None] | None) -> list[Result]:
    """Collect ``results``, telling ``on_result`` (a progress bar, say) about each as it comes."""
    collected = []
    for result in results:
        collected.append(result)
        if on_result is not None:
            on_result(result)
    return collected
