"""The protocol contract: declarations that hold together, generic checks that
distrust nodes, quorums from the scenario, per-node variants, causal events."""

from __future__ import annotations

import string
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers_faults import SCENARIOS

from paxossim import protocols
from paxossim.analysis.account import account
from paxossim.checks.safety import SafetyCheck
from paxossim.cli import main
from paxossim.runs import execute
from paxossim.scenario.model import load_scenario
from paxossim.sim.events import RUNTIME_EVENTS
from paxossim.sim.runtime import Simulation

TESTS = Path(__file__).resolve().parent / "scenarios"


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("name", protocols.names())
def test_every_protocol_declaration_holds_together(name: str) -> None:
    protocol = protocols.get(name)
    kinds = {kind.name: kind for kind in protocol.events}
    assert len(kinds) == len(protocol.events), "an event kind is declared twice"
    for kind in protocol.events:
        used = placeholders(kind.label) | placeholders(kind.mark)
        for field_name, template in kind.details:
            assert field_name in kind.fields
            used |= placeholders(template)
        assert used <= {*kind.fields, "node"}, f"{kind.name}: {used - {*kind.fields, 'node'}}"
    for message in protocol.messages:
        names = {f.name for f in fields(message)}
        used = placeholders(message.LABEL)
        for _field, template in message.DETAILS:
            used |= placeholders(template)
        assert used <= names, f"{message.TYPE}: {used - names}"
    rule = protocol.decision
    assert rule.voters in protocol.roles
    for declared in (rule.vote, rule.learn, *rule.proposals, *rule.allowed):
        assert declared is None or declared in kinds, declared
    assert "correct" in protocol.variants


def feed(check: SafetyCheck, events: list[dict[str, Any]]) -> None:
    for event in events:
        if event["ev"] in check.kinds:
            check.feed(event)


def vote(t: float, node: str, ballot: list[Any], value: str) -> dict[str, Any]:
    return {"t": t, "ev": "paxos.accepted", "node": node, "ballot": ballot, "value": value}


def test_a_byzantine_node_can_never_make_a_value_count() -> None:
    scenario = {"nodes": {"P1": ["proposer"], "A1": ["acceptor"], "A2": ["acceptor"],
                          "A3": ["acceptor"], "L": ["learner"]}}
    events = [
        {"t": 0, "ev": "request", "node": "P1", "value": "x"},
        {"t": 0, "ev": "request", "node": "P1", "value": "y"},
        vote(1, "A1", [1, "P1"], "x"), vote(2, "A2", [1, "P1"], "x"),
        vote(3, "A2", [2, "P1"], "y"), vote(4, "A3", [2, "P1"], "y"),
        {"t": 5, "ev": "paxos.learned", "node": "A1", "value": "x"},
    ]
    trusting = SafetyCheck(scenario, protocols.get("paxos"))
    feed(trusting, events)
    assert [v.invariant for v in trusting.violations] == ["agreement"]
    distrusting = SafetyCheck(scenario | {"byzantine": ["A1"]}, protocols.get("paxos"))
    feed(distrusting, events)
    assert distrusting.violations == []
    first = distrusting.first_choice
    assert first is not None and (first.value, first.time) == ("y", 4)


def test_the_checker_counts_the_scenario_s_phase_2_quorum() -> None:
    scenario = {"nodes": {f"A{i}": ["acceptor"] for i in range(1, 5)},
                "quorums": {"phase1": 3, "phase2": 2}}
    check = SafetyCheck(scenario, protocols.get("paxos"))
    feed(check, [{"t": 0, "ev": "request", "node": "P", "value": "x"},
                 vote(1, "A1", [1, "P"], "x"), vote(1, "A1", [1, "P"], "x")])
    assert check.first_choice is None, "one voter twice is not two votes"
    feed(check, [vote(2, "A2", [1, "P"], "x")])
    assert check.first_choice is not None and check.first_choice.value == "x"


def test_flexible_quorums_are_safe_when_they_intersect_and_caught_when_not() -> None:
    path = SCENARIOS / "flexible_quorums.toml"
    safe = execute(load_scenario(path))
    assert safe.safe and safe.summary["chosen"] is not None
    broken = execute(load_scenario(path, ["quorums.phase1=2"]))
    assert {v["invariant"] for v in broken.summary["safety"]["violations"]} == {"agreement"}
    warned = [line for line in account(broken.summary, broken.header, broken.events)
              if "need not meet" in line]
    assert warned == ["  note: quorums of 2 (phase 1) and 2 (phase 2) out of 4 voters need "
                      "not meet: safety is not guaranteed"]
    assert not [line for line in account(safe.summary, safe.header, safe.events)
                if "need not meet" in line]


