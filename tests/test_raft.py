"""Raft: hand-fed servers (the paper's rules one by one), bundled scenarios, the
broken variants caught by the generic checks, and determinism."""

from __future__ import annotations

import pytest
from fakes import FakeContext
from replog_support import of_kind, raw_scenario, run_named, run_raw

from paxossim.protocols.quorums import Quorums
from paxossim.protocols.raft.messages import (
    AppendEntriesReply,
    RequestVote,
    RequestVoteReply,
    append_entries,
)
from paxossim.protocols.raft.options import RaftOptions, draw_latency
from paxossim.protocols.raft.server import CANDIDATE, FOLLOWER, LEADER, Cluster, Server
from paxossim.protocols.raft.variants import VARIANTS
from paxossim.protocols.replicated import NOOP, Reply, Submit
from paxossim.rng import Stream
from paxossim.scenario.latency import LatencySpec

SERVERS = ("S1", "S2", "S3", "S4", "S5")


def server(node: str = "S1", variant: str = "correct", options: RaftOptions | None = None,
           ctx: FakeContext | None = None) -> tuple[Server, FakeContext]:
    ctx = ctx or FakeContext(node)
    cluster = Cluster(SERVERS, Quorums.of(SERVERS), options or RaftOptions(leader_noop=False))
    node_ = VARIANTS[variant].server(ctx, cluster)
    node_.on_start()
    return node_, ctx


def events(ctx: FakeContext, kind: str) -> list[dict]:
    return [e for e in ctx.events if e["ev"] == kind]


def lead(node: Server, ctx: FakeContext) -> None:
    """Drive a server through an election it wins (votes from S2 and S3)."""
    node.on_timer("election")
    term = node.current_term
    node.on_message("S2", RequestVoteReply(term, True))
    node.on_message("S3", RequestVoteReply(term, True))
    assert node.role == LEADER
    ctx.take()


# -- elections ------------------------------------------------------------------


def test_a_timeout_starts_an_election_with_a_higher_term_and_a_vote_for_itself() -> None:
    node, ctx = server()
    assert 150 <= ctx.timers["election"] <= 300
    node.on_timer("election")
    assert (node.role, node.current_term, node.voted_for) == (CANDIDATE, 1, "S1")
    assert ctx.storage["current_term"] == 1 and ctx.storage["voted_for"] == "S1"
    assert sorted(dst for dst, _ in ctx.take()) == ["S2", "S3", "S4", "S5"]
    node.on_timer("election")  # no majority in time: start over in a higher term
    assert node.current_term == 2
    sent = ctx.take()
    assert all(msg == RequestVote(2, "S1", -1, 0) for _, msg in sent)


def test_a_candidate_wins_with_a_majority_and_not_before() -> None:
    node, ctx = server()
    node.on_timer("election")
    node.on_message("S2", RequestVoteReply(1, True))
    node.on_message("S4", RequestVoteReply(1, False))
    assert node.role == CANDIDATE
    node.on_message("S3", RequestVoteReply(1, True))
    assert node.role == LEADER
    assert "election" not in ctx.timers and "heartbeat" in ctx.timers
    assert [e["term"] for e in events(ctx, "elected")] == [1]


def test_one_vote_per_term_written_before_the_reply() -> None:
    node, ctx = server("S2")
    node.on_message("S1", RequestVote(3, "S1", -1, 0))
    assert ctx.storage["voted_for"] == "S1" and ctx.storage["current_term"] == 3
    assert ctx.take() == [("S1", RequestVoteReply(3, True))]
    node.on_message("S3", RequestVote(3, "S3", 5, 3))  # same term, another candidate
    assert ctx.take() == [("S3", RequestVoteReply(3, False))]
    node.on_message("S1", RequestVote(3, "S1", -1, 0))  # a retry from the same one
    assert ctx.take() == [("S1", RequestVoteReply(3, True))]


