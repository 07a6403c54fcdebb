"""Multi-Paxos, leader-replica: a replicated log of key-value commands.

Every ``replica`` is acceptor, learner and would-be leader. A replica whose
randomized election timer fires *campaigns*: it runs phase 1 once, with a
ballot ``(number, id)`` higher than any it has seen, for every slot from its
first undecided one on. Acceptors promise and report what they accepted (and
what they know decided) in those slots. With a majority of promises the
candidate is *elected*: it re-proposes, per slot, the value of the highest
ballot reported, fills the gaps with no-ops, and from then on runs only
phase 2 per slot for clients' commands, at most ``window`` slots ahead of the
first undecided one.

A follower's election timer starts with a *probe* (pre-vote) that spends no
ballot: only if a majority has not heard from a leader lately does it
campaign, so a replica cut off from the others cannot come back with a huge
ballot and depose a healthy leader.

The leader learns a slot decided when a majority accepted it; followers learn
it from the commit index that accepts and heartbeats carry (a follower that
accepted the slot in the leader's ballot holds the decided value), and a
lagging follower is sent the decisions it misses (*catch-up*). Every replica
applies decided commands in slot order to its :class:`KVStore`; the leader
answers the client. Heartbeats keep followers from campaigning; a leader that
hears from no majority for a full election timeout steps down, so a leader
cut off by a partition stops taking commands.

A long-lived log *compacts*: the leader tracks each replica's first
undecided slot (from its acks) and sends the lowest of them with accepts and
heartbeats; every replica then drops its votes and decisions below it. A slot
is forgotten only once every replica has applied it, so catch-up (which
starts at a replica's own first undecided slot) and a new leader's phase 1
(which starts at the candidate's) never need a forgotten slot, and no state
snapshot has to travel. The price: a replica that stays down holds the
others' logs at the slot it stopped at until it comes back.

Catch-up answers an ack only when it reports progress, or repeats after a
heartbeat interval (the batch may have been lost): with duplicating links,
stale copies of old acks must not each trigger a batch of their own, whose
answers are duplicated again (a message storm).

Reads go through the log like writes. The ``stale-read-leader`` variant
answers reads from the leader's own state instead and keeps believing it
leads until it hears of a higher ballot: cut off by a partition, it serves
stale reads, which the linearizability check must catch.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from paxossim.protocols.base import Context, Message, Node
from paxossim.protocols.contract import EventKind, Protocol, StreamCheck, Variant
from paxossim.protocols.quorums import Quorums
from paxossim.protocols.replicated import (
    CLIENT_EVENTS,
    DECISION,
    NOOP,
    REPLICA_EVENTS,
    Ballot,
    ClientOptions,
    ElectionTimer,
    KVStore,
    Reply,
    Submit,
    check_nodes,
    client_options_to_dict,
    command_id,
    make_client,
    parse_client_options,
    parse_command,
)
from paxossim.protocols.replicated_checks import ReplicatedLogCheck
from paxossim.protocols.replicated_rules import RULES
from paxossim.schema import Table

Entry = tuple[int, Ballot, str]
"""(slot, accepted ballot, accepted value), as a promise reports it."""


# -- messages -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Probe(Message):
    """Pre-vote: would you support an election now? (No ballot is spent on asking.)"""

    TYPE: ClassVar[str] = "probe"


@dataclass(frozen=True, slots=True)
class ProbeReply(Message):
    TYPE: ClassVar[str] = "probe_reply"
    granted: bool


@dataclass(frozen=True, slots=True)
class Prepare(Message):
    TYPE: ClassVar[str] = "prepare"
    ballot: Ballot
    low: int
    """Phase 1 covers every slot from ``low`` on."""


@dataclass(frozen=True, slots=True)
class Promise(Message):
    TYPE: ClassVar[str] = "promise"
    ballot: Ballot
    accepted: tuple[Entry, ...]
    decided: tuple[tuple[int, str], ...]


@dataclass(frozen=True, slots=True)
class Accept(Message):
    TYPE: ClassVar[str] = "accept"
    ballot: Ballot
    slot: int
    value: str
    commit: int
    """Every slot below ``commit`` is decided at the leader."""
    compact: int = 0
    """Every replica has applied every slot below ``compact`` (see Replica.compact)."""


@dataclass(frozen=True, slots=True)
class Accepted(Message):
    TYPE: ClassVar[str] = "accepted"
    ballot: Ballot
    slot: int
    upto: int
    """The sender's first undecided slot (tells the leader whether it lags)."""


