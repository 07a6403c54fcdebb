"""Peer-to-peer replicated log: no leader, every replica proposes for itself.

A replica queues the commands its clients send it and proposes the head of
the queue for its *next free slot* (its first undecided one) with a full
Basic Paxos round: phase 1 and phase 2, for that slot alone. Others do the
same at the same time, so replicas contend for slots:

- preempted (nacks from so many acceptors that no quorum can accept its
  ballot: they promised a higher one), a replica waits a backoff
  (exponential, randomized by ``backoff_jitter``) and tries again;
- an attempt that neither decides nor is nacked within ``attempt_timeout``
  (plus a uniform draw from ``[0, timeout_jitter]``) is retried with a
  higher ballot;
- if the slot is decided with another value (someone else's command, or
  ours adopted by them) the replica moves on to the next free slot, after a
  backoff if it lost the slot.

The winner of a slot tells every replica the decision; an acceptor that
already knows a slot is decided answers a prepare or accept for it with the
decision, which is how a lagging replica catches up. A replica that knows of
a later decision but not of an earlier one fills the gap by proposing a
no-op there (learning the real value, if there was one, from phase 1).

With ``timeout_jitter = 0`` and ``backoff_jitter = 0`` on a constant-latency
network two replicas can preempt each other forever (FLP, shown:
``scenarios/flp_livelock.toml``); any randomization breaks the tie.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from paxossim.protocols.backoff import Backoff, backoff_to_dict, parse_backoff
from paxossim.protocols.base import Context, Message, Node
from paxossim.protocols.contract import EventKind, Protocol, StreamCheck, Variant
from paxossim.protocols.paxos.figures import BallotCount
from paxossim.protocols.paxos.rules import value_to_propose
from paxossim.protocols.paxos.safety_rules import paxos_rules
from paxossim.protocols.quorums import Quorums
from paxossim.protocols.replicated import (
    CLIENT_EVENTS,
    DECISION,
    NOOP,
    REPLICA_EVENTS,
    Ballot,
    ClientOptions,
    KVStore,
    Reply,
    Submit,
    check_nodes,
    client_options_to_dict,
    command_id,
    make_client,
    parse_client_options,
)
from paxossim.protocols.replicated_checks import ReplicatedLogCheck
from paxossim.protocols.replicated_rules import RULES as LOG_RULES
from paxossim.schema import Table

# -- messages -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Prepare(Message):
    TYPE: ClassVar[str] = "prepare"
    slot: int
    ballot: Ballot


@dataclass(frozen=True, slots=True)
class Promise(Message):
    TYPE: ClassVar[str] = "promise"
    slot: int
    ballot: Ballot
    accepted_ballot: Ballot | None
    accepted_value: str | None


@dataclass(frozen=True, slots=True)
class Accept(Message):
    TYPE: ClassVar[str] = "accept"
    slot: int
    ballot: Ballot
    value: str


@dataclass(frozen=True, slots=True)
class Accepted(Message):
    TYPE: ClassVar[str] = "accepted"
    slot: int
    ballot: Ballot


@dataclass(frozen=True, slots=True)
class Nack(Message):
    TYPE: ClassVar[str] = "nack"
    slot: int
    ballot: Ballot
    promised: Ballot


@dataclass(frozen=True, slots=True)
class Decided(Message):
    TYPE: ClassVar[str] = "decided"
    slot: int
    value: str


# -- options ------------------------------------------------------------------


@dataclass(frozen=True)
class P2POptions:
    attempt_timeout: float = 100.0
    timeout_jitter: float = 50.0
    """Width of the randomized part of the attempt timeout (0: fixed timeouts)."""
    backoff: Backoff = field(default_factory=lambda: Backoff(max=500.0))
    """The randomized wait after losing a slot's ballot."""
    gap_timeout: float = 100.0
    """How long a replica waits before it fills a gap in its log with a no-op."""
    clients: ClientOptions = field(default_factory=ClientOptions)


@dataclass(frozen=True)
class Cluster:
    replicas: tuple[str, ...]
    quorums: Quorums
    options: P2POptions


# -- the replica --------------------------------------------------------------


