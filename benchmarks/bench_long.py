"""Long runs: does memory stay flat and the cost per command stay level over an hour?

Runs ``benchmarks/long_cluster.toml`` (nine Multi-Paxos replicas, 10 % loss,
random crashes, open-loop clients) for a 10-minute and a 60-minute horizon of
simulated time, each in a child process of its own so that each reports its
own peak RSS (VmHWM from /proc/self/status, read at the end of the run). The
child steps the simulation in 100 slices of simulated time and records the
wall clock, its own CPU time and the commands committed (answered to clients)
at each, so the wall time per committed command of the first and the last
tenth of the run can be compared (and the CPU time, which other processes on
a shared machine disturb less). Printed: a table; the CPU cost per command of
each tenth of the longest run and its least-squares trend; and the checks of
issue 8 item 7 (peak RSS under 300 MB, 60-minute peak within 1.5x of the
10-minute one, the last tenth no costlier per command than the first).

Each child runs as ``paxossim run`` does (``runs.execute``): the log streams
into a file (in a temporary folder) while the checks and the summary read
the events. ``--no-log`` writes no file (simulation and checks alone). A
child whose RSS passes ``--max-rss-mb`` stops early and says how far it got;
its figures are then labelled partial, and the wall time for the full
horizon is extrapolated (labelled as such).

    python benchmarks/bench_long.py [--minutes 10 60] [--no-log] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SCENARIO = Path(__file__).resolve().parent / "long_cluster.toml"
SLICES = 100
MINUTE = 60_000.0  # the scenario's unit is ms


def status_mib(field: str) -> float:
    """A memory figure of this process from /proc/self/status (VmHWM, VmRSS), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def committed(sim: Any) -> int:
    """Commands answered to clients so far (issued minus still pending)."""
    from paxossim.protocols.replicated import ClientNode

    total = 0
    for host in sim.hosts.values():
        if isinstance(host.node, ClientNode):
            total += host.storage.get("seq", 0) - len(host.node.client.pending)
    return total


class RssCap(Exception):
    """The child passed --max-rss-mb: stop the run where it is."""


def child(minutes: float, seed: int, no_log: bool, max_rss_mb: float) -> dict[str, Any]:
    """Run one horizon in this process; returns the figures as a dict."""
    import tempfile

    from paxossim.runs import execute
    from paxossim.scenario.model import load_scenario
    from paxossim.sim.runtime import Simulation

    horizon = minutes * MINUTE
    scenario = load_scenario(SCENARIO, [f"horizon={horizon}"])
    base_rss = status_mib("VmRSS")
    started = time.perf_counter()
    cpu = time.process_time()
    marks: list[tuple[float, int, float]] = [(0.0, 0, 0.0)]
    reached = [0.0]

    def mark(sim: Simulation) -> None:
        reached[0] = sim.env.now
        marks.append((time.perf_counter() - started, committed(sim),
                      time.process_time() - cpu))
        if status_mib("VmRSS") > max_rss_mb:
            raise RssCap

    sent = 0
    with tempfile.TemporaryDirectory() as folder:
        log = None if no_log else Path(folder) / "events.jsonl"
        try:
            result = execute(scenario, seed, keep=False, log_path=log, progress=mark)
            sent = result.summary["messages"]["sent"]
        except RssCap:
            pass
        log_mib = log.stat().st_size / 2**20 if log is not None and log.exists() else 0.0
    return {"minutes": minutes, "reached_minutes": reached[0] / MINUTE, "marks": marks,
            "sent": sent, "log_mib": log_mib, "peak_mib": status_mib("VmHWM"),
            "base_mib": base_rss}