def test_a_vote_request_of_an_older_term_is_refused_with_the_current_term() -> None:
    node, ctx = server("S2")
    node.on_message("S1", RequestVote(4, "S1", -1, 0))
    ctx.take()
    node.on_message("S3", RequestVote(2, "S3", 9, 2))
    assert ctx.take() == [("S3", RequestVoteReply(4, False))]


def test_the_up_to_date_check_and_the_variant_that_skips_it() -> None:
    for variant, granted in (("correct", False), ("no-up-to-date-check", True)):
        node, ctx = server("S2", variant)
        node.on_message("S1", append_entries(1, "S1", -1, 0, ((1, "a"), (1, "b")), -1))
        ctx.take()
        # A later term for the candidate but a shorter log with the same last term.
        node.on_message("S3", RequestVote(2, "S3", 0, 1))
        assert ctx.take() == [("S3", RequestVoteReply(2, granted))]
    node, ctx = server("S2")
    node.on_message("S1", append_entries(1, "S1", -1, 0, ((1, "a"), (1, "b")), -1))
    ctx.take()
    node.on_message("S3", RequestVote(3, "S3", 0, 2))  # shorter, but a later last term
    assert ctx.take() == [("S3", RequestVoteReply(3, True))]


def test_votes_survive_a_restart_unless_the_variant_forgets_them() -> None:
    for variant, granted in (("correct", False), ("forget-vote-on-restart", True)):
        ctx = FakeContext("S3")
        node, _ = server("S3", variant, ctx=ctx)
        node.on_message("S1", RequestVote(1, "S1", -1, 0))
        ctx.take()
        restarted, _ = server("S3", variant, ctx=ctx)  # same storage: a recovery
        restarted.on_message("S2", RequestVote(1, "S2", -1, 0))
        assert ctx.take() == [("S2", RequestVoteReply(1, granted))]


def test_a_higher_term_in_any_reply_makes_a_leader_step_down() -> None:
    node, ctx = server()
    lead(node, ctx)
    node.on_message("S4", AppendEntriesReply(7, False, -1))
    assert (node.role, node.current_term, node.voted_for) == (FOLLOWER, 7, None)
    assert [e["term"] for e in events(ctx, "deposed")] == [1]
    assert "heartbeat" not in ctx.timers and "election" in ctx.timers


# -- log replication ---------------------------------------------------------------


def test_the_leader_appends_replicates_and_commits_on_a_majority() -> None:
    node, ctx = server()
    lead(node, ctx)
    node.on_message("c1", Submit("c1#1|put|k|v"))
    assert node.log == [(1, "c1#1|put|k|v")]
    sent = ctx.take()
    assert sorted(d for d, _ in sent) == ["S2", "S3", "S4", "S5"]
    assert all(m == append_entries(1, "S1", -1, 0, ((1, "c1#1|put|k|v"),), -1) for _, m in sent)
    node.on_message("S2", AppendEntriesReply(1, True, 0))
    assert node.commit_index == -1
    node.on_message("S3", AppendEntriesReply(1, True, 0))
    assert node.commit_index == 0 and ctx.storage["last_applied"] == 0
    assert ctx.take() == [("c1", Reply("c1#1", True, "ok"))]


def test_a_follower_refuses_an_append_whose_previous_entry_it_lacks() -> None:
    node, ctx = server("S2")
    node.on_message("S1", append_entries(2, "S1", 3, 2, ((2, "x"),), -1))
    assert node.log == []
    assert ctx.take() == [("S1", AppendEntriesReply(2, False, -1))]
    assert node.leader_id == "S1" and "election" in ctx.timers


def test_a_conflicting_suffix_is_deleted_and_the_variant_keeps_it() -> None:
    old = ((1, "a"), (1, "b"), (1, "c"))
    for variant, expected in (("correct", [(1, "a"), (2, "d")]),
                              ("no-truncate-on-conflict", [(1, "a"), (2, "d"), (1, "c")])):
        node, ctx = server("S2", variant)
        node.on_message("S1", append_entries(1, "S1", -1, 0, old, -1))
        node.on_message("S3", append_entries(2, "S3", 0, 1, ((2, "d"),), -1))
        assert node.log == expected
        assert ctx.take()[-1] == ("S3", AppendEntriesReply(2, True, 1))


