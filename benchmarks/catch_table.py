"""How many seeds each broken variant takes to be caught, per bundled fault model.

Run by hand (not a test): ``python benchmarks/catch_table.py [MAX_SEEDS]``.
Prints a Markdown table: for each variant and fault model (a bundled
scenario, alone or with ``--swarm``), the first seed (counting from 1) whose
run fails and how many of the MAX_SEEDS fail ("-" if none does); "(l)" marks
a first failure that broke only the liveness bound, with the first safety
failure after it. The ``correct`` row must read 0 everywhere.
"""

from __future__ import annotations

import sys
from pathlib import Path

from paxossim.experiments.explore import explore
from paxossim.protocols.paxos import VARIANTS

ROOT = Path(__file__).resolve().parent.parent / "scenarios"
MODELS = [
    ("dueling_proposers", False),
    ("acceptor_crash_recovery", False),
    ("minority_partition", False),
    ("lossy_network", False),
    ("clock_skew", False),
    ("dueling_proposers", True),
    ("acceptor_crash_recovery", True),
]


def main() -> None:
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    heads = [f"{name}{' --swarm' if swarm else ''}" for name, swarm in MODELS]
    print("| variant | " + " | ".join(heads) + " |")
    print("|---" * (len(heads) + 1) + "|")
    for variant in VARIANTS:
        cells = []
        for name, swarm in MODELS:
            outcomes = explore(
                ROOT / f"{name}.toml", range(1, limit + 1), (f'variant="{variant}"',),
                swarm=swarm, workers=2, out_dir=f"/tmp/catch/{variant}/{name}",
            )
            failed = [o for o in outcomes if o.failed]
            if not failed:
                cells.append("0" if variant == "correct" else "-")
                continue
            safety = [o for o in failed if not o.safe]
            first = str(failed[0].seed)
            if failed[0].safe:
                first += f" (l; safety {safety[0].seed})" if safety else " (l)"
            cells.append(f"{first}; {len(failed)}/{limit}")
        print(f"| {variant} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
