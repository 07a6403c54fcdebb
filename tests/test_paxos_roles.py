"""Acceptor, proposer and learner rules, tested by hand-feeding messages."""

from __future__ import annotations

import pytest
from fakes import FakeContext

from paxossim.protocols.backoff import Backoff
from paxossim.protocols.paxos import (
    VARIANTS,
    Accept,
    Accepted,
    ClientRequest,
    Cluster,
    Nack,
    PaxosNode,
    PaxosOptions,
    Prepare,
    Promise,
)
from paxossim.protocols.quorums import Quorums

ACCEPTORS = ("A1", "A2", "A3")


def make(roles: tuple[str, ...], variant: str = "correct", node_id: str = "N",
         options: PaxosOptions | None = None) -> tuple[PaxosNode, FakeContext]:
    ctx = FakeContext(node_id)
    chosen = VARIANTS[variant]
    cluster = chosen.cluster(Cluster(ACCEPTORS, ("L",), Quorums.of(ACCEPTORS),
                                     options or PaxosOptions()))
    node = PaxosNode(ctx, roles, cluster, chosen.roles)
    node.on_start()
    return node, ctx


# -- acceptor -----------------------------------------------------------------

def test_acceptor_promises_first_ballot_and_reports_nothing_accepted() -> None:
    node, ctx = make(("acceptor",))
    node.on_message("P1", Prepare((5, "P1")))
    assert ctx.take() == [("P1", Promise((5, "P1"), None, None))]
    assert ctx.storage["promised"] == (5, "P1")


def test_acceptor_nacks_an_older_prepare_after_promising_a_newer_one() -> None:
    node, ctx = make(("acceptor",))
    node.on_message("P1", Prepare((1051, "P1")))
    ctx.take()
    node.on_message("P2", Prepare((966, "P2")))
    assert ctx.take() == [("P2", Nack((966, "P2"), (1051, "P1"), "prepare"))]
    assert ctx.storage["promised"] == (1051, "P1")


def test_ballot_ties_on_number_are_broken_by_proposer_id() -> None:
    node, ctx = make(("acceptor",))
    node.on_message("P2", Prepare((3, "P2")))
    node.on_message("P1", Prepare((3, "P1")))
    assert isinstance(ctx.take()[1][1], Nack)


def test_acceptor_refuses_accept_below_its_promise() -> None:
    node, ctx = make(("acceptor",))
    node.on_message("P2", Prepare((2, "P2")))
    ctx.take()
    node.on_message("P1", Accept((1, "P1"), "v1"))
    assert ctx.take() == [("P1", Nack((1, "P1"), (2, "P2"), "accept"))]
    assert "accepted_value" not in ctx.storage


def test_acceptor_accepts_and_tells_proposer_and_learners() -> None:
    node, ctx = make(("acceptor",))
    node.on_message("P1", Prepare((1, "P1")))
    ctx.take()
    node.on_message("P1", Accept((1, "P1"), "v"))
    assert ctx.take() == [("P1", Accepted((1, "P1"), "v")), ("L", Accepted((1, "P1"), "v"))]
    assert (ctx.storage["accepted_ballot"], ctx.storage["accepted_value"]) == ((1, "P1"), "v")


def test_promise_carries_the_highest_accepted_ballot_and_value() -> None:
    node, ctx = make(("acceptor",))
    node.on_message("P1", Accept((1, "P1"), "v1"))
    ctx.take()
    node.on_message("P2", Prepare((2, "P2")))
    assert ctx.take() == [("P2", Promise((2, "P2"), (1, "P1"), "v1"))]


def test_acceptor_state_survives_a_restart_through_storage() -> None:
    node, ctx = make(("acceptor",))
    node.on_message("P2", Prepare((2, "P2")))
    restarted = PaxosNode(ctx, ("acceptor",), node.acceptor.cluster)  # same storage
    ctx.take()
    restarted.on_message("P1", Accept((1, "P1"), "v1"))
    assert isinstance(ctx.take()[0][1], Nack)


def test_forgetful_variant_forgets_its_promise_on_restart() -> None:
    node, ctx = make(("acceptor",), variant="forget-promise-on-restart")
    node.on_message("P2", Prepare((2, "P2")))
    restarted = PaxosNode(ctx, ("acceptor",), node.acceptor.cluster)
    ctx.take()
    restarted.on_message("P1", Accept((1, "P1"), "v1"))
    assert isinstance(ctx.take()[0][1], Accepted)


# -- proposer -----------------------------------------------------------------

def test_proposer_prepares_at_requested_ballot_to_all_acceptors() -> None:
    node, ctx = make(("proposer",), node_id="P1")
    node.on_message("client", ClientRequest("v", 1051))
    assert ctx.take() == [(a, Prepare((1051, "P1"))) for a in ACCEPTORS]
    assert "retry" in ctx.timers


def test_proposer_sends_accept_to_its_promisers_after_a_majority() -> None:
    node, ctx = make(("proposer",), node_id="P1")
    node.on_message("client", ClientRequest("mine"))
    ctx.take()
    node.on_message("A1", Promise((1, "P1"), None, None))
    assert ctx.take() == []
    node.on_message("A3", Promise((1, "P1"), None, None))
    assert ctx.take() == [("A1", Accept((1, "P1"), "mine")), ("A3", Accept((1, "P1"), "mine"))]


def test_proposer_adopts_value_of_highest_accepted_ballot() -> None:
    node, ctx = make(("proposer",), node_id="P3")
    node.on_message("client", ClientRequest("mine", 9))
    ctx.take()
    node.on_message("A1", Promise((9, "P3"), (2, "P1"), "older"))
    node.on_message("A2", Promise((9, "P3"), (4, "P2"), "newer"))
    sent = ctx.take()
    assert {msg.value for _, msg in sent} == {"newer"}


