"""Raft's election downtime after a leader crash, per election-timeout range:
the experiment of the paper's section 9.3 (Figure 16, top), on raft_leader_crash.

Run by hand (not a test)::

    python benchmarks/raft_election_downtime.py [TRIALS] [--out results/curated/raft]

For each range 150-150, 150-151, 150-155, 150-175, 150-200, 150-300 ms it runs
TRIALS trials (default 1000) of ``raft_leader_crash``: trial ``i`` runs with
seed ``i`` (the servers' timeouts), and the leader crashes at 200 ms plus a
time drawn uniformly within one heartbeat interval (75 ms, half the minimum
timeout) from the named stream ``raft-crash`` of seed ``i``. Heartbeats go to
every follower at once, every 75 ms, so the crash falls uniformly within a
heartbeat interval after the last synchronized heartbeat. The network's
one-way latency is uniform in 4.5-5.5 ms, no loss, no disk latency; the run
ends at 5,000 ms, and a trial with no leader followed by every survivor by
then counts as unresolved.

Writes ``downtime.csv`` (range, trial, crash time, downtime or empty) and
``downtime_cdf.png`` (one CDF per range) into the output folder, and prints
mean, p50, p99 and max per range (over the resolved trials) as Markdown.
"""

from __future__ import annotations

import argparse
import csv
from multiprocessing import Pool
from pathlib import Path

import numpy as np

import paxossim
from paxossim.rng import Stream

RANGES = [(150.0, 150.0), (150.0, 151.0), (150.0, 155.0), (150.0, 175.0), (150.0, 200.0),
          (150.0, 300.0)]
HEARTBEAT = 75.0
CRASH_FROM = 200.0
HORIZON = 5000.0
LATENCY = {"model": "uniform", "low": 4.5, "high": 5.5}


def trial(job: tuple[float, float, int]) -> tuple[float, float, int, float, float | None]:
    low, high, seed = job
    crash = CRASH_FROM + Stream(seed, "raft-crash").uniform(0.0, HEARTBEAT)
    run = paxossim.run("raft_leader_crash", seed=seed, set={
        "horizon": HORIZON, "network.latency": LATENCY,
        "raft.heartbeat_interval": HEARTBEAT,
        "raft.election_timeout_min": low, "raft.election_timeout_max": high,
        "faults.crashes.0.at": crash,
    })
    assert run.safe, f"range {low}-{high} seed {seed}: correct Raft violated safety"
    downtime = run.summary["raft"]["downtime"]
    return low, high, seed, crash, None if downtime is None else downtime["max"]


def label(low: float, high: float) -> str:
    return f"{low:g}-{high:g} ms"


def draw(rows: list[tuple[float, float, int, float, float | None]], trials: int,
         path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.8))
    for low, high in RANGES:
        values = np.sort([d for lo, hi, _, _, d in rows if (lo, hi) == (low, high)
                          and d is not None])
        if len(values):
            steps = np.arange(1, len(values) + 1) / trials
            ax.step(np.concatenate(([values[0]], values)), np.concatenate(([0.0], steps)),
                    where="post", label=f"{label(low, high)} ({len(values)}/{trials} resolved)")
        else:
            ax.plot([], [], label=f"{label(low, high)} (0/{trials} resolved)")
    ax.set_xscale("log")
    ax.set_xlim(100, HORIZON)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("time without a leader after the crash (ms, log scale)")
    ax.set_ylabel(f"cumulative fraction of {trials} trials")
    ax.set_title("Raft election downtime after a leader crash, per election timeout range")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trials", nargs="?", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=Path("results/curated/raft"))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    jobs = [(low, high, seed) for low, high in RANGES for seed in range(1, args.trials + 1)]
    with Pool(args.workers) as pool:
        rows = pool.map(trial, jobs, chunksize=8)
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "downtime.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["range", "seed", "crash_at", "downtime"])
        for low, high, seed, crash, downtime in rows:
            writer.writerow([label(low, high), seed, f"{crash:.3f}",
                             "" if downtime is None else f"{downtime:.3f}"])
    draw(rows, args.trials, args.out / "downtime_cdf.png")
    print("| timeouts | resolved | mean | p50 | p99 | max |")
    print("|---|---|---|---|---|---|")
    for low, high in RANGES:
        values = np.array([d for lo, hi, _, _, d in rows if (lo, hi) == (low, high)
                           and d is not None])
        if not len(values):
            print(f"| {label(low, high)} | 0/{args.trials} | - | - | - | - |")
            continue
        print(f"| {label(low, high)} | {len(values)}/{args.trials} | {values.mean():.1f} | "
              f"{np.percentile(values, 50):.1f} | {np.percentile(values, 99):.1f} | "
              f"{values.max():.1f} |")


if __name__ == "__main__":
    main()
