"""Run a sweep's batches, or an exploration's seeds, on a dask.distributed cluster
(the optional ``dask`` extra).

Kept apart from :mod:`paxossim.experiments.sweep` so that paxossim imports and runs without
dask installed. The work and the seeds are the same as with the local pool, so
the table is byte-identical; only where the runs execute changes. Workers need
paxossim installed (the same version) to unpickle the batches.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any

from paxossim.errors import UserError
from paxossim.experiments.sweep_runs import Outcome, RunContext, run_batch

CONNECT_TIMEOUT = "10s"


def connect(address: str) -> Any:
    """A dask Client for ``address``; connecting first means a bad address writes nothing."""
    try:
        from distributed import Client
    except ImportError:
        raise UserError("--scheduler", "needs dask: pip install 'paxossim[dask]'") from None
    try:
        return Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as error:
        raise UserError(f"--scheduler {address}", f"cannot reach the scheduler: {error}") \
            from None


def dask_batches(
    client: Any, context: RunContext, batches: list[list[tuple[int, int]]]
) -> Iterator[list[Outcome]]:
    """Yield each batch's outcomes as the cluster finishes it; close the client at the end."""
    from distributed import as_completed

    futures = []
    try:
        # Sent once to every worker rather than pickled into each task.
        shared = client.scatter(context, broadcast=True)
        futures = [client.submit(run_batch, shared, batch, pure=False) for batch in batches]
        for future in as_completed(futures):
            yield future.result()
    finally:
        if futures:
            client.cancel(futures)
        client.close()


def run_chunk(function: Any, jobs: list[Any]) -> list[Any]:
    """One task: a chunk of jobs run in order (a task per seed costs more than the seed)."""
    return [function(job) for job in jobs]


def dask_map(address: str, function: Any, jobs: Iterable[Any], chunk: int,
             window: int) -> Iterator[Any]:
    """``map(function, jobs)`` on a dask cluster, in job order, ``window`` jobs in
    flight at a time (so a lazily planned exploration stays lazy)."""
    client = connect(address)
    pending = iter(jobs)
    futures: list[Any] = []
    try:
        while batch := list(itertools.islice(pending, window)):
            chunks = [batch[i:i + chunk] for i in range(0, len(batch), chunk)]
            futures = [client.submit(run_chunk, function, part, pure=False) for part in chunks]
            for future in futures:
                yield from future.result()
            futures = []
    finally:
        if futures:
            client.cancel(futures)
        client.close()