def test_a_follower_commits_no_further_than_the_entries_it_was_sent() -> None:
    node, ctx = server("S2")
    node.on_message("S1", append_entries(1, "S1", -1, 0, ((1, "a"), (1, "b"), (1, "c")), -1))
    # A new leader matches at index 0 and says index 2 is committed: the stale
    # "b" and "c" after the match are not known to be the leader's.
    node.on_message("S3", append_entries(2, "S3", 0, 1, (), 2))
    assert node.commit_index == 0
    assert [e["value"] for e in events(ctx, "learned")] == ["a"]


def test_only_entries_stored_in_their_own_term_count_as_votes() -> None:
    node, ctx = server("S2")
    node.on_message("S1", append_entries(3, "S1", -1, 0, ((1, "old"), (3, "new")), -1))
    assert [(e["instance"], e["term"]) for e in events(ctx, "accepted")] == [(1, 3)]


def test_next_index_backs_off_to_where_the_logs_match() -> None:
    node, ctx = server()
    node.on_message("S2", append_entries(1, "S2", -1, 0, ((1, "a"), (1, "b")), -1))
    ctx.take()
    lead(node, ctx)  # term 2; nextIndex = 2 for everyone
    node.on_message("c1", Submit("c1#1|get|k"))
    ctx.take()
    node.on_message("S4", AppendEntriesReply(2, False, -1))  # S4's log is empty
    assert node.next_index["S4"] == 0
    assert ctx.take() == [("S4", append_entries(2, "S1", -1, 0, tuple(node.log), -1))]
    node.on_message("S4", AppendEntriesReply(2, False, -1))  # a stale copy: nothing to do
    assert ctx.take() == []


def test_old_term_entries_commit_only_with_one_of_the_current_term() -> None:
    for variant, committed in (("correct", -1), ("commit-old-term-by-count", 0)):
        node, ctx = server("S1", variant)
        node.on_message("S2", append_entries(1, "S2", -1, 0, ((1, "x"),), -1))
        lead(node, ctx)
        node.on_message("S2", AppendEntriesReply(node.current_term, True, 0))
        node.on_message("S3", AppendEntriesReply(node.current_term, True, 0))
        assert node.commit_index == committed
    node.on_message("c1", Submit("c1#1|put|k|v"))
    node.on_message("S2", AppendEntriesReply(node.current_term, True, 1))
    node.on_message("S3", AppendEntriesReply(node.current_term, True, 1))
    assert node.commit_index == 1


def test_a_new_leader_appends_a_noop_of_its_term() -> None:
    node, ctx = server(options=RaftOptions())
    lead(node, ctx)
    assert node.log == [(1, NOOP)]
    assert [e["value"] for e in events(ctx, "noop_allowed")] == [NOOP]


def test_reads_go_through_the_log_unless_the_leader_serves_them_stale() -> None:
    for variant, appended in (("correct", True), ("stale-read-leader", False)):
        node, ctx = server("S1", variant)
        lead(node, ctx)
        node.on_message("c1", Submit("c1#1|get|k"))
        assert bool(node.log) is appended
        if not appended:
            assert ctx.take() == [("c1", Reply("c1#1", True, None))]


def test_a_follower_redirects_clients_to_the_leader_it_knows() -> None:
    node, ctx = server("S2")
    node.on_message("c1", Submit("c1#1|get|k"))
    assert ctx.take() == []  # no leader known yet: parked
    node.on_message("S1", append_entries(1, "S1", -1, 0, (), -1))
    assert ("c1", Reply("c1#1", False, leader="S1")) in ctx.take()


