"""Broken Basic Paxos: each variant breaks one rule of the paper, in code of its own.

Every variant is a role subclass that overrides exactly the rule it breaks,
so reading one shows the bug and nothing else. A scenario sets a variant for
every node (``variant = "..."``) or for some (``[variants] A2 = "..."``);
the safety checker must catch each of them (tests and ``explore`` prove it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from paxossim.protocols.contract import Variant
from paxossim.protocols.paxos.messages import Accepted, Ballot
from paxossim.protocols.paxos.roles import Acceptor, Cluster, Learner, Proposer, Roles


class ForgetfulAcceptor(Acceptor):
    """Keeps promises and votes in volatile memory, so a restart forgets them."""

    def durable_state(self) -> dict[str, Any]:
        return {}


class AcceptBelowPromiseAcceptor(Acceptor):
    """Votes for a ballot lower than the one it promised (phase 2b's rule dropped)."""

    def refuses_accept(self, ballot: Ballot) -> bool:
        return False


class IgnoreAcceptedValuesProposer(Proposer):
    """Always proposes its client's value, ignoring the votes that promises report."""

    def choose_value(self) -> tuple[str, Ballot | None]:
        assert self.value is not None
        return self.value, None


class MixedBallotLearner(Learner):
    """Counts every accepted message for a value, whatever its ballot and
    however often the same acceptor sent it."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.counts: dict[str, int] = {}

    def counts_as_chosen(self, src: str, msg: Accepted) -> bool:
        self.counts[msg.value] = self.counts.get(msg.value, 0) + 1
        return self.counts[msg.value] >= self.cluster.quorums.phase2


@dataclass(frozen=True)
class PaxosVariant(Variant):
    """A variant and how a node running it is built."""

    roles: Roles = field(default_factory=Roles)
    quorum_shortfall: int = 0
    """How many votes fewer than a quorum this node's proposer and learner take."""

    def cluster(self, cluster: Cluster) -> Cluster:
        if not self.quorum_shortfall:
            return cluster
        quorums = cluster.quorums
        return cluster.with_quorums(max(1, quorums.phase1 - self.quorum_shortfall),
                                    max(1, quorums.phase2 - self.quorum_shortfall))


VARIANTS: dict[str, PaxosVariant] = {
    "correct": PaxosVariant("Basic Paxos as published"),
    "forget-promise-on-restart": PaxosVariant(
        "acceptors keep promises and votes in volatile memory only, so a restart forgets them",
        roles=Roles(acceptor=ForgetfulAcceptor)),
    "ignore-accepted-values": PaxosVariant(
        "proposers always propose their own value, ignoring the accepted values reported in"
        " promises", roles=Roles(proposer=IgnoreAcceptedValuesProposer)),
    "quorum-one-short": PaxosVariant(
        "proposers and learners take one vote fewer than a majority as a quorum",
        quorum_shortfall=1),
    "mixed-ballot-learner": PaxosVariant(
        "learners count accepted votes for a value across different ballots",
        roles=Roles(learner=MixedBallotLearner)),
    "accept-below-promise": PaxosVariant(
        "acceptors accept a ballot lower than the one they promised",
        roles=Roles(acceptor=AcceptBelowPromiseAcceptor)),
}