class Peer(Node):
    """Acceptor and learner of every slot, proposer for its own clients."""

    def __init__(self, ctx: Context, cluster: Cluster) -> None:
        super().__init__(ctx)
        self.cluster = cluster
        self.options = cluster.options
        storage = ctx.storage
        # Durable: per-slot promise and vote, decisions, the state machine.
        self.slots: dict[int, list[Any]] = storage.setdefault("slots", {})
        self.decided: dict[int, str] = storage.setdefault("decided", {})
        self.kv = KVStore(storage, self.options.clients.session_window)
        storage.setdefault("applied", 0)
        storage.setdefault("highest", 0)
        self.first_undecided = 0
        while self.first_undecided in self.decided:
            self.first_undecided += 1
        # Volatile proposer state.
        self.queue: deque[str] = deque()
        self.waiting: dict[str, str] = {}
        self.phase = "idle"  # idle | prepare | accept | backoff
        self.slot = -1
        self.ballot: Ballot | None = None
        self.value: str | None = None
        self.promises: dict[str, Promise] = {}
        self.votes: dict[Ballot, set[str]] = {}
        """Accepted votes for each ballot we sent accepts in, for the current slot."""
        self.proposed: dict[Ballot, str] = {}
        self.nacks: set[str] = set()
        self.preemptions = 0
        self.gap_armed = False

    def note(self, ballot: Ballot) -> None:
        if ballot[0] > self.ctx.storage["highest"]:
            self.ctx.storage["highest"] = ballot[0]

    def on_start(self) -> None:
        self.ctx.emit("noop_allowed", value=NOOP)
        self.check_gap()

    # -- proposer ------------------------------------------------------------
    def on_submit(self, src: str, msg: Submit) -> None:
        cid = command_id(msg.command)
        if self.kv.executed(cid):
            self.ctx.send(src, Reply(cid, True, self.kv.result(cid)))
            return
        self.waiting[cid] = src
        if msg.command not in self.queue:
            self.queue.append(msg.command)
        if self.phase == "idle":
            self.start()

    def has_gap(self) -> bool:
        return bool(self.decided) and self.first_undecided < max(self.decided)

    def start(self) -> None:
        """Try for the next free slot: our queue's head, or a no-op to fill a gap."""
        if not self.queue and not self.has_gap():
            self.phase = "idle"
            return
        number = self.ctx.storage["highest"] + 1
        self.ctx.storage["highest"] = number
        if self.slot != self.first_undecided:
            self.votes, self.proposed = {}, {}
        self.slot = self.first_undecided
        self.ballot = (number, self.ctx.node_id)
        self.value = self.queue[0] if self.queue else None
        self.phase = "prepare"
        self.promises = {}
        self.nacks = set()
        self.ctx.emit("propose", instance=self.slot, ballot=self.ballot,
                      value=self.value, attempt=self.preemptions + 1)
        prepare = Prepare(self.slot, self.ballot)
        for replica in self.cluster.replicas:
            self.ctx.send(replica, prepare)
        jitter = self.options.timeout_jitter * self.ctx.rng.random()
        self.ctx.set_timer("attempt", self.options.attempt_timeout + jitter)

    def current(self, slot: int, ballot: Ballot) -> bool:
        return slot == self.slot and ballot == self.ballot

    def on_promise(self, src: str, msg: Promise) -> None:
        if self.phase != "prepare" or not self.current(msg.slot, msg.ballot):
            return
        self.promises[src] = msg
        if not self.cluster.quorums.is_phase1(self.promises):
            return
        value, highest = self.choose_value()
        self.phase = "accept"
        self.value = value
        self.nacks = set()
        self.ctx.emit("phase2", instance=self.slot, ballot=self.ballot, value=value,
                      adopted_from=highest)
        assert self.ballot is not None
        self.votes[self.ballot] = set()
        self.proposed[self.ballot] = value
        accept = Accept(self.slot, self.ballot, value)
        for replica in self.cluster.replicas:
            self.ctx.send(replica, accept)

    def choose_value(self) -> tuple[str, Ballot | None]:
        """Phase 2a's rule: the value of the highest-ballot vote reported for the
        slot, else our client's command (or a no-op when filling a gap)."""
        own = self.value if self.value is not None else NOOP
        return value_to_propose(own, ((p.accepted_ballot, p.accepted_value)
                                      for p in self.promises.values()))

    def on_accepted(self, src: str, msg: Accepted) -> None:
        # Votes count for any ballot of ours in this slot, even one we have
        # since abandoned on a timeout: a majority in one ballot chose its value.
        voters = self.votes.get(msg.ballot)
        if msg.slot != self.slot or voters is None or msg.slot in self.decided:
            return
        voters.add(src)
        if self.cluster.quorums.is_phase2(voters):
            value = self.proposed[msg.ballot]
            decided = Decided(self.slot, value)
            for replica in self.cluster.replicas:
                if replica != self.ctx.node_id:
                    self.ctx.send(replica, decided)
            self.learn(self.slot, value)

    def on_nack(self, src: str, msg: Nack) -> None:
        self.note(msg.promised)
        if self.phase not in ("prepare", "accept") or not self.current(msg.slot, msg.ballot):
            return
        # Give up on this ballot only once a quorum can no longer answer yes: one
        # acceptor that promised higher does not stop the others from choosing ours.
        self.nacks.add(src)
        if len(self.nacks) <= len(self.cluster.replicas) - self.cluster.quorums.phase2:
            return
        self.preemptions += 1
        self.phase = "backoff"
        delay = self.options.backoff.delay(self.preemptions, self.ctx.rng.random())
        self.ctx.emit("preempted", instance=self.slot, ballot=self.ballot, by=msg.promised,
                      backoff=delay)
        self.ctx.set_timer("attempt", delay)

    def on_timer(self, name: str) -> None:
        if name == "attempt" and self.phase != "idle":
            if self.phase in ("prepare", "accept"):
                self.ctx.emit("timeout", instance=self.slot, ballot=self.ballot,
                              phase=self.phase)
            self.start()
        elif name == "gap":
            self.gap_armed = False
            if self.phase == "idle":
                self.start()

    def check_gap(self) -> None:
        # Armed once, not re-armed on every decision: a steady stream of later
        # decisions must not postpone the filling of a gap forever.
        if self.phase == "idle" and self.has_gap() and not self.gap_armed:
            self.gap_armed = True
            self.ctx.set_timer("gap", self.options.gap_timeout)

    # -- acceptor ------------------------------------------------------------
    def on_prepare(self, src: str, msg: Prepare) -> None:
        self.note(msg.ballot)
        if msg.slot in self.decided:
            self.ctx.send(src, Decided(msg.slot, self.decided[msg.slot]))
            return
        state = self.slots.setdefault(msg.slot, [None, None, None])
        promised = state[0]
        if promised is not None and msg.ballot < promised:
            self.ctx.send(src, Nack(msg.slot, msg.ballot, promised))
            return
        state[0] = msg.ballot
        self.ctx.emit("promised", instance=msg.slot, ballot=msg.ballot,
                      accepted_ballot=state[1], accepted_value=state[2])
        self.ctx.send(src, Promise(msg.slot, msg.ballot, state[1], state[2]))

    def on_accept(self, src: str, msg: Accept) -> None:
        self.note(msg.ballot)
        if msg.slot in self.decided:
            self.ctx.send(src, Decided(msg.slot, self.decided[msg.slot]))
            return
        state = self.slots.setdefault(msg.slot, [None, None, None])
        promised = state[0]
        if promised is not None and msg.ballot < promised:
            self.ctx.send(src, Nack(msg.slot, msg.ballot, promised))
            return
        state[0] = state[1] = msg.ballot
        state[2] = msg.value
        self.ctx.emit("accepted", instance=msg.slot, ballot=msg.ballot, value=msg.value)
        self.ctx.send(src, Accepted(msg.slot, msg.ballot))

    # -- learner -------------------------------------------------------------
    def learn(self, slot: int, value: str) -> None:
        previous = self.decided.get(slot)
        if previous == value:
            return
        # A second, different value is reported anyway: the checker must see it.
        self.decided[slot] = value
        self.slots.pop(slot, None)
        self.ctx.emit("learned", instance=slot, value=value)
        while self.first_undecided in self.decided:
            self.first_undecided += 1
        if value in self.queue:
            self.queue.remove(value)
        self.apply_ready()
        if self.phase != "idle" and self.slot < self.first_undecided:
            # Our slot is taken: on to the next free one, at once if we won it;
            # after a randomized backoff if someone else did, so that replicas
            # that all learned the decision at the same moment do not collide
            # again (and the one with the lowest id, losing every tie, starve).
            self.ctx.cancel_timer("attempt")
            if value == self.value or not self.queue:
                self.preemptions = 0
                self.start()
            else:
                self.preemptions += 1
                self.phase = "backoff"
                delay = self.options.backoff.delay(self.preemptions, self.ctx.rng.random())
                self.ctx.set_timer("attempt", delay)
        self.check_gap()

    def apply_ready(self) -> None:
        storage = self.ctx.storage
        while storage["applied"] in self.decided:
            slot = storage["applied"]
            value = self.decided[slot]
            executed, result = self.kv.apply(value)
            storage["applied"] = slot + 1
            self.ctx.emit("applied", instance=slot, value=value, executed=executed)
            if value == NOOP:
                continue
            cid = command_id(value)
            client = self.waiting.pop(cid, None)
            if client is not None:
                self.ctx.send(client, Reply(cid, True, result))

    # -- dispatch ------------------------------------------------------------
    def on_message(self, src: str, msg: Message) -> None:
        match msg:
            case Prepare():
                self.on_prepare(src, msg)
            case Promise():
                self.on_promise(src, msg)
            case Accept():
                self.on_accept(src, msg)
            case Accepted():
                self.on_accepted(src, msg)
            case Decided():
                self.learn(msg.slot, msg.value)
            case Nack():
                self.on_nack(src, msg)
            case Submit():
                self.on_submit(src, msg)