def test_a_disk_latency_delays_the_reply_not_the_write() -> None:
    disk = LatencySpec("constant", (("value", 8.0),))
    node, ctx = server("S2", options=RaftOptions(disk_latency=disk))
    node.on_message("S1", RequestVote(1, "S1", -1, 0))
    assert ctx.storage["voted_for"] == "S1" and ctx.take() == []
    assert ctx.timers["disk:write"] == 8.0
    ctx.now = 8.0
    node.on_timer("disk:write")
    assert ctx.take() == [("S1", RequestVoteReply(1, True))]


def test_disk_draws_follow_the_latency_models() -> None:
    rng = Stream(1, "disk")
    uniform = LatencySpec("uniform", (("low", 2.0), ("high", 4.0)))
    draws = [draw_latency(uniform, rng) for _ in range(200)]
    assert all(2.0 <= d <= 4.0 for d in draws) and max(draws) - min(draws) > 1.5
    expo = LatencySpec("exponential", (("mean", 5.0), ("min", 1.0)))
    draws = [draw_latency(expo, rng) for _ in range(4000)]
    assert min(draws) >= 1.0 and 4.7 < sum(draws) / len(draws) < 5.3


# -- scenarios ----------------------------------------------------------------------


SMALLER = {"raft_partitioned_leader": ({"horizon": 4600.0}, {"rate": 0.02})}
"""The partitioned leader with fewer commands and a shorter tail (the same story)."""


def scenario_run(name: str, variant: str = "correct", **options: object) -> object:
    top, smaller = SMALLER.get(name, ({}, {}))
    return run_named(name, top={**top, "variant": variant}, options={**smaller, **options})


def violations(result) -> set[str]:
    return {v["invariant"] for v in result.summary["safety"]["violations"]}


def test_raft_cluster_commits_and_stays_linearizable() -> None:
    result = run_named("raft_cluster")
    log = result.summary["replicated_log"]
    assert result.safe and log["linearizability"]["verdict"] == "ok"
    assert log["commands_committed"] > 50
    assert result.summary["raft"]["elections_won"] >= 1


@pytest.mark.parametrize(("name", "variant", "caught"), [
    ("raft_figure8", "commit-old-term-by-count", {"agreement", "prefix"}),
    ("raft_vote_restart", "forget-vote-on-restart", {"agreement", "prefix"}),
    ("raft_leader_crash", "no-up-to-date-check", {"agreement", "prefix"}),
    ("raft_stale_suffix", "no-truncate-on-conflict", {"agreement", "prefix"}),
    ("raft_partitioned_leader", "stale-read-leader", {"linearizability"}),
])
def test_each_variant_is_caught_in_its_scenario_and_correct_raft_is_not(
        name: str, variant: str, caught: set[str]) -> None:
    assert scenario_run(name).safe
    assert violations(scenario_run(name, variant)) == caught


@pytest.mark.parametrize(("name", "node", "variant"), [
    ("raft_figure8", "S1", "commit-old-term-by-count"),
    ("raft_vote_restart", "S3", "forget-vote-on-restart"),
    ("raft_stale_suffix", "S2", "no-truncate-on-conflict"),
])
def test_one_broken_server_is_enough(name: str, node: str, variant: str) -> None:
    raw = raw_scenario(name)
    raw["variants"] = {node: variant}
    assert not run_raw(raw).safe


def test_figure8_overwrites_an_uncommitted_entry_that_was_on_a_majority() -> None:
    result = run_named("raft_figure8")
    stored_x = {e["node"] for e in of_kind(result, "accepted") if e["value"] == "x"}
    assert stored_x == {"S1", "S2"}  # votes in term 1 only; S3 and S4 got it in term 3
    truncated = {e["node"] for e in of_kind(result, "truncated")}
    assert truncated == {"S2", "S3", "S4"}
    learned = {(e["instance"], e["value"]) for e in of_kind(result, "learned")}
    assert learned == {(0, "y"), (1, "z")}


