"""Fingerprint the event logs of every bundled run scenario, to prove a core change kept them.

Prints one line per scenario and seed with the sha256 of its event lines (what
a log's footer calls ``events_sha256``; the header is left out on purpose, so a
change to the header alone does not count). With ``--save`` the fingerprints
are written as JSON; with ``--compare`` they are checked against such a file
and every scenario whose log changed is named.

    python benchmarks/log_fingerprints.py --save /tmp/before.json
    # ... change the core ...
    python benchmarks/log_fingerprints.py --compare /tmp/before.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from paxossim.runs import execute
from paxossim.scenario.model import load_scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def fingerprints(seeds: list[int]) -> dict[str, dict[str, str]]:
    """``{scenario: {seed: sha256}}`` for every run scenario (``sweep_*`` files are specs)."""
    found: dict[str, dict[str, str]] = {}
    for path in sorted(SCENARIOS.glob("*.toml")):
        if path.name.startswith("sweep_"):
            continue
        scenario = load_scenario(path)
        found[path.stem] = {
            str(seed): execute(scenario, seed, keep=False).summary["events_sha256"]
                            for seed in seeds}
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--save", type=Path, help="write the fingerprints to this JSON file")
    parser.add_argument("--compare", type=Path, help="compare with a file --save wrote")
    args = parser.parse_args()
    now = fingerprints(args.seeds)
    for name, by_seed in now.items():
        for seed, digest in by_seed.items():
            print(f"{name:<28} seed {seed:>3}  {digest}")
    if args.save:
        args.save.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    if args.compare:
        before = json.loads(args.compare.read_text(encoding="utf-8"))
        changed = sorted(f"{name} seed {seed}" for name, by_seed in now.items()
                         for seed, digest in by_seed.items()
                         if before.get(name, {}).get(seed) != digest)
        print(f"\n{len(changed)} of {sum(map(len, now.values()))} logs changed"
              + "".join(f"\n  {line}" for line in changed))
        return 1 if changed else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
