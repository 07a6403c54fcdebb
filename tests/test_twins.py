"""Twins: a node run as two copies of correct code under one identity.

The routing is unit-tested on its own; whole runs show that the copies are
hosts of their own (timers, storage, random stream), that runs are
deterministic and replay, that one twinned replica leaves PBFT safe (f = 1)
while two break it (the bound is tight), that a crash-fault protocol breaks
with a single twin, and that ``explore --swarm-twins`` draws placements per seed.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import slow_scale
from replog_support import SCENARIOS, raw_scenario, run_raw

from paxossim.cli import main
from paxossim.errors import UserError
from paxossim.experiments.explore import explore
from paxossim.experiments.swarm_twins import twin_overrides
from paxossim.log.files import scan_log
from paxossim.log.replay import resimulate
from paxossim.runs import execute
from paxossim.scenario.model import load_scenario, scenario_from_dict, scenario_to_dict
from paxossim.scenario.twins import TwinsSpec
from paxossim.sim.twins import TwinRoutes


def routes(*groups: tuple[str, ...]) -> TwinRoutes:
    table = TwinRoutes(TwinsSpec(nodes=("r1",)))
    table.set_phase(groups)
    return table


def test_a_message_reaches_each_copy_its_sender_shares_a_group_with() -> None:
    table = routes(("r0", "r1"), ("r1#2", "r2"))
    assert table.targets("r0", "r1") == ["r1"]
    assert table.targets("r2", "r1") == ["r1#2"]
    assert table.targets("c1", "r1") == ["r1", "r1#2"]  # unlisted: talks to all
    assert table.targets("r0", "r2") == []  # the phase cuts non-twins apart too
    assert table.targets("r1#2", "r2") == ["r2"]
    assert table.targets("r1#2", "r1") == ["r1#2"]  # to itself, not to its twin
    table.set_phase(())
    assert table.targets("r0", "r1") == ["r1", "r1#2"]


def twins_scenario(name: str, **twins: Any) -> dict[str, Any]:
    raw = raw_scenario(name)
    raw["twins"] = twins
    return raw


def test_a_twinned_node_is_byzantine_and_survives_the_round_trip() -> None:
    scenario = scenario_from_dict(raw_scenario("pbft_twins"))
    assert scenario.byzantine == ("r0",)
    again = scenario_from_dict(copy.deepcopy(scenario_to_dict(scenario)))
    assert again.twins == scenario.twins and again.byzantine == scenario.byzantine


@pytest.mark.parametrize(("twins", "message"), [
    ({"nodes": ["r9"]}, "twins.nodes: no node named 'r9'"),
    ({"nodes": ["r0"], "phases": [{"at": 0, "groups": [["r1#2"]]}]},
     "twins.phases[0].groups: no node or copy named 'r1#2'"),
    ({"nodes": ["r0"], "phases": [{"at": 5, "groups": [["r0"]]},
                                  {"at": 5, "groups": [["r1"]]}]},
     "twins.phases[1].at: phases must be in increasing time order"),
    ({"nodes": ["r0"], "phases": [{"at": 0, "groups": []}]},
     "twins.phases[0].groups: must be a list of non-empty lists"),
    ({"nodes": ["r0"], "phases": [{"at": 0, "groups": [["r0"]], "gropus": 1}]},
     "twins.phases[0]"),
])
def test_bad_twins_tables_are_one_line_errors(twins: dict[str, Any], message: str) -> None:
    with pytest.raises(UserError, match=re.escape(message)):
        scenario_from_dict(twins_scenario("pbft_normal", **twins))


def test_a_phase_after_the_heal_is_refused() -> None:
    raw = raw_scenario("pbft_twins")
    raw["twins"]["phases"][-1]["at"] = raw["liveness"]["heal_at"]
    message = "twins.phases[2] at 700.0 is not before heal_at"
    with pytest.raises(UserError, match=re.escape(message)):
        scenario_from_dict(raw)


def test_the_cli_reports_a_bad_twin_in_one_line_with_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["run", "pbft_normal", "--no-plots", "--out",
                                       str(tmp_path), "--set", 'twins.nodes=["r7"]'])
    assert result.exit_code == 2
    assert "twins.nodes: no node named 'r7'" in result.output
    assert "Traceback" not in result.output


def test_same_seed_same_log_and_the_log_replays(tmp_path: Path) -> None:
    scenario = load_scenario(SCENARIOS / "pbft_twins.toml")
    first, second = execute(scenario, 4), execute(scenario, 4)
    assert first.lines == second.lines
    assert execute(scenario, 5).lines != first.lines
    execute(scenario, 4, log_path=tmp_path / "events.jsonl")
    comparison = resimulate(scan_log(tmp_path / "events.jsonl"))
    assert comparison.difference is None and comparison.count == len(first.lines)


def test_the_copies_are_hosts_of_their_own() -> None:
    """Both copies boot, arm timers and write storage; the second copy's events say
    so; messages name the copies they leave and reach; phases are logged."""
    result = execute(load_scenario(SCENARIOS / "pbft_twins.toml"), 1)
    events = result.events
    copies = {e.get("copy") for e in events if e.get("node") == "r0"}
    assert copies == {None, "r0#2"}
    for kind in ("timer_set", "store", "pbft.elected"):
        assert {e.get("copy") for e in events if e["ev"] == kind and e["node"] == "r0"} \
            == {None, "r0#2"}, kind
    sends = [e for e in events if e["ev"] == "send"]
    assert any(e.get("src_copy") == "r0#2" and e["src"] == "r0" for e in sends)
    assert any(e.get("dst_copy") == "r0#2" and e["dst"] == "r0" for e in sends)
    assert all("copy" not in e for e in events if e.get("node") != "r0")
    phases = [(e["t"], e["index"]) for e in events if e["ev"] == "twin_phase"]
    assert phases == [(0.0, 0), (300.0, 1), (500.0, 2), (700.0, "heal")]
    dropped = {e["m"] for e in events if e["ev"] == "drop" and e["why"] == "twins"}
    assert dropped  # the phases cut some messages


def test_adding_a_twin_leaves_the_original_s_random_stream_alone() -> None:
    """The copy draws from ``node:r0#2``: the first copy's draws are the node's own."""
    from paxossim.rng import Streams
    from paxossim.sim.runtime import Simulation

    raw = raw_scenario("pbft_twins")
    sim = Simulation(scenario_from_dict(raw), 3)
    plain = Streams(3)
    assert sim.hosts["r0"].rng.random() == plain.stream("node:r0").random()
    assert sim.hosts["r0#2"].rng.random() == plain.stream("node:r0#2").random()


