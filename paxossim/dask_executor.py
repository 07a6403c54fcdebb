"""Run a sweep's batches on a dask.distributed cluster (the optional ``dask`` extra).

Kept apart from :mod:`paxossim.sweep` so that paxossim imports and runs without
dask installed. The work and the seeds are the same as with the local pool, so
the table is byte-identical; only where the runs execute changes. Workers need
paxossim installed (the same version) to unpickle the batches.
"""

from __future__ import annotations

from collections.abc import Iterator

from paxossim.errors import UserError
from paxossim.sweep import Outcome, RunContext, run_batch


def dask_batches(
    address: str, context: RunContext, batches: list[list[tuple[int, int]]]
) -> Iterator[list[Outcome]]:
    """Yield each batch's outcomes as the cluster finishes it."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise UserError("--scheduler", "needs dask: pip install 'paxossim[dask]'") from None
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as error:
        raise UserError(f"--scheduler {address}", f"cannot reach the scheduler: {error}") \
            from None
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
