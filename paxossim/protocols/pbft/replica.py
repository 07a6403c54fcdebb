"""A PBFT replica: normal-case three-phase ordering, execution, and view changes.

Names follow Castro and Liskov (OSDI 1999): view ``v``, sequence number
``n``, digest ``d``; ``prepared(m, v, n)`` holds once a replica logged the
pre-prepare of ``m`` at ``(v, n)`` and 2f matching prepares from different
backups (its own among them when it is a backup); ``committed-local`` once it
is prepared and logged 2f+1 matching commits (its own among them).

Sequence numbers start at 0 (the replicated-log checks count slots from 0).
Every K requests a replica multicasts CHECKPOINT(n, d) with the digest of its
state; 2f+1 matching ones make the checkpoint *stable*: the log below it is
discarded, the low watermark moves to it and the high watermark 2K above, so
the log and the VIEW-CHANGE messages stay bounded. A replica that finds
itself behind a stable checkpoint fetches the state from the replicas that
vouched for it and checks it against their digest (state transfer, whole
state at once). Not modelled: the checkpoint proof inside VIEW-CHANGE.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from paxossim.protocols.base import Context, Message, Node
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
from paxossim.protocols.replicated import (
    NOOP,
    ClientOptions,
    KVStore,
    Submit,
    command_id,
    session_of,
)

Key = tuple[int, int, str]
"""(view, n, digest): what prepares and commits must match."""


@dataclass(frozen=True)
class PbftOptions:
    view_timeout: float = 100.0
    """T: how long a backup waits for a request it holds to execute before it
    starts a view change; doubled for each further view change in a row."""
    checkpoint_interval: int = 16
    """K: a checkpoint after every K requests; the watermark window is 2K."""
    clients: ClientOptions = field(default_factory=ClientOptions)


@dataclass(frozen=True)
class Cluster:
    replicas: tuple[str, ...]
    clients: tuple[str, ...]
    options: PbftOptions

    @property
    def f(self) -> int:
        """The number of Byzantine replicas tolerated: n = 3f + 1."""
        return (len(self.replicas) - 1) // 3

    def primary(self, view: int) -> str:
        return self.replicas[view % len(self.replicas)]


class Replica(Node):
    """One of the 3f+1 replicas; primary of the views ``v`` with ``replicas[v mod n]`` = it."""

    def __init__(self, ctx: Context, cluster: Cluster) -> None:
        super().__init__(ctx)
        self.cluster = cluster
        self.me = ctx.node_id
        self.others = tuple(r for r in cluster.replicas if r != self.me)
        storage = ctx.storage
        # Durable: the view, what was pre-prepared and prepared (a recovered
        # replica must not prepare another request at the same (v, n)), the
        # committed log and the state machine.
        storage.setdefault("view", 0)
        storage.setdefault("active", True)
        storage.setdefault("next_n", 0)
        storage.setdefault("applied", 0)
        storage.setdefault("backoff", 0)
        storage.setdefault("stable", 0)
        """h + 1: the first n not covered by the last stable checkpoint."""
        self.log: dict[int, tuple[int, str, str]] = storage.setdefault("log", {})
        """n -> (view, digest, request) of the pre-prepare accepted at n (latest view)."""
        self.certs: dict[int, Certificate] = storage.setdefault("certs", {})
        """n -> the prepared certificate of the highest view (P of a VIEW-CHANGE)."""
        self.decided: dict[int, str] = storage.setdefault("decided", {})
        self.kv = KVStore(storage, cluster.options.clients.session_window)
        # Volatile tallies of the current view.
        self.prepares: dict[Key, set[str]] = {}
        self.commits: dict[Key, set[str]] = {}
        self.committed: set[Key] = set()
        """Keys this replica sent its commit for."""
        self.ordered: dict[str, int] = {}
        """Request -> its n, for requests with a pre-prepare in the current view
        (not ordered twice; what a client's retransmission makes us resend)."""
        self.waiting: dict[str, str] = {}
        """Requests a client sent us that are not executed yet: cid -> request."""
        self.requesters: dict[str, str] = {}
        """cid -> who sent an opaque request (a scripted client), to reply to."""
        self.view_changes: dict[int, dict[str, ViewChange]] = {}
        self.checkpoints: dict[tuple[int, str], set[str]] = {}
        self.last_checkpoint: Checkpoint | None = None
        self.snapshots: dict[int, str] = {}
        """Our state after each checkpoint at or above the stable one (for state transfer)."""
        self.fetching: tuple[int, str] | None = None
        """The stable checkpoint (n, digest) whose state we are fetching."""
        self.sent_view_change: ViewChange | None = None
        self.own_view_changes: dict[int, ViewChange] = {}
        """Ours for views we asked for and have not entered (answered to stragglers)."""
        self.timer_view: int | None = None
        """The view whose NEW-VIEW our timer waits for (armed at 2f+1 view-changes)."""
        self.sent_new_view: NewView | None = None
        self.early: list[tuple[str, Message]] = []
        """Normal-case messages of a view we are not in yet, replayed when we are."""

    # -- the paper's predicates, as overridable thresholds ---------------------
    @property
    def f(self) -> int:
        return self.cluster.f

    def prepare_quorum(self) -> int:
        """Matching prepares from different backups that make ``prepared``: 2f."""
        return 2 * self.f

    def prepared(self, key: Key) -> bool:
        """prepared(m, v, n), given that the pre-prepare of ``key`` is logged."""
        return len(self.prepares.get(key, ())) >= self.prepare_quorum()

    def commit_quorum(self) -> int:
        """Matching commits that make ``committed-local``: 2f + 1."""
        return 2 * self.f + 1

    @property
    def view(self) -> int:
        return self.ctx.storage["view"]

    @property
    def active(self) -> bool:
        """In normal operation (not waiting for the NEW-VIEW of ``view``)."""
        return self.ctx.storage["active"]

    def is_primary(self) -> bool:
        return self.active and self.cluster.primary(self.view) == self.me

    def multicast(self, msg: Message) -> None:
        for replica in self.others:
            self.ctx.send(replica, msg)

    # -- lifecycle --------------------------------------------------------------
    def on_start(self) -> None:
        if self.is_primary():
            self.ctx.emit("elected", view=self.view)

    def on_timer(self, name: str) -> None:
        if name == "view_change":
            self.start_view_change(self.view + 1)

    def on_message(self, src: str, msg: Message) -> None:
        if isinstance(msg, Submit):
            self.on_request(src, msg.command)
            return
        claimed = getattr(msg, "sender", None)
        if claimed != src:
            # Authentication: nobody can speak in another replica's name.
            self.ctx.emit("forged", type=msg.TYPE, claimed=claimed, actual=src)
            return
        match msg:
            case PrePrepare() | Prepare() | Commit():
                self.on_normal(src, msg)
            case Checkpoint():
                self.on_checkpoint(src, msg)
            case Fetch():
                if msg.n in self.snapshots:
                    self.ctx.send(src, State(msg.n, self.snapshots[msg.n], self.me))
            case State():
                self.on_state(msg)
            case ViewChange():
                self.on_view_change(msg)
            case NewView():
                self.on_new_view(src, msg)

    # -- normal case ------------------------------------------------------------
    def on_request(self, src: str, request: str) -> None:
        cid = command_id(request)
        if session_of(cid) is None:
            self.requesters[cid] = src
        # A retransmitted request means someone is stuck, maybe on a lost
        # message: repeat ours (the paper's library retransmits likewise).
        again = (cid in self.waiting or request in self.ordered
                 or (src not in self.cluster.replicas and not self.is_primary()))
        if self.active and again:
            self.resend(request)
        elif not self.active and self.sent_view_change is not None:
            self.multicast(self.sent_view_change)
        if self.kv.executed(cid):
            self.reply(cid, self.kv.result(cid))  # the reply was lost: send it again
            return
        new = cid not in self.waiting
        if new:
            # The primary waits too: a primary whose requests cannot commit
            # (its commits lost, a backup gone) must let the view change.
            self.waiting[cid] = request
            if len(self.waiting) == 1 and self.active:
                self.arm_timer()
        if self.is_primary():
            if request not in self.ordered:
                self.order(request)
        elif new and self.active:
            self.ctx.send(self.cluster.primary(self.view), Submit(request))

    def resend(self, request: str) -> None:
        """Repeat our messages of this view for every n from the low watermark
        to the request's (to the last we logged, if it has none yet): a slot
        before it (a null request, which no client retransmits) may be what
        blocks execution somewhere. And our last checkpoint: a replica that
        missed it may sit at a full window."""
        upto = self.ordered.get(request, max(self.log, default=-1))
        for n in range(self.ctx.storage["stable"], upto + 1):
            held = self.log.get(n)
            if held is None or held[0] != self.view:
                continue
            view, d, logged = held
            key = (view, n, d)
            if self.cluster.primary(view) == self.me:
                self.send_pre_prepare(view, n, logged)
            elif self.me in self.prepares.get(key, ()):
                self.multicast(Prepare(view, n, d, self.me))
            if key in self.committed:
                self.multicast(Commit(view, n, d, self.me))
        if self.last_checkpoint is not None:
            self.multicast(self.last_checkpoint)

    def order(self, request: str) -> None:
        """The primary assigns the next sequence number and multicasts PRE-PREPARE."""
        storage = self.ctx.storage
        n = storage["next_n"]
        if not self.in_window(n):
            return  # ordered once a checkpoint moves the window (see stabilize)
        storage["next_n"] = n + 1
        view, d = self.view, digest(request)
        self.ordered[request] = n
        self.log[n] = (view, d, request)
        self.ctx.emit("pre_prepare", view=view, instance=n, value=request)
        self.send_pre_prepare(view, n, request)

    def send_pre_prepare(self, view: int, n: int, request: str) -> None:
        self.multicast(PrePrepare(view, n, digest(request), request, self.me))

    def on_normal(self, src: str, msg: PrePrepare | Prepare | Commit) -> None:
        if msg.view > self.view or (msg.view == self.view and not self.active):
            self.early.append((src, msg))
            return
        if msg.view < self.view or not self.in_window(msg.n):
            return
        match msg:
            case PrePrepare():
                self.on_pre_prepare(src, msg)
            case Prepare():
                if src != self.cluster.primary(msg.view):  # prepares come from backups
                    self.prepares.setdefault((msg.view, msg.n, msg.digest), set()).add(src)
                    self.advance(msg.view, msg.n, msg.digest)
            case Commit():
                self.commits.setdefault((msg.view, msg.n, msg.digest), set()).add(src)
                self.advance(msg.view, msg.n, msg.digest)

    def from_primary(self, src: str, view: int) -> bool:
        """Castro and Liskov 4.2: a pre-prepare counts only if the primary of its
        view sent it; a backup that proposes is ignored (a hook for broken variants)."""
        return src == self.cluster.primary(view)

    def on_pre_prepare(self, src: str, msg: PrePrepare) -> None:
        if not self.from_primary(src, msg.view):
            return
        if msg.digest != digest(msg.request):
            self.ctx.emit("refused", view=msg.view, instance=msg.n, value=msg.request,
                          reason="wrong digest")
            return
        held = self.log.get(msg.n)
        if held is not None and held[0] == msg.view:
            if held[1] != msg.digest:
                self.ctx.emit("refused", view=msg.view, instance=msg.n, value=msg.request,
                              reason=f"already accepted {held[2]!r} at this view and n")
            return
        self.accept(msg.view, msg.n, msg.digest, msg.request)

    def in_window(self, n: int) -> bool:
        """Between the low and high watermarks (h < n <= H in the paper)."""
        low = self.ctx.storage["stable"]
        return low <= n < low + 2 * self.cluster.options.checkpoint_interval

    def accept(self, view: int, n: int, d: str, request: str) -> None:
        """Log a pre-prepare and, as a backup, multicast PREPARE."""
        self.log[n] = (view, d, request)
        self.ordered[request] = n
        self.prepares.setdefault((view, n, d), set()).add(self.me)
        self.multicast(Prepare(view, n, d, self.me))
        self.advance(view, n, d)

    def advance(self, view: int, n: int, d: str) -> None:
        """Check prepared(m, v, n) and committed-local(m, v, n) after a message."""
        held = self.log.get(n)
        if held is None or held[:2] != (view, d):
            return
        key, request = (view, n, d), held[2]
        if key not in self.committed:
            if not self.prepared(key):
                return
            self.committed.add(key)
            self.certs[n] = Certificate(n, view, d, request,
                                        tuple(sorted(self.prepares.get(key, ()))))
            # The vote the safety checker counts: sent once, when prepared.
            self.ctx.emit("commit", view=view, instance=n, value=request)
            self.commits.setdefault(key, set()).add(self.me)
            self.multicast(Commit(view, n, d, self.me))
        if len(self.commits.get(key, ())) >= self.commit_quorum():
            self.commit_local(n, request)

    def commit_local(self, n: int, request: str) -> None:
        if self.decided.get(n) == request:
            return
        # A second, different value is reported anyway: the checker must see it.
        self.decided[n] = request
        self.ctx.emit("learned", instance=n, value=request)
        self.execute()

    def execute(self) -> None:
        """Execute committed requests in sequence order; reply to their clients."""
        storage = self.ctx.storage
        progress = False
        while storage["applied"] in self.decided:
            n = storage["applied"]
            request = self.decided[n]
            executed, result = self.kv.apply(request)
            storage["applied"] = n + 1
            self.ctx.emit("applied", instance=n, value=request, executed=executed)
            if (n + 1) % self.cluster.options.checkpoint_interval == 0:
                self.checkpoint(n)
            if request == NOOP:
                continue
            cid = command_id(request)
            was_waiting = self.waiting.pop(cid, None) is not None
            progress = progress or was_waiting or executed
            self.reply(cid, result)
        if progress:
            storage["backoff"] = 0
            self.arm_timer()

    # -- checkpoints -------------------------------------------------------------
    def checkpoint(self, n: int) -> None:
        """Multicast the digest of the state after executing ``n``."""
        kv = self.kv
        state = orjson.dumps([kv.data, kv.results, kv.sessions],
                             option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
        self.snapshots[n] = text = state.decode()
        message = self.last_checkpoint = Checkpoint(n, digest(text), self.me)
        self.multicast(message)
        self.on_checkpoint(self.me, message)

    def on_checkpoint(self, src: str, msg: Checkpoint) -> None:
        storage = self.ctx.storage
        if msg.n < storage["stable"] - 1:
            return
        voters = self.checkpoints.setdefault((msg.n, msg.digest), set())
        voters.add(src)
        if len(voters) < 2 * self.f + 1:
            return
        self.stabilize(msg.n + 1)
        if storage["applied"] <= msg.n == storage["stable"] - 1:
            # Behind the stable checkpoint: the requests below it are gone
            # from every log, so only its state can bring us forward.
            self.fetching = (msg.n, msg.digest)
            for voter in sorted(voters - {self.me}):
                self.ctx.send(voter, Fetch(msg.n, self.me))

    def on_state(self, msg: State) -> None:
        storage = self.ctx.storage
        if self.fetching != (msg.n, digest(msg.state)) or storage["applied"] > msg.n:
            return
        data, results, sessions = orjson.loads(msg.state)
        kv = self.kv
        kv.data.clear()
        kv.data.update(data)
        kv.results.clear()
        kv.results.update(results)
        kv.sessions.clear()
        # JSON made the sequence numbers strings; the store keys them by int.
        kv.sessions.update({client: [high, {int(seq): result for seq, result in done.items()}]
                            for client, (high, done) in sessions.items()})
        storage["applied"] = msg.n + 1
        self.fetching = None
        for n in [n for n in self.decided if n <= msg.n]:
            del self.decided[n]
        self.ctx.emit("installed", upto=msg.n + 1, source=msg.sender)
        for cid in [cid for cid in self.waiting if kv.executed(cid)]:
            del self.waiting[cid]
        self.execute()
        self.arm_timer()

    def stabilize(self, low: int) -> None:
        """A checkpoint below ``low`` is stable: discard the log below it, move
        the watermarks, and (as primary) order what the full window held back."""
        storage = self.ctx.storage
        if low <= storage["stable"]:
            return
        storage["stable"] = low
        self.ctx.emit("stable_checkpoint", instance=low - 1)
        for table in (self.log, self.certs):
            for n in [n for n in table if n < low]:
                del table[n]
        for n in [n for n in self.decided if n < min(low, storage["applied"])]:
            del self.decided[n]
        self.checkpoints = {key: v for key, v in self.checkpoints.items() if key[0] >= low - 1}
        self.snapshots = {n: v for n, v in self.snapshots.items() if n >= low - 1}
        for tally in (self.prepares, self.commits):
            for key in [key for key in tally if key[1] < low]:
                del tally[key]
        if self.is_primary():
            for request in list(self.waiting.values()):
                if request not in self.ordered:
                    self.order(request)

    def reply(self, cid: str, result: str | None) -> None:
        session = session_of(cid)
        client = session[0] if session is not None else self.requesters.get(cid)
        if client is not None:
            self.ctx.send(client, PbftReply(self.view, cid, result, self.me))

    def arm_timer(self) -> None:
        """Run the view-change timer while a request we hold waits to execute,
        for T * 2^k after k view changes in a row without progress."""
        if self.waiting or not self.active:
            backoff = self.ctx.storage["backoff"]
            self.ctx.set_timer("view_change", self.cluster.options.view_timeout * 2 ** backoff)
        else:
            self.ctx.cancel_timer("view_change")

    # -- view change -------------------------------------------------------------
    def start_view_change(self, view: int) -> None:
        storage = self.ctx.storage
        storage["view"], storage["active"] = view, False
        storage["backoff"] += 1
        self.reset_view()
        message = self.sent_view_change = ViewChange(
            view, storage["stable"], self.prepared_set(), self.me)
        self.own_view_changes[view] = message
        self.ctx.emit("view_change", view=view, prepared=len(message.prepared))
        self.ctx.cancel_timer("view_change")
        self.multicast(message)
        self.on_view_change(message)

    def prepared_set(self) -> tuple[Certificate, ...]:
        """P: a prepared certificate per sequence number above the stable
        checkpoint (a hook for broken variants)."""
        low = self.ctx.storage["stable"]
        return tuple(self.certs[n] for n in sorted(self.certs) if n >= low)

    def reset_view(self) -> None:
        self.prepares, self.commits, self.committed, self.ordered = {}, {}, set(), {}

    def on_view_change(self, msg: ViewChange) -> None:
        if msg.view < self.view:
            own = self.own_view_changes.get(msg.view)
            if own is not None and not msg.answer:
                # It may lack ours, lost, to complete that view change; we left
                # it because 2f+1 wanted it, so completing it helps us all.
                self.ctx.send(msg.sender, replace(own, answer=True))
            return
        sent = self.sent_new_view
        if self.active and sent is not None and sent.view == msg.view:
            self.ctx.send(msg.sender, sent)  # it missed our NEW-VIEW
            return
        self.view_changes.setdefault(msg.view, {})[msg.sender] = msg
        # Liveness: f+1 replicas want a higher view, so at least one honest one
        # does; join the smallest such view rather than wait for our timer.
        higher = {(view, sender) for view, senders in self.view_changes.items()
                  if view > self.view for sender in senders}
        if len({sender for _, sender in higher}) >= self.f + 1:
            self.start_view_change(min(view for view, _ in higher))
            return
        if msg.view != self.view or self.active:
            return
        collected = self.view_changes[msg.view]
        if len(collected) < 2 * self.f + 1 or self.me not in collected:
            return
        if self.timer_view != msg.view:
            # As in the paper (4.5.2): the wait for NEW-VIEW starts only once
            # 2f+1 replicas want this view, so that one replica whose timer ran
            # out alone does not run ahead through views nobody else joins.
            self.timer_view = msg.view
            self.arm_timer()
        if self.cluster.primary(msg.view) == self.me:
            chosen = self.new_view_set(collected)
            proposals = self.new_view_proposals(chosen)
            self.sent_new_view = NewView(msg.view, chosen, proposals, self.me)
            self.multicast(self.sent_new_view)
            self.enter_view(msg.view, chosen, proposals)

    def new_view_set(self, collected: dict[str, ViewChange]) -> tuple[ViewChange, ...]:
        """V: our own view-change and 2f others' (in name order: deterministic)."""
        others = sorted(s for s in collected if s != self.me)[:2 * self.f]
        return tuple(collected[s] for s in sorted([self.me, *others]))

    def valid(self, cert: Certificate) -> bool:
        return (len(set(cert.prepares)) >= self.prepare_quorum()
                and digest(cert.request) == cert.digest)

    def new_view_proposals(self, view_changes: Iterable[ViewChange]) -> tuple[Proposal, ...]:
        """O: per n from min-s on, the request prepared in the highest view, or the
        null request where no view-change reports one."""
        view_changes = tuple(view_changes)
        low = max(vc.stable for vc in view_changes)
        best: dict[int, Certificate] = {}
        for vc in view_changes:
            for cert in vc.prepared:
                if cert.n >= low and self.valid(cert) and (
                        cert.n not in best or cert.view > best[cert.n].view):
                    best[cert.n] = cert
        high = max(best, default=low - 1)
        return tuple(Proposal(n, best[n].digest, best[n].request) if n in best
                     else Proposal(n, digest(NOOP), NOOP) for n in range(low, high + 1))

    def on_new_view(self, src: str, msg: NewView) -> None:
        if msg.view < self.view or (msg.view == self.view and self.active):
            return
        senders = {vc.sender for vc in msg.view_changes}
        if (src != self.cluster.primary(msg.view) or len(senders) < 2 * self.f + 1
                or any(vc.view != msg.view for vc in msg.view_changes)
                or self.new_view_proposals(msg.view_changes) != msg.pre_prepares):
            self.ctx.emit("refused_new_view", view=msg.view, primary=src)
            return
        self.enter_view(msg.view, msg.view_changes, msg.pre_prepares)

    def enter_view(self, view: int, view_changes: tuple[ViewChange, ...],
                   proposals: tuple[Proposal, ...]) -> None:
        storage = self.ctx.storage
        storage["view"], storage["active"] = view, True
        self.reset_view()
        # min-s, V's latest stable checkpoint, may be ahead of ours.
        self.stabilize(max(vc.stable for vc in view_changes))
        self.view_changes = {v: c for v, c in self.view_changes.items() if v > view}
        self.own_view_changes = {v: c for v, c in self.own_view_changes.items() if v > view}
        primary = self.cluster.primary(view)
        self.ctx.emit("new_view", view=view, primary=primary, proposals=len(proposals))
        if primary == self.me:
            self.ctx.emit("elected", view=view)
            if any(p.request == NOOP for p in proposals):
                self.ctx.emit("noop_allowed", value=NOOP)
            # max-s + 1: a higher number left from an earlier view would leave a gap.
            storage["next_n"] = proposals[-1].n + 1 if proposals else storage["stable"]
            for p in proposals:
                self.log[p.n] = (view, p.digest, p.request)
                self.ordered[p.request] = p.n
            for request in list(self.waiting.values()):
                if request not in self.ordered:
                    self.order(request)
        else:
            for p in proposals:
                self.accept(view, p.n, p.digest, p.request)
            for request in self.waiting.values():
                self.ctx.send(primary, Submit(request))
        self.arm_timer()
        early, self.early = self.early, []
        for src, msg in early:
            self.on_normal(src, msg)

    def state(self) -> dict[str, Any]:
        return {"view": self.view, "active": self.active, "stable": self.ctx.storage["stable"],
                "primary": self.cluster.primary(self.view),
                "executed": self.ctx.storage["applied"], "waiting": sorted(self.waiting)}
