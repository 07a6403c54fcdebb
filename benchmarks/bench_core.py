"""Core speed: deliveries per second of lossy single-decree Paxos, log on, against bare simpy.

Runs 5-acceptor, 3-proposer simulations with 5% loss, one seed after another,
until at least --deliveries messages were delivered, each as ``paxossim run``
does it: the log streamed into events.jsonl (in a temporary folder) while the
safety checks and the summary read the events; and a bare simpy loop that
schedules the same number of timeouts with a callback each, in the same process.

The work is split into --rounds rounds, each running its share of the
simulations and then the bare loop on as many timeouts; the ratio printed is
the median of the rounds' ratios. Why: on a shared machine the speed of both
drifts by 20-30 % within a minute, and a ratio of two measurements taken side
by side moves far less than one of two taken a minute apart.

``--lean`` turns off the timer and storage events (``[log] timers = false,
storage = false``), the log level meant for speed.

    python benchmarks/bench_core.py [--deliveries 200000] [--rounds 5] [--no-log] [--lean]
                                    [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import tempfile
import time
from pathlib import Path

import simpy

from paxossim.runs import execute
from paxossim.scenario.model import scenario_from_dict

SCENARIO = {
    "name": "bench_core",
    "horizon": 5000.0,
    "nodes": {**{f"A{i}": ["acceptor"] for i in range(1, 6)},
              **{f"P{i}": ["proposer"] for i in range(1, 4)}, "L": ["learner"]},
    "requests": [{"node": f"P{i}", "value": f"v{i}", "at": 0.0} for i in range(1, 4)],
    "network": {"latency": {"model": "exponential", "mean": 10.0, "min": 1.0}, "loss": 0.05},
    "paxos": {"retry_timeout": 60.0, "max_attempts": 20},
}


def paxos_runs(target: int, folder: Path, write: bool = True,
               lean: bool = False, first_seed: int = 1) -> tuple[int, int, float]:
    """Run seeds ``first_seed``, ``first_seed + 1``, ... until ``target`` deliveries;
    return the deliveries, the runs and the seconds they took."""
    raw = SCENARIO | ({"log": {"timers": False, "storage": False}} if lean else {})
    scenario = scenario_from_dict(raw, "bench_core")
    log = folder / "events.jsonl" if write else None
    delivered = runs = 0
    start = time.perf_counter()
    while delivered < target:
        result = execute(scenario, first_seed + runs, keep=False, log_path=log)
        runs += 1
        delivered += result.summary["messages"]["delivered"]
    return delivered, runs, time.perf_counter() - start


def bare_simpy(count: int, in_flight: int = 25) -> float:
    env = simpy.Environment()
    remaining = [count]

    def callback(_event: simpy.events.Event) -> None:
        remaining[0] -= 1
        if remaining[0] >= in_flight:
            env.timeout(1.0).callbacks.append(callback)

    start = time.perf_counter()
    for _ in range(in_flight):
        env.timeout(1.0).callbacks.append(callback)
    env.run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5,
                        help="split the work into this many paxos-then-bare rounds")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--no-log", action="store_true",
                        help="simulate and check only: encode the event lines but write no file")
    parser.add_argument("--lean", action="store_true",
                        help="log no timer set/cancel and no storage-write events")
    args = parser.parse_args()
    delivered = runs = 0
    seconds = bare_seconds = 0.0
    ratios = []
    with tempfile.TemporaryDirectory() as folder:
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
        for _ in range(args.rounds):
            count, done, took = paxos_runs(args.deliveries // args.rounds, Path(folder),
                                           not args.no_log, args.lean, first_seed=runs + 1)
            bare = bare_simpy(count)
            delivered, runs = delivered + count, runs + done
            seconds, bare_seconds = seconds + took, bare_seconds + bare
            ratios.append(bare / took)
        if args.profile:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    mode = ("no log file" if args.no_log else "log written") + (", lean" if args.lean else "")
    print(f"paxos, {mode}: {delivered} deliveries in {runs} runs, {seconds:.2f} s, "
          f"{delivered / seconds:,.0f} deliveries/s")
    print(f"bare simpy loop:    {delivered} timeouts, {bare_seconds:.2f} s, "
          f"{delivered / bare_seconds:,.0f} timeouts/s")
    print(f"ratio: {statistics.median(ratios):.3f} of the bare loop (median of {args.rounds} "
          f"rounds: {', '.join(f'{ratio:.3f}' for ratio in ratios)})")


if __name__ == "__main__":
    main()
