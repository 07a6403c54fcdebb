"""The exhaustive search: every broken Basic Paxos variant found with a shortest trace
that `run` replays, correct Paxos passing, the same answer twice, clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT, slow_scale

from paxossim.cli import main
from paxossim.experiments.exhaustive import Bounds, SearchResult, search
from paxossim.experiments.exhaustive_replay import write_replay
from paxossim.protocols.paxos import VARIANTS, PaxosProtocol
from paxossim.scenario.model import load_scenario

ROLES = ROOT / "scenarios" / "check_paxos_roles.toml"
"""2 proposers, 3 acceptors, 1 learner on three nodes."""
SMALL = ROOT / "scenarios" / "check_paxos_small.toml"
"""The same roles on six nodes."""

FAULTS = {"forget-promise-on-restart": Bounds(12, crashes=1),
          "mixed-ballot-learner": Bounds(12, duplicates=1)}
"""The fault a variant needs to go wrong; the others need only a bad order."""
SHORTEST = {"quorum-one-short": 3, "ignore-accepted-values": 8, "accept-below-promise": 8,
            "forget-promise-on-restart": 10, "mixed-ballot-learner": 10}
"""Steps of the shortest violating trace on ROLES (what the search reports today:
a change means the search, or a variant, changed)."""


def searched(path: Path, variant: str, bounds: Bounds) -> SearchResult:
    return search(load_scenario(path, [f'variant="{variant}"']), bounds)


def signature(result: SearchResult) -> tuple[object, ...]:
    """Everything but the time it took."""
    return (result.generated, result.distinct, result.depth, result.complete,
            result.violations, [(step.action, step.node) for step in result.trace])


def test_every_broken_variant_is_covered() -> None:
    assert set(SHORTEST) == set(VARIANTS) - {"correct"}


@pytest.mark.parametrize("variant", sorted(SHORTEST))
def test_each_broken_variant_is_found_with_a_trace_run_replays(variant: str,
                                                               tmp_path: Path) -> None:
    bounds = FAULTS.get(variant, Bounds(12))
    scenario = load_scenario(ROLES, [f'variant="{variant}"'])
    result = search(scenario, bounds)
    assert result.found and len(result.trace) == SHORTEST[variant]
    replayed = write_replay(scenario, result, tmp_path / "trace.toml")
    assert result.violations[0]["invariant"] in {v["invariant"] for v in replayed}
    # The written scenario runs the correct protocol safely: the bug, not the
    # schedule, breaks safety.
    correct = load_scenario(tmp_path / "trace.toml", ['variant="correct"'])
    from paxossim.runs import execute
    assert execute(correct, keep=False).safe


def test_the_trace_found_is_a_shortest_one() -> None:
    found = searched(ROLES, "quorum-one-short", Bounds(10))
    assert len(found.trace) == 3
    # One step less, and breadth first has seen every state that short: none violates.
    shorter = searched(ROLES, "quorum-one-short", Bounds(2))
    assert not shorter.found and shorter.depth == 2


def test_the_same_search_gives_the_same_result_twice() -> None:
    first = searched(ROLES, "forget-promise-on-restart", Bounds(10, crashes=1))
    second = searched(ROLES, "forget-promise-on-restart", Bounds(10, crashes=1))
    assert first.found and signature(first) == signature(second)


def test_correct_paxos_has_no_violation_within_the_bounds() -> None:
    result = searched(ROLES, "correct", Bounds(9, crashes=1))
    assert not result.found and result.depth == 9 and result.distinct > 10_000


def test_six_nodes_find_quorum_one_short() -> None:
    result = searched(SMALL, "quorum-one-short", Bounds(12))
    assert result.found and len(result.trace) == 10


def test_check_command_reports_figures_and_writes_the_trace(tmp_path: Path) -> None:
    out = tmp_path / "trace.toml"
    result = CliRunner().invoke(main, ["check", str(ROLES), "--exhaustive", "--variant",
                                       "ignore-accepted-values", "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert "8 steps" in result.output and "VIOLATION (agreement)" in result.output
    assert "replayed: " in result.output and "the same invariant broken" in result.output
    replay = CliRunner().invoke(main, ["run", str(out), "--no-plots", "--out",
                                       str(tmp_path / "run")])
    assert replay.exit_code == 1 and "safety: VIOLATED" in replay.output
    clean = CliRunner().invoke(main, ["check", str(ROLES), "--exhaustive", "--max-depth", "6"])
    assert clean.exit_code == 0 and "no violation within the bounds" in clean.output
    assert "distinct; depth 6" in clean.output


def test_scripted_faults_are_refused_in_one_line() -> None:
    result = CliRunner().invoke(main, ["check", str(ROLES), "--exhaustive", "--set",
                                       'faults.crashes=[{node="N1", at=5.0}]'])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "--crashes" in result.output


def test_a_node_that_cannot_be_snapshotted_is_refused_in_one_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    build = PaxosProtocol.make_node

    def unsnapshottable(self: PaxosProtocol, *args: object) -> object:
        node = build(self, *args)  # type: ignore[arg-type]
        node.callback = lambda: None  # type: ignore[attr-defined]
        return node

    monkeypatch.setattr(PaxosProtocol, "make_node", unsnapshottable)
    result = CliRunner().invoke(main, ["check", str(ROLES), "--exhaustive"])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "cannot be snapshotted" in result.output and "callback" in result.output


@pytest.mark.slow
def test_correct_paxos_full_state_space() -> None:
    """Without faults the three-node search ends (every reachable state); with one
    crash it is bounded by depth."""
    result = searched(ROLES, "correct", Bounds(40))
    assert result.complete and not result.found
    depth = max(6, int(12 * slow_scale()))
    crashed = searched(ROLES, "correct", Bounds(depth, crashes=1))
    assert not crashed.found


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["ignore-accepted-values", "accept-below-promise"])
def test_six_nodes_find_the_ordering_bugs(variant: str) -> None:
    result = searched(SMALL, variant, Bounds(16))
    assert result.found and len(result.trace) == 14


def test_a_trace_with_a_timer_is_timed_so_that_run_follows_its_order(tmp_path: Path) -> None:
    """The written scenario pins a fired timer to its delay and keeps every message
    in the trace's order: the run's inputs, deliveries and timers come as the trace has them."""
    from paxossim.experiments.exhaustive import Search
    from paxossim.runs import execute

    scenario = load_scenario(ROLES)
    searcher = Search(scenario, Bounds(8))
    state, boot = searcher.initial()
    result = SearchResult(scenario.name, scenario.variant, searcher.bounds, boot=boot)
    # N1 asks, its retry timer fires (it gives up), N2 asks, then two of N1's
    # old prepares and an answer arrive.
    for choose in (("request",), ("timer",), ("request",), ("deliver",), ("deliver",),
                   ("deliver",)):
        action = next(a for a in searcher.actions(state) if a[0] == choose[0])
        state, step = searcher.apply(state, action)
        result.trace.append(step)
    assert write_replay(scenario, result, tmp_path / "t.toml") == []
    run = execute(load_scenario(tmp_path / "t.toml"))
    sent = {e["m"]: (e["src"], e["dst"]) for e in run.events if e["ev"] == "send"}
    # Self-sends are delivered within their step, as in the search.
    order = [(e["ev"], e["node"] if "node" in e else sent[e["m"]][1]) for e in run.events
             if e["ev"] in ("request", "timer")
             or (e["ev"] == "deliver" and len(set(sent[e["m"]])) == 2)]
    expected = [({"request": "request", "timer": "timer", "deliver": "deliver"}[s.action[0]],
                 s.node) for s in result.trace]
    assert order == expected
    timer = next(e for e in run.events if e["ev"] == "timer")
    request = next(e for e in run.events if e["ev"] == "request")
    assert timer["t"] - request["t"] == scenario.options.retry_timeout


def test_a_state_limit_stops_the_search_and_says_so() -> None:
    result = CliRunner().invoke(main, ["check", str(SMALL), "--exhaustive", "--max-states",
                                       "50"])
    assert result.exit_code == 0 and "before the state limit" in result.output


def test_an_order_the_timer_delays_forbid_cannot_be_written() -> None:
    """Both proposers arm a 100 ms retry timer, N1 first: no real run fires N2's first."""
    from paxossim.experiments.exhaustive import Search
    from paxossim.experiments.exhaustive_replay import Untimeable, time_trace

    scenario = load_scenario(ROLES)
    searcher = Search(scenario, Bounds(8))
    state, boot = searcher.initial()
    result = SearchResult(scenario.name, scenario.variant, searcher.bounds, boot=boot)
    for action in (("request", 0), ("request", 1), ("timer", 1, "retry"), ("timer", 0, "retry")):
        assert action in searcher.actions(state)
        state, step = searcher.apply(state, action)
        result.trace.append(step)
    with pytest.raises(Untimeable):
        time_trace(result)
    result.trace[2:] = reversed(result.trace[2:])
    times, _ = time_trace(result)
    assert times[3] - times[1] == times[4] - times[2] == scenario.options.retry_timeout


