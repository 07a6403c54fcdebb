"""The election-downtime benchmark's panels set up the paper's experiment for
every timeout range, and the account tells Raft's own figures."""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

import paxossim
from paxossim.analysis.account import account
from paxossim.labels import plain_number

ROOT = Path(__file__).resolve().parent.parent


def benchmark() -> ModuleType:
    path = ROOT / "benchmarks" / "raft_election_downtime.py"
    spec = importlib.util.spec_from_file_location("raft_election_downtime", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


BENCH = benchmark()
NEW_CASES = [case for panel in ("scale", "wan") for case in BENCH.PANELS[panel][1]]


def test_ranges_from_150_ms_keep_the_scenarios_own_setup() -> None:
    """The first panel's numbers were curated from the scenario as written: the
    scaled setup must be the same there."""
    scenario = tomllib.loads((ROOT / "scenarios" / "raft_leader_crash.toml").read_text())
    for case in BENCH.PANELS["spread"][1]:
        sets = case.overrides(230.0)
        assert sets["faults.partitions.0.at"] == scenario["faults"]["partitions"][0]["at"]
        assert sets["faults.partitions.0.heal"] == scenario["faults"]["partitions"][0]["heal"]
        assert sets["faults.partitions.1.at"] == scenario["faults"]["partitions"][1]["at"]
        assert [sets[f"requests.{i}.at"] for i in range(4)] == [
            request["at"] for request in scenario["requests"]]
        assert "network.ordering" not in sets


def test_the_panels_are_the_papers_ranges_with_half_the_minimum_as_heartbeat() -> None:
    ranges = [(case.low, case.high) for case in BENCH.PANELS["scale"][1]]
    assert ranges == [(12.0, 24.0), (25.0, 50.0), (50.0, 100.0), (100.0, 200.0), (150.0, 300.0)]
    assert [case.crashed for case in BENCH.PANELS["wan"][1]] == [0, 1, 2]
    for case in NEW_CASES:
        assert case.overrides(230.0)["raft.heartbeat_interval"] == case.low / 2


@pytest.mark.parametrize("case", NEW_CASES, ids=lambda case: case.label)
def test_each_case_crashes_the_one_leader_and_only_a_full_log_wins(case) -> None:
    crash = 200.0 + case.heartbeat / 2
    run = paxossim.run("raft_leader_crash", seed=3, set=case.overrides(crash))
    events = list(run.events())
    before = [e for e in events if e["ev"] == "raft.campaign" and e["t"] < crash]
    assert [e["node"] for e in before] == ["S1"], "no follower timed out during the setup"
    down = [e["node"] for e in events if e["ev"] == "crash"]
    assert sorted(down) == sorted(["S1", *BENCH.SPARE_FOLLOWERS[:case.crashed]])
    winners = {e["node"] for e in events if e["ev"] == "raft.elected" and e["t"] > crash}
    assert winners and winners <= {"S2", "S3", "S6", "S7"} - set(down)
    assert run.safe
    assert run.summary["raft"]["leader_losses"] == 1
    assert run.summary["raft"]["downtime"]["count"] == 1


def test_a_trial_is_determined_by_its_case_and_seed() -> None:
    case = BENCH.PANELS["scale"][1][0]
    first, again, other = (BENCH.trial((case, seed)) for seed in (5, 5, 6))
    assert first == again
    assert first[2:] != other[2:]
    assert 200.0 <= first[2] < 200.0 + case.heartbeat


def test_the_table_reports_only_resolved_trials() -> None:
    case = BENCH.PANELS["wan"][1][0]
    rows = [(case, 1, 250.0, 400.0, False), (case, 2, 260.0, 600.0, True),
            (case, 3, 270.0, None, True)]
    line = BENCH.table(rows, [case], 3)[2]
    assert line == f"| {case.label} | 2/3 | 500.0 | 500.0 | 598.0 | 600.0 | 2 |"


def test_the_account_tells_raft_terms_elections_and_downtime() -> None:
    run = paxossim.run("raft_leader_crash", seed=4)
    raft = run.summary["raft"]
    lines = account(run.summary, run.header, run.events())
    told = [line for line in lines if line.startswith("raft:")]
    assert told[0] == (f"raft: {raft['terms']} terms, {raft['elections_started']} election(s) "
                       f"started, {raft['elections_won']} won, {raft['split_votes']} split "
                       f"votes, 1 leader loss")
    assert f"mean {plain_number(raft['downtime']['mean'], 4)} ms" in told[1]
    assert len(told) == 2


def test_the_account_has_no_downtime_line_without_a_loss_nor_raft_lines_elsewhere() -> None:
    raft = paxossim.run("raft_split_votes", seed=1)
    lines = [line for line in account(raft.summary, raft.header, raft.events())
             if line.startswith("raft:")]
    assert len(lines) == 1 and "0 won" in lines[0] and "0 leader losses" in lines[0]
    paxos = paxossim.run("replicated_cluster", seed=1)
    assert not [line for line in account(paxos.summary, paxos.header, paxos.events())
                if line.startswith("raft:")]
