"""Exploration speed: seeds per second of ``paxossim explore --swarm``, per bundled scenario.

Each scenario is explored with one worker, as a user would run it
(``paxossim explore NAME --seeds 1..N --swarm``, the installed command), N
growing tenfold from ``--seeds`` until the run takes MIN_SECONDS; the time of
a one-seed exploration of the same scenario is subtracted, so start-up and
scenario loading are not counted. With ``--baseline DIR`` (a checkout of an
older paxossim with its own ``.venv``) every scenario is timed there too, in
the same run, one after the other, so both columns see the same machine load.

    python benchmarks/bench_explore.py [--seeds 200] [--baseline DIR] [SCENARIO ...]

The default scenarios are one or two per protocol; a scenario that the
baseline does not have is reported as "-" in its column.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ("late_arriving_proposal", "dueling_proposers", "acceptor_crash_recovery",
           "replicated_cluster", "leader_failover", "peer_to_peer", "leader_write",
           "pbft_normal", "raft_cluster")


def explore_seconds(program: Path, root: Path, scenario: str, seeds: int) -> float | None:
    """Wall seconds of one exploration over seeds 1..``seeds``; None if the checkout
    at ``root`` does not have the scenario (or the exploration did not finish)."""
    with tempfile.TemporaryDirectory() as out:
        command = [str(program), "explore", scenario, "--seeds", f"1..{seeds}", "--swarm",
                   "--out", out]
        started = time.perf_counter()
        done = subprocess.run(command, cwd=root, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
    if "seeds passed" not in done.stdout:  # exit 1 with a tally is a timing (seeds failed)
        return None
    return elapsed


MIN_SECONDS = 5.0
"""An exploration shorter than this is repeated with ten times the seeds: start-up
(about half a second) must be small beside the time measured."""


def seeds_per_second(program: Path, root: Path, scenario: str,
                     seeds: int) -> tuple[float, int] | None:
    """Seeds per second (start-up subtracted) and the seed count it was measured on."""
    start = explore_seconds(program, root, scenario, 1)
    while True:
        full = explore_seconds(program, root, scenario, seeds)
        if full is None or start is None:
            return None
        if full >= MIN_SECONDS or seeds >= 100_000:
            return (seeds - 1) / max(full - start, 1e-9), seeds
        seeds *= 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scenarios", nargs="*", default=list(DEFAULT))
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--baseline", type=Path,
                        help="an older checkout (with .venv) to time side by side")
    args = parser.parse_args()
    columns = [("this checkout", Path(sys.executable).parent / "paxossim", ROOT)]
    if args.baseline is not None:
        base = args.baseline.resolve()
        columns.append((f"baseline {base.name}", base / ".venv" / "bin" / "paxossim", base))
    print(f"explore --swarm, seeds 1..N (N from {args.seeds}, times ten until a run takes "
          f"{MIN_SECONDS:g} s), one worker; seeds/s, start-up subtracted (N)")
    print(f"{'scenario':<26}" + "".join(f"{name:>22}" for name, _, _ in columns))
    for scenario in args.scenarios:
        cells = []
        for _, python, root in columns:
            measured = seeds_per_second(python, root, scenario, args.seeds)
            cells.append("-" if measured is None else f"{measured[0]:.1f} ({measured[1]})")
        print(f"{scenario:<26}" + "".join(f"{cell:>22}" for cell in cells), flush=True)


if __name__ == "__main__":
    main()
