"""Pieces shared by the replicated-log protocols (``multipaxos``, ``p2p``).

- a **command** is a string ``"<client>#<seq>|put|<key>|<value>"`` or
  ``"<client>#<seq>|get|<key>"`` (or :data:`NOOP`). Strings, because the
  safety checker groups accepted values by equality and the log stores them
  as JSON; the id before the first ``|`` makes every command unique, so a
  retried command is recognised wherever it lands;
- :class:`KVStore`, the state machine replicas apply commands to, in slot
  order. It keeps a *session* per client (as real session tables do): the
  highest sequence number executed and the results of the last
  ``session_window`` ones, so a command that a client retried into two slots
  is executed once and answered twice, in memory bounded per client;
- :class:`Client`, a node with the ``client`` role: open loop (Poisson
  arrivals) or closed loop (N outstanding commands), never issuing a command
  ``session_window`` or more sequence numbers past its oldest unanswered one. It logs ``invoke`` and
  ``respond`` events, from which :mod:`paxossim.checks.linearizability` rebuilds the
  history, and a ``request`` event per command so that the validity check
  knows the value was asked for;
- the client/replica messages and the options both families share.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from paxossim.protocols.base import Context, Message, Node
from paxossim.protocols.contract import DecisionRule, EventKind
from paxossim.schema import Table

NOOP = "noop"
"""The value a new leader (or a gap-filling peer) writes into a slot nobody filled."""

Ballot = tuple[int, str]

WORKLOADS = ("closed", "open")

DECISION = DecisionRule(vote="accepted", voters="replica", instance="instance",
                        learn="learned", proposals=("request",), allowed=("noop_allowed",))
"""A slot's value is decided once a quorum of replicas accepted it in one ballot."""

CLIENT_EVENTS: tuple[EventKind, ...] = (
    EventKind("invoke", ("id", "op", "key", "value"),
              "client {node} sends {op}({key}) as {id}",
              details=(("value", ", writing {value:value}"),)),
    EventKind("request", ("id", "value"), "client {node} asks for {value:value}", told=False),
    EventKind("respond", ("id", "result"),
              "client {node} gets the answer to {id}: {result:value}"),
    EventKind("client_retry", ("id", "to"), "client {node} re-sends {id} to {to}"),
)
"""What the KV clients emit: the history the linearizability check reads."""

REPLICA_EVENTS: tuple[EventKind, ...] = (
    EventKind("noop_allowed", ("value",), "{node} may fill gaps with {value:value}",
              told=False),
    EventKind("accepted", ("instance", "ballot", "value"),
              "{node} accepts {value:value} in slot {instance} at ballot {ballot:ballot}"),
    EventKind("learned", ("instance", "value"),
              "{node} learns {value:value} for slot {instance}",
              mark="learns {value:value}", mark_style="decision"),
    EventKind("applied", ("instance", "value", "executed"),
              "{node} applies slot {instance}", told=False),
)
"""What every replica of a replicated log emits (the decision rule reads these)."""


# -- commands -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Command:
    id: str
    op: str
    key: str
    value: str | None = None

    def encode(self) -> str:
        parts = [self.id, self.op, self.key] + ([self.value] if self.value is not None else [])
        return "|".join(parts)


def parse_command(text: str) -> Command | None:
    """The command a log value stands for; None for a no-op or an opaque value."""
    parts = text.split("|")
    if len(parts) == 4 and parts[1] == "put":
        return Command(parts[0], "put", parts[2], parts[3])
    if len(parts) == 3 and parts[1] == "get":
        return Command(parts[0], "get", parts[2])
    return None


def command_id(text: str) -> str:
    """A value's command id (an opaque value, e.g. from ``[[requests]]``, is its own id)."""
    return text.split("|", 1)[0]


def session_of(cid: str) -> tuple[str, int] | None:
    """``(client, seq)`` of a client's command id ``<client>#<seq>``; None for an opaque id."""
    client, sep, seq = cid.rpartition("#")
    return (client, int(seq)) if sep and seq.isdigit() else None


