"""Raft's rules: each broken variant is told in the paper's words, correct Raft
under random faults breaks none, and each rule tells the safe case from the breach."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import slow_scale
from replog_support import SCENARIOS, raw_scenario, run_named, run_raw
from test_explain import CASES

from paxossim.checks.explain import CausalLog
from paxossim.experiments.explore import crashable, swarm_overrides, time_scale
from paxossim.protocols.quorums import Quorums
from paxossim.protocols.raft.safety_rules import (
    commit_current_term,
    reply_from_log,
    truncates_suffix,
    up_to_date,
    vote_once,
)
from paxossim.protocols.rulebook import History
from paxossim.runs import RunResult
from paxossim.scenario.model import apply_override

SERVERS = ["S1", "S2", "S3", "S4", "S5"]


def run_case(variant: str) -> RunResult:
    name, seed, top, _ = CASES[("raft", variant)]
    return run_named(name, seed, top=top)


def test_a_forgotten_vote_is_told_in_raft_words() -> None:
    result = run_case("forget-vote-on-restart")
    explanation = result.summary["safety"]["violations"][0]["explanation"]
    assert explanation["sentence"] == (
        "S3 voted for S2 in term 1 at t=174 though it had voted for S1 in term 1 at t=160; "
        "it restarted at t=172 and had forgotten that vote (votedFor is persistent state)")
    assert [result.events[pos]["ev"] for pos in explanation["evidence"]] == [
        "raft.voted", "recover"]


def test_each_raft_explanation_repeats_for_the_same_seed() -> None:
    for variant in ("no-up-to-date-check", "commit-old-term-by-count", "no-truncate-on-conflict"):
        first, second = run_case(variant), run_case(variant)
        assert first.summary["safety"] == second.summary["safety"]


def swarm_breaches(seeds: range) -> dict[int, list[str]]:
    """Per seed of ``raft_cluster --swarm`` that is unsafe or breaks a rule: what went wrong."""
    found: dict[int, list[str]] = {}
    path = str(SCENARIOS / "raft_cluster.toml")
    for seed in seeds:
        raw = raw_scenario("raft_cluster")
        for assignment in swarm_overrides(seed, crashable(raw), time_scale(raw, path)):
            apply_override(raw, assignment)
        result = run_raw(raw, seed)
        log = CausalLog(result.header)
        log.read(result.iter_events())
        if log.breaches or not result.safe:
            found[seed] = [breach.text for _, breach in log.breaches.values()] or ["unsafe"]
    return found


def test_correct_raft_under_random_faults_breaks_no_rule() -> None:
    assert swarm_breaches(range(1, 11)) == {}


@pytest.mark.slow
def test_correct_raft_under_50_random_fault_seeds_breaks_no_rule() -> None:
    assert swarm_breaches(range(11, 11 + max(1, int(50 * slow_scale())))) == {}


# -- each rule on hand-made histories ----------------------------------------


def history(*events: dict[str, Any], node: str = "S1") -> History:
    past = History(node, Quorums.of(SERVERS), {"protocol": "raft", "ballot_format": "number"})
    for pos, event in enumerate(events):
        past.append({"t": float(pos)} | event | {"pos": pos})
    return past


def voted(term: int, candidate: str, **extra: Any) -> dict[str, Any]:
    return {"ev": "raft.voted", "term": term, "candidate": candidate} | extra


def test_a_vote_once_per_term_counts_the_candidate_s_own_vote() -> None:
    campaigned = history({"ev": "raft.campaign", "term": 2})
    breach = vote_once(voted(2, "S2", t=9.0, pos=9), campaigned)
    assert breach is not None and "had voted for S1 in term 2" in breach.text
    assert "restarted" not in breach.text
    assert vote_once(voted(3, "S2", t=9.0, pos=9), campaigned) is None
    assert vote_once(voted(2, "S2", t=9.0, pos=9), history(voted(2, "S2"))) is None


def test_a_vote_goes_to_a_log_at_least_as_up_to_date() -> None:
    def request(last_term: int, last_index: int) -> dict[str, Any]:
        return {"ev": "deliver", "type": "request_vote", "src": "S2",
                "msg": {"term": 3, "last_log_term": last_term, "last_log_index": last_index}}

    mine = {"last_log_term": 2, "last_log_index": 4, "t": 9.0, "pos": 9, "cause": 0}
    for theirs, ok in (((2, 4), True), ((3, 0), True), ((2, 3), False), ((1, 9), False)):
        breach = up_to_date(voted(3, "S2", **mine), history(request(*theirs)))
        assert (breach is None) == ok, theirs


def test_a_leader_commits_by_count_only_an_entry_of_its_term() -> None:
    def ack(src: str, match: int) -> dict[str, Any]:
        return {"ev": "deliver", "type": "append_entries_reply", "src": src,
                "msg": {"term": 3, "success": True, "match_index": match}}

    elected = {"ev": "raft.elected", "term": 3}
    learned = {"ev": "raft.learned", "instance": 0, "value": "x", "t": 9.0, "pos": 9}
    old = history(elected, ack("S2", 0), ack("S3", 0))
    breach = commit_current_term(learned, old)
    assert breach is not None and "(S1, S2, S3)" in breach.text
    own = {"ev": "raft.accepted", "instance": 1, "term": 3, "value": "y"}
    assert commit_current_term(learned, history(elected, own, ack("S2", 1), ack("S3", 1))) is None
    assert commit_current_term(learned, history(elected, own, ack("S2", 1))) is not None
    assert commit_current_term(learned, history(elected, {"ev": "raft.deposed",
                                                          "term": 3})) is None


def test_a_conflict_deletes_the_whole_suffix() -> None:
    def truncated(count: int) -> dict[str, Any]:
        return {"ev": "raft.truncated", "instance": 1, "count": count, "term": 1,
                "last_log_index": 3, "t": 9.0, "pos": 9}

    assert truncates_suffix(truncated(3), history()) is None
    breach = truncates_suffix(truncated(1), history())
    assert breach is not None and "kept the 2 entr(ies)" in breach.text


def test_a_read_index_reply_needs_a_majority_after_the_read_arrived() -> None:
    submit = {"ev": "deliver", "type": "submit", "src": "c1", "msg": {"command": "c1#1|get|k"}}
    beat = {"ev": "send", "type": "append_entries", "msg": {"term": 2, "read_seq": 1}}

    def ack(src: str, seq: int) -> dict[str, Any]:
        return {"ev": "deliver", "type": "append_entries_reply", "src": src,
                "msg": {"term": 2, "success": True, "match_index": 0, "read_seq": seq}}

    reply = {"ev": "send", "type": "reply", "msg": {"id": "c1#1", "ok": True, "result": None},
             "t": 9.0, "pos": 9}
    assert reply_from_log(reply, history(submit, beat, ack("S2", 1), ack("S3", 1))) is None
    for short in (history(submit, beat, ack("S2", 1), ack("S3", 0)),
                  history(ack("S2", 1), ack("S3", 1), submit, beat),
                  history(submit, ack("S2", 1), ack("S3", 1))):
        breach = reply_from_log(reply, short)
        assert breach is not None and "answered c1#1" in breach.text
    applied = {"ev": "raft.applied", "instance": 0, "value": "c1#1|get|k"}
    assert reply_from_log(reply, history(applied)) is None