def pre_prepares(events: list[dict[str, Any]]) -> dict[tuple[int, int], set[str]]:
    """(view, n) -> the requests r0's copies pre-prepared there."""
    found: dict[tuple[int, int], set[str]] = {}
    for e in events:
        if e["ev"] == "pbft.pre_prepare" and e["node"] == "r0":
            found.setdefault((e["view"], e["instance"]), set()).add(e["value"])
    return found


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_one_twinned_replica_leaves_pbft_safe_and_live(seed: int) -> None:
    result = execute(load_scenario(SCENARIOS / "pbft_twins.toml"), seed)
    assert result.safe, result.summary["safety"]["violations"][:2]
    assert result.summary["liveness"]["verdict"] == "ok"


def test_the_twin_equivocates_with_no_attack_code() -> None:
    """What makes the safety test above mean something: r0's copies do pre-prepare
    different requests at one (view, n) in some seed."""
    scenario = load_scenario(SCENARIOS / "pbft_twins.toml")
    assert any(len(values) > 1 for seed in (1, 2, 3)
               for values in pre_prepares(execute(scenario, seed).events).values())


def test_two_twinned_replicas_break_pbft_at_n_4() -> None:
    result = execute(load_scenario(SCENARIOS / "pbft_twins_f_plus_one.toml"))
    assert not result.safe
    invariants = {v["invariant"] for v in result.summary["safety"]["violations"]}
    assert {"agreement", "prefix"} <= invariants
    assert len(pre_prepares(result.events)) < sum(
        len(v) for v in pre_prepares(result.events).values())


