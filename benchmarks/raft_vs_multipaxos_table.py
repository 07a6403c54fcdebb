"""The Markdown table of Raft against Multi-Paxos from a finished sweep.

Run by hand (not a test), after
``paxossim sweep scenarios/sweep_raft_vs_multipaxos.toml --workers 2 --out FOLDER``::

    python benchmarks/raft_vs_multipaxos_table.py FOLDER

Per grid point: mean commands committed, commit latency p50 and p99, messages
per command (from ``summary.csv``), and the mean time without a leader per run
(from ``results.csv`` or ``results.csv.gz``; it includes the first election).
"""

from __future__ import annotations

import csv
import gzip
import io
import sys
from collections import defaultdict
from pathlib import Path

AXES = ("replica_crashes", "network.loss", "network.ordering", "protocol")


def read(folder: Path, name: str) -> list[dict[str, str]]:
    plain = folder / name
    text = plain.read_text() if plain.exists() else gzip.decompress(
        (folder / f"{name}.gz").read_bytes()).decode()
    return list(csv.DictReader(io.StringIO(text)))


def main() -> None:
    folder = Path(sys.argv[1])
    leaderless: dict[tuple[str, ...], list[float]] = defaultdict(list)
    for row in read(folder, "results.csv"):
        if row["time_without_leader"]:
            leaderless[tuple(row[a] for a in AXES)].append(float(row["time_without_leader"]))
    print("| crashes | loss | ordering | protocol | committed | commit p50 ms | commit p99 ms "
          "| messages per command | time without leader ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    points = sorted(read(folder, "summary.csv"), key=lambda r: (
        r["replica_crashes"], float(r["network.loss"]), r["network.ordering"], r["protocol"]))
    for row in points:
        times = leaderless[tuple(row[a] for a in AXES)]
        print(f"| {' | '.join(row[a] for a in AXES)} "
              f"| {float(row['commands_committed_mean']):.0f} "
              f"| {float(row['commit_p50_mean']):.1f} | {float(row['commit_p99_mean']):.0f} "
              f"| {float(row['messages_per_command_mean']):.1f} "
              f"| {sum(times) / len(times):.0f} |")


if __name__ == "__main__":
    main()