@dataclass(frozen=True, slots=True)
class Heartbeat(Message):
    TYPE: ClassVar[str] = "heartbeat"
    ballot: Ballot
    commit: int
    compact: int = 0


@dataclass(frozen=True, slots=True)
class HeartbeatAck(Message):
    TYPE: ClassVar[str] = "heartbeat_ack"
    ballot: Ballot
    upto: int


@dataclass(frozen=True, slots=True)
class Decisions(Message):
    """Catch-up: decided values a lagging replica is missing."""

    TYPE: ClassVar[str] = "decisions"
    ballot: Ballot
    entries: tuple[tuple[int, str], ...]


@dataclass(frozen=True, slots=True)
class Nack(Message):
    TYPE: ClassVar[str] = "nack"
    ballot: Ballot
    promised: Ballot


# -- options ------------------------------------------------------------------


@dataclass(frozen=True)
class MultiPaxosOptions:
    heartbeat_interval: float = 50.0
    election_timeout_min: float = 150.0
    election_timeout_max: float = 300.0
    """A follower campaigns after a silence drawn uniformly from [min, max]."""
    window: int = 8
    """Slots the leader may have in phase 2 beyond its first undecided one."""
    catchup_batch: int = 128
    preferred_leader: str | None = None
    """A replica that campaigns at once when it first boots (so a scenario knows
    who leads first); None: every replica waits for its election timer."""
    clients: ClientOptions = field(default_factory=ClientOptions)


@dataclass(frozen=True)
class Cluster:
    replicas: tuple[str, ...]
    quorums: Quorums
    options: MultiPaxosOptions


# -- the replica --------------------------------------------------------------