def test_a_quorum_larger_than_the_voters_is_one_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["run", str(SCENARIOS / "flexible_quorums.toml"),
                                       "--set", "quorums.phase2=5", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.strip().endswith("quorums.phase2: is 5 but there are only 4 "
                                          "acceptor(s)")
    assert "Traceback" not in result.output


@pytest.mark.parametrize("node, safe", [("A2", False), ("A1", True)])
def test_one_buggy_node_is_a_scenario(node: str, safe: bool) -> None:
    """Only A2 restarts between the phases: a forgetful A2 breaks agreement, a
    forgetful A1 (which never restarts) changes nothing."""
    scenario = load_scenario(TESTS / "restart_between_phases.toml",
                             [f'variants.{node}="forget-promise-on-restart"'])
    assert scenario.variant == "correct" and scenario.variant_of(node) != "correct"
    assert execute(scenario).safe is safe


def test_a_byzantine_node_s_votes_decide_nothing_but_honest_learners_must_agree() -> None:
    """A forgetful A2 gets "v2" and then "v1" chosen. Marked Byzantine, its votes
    count for nothing, so no value was chosen by an honest quorum; the honest
    learner it misled still learned two values, which stays a violation: crash
    fault Paxos does not tolerate a lying acceptor, and the checker says so."""
    sets = ['variants.A2="forget-promise-on-restart"']
    honest = execute(load_scenario(TESTS / "restart_between_phases.toml", sets)).summary
    assert "agreement" in {v["invariant"] for v in honest["safety"]["violations"]}
    assert honest["chosen"] == "v2"
    lying = load_scenario(TESTS / "restart_between_phases.toml", [*sets, 'byzantine=["A2"]'])
    assert lying.byzantine == ("A2",)
    summary = execute(lying).summary
    assert summary["chosen"] is None
    assert [v["invariant"] for v in summary["safety"]["violations"]] == ["integrity"]


def test_a_node_cannot_emit_an_undeclared_event() -> None:
    sim = Simulation(load_scenario(SCENARIOS / "late_arriving_proposal.toml"), 7)
    host = sim.hosts["Acceptor"]
    with pytest.raises(AssertionError, match="undeclared event"):
        host.emit("made_up")
    with pytest.raises(AssertionError, match="undeclared fields"):
        host.emit("accepted", ballot=(1, "P"), value="v", colour="red")


def test_every_event_walks_back_to_the_input_that_caused_it() -> None:
    events = execute(load_scenario(SCENARIOS / "late_arriving_proposal.toml")).events
    kinds = RUNTIME_EVENTS.keys() | protocols.get("paxos").event_kinds().keys()
    assert {e["ev"] for e in events} <= kinds
    learned = next(i for i, e in enumerate(events) if e["ev"] == "paxos.learned")
    chain = [learned]
    while "cause" in events[chain[-1]]:
        assert events[chain[-1]]["cause"] < chain[-1], "a cause comes before its effect"
        chain.append(events[chain[-1]]["cause"])
    root = events[chain[-1]]
    assert (root["ev"], root["value"]) == ("request", "data1")
    walked = [events[i]["ev"] for i in reversed(chain)]
    assert walked[:2] == ["request", "send"] and walked.count("deliver") == 4
    refused = next(e for e in events if e["ev"] == "paxos.refused")
    delivered = events[refused["cause"]]
    sent = events[delivered["cause"]]
    assert (delivered["ev"], sent["src"], sent["type"]) == ("deliver", "Proposer2", "prepare")


def test_timer_and_storage_events_can_be_turned_off_without_changing_the_run() -> None:
    path = SCENARIOS / "dueling_proposers.toml"
    full = execute(load_scenario(path))
    lean = execute(load_scenario(path, ["log.timers=false", "log.storage=false"]))
    full_kinds = {e["ev"] for e in full.events}
    assert {"timer_set", "timer_cancel", "store", "timer"} <= full_kinds
    assert not {"timer_set", "timer_cancel", "store"} & {e["ev"] for e in lean.events}
    dropped = ("timer_set", "timer_cancel", "store")
    def same(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [(e["t"], e["ev"], e.get("node"), e.get("m")) for e in events
                if e["ev"] not in dropped]
    assert same(full.events) == same(lean.events)
    assert full.summary["chosen"] == lean.summary["chosen"]


def test_a_byzantine_node_cannot_make_a_value_valid() -> None:
    """The runtime's request events are inputs and always count; a Byzantine
    node's own proposal events (a forged client request) never do."""
    scenario = {"nodes": {"r1": ["replica"], "r2": ["replica"], "r3": ["replica"],
                          "c1": ["client"]}, "byzantine": ["r1"]}
    check = SafetyCheck(scenario, protocols.get("multipaxos"))
    feed(check, [
        {"t": 0, "ev": "multipaxos.request", "node": "r1", "id": "x", "value": "forged"},
        {"t": 1, "ev": "multipaxos.accepted", "node": "r2", "instance": 0,
         "ballot": [1, "r2"], "value": "forged"},
        {"t": 1, "ev": "multipaxos.accepted", "node": "r3", "instance": 0,
         "ballot": [1, "r2"], "value": "forged"},
    ])
    assert [v.invariant for v in check.violations] == ["validity"]
