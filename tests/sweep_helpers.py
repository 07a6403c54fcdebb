"""Small sweep specs for the sweep, stats, chart and dask tests."""

from __future__ import annotations

from pathlib import Path

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"

TINY_SPEC = """
name = "tiny"
scenario = "{scenario}"
seed = 11
seeds_per_point = {seeds}

[grid]
"network.loss" = [0.0, 0.3]

[grid.acceptors]
values = [3, 5]
set = [{{}}, {{ "nodes.A4" = ["acceptor"], "nodes.A5" = ["acceptor"] }}]

[charts]
x = "network.loss"
"""


def write_spec(folder: Path, seeds: int = 5, text: str = TINY_SPEC) -> Path:
    """A 2x2 grid over the bundled lossy cluster, ``seeds`` runs per point."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tiny.toml"
    scenario = (SCENARIOS / "lossy_cluster.toml").as_posix()
    path.write_text(text.format(scenario=scenario, seeds=seeds), encoding="utf-8")
    return path


PROTOCOLS_SPEC = """
name = "protocols"
scenario = "{scenario}"
seed = 3
seeds_per_point = {seeds}

[grid]
protocol = ["multipaxos", "p2p"]
{grid}
"""


def write_protocols_spec(folder: Path, seeds: int, grid: str) -> Path:
    """Multi-Paxos against p2p on the bundled replicated cluster, plus ``grid`` lines."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "protocols.toml"
    scenario = (SCENARIOS / "replicated_cluster.toml").as_posix()
    path.write_text(PROTOCOLS_SPEC.format(scenario=scenario, seeds=seeds, grid=grid),
                    encoding="utf-8")
    return path
