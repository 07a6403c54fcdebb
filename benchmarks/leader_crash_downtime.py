"""Downtime per leader crash, Raft against Multi-Paxos, on the comparison's workload.

Run by hand (not a test): ``python benchmarks/leader_crash_downtime.py [SEEDS]``.
Runs ``replicated_cluster`` (five replicas, three closed-loop clients,
exponential latency with mean 10 ms, 3 s) with the random replica crashes of
``sweep_raft_vs_multipaxos`` (one at a time, about 1 s up and 200 ms down)
for seeds 1..SEEDS per protocol and link ordering, and pools every crash of
the only leader: the time from it to the next election won
(``replicated_log.leader_crash_downtime``, the same measure for both).
"""

from __future__ import annotations

import sys

import numpy as np

import paxossim

CRASHES = {"nodes": ["r1", "r2", "r3", "r4", "r5"], "mean_up": 1000.0, "mean_down": 200.0,
           "max_down": 1}


def downtimes(protocol: str, ordering: str, seeds: int) -> list[float]:
    pooled: list[float] = []
    for seed in range(1, seeds + 1):
        run = paxossim.run("replicated_cluster", seed=seed, set={
            "protocol": protocol, "network.ordering": ordering,
            "faults.random_crashes": CRASHES})
        figures = run.summary["replicated_log"]["leader_crash_downtime"]
        assert run.safe, f"{protocol} seed {seed} violated safety"
        if figures is not None:
            pooled += figures["values"]
    return pooled


def main() -> None:
    seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    print(f"replicated_cluster, random replica crashes, seeds 1..{seeds}; "
          "ms from the leader's crash to the next election won")
    print("| protocol | ordering | leader crashes | mean | p50 | p99 | max |")
    print("|---|---|---|---|---|---|---|")
    for ordering in ("free", "fifo"):
        for protocol in ("multipaxos", "raft"):
            values = np.array(downtimes(protocol, ordering, seeds))
            print(f"| {protocol} | {ordering} | {len(values)} | {values.mean():.1f} | "
                  f"{np.percentile(values, 50):.1f} | {np.percentile(values, 99):.1f} | "
                  f"{values.max():.1f} |", flush=True)


if __name__ == "__main__":
    main()