def test_a_partitioned_leader_appends_what_it_cannot_commit_then_steps_down() -> None:
    result = scenario_run("raft_partitioned_leader")
    deposed = of_kind(result, "deposed")
    assert [(e["node"], e["term"]) for e in deposed] == [("S1", 1)]
    assert deposed[0]["t"] > 4000.0  # after the heal
    stale = [e for e in of_kind(result, "truncated") if e["node"] == "S1"]
    assert stale and stale[0]["count"] > 1
    elected = [e for e in of_kind(result, "elected") if e["node"] != "S1"]
    assert 2000.0 < elected[0]["t"] < 2400.0


def test_identical_timeouts_never_elect_and_randomized_ones_do() -> None:
    split = run_named("raft_split_votes")
    assert not of_kind(split, "elected")
    assert split.summary["raft"]["split_votes"] >= 10
    fixed = run_named("raft_split_votes", options={"election_timeout_max": 300.0})
    assert of_kind(fixed, "elected") and fixed.summary["raft"]["split_votes"] <= 2


def test_leader_crash_measures_the_downtime_and_only_full_logs_win() -> None:
    result = run_named("raft_leader_crash")
    raft = result.summary["raft"]
    assert raft["leader_losses"] == 1 and raft["downtime"]["count"] == 1
    crash = next(e for e in of_kind(result, "crash"))
    winner = next(e for e in of_kind(result, "elected") if e["t"] > crash["t"])
    assert winner["node"] in {"S2", "S3"}
    follows = [e["t"] for e in of_kind(result, "follows") if e["t"] > winner["t"]]
    assert raft["downtime"]["max"] == pytest.approx(max(follows) - crash["t"])
    lengths = {}
    for e in of_kind(result, "accepted"):
        if e["t"] < crash["t"]:
            lengths[e["node"]] = max(lengths.get(e["node"], -1), e["instance"])
    assert lengths["S2"] == lengths["S3"] > lengths["S4"] > lengths.get("S5", -1)


def test_disk_latency_is_waited_before_each_ack() -> None:
    """With a fixed 10 ms network a command takes four hops (client, append, ack,
    reply): 40 ms; a 20 ms disk write before each follower's ack adds 20."""
    fixed = {"network": {"latency": {"model": "constant", "value": 10.0}}}
    fast = run_named("raft_cluster", top=fixed)
    slow = run_named("raft_cluster", top=fixed, options={
        "disk_latency": {"model": "constant", "value": 20.0}})
    assert fast.safe and slow.safe
    p50 = [r.summary["replicated_log"]["commit_latency"]["p50"] for r in (fast, slow)]
    assert p50 == [pytest.approx(40.0), pytest.approx(60.0)]


def test_same_seed_gives_identical_log_lines() -> None:
    raw = raw_scenario("raft_cluster")
    raw["horizon"] = 1000.0
    first, second = run_raw(raw, seed=3), run_raw(raw, seed=3)
    assert first.lines == second.lines
    assert run_raw(raw, seed=4).lines != first.lines


def test_bad_options_are_one_line_errors() -> None:
    from paxossim.errors import UserError
    raw = raw_scenario("raft_cluster")
    raw["raft"] = {"election_timeouts": {"S9": [1.0, 2.0]}}
    with pytest.raises(UserError, match="S9"):
        run_raw(raw)
    raw["raft"] = {"election_timeouts": {"S1": [5.0, 2.0]}}
    with pytest.raises(UserError, match="min <= max"):
        run_raw(raw)


def test_a_pre_vote_changes_no_term_and_a_live_leader_refuses_it() -> None:
    node, ctx = server("S2", options=RaftOptions(pre_vote=True, leader_noop=False))
    node.on_message("S3", RequestVote(5, "S3", -1, 0, pre_vote=True))
    assert ctx.take() == [("S3", RequestVoteReply(5, True, pre_vote=True))]
    assert (node.current_term, node.voted_for) == (0, None)
    node.on_message("S1", append_entries(1, "S1", -1, 0, (), -1))  # a leader is heard
    ctx.take()
    node.on_message("S3", RequestVote(5, "S3", -1, 0, pre_vote=True))
    assert ctx.take() == [("S3", RequestVoteReply(1, False, pre_vote=True))]