# -- broken variants ------------------------------------------------------------


class IgnoreAcceptedValuesPeer(Peer):
    """Proposes its own command in a slot it won phase 1 for, even when a
    promise reports another value already accepted there."""

    def choose_value(self) -> tuple[str, Ballot | None]:
        return (self.value if self.value is not None else NOOP), None


PEERS: dict[str, type[Peer]] = {"correct": Peer, "ignore-accepted-values": IgnoreAcceptedValuesPeer}

VARIANTS: dict[str, Variant] = {
    "correct": Variant("every replica runs Basic Paxos per slot for its clients' commands"),
    "ignore-accepted-values": Variant(
        "a replica that wins phase 1 for a slot proposes its own command even when a promise"
        " reports another value already accepted there"),
}

EVENTS: tuple[EventKind, ...] = REPLICA_EVENTS + CLIENT_EVENTS + (
    EventKind("propose", ("instance", "ballot", "value", "attempt"),
              "{node} proposes {value:value} for slot {instance} with ballot {ballot:ballot}"),
    EventKind("promised", ("instance", "ballot", "accepted_ballot", "accepted_value"),
              "{node} promises ballot {ballot:ballot} for slot {instance}",
              details=(("accepted_ballot", ", reporting {accepted_value:value} accepted at "
                        "{accepted_ballot:ballot}"),)),
    EventKind("phase2", ("instance", "ballot", "value", "adopted_from"),
              "{node} asks to accept {value:value} in slot {instance} at {ballot:ballot}",
              details=(("adopted_from", ", adopted from ballot {adopted_from:ballot}"),)),
    EventKind("preempted", ("instance", "ballot", "by", "backoff"),
              "{node} is preempted by ballot {by:ballot}"),
    EventKind("timeout", ("instance", "ballot", "phase"),
              "{node} times out waiting in {phase} for ballot {ballot:ballot}"),
)