def test_the_same_phases_with_one_twin_stay_safe() -> None:
    """The violation needs both twins: untwin r1 and the run is safe."""
    raw = raw_scenario("pbft_twins_f_plus_one")
    raw["twins"] = {"nodes": ["r0"], "phases": [
        {"at": 0.0, "groups": [["r0", "r1", "r2"], ["r0#2", "r3"]]}]}
    assert run_raw(raw, 1).safe


def test_multi_paxos_runs_with_a_twin_and_the_checks_catch_what_follows() -> None:
    """A crash-fault protocol is not built for a Byzantine acceptor: with r4 twinned
    and the phase {r1, r4, r5} | {r2, r3, r4#2}, each side holds a majority (3 of 5)
    and elects its own leader; the honest learners disagree."""
    raw = raw_scenario("replicated_cluster")
    raw["twins"] = {"nodes": ["r4"], "phases": [
        {"at": 0.0, "groups": [["r1", "r4", "r5", "c2"], ["r2", "r3", "r4#2", "c1", "c3"]]}]}
    raw["horizon"] = 1000.0
    result = run_raw(raw, 16)
    assert not result.safe
    assert "agreement" in {v["invariant"] for v in result.summary["safety"]["violations"]}
    raw["twins"]["phases"] = []  # both copies hear everything: they stay in step
    assert run_raw(raw, 16).safe


def test_swarm_twins_draws_are_per_seed_and_valid() -> None:
    scenario = load_scenario(SCENARIOS / "pbft_twins.toml")
    assert twin_overrides(7, scenario, 2) == twin_overrides(7, scenario, 2)
    drawn = {twin_overrides(seed, scenario, 1) for seed in range(1, 40)}
    assert len(drawn) > 30
    for sets in drawn:
        placed = load_scenario(SCENARIOS / "pbft_twins.toml", sets)
        assert len(placed.twins.nodes) == 1 and placed.twins.phases[0].at == 0.0
        assert all(p.at < 700.0 for p in placed.twins.phases)  # before the heal
    with pytest.raises(UserError, match="--swarm-twins"):
        twin_overrides(1, scenario, 5)


def test_explore_with_swarm_twins_is_deterministic_and_finds_the_bound(
        tmp_path: Path) -> None:
    """One twin never fails PBFT; two twins do, for some seeds; the outcomes do not
    depend on the worker count, and each failure's overrides reproduce it."""
    path = SCENARIOS / "pbft_twins_f_plus_one.toml"
    one = explore(path, range(1, 7), twins=2, workers=1, out_dir=tmp_path / "a")
    two = explore(path, range(1, 7), twins=2, workers=2, out_dir=tmp_path / "b")
    assert [(o.seed, o.overrides, o.safe) for o in one] == \
        [(o.seed, o.overrides, o.safe) for o in two]
    failed = [o for o in one if not o.safe]
    assert failed
    again = execute(load_scenario(path, failed[0].overrides), failed[0].seed)
    assert not again.safe
    single = explore(path, range(1, 7), twins=1, out_dir=tmp_path / "c")
    assert all(o.safe for o in single)


