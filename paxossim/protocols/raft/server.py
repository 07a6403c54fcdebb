"""A Raft server: follower, candidate or leader, with the paper's state and rules.

The attribute and method names are the paper's (Figure 2) in Python
spelling: ``current_term``, ``voted_for``, ``log``, ``commit_index``,
``last_applied``, ``next_index``, ``match_index``; the handlers are the
"Rules for Servers" and the receiver implementations of RequestVote and
AppendEntries, in that order. Each rule a broken variant breaks is a method
of its own (``up_to_date``, ``may_commit``, ``resolve_conflict``,
``serves_read_locally``, ``restore_vote``), overridden in ``variants.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paxossim.protocols.base import Context, Message, Node
from paxossim.protocols.quorums import Quorums
from paxossim.protocols.raft.messages import (
    AppendEntries,
    AppendEntriesReply,
    Entry,
    InstallSnapshot,
    RequestVote,
    RequestVoteReply,
    append_entries,
)
from paxossim.protocols.raft.options import RaftOptions, draw_latency
from paxossim.protocols.raft.reads import ReadIndex
from paxossim.protocols.raft.snapshots import restore, state_of
from paxossim.protocols.replicated import (
    NOOP,
    ElectionTimer,
    KVStore,
    Reply,
    Submit,
    command_id,
    parse_command,
)

FOLLOWER, CANDIDATE, LEADER = "follower", "candidate", "leader"


@dataclass(frozen=True)
class Cluster:
    servers: tuple[str, ...]
    quorums: Quorums
    options: RaftOptions


class Server(ElectionTimer, Node):
    """One Raft server. Durable: ``currentTerm``, ``votedFor``, ``log`` (the paper's
    persistent state) plus the applied state machine and ``lastApplied`` (kept
    with it, so a restarted server does not apply an entry twice)."""

    def __init__(self, ctx: Context, cluster: Cluster) -> None:
        super().__init__(ctx)
        self.cluster = cluster
        self.options = cluster.options
        storage = ctx.storage
        storage.setdefault("current_term", 0)
        storage.setdefault("voted_for", None)
        self.log: list[Entry] = storage.setdefault("log", [])
        storage.setdefault("last_applied", -1)
        # Log compaction writes "log_start", "snapshot_term" and "snapshot" (the state
        # machine just after applying entry log_start - 1); read with defaults, so a
        # run without it stores (and logs) nothing more.
        self.kv = KVStore(storage, self.options.clients.session_window)
        self.restore_vote()
        # Volatile state on all servers.
        self.role = FOLLOWER
        self.leader_id: str | None = None
        self.commit_index = storage["last_applied"]
        """Everything applied was committed; the rest is learned again from a leader."""
        self.votes: set[str] = set()
        self.pre_votes: set[str] | None = None
        """While a pre-vote runs: who would vote for us in currentTerm + 1."""
        self.heard_leader_at = -1.0
        """When the leader we follow last sent us a valid AppendEntries."""
        self.term_led = 0
        """The term this server was last elected in (``currentTerm`` may have moved on)."""
        # Volatile state on leaders (reinitialized after election).
        self.next_index: dict[str, int] = {}
        self.match_index: dict[str, int] = {}
        self.sent_upto: dict[str, int] = {}
        """Per follower: the last index sent in this term (pipelining: a new entry goes
        at once to a follower that was sent everything before it)."""
        self.sent_at: dict[str, float] = {}
        """Per follower: when entries were last sent (see ``retry_timeout``)."""
        self.reads = ReadIndex()
        self.heard_from: dict[str, float] = {}
        """Per follower: when it last answered in this term (see ``check_quorum``)."""
        self.waiting: dict[str, str] = {}
        """Command id -> the client to answer once it is applied."""
        self.parked: dict[str, tuple[str, str]] = {}
        """Command id -> (client, command) asked while we knew no leader: redirected
        (or appended, if we win) as soon as we know one."""
        # The disk: replies that wait for a write to stable storage.
        self.disk_queue: list[tuple[float, str, Message]] = []
        self.disk_busy_until = 0.0

    # -- persistent state ----------------------------------------------------
    @property
    def current_term(self) -> int:
        return self.ctx.storage["current_term"]

    @property
    def voted_for(self) -> str | None:
        return self.ctx.storage["voted_for"]

    def restore_vote(self) -> None:
        """``votedFor`` is durable: a restarted server keeps its vote (a hook for a variant)."""

    def set_term(self, term: int, voted_for: str | None) -> None:
        """Persist ``currentTerm`` and ``votedFor`` together, before a reply depends on them."""
        assert term >= self.current_term, "currentTerm never decreases"
        self.ctx.storage["current_term"] = term
        self.ctx.storage["voted_for"] = voted_for

    @property
    def log_start(self) -> int:
        """The index of ``log[0]``: 0 unless a snapshot replaced the entries before it."""
        return self.ctx.storage.get("log_start", 0)

    def entry(self, index: int) -> Entry:
        return self.log[index - self.log_start]

    def last_log_index(self) -> int:
        return self.log_start + len(self.log) - 1

    def last_log_term(self) -> int:
        return self.log[-1][0] if self.log else self.ctx.storage.get("snapshot_term", 0)

    def term_at(self, index: int) -> int:
        if index == self.log_start - 1:
            return self.ctx.storage.get("snapshot_term", 0)
        return self.entry(index)[0] if self.log_start <= index <= self.last_log_index() else 0

    # -- lifecycle and timers ------------------------------------------------
    def election_timeouts(self) -> tuple[float, float]:
        return self.options.timeouts_of(self.ctx.node_id)

    def on_timer(self, name: str) -> None:
        if name == "election" and self.role != LEADER:
            if self.options.pre_vote:
                self.start_pre_vote()
            else:
                self.start_election()
        elif name == "heartbeat" and self.role == LEADER:
            self.heartbeat()
        elif name.startswith("disk:"):
            self.disk_done()

    def others(self) -> list[str]:
        return [s for s in self.cluster.servers if s != self.ctx.node_id]

    # -- Rules for Servers: all servers ----------------------------------------
    def observe_term(self, term: int, src: str) -> None:
        """If an RPC request or response contains term T > currentTerm: set currentTerm
        = T, convert to follower."""
        if term > self.current_term:
            self.set_term(term, None)
            self.become_follower(f"term {term} from {src}")

    def become_follower(self, reason: str) -> None:
        if self.role == LEADER:
            self.ctx.emit("deposed", term=self.term_led, reason=reason)
            self.ctx.cancel_timer("heartbeat")
            self.reset_election_timer()
            self.waiting.clear()  # its clients time out and ask another server
            self.reads = ReadIndex()
        self.role = FOLLOWER
        self.leader_id = None

    def advance_last_applied(self) -> None:
        """If commitIndex > lastApplied: increment lastApplied, apply log[lastApplied]."""
        storage = self.ctx.storage
        while storage["last_applied"] < self.commit_index:
            index = storage["last_applied"] + 1
            value = self.entry(index)[1]
            executed, result = self.kv.apply(value)
            storage["last_applied"] = index
            self.ctx.emit("learned", instance=index, value=value)
            self.ctx.emit("applied", instance=index, value=value, executed=executed)
            client = self.waiting.pop(command_id(value), None) if value != NOOP else None
            if client is not None and self.role == LEADER:
                self.ctx.send(client, Reply(command_id(value), True, result))
        self.compact()
        if self.role == LEADER and self.reads.pending:
            self.serve_reads()

    def compact(self) -> None:
        """With ``snapshot_every``: once that many entries are applied beyond the last
        snapshot, snapshot the state machine and discard the entries it covers."""
        every = self.options.snapshot_every
        storage = self.ctx.storage
        applied = storage["last_applied"]
        if every is None or applied - self.log_start + 1 < every:
            return
        term = self.term_at(applied)
        del self.log[:applied - self.log_start + 1]
        storage["log_start"], storage["snapshot_term"] = applied + 1, term
        storage["snapshot"] = state_of(self.kv)
        self.ctx.emit("compacted", upto=applied + 1, term=term)

    def set_commit_index(self, index: int) -> None:
        if index > self.commit_index:
            self.commit_index = index
            self.advance_last_applied()

    # -- Rules for Servers: candidates -----------------------------------------
    def start_election(self) -> None:
        """On conversion to candidate: increment currentTerm, vote for self, reset the
        election timer, send RequestVote to all other servers."""
        self.role = CANDIDATE
        self.leader_id = None
        self.pre_votes = None
        self.set_term(self.current_term + 1, self.ctx.node_id)
        self.votes = {self.ctx.node_id}
        self.ctx.emit("campaign", term=self.current_term, last_log_index=self.last_log_index(),
                      last_log_term=self.last_log_term())
        self.reset_election_timer()
        request = RequestVote(self.current_term, self.ctx.node_id, self.last_log_index(),
                              self.last_log_term())
        for server in self.others():
            self.ctx.send(server, request)
        if self.cluster.quorums.is_phase1(self.votes):
            self.become_leader()

    def start_pre_vote(self) -> None:
        """PreVote: ask whether a majority would vote for us in the next term, without
        changing ours; only then start a real election."""
        self.pre_votes = {self.ctx.node_id}
        term = self.current_term + 1
        self.ctx.emit("pre_vote", term=term)
        self.reset_election_timer()
        request = RequestVote(term, self.ctx.node_id, self.last_log_index(),
                              self.last_log_term(), pre_vote=True)
        for server in self.others():
            self.ctx.send(server, request)
        if self.cluster.quorums.is_phase1(self.pre_votes):
            self.start_election()

    def on_pre_vote_reply(self, src: str, msg: RequestVoteReply) -> None:
        if not msg.vote_granted:
            self.observe_term(msg.term, src)
            return
        if self.pre_votes is None or msg.term != self.current_term + 1 or self.role == LEADER:
            return
        self.pre_votes.add(src)
        if self.cluster.quorums.is_phase1(self.pre_votes):
            self.start_election()

    def on_request_vote_reply(self, src: str, msg: RequestVoteReply) -> None:
        if msg.pre_vote:
            self.on_pre_vote_reply(src, msg)
            return
        self.observe_term(msg.term, src)
        if self.role != CANDIDATE or msg.term != self.current_term or not msg.vote_granted:
            return
        self.votes.add(src)
        if self.cluster.quorums.is_phase1(self.votes):
            self.become_leader()

    # -- Rules for Servers: leaders --------------------------------------------
    def become_leader(self) -> None:
        self.role = LEADER
        self.leader_id = self.ctx.node_id
        self.term_led = self.current_term
        self.ctx.cancel_timer("election")
        self.ctx.emit("elected", term=self.current_term, votes=len(self.votes))
        following = self.last_log_index() + 1
        self.next_index = dict.fromkeys(self.others(), following)
        self.match_index = dict.fromkeys(self.others(), -1)
        self.sent_upto = dict.fromkeys(self.others(), following - 1)
        self.sent_at = {}
        self.heard_from = dict.fromkeys(self.others(), self.ctx.now)
        self.reads = ReadIndex()
        if self.options.leader_noop:
            self.ctx.emit("noop_allowed", value=NOOP)
            self.append(NOOP)
        self.heartbeat()
        parked, self.parked = self.parked, {}
        for client, command in parked.values():
            self.on_submit(client, Submit(command))

    def heartbeat(self) -> None:
        """Upon election, and repeated during idle periods: AppendEntries to each server.

        A follower with entries it has not acknowledged is sent them again once
        they were sent ``retry_timeout`` ago (default: half a heartbeat interval,
        so at every heartbeat but not twice in one); otherwise the AppendEntries
        is empty: a heartbeat.
        """
        if self.options.check_quorum and self.lost_quorum():
            self.become_follower("heard from no majority (check-quorum)")
            return
        retry = self.options.retry_timeout or self.options.heartbeat_interval / 2
        for server in self.others():
            behind = self.next_index[server] <= self.last_log_index()
            if behind and self.ctx.now - self.sent_at.get(server, -retry) >= retry:
                self.send_entries(server, self.next_index[server])
            else:
                self.send_heartbeat(server)
        self.ctx.set_timer("heartbeat", self.options.heartbeat_interval)

    def lost_quorum(self) -> bool:
        """CheckQuorum: no majority answered within the longest election timeout."""
        since = self.ctx.now - self.options.timeouts_of(self.ctx.node_id)[1]
        heard = [self.ctx.node_id] + [s for s, t in self.heard_from.items() if t >= since]
        return not self.cluster.quorums.is_phase2(heard)

    def send_heartbeat(self, server: str) -> None:
        prev = self.next_index[server] - 1
        if prev < self.log_start - 1:
            self.send_snapshot(server)
            return
        self.ctx.send(server, append_entries(self.current_term, self.ctx.node_id, prev,
                                             self.term_at(prev), (), self.commit_index,
                                             self.reads.seq))

    def send_entries(self, server: str, start: int) -> None:
        if start < self.log_start:
            self.send_snapshot(server)
            return
        first = start - self.log_start
        entries = tuple(self.log[first:first + self.options.max_batch])
        prev = start - 1
        self.sent_upto[server] = max(self.sent_upto[server], prev + len(entries))
        self.sent_at[server] = self.ctx.now
        self.ctx.send(server, append_entries(self.current_term, self.ctx.node_id, prev,
                                             self.term_at(prev), entries, self.commit_index,
                                             self.reads.seq))

    def send_snapshot(self, server: str) -> None:
        """InstallSnapshot: the follower needs entries this leader discarded."""
        last = self.log_start - 1
        self.sent_upto[server] = max(self.sent_upto[server], last)
        self.sent_at[server] = self.ctx.now
        self.ctx.send(server, InstallSnapshot(self.current_term, self.ctx.node_id, last,
                                              self.ctx.storage.get("snapshot_term", 0),
                                              self.ctx.storage["snapshot"]))

    def append(self, command: str) -> None:
        """If command received from client: append entry to local log (a leader only
        ever appends to its own log), then send it to the followers that are in step."""
        assert self.current_term >= self.last_log_term(), "terms never fall along a leader's log"
        self.log.append((self.current_term, command))
        index = self.last_log_index()
        self.ctx.emit("accepted", instance=index, term=self.current_term, value=command)
        for server in self.others():
            if self.sent_upto[server] == index - 1:
                self.send_entries(server, index)
        if self.cluster.quorums.is_phase2({self.ctx.node_id}):
            self.advance_commit_index()

    def on_submit(self, src: str, msg: Submit) -> None:
        cid = command_id(msg.command)
        if self.kv.executed(cid):
            self.ctx.send(src, Reply(cid, True, self.kv.result(cid)))
            return
        if self.role != LEADER:
            if self.leader_id is None:
                self.parked[cid] = (src, msg.command)
            else:
                self.ctx.send(src, Reply(cid, False, leader=self.leader_id))
            return
        if self.serves_read_locally(src, cid, msg.command) or self.read_by_index(src, cid,
                                                                                  msg.command):
            return
        retried = cid in self.waiting
        self.waiting[cid] = src
        if not retried and not any(command_id(v) == cid for _, v in
                                   self.log[self.commit_index + 1 - self.log_start:]):
            self.append(msg.command)

    def read_by_index(self, src: str, cid: str, command: str) -> bool:
        """With ``read_index``, a get waits for a heartbeat round instead of a log entry
        (once an entry of this term is committed; until then it goes through the log)."""
        parsed = parse_command(command)
        if (not self.options.read_index or parsed is None or parsed.op != "get"
                or self.term_at(self.commit_index) != self.current_term):
            return False
        self.reads.start(src, cid, parsed.key, self.commit_index)
        for server in self.others():
            self.send_heartbeat(server)
        self.serve_reads()
        return True

    def serve_reads(self) -> None:
        applied = self.ctx.storage["last_applied"]
        for read in self.reads.ready(self.cluster.quorums, self.ctx.node_id, applied):
            self.ctx.send(read.client, Reply(read.cid, True, self.kv.data.get(read.key)))

    def serves_read_locally(self, src: str, cid: str, command: str) -> bool:
        """Reads go through the log like writes (a hook for ``stale-read-leader``)."""
        return False

    def on_append_entries_reply(self, src: str, msg: AppendEntriesReply) -> None:
        self.observe_term(msg.term, src)
        if self.role != LEADER or msg.term != self.current_term:
            return
        self.heard_from[src] = self.ctx.now
        if msg.read_seq:
            self.reads.ack(src, msg.read_seq)
            self.serve_reads()
        if msg.success:
            # If successful: update nextIndex and matchIndex for follower.
            if msg.match_index <= self.match_index[src]:
                return  # a stale or duplicated reply
            self.match_index[src] = msg.match_index
            self.next_index[src] = max(self.next_index[src], msg.match_index + 1)
            self.advance_commit_index()
            if (msg.match_index >= self.sent_upto[src]
                    and self.next_index[src] <= self.last_log_index()):
                self.send_entries(src, self.next_index[src])  # catching up, batch by batch
            return
        # If AppendEntries fails because of log inconsistency: decrement nextIndex and
        # retry (straight to just after the follower's last entry, if that is lower).
        backed = max(self.match_index[src] + 1,
                     min(self.next_index[src] - 1, msg.match_index + 1))
        if backed >= self.next_index[src]:
            return  # it failed where it is known to match: a stale reply
        self.next_index[src] = backed
        self.sent_upto[src] = backed - 1
        self.send_entries(src, backed)

    def advance_commit_index(self) -> None:
        """If there exists an N > commitIndex such that a majority of matchIndex[i] >= N
        and log[N].term == currentTerm: set commitIndex = N."""
        me = self.ctx.node_id
        for index in range(self.last_log_index(), self.commit_index, -1):
            holders = [me] + [s for s, m in self.match_index.items() if m >= index]
            if not self.cluster.quorums.is_phase2(holders):
                continue
            if self.may_commit(index):
                self.set_commit_index(index)
                return

    def may_commit(self, index: int) -> bool:
        """Only entries of the leader's current term commit by counting replicas; the
        older ones before them commit with them (section 5.4.2, Figure 8)."""
        return self.term_at(index) == self.current_term

    # -- RequestVote receiver ----------------------------------------------------
    def on_request_vote(self, src: str, msg: RequestVote) -> None:
        if msg.pre_vote:
            self.on_pre_vote(src, msg)
            return
        self.observe_term(msg.term, src)
        granted = (msg.term == self.current_term
                   and self.voted_for in (None, msg.candidate_id)
                   and self.up_to_date(msg.last_log_term, msg.last_log_index))
        if granted:
            persisted = self.voted_for != msg.candidate_id
            self.set_term(self.current_term, msg.candidate_id)
            self.reset_election_timer()
            self.ctx.emit("voted", term=self.current_term, candidate=msg.candidate_id,
                          last_log_index=self.last_log_index(), last_log_term=self.last_log_term())
            self.reply_after_disk(src, RequestVoteReply(self.current_term, True), persisted)
        else:
            self.reply_after_disk(src, RequestVoteReply(self.current_term, False), False)

    def on_pre_vote(self, src: str, msg: RequestVote) -> None:
        """Would vote: a later term, an up-to-date log, and no leader heard from within
        the shortest election timeout (a live leader must not be disturbed)."""
        recent = (self.role == LEADER or (
            self.leader_id is not None
            and self.ctx.now - self.heard_leader_at < self.options.timeouts_of(
                self.ctx.node_id)[0]))
        granted = (msg.term > self.current_term and not recent
                   and self.up_to_date(msg.last_log_term, msg.last_log_index))
        term = msg.term if granted else self.current_term
        self.ctx.send(src, RequestVoteReply(term, granted, pre_vote=True))

    def up_to_date(self, last_log_term: int, last_log_index: int) -> bool:
        """The candidate's log is at least as up-to-date as ours (section 5.4.1):
        a later last term, or the same last term and at least as long."""
        return (last_log_term, last_log_index) >= (self.last_log_term(), self.last_log_index())

    # -- AppendEntries receiver ---------------------------------------------------
    def on_append_entries(self, src: str, msg: AppendEntries) -> None:
        if not self.from_current_leader(src, msg.term):
            return
        prev = msg.prev_log_index
        # Entries before log_start are committed, so they match any leader's.
        if prev > self.last_log_index() or (prev >= max(0, self.log_start - 1)
                                            and self.term_at(prev) != msg.prev_log_term):
            # Reply false if log doesn't contain an entry at prevLogIndex whose term
            # matches prevLogTerm.
            self.ctx.send(src, AppendEntriesReply(
                self.current_term, False, min(prev - 1, self.last_log_index()), msg.read_seq))
            return
        wrote = False
        for offset, entry in enumerate(msg.entries):
            index = prev + 1 + offset
            if index < self.log_start:
                continue  # in our snapshot already
            if index <= self.last_log_index():
                if self.term_at(index) == entry[0]:
                    continue  # already there (Log Matching: same index and term, same entry)
                self.resolve_conflict(index, entry)
            else:
                self.log.append(entry)
            wrote = True
            if entry[0] == msg.term:
                # A vote for this entry in its leader's term: what the checker counts.
                self.ctx.emit("accepted", instance=index, term=entry[0], value=entry[1])
        last_new = prev + len(msg.entries)
        if msg.leader_commit > self.commit_index:
            self.set_commit_index(min(msg.leader_commit, last_new))
        self.check_log(prev + 1, last_new)
        self.reply_after_disk(src, AppendEntriesReply(self.current_term, True, last_new,
                                                      msg.read_seq), wrote)

    def from_current_leader(self, src: str, term: int) -> bool:
        """What every AppendEntries and InstallSnapshot receiver does first: refuse a
        stale term (reply false if term < currentTerm), and follow the sender
        otherwise; False when the message is not to be handled further."""
        self.observe_term(term, src)
        if term < self.current_term:
            self.ctx.send(src, AppendEntriesReply(self.current_term, False, -1))
            return False
        if self.role == LEADER:
            # Election Safety: one leader per term. Only a broken peer gets here.
            self.ctx.emit("rejected", term=term, leader=src, reason="I lead this term")
            return False
        self.follow(src, term)
        return True

    def follow(self, src: str, term: int) -> None:
        """A valid AppendEntries or InstallSnapshot from the leader of ``term``: follow
        it, and hold the election off."""
        if self.role == CANDIDATE:
            self.become_follower(f"{src} leads term {term}")
        if self.leader_id != src:
            self.leader_id = src
            self.ctx.emit("follows", term=self.current_term, leader=src)
            for cid, (client, _) in self.parked.items():
                self.ctx.send(client, Reply(cid, False, leader=src))
            self.parked.clear()
        self.heard_leader_at = self.ctx.now
        self.pre_votes = None
        self.reset_election_timer()

    # -- InstallSnapshot receiver ---------------------------------------------------
    def on_install_snapshot(self, src: str, msg: InstallSnapshot) -> None:
        """Take the leader's snapshot if it reaches past what we applied: keep the
        entries after it if ours match its last entry, else drop the whole log."""
        if not self.from_current_leader(src, msg.term):
            return
        last = msg.last_included_index
        storage = self.ctx.storage
        if last <= storage["last_applied"]:
            self.ctx.send(src, AppendEntriesReply(self.current_term, True, last))
            return
        if last <= self.last_log_index() and self.term_at(last) == msg.last_included_term:
            del self.log[:last - self.log_start + 1]
        else:
            self.log.clear()
        storage["log_start"], storage["snapshot_term"] = last + 1, msg.last_included_term
        storage["snapshot"] = msg.state
        restore(self.kv, msg.state)
        storage["last_applied"] = last
        self.commit_index = max(self.commit_index, last)
        self.ctx.emit("installed", upto=last + 1, source=src)
        self.reply_after_disk(src, AppendEntriesReply(self.current_term, True, last), True)

    def resolve_conflict(self, index: int, entry: Entry) -> None:
        """If an existing entry conflicts with a new one (same index, different terms),
        delete the existing entry and all that follow it, then append the new one."""
        assert self.role != LEADER, "a leader never overwrites its own log"
        self.ctx.emit("truncated", instance=index, count=self.last_log_index() - index + 1,
                      term=self.term_at(index), last_log_index=self.last_log_index())
        del self.log[index - self.log_start:]
        self.log.append(entry)

    def check_log(self, start: int, end: int) -> None:
        """Invariants of this server's own state where it just changed, which no peer,
        broken or not, can make false: an entry comes from the leader of a term no
        later than ours, and nothing is applied that is not committed."""
        for index in range(max(start, self.log_start), min(end, self.last_log_index()) + 1):
            assert self.entry(index)[0] <= self.current_term, \
                f"{self.ctx.node_id}: entry {index} is of a term after ours"
        assert self.ctx.storage["last_applied"] <= self.commit_index

    # -- the disk ---------------------------------------------------------------
    def reply_after_disk(self, dst: str, reply: Message, persisted: bool) -> None:
        """Send ``reply`` once what it depends on is on disk: at once without a disk
        latency or a write; else after the write, writes done one after another.

        The state is in ``ctx.storage`` already when the write starts (a crash
        during it keeps the write: the safe side of an atomic disk).
        """
        spec = self.options.disk_of(self.ctx.node_id)
        if spec is None or (not persisted and not self.disk_queue):
            self.ctx.send(dst, reply)
            return
        now = self.ctx.now
        start = max(now, self.disk_busy_until)
        done = start + (draw_latency(spec, self.ctx.rng) if persisted else 0.0)
        self.disk_busy_until = done
        self.disk_queue.append((done, dst, reply))
        if len(self.disk_queue) == 1:
            self.ctx.set_timer("disk:write", done - now)

    def disk_done(self) -> None:
        now = self.ctx.now
        while self.disk_queue and self.disk_queue[0][0] <= now:
            _, dst, reply = self.disk_queue.pop(0)
            self.ctx.send(dst, reply)
        if self.disk_queue:
            self.ctx.set_timer("disk:write", self.disk_queue[0][0] - now)

    # -- dispatch ---------------------------------------------------------------
    def on_message(self, src: str, msg: Message) -> None:
        match msg:
            case AppendEntries():
                self.on_append_entries(src, msg)
            case AppendEntriesReply():
                self.on_append_entries_reply(src, msg)
            case InstallSnapshot():
                self.on_install_snapshot(src, msg)
            case RequestVote():
                self.on_request_vote(src, msg)
            case RequestVoteReply():
                self.on_request_vote_reply(src, msg)
            case Submit():
                self.on_submit(src, msg)

    def state(self) -> dict[str, Any]:
        return {"role": self.role, "current_term": self.current_term,
                "voted_for": self.voted_for, "leader": self.leader_id,
                "log_length": self.last_log_index() + 1, "commit_index": self.commit_index,
                "last_applied": self.ctx.storage["last_applied"]}