def test_broken_proposer_ignores_accepted_values() -> None:
    node, ctx = make(("proposer",), variant="ignore-accepted-values", node_id="P3")
    node.on_message("client", ClientRequest("mine", 9))
    ctx.take()
    node.on_message("A1", Promise((9, "P3"), (2, "P1"), "older"))
    node.on_message("A2", Promise((9, "P3"), (4, "P2"), "newer"))
    assert {msg.value for _, msg in ctx.take()} == {"mine"}


def test_proposer_ignores_promises_for_another_ballot() -> None:
    node, ctx = make(("proposer",), node_id="P1")
    node.on_message("client", ClientRequest("v"))
    ctx.take()
    node.on_message("A1", Promise((7, "P1"), None, None))
    node.on_message("A2", Promise((7, "P1"), None, None))
    assert ctx.take() == []


def test_nack_backs_off_then_retries_above_the_promised_ballot() -> None:
    options = PaxosOptions(backoff=Backoff(base=10.0, jitter=0.5))
    node, ctx = make(("proposer",), node_id="P2", options=options)
    node.on_message("client", ClientRequest("v", 966))
    ctx.take()
    node.on_message("A1", Nack((966, "P2"), (1051, "P1"), "prepare"))
    assert 5.0 <= ctx.timers["retry"] <= 15.0
    assert ctx.take() == []
    node.on_timer("retry")
    assert ctx.take()[0] == ("A1", Prepare((1052, "P2")))


def test_backoff_grows_exponentially_and_is_capped() -> None:
    backoff = Backoff(base=10, multiplier=2, max=50, jitter=0)
    assert [backoff.delay(k, 0.3) for k in (1, 2, 3, 4, 5)] == [10, 20, 40, 50, 50]


def test_backoff_jitter_spreads_the_delay_evenly_around_it() -> None:
    backoff = Backoff(base=10, jitter=0.5)
    assert [backoff.delay(1, u) for u in (0.0, 0.5, 1.0)] == [5.0, 10.0, 15.0]


def test_proposer_times_out_backs_off_then_retries_with_a_higher_ballot() -> None:
    node, ctx = make(("proposer",), node_id="P1")
    node.on_message("client", ClientRequest("v"))
    ctx.take()
    node.on_timer("retry")  # the ballot timed out: wait a backoff first
    assert ctx.take() == []
    assert "timeout" in ctx.kinds()
    node.on_timer("retry")
    assert ctx.take()[0][1] == Prepare((2, "P1"))


def test_without_backoff_on_timeout_the_retry_is_immediate() -> None:
    options = PaxosOptions(backoff_on_timeout=False)
    node, ctx = make(("proposer",), node_id="P1", options=options)
    node.on_message("client", ClientRequest("v"))
    ctx.take()
    node.on_timer("retry")
    assert ctx.take()[0][1] == Prepare((2, "P1"))


def test_proposer_gives_up_after_max_attempts() -> None:
    node, ctx = make(("proposer",), node_id="P1", options=PaxosOptions(max_attempts=2))
    node.on_message("client", ClientRequest("v"))
    for _ in range(3):  # timeout, backoff over, timeout of the last attempt
        node.on_timer("retry")
    assert ctx.kinds().count("propose") == 2
    assert ctx.kinds()[-1] == "gave_up"


def test_proposer_stops_once_a_majority_accepted() -> None:
    node, ctx = make(("proposer",), node_id="P1")
    node.on_message("client", ClientRequest("v"))
    for acceptor in ("A1", "A2"):
        node.on_message(acceptor, Promise((1, "P1"), None, None))
    for acceptor in ("A1", "A2"):
        node.on_message(acceptor, Accepted((1, "P1"), "v"))
    assert "retry" not in ctx.timers
    assert ctx.kinds()[-1] == "proposer_done"


# -- learner ------------------------------------------------------------------

def test_learner_learns_on_a_majority_of_one_ballot_only() -> None:
    node, ctx = make(("learner",), node_id="L")
    node.on_message("A1", Accepted((1, "P1"), "v"))
    node.on_message("A2", Accepted((2, "P2"), "v"))
    assert "learned" not in ctx.kinds()
    node.on_message("A3", Accepted((2, "P2"), "v"))
    assert ctx.events[-1] == {"ev": "learned", "value": "v", "ballot": (2, "P2")}


def test_learner_does_not_count_the_same_acceptor_twice() -> None:
    node, ctx = make(("learner",), node_id="L")
    node.on_message("A1", Accepted((1, "P1"), "v"))
    node.on_message("A1", Accepted((1, "P1"), "v"))
    assert "learned" not in ctx.kinds()


def test_mixed_ballot_learner_counts_duplicates_across_ballots() -> None:
    node, ctx = make(("learner",), variant="mixed-ballot-learner", node_id="L")
    node.on_message("A1", Accepted((1, "P1"), "v"))
    node.on_message("A1", Accepted((2, "P2"), "v"))
    assert "learned" in ctx.kinds()


@pytest.mark.parametrize("variant, quorum", [("correct", 2), ("quorum-one-short", 1)])
def test_quorum_size(variant: str, quorum: int) -> None:
    base = Cluster(ACCEPTORS, (), Quorums.of(ACCEPTORS), PaxosOptions())
    assert VARIANTS[variant].cluster(base).quorums.phase2 == quorum


def test_a_node_may_hold_all_three_roles() -> None:
    node, ctx = make(("proposer", "acceptor", "learner"), node_id="A1")
    node.on_message("client", ClientRequest("v"))
    assert ("A1", Prepare((1, "A1"))) in ctx.take()
    node.on_message("A1", Prepare((1, "A1")))
    assert ctx.take() == [("A1", Promise((1, "A1"), None, None))]
