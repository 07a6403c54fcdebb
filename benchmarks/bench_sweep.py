"""Sweep throughput: runs per second of scenarios/sweep_loss.toml with 1 and 2 workers.

Runs the bundled loss sweep (33 grid points) with fewer seeds per point, once
per worker count, into temporary folders, without charts; checks that the
tables are byte-identical; and reports each worker's peak resident memory
(VmHWM, falling back to ru_maxrss, as each run records it in timings.csv).
With 1 worker the runs are made in this process, so its peak includes the
parent's own memory (the finished runs' table); with 2 it is the workers' own.

Runs per CPU-second (this process and its reaped workers, user + system) is
printed too: on a machine shared with other work, wall-clock scaling says as
much about the neighbours as about the sweep, CPU time much less so.

    python benchmarks/bench_sweep.py [--seeds 60] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import tempfile
import time
from pathlib import Path

from paxossim.experiments.sweep import run_sweep
from paxossim.experiments.sweep_spec import load_spec
from paxossim.experiments.sweep_table import RESULTS, TIMINGS

SPEC = Path(__file__).resolve().parent.parent / "scenarios" / "sweep_loss.toml"


def cpu_seconds() -> float:
    """User + system time of this process and of its workers that have exited."""
    return sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))


def measure(seeds: int, workers: int, folder: Path) -> tuple[int, float, float, float]:
    """(runs, wall seconds, CPU seconds, worker peak MiB) of one sweep."""
    spec = load_spec(SPEC, seeds_per_point=seeds)
    cpu, started = cpu_seconds(), time.perf_counter()
    result = run_sweep(spec, folder, workers=workers)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    with (folder / TIMINGS).open() as handle:
        peak = max(float(row["worker_rss_mib"]) for row in csv.DictReader(handle))
    return result.done, seconds, cpu, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=60, help="seeds per grid point")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    print(f"{SPEC.name}, {args.seeds} seeds per point, {os.cpu_count()} CPUs; "
          f"load average {os.getloadavg()[0]:.2f} before")
    tables = []
    with tempfile.TemporaryDirectory() as temp:
        base = None
        for workers in args.workers:
            folder = Path(temp) / f"w{workers}"
            runs, seconds, cpu, peak = measure(args.seeds, workers, folder)
            rate = runs / seconds
            base = base or rate
            print(f"workers={workers}: {runs} runs in {seconds:.2f} s = {rate:.0f} runs/s "
                  f"(x{rate / base:.2f} of the first), {runs / cpu:.0f} runs per CPU-second, "
                  f"worker peak RSS {peak:.1f} MiB")
            tables.append((folder / RESULTS).read_bytes())
    print("tables byte-identical across worker counts:", len(set(tables)) == 1)
    print(f"load average {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