DEFAULT_SESSION_WINDOW = 256


class KVStore:
    """A key-value map applied in slot order; exactly-once by command id.

    Its state lives in the dict it is given (a replica's durable storage), so
    a restarted replica resumes where it stopped instead of re-executing.

    Exactly-once with bounded memory: per client, the highest sequence number
    executed (``high``) and the results of executed ones above
    ``high - window``; anything at or below that line counts as executed.
    That is exact because a client never issues ``seq`` while a command at or
    below ``seq - window`` is unanswered (:meth:`Client.window_full`): what
    lies below the line was answered (a retry of it is a stale copy, answered
    with no result and ignored by the client) or abandoned by a restarted
    client (skipping it is allowed: it never got an answer). The rule is a
    function of the applied log alone, so every replica decides alike.
    Opaque ids (``[[requests]]`` values, finitely many) are kept for good.
    """

    def __init__(self, state: dict[str, Any], window: int = DEFAULT_SESSION_WINDOW) -> None:
        self.window = window
        self.data: dict[str, str] = state.setdefault("kv", {})
        self.results: dict[str, str | None] = state.setdefault("kv_results", {})
        self.sessions: dict[str, list[Any]] = state.setdefault("kv_sessions", {})
        """client -> [high, {seq: result}] (a list: durable storage holds plain data)."""

    def executed(self, cid: str) -> bool:
        session = session_of(cid)
        if session is None:
            return cid in self.results
        entry = self.sessions.get(session[0])
        return entry is not None and (session[1] <= entry[0] - self.window
                                      or session[1] in entry[1])

    def result(self, cid: str) -> str | None:
        session = session_of(cid)
        if session is None:
            return self.results.get(cid)
        entry = self.sessions.get(session[0])
        return None if entry is None else entry[1].get(session[1])

    def apply(self, value: str) -> tuple[bool, str | None]:
        """Execute ``value`` unless it already ran; returns (executed now, result)."""
        if value == NOOP:
            return False, None
        cid = command_id(value)
        if self.executed(cid):
            return False, self.result(cid)
        command = parse_command(value)
        result: str | None = None
        if command is not None and command.op == "put":
            assert command.value is not None
            self.data[command.key] = command.value
            result = "ok"
        elif command is not None:
            result = self.data.get(command.key)
        self.remember(cid, result)
        return True, result

    def remember(self, cid: str, result: str | None) -> None:
        session = session_of(cid)
        if session is None:
            self.results[cid] = result
            return
        client, seq = session
        entry = self.sessions.setdefault(client, [seq, {}])
        entry[0] = max(entry[0], seq)
        done: dict[int, str | None] = entry[1]
        done[seq] = result
        if len(done) > 2 * self.window:
            # Rebuilt rather than trimmed one by one: amortized O(1) per command,
            # and at most 2 * window results held per client.
            line = entry[0] - self.window
            entry[1] = {s: r for s, r in done.items() if s > line}

    def entries(self) -> int:
        """Command ids remembered (the exactly-once table's size)."""
        return len(self.results) + sum(len(entry[1]) for entry in self.sessions.values())


# -- messages -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Submit(Message):
    """A client asks a replica to run ``command``."""

    TYPE: ClassVar[str] = "submit"
    command: str


@dataclass(frozen=True, slots=True)
class Reply(Message):
    """A replica's answer: the result, or (``ok`` false) where to go instead."""

    TYPE: ClassVar[str] = "reply"
    id: str
    ok: bool
    result: str | None = None
    leader: str | None = None


# -- options ------------------------------------------------------------------


@dataclass(frozen=True)
class ClientOptions:
    workload: str = "closed"
    """``closed``: each client keeps ``outstanding`` commands in flight; ``open``:
    each client issues commands at Poisson ``rate`` whatever is in flight."""
    outstanding: int = 1
    rate: float = 0.01
    """Commands per time unit per client (open loop)."""
    keys: int = 3
    read_ratio: float = 0.5
    client_timeout: float = 300.0
    """How long a client waits for an answer before it asks the next replica."""
    stop_at: float | None = None
    """Clients issue no new command from this time on (None: until the horizon)."""
    session_window: int = DEFAULT_SESSION_WINDOW
    """A client issues no command this many sequence numbers past its oldest
    unanswered one; replicas keep results for this many per client (KVStore)."""