def test_a_pre_candidate_raises_its_term_only_with_a_majority_of_pre_votes() -> None:
    node, ctx = server("S1", options=RaftOptions(pre_vote=True, leader_noop=False))
    node.on_timer("election")
    assert node.current_term == 0 and node.role == FOLLOWER
    assert all(m.pre_vote and m.term == 1 for _, m in ctx.take())
    node.on_message("S2", RequestVoteReply(1, True, pre_vote=True))
    assert node.current_term == 0
    node.on_message("S3", RequestVoteReply(1, True, pre_vote=True))
    assert (node.role, node.current_term) == (CANDIDATE, 1)


def isolate_s5(options: dict) -> object:
    raw = raw_scenario("raft_cluster")
    raw["raft"] = {"preferred_leader": "S1", **options}
    raw["faults"] = {"partitions": [{"at": 500.0, "heal": 1500.0,
                                     "groups": [["S5"], ["S1", "S2", "S3", "S4",
                                                         "c1", "c2", "c3"]]}]}
    return run_raw(raw)


def test_pre_vote_keeps_a_returning_server_from_deposing_the_leader() -> None:
    plain, with_pre_vote = isolate_s5({}), isolate_s5({"pre_vote": True})
    assert plain.safe and with_pre_vote.safe
    assert [e["node"] for e in of_kind(plain, "deposed")] == ["S1"]
    assert not of_kind(with_pre_vote, "deposed")
    assert with_pre_vote.summary["raft"]["terms"] == 1 < plain.summary["raft"]["terms"]


def test_check_quorum_makes_a_partitioned_leader_step_down_before_the_heal() -> None:
    result = scenario_run("raft_partitioned_leader", check_quorum=True)
    assert result.safe
    deposed = of_kind(result, "deposed")
    assert deposed[0]["node"] == "S1" and 2000.0 < deposed[0]["t"] < 2400.0
    assert "check-quorum" in deposed[0]["reason"]


def test_the_raft_against_multipaxos_sweep_loads() -> None:
    from replog_support import SCENARIOS

    from paxossim.experiments.sweep_spec import load_spec

    points = load_spec(SCENARIOS / "sweep_raft_vs_multipaxos.toml").points()
    assert len(points) == 24
    assert {dict(p.params)["protocol"] for p in points} == {"multipaxos", "raft"}


def test_a_read_index_read_waits_for_a_majority_of_the_round_it_started() -> None:
    node, ctx = server(options=RaftOptions(read_index=True))  # with the no-op
    lead(node, ctx)
    node.on_message("S2", AppendEntriesReply(1, True, 0))
    node.on_message("S3", AppendEntriesReply(1, True, 0))
    assert node.commit_index == 0  # the no-op of term 1: reads may skip the log
    ctx.take()
    node.on_message("c1", Submit("c1#1|get|k"))
    assert len(node.log) == 1
    beats = ctx.take()
    assert sorted(d for d, _ in beats) == ["S2", "S3", "S4", "S5"]
    assert all(m.read_seq == 1 and m.entries == () for _, m in beats)
    node.on_message("S2", AppendEntriesReply(1, True, 0, read_seq=1))
    node.on_message("S4", AppendEntriesReply(1, True, 0))  # an answer from before the read
    assert ctx.take() == []
    node.on_message("S3", AppendEntriesReply(1, False, 0, read_seq=1))  # still our term
    assert ctx.take() == [("c1", Reply("c1#1", True, None))]


def test_read_index_keeps_the_partitioned_leader_linearizable_without_logging_reads() -> None:
    result = scenario_run("raft_partitioned_leader", read_index=True)
    assert result.safe
    assert result.summary["replicated_log"]["linearizability"]["verdict"] == "ok"
    logged_gets = [e for e in of_kind(result, "accepted") if "|get|" in e["value"]]
    gets = [e for e in of_kind(result, "invoke") if e["op"] == "get"]
    assert len(gets) > 100 and len(logged_gets) < 5
