"""Raft (Ongaro and Ousterhout, "In Search of an Understandable Consensus
Algorithm", extended version): a replicated log of key-value commands.

**What it guarantees.** Among servers that crash and recover with their
stable storage, over a network that loses, delays, duplicates and reorders
messages: at most one leader per term (*Election Safety*); a leader never
overwrites or deletes its own entries (*Leader Append-Only*); two logs with
an entry of the same index and term are identical up to it (*Log
Matching*); an entry committed in a term is in the log of every leader of a
later term (*Leader Completeness*); so no two servers apply different
commands at one index (*State Machine Safety*), and clients see a
linearizable key-value map. Liveness needs a majority up and connected and
elections that do not keep splitting: election timeouts are randomized for
that.

**How.** Time is divided into terms, each with at most one leader. A
follower that hears from no leader for an election timeout (drawn anew
from [min, max] at each reset) becomes a candidate: it increments
``currentTerm``, votes for itself and asks the others with RequestVote. A
server grants at most one vote per term (``votedFor``, written to stable
storage with ``currentTerm`` before it answers) and only to a candidate
whose log is at least as up to date as its own (a later last term, or the
same last term and at least as long): since a committed entry is on a
majority, and any two majorities meet, a candidate lacking it cannot win.
A candidate with a majority of votes leads; one that times out starts over
in a higher term; any server that sees a higher term adopts it and becomes
a follower.

The leader appends a client's command to its log in its term and sends it
with AppendEntries, which carries the index and term of the entry before
it: a follower accepts only if its own log holds that entry (the
consistency check), deletes a conflicting suffix, and appends. On a
refusal the leader backs ``nextIndex`` off and retries, until the logs
match. ``matchIndex`` records how far each follower is known to match;
an entry of the *current* term stored on a majority is committed, and with
it every entry before it. Entries of earlier terms are never committed by
counting (Figure 8: such an entry, even on a majority, can still be
overwritten by a leader elected without it). Every ``heartbeat_interval``
the leader sends each follower an AppendEntries: empty (a heartbeat), or,
for a follower that has not acknowledged entries sent ``retry_timeout``
ago, those entries again (the paper's "retries indefinitely"); each
carries ``leaderCommit``, from which followers learn what is committed. Every server applies
committed entries in index order to its :class:`KVStore`; the leader
answers the client. Reads go through the log like writes. A new leader
appends a no-op of its term (``leader_noop``), which commits what earlier
leaders left behind.

**How it plugs in.** Servers have the ``replica`` role, clients the
``client`` role: the KV clients, commands and checks are the ones Multi-Paxos
uses (:mod:`paxossim.protocols.replicated`,
:mod:`paxossim.protocols.replicated_checks`). Log indices start at **0**,
as in that replicated log (the paper starts at 1); "no previous entry" is
index -1 with term 0. The decision rule counts an ``accepted`` event, which
a server emits when it stores an entry *in that entry's own term* (the
leader appending, a follower appending from that term's leader): the round
is the entry's term, so "a quorum of accepted events in one round" is
exactly Raft's commit rule, and the checker never counts Figure 8's
old-term entry that a later leader copied to a majority. Entries committed
indirectly are never "decided" by votes; the checker still holds every
server's ``learned`` (emitted as it applies an index) against every
other's. Leadership events reuse the names the replicated-log check reads
(``campaign``, ``elected``, ``deposed``). The rules an honest server keeps,
for the explainer, are in :mod:`paxossim.protocols.raft.safety_rules` (so
``voted`` and ``truncated`` carry the server's last log index, and term).

**Modelled and left out.** The disk: with ``disk_latency`` a server waits
for the write before it answers a vote or an append it had to persist (the
state is in storage when the write starts; a leader counts its own append
at once, as the paper allows). Options from the thesis, off by default:
``pre_vote`` (a server first asks whether a majority would vote for it, so
one cut off from the others does not raise its term and depose a healthy
leader on its return) and ``check_quorum`` (a leader that heard from no
majority for an election timeout steps down); ``read_index`` (reads skip
the log: the leader confirms with a heartbeat round that it still leads,
see :mod:`paxossim.protocols.raft.reads`); ``snapshot_every`` (log
compaction, thesis chapter 5: every K applied entries a server snapshots its
state machine and discards the entries it covers; a leader sends its
snapshot with InstallSnapshot, in one message, to a follower whose
``nextIndex`` is below its first retained index; the follower keeps the
entries after the snapshot if its log matches the snapshot's last entry, and
reports ``installed``, which the replicated-log check reads as state
transfer). Not implemented: membership changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from paxossim.protocols.base import Context, Node
from paxossim.protocols.contract import DecisionRule, EventKind, Protocol, StreamCheck
from paxossim.protocols.raft.account import raft_lines
from paxossim.protocols.raft.checks import RaftCheck
from paxossim.protocols.raft.messages import (
    AppendEntries,
    AppendEntriesReply,
    InstallSnapshot,
    RequestVote,
    RequestVoteReply,
)
from paxossim.protocols.raft.options import RaftOptions, parse_raft_options, raft_options_to_dict
from paxossim.protocols.raft.safety_rules import RULES
from paxossim.protocols.raft.server import Cluster, Server
from paxossim.protocols.raft.variants import VARIANTS
from paxossim.protocols.replicated import (
    CLIENT_EVENTS,
    REPLICA_EVENTS,
    Reply,
    Submit,
    make_client,
)
from paxossim.protocols.replicated_checks import ReplicatedLogCheck
from paxossim.schema import Table

SHARED = tuple(kind for kind in REPLICA_EVENTS if kind.name != "accepted")

EVENTS: tuple[EventKind, ...] = SHARED + CLIENT_EVENTS + (
    EventKind("accepted", ("instance", "term", "value"),
              "{node} stores {value:value} at index {instance} in term {term}"),
    EventKind("campaign", ("term", "last_log_index", "last_log_term"),
              "{node} times out and stands for election in term {term}",
              mark="candidate t{term}", mark_style="note"),
    EventKind("pre_vote", ("term",),
              "{node} times out and asks whether it would be elected in term {term} (pre-vote)"),
    EventKind("voted", ("term", "candidate", "last_log_index", "last_log_term"),
              "{node} votes for {candidate} in term {term}"),
    EventKind("elected", ("term", "votes"), "{node} is elected leader of term {term}",
              mark="{node} leads t{term}", mark_style="leader"),
    EventKind("deposed", ("term", "reason"), "{node} stops leading term {term} ({reason})"),
    EventKind("follows", ("term", "leader"), "{node} follows {leader} in term {term}",
              told=False),
    EventKind("truncated", ("instance", "count", "term", "last_log_index"),
              "{node} deletes {count} conflicting entr(ies) from index {instance} (term {term})",
              mark="truncates @{instance}", mark_style="refusal"),
    EventKind("compacted", ("upto", "term"),
              "{node} snapshots its state and discards its entries before index {upto}",
              told=False),
    EventKind("installed", ("upto", "source"),
              "{node} installs {source}'s snapshot; its log now starts at index {upto}",
              mark="snapshot @{upto}"),
    EventKind("rejected", ("term", "leader", "reason"),
              "{node} ignores {leader}'s AppendEntries of term {term} ({reason})"),
)


class RaftProtocol(Protocol):
    name = "raft"
    description = "Raft: an elected leader replicates clients' commands in a log"
    roles = ("replica", "client")
    messages = (Submit, Reply, RequestVote, RequestVoteReply, AppendEntries, AppendEntriesReply,
                InstallSnapshot)
    events = EVENTS
    decision = DecisionRule(vote="accepted", voters="replica", round="term",
                            instance="instance", learn="learned", proposals=("request",),
                            allowed=("noop_allowed",))
    variants = VARIANTS
    rules = RULES

    def parse_options(self, table: Table, nodes: Mapping[str, tuple[str, ...]]) -> RaftOptions:
        return parse_raft_options(table, nodes)

    def options_to_dict(self, options: RaftOptions) -> dict[str, Any]:
        return raft_options_to_dict(options)

    def make_node(self, node_id: str, scenario: Any, ctx: Context, variant: str) -> Node:
        if "client" in scenario.nodes[node_id]:
            return make_client(ctx, scenario, scenario.options.clients)
        servers = tuple(scenario.nodes_with("replica"))
        cluster = Cluster(servers, scenario.quorums_of(servers), scenario.options)
        return VARIANTS[variant].server(ctx, cluster)

    def client_request(self, value: str, extra: Mapping[str, Any]) -> Submit:
        return Submit(value)

    def checks(self, scenario: Mapping[str, Any]) -> list[StreamCheck]:
        return [ReplicatedLogCheck(self.name, scenario), RaftCheck(self.name, scenario)]

    def account_lines(self, summary: Mapping[str, Any], unit: str) -> list[str]:
        return raft_lines(summary, unit)

    def visible_state(self, node: Node) -> dict[str, Any]:
        if isinstance(node, Server):
            return node.state()
        return {"pending": sorted(getattr(getattr(node, "client", None), "pending", {}))}
