"""A fixed-leader single-decree write: the smallest protocol worth checking.

This package is the worked example of ``docs/writing-a-protocol.md``: every
declaration the protocol contract asks for, and nothing else.

**What it guarantees.** Safety, as long as replicas keep their word: at most
one value is decided, only a value some client asked for, and the leader
never learns a value that was not decided, whatever messages are lost,
duplicated, delayed or reordered and whichever nodes crash and recover
(with their durable state). It is not fault tolerant for the leader: while
the leader is down nothing is written, and it decides nothing by itself when
clients ask for two values at once and the replicas' votes split (four
replicas, two for each: no quorum, forever). Ballots are what Paxos adds to
get out of that.

**How.** One node has the role ``leader``; the others are ``replica``. A
client request reaches the leader, which sends ``write(value)`` to every
replica, and again every ``resend_every`` until a quorum answered. A replica
stores the first value it is written durably, before it answers, and acks
the value it holds, never another: each replica votes once. A value is
*decided* once a phase-2 quorum of replicas stored it; since any two quorums
of replicas share one, and that replica voted once, two values cannot both
be decided. The leader *learns* the value once a quorum acked it.

The ``overwrite`` variant breaks the one rule: its replicas replace their
vote with every new value written, so a second client request gets a second
value decided, which the generic checker reports as an agreement violation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from paxossim.protocols.base import Context, Node
from paxossim.protocols.contract import DecisionRule, EventKind, Protocol
from paxossim.protocols.leader_write.messages import Ack, ClientRequest, Write
from paxossim.protocols.leader_write.nodes import Cluster, Leader, Options, Replica
from paxossim.protocols.leader_write.safety_rules import RULES
from paxossim.protocols.leader_write.variants import VARIANTS
from paxossim.schema import Table

if TYPE_CHECKING:
    from paxossim.scenario.model import Scenario

__all__ = [
    "Ack", "ClientRequest", "Cluster", "Leader", "LeaderWriteProtocol", "Options", "Replica",
    "Write",
]

EVENTS: tuple[EventKind, ...] = (
    EventKind("write", ("value", "again"), "{node} writes {value:value} to the replicas",
              details=(("again", " again (no quorum yet)"),)),
    EventKind("stored", ("value", "leader"), "{node} stores {value:value}"),
    EventKind("kept", ("value", "refused"), "{node} keeps {value:value}, refusing {refused:value}",
              mark="keeps {value:value}", mark_style="refusal"),
    EventKind("learned", ("value",), "{node} learns {value:value}",
              mark="learns {value:value}", mark_style="decision"),
)


class LeaderWriteProtocol(Protocol):
    name = "leader_write"
    description = "A fixed leader writes one value to replicas; a quorum of stores decides"
    roles = ("leader", "replica")
    messages = (ClientRequest, Write, Ack)
    events = EVENTS
    # There are no ballots: the one fixed leader is the one round there is.
    decision = DecisionRule(vote="stored", voters="replica", round="leader", learn="learned")
    variants = VARIANTS
    rules = RULES

    def parse_options(self, table: Table, nodes: Mapping[str, tuple[str, ...]]) -> Options:
        leaders = [name for name, roles in nodes.items() if "leader" in roles]
        if len(leaders) != 1:
            table.fail(f"needs exactly one node with the leader role, not {len(leaders)}")
        if not any("replica" in roles for roles in nodes.values()) or len(nodes[leaders[0]]) > 1:
            table.fail("needs at least one replica, and the leader cannot be one")
        return Options(resend_every=table.number("resend_every", Options.resend_every,
                                                 positive=True))

    def options_to_dict(self, options: Options) -> dict[str, Any]:
        return {"resend_every": options.resend_every}

    def client_request(self, value: str, extra: Mapping[str, Any]) -> ClientRequest:
        return ClientRequest(value)

    def make_node(self, node_id: str, scenario: Scenario, ctx: Context, variant: str) -> Node:
        replicas = tuple(scenario.nodes_with("replica"))
        cluster = Cluster(leader=scenario.nodes_with("leader")[0], replicas=replicas,
                          quorums=scenario.quorums_of(replicas),
                          resend_every=scenario.options.resend_every)
        if node_id == cluster.leader:
            return Leader(ctx, cluster)
        return VARIANTS[variant].replica(ctx, cluster)

    def visible_state(self, node: Node) -> dict[str, Any]:
        if isinstance(node, Leader):
            return {"values": node.values, "learned": node.ctx.storage.get("learned"),
                    "acks": {value: sorted(voters) for value, voters in node.acks.items()}}
        return {"value": node.ctx.storage.get("value")}

