"""Explanations: each broken variant's violation is blamed on a node running it,
by the rule that variant breaks; correct runs break no rule; same seed, same words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from replog_support import run_named

from paxossim import protocols
from paxossim.analysis.account import account
from paxossim.checks.explain import CausalLog, explain, mentions, signature
from paxossim.plots.sequence import write_space_time
from paxossim.protocols.paxos.safety_rules import PaxosRules
from paxossim.protocols.quorums import Quorums
from paxossim.protocols.rulebook import History
from paxossim.runs import RunResult

# (protocol, variant): bundled scenario, seed, top-level changes, the rules that
# variant breaks. Per-node variants where one buggy node suffices, so that
# "the culprit runs the variant" is a real test.
CASES: dict[tuple[str, str], tuple[str, int, dict[str, Any], set[str]]] = {
    ("paxos", "forget-promise-on-restart"): (
        "forgetful_acceptor", 1, {"variants": {"A2": "forget-promise-on-restart"}},
        {"promise-survives-restart"}),
    ("paxos", "ignore-accepted-values"): (
        "forgetful_acceptor", 1, {"variants": {"P2": "ignore-accepted-values"}},
        {"adopt-highest-accepted"}),
    ("paxos", "accept-below-promise"): (
        "dueling_proposers", 6, {"variants": {"A3": "accept-below-promise"}},
        {"no-accept-below-promise"}),
    ("paxos", "quorum-one-short"): (
        "dueling_proposers", 13, {"variants": {"P1": "quorum-one-short"}},
        {"phase1-quorum", "learn-from-quorum"}),
    ("paxos", "mixed-ballot-learner"): (
        "dueling_proposers", 19, {"variants": {"L1": "mixed-ballot-learner"}},
        {"learn-from-quorum"}),
    ("p2p", "ignore-accepted-values"): (
        "peer_to_peer_lossy", 4, {"variants": {"r2": "ignore-accepted-values"}},
        {"adopt-highest-accepted"}),
    ("multipaxos", "stale-read-leader"): (
        "leader_partitioned", 1, {"variants": {"r1": "stale-read-leader"}}, {"reply-from-log"}),
    ("leader_write", "overwrite"): ("leader_write_buggy_replica", 1, {}, {"vote-once"}),
    ("pbft", "skip-prepare"): (
        "pbft_primary_crash", 1, {"variant": "skip-prepare"}, {"prepared-on-2f-prepares"}),
    ("pbft", "view-change-without-certificates"): (
        "pbft_primary_crash", 1, {"variant": "view-change-without-certificates"},
        {"view-change-keeps-certificates"}),
    ("pbft", "commit-quorum-2f"): (
        "pbft_equivocating_primary", 1,
        {"variant": "commit-quorum-2f", "variants": {"r0": "equivocating-primary"}},
        {"prepared-on-2f-prepares", "committed-on-2f+1-commits"}),
    ("pbft", "pre-prepare-from-anyone"): (
        "pbft_impostor", 1,
        {"variants": {"r0": "pre-prepare-from-anyone", "r1": "pre-prepare-from-anyone",
                      "r3": "impostor-primary"}},
        {"pre-prepare-from-primary"}),
    ("raft", "forget-vote-on-restart"): (
        "raft_vote_restart", 1, {"variants": {"S3": "forget-vote-on-restart"}},
        {"vote-once-per-term"}),
    ("raft", "no-up-to-date-check"): (
        "raft_leader_crash", 4,
        {"variants": {"S2": "no-up-to-date-check", "S3": "no-up-to-date-check"}},
        {"vote-for-up-to-date-log"}),
    ("raft", "commit-old-term-by-count"): (
        "raft_figure8", 1, {"variants": {"S1": "commit-old-term-by-count"}},
        {"commit-current-term-only"}),
    ("raft", "no-truncate-on-conflict"): (
        "raft_stale_suffix", 1, {"variants": {"S2": "no-truncate-on-conflict"}},
        {"truncate-on-conflict"}),
    ("raft", "stale-read-leader"): (
        "raft_partitioned_leader", 1, {"variants": {"S1": "stale-read-leader"}},
        {"reply-from-log"}),
}

CORRECT = [("forgetful_acceptor", 1), ("dueling_proposers", 2), ("acceptor_crash_recovery", 3),
           ("peer_to_peer_lossy", 4), ("leader_failover", 1), ("leader_write", 1),
           ("pbft_primary_crash", 1), ("pbft_impostor", 1),
           ("raft_vote_restart", 1), ("raft_figure8", 1),
           ("raft_stale_suffix", 1), ("raft_leader_crash", 4)]


def variant_of(result: RunResult, node: str) -> str:
    scenario = result.header["scenario"]
    return scenario.get("variants", {}).get(node, scenario["variant"])


def test_every_broken_variant_has_a_case() -> None:
    broken = {(name, variant) for name in protocols.names()
              for variant, spec in protocols.get(name).variants.items()
              if variant != "correct" and not spec.byzantine}
    assert broken == set(CASES)


@pytest.mark.parametrize("key", sorted(CASES), ids=["/".join(key) for key in sorted(CASES)])
def test_a_broken_variant_is_blamed_on_a_node_running_it(key: tuple[str, str]) -> None:
    name, seed, top, rules = CASES[key]
    result = run_named(name, seed, top=top)
    violations = result.summary["safety"]["violations"]
    assert violations, "the case must fail"
    explained = [v for v in violations if "explanation" in v]
    assert explained and explained[0] is violations[0]
    for violation in explained:
        explanation = violation["explanation"]
        assert violation["rule"] == explanation["rule"] in rules, explanation["sentence"]
        culprit = explanation["culprit"]
        assert variant_of(result, culprit["node"]) == key[1]
        assert explanation["sentence"].startswith(culprit["node"] + " ")
        # From the culprit to the violation; for a protocol check's violation
        # (linearizability, prefix), from the first cause through it.
        assert culprit["pos"] in explanation["chain"]
        assert result.events[culprit["pos"]]["t"] == culprit["t"]
        assert list(explanation["chain"]) == sorted(explanation["chain"])


def test_more_byzantine_nodes_than_tolerated_are_named_not_blamed_on_a_rule() -> None:
    result = run_named("pbft_f_plus_one")
    explanation = result.summary["safety"]["violations"][0]["explanation"]
    assert explanation["rule"] == "" and explanation["culprit"] is None
    assert "no honest node broke a rule of pbft" in explanation["sentence"]
    assert "r0, r3" in explanation["sentence"]


@pytest.mark.parametrize(("name", "seed"), CORRECT)
def test_a_correct_run_breaks_no_rule_and_has_no_explanation(name: str, seed: int) -> None:
    result = run_named(name, seed)
    assert result.safe
    log = CausalLog(result.header)
    log.read(result.iter_events())
    assert log.breaches == {}


def test_the_same_log_gives_the_same_explanation_and_runs_repeat_it() -> None:
    top = CASES[("paxos", "forget-promise-on-restart")][2]
    first, second = (run_named("forgetful_acceptor", 1, top=top) for _ in range(2))
    assert first.summary["safety"] == second.summary["safety"]
    again = explain(first.header, first.iter_events(), first.summary["safety"]["violations"])
    assert [e.to_dict() if e else None for e in again] == [
        v["explanation"] for v in first.summary["safety"]["violations"]]


def test_the_forgotten_vote_is_told_in_paxos_words() -> None:
    top = CASES[("paxos", "forget-promise-on-restart")][2]
    result = run_named("forgetful_acceptor", 1, top=top)
    explanation = result.summary["safety"]["violations"][0]["explanation"]
    assert explanation["sentence"] == (
        'A2 promised (1,P2) at t=70 reporting no vote, though it accepted "x" at (1,P1) at '
        "t=30; it restarted at t=50 and had forgotten its vote (it was not in durable storage)")
    cited = [result.events[pos]["ev"] for pos in explanation["evidence"]]
    assert cited == ["paxos.accepted", "recover"]
    lines = account(result.summary, result.header, result.iter_events())
    assert f"    why: {explanation['sentence']}" in lines
    assert sum(line.startswith("    rule broken: promise-survives-restart") for line in lines) == 1


def test_the_diagram_rings_the_culprit(tmp_path: Path) -> None:
    result = run_named("leader_write_buggy_replica", 1)
    violations = result.summary["safety"]["violations"]
    path = write_space_time(result.header, result.events, tmp_path / "s.png", violations)
    assert path.stat().st_size > 10_000


def test_signature_is_the_invariant_and_the_rule() -> None:
    assert signature({"invariant": "agreement", "rule": "vote-once"}) == ("agreement",
                                                                         "vote-once")
    assert signature({"invariant": "prefix"}) == ("prefix", "")


def test_a_subject_is_matched_as_a_whole_word() -> None:
    assert mentions("get(k0) -> 'x' [c1#17, invoked t=3]", "c1#17")
    assert not mentions("get(k0) -> 'x' [c1#17, invoked t=3]", "c1#1")
    assert not mentions("anything", "")


def history(*events: dict[str, Any]) -> History:
    past = History("A1", Quorums.of(["A1", "A2", "A3"], None, None),
                   {"ballot_format": "number"})
    for pos, event in enumerate(events):
        past.append(event | {"pos": pos})
    return past


def test_the_promise_rule_tells_a_restart_from_a_plain_breach() -> None:
    rules = PaxosRules("paxos", None, None)
    promised = {"ev": "paxos.promised", "t": 5.0, "ballot": [2, "P2"]}
    accept = {"ev": "paxos.accepted", "t": 9.0, "ballot": [1, "P1"], "value": "x", "pos": 9}
    plain = history(promised)
    assert rules.below_promise(accept, plain) is not None
    assert rules.survives_restart(accept, plain) is None
    restarted = history(promised, {"ev": "recover", "t": 7.0, "amnesia": False})
    assert rules.below_promise(accept, restarted) is None
    breach = rules.survives_restart(accept, restarted)
    assert breach is not None and "restarted at t=7" in breach.text
    assert rules.below_promise(accept | {"ballot": [2, "P2"]}, plain) is None