class Replica(ElectionTimer, Node):
    """Acceptor, learner and (when elected) leader of the replicated log."""

    def __init__(self, ctx: Context, cluster: Cluster) -> None:
        super().__init__(ctx)
        self.cluster = cluster
        self.options = cluster.options
        storage = ctx.storage
        # Durable: promise, votes, decisions and the applied state machine.
        storage.setdefault("promised", None)
        self.accepted: dict[int, tuple[Ballot, str]] = storage.setdefault("accepted", {})
        self.decided: dict[int, str] = storage.setdefault("decided", {})
        self.kv = KVStore(storage, self.options.clients.session_window)
        storage.setdefault("applied", 0)
        storage.setdefault("highest", 0)
        storage.setdefault("base", 0)
        """Slots below ``base`` are compacted away: applied by every replica."""
        # Volatile.
        self.role = "follower"  # follower | probing | candidate | leader
        self.leader: str | None = None
        self.heard_leader = -1.0
        """When we last heard from the leader we follow."""
        self.grants: set[str] = set()
        self.parked: dict[str, str] = {}
        """Clients that asked while we knew no leader: told who leads once we know."""
        self.ballot: Ballot | None = None
        self.promises: dict[str, Promise] = {}
        self.first_undecided = storage["base"]
        while self.first_undecided in self.decided:
            self.first_undecided += 1
        self.unlearned: set[int] = {s for s in self.accepted if s not in self.decided}
        # Leader state (reset on each election).
        self.next_slot = 0
        self.proposals: dict[int, str] = {}
        self.proposed_at: dict[int, float] = {}
        """When each undecided slot's accept was last sent (see resend_stalled)."""
        self.votes: dict[int, set[str]] = {}
        self.queue: deque[str] = deque()
        self.in_flight: set[str] = set()
        self.waiting: dict[str, str] = {}
        self.last_ack: dict[str, float] = {}
        self.last_sent: dict[str, float] = {}
        self.catchup_sent: dict[str, tuple[int, float]] = {}
        """Per replica: the ``upto`` its last catch-up batch answered, and when."""
        self.known_upto: dict[str, int] = {}
        """Each replica's highest reported first undecided slot (never decreases:
        decisions are durable), from which the leader derives the compaction point."""

    @property
    def promised(self) -> Ballot | None:
        return self.ctx.storage["promised"]

    def promise(self, ballot: Ballot) -> None:
        self.ctx.storage["promised"] = ballot
        self.note(ballot)

    def note(self, ballot: Ballot) -> None:
        if ballot[0] > self.ctx.storage["highest"]:
            self.ctx.storage["highest"] = ballot[0]

    # -- lifecycle and timers -------------------------------------------------
    def election_timeouts(self) -> tuple[float, float]:
        return self.options.election_timeout_min, self.options.election_timeout_max

    def on_timer(self, name: str) -> None:
        if name == "election" and self.role != "leader":
            self.probe()
        elif name == "heartbeat" and self.role == "leader":
            self.heartbeat()

    def broadcast(self, msg: Message) -> None:
        for replica in self.cluster.replicas:
            self.ctx.send(replica, msg)

    # -- election ------------------------------------------------------------
    def probe(self) -> None:
        """Pre-vote (as in Raft's PreVote): campaign only if a majority would take part.

        Why: a replica cut off from the others would otherwise campaign again
        and again, each time with a higher ballot, and on rejoining depose a
        healthy leader with it. Probing spends no ballot, so it cannot.
        """
        self.role = "probing"
        self.grants = {self.ctx.node_id}
        for replica in self.cluster.replicas:
            if replica != self.ctx.node_id:
                self.ctx.send(replica, Probe())
        self.reset_election_timer()
        if self.cluster.quorums.is_phase1(self.grants):
            self.campaign()

    def on_probe(self, src: str) -> None:
        """Grant unless we lead, or heard from a leader within the shortest election timeout."""
        recent = self.ctx.now - self.heard_leader < self.options.election_timeout_min
        granted = self.role != "leader" and not (self.leader is not None and recent)
        self.ctx.send(src, ProbeReply(granted))

    def on_probe_reply(self, src: str, msg: ProbeReply) -> None:
        if self.role != "probing" or not msg.granted:
            return
        self.grants.add(src)
        if self.cluster.quorums.is_phase1(self.grants):
            self.campaign()

    def campaign(self) -> None:
        promised = self.promised
        number = max(self.ctx.storage["highest"], promised[0] if promised else 0) + 1
        self.ballot = (number, self.ctx.node_id)
        self.promise(self.ballot)
        self.role = "candidate"
        self.leader = None
        self.promises = {}
        self.ctx.emit("campaign", ballot=self.ballot, low=self.first_undecided)
        self.broadcast(Prepare(self.ballot, self.first_undecided))
        self.reset_election_timer()

    def on_prepare(self, src: str, msg: Prepare) -> None:
        promised = self.promised
        if promised is not None and msg.ballot < promised:
            self.ctx.send(src, Nack(msg.ballot, promised))
            return
        self.promise(msg.ballot)
        if src != self.ctx.node_id:
            self.step_down("preempted", msg.ballot)
            self.reset_election_timer()
        accepted = tuple(sorted(
            (slot, ballot, value) for slot, (ballot, value) in self.accepted.items()
            if slot >= msg.low and slot not in self.decided
        ))
        decided = tuple(sorted(
            (slot, value) for slot, value in self.decided.items() if slot >= msg.low
        ))
        self.ctx.emit("promised", ballot=msg.ballot, low=msg.low, reported=len(accepted))
        self.ctx.send(src, Promise(msg.ballot, accepted, decided))

    def on_promise(self, src: str, msg: Promise) -> None:
        if self.role != "candidate" or msg.ballot != self.ballot:
            return
        self.promises[src] = msg
        if self.cluster.quorums.is_phase1(self.promises):
            self.become_leader()

    def become_leader(self) -> None:
        assert self.ballot is not None
        self.role = "leader"
        self.leader = self.ctx.node_id
        self.ctx.cancel_timer("election")
        self.ctx.emit("elected", ballot=self.ballot)
        self.ctx.emit("noop_allowed", value=NOOP)
        best: dict[int, tuple[Ballot, str]] = {}
        top = max(self.first_undecided - 1, max(self.decided, default=-1))
        for promise in self.promises.values():
            for slot, value in promise.decided:
                self.learn(slot, value)
                top = max(top, slot)
            for slot, ballot, value in promise.accepted:
                if slot not in best or ballot > best[slot][0]:
                    best[slot] = (ballot, value)
                top = max(top, slot)
        self.proposals, self.votes, self.proposed_at = {}, {}, {}
        self.catchup_sent = {}
        self.last_ack = dict.fromkeys(self.promises, self.ctx.now)
        self.last_sent = {}
        self.next_slot = top + 1
        for slot in range(self.first_undecided, self.next_slot):
            if slot not in self.decided:
                value = best[slot][1] if slot in best else NOOP
                self.ctx.emit("recover_slot", instance=slot, value=value)
                self.propose(slot, value)
        self.heartbeat()
        self.pump()  # commands that clients sent us while we campaigned

    def step_down(self, reason: str, ballot: Ballot | None = None) -> None:
        """Stop leading or campaigning (a higher ballot, or no majority in reach)."""
        if self.role == "leader":
            self.ctx.emit("deposed", ballot=self.ballot, reason=reason, by=ballot)
            self.ctx.cancel_timer("heartbeat")
        if self.role != "follower":
            self.role = "follower"
            self.queue.clear()
            self.in_flight = set()
            self.reset_election_timer()
        self.leader = ballot[1] if ballot is not None and reason != "lost quorum" else None

    def follow(self, src: str, ballot: Ballot) -> None:
        """A message from the leader of ``ballot``: accept it as leader, stay quiet."""
        if src == self.ctx.node_id:
            return
        if self.role != "follower":
            self.step_down("preempted", ballot)
        self.leader = ballot[1]
        self.heard_leader = self.ctx.now
        self.reset_election_timer()
        for cid, client in self.parked.items():
            self.ctx.send(client, Reply(cid, False, leader=self.leader))
        self.parked.clear()

    def on_nack(self, msg: Nack) -> None:
        self.note(msg.promised)
        if msg.ballot == self.ballot and self.role != "follower":
            self.step_down("preempted", msg.promised)

    # -- leader: phase 2 -----------------------------------------------------
    def propose(self, slot: int, value: str) -> None:
        assert self.ballot is not None
        self.proposals[slot] = value
        self.votes[slot] = set()
        self.send_accept(slot, self.cluster.replicas)

    def send_accept(self, slot: int, replicas: Iterable[str]) -> None:
        assert self.ballot is not None
        accept = Accept(self.ballot, slot, self.proposals[slot], self.first_undecided,
                        self.ctx.storage["base"])
        now = self.ctx.now
        self.proposed_at[slot] = now
        for replica in replicas:
            self.last_sent[replica] = now
            self.ctx.send(replica, accept)

    def resend_stalled(self) -> None:
        """Resend each undecided slot's accept to the replicas that have not voted.

        An accept or its answer may be lost; without this a slot whose votes
        were lost stays undecided for good, and every later slot waits behind
        it (replicas apply in slot order). Once per heartbeat interval at most.
        """
        now = self.ctx.now
        for slot in list(self.proposals):
            if now - self.proposed_at[slot] >= self.options.heartbeat_interval:
                voters = self.votes[slot]
                self.send_accept(slot, [r for r in self.cluster.replicas if r not in voters])

    def pump(self) -> None:
        window = self.options.window
        while self.queue and self.next_slot - self.first_undecided < window:
            slot = self.next_slot
            self.next_slot += 1
            self.propose(slot, self.queue.popleft())

    def on_submit(self, src: str, msg: Submit) -> None:
        cid = command_id(msg.command)
        if self.kv.executed(cid):
            self.ctx.send(src, Reply(cid, True, self.kv.result(cid)))
            return
        if self.role == "follower" and self.leader is None:
            self.parked[cid] = src
            return
        if self.role not in ("leader", "candidate", "probing"):
            self.ctx.send(src, Reply(cid, False, leader=self.leader))
            return
        if self.serves_read_locally(src, cid, msg.command):
            return
        self.waiting[cid] = src
        if cid in self.in_flight:
            return  # a retry of a command already in the log or the queue
        self.in_flight.add(cid)
        self.queue.append(msg.command)
        if self.role == "leader":
            self.pump()

    def on_accepted(self, src: str, msg: Accepted) -> None:
        if self.role != "leader" or msg.ballot != self.ballot:
            return
        self.last_ack[src] = self.ctx.now
        self.note_upto(src, msg.upto)
        # A follower in a busy pipeline always lags a little and learns those
        # slots from the next commit index; only a real gap needs the decisions
        # sent (heartbeat answers, when the pipeline is idle, catch up the rest).
        if self.first_undecided - msg.upto > self.options.window:
            self.catch_up(src, msg.upto)
        voters = self.votes.get(msg.slot)
        if voters is None:
            return
        voters.add(src)
        if self.cluster.quorums.is_phase2(voters):
            value = self.proposals.pop(msg.slot)
            del self.votes[msg.slot], self.proposed_at[msg.slot]
            self.learn(msg.slot, value)
            self.pump()

    def heartbeat(self) -> None:
        assert self.ballot is not None
        now = self.ctx.now
        interval = self.options.heartbeat_interval
        if self.lost_quorum(now):
            self.step_down("lost quorum")
            return
        self.resend_stalled()
        beat = Heartbeat(self.ballot, self.first_undecided, self.ctx.storage["base"])
        for replica in self.cluster.replicas:
            # An accept sent within the interval already told it we lead.
            if replica != self.ctx.node_id and now - self.last_sent.get(replica, -interval) \
                    >= interval:
                self.last_sent[replica] = now
                self.ctx.send(replica, beat)
        self.ctx.set_timer("heartbeat", interval)

    def serves_read_locally(self, src: str, cid: str, command: str) -> bool:
        """Reads go through the log like writes (a hook for the stale-read variant)."""
        return False

    def lost_quorum(self, now: float) -> bool:
        """A leader that heard from no phase-2 quorum within an election timeout
        steps down: a partitioned leader must stop taking commands."""
        horizon = now - self.options.election_timeout_max
        heard = [r for r in self.cluster.replicas
                 if r == self.ctx.node_id or self.last_ack.get(r, -1.0) >= horizon]
        return not self.cluster.quorums.is_phase2(heard)

    def on_heartbeat_ack(self, src: str, msg: HeartbeatAck) -> None:
        if self.role == "leader" and msg.ballot == self.ballot:
            self.last_ack[src] = self.ctx.now
            self.note_upto(src, msg.upto)
            self.catch_up(src, msg.upto)

    def note_upto(self, replica: str, upto: int) -> None:
        """Record a replica's progress; compact below the slowest replica's."""
        if upto <= self.known_upto.get(replica, -1):
            return
        self.known_upto[replica] = upto
        me = self.ctx.node_id
        self.compact(min(self.first_undecided if r == me else self.known_upto.get(r, 0)
                         for r in self.cluster.replicas))

    def catch_up(self, replica: str, upto: int) -> None:
        """Send a lagging replica the decisions it misses: one batch per ack that
        reports progress, or per heartbeat interval while it reports none.

        Why not one batch per ack: links duplicate and delay, so acks arrive
        stale and many times; answering each with a batch whose copies are
        acked again multiplies messages without bound (issue 13, item 4).
        """
        if upto >= self.first_undecided:
            return
        now = self.ctx.now
        last = self.catchup_sent.get(replica)
        if last is not None and (upto < last[0] or (
                upto == last[0] and now - last[1] < self.options.heartbeat_interval)):
            return
        assert self.ballot is not None
        self.catchup_sent[replica] = (upto, now)
        end = min(self.first_undecided, upto + self.options.catchup_batch)
        entries = tuple((s, self.decided[s]) for s in range(upto, end) if s in self.decided)
        self.ctx.send(replica, Decisions(self.ballot, entries))

    # -- acceptor and learner ------------------------------------------------
    def on_accept(self, src: str, msg: Accept) -> None:
        promised = self.promised
        if promised is not None and msg.ballot < promised:
            self.ctx.send(src, Nack(msg.ballot, promised))
            return
        self.promise(msg.ballot)
        self.follow(src, msg.ballot)
        if msg.slot >= self.ctx.storage["base"]:
            self.accepted[msg.slot] = (msg.ballot, msg.value)
            if msg.slot not in self.decided:
                self.unlearned.add(msg.slot)
        self.ctx.emit("accepted", instance=msg.slot, ballot=msg.ballot, value=msg.value)
        self.commit(msg.ballot, msg.commit)
        self.compact(msg.compact)
        self.ctx.send(src, Accepted(msg.ballot, msg.slot, self.first_undecided))

    def on_heartbeat(self, src: str, msg: Heartbeat) -> None:
        promised = self.promised
        if promised is not None and msg.ballot < promised:
            self.ctx.send(src, Nack(msg.ballot, promised))
            return
        self.promise(msg.ballot)
        self.follow(src, msg.ballot)
        self.commit(msg.ballot, msg.commit)
        self.compact(msg.compact)
        self.ctx.send(src, HeartbeatAck(msg.ballot, self.first_undecided))

    def on_decisions(self, src: str, msg: Decisions) -> None:
        promised = self.promised
        if promised is None or msg.ballot >= promised:
            self.follow(src, msg.ballot)
        for slot, value in msg.entries:
            self.learn(slot, value)
        if promised is None or msg.ballot >= promised:
            self.ctx.send(src, HeartbeatAck(msg.ballot, self.first_undecided))

    def commit(self, ballot: Ballot, commit: int) -> None:
        """Learn the slots below the leader's commit index that we accepted in its ballot:
        in one ballot the leader proposes one value per slot, so ours is the decided one."""
        for slot in sorted(s for s in self.unlearned if s < commit):
            accepted_ballot, value = self.accepted[slot]
            if accepted_ballot == ballot:
                self.learn(slot, value)

    def compact(self, point: int) -> None:
        """Forget votes and decisions below ``point``, a slot every replica has applied.

        Capped at our own first undecided slot, so nothing not yet applied here
        is dropped, whatever a message claims.
        """
        storage = self.ctx.storage
        base = storage["base"]
        point = min(point, self.first_undecided)
        if point <= base:
            return
        for slot in range(base, point):
            self.decided.pop(slot, None)
            self.accepted.pop(slot, None)
            self.unlearned.discard(slot)
        storage["base"] = point

    def learn(self, slot: int, value: str) -> None:
        if slot < self.ctx.storage["base"]:
            return  # compacted: applied here (and everywhere) long ago
        previous = self.decided.get(slot)
        if previous == value:
            return
        # A second, different value is reported anyway: the checker must see it.
        self.decided[slot] = value
        self.unlearned.discard(slot)
        self.ctx.emit("learned", instance=slot, value=value)
        while self.first_undecided in self.decided:
            self.first_undecided += 1
        self.apply_ready()

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
            self.in_flight.discard(cid)
            client = self.waiting.pop(cid, None)
            if client is not None:
                self.ctx.send(client, Reply(cid, True, result))

    # -- dispatch ------------------------------------------------------------
    def on_message(self, src: str, msg: Message) -> None:
        match msg:
            case Accept():
                self.on_accept(src, msg)
            case Accepted():
                self.on_accepted(src, msg)
            case Heartbeat():
                self.on_heartbeat(src, msg)
            case HeartbeatAck():
                self.on_heartbeat_ack(src, msg)
            case Submit():
                self.on_submit(src, msg)
            case Prepare():
                self.on_prepare(src, msg)
            case Promise():
                self.on_promise(src, msg)
            case Decisions():
                self.on_decisions(src, msg)
            case Nack():
                self.on_nack(msg)
            case Probe():
                self.on_probe(src)
            case ProbeReply():
                self.on_probe_reply(src, msg)