def parse_client_options(table: Table) -> ClientOptions:
    defaults = ClientOptions()
    stop_at = table.raw("stop_at", None)
    outstanding = table.integer("outstanding", defaults.outstanding, minimum=1)
    window = table.integer("session_window", defaults.session_window, minimum=1)
    if window < outstanding:
        table.fail(f"must be at least outstanding ({outstanding})", "session_window")
    return ClientOptions(
        workload=table.string("workload", defaults.workload, choices=WORKLOADS),
        outstanding=outstanding,
        rate=table.number("rate", defaults.rate, positive=True),
        keys=table.integer("keys", defaults.keys, minimum=1),
        read_ratio=table.probability("read_ratio", defaults.read_ratio),
        client_timeout=table.number("client_timeout", defaults.client_timeout, positive=True),
        stop_at=None if stop_at is None else table.number("stop_at", minimum=0),
        session_window=window,
    )


def client_options_to_dict(options: ClientOptions) -> dict[str, Any]:
    out: dict[str, Any] = {
        "workload": options.workload,
        "outstanding": options.outstanding,
        "rate": options.rate,
        "keys": options.keys,
        "read_ratio": options.read_ratio,
        "client_timeout": options.client_timeout,
        "session_window": options.session_window,
    }
    if options.stop_at is not None:
        out["stop_at"] = options.stop_at
    return out


def check_nodes(table: Table, nodes: Mapping[str, tuple[str, ...]]) -> None:
    """Replicas are needed; a node is a replica or a client, never both."""
    if not any("replica" in roles for roles in nodes.values()):
        table.fail("a replicated-log scenario needs at least one node with the replica role")
    for name, roles in nodes.items():
        if "|" in name:
            table.fail(f"node {name!r}: names must not contain '|' (it separates command fields)")
        if "replica" in roles and "client" in roles:
            table.fail(f"node {name!r} cannot be both a replica and a client")


# -- the client node ----------------------------------------------------------


@dataclass
class Pending:
    command: str
    target: int
    """Index into the replica list of the replica last asked."""


