"""Where does a long run's memory grow? tracemalloc snapshots of the long cluster, diffed.

Runs ``benchmarks/long_cluster.toml`` (as ``bench_long.py`` does, with no log
file) for ``--minutes`` of simulated time under tracemalloc, takes a snapshot
at each minute given by ``--at``, and prints the allocation sites whose live
memory grew most between the first and the last snapshot, with the Python
objects by type that grew (gc-tracked only). What grows with the run's length
is what keeps ``bench_long``'s 60-minute peak above its 10-minute one.

    python benchmarks/grow_long.py [--minutes 20] [--at 5 20] [--frames 1] [--top 25]
"""

from __future__ import annotations

import argparse
import gc
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

SCENARIO = Path(__file__).resolve().parent / "long_cluster.toml"
MINUTE = 60_000.0


def type_counts() -> Counter[str]:
    """Live gc-tracked objects by type name."""
    gc.collect()
    return Counter(type(o).__name__ for o in gc.get_objects())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--at", type=float, nargs="+", default=[5.0, 20.0],
                        help="simulated minutes at which to snapshot (first and last are diffed)")
    parser.add_argument("--frames", type=int, default=1, help="traceback depth per site")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    from paxossim.runs import execute
    from paxossim.scenario.model import load_scenario

    scenario = load_scenario(SCENARIO, [f"horizon={args.minutes * MINUTE}"])
    due = sorted(args.at)
    taken: list[tuple[float, Any, Counter[str]]] = []

    def mark(sim: Any) -> None:
        if due and sim.env.now >= due[0] * MINUTE - 1e-9:
            due.pop(0)
            counts = type_counts()
            snapshot = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(False, tracemalloc.__file__)])
            taken.append((sim.env.now / MINUTE, snapshot, counts))
            size = sum(stat.size for stat in snapshot.statistics("filename"))
            print(f"snapshot at {sim.env.now / MINUTE:g} min: {size / 2**20:.1f} MiB traced")

    tracemalloc.start(args.frames)
    execute(scenario, args.seed, keep=False, progress=mark)
    (t0, first, counts0), (t1, last, counts1) = taken[0], taken[-1]
    print(f"\ngrowth from minute {t0:g} to {t1:g}, by allocation site:")
    key = "traceback" if args.frames > 1 else "lineno"
    for stat in last.compare_to(first, key)[:args.top]:
        where = " <- ".join(f"{Path(frame.filename).name}:{frame.lineno}"
                            for frame in reversed(stat.traceback))
        print(f"{stat.size_diff / 2**10:>10.0f} KiB {stat.count_diff:>+9} blocks  {where}")
    print("\nobjects by type:")
    for name, grown in (counts1 - counts0).most_common(args.top):
        print(f"{grown:>+10} {name}")


if __name__ == "__main__":
    main()