# -- broken variants ------------------------------------------------------------


class StaleReadLeader(Replica):
    """Answers reads from its own state, and keeps leading without a quorum:
    cut off by a partition, it serves stale reads."""

    def serves_read_locally(self, src: str, cid: str, command: str) -> bool:
        parsed = parse_command(command)
        if parsed is None or parsed.op != "get":
            return False
        self.ctx.send(src, Reply(cid, True, self.kv.data.get(parsed.key)))
        return True

    def lost_quorum(self, now: float) -> bool:
        return False


REPLICAS: dict[str, type[Replica]] = {"correct": Replica, "stale-read-leader": StaleReadLeader}

VARIANTS: dict[str, Variant] = {
    "correct": Variant("Multi-Paxos with a stable leader; reads go through the log"),
    "stale-read-leader": Variant("the leader answers reads from its own state, and a leader cut"
                                 " off from the majority keeps doing so: stale reads"),
}

EVENTS: tuple[EventKind, ...] = REPLICA_EVENTS + CLIENT_EVENTS + (
    EventKind("campaign", ("ballot", "low"),
              "{node} campaigns for leader with ballot {ballot:ballot} (phase 1 from slot {low})"),
    EventKind("promised", ("ballot", "low", "reported"), "{node} promises ballot {ballot:ballot}"),
    EventKind("elected", ("ballot",), "{node} is elected leader with ballot {ballot:ballot}",
              mark="{node} elected", mark_style="leader"),
    EventKind("recover_slot", ("instance", "value"),
              "{node} re-proposes {value:value} in slot {instance}"),
    EventKind("deposed", ("ballot", "reason", "by"), "{node} stops leading ({reason})"),
)


