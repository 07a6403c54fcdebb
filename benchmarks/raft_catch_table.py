"""Which Raft variant each bundled Raft scenario catches, over many seeds.

Run by hand (not a test): ``python benchmarks/raft_catch_table.py [SEEDS]``
(default 100). Prints a Markdown table: for each variant and fault model (a
bundled scenario, alone or with ``--swarm``), the first failing seed and how
many of the seeds fail ("-" if none). The ``correct`` row must read 0
everywhere. Each cell is what ``paxossim explore SCENARIO --seeds 1..N
[--swarm] --variant VARIANT`` reports, N = SEEDS, except for
``raft_partitioned_leader`` (6 s simulated, some 900 commands checked for
linearizability per run): N = SEEDS / 5.
"""

from __future__ import annotations

import sys
from pathlib import Path

from paxossim.experiments.explore import explore
from paxossim.protocols.raft.variants import VARIANTS

ROOT = Path(__file__).resolve().parent.parent / "scenarios"
MODELS = [
    ("raft_cluster", True, 1),
    ("raft_figure8", False, 1),
    ("raft_vote_restart", False, 1),
    ("raft_leader_crash", False, 1),
    ("raft_stale_suffix", False, 1),
    ("raft_partitioned_leader", False, 5),
    ("raft_leader_crash", True, 1),
]
"""(scenario, swarm, divisor of the number of seeds)."""


def main() -> None:
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    heads = [f"{name}{' --swarm' if swarm else ''}" for name, swarm, _ in MODELS]
    print("| variant | " + " | ".join(heads) + " |")
    print("|---" * (len(heads) + 1) + "|")
    for variant in VARIANTS:
        cells = []
        for name, swarm, divisor in MODELS:
            seeds = max(1, limit // divisor)
            outcomes = explore(
                ROOT / f"{name}.toml", range(1, seeds + 1), (f'variant="{variant}"',),
                swarm=swarm, workers=2, out_dir=f"/tmp/raft_catch/{variant}/{name}",
            )
            failed = [o for o in outcomes if o.failed]
            if not failed:
                cells.append("0" if variant == "correct" else "-")
                continue
            cells.append(f"{failed[0].seed}; {len(failed)}/{seeds}")
        print(f"| {variant} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
