"""PBFT: the paper's predicates on hand-fed replicas, then whole runs.

Hand-fed replicas (FakeContext) pin down prepared(m, v, n), committed-local
and sender authentication; the bundled scenarios show the normal case, a view
change past a silent primary, an equivocating primary survived with f = 1,
the violation with f + 1 liars, and a broken quorum caught by the generic
checks.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fakes import FakeContext
from replog_support import of_kind, raw_scenario, run_named, run_raw

from paxossim.cli import main
from paxossim.errors import UserError
from paxossim.protocols.pbft.messages import (
    Certificate,
    Checkpoint,
    Commit,
    Fetch,
    NewView,
    PbftReply,
    Prepare,
    PrePrepare,
    Proposal,
    State,
    ViewChange,
    digest,
)
from paxossim.protocols.pbft.replica import Cluster, PbftOptions, Replica
from paxossim.protocols.pbft.variants import ImpostorPrimary, PrePrepareFromAnyone
from paxossim.protocols.replicated import NOOP, Submit
from paxossim.scenario.model import scenario_from_dict

REPLICAS = ("r0", "r1", "r2", "r3")
CLUSTER = Cluster(REPLICAS, ("c1",), PbftOptions())
SMALL = Cluster(REPLICAS, ("c1",), PbftOptions(checkpoint_interval=1))
"""A checkpoint after every request, a watermark window of 2."""
M = "c1#1|put|k|v"
D = digest(M)


def replica(node: str, cluster: Cluster = CLUSTER) -> tuple[Replica, FakeContext]:
    ctx = FakeContext(node)
    node_ = Replica(ctx, cluster)
    node_.on_start()
    return node_, ctx


def kinds(ctx: FakeContext, kind: str) -> list[dict[str, Any]]:
    return [e for e in ctx.events if e["ev"] == kind]


def test_a_backup_prepares_on_2f_prepares_and_commits_locally_on_2f_plus_1_commits() -> None:
    r1, ctx = replica("r1")
    r1.on_message("r0", PrePrepare(0, 0, D, M, "r0"))
    assert ctx.take() == [(r, Prepare(0, 0, D, "r1")) for r in ("r0", "r2", "r3")]
    assert not kinds(ctx, "commit")
    r1.on_message("r0", Prepare(0, 0, D, "r0"))  # the primary does not prepare
    assert not kinds(ctx, "commit")
    r1.on_message("r2", Prepare(0, 0, D, "r2"))  # with its own: 2f = 2 prepares
    assert kinds(ctx, "commit") == [{"ev": "commit", "view": 0, "instance": 0, "value": M}]
    assert ctx.take() == [(r, Commit(0, 0, D, "r1")) for r in ("r0", "r2", "r3")]
    r1.on_message("r2", Commit(0, 0, D, "r2"))
    assert not kinds(ctx, "learned")  # 2 of 2f+1 = 3 commits
    r1.on_message("r3", Commit(0, 0, D, "r3"))
    assert [e["value"] for e in kinds(ctx, "learned")] == [M]
    assert ctx.take() == [("c1", PbftReply(0, "c1#1", "ok", "r1"))]


def test_the_primary_needs_2f_prepares_from_backups() -> None:
    r0, ctx = replica("r0")
    r0.on_message("c1", Submit(M))
    assert ctx.take() == [(r, PrePrepare(0, 0, D, M, "r0")) for r in ("r1", "r2", "r3")]
    r0.on_message("r1", Prepare(0, 0, D, "r1"))
    assert not kinds(ctx, "commit")
    r0.on_message("r2", Prepare(0, 0, D, "r2"))
    assert [e["instance"] for e in kinds(ctx, "commit")] == [0]
    r0.on_message("c1", Submit(M))  # a retransmission is not ordered twice
    assert len(kinds(ctx, "pre_prepare")) == 1


def test_a_message_claiming_another_sender_is_dropped() -> None:
    r1, ctx = replica("r1")
    r1.on_message("r0", PrePrepare(0, 0, D, M, "r0"))
    r1.on_message("r3", Prepare(0, 0, D, "r2"))  # r3 speaks in r2's name
    assert kinds(ctx, "forged") == [{"ev": "forged", "type": "prepare", "claimed": "r2",
                                     "actual": "r3"}]
    assert not kinds(ctx, "commit")


def test_a_backup_refuses_a_wrong_digest_and_a_second_pre_prepare_at_one_view_and_n() -> None:
    r1, ctx = replica("r1")
    r1.on_message("r0", PrePrepare(0, 0, "bad", M, "r0"))
    r1.on_message("r2", PrePrepare(0, 0, D, M, "r2"))  # not the primary
    assert ctx.take() == []
    r1.on_message("r0", PrePrepare(0, 0, D, M, "r0"))
    other = "c1#2|get|k"
    r1.on_message("r0", PrePrepare(0, 0, digest(other), other, "r0"))
    assert [e["reason"] for e in kinds(ctx, "refused")] == [
        "wrong digest", f"already accepted {M!r} at this view and n"]
    assert ctx.take() == [(r, Prepare(0, 0, D, "r1")) for r in ("r0", "r2", "r3")]


def test_new_view_reproposes_the_highest_view_certificate_and_fills_gaps_with_null() -> None:
    r1, _ = replica("r1")
    old, new = "c1#1|get|a", "c1#2|get|b"
    changes = (
        ViewChange(1, 0, (Certificate(0, 0, digest(old), old, ("r2", "r3")),), "r1"),
        ViewChange(1, 0, (Certificate(0, 1, digest(new), new, ("r1", "r3")),
                          Certificate(2, 0, digest(old), old, ("r1", "r2"))), "r2"),
        ViewChange(1, 0, (Certificate(1, 0, digest(new), new, ("r2",)),), "r3"),  # 1 < 2f
    )
    assert r1.new_view_proposals(changes) == (
        Proposal(0, digest(new), new), Proposal(1, digest(NOOP), NOOP),
        Proposal(2, digest(old), old))


def test_a_backup_refuses_a_new_view_whose_pre_prepares_do_not_follow_from_its_view_changes() \
        -> None:
    r2, ctx = replica("r2")
    changes = tuple(ViewChange(1, 0, (), s) for s in ("r1", "r2", "r3"))
    r2.on_message("r1", NewView(1, changes, (Proposal(0, D, M),), "r1"))
    assert kinds(ctx, "refused_new_view") and r2.view == 0
    r2.on_message("r1", NewView(1, changes[:2], (), "r1"))  # 2 < 2f+1 view-changes
    assert r2.view == 0
    r2.on_message("r1", NewView(1, changes, (), "r1"))
    assert (r2.view, r2.active) == (1, True)


# -- whole runs -----------------------------------------------------------------


def messages_per_command(n: int) -> float:
    raw = raw_scenario("pbft_normal")
    raw["nodes"] = {f"r{i}": ["replica"] for i in range(n)} | {"c1": ["client"]}
    result = run_raw(raw)
    assert result.safe
    return result.summary["replicated_log"]["messages_per_command"]


@pytest.mark.parametrize("n", [4, 7])
def test_normal_case_message_count_follows_the_three_phase_pattern(n: int) -> None:
    # request 1, pre-prepare n-1, prepare (n-1)(n-1) (each backup to the
    # others), commit n(n-1), reply n; nobody sends to itself.
    expected = 1 + (n - 1) + (n - 1) ** 2 + n * (n - 1) + n
    assert messages_per_command(n) == expected


def test_normal_run_is_safe_linearizable_and_takes_five_one_way_delays() -> None:
    result = run_named("pbft_normal")
    assert result.safe
    log = result.summary["replicated_log"]
    assert log["linearizability"]["verdict"] == "ok"
    assert log["commands_answered"] == log["commands_invoked"] >= 3
    assert log["commit_latency"]["p50"] == 5 * 10.0  # request, 3 phases, reply
    assert result.header["scenario"]["quorums"] == {"phase1": 3, "phase2": 3}
    assert not of_kind(result, "view_change")


def test_the_default_quorum_is_2f_plus_1_and_other_replica_counts_are_refused() -> None:
    raw = raw_scenario("pbft_normal")
    raw["nodes"] = {f"r{i}": ["replica"] for i in range(7)} | {"c1": ["client"]}
    assert scenario_from_dict(dict(raw)).quorum_sizes == (5, 5)
    raw["nodes"] = {f"r{i}": ["replica"] for i in range(5)} | {"c1": ["client"]}
    with pytest.raises(UserError, match="3f \\+ 1"):
        scenario_from_dict(raw)


def test_a_silent_primary_is_replaced_by_a_view_change_and_requests_commit() -> None:
    result = run_named("pbft_silent_primary")
    assert result.safe
    assert {e["node"] for e in of_kind(result, "view_change")} == {"r1", "r2", "r3"}
    assert [e["node"] for e in of_kind(result, "elected")] == ["r1"]
    log = result.summary["replicated_log"]
    assert log["linearizability"]["verdict"] == "ok"
    assert log["commands_answered"] == log["commands_invoked"] > 5


def test_an_equivocating_primary_is_survived_with_f_equal_one() -> None:
    result = run_named("pbft_equivocating_primary")
    assert result.safe
    assert {e["reason"] for e in of_kind(result, "refused")} == {"wrong digest"}
    assert {e["view"] for e in of_kind(result, "new_view")} == {1}
    committed = {e["instance"] for e in of_kind(result, "learned") if e["node"] != "r0"}
    assert len(committed) > 5


def test_f_plus_one_byzantine_replicas_break_agreement() -> None:
    result = run_named("pbft_f_plus_one")
    invariants = {v["invariant"] for v in result.summary["safety"]["violations"]}
    assert invariants == {"agreement", "prefix"}


def test_commit_quorum_2f_is_caught_under_an_equivocating_primary() -> None:
    raw = raw_scenario("pbft_equivocating_primary")
    raw["variant"] = "commit-quorum-2f"
    result = run_raw(raw)
    assert "agreement" in {v["invariant"] for v in result.summary["safety"]["violations"]}


def test_pre_prepare_from_anyone_prepares_a_backup_s_proposal_even_at_the_primary() -> None:
    for node in ("r0", "r1"):
        ctx = FakeContext(node)
        broken = PrePrepareFromAnyone(ctx, CLUSTER)
        broken.on_message("r3", PrePrepare(0, 0, D, M, "r3"))  # r3 is not the primary of view 0
        others = [r for r in REPLICAS if r != node]
        assert ctx.take() == [(r, Prepare(0, 0, D, node)) for r in others]


def test_the_impostor_reproposes_the_primary_s_request_one_number_up_to_half_the_others() \
        -> None:
    ctx = FakeContext("r3")
    impostor = ImpostorPrimary(ctx, CLUSTER)
    impostor.on_message("r0", PrePrepare(0, 4, D, M, "r0"))
    sent = ctx.take()
    own = [(dst, msg) for dst, msg in sent if isinstance(msg, PrePrepare)]
    assert own == [(r, PrePrepare(0, 5, D, M, "r3")) for r in ("r0", "r1")]
    for phase in (Prepare, Commit):
        assert [dst for dst, msg in sent if msg == phase(0, 5, D, "r3")] == ["r0", "r1", "r2"]
    impostor.on_message("r0", PrePrepare(0, 4, D, M, "r0"))  # a repeat: no second clash
    assert not [msg for _, msg in ctx.take() if isinstance(msg, PrePrepare)]


def impostor_run(variant: str, seed: int, random_latency: bool) -> Any:
    raw = raw_scenario("pbft_impostor")
    raw["variant"] = variant
    if random_latency:
        raw["network"] = {"latency": {"model": "exponential", "mean": 10.0, "min": 1.0}}
    return run_raw(raw, seed=seed)


@pytest.mark.parametrize("random_latency", [False, True])
def test_correct_replicas_ignore_an_impostor_s_pre_prepares(random_latency: bool) -> None:
    for seed in range(1, 4):
        result = impostor_run("correct", seed, random_latency)
        log = result.summary["replicated_log"]
        assert result.safe, seed
        assert log["commands_answered"] == log["commands_invoked"] > 10, seed
        impostor = [e for e in result.events if e["ev"] == "send"
                    and e["type"] == "pre-prepare" and e["src"] == "r3"]
        assert len(impostor) > 10, seed  # it did try, every time


@pytest.mark.parametrize("random_latency", [False, True])
def test_pre_prepare_from_anyone_is_caught_under_an_impostor(random_latency: bool) -> None:
    for seed in range(1, 4):
        result = impostor_run("pre-prepare-from-anyone", seed, random_latency)
        violations = result.summary["safety"]["violations"]
        assert "agreement" in {v["invariant"] for v in violations}, seed
        explanation = violations[0]["explanation"]
        assert explanation["rule"] == "pre-prepare-from-primary", seed
        assert explanation["culprit"]["node"] != "r3"
        assert "on a pre-prepare from r3" in explanation["sentence"], seed


def test_the_impostor_run_repeats_with_its_seed() -> None:
    first, second = (impostor_run("pre-prepare-from-anyone", 2, True) for _ in range(2))
    assert first.lines == second.lines
    assert first.summary["safety"] == second.summary["safety"]
    assert impostor_run("pre-prepare-from-anyone", 3, True).lines != first.lines


def test_same_seed_gives_identical_log_lines() -> None:
    raw = raw_scenario("pbft_silent_primary")
    raw["network"] = {"latency": {"model": "uniform", "low": 5.0, "high": 15.0}}
    first, second = run_raw(raw, seed=3), run_raw(raw, seed=3)
    assert first.lines == second.lines
    assert run_raw(raw, seed=4).lines != first.lines


@pytest.mark.parametrize("name", ["pbft_silent_primary", "pbft_equivocating_primary"])
def test_lossy_reordering_network_stays_safe_and_answers_every_command(name: str) -> None:
    # Lost prepares and commits are repeated when a client retransmits, and
    # a stuck primary lets the view change: every command is answered.
    raw = raw_scenario(name)
    raw["network"] = {"latency": {"model": "uniform", "low": 2.0, "high": 30.0},
                      "loss": 0.1, "duplicate": 0.05}
    raw["horizon"], raw["pbft"]["stop_at"] = 4000.0, 2000.0
    for seed in range(1, 6):
        result = run_raw(raw, seed=seed)
        log = result.summary["replicated_log"]
        assert result.safe, seed
        assert log["commands_answered"] == log["commands_invoked"] > 2, seed


def test_f_equal_two_survives_an_equivocating_and_a_silent_primary_with_doubling_timeouts() \
        -> None:
    result = run_named("pbft_f2")
    assert result.safe
    assert result.header["scenario"]["quorums"] == {"phase1": 5, "phase2": 5}
    assert [e["node"] for e in of_kind(result, "elected")] == ["r0", "r2"]
    timeout = result.header["scenario"]["pbft"]["view_timeout"]
    starts = {e["view"]: e["t"] for e in of_kind(result, "view_change") if e["node"] == "r4"}
    # The wait for view 1's NEW-VIEW starts once 2f+1 view-changes arrived
    # (one 10 ms hop after its own), and lasts 2T.
    assert starts[2] - starts[1] == 10.0 + 2 * timeout
    log = result.summary["replicated_log"]
    assert log["commands_answered"] == log["commands_invoked"] > 10


def test_a_crashed_primary_s_prepared_requests_are_reproposed_at_the_same_numbers() -> None:
    result = run_named("pbft_primary_crash")
    assert result.safe
    crash = of_kind(result, "crash")[0]["t"]
    before = {e["instance"] for e in of_kind(result, "learned") if e["t"] < crash + 50}
    new_view = [e for e in of_kind(result, "new_view") if e["node"] == "r1"]
    assert new_view and new_view[0]["proposals"] == len(before) > 3
    log = result.summary["replicated_log"]
    assert log["commands_answered"] == log["commands_invoked"] > len(before)


@pytest.mark.parametrize("variant", ["view-change-without-certificates", "skip-prepare"])
def test_a_view_change_that_loses_certificates_is_caught(variant: str) -> None:
    result = run_named("pbft_primary_crash", top={"variant": variant})
    assert "agreement" in {v["invariant"] for v in result.summary["safety"]["violations"]}


def commit_at(node: Replica, n: int, request: str) -> None:
    """Feed ``node`` (a backup) what commits ``request`` at n in view 0."""
    d = digest(request)
    node.on_message("r0", PrePrepare(0, n, d, request, "r0"))
    node.on_message("r2", Prepare(0, n, d, "r2"))
    for other in ("r2", "r3"):
        node.on_message(other, Commit(0, n, d, other))


def test_a_checkpoint_stable_at_2f_plus_1_discards_the_log_and_moves_the_watermarks() -> None:
    r1, ctx = replica("r1", SMALL)
    r1.on_message("r0", PrePrepare(0, 2, D, M, "r0"))  # beyond the high watermark (2)
    assert ctx.take() == []
    commit_at(r1, 0, M)
    mine = next(m for _, m in ctx.take() if isinstance(m, Checkpoint))
    assert (mine.n, r1.ctx.storage["stable"]) == (0, 0)
    r1.on_message("r2", Checkpoint(0, mine.digest, "r2"))
    r1.on_message("r3", Checkpoint(0, "other", "r3"))  # does not match
    assert r1.ctx.storage["stable"] == 0
    r1.on_message("r3", Checkpoint(0, mine.digest, "r3"))
    assert r1.ctx.storage["stable"] == 1 and 0 not in r1.log and 0 not in r1.certs
    r1.on_message("r0", PrePrepare(0, 2, D, M, "r0"))  # inside the window now
    assert [m for _, m in ctx.take()] == [Prepare(0, 2, D, "r1")] * 3


def test_a_replica_behind_a_stable_checkpoint_fetches_the_state_and_checks_its_digest() -> None:
    ahead, _ = replica("r2", SMALL)
    ahead.on_message("r0", PrePrepare(0, 0, D, M, "r0"))
    ahead.on_message("r1", Prepare(0, 0, D, "r1"))
    for other in ("r1", "r3"):
        ahead.on_message(other, Commit(0, 0, D, other))
    state = ahead.snapshots[0]
    behind, ctx = replica("r1", SMALL)
    for voter in ("r0", "r2", "r3"):
        behind.on_message(voter, Checkpoint(0, digest(state), voter))
    assert [(dst, m) for dst, m in ctx.take()] == [(r, Fetch(0, "r1")) for r in ("r0", "r2", "r3")]
    behind.on_message("r3", State(0, state.replace("v", "w"), "r3"))  # a lie: wrong digest
    assert behind.ctx.storage["applied"] == 0
    behind.on_message("r2", State(0, state, "r2"))
    assert behind.ctx.storage["applied"] == 1 and behind.kv.data == {"k": "v"}
    assert kinds(ctx, "installed") == [{"ev": "installed", "upto": 1, "source": "r2"}]


def test_checkpoints_bound_the_view_change_and_state_transfer_keeps_laggards_going() -> None:
    # Checkpoints every 2 requests (a window of 4), two clients with three
    # commands in flight each, on a lossy network with the primary crashing.
    raw = raw_scenario("pbft_primary_crash")
    raw["nodes"]["c2"] = ["client"]
    raw["pbft"] |= {"checkpoint_interval": 2, "outstanding": 3, "stop_at": 2000.0}
    raw["network"] = {"latency": {"model": "uniform", "low": 2.0, "high": 30.0},
                      "loss": 0.1, "duplicate": 0.05}
    raw["horizon"] = 4000.0
    installed = 0
    for seed in range(1, 6):
        result = run_raw(raw, seed=seed)
        log = result.summary["replicated_log"]
        assert result.safe, seed
        assert log["commands_answered"] == log["commands_invoked"] > 10, seed
        assert of_kind(result, "stable_checkpoint")
        assert all(e["prepared"] <= 4 for e in of_kind(result, "view_change"))
        installed += len(of_kind(result, "installed"))
    assert installed > 0


def test_f_equal_two_survives_a_crashed_primary_and_a_replica_lying_in_view_changes() -> None:
    # The liar omits its prepared certificates; any 2f+1 view-changes still
    # hold f+1 honest ones, one of which prepared each committed request.
    raw = raw_scenario("pbft_primary_crash")
    raw["nodes"] = {f"r{i}": ["replica"] for i in range(7)} | {"c1": ["client"]}
    raw["variants"] = {"r1": "view-change-liar"}
    result = run_raw(raw)
    assert result.safe
    assert of_kind(result, "new_view")
    log = result.summary["replicated_log"]
    assert log["commands_answered"] == log["commands_invoked"] > 5


def test_the_bundled_sweep_costs_the_three_phases_per_command(tmp_path: Path) -> None:
    spec = Path(__file__).resolve().parent.parent / "scenarios" / "sweep_pbft.toml"
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(out), "--workers", "1",
                                       "--seeds-per-point", "1", "--no-charts"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert len(rows) == 8 and all(row["safety_violations"] == "0" for row in rows)
    for row in rows:
        n = int(row["replicas"])
        pattern = (n - 1) * (2 * n - 1) + 2 * n
        if row["variants.r0"] == "correct":
            # plus one round of checkpoints (n(n-1) messages) over ~20 commands
            assert pattern <= float(row["messages_per_command_mean"]) <= pattern + n * (n - 1) / 10
            assert float(row["commit_p50_mean"]) == 50.0