# -- the family ---------------------------------------------------------------


class MultiPaxosProtocol(Protocol):
    name = "multipaxos"
    description = "Multi-Paxos: an elected leader orders clients' commands in a replicated log"

    roles = ("replica", "client")
    messages = (Submit, Reply, Probe, ProbeReply, Prepare, Promise, Accept, Accepted, Heartbeat,
                HeartbeatAck, Decisions, Nack)
    events = EVENTS
    decision = DECISION
    variants = VARIANTS
    rules = RULES

    def parse_options(
        self, table: Table, nodes: Mapping[str, tuple[str, ...]]
    ) -> MultiPaxosOptions:
        defaults = MultiPaxosOptions()
        check_nodes(table, nodes)
        low = table.number("election_timeout_min", defaults.election_timeout_min, positive=True)
        high = table.number("election_timeout_max", defaults.election_timeout_max, positive=True)
        if high < low:
            table.fail(f"must be at least election_timeout_min ({low:g})",
                       "election_timeout_max")
        preferred = table.raw("preferred_leader", None)
        if preferred is not None:
            preferred = table.string("preferred_leader")
            if "replica" not in nodes.get(preferred, ()):
                table.fail(f"{preferred!r} is not a replica", "preferred_leader")
        return MultiPaxosOptions(
            heartbeat_interval=table.number(
                "heartbeat_interval", defaults.heartbeat_interval, positive=True),
            election_timeout_min=low,
            election_timeout_max=high,
            window=table.integer("window", defaults.window, minimum=1),
            catchup_batch=table.integer("catchup_batch", defaults.catchup_batch, minimum=1),
            preferred_leader=preferred,
            clients=parse_client_options(table),
        )

    def options_to_dict(self, options: MultiPaxosOptions) -> dict[str, Any]:
        out: dict[str, Any] = {
            "heartbeat_interval": options.heartbeat_interval,
            "election_timeout_min": options.election_timeout_min,
            "election_timeout_max": options.election_timeout_max,
            "window": options.window,
            "catchup_batch": options.catchup_batch,
        }
        if options.preferred_leader is not None:
            out["preferred_leader"] = options.preferred_leader
        return out | client_options_to_dict(options.clients)

    def make_node(self, node_id: str, scenario: Any, ctx: Context, variant: str) -> Node:
        if "client" in scenario.nodes[node_id]:
            return make_client(ctx, scenario, scenario.options.clients)
        replicas = tuple(scenario.nodes_with("replica"))
        cluster = Cluster(replicas, scenario.quorums_of(replicas), scenario.options)
        return REPLICAS[variant](ctx, cluster)

    def client_request(self, value: str, extra: Mapping[str, Any]) -> Submit:
        return Submit(value)

    def checks(self, scenario: Mapping[str, Any]) -> list[StreamCheck]:
        return [ReplicatedLogCheck(self.name, scenario)]

    def visible_state(self, node: Node) -> dict[str, Any]:
        if not isinstance(node, Replica):
            return {"pending": sorted(getattr(getattr(node, "client", None), "pending", {}))}
        return {"role": node.role, "leader": node.leader, "ballot": node.ballot,
                "promised": node.promised, "first_undecided": node.first_undecided}