@dataclass
class Client:
    """Issues get/put commands and waits for answers, retrying elsewhere on silence."""

    ctx: Context
    replicas: tuple[str, ...]
    options: ClientOptions
    home: int
    """The index of the replica this client asks first."""
    pending: dict[str, Pending] = field(default_factory=dict)
    deferred: int = 0
    """Commands due (closed-loop answers, open-loop arrivals) held back while
    the session window is full; issued as soon as it has room."""

    def on_start(self) -> None:
        # A restarted client forgets what it had in flight; its sequence
        # number is durable so that it never reuses a command id.
        if self.options.workload == "closed":
            for _ in range(self.options.outstanding):
                self.issue()
        else:
            self.ctx.set_timer("arrival", self.next_arrival())

    def next_arrival(self) -> float:
        """An exponential gap (Poisson arrivals) from the node's batched uniform draws."""
        return -math.log(1.0 - self.ctx.rng.random()) / self.options.rate

    def stopped(self) -> bool:
        return self.options.stop_at is not None and self.ctx.now >= self.options.stop_at

    def window_full(self) -> bool:
        """Would the next command lie ``session_window`` or more past the oldest pending one?

        Replicas then count the oldest as executed (see KVStore), so it must
        not be pending: the client waits instead.
        """
        if not self.pending:
            return False
        oldest = min(int(cid.rpartition("#")[2]) for cid in self.pending)
        return self.ctx.storage.get("seq", 0) + 1 - oldest >= self.options.session_window

    def issue(self) -> None:
        if self.stopped():
            return
        if self.window_full():
            self.deferred += 1
            return
        storage = self.ctx.storage
        seq = storage["seq"] = storage.get("seq", 0) + 1
        cid = f"{self.ctx.node_id}#{seq}"
        key = f"k{int(self.ctx.rng.random() * self.options.keys)}"
        if self.ctx.rng.random() < self.options.read_ratio:
            command = Command(cid, "get", key)
        else:
            command = Command(cid, "put", key, cid)
        text = command.encode()
        self.ctx.emit("invoke", id=cid, op=command.op, key=key, value=command.value)
        self.ctx.emit("request", id=cid, value=text)
        self.pending[cid] = Pending(text, self.home)
        self.send(cid)

    def send(self, cid: str) -> None:
        pending = self.pending[cid]
        self.ctx.send(self.replicas[pending.target], Submit(pending.command))
        self.ctx.set_timer(f"retry:{cid}", self.options.client_timeout)

    def on_reply(self, src: str, msg: Reply) -> None:
        pending = self.pending.get(msg.id)
        if pending is None:
            return  # a late or duplicate answer
        if not msg.ok:
            if msg.leader is not None and msg.leader in self.replicas and msg.leader != src:
                pending.target = self.replicas.index(msg.leader)
                self.home = pending.target
                self.send(msg.id)
            return  # no leader known: the retry timer moves on
        self.home = self.replicas.index(src) if src in self.replicas else self.home
        self.answered(msg.id, msg.result)

    def answered(self, cid: str, result: str | None) -> None:
        """``cid`` is answered: record the response, then issue what is due
        (shared with clients that need several replies, as PBFT's)."""
        del self.pending[cid]
        self.ctx.cancel_timer(f"retry:{cid}")
        self.ctx.emit("respond", id=cid, result=result)
        while self.deferred and not self.window_full():
            self.deferred -= 1
            self.issue()
        if self.options.workload == "closed":
            self.issue()

    def on_timer(self, name: str) -> None:
        if name == "arrival":
            self.issue()
            if not self.stopped():
                self.ctx.set_timer("arrival", self.next_arrival())
            return
        cid = name.removeprefix("retry:")
        pending = self.pending.get(cid)
        if pending is None:
            return
        pending.target = (pending.target + 1) % len(self.replicas)
        self.ctx.emit("client_retry", id=cid, to=self.replicas[pending.target])
        self.send(cid)


class ElectionTimer:
    """The election timer that leader-based replicas (Multi-Paxos, Raft) share: on
    its first boot a scenario's preferred leader campaigns at once, so a run
    starts with the leader it names; any other start waits one randomized
    election timeout (``election_timeouts``) before campaigning."""

    ctx: Context
    options: Any

    def election_timeouts(self) -> tuple[float, float]:
        raise NotImplementedError

    def on_start(self) -> None:
        first_boot = not self.ctx.storage.get("booted")
        self.ctx.storage["booted"] = True
        if first_boot and self.options.preferred_leader == self.ctx.node_id:
            self.ctx.set_timer("election", 0.0)
        else:
            self.reset_election_timer()

    def reset_election_timer(self) -> None:
        low, high = self.election_timeouts()
        self.ctx.set_timer("election", self.ctx.rng.uniform(low, high))


class ClientNode(Node):
    """A node with the client role: routes replies and timers to its :class:`Client`."""

    def __init__(self, ctx: Context, client: Client) -> None:
        super().__init__(ctx)
        self.client = client

    def on_start(self) -> None:
        self.client.on_start()

    def on_message(self, src: str, msg: Message) -> None:
        if isinstance(msg, Reply):
            self.client.on_reply(src, msg)

    def on_timer(self, name: str) -> None:
        self.client.on_timer(name)


def make_client(ctx: Context, scenario: Any, options: ClientOptions) -> ClientNode:
    replicas = tuple(scenario.nodes_with("replica"))
    clients = scenario.nodes_with("client")
    home = clients.index(ctx.node_id) % len(replicas)
    return ClientNode(ctx, Client(ctx, replicas, options, home=home))