def test_explore_cli_prints_the_twin_overrides(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["explore", "pbft_twins_f_plus_one", "--seeds", "6..6",
                                       "--swarm-twins", "2", "--out", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert "--set 'twins.nodes=[" in result.output


def test_a_copy_has_a_lifeline_of_its_own_in_the_diagrams() -> None:
    from paxossim.plots.sequence import lifelines, mermaid, traces

    result = execute(load_scenario(SCENARIOS / "pbft_twins.toml"), 1)
    drawn = traces(result.events)
    assert lifelines(result.header["scenario"], drawn)[:3] == ["r0", "r0#2", "r1"]
    assert any(t.src == "r0#2" for t in drawn) and any(t.dst == "r0#2" for t in drawn)
    assert "participant n1 as r0#35;2" in mermaid(result.header, result.events)


def test_a_crash_takes_both_copies_down_and_a_recovery_boots_both() -> None:
    raw = raw_scenario("pbft_twins")
    raw["faults"] = {"crashes": [{"node": "r0", "at": 100.0, "recover": 200.0}]}
    events = run_raw(raw, 1).events
    assert [(e["ev"], e["t"]) for e in events if e["ev"] in ("crash", "recover")] == \
        [("crash", 100.0), ("recover", 200.0)]
    elected = {e.get("copy") for e in events if e["ev"] == "pbft.elected"
               and e["node"] == "r0" and e["t"] == 200.0}
    assert elected == {None, "r0#2"}  # both copies booted again
    quiet = [e for e in events if e.get("node") == "r0" and 100.0 < e["t"] < 200.0]
    assert quiet == []


def test_twin_phases_are_schedule_items_that_round_trip() -> None:
    from paxossim.scenario.schedule import Schedule, TwinPhase, draw_schedule

    scenario = load_scenario(SCENARIOS / "pbft_twins.toml")
    schedule = draw_schedule(scenario, 1)
    phases = [item for item in schedule.items if isinstance(item, TwinPhase)]
    assert [(p.at, p.index) for p in phases] == [(0.0, 0), (300.0, 1), (500.0, 2)]
    assert Schedule.from_data(schedule.to_data()) == schedule
    plain = load_scenario(SCENARIOS / "pbft_normal.toml")
    with pytest.raises(UserError, match="the scenario twins no node"):
        schedule.check(plain)


@pytest.mark.slow
def test_pbft_survives_1000_drawn_single_twin_placements(tmp_path: Path) -> None:
    """Safety only: a drawn phase may leave an honest replica in a view change of its
    own while the rest commit with the twin, which the generic liveness rule (2f+1
    honest commits) does not count although every command is answered."""
    seeds = range(50_000, 50_000 + max(1, int(1000 * slow_scale())))
    outcomes = explore(SCENARIOS / "pbft_twins.toml", seeds, twins=1, workers=2,
                       out_dir=tmp_path)
    assert [(o.seed, o.problem) for o in outcomes if not o.safe or o.liveness == "error"] \
        == []


def test_shrink_keeps_the_twin_phases_as_schedule_items(tmp_path: Path) -> None:
    """explicit() moves the phases into [schedule] (twins.phases emptied, or the
    scenario would have two sources of phases); the shrunk run fails the same way."""
    from paxossim.experiments.origin import load_origin
    from paxossim.experiments.shrink import shrink

    result = shrink(load_origin("paxossim run pbft_twins_f_plus_one --seed 1"), tmp_path,
                    render=False)
    shrunk = load_scenario(tmp_path / "shrunk.toml")
    assert shrunk.twins.nodes == ("r0", "r1") and shrunk.twins.phases == ()
    assert shrunk.schedule is not None
    assert [item.KIND for item in shrunk.schedule.items] == ["twin_phase"]
    assert not execute(shrunk).safe
    assert result.after.nodes <= result.before.nodes


def test_a_scenario_with_a_schedule_refuses_twin_phases_too() -> None:
    raw = raw_scenario("pbft_twins")
    raw["schedule"] = {"items": [], "overrides": []}
    raw.pop("liveness")
    with pytest.raises(UserError, match=re.escape("remove twins.phases")):
        scenario_from_dict(raw)


def test_removing_a_twinned_node_takes_its_copy_out_of_the_phases() -> None:
    from paxossim.experiments.shrink import without_node

    raw = {"nodes": {"r0": [], "r1": []}, "network": {"links": {}, "delays": []},
           "byzantine": ["r0"], "twins": {"nodes": ["r0"], "phases": []},
           "schedule": {"items": [
               {"kind": "twin_phase", "at": 0.0, "index": 0,
                "routes": [["r0", "r1"], ["r0#2"]]},
               {"kind": "twin_phase", "at": 5.0, "index": 1, "routes": [["r0#2"]]}]}}
    new = without_node(raw, "r0", default_quorums=True)
    assert new["twins"]["nodes"] == [] and new["byzantine"] == []
    assert new["schedule"]["items"] == [
        {"kind": "twin_phase", "at": 0.0, "index": 0, "routes": [["r1"]]}]