def test_the_engine_knows_no_protocol_by_name(tmp_path: Path) -> None:
    """Through the contract alone: leader_write's one buggy replica is found and
    replayed, and PBFT (with a lying primary) searches without a violation."""
    scenario = load_scenario(ROOT / "scenarios" / "leader_write_buggy_replica.toml")
    result = search(scenario, Bounds(10))
    assert result.found and len(result.trace) == 6
    replayed = write_replay(scenario, result, tmp_path / "trace.toml")
    assert "agreement" in {v["invariant"] for v in replayed}
    pbft = search(load_scenario(ROOT / "scenarios" / "pbft_equivocating_primary.toml"),
                  Bounds(4))
    assert not pbft.found and pbft.distinct > 100


def test_replies_to_a_requests_client_are_dropped_as_the_runtime_drops_them(
    tmp_path: Path,
) -> None:
    """A Multi-Paxos leader answers the [[requests]] client, which is no node: the
    search used to fail with KeyError: 'client'."""
    scenario = tmp_path / "mp.toml"
    scenario.write_text('name = "mp"\nprotocol = "multipaxos"\nhorizon = 1000.0\n'
                        '[nodes]\nr1 = ["replica"]\nr2 = ["replica"]\nr3 = ["replica"]\n'
                        '[[requests]]\nnode = "r1"\nvalue = "a|put|x|1"\nat = 0.0\n')
    result = CliRunner().invoke(main, ["check", str(scenario), "--exhaustive",
                                       "--max-depth", "7"])
    assert result.exit_code == 0, result.output
    assert "no violation within the bounds" in result.output