# -- the family ---------------------------------------------------------------


class P2PProtocol(Protocol):
    name = "p2p"
    description = "Peer-to-peer replicated log: every replica proposes per slot, with backoff"

    roles = ("replica", "client")
    messages = (Submit, Reply, Prepare, Promise, Accept, Accepted, Nack, Decided)
    events = EVENTS
    decision = DECISION
    variants = VARIANTS
    # Basic Paxos per slot; a replica learns from the proposer's Decided, so no learner rule.
    rules = paxos_rules("p2p", instance="instance", slot="slot", learner=False) + LOG_RULES

    def parse_options(self, table: Table, nodes: Mapping[str, tuple[str, ...]]) -> P2POptions:
        defaults = P2POptions()
        check_nodes(table, nodes)
        return P2POptions(
            attempt_timeout=table.number(
                "attempt_timeout", defaults.attempt_timeout, positive=True),
            timeout_jitter=table.number("timeout_jitter", defaults.timeout_jitter, minimum=0),
            backoff=parse_backoff(table, defaults.backoff),
            gap_timeout=table.number("gap_timeout", defaults.gap_timeout, positive=True),
            clients=parse_client_options(table),
        )

    def options_to_dict(self, options: P2POptions) -> dict[str, Any]:
        return {
            "attempt_timeout": options.attempt_timeout,
            "timeout_jitter": options.timeout_jitter,
            "gap_timeout": options.gap_timeout,
        } | backoff_to_dict(options.backoff) | client_options_to_dict(options.clients)

    def make_node(self, node_id: str, scenario: Any, ctx: Context, variant: str) -> Node:
        if "client" in scenario.nodes[node_id]:
            return make_client(ctx, scenario, scenario.options.clients)
        replicas = tuple(scenario.nodes_with("replica"))
        cluster = Cluster(replicas, scenario.quorums_of(replicas), scenario.options)
        return PEERS[variant](ctx, cluster)

    def client_request(self, value: str, extra: Mapping[str, Any]) -> Submit:
        return Submit(value)

    def checks(self, scenario: Mapping[str, Any]) -> list[StreamCheck]:
        return [ReplicatedLogCheck(self.name, scenario), BallotCount(self.name)]

    def visible_state(self, node: Node) -> dict[str, Any]:
        if not isinstance(node, Peer):
            return {}
        return {"phase": node.phase, "slot": node.slot, "ballot": node.ballot,
                "first_undecided": node.first_undecided}