def run_child(minutes: float, args: argparse.Namespace) -> dict[str, Any] | None:
    command = [sys.executable, __file__, "--child", str(minutes), "--seed", str(args.seed),
               "--max-rss-mb", str(args.max_rss_mb)] + (["--no-log"] if args.no_log else [])
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout,
                              check=True)
    except subprocess.TimeoutExpired:
        print(f"{minutes:g} min: no result within {args.timeout:g} s wall")
        return None
    except subprocess.CalledProcessError as error:
        print(f"{minutes:g} min: child failed: {error.stderr.strip().splitlines()[-1:]}")
        return None
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def tenth_cost(marks: list[list[float]], first: bool, clock: int = 0) -> float:
    """Wall (``clock`` 0) or CPU (2) ms per committed command over the first or the
    last tenth of the slices run."""
    tenth = max(1, (len(marks) - 1) // 10)
    start, end = (marks[0], marks[tenth]) if first else (marks[-1 - tenth], marks[-1])
    return 1000 * (end[clock] - start[clock]) / max(1, end[1] - start[1])


def tenth_costs(marks: list[list[float]]) -> list[float]:
    """CPU ms per committed command in each tenth of the slices run."""
    step = max(1, (len(marks) - 1) // 10)
    return [1000 * (marks[i + step][2] - marks[i][2]) / max(1, marks[i + step][1] - marks[i][1])
            for i in range(0, len(marks) - step, step)]


def trend(costs: list[float]) -> float:
    """Least-squares slope per tenth, as a fraction of the mean: what a growing cost
    per command shows, which one tenth against another hides in the noise of a
    shared machine and of when the random crashes fall."""
    n = len(costs)
    if n < 2:
        return 0.0
    mean_x, mean_y = (n - 1) / 2, sum(costs) / n
    slope = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(costs)) / \
        sum((x - mean_x) ** 2 for x in range(n))
    return slope / mean_y


def report(results: dict[float, dict[str, Any]]) -> None:
    print(f"{'horizon':>8} {'reached':>8} {'peak MiB':>9} {'sent':>10} {'committed':>10} "
          f"{'wall s':>8} {'ms/cmd 1st':>10} {'ms/cmd last':>11}")
    for minutes, r in results.items():
        wall, done = r["marks"][-1][:2]
        partial = r["reached_minutes"] < minutes
        print(f"{minutes:>6g}m {r['reached_minutes']:>7.1f}m {r['peak_mib']:>9.0f} "
              f"{r['sent']:>10} {done:>10} {wall:>8.1f} {tenth_cost(r['marks'], True):>10.3f} "
              f"{tenth_cost(r['marks'], False):>11.3f}" + ("  (partial: RSS cap)" if partial
                                                           else ""))
        if partial:
            print(f"{'':>8} extrapolated wall for {minutes:g} min: "
                  f"{wall * minutes / r['reached_minutes']:.0f} s (linear, from the part run)")
    longest = results[max(results)]
    tenths = tenth_costs(longest["marks"])
    print("CPU ms/command per tenth of the longest run: " + " ".join(f"{c:.3f}" for c in tenths)
          + f" (least-squares trend {trend(tenths):+.1%} of the mean per tenth)")
    complete = all(r["reached_minutes"] >= m for m, r in results.items())
    checks = [("peak RSS < 300 MB (longest run)", longest["peak_mib"] * 1.048576 < 300)]
    if len(results) > 1 and complete:  # peaks of runs cut short compare nothing
        shortest = results[min(results)]
        ratio = longest["peak_mib"] / shortest["peak_mib"]
        checks.append((f"peak RSS ratio longest/shortest {ratio:.2f} <= 1.5", ratio <= 1.5))
    first, last = tenth_cost(longest["marks"], True), tenth_cost(longest["marks"], False)
    checks.append((f"last tenth {last:.3f} <= first tenth {first:.3f} ms/command "
                   "(longest run)", last <= first))
    first, last = (tenth_cost(longest["marks"], which, clock=2) for which in (True, False))
    checks.append((f"  the same in CPU time of the run's process: last tenth {last:.3f}, "
                   f"first {first:.3f} ms/command", last <= first))
    if not complete:
        checks.append(("every run reached its horizon", False))
    for label, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {label}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[10.0, 60.0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-log", action="store_true",
                        help="write no log file (simulation and checks alone)")
    parser.add_argument("--max-rss-mb", type=float, default=3000.0,
                        help="a child stops early past this RSS")
    parser.add_argument("--timeout", type=float, default=600.0, help="wall seconds per child")
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.seed, args.no_log, args.max_rss_mb)))
        return
    mode = "no log file" if args.no_log else "log streamed to a file"
    print(f"{SCENARIO.name}, seed {args.seed}, {mode}")
    results = {m: r for m in args.minutes if (r := run_child(m, args)) is not None}
    if results:
        report(results)


if __name__ == "__main__":
    main()
