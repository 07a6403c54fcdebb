"""One run of a sweep, as every executor runs it (in process, in a pool, on Dask).

Kept apart from :mod:`paxossim.experiments.sweep`, which drives the sweep, so that an
executor (``dask_executor``) imports what a worker runs without importing the
driver that imports the executor.
"""

from __future__ import annotations

import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paxossim.experiments.sweep_spec import PointScenario
from paxossim.experiments.sweep_table import error_cells, summary_cells
from paxossim.scenario.model import Scenario, scenario_from_dict


@dataclass
class RunContext:
    """Everything a worker needs, sent once per worker (not once per run)."""

    points: list[PointScenario]
    seeds: dict[tuple[int, int], int]
    learners: list[str]
    keep_logs: bool
    _built: dict[int, Scenario] = field(default_factory=dict, repr=False)

    def scenario(self, point: int) -> Scenario:
        built = self._built.get(point)
        if built is None:
            item = self.points[point]
            built = scenario_from_dict(item.raw, item.source, Path(item.base_dir))
            self._built[point] = built
        return built


@dataclass
class Outcome:
    point: int
    replicate: int
    cells: list[str]
    """The run's measured columns (everything after the parameters and seed)."""
    wall_s: float
    worker_rss_mib: float
    log: tuple[dict[str, Any], bytes, dict[str, Any]] | None = None
    """With --keep-logs: the run's header, event block and summary, for write_log."""


class RunStopped(Exception):
    """A sweep run that hit one of its scenario's ``[limits]``."""


def run_one(context: RunContext, point: int, replicate: int) -> Outcome:
    """Run one (point, replicate); an exception becomes an error row, never a crash."""
    from paxossim.runs import execute

    seed = context.seeds[(point, replicate)]
    started = time.perf_counter()
    log = None
    try:
        result = execute(context.scenario(point), seed, keep=context.keep_logs)
        stopped = result.summary.get("stopped")
        if stopped is not None:  # a runaway run is not a measurement: an error row
            raise RunStopped(f"{stopped['limit']} limit {stopped['value']} reached at "
                             f"t={stopped['t']:g}")
        cells = summary_cells(result.summary, context.learners)
        if context.keep_logs:
            assert result.block is not None
            log = (result.header, result.block, result.summary)
    except Exception as error:
        cells = error_cells(error, context.learners)
    wall = time.perf_counter() - started
    return Outcome(point, replicate, cells, wall, peak_rss_mib(), log)


def peak_rss_mib() -> float:
    """This process's peak resident memory, in MiB.

    Linux's VmHWM first: ru_maxrss survives execve, so a spawned worker would
    report its parent's peak if the parent's was higher. ru_maxrss (KiB on
    Linux, bytes on macOS) where there is no /proc.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0 if sys.platform == "darwin" else 1024.0)


def run_batch(context: RunContext, batch: list[tuple[int, int]]) -> list[Outcome]:
    return [run_one(context, point, replicate) for point, replicate in batch]
