"""Exploration speed: seeds per second of ``paxossim explore --swarm``, per bundled scenario.

Each scenario is explored over the same seeds with one worker, as a user would
run it (``python -m paxossim explore NAME --seeds 1..N --swarm``); the time of
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
           "pbft_normal")


def explore_seconds(python: str, root: Path, scenario: str, seeds: int) -> float | None:
    """Wall seconds of one exploration over seeds 1..``seeds``; None if the checkout
    at ``root`` does not have the scenario (or the exploration could not start)."""
    with tempfile.TemporaryDirectory() as out:
        command = [python, "-m", "paxossim", "explore", scenario, "--seeds", f"1..{seeds}",
                   "--swarm", "--out", out]
        started = time.perf_counter()
        done = subprocess.run(command, cwd=root, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):  # 1: some seed failed, which is still a timing
        return None
    return elapsed


def seeds_per_second(python: str, root: Path, scenario: str, seeds: int) -> float | None:
    full = explore_seconds(python, root, scenario, seeds)
    start = explore_seconds(python, root, scenario, 1)
    if full is None or start is None:
        return None
    return (seeds - 1) / max(full - start, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scenarios", nargs="*", default=list(DEFAULT))
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--baseline", type=Path,
                        help="an older checkout (with .venv) to time side by side")
    args = parser.parse_args()
    columns = [("this checkout", sys.executable, ROOT)]
    if args.baseline is not None:
        base = args.baseline.resolve()
        columns.append((f"baseline {base.name}", str(base / ".venv" / "bin" / "python"), base))
    print(f"explore --swarm, seeds 1..{args.seeds}, one worker; seeds/s "
          "(start-up subtracted)")
    print(f"{'scenario':<26}" + "".join(f"{name:>22}" for name, _, _ in columns))
    for scenario in args.scenarios:
        cells = []
        for _, python, root in columns:
            rate = seeds_per_second(python, root, scenario, args.seeds)
            cells.append("-" if rate is None else f"{rate:.1f}")
        print(f"{scenario:<26}" + "".join(f"{cell:>22}" for cell in cells), flush=True)


if __name__ == "__main__":
    main()
