"""Run a sweep's batches on a dask.distributed cluster (the optional ``dask`` extra).

Kept apart from :mod:`paxossim.experiments.sweep` so that paxossim imports and runs without
dask installed. The work and the seeds are the same as with the local pool, so
the table is byte-identical; only where the runs execute changes. Workers need
paxossim installed (the same version) to unpickle the batches.
"""

from __future__ import annotations

from collections.abc import Iterator
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
