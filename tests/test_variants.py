"""Every broken variant is caught on a bundled scenario within 2,000 seeds;
correct Paxos passes the same scenarios. This is what proves the checks can fail."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from helpers_faults import SCENARIOS

from paxossim.cli import main
from paxossim.protocols.paxos import VARIANTS
from paxossim.runs import execute
from paxossim.scenario.model import load_scenario

CATCHERS = {
    "forget-promise-on-restart": "acceptor_crash_recovery",
    "ignore-accepted-values": "dueling_proposers",
    "quorum-one-short": "minority_partition",
    "mixed-ballot-learner": "lossy_network",
    "accept-below-promise": "dueling_proposers",
}


def failing(name: str, variant: str, seeds: range) -> tuple[int, bool] | None:
    """The first seed whose run fails, and whether it broke safety (not just liveness)."""
    scenario = load_scenario(SCENARIOS / f"{name}.toml", [f'variant="{variant}"'])
    for seed in seeds:
        summary = execute(scenario, seed).summary
        if not summary["safety"]["ok"] or summary["liveness"]["verdict"] == "failed":
            return seed, not summary["safety"]["ok"]
    return None


def test_every_broken_variant_has_a_catcher() -> None:
    assert set(CATCHERS) == set(VARIANTS) - {"correct"}


@pytest.mark.parametrize(("variant", "name"), sorted(CATCHERS.items()))
def test_broken_variant_breaks_safety_within_2000_seeds(variant: str, name: str) -> None:
    caught = failing(name, variant, range(1, 2001))
    assert caught is not None, f"{variant} survived 2000 seeds of {name}"
    # Caught by a safety check, not only by a liveness bound, within the same budget.
    scenario = load_scenario(SCENARIOS / f"{name}.toml", [f'variant="{variant}"'])
    assert any(not execute(scenario, seed).safe for seed in range(caught[0], 2001))


@pytest.mark.parametrize("name", sorted(set(CATCHERS.values()) | {"clock_skew"}))
def test_correct_paxos_passes_the_catching_scenarios(name: str) -> None:
    assert failing(name, "correct", range(1, 101)) is None


def test_forgetful_acceptor_breaks_agreement_deterministically() -> None:
    path = SCENARIOS / "forgetful_acceptor.toml"
    broken = execute(load_scenario(path, ['variant="forget-promise-on-restart"']))
    assert {v["invariant"] for v in broken.summary["safety"]["violations"]} >= {"agreement"}
    assert execute(load_scenario(path)).safe


def test_variants_command_lists_them_all() -> None:
    result = CliRunner().invoke(main, ["variants"])
    assert result.exit_code == 0
    listed = [line.split()[0] for line in result.output.splitlines()]
    assert listed == list(VARIANTS)
