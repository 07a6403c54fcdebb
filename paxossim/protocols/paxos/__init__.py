"""Basic (single-decree) Paxos, as in Lamport's "Paxos Made Simple" (2001).

**What it guarantees.** Safety, always: at most one value is chosen, only a
value some client proposed, and a learner never learns a value that was not
chosen, whatever messages are lost, duplicated, delayed or reordered and
whichever nodes crash and recover (with their durable state). Liveness only
when the system is calm enough: two proposers can preempt each other forever
(FLP says no deterministic protocol avoids that), which randomized backoff
makes unlikely.

**How.** Ballots are pairs ``(number, proposer id)``, totally ordered. A
*proposer* runs phase 1: it sends ``prepare(b)`` to the acceptors; an
*acceptor* that promised nothing higher promises ``b`` and reports the vote
of highest ballot it ever cast (``promise``), or refuses (``nack``). With a
phase-1 quorum of promises, the proposer must propose the value of the
highest-ballot vote reported (only if none was, its client's own value) in
phase 2: ``accept(b, v)``. An acceptor votes for it unless it promised a
higher ballot since (``accepted``). A value is *chosen* once a phase-2 quorum
voted for it in one ballot; *learners* learn it from the votes. Because any
phase-1 quorum meets any phase-2 quorum, a later proposer hears of a chosen
value and proposes it again. Acceptors write promises and votes to durable
storage before they answer, which makes a crash harmless.

The post's story (a proposer stamped 4:06PM refused by an acceptor that
voted for 5:31PM) is phase 1's refusal: ``nack``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from paxossim.protocols.backoff import backoff_to_dict, parse_backoff
from paxossim.protocols.base import Context
from paxossim.protocols.contract import DecisionRule, Protocol, StreamCheck
from paxossim.protocols.paxos.ballots import parse_ballot
from paxossim.protocols.paxos.events import EVENTS
from paxossim.protocols.paxos.figures import BallotCount
from paxossim.protocols.paxos.messages import (
    Accept,
    Accepted,
    Ballot,
    ClientRequest,
    Nack,
    Prepare,
    Promise,
)
from paxossim.protocols.paxos.roles import (
    Acceptor,
    Cluster,
    Learner,
    PaxosNode,
    PaxosOptions,
    Proposer,
    Roles,
)
from paxossim.protocols.paxos.safety_rules import paxos_rules
from paxossim.protocols.paxos.variants import VARIANTS, PaxosVariant
from paxossim.schema import Table

__all__ = [
    "VARIANTS", "Accept", "Accepted", "Acceptor", "Ballot", "ClientRequest", "Cluster", "Learner",
    "Nack", "PaxosNode", "PaxosOptions", "PaxosProtocol", "PaxosVariant", "Prepare", "Promise",
    "Proposer", "Roles",
]


class PaxosProtocol(Protocol):
    name = "paxos"
    description = "Basic single-decree Paxos: proposers, acceptors, learners"
    roles = ("proposer", "acceptor", "learner")
    messages = (ClientRequest, Prepare, Promise, Accept, Accepted, Nack)
    events = EVENTS
    decision = DecisionRule(vote="accepted", voters="acceptor", learn="learned",
                            learners="learner")
    variants = VARIANTS
    rules = paxos_rules("paxos")
    request_keys = ("ballot",)

    def parse_options(self, table: Table, nodes: Mapping[str, tuple[str, ...]]) -> PaxosOptions:
        defaults = PaxosOptions()
        options = PaxosOptions(
            retry_timeout=table.number("retry_timeout", defaults.retry_timeout, positive=True),
            max_attempts=table.integer("max_attempts", defaults.max_attempts, minimum=1),
            backoff=parse_backoff(table, defaults.backoff),
            backoff_on_timeout=table.boolean(
                "backoff_on_timeout", defaults.backoff_on_timeout
            ),
            ballot_source=table.string(
                "ballot_source", defaults.ballot_source, choices=("counter", "clock")
            ),
        )
        if not any("acceptor" in roles for roles in nodes.values()):
            table.fail("a Paxos scenario needs at least one node with the acceptor role")
        return options

    def options_to_dict(self, options: PaxosOptions) -> dict[str, Any]:
        return {
            "retry_timeout": options.retry_timeout,
            "max_attempts": options.max_attempts,
            "backoff_on_timeout": options.backoff_on_timeout,
            "ballot_source": options.ballot_source,
        } | backoff_to_dict(options.backoff)

    def parse_request(self, item: Table) -> dict[str, Any]:
        """``ballot``: the number a proposer starts from, or a clock time "17:31"."""
        ballot = parse_ballot(item.raw("ballot", None), item.where("ballot"))
        return {} if ballot is None else {"ballot": ballot}

    def client_request(self, value: str, extra: Mapping[str, Any]) -> ClientRequest:
        return ClientRequest(value, extra.get("ballot"))

    def make_node(self, node_id: str, scenario: Any, ctx: Context, variant: str) -> PaxosNode:
        chosen = VARIANTS[variant]
        return PaxosNode(ctx, scenario.nodes[node_id], chosen.cluster(self.cluster(scenario)),
                         chosen.roles)

    def cluster(self, scenario: Any) -> Cluster:
        """Who is who in ``scenario``; built once per scenario, not once per node boot."""
        cached = getattr(self, "_cluster", None)
        if cached is None or cached[0] is not scenario:
            acceptors = tuple(scenario.nodes_with("acceptor"))
            cluster = Cluster(
                acceptors=acceptors,
                learners=tuple(scenario.nodes_with("learner")),
                quorums=scenario.quorums_of(acceptors),
                options=scenario.options,
            )
            cached = self._cluster = (scenario, cluster)
        return cached[1]

    def checks(self, scenario: Mapping[str, Any]) -> list[StreamCheck]:
        return [BallotCount(self.name)]

    def visible_state(self, node: Any) -> dict[str, Any]:
        assert isinstance(node, PaxosNode)
        state: dict[str, Any] = {}
        if node.acceptor:
            state |= {"promised": node.acceptor.promised,
                      "accepted": (node.acceptor.state.get("accepted_ballot"),
                                   node.acceptor.state.get("accepted_value"))}
        if node.proposer:
            state |= {"phase": node.proposer.phase, "ballot": node.proposer.ballot}
        if node.learner:
            state |= {"learned": node.ctx.storage.get("learned")}
        return state

