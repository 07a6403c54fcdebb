"""PBFT: Practical Byzantine Fault Tolerance (Castro and Liskov, OSDI 1999).

**What it guarantees.** With n = 3f + 1 replicas of which at most f are
Byzantine (they may lie, equivocate, stay silent, collude), the honest
replicas execute the same requests in the same order (safety: the service
behaves like one correct server, so clients' histories are linearizable),
whatever the network does; and clients get answers (liveness) once the
network is eventually timely (partial synchrony), because a primary that
does not make progress is replaced.

**How.** A client sends its request to the primary of the current view ``v``
(``replicas[v mod n]``). The primary assigns it sequence number ``n`` and
multicasts PRE-PREPARE(v, n, d, m), ``d`` the request's digest. A backup that
accepts it (right view, from the primary, digest matches, no other digest
accepted at (v, n)) multicasts PREPARE(v, n, d). A replica is
``prepared(m, v, n)`` with the pre-prepare and 2f matching prepares from
different backups: 2f+1 replicas vouch for (v, n, d), and any two sets of
2f+1 share f+1 replicas, at least one honest, which never vouches for two
digests at one (v, n): so no two requests prepare at the same (v, n). A
prepared replica multicasts COMMIT(v, n, d); with 2f+1 matching commits it is
``committed-local`` and executes the request once every lower ``n`` is
executed, then REPLYs to the client, which accepts f+1 matching replies (one
of them is honest). Committed-local at one honest replica means 2f+1
prepared, f+1 of them honest, so any 2f+1 VIEW-CHANGE messages include a
prepared certificate for it, and the next primary's NEW-VIEW must
re-propose it at the same ``n``: the order survives views.

**View change.** A replica holding a client's request that does not execute
within T starts a view change: it multicasts VIEW-CHANGE(v+1, n, P) with its
prepared certificates P and stops taking part in view v. The primary of v+1,
with 2f+1 view-changes, multicasts NEW-VIEW(v+1, V, O): per sequence number
from the latest stable checkpoint in V, the request prepared in the highest
view in V, or the null request where none was; backups recompute O from V
and refuse a NEW-VIEW that does not match. A replica that sees f+1
view-changes for higher views joins the smallest (one of them is honest);
its wait for NEW-VIEW starts once 2f+1 replicas asked for the view, and
doubles for each further view change without progress, so that eventually a
correct primary lasts long enough to commit.

**Checkpoints.** Every K requests a replica multicasts CHECKPOINT(n, d) with
the digest of its state; 2f+1 matching ones make it stable: the log below is
discarded and the watermarks move to [n+1, n+1+2K) (a primary whose window
is full holds requests back). A replica that finds itself behind a stable
checkpoint fetches the state from those who vouched for it and checks it
against their digest (state transfer).

**Lost messages.** Links may lose and duplicate. A client retransmits to all;
a replica that receives a request again repeats its messages of the current
view for every sequence number up to it (and its last checkpoint, or its
VIEW-CHANGE while changing views), and a replica that moved past a view
answers a straggler's VIEW-CHANGE for it with its own. No periodic traffic
otherwise: the normal case costs exactly the three phases.

**Modelled and left out.** Signatures are unforgeable tokens: each message
names its sender, the runtime tells the receiver the true sender, and a
replica drops a message whose claimed sender differs (``forged`` events).
Messages carried inside others (the VIEW-CHANGEs in a NEW-VIEW, the prepare
senders of a certificate) and clients' requests are trusted as they come:
none of the Byzantine variants forges them. Not modelled either: the
checkpoint proof in VIEW-CHANGE. Requests are the shared KV commands; the
client is the shared KV client, answered by f+1 matching replies. The
decision rule counts a replica's ``commit`` event, emitted when it sends its
COMMIT, so a request is decided once 2f+1 honest replicas prepared it in one
view: the scenario's phase-2 quorum defaults to 2f+1
(:meth:`PBFTProtocol.default_quorums`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from paxossim.protocols.base import Context, Node
from paxossim.protocols.contract import DecisionRule, EventKind, Protocol, StreamCheck
from paxossim.protocols.pbft.client import make_pbft_client
from paxossim.protocols.pbft.messages import (
    Checkpoint,
    Commit,
    Fetch,
    NewView,
    PbftReply,
    Prepare,
    PrePrepare,
    State,
    ViewChange,
)
from paxossim.protocols.pbft.replica import Cluster, PbftOptions, Replica
from paxossim.protocols.pbft.safety_rules import RULES
from paxossim.protocols.pbft.variants import VARIANTS
from paxossim.protocols.replicated import (
    CLIENT_EVENTS,
    REPLICA_EVENTS,
    Submit,
    check_nodes,
    client_options_to_dict,
    parse_client_options,
)
from paxossim.protocols.replicated_checks import ReplicatedLogCheck
from paxossim.schema import Table

SHARED = tuple(kind for kind in REPLICA_EVENTS if kind.name in {"noop_allowed", "learned",
                                                                 "applied"})

EVENTS: tuple[EventKind, ...] = SHARED + CLIENT_EVENTS + (
    EventKind("elected", ("view",), "{node} is the primary of view {view}",
              mark="primary of view {view}", mark_style="leader"),
    EventKind("pre_prepare", ("view", "instance", "value"),
              "{node} pre-prepares {value:value} at n={instance} in view {view}"),
    EventKind("commit", ("view", "instance", "value"),
              "{node} is prepared for {value:value} at n={instance} in view {view} "
              "and sends its commit"),
    EventKind("refused", ("view", "instance", "value", "reason"),
              "{node} refuses the pre-prepare of {value:value} at n={instance} ({reason})",
              mark="refuses n={instance}", mark_style="refusal"),
    EventKind("forged", ("type", "claimed", "actual"),
              "{node} drops a {type} from {actual} claiming to be {claimed}"),
    EventKind("stable_checkpoint", ("instance",),
              "{node}'s checkpoint after n={instance} is stable: the log below is discarded",
              told=False),
    EventKind("installed", ("upto", "source"),
              "{node} installs the state through n={upto} from {source} (state transfer)",
              mark="state transfer", mark_style="note"),
    EventKind("view_change", ("view", "prepared"),
              "{node} starts a view change to view {view} ({prepared} prepared)",
              mark="view-change {view}", mark_style="fault"),
    EventKind("new_view", ("view", "primary", "proposals"),
              "{node} enters view {view} (primary {primary}, {proposals} re-proposed)"),
    EventKind("refused_new_view", ("view", "primary"),
              "{node} refuses {primary}'s new-view for view {view}"),
)


class PBFTProtocol(Protocol):
    name = "pbft"
    description = "PBFT: 3f+1 replicas order clients' commands despite f Byzantine ones"
    roles = ("replica", "client")
    messages = (Submit, PrePrepare, Prepare, Commit, PbftReply, Checkpoint, Fetch, State,
                ViewChange, NewView)
    events = EVENTS
    decision = DecisionRule(vote="commit", voters="replica", round="view",
                            instance="instance", learn="learned", proposals=("request",),
                            allowed=("noop_allowed",))
    variants = VARIANTS
    rules = RULES

    def default_quorums(self, voters: int) -> tuple[int, int]:
        """2f+1 of n = 3f+1: two such quorums share an honest replica."""
        quorum = 2 * ((voters - 1) // 3) + 1
        return quorum, quorum

    def parse_options(self, table: Table, nodes: Mapping[str, tuple[str, ...]]) -> PbftOptions:
        check_nodes(table, nodes)
        count = sum(1 for roles in nodes.values() if "replica" in roles)
        if count < 4 or (count - 1) % 3:
            table.fail(f"pbft needs n = 3f + 1 replicas (4, 7, 10, ...), not {count}: "
                       "with other n the 2f+1 quorums do not fit")
        defaults = PbftOptions()
        return PbftOptions(
            view_timeout=table.number("view_timeout", defaults.view_timeout, positive=True),
            checkpoint_interval=table.integer("checkpoint_interval",
                                              defaults.checkpoint_interval, minimum=1),
            clients=parse_client_options(table),
        )

    def options_to_dict(self, options: PbftOptions) -> dict[str, Any]:
        return {"view_timeout": options.view_timeout,
                "checkpoint_interval": options.checkpoint_interval,
                } | client_options_to_dict(options.clients)

    def make_node(self, node_id: str, scenario: Any, ctx: Context, variant: str) -> Node:
        replicas = tuple(scenario.nodes_with("replica"))
        cluster = Cluster(replicas, tuple(scenario.nodes_with("client")), scenario.options)
        if "client" in scenario.nodes[node_id]:
            return make_pbft_client(ctx, scenario, scenario.options.clients, cluster.f)
        return VARIANTS[variant].replica(ctx, cluster)

    def client_request(self, value: str, extra: Mapping[str, Any]) -> Submit:
        return Submit(value)

    def checks(self, scenario: Mapping[str, Any]) -> list[StreamCheck]:
        return [ReplicatedLogCheck(self.name, scenario)]

    def visible_state(self, node: Node) -> dict[str, Any]:
        if isinstance(node, Replica):
            return node.state()
        return {"pending": sorted(getattr(getattr(node, "client", None), "pending", {}))}
