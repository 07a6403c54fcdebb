"""Replicated-log figures for the report: Multi-Paxos with and without a leader crash,
and messages per committed command, leader-replica against peer-to-peer.

Run by hand (not part of the test suite):

    .venv/bin/python benchmarks/bench_replog.py            # 10 seeds per case
    .venv/bin/python benchmarks/bench_replog.py --seeds 3

Every case is a bundled scenario (5 replicas, 3 closed-loop clients with 2
commands outstanding each, 3 keys, half reads, constant 10 ms links: the
scenario default network; the "exp. latency" rows use exponential link
latencies, mean 10 ms, minimum 2 ms) with ``--set`` overrides, so each row
can be re-run alone with ``paxossim run``. Latencies are pooled over all seeds'
answered commands; throughput and messages per command are averaged over
seeds. Simulated figures, hence machine-independent; the wall-clock column
is the only one that depends on this machine.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from paxossim.runs import execute
from paxossim.scenario.model import load_scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"

EXPONENTIAL = 'network.latency={model="exponential",mean=10.0,min=2.0}'
NO_CRASH = "faults.crashes=[]"

CASES: list[tuple[str, str, tuple[str, ...]]] = [
    ("multipaxos, no crash", "leader_failover", (NO_CRASH,)),
    ("multipaxos, leader crash 2000-4000 ms", "leader_failover", ()),
    ("p2p, no crash", "peer_to_peer", ()),
    ("multipaxos, 3x16 outstanding, no crash", "leader_failover",
     (NO_CRASH, "multipaxos.outstanding=16")),
    ("exp. latency: multipaxos, no crash", "leader_failover", (NO_CRASH, EXPONENTIAL)),
    ("exp. latency: multipaxos, leader crash", "leader_failover", (EXPONENTIAL,)),
    ("exp. latency: p2p, no crash", "peer_to_peer", (EXPONENTIAL,)),
]


def run_case(name: str, overrides: tuple[str, ...], seeds: int) -> dict[str, float]:
    scenario = load_scenario(SCENARIOS / f"{name}.toml", overrides)
    latencies: list[float] = []
    throughput, per_command, replica_per_command, committed, events = [], [], [], [], 0
    started = time.perf_counter()
    for seed in range(1, seeds + 1):
        result = execute(scenario, seed)
        assert result.safe, (name, overrides, seed, result.summary["safety"])
        log = result.summary["replicated_log"]
        assert log["linearizability"]["verdict"] == "ok", (name, seed)
        invoked: dict[str, float] = {}
        for event in result.events:
            if event["ev"] == "invoke":
                invoked[event["id"]] = event["t"]
            elif event["ev"] == "respond" and event["id"] in invoked:
                latencies.append(event["t"] - invoked.pop(event["id"]))
        throughput.append(log["throughput_per_s"])
        per_command.append(log["messages_per_command"])
        replica_per_command.append(log["replica_messages_per_command"])
        committed.append(log["commands_committed"])
        events += len(result.lines)
    wall = time.perf_counter() - started
    array = np.array(latencies)
    return {
        "p50": float(np.percentile(array, 50)),
        "p99": float(np.percentile(array, 99)),
        "throughput": float(np.mean(throughput)),
        "committed": float(np.mean(committed)),
        "messages": float(np.mean(per_command)),
        "replica_messages": float(np.mean(replica_per_command)),
        "events_per_s": events / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    print(f"seeds 1..{args.seeds} per case, horizon 6000 ms\n")
    header = (f"{'case':<42} {'p50 ms':>7} {'p99 ms':>7} {'cmd/s':>7} {'committed':>9} "
              f"{'msg/cmd':>8} {'r-r/cmd':>8} {'sim ev/s':>9}")
    print(header)
    print("-" * len(header))
    for label, name, overrides in CASES:
        row = run_case(name, overrides, args.seeds)
        print(f"{label:<42} {row['p50']:>7.1f} {row['p99']:>7.1f} {row['throughput']:>7.1f} "
              f"{row['committed']:>9.1f} {row['messages']:>8.2f} "
              f"{row['replica_messages']:>8.2f} {row['events_per_s']:>9.0f}")
    print("\nmsg/cmd: network messages (self-sends excluded, client messages included) per "
          "committed command;\nr-r/cmd: replica-to-replica messages only. Re-run one row, "
          "e.g.:\n  paxossim run leader_failover --seed 1 --no-plots --set 'faults.crashes=[]'")


if __name__ == "__main__":
    main()
