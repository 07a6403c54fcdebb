"""Hand-driven nodes of every protocol, brought to a state worth snapshotting.

Each case builds a node in a :class:`FakeContext`, plays a script of inputs
(messages, and time advancing so that due timers fire) up to a *before*
point, and has an *after* script that touches what a snapshot must carry:
durable and volatile state, random draws, pending timers. Shared by
``test_snapshot.py`` and the subprocess that checks digests under another
``PYTHONHASHSEED``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fakes import FakeContext

from paxossim.protocols import multipaxos, p2p, paxos
from paxossim.protocols.base import Message, Node
from paxossim.protocols.quorums import Quorums
from paxossim.protocols.replicated import Client, ClientNode, ClientOptions, Reply, Submit

Step = tuple[Any, ...]
"""("msg", src, message) or ("advance", t): fire due timers in time order up to t."""


def play(node: Node, ctx: FakeContext, steps: list[Step]) -> None:
    for step in steps:
        if step[0] == "msg":
            node.on_message(step[1], step[2])
        else:
            advance(node, ctx, step[1])


def advance(node: Node, ctx: FakeContext, until: float) -> None:
    """Move time to ``until``, firing every timer due by then (earliest first,
    name breaking ties), as a runtime would."""
    while True:
        due = [(t, name) for name, t in ctx.timers.items() if t <= until]
        if not due:
            break
        t, name = min(due)
        del ctx.timers[name]
        ctx.now = ctx.clock = max(ctx.now, t)
        node.on_timer(name)
    ctx.now = ctx.clock = max(ctx.now, until)


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[FakeContext], Node]
    before: list[Step]
    after: list[Step]

    def node_id(self) -> str:
        return "N" if self.name.startswith("paxos") else "c1" if "client" in self.name else "r1"

    def fresh(self, seed: int = 0) -> tuple[Node, FakeContext]:
        ctx = FakeContext(self.node_id(), seed=seed)
        node = self.build(ctx)
        node.on_start()
        return node, ctx

    def driven(self) -> tuple[Node, FakeContext]:
        node, ctx = self.fresh()
        play(node, ctx, self.before)
        return node, ctx


def msg(src: str, message: Message) -> Step:
    return ("msg", src, message)


# -- Basic Paxos ----------------------------------------------------------------

ACCEPTORS = ("A1", "A2", "A3")


def paxos_node(roles: tuple[str, ...], variant: str = "correct") -> Callable[[FakeContext], Node]:
    chosen = paxos.VARIANTS[variant]
    cluster = chosen.cluster(paxos.Cluster(ACCEPTORS, ("L",), Quorums.of(ACCEPTORS),
                                           paxos.PaxosOptions()))
    return lambda ctx: paxos.PaxosNode(ctx, roles, cluster, chosen.roles)


P = "N"
PAXOS_PROPOSER = Case(
    "paxos-proposer",
    paxos_node(("proposer",)),
    before=[
        msg("client", paxos.ClientRequest("v1")),
        msg("A1", paxos.Promise((1, P), None, None)),
        msg("A2", paxos.Nack((1, P), (4, "Q"), "prepare")),  # backoff: a random draw
    ],
    after=[
        ("advance", 200.0),  # the backoff timer fires: ballot (5, N)
        msg("A1", paxos.Promise((5, P), (3, "Q"), "q")),
        msg("A3", paxos.Promise((5, P), None, None)),  # phase 2 adopts "q"
        msg("A1", paxos.Nack((5, P), (7, "Q"), "accept")),  # another draw
        ("advance", 600.0),
        msg("A2", paxos.Promise((8, P), None, None)),
        msg("A3", paxos.Promise((8, P), None, None)),
        msg("A2", paxos.Accepted((8, P), "v1")),
        msg("A3", paxos.Accepted((8, P), "v1")),
        ("advance", 2000.0),
    ],
)

PAXOS_ACCEPTOR = Case(
    "paxos-acceptor-learner",
    paxos_node(("acceptor", "learner")),
    before=[
        msg("P1", paxos.Prepare((1, "P1"))),
        msg("P1", paxos.Accept((1, "P1"), "a")),
        msg("A2", paxos.Accepted((1, "P1"), "a")),
    ],
    after=[
        msg("P2", paxos.Prepare((2, "P2"))),
        msg("P1", paxos.Accept((1, "P1"), "late")),
        msg("P2", paxos.Accept((2, "P2"), "a")),
        msg("A3", paxos.Accepted((2, "P2"), "a")),
        msg("A2", paxos.Accepted((2, "P2"), "a")),
    ],
)

PAXOS_FORGETFUL = Case(
    "paxos-acceptor-forgetful",
    paxos_node(("acceptor",), "forget-promise-on-restart"),
    before=PAXOS_ACCEPTOR.before[:2],
    after=PAXOS_ACCEPTOR.after[:3],
)


# -- Multi-Paxos ----------------------------------------------------------------

REPLICAS = ("r1", "r2", "r3", "r4", "r5")
B = (1, "r1")


def put(n: int, client: str = "c1") -> str:
    return f"{client}#{n}|put|k{n % 3}|{client}#{n}"


def replica(ctx: FakeContext) -> Node:
    return multipaxos.Replica(ctx, multipaxos.Cluster(REPLICAS, Quorums.of(REPLICAS),
                                                      multipaxos.MultiPaxosOptions()))


MULTIPAXOS_LEADER = Case(
    "multipaxos-leader",
    replica,
    before=[
        ("advance", 400.0),  # the election timer fires: probe
        msg("r2", multipaxos.ProbeReply(True)),
        msg("r3", multipaxos.ProbeReply(True)),  # campaign with ballot (1, r1)
        msg("r1", multipaxos.Promise(B, (), ())),
        msg("r2", multipaxos.Promise(B, ((0, (0, "r9"), "old"),), ())),
        msg("r3", multipaxos.Promise(B, (), ())),  # elected: slot 0 re-proposed
        msg("c1", Submit(put(1))),
        msg("c2", Submit(put(2, "c2"))),
        msg("r2", multipaxos.Accepted(B, 0, 0)),
        msg("r3", multipaxos.Accepted(B, 0, 0)),
        msg("r2", multipaxos.Accepted(B, 1, 1)),
    ],
    after=[
        msg("r4", multipaxos.Accepted(B, 1, 1)),
        msg("c1", Submit(put(3))),
        ("advance", 520.0),  # heartbeats: stalled slots resent
        msg("r3", multipaxos.HeartbeatAck(B, 0)),
        msg("r2", multipaxos.Accepted(B, 2, 2)),
        msg("r3", multipaxos.Accepted(B, 2, 2)),
        msg("r5", multipaxos.Nack(B, (3, "r5"))),  # deposed: election timer redrawn
        msg("c1", Submit(put(4))),
        ("advance", 1500.0),
    ],
)

MULTIPAXOS_FOLLOWER = Case(
    "multipaxos-follower",
    replica,
    before=[
        msg("r2", multipaxos.Accept((2, "r2"), 0, put(1), 0)),
        msg("r2", multipaxos.Accept((2, "r2"), 1, put(2), 1)),
        msg("r2", multipaxos.Accept((2, "r2"), 3, put(4), 1)),
    ],
    after=[
        msg("r2", multipaxos.Heartbeat((2, "r2"), 2)),
        msg("r2", multipaxos.Decisions((2, "r2"), ((2, put(3)), (3, put(4))))),
        msg("c1", Submit(put(5))),
        ("advance", 900.0),
        msg("r4", multipaxos.ProbeReply(True)),
    ],
)


# -- peer-to-peer ---------------------------------------------------------------

PEERS = ("r1", "r2", "r3")


def peer(ctx: FakeContext) -> Node:
    return p2p.Peer(ctx, p2p.Cluster(PEERS, Quorums.of(PEERS), p2p.P2POptions()))


PB = (1, "r1")
P2P_PEER = Case(
    "p2p-peer",
    peer,
    before=[
        msg("c1", Submit(put(1))),  # prepare slot 0, attempt timer with jitter
        msg("r2", p2p.Promise(0, PB, None, None)),
        msg("r3", p2p.Decided(2, put(9))),  # a gap
        msg("c2", Submit(put(2, "c2"))),
    ],
    after=[
        msg("r2", p2p.Nack(0, PB, (3, "r2"))),
        msg("r3", p2p.Nack(0, PB, (3, "r3"))),  # preempted: backoff draw
        ("advance", 300.0),
        msg("r2", p2p.Promise(0, (4, "r1"), None, None)),
        msg("r3", p2p.Promise(0, (4, "r1"), (3, "r3"), put(7))),
        msg("r2", p2p.Accepted(0, (4, "r1"))),
        msg("r3", p2p.Accepted(0, (4, "r1"))),
        ("advance", 1200.0),
    ],
)


# -- a key-value client -----------------------------------------------------------


def client(workload: str) -> Callable[[FakeContext], Node]:
    options = ClientOptions(workload=workload, outstanding=2, rate=0.02, client_timeout=150.0)
    return lambda ctx: ClientNode(ctx, Client(ctx, PEERS, options, home=1))


KV_CLIENT_OPEN = Case(
    "kv-client-open",
    client("open"),
    before=[("advance", 250.0), msg("r2", Reply("c1#1", False, leader="r3"))],
    after=[
        msg("r3", Reply("c1#1", True, "ok")),
        ("advance", 700.0),
        msg("r3", Reply("c1#2", True, None)),
        ("advance", 1200.0),
    ],
)

KV_CLIENT_CLOSED = Case(
    "kv-client-closed",
    client("closed"),
    before=[msg("r2", Reply("c1#1", True, "ok"))],
    after=[
        ("advance", 160.0),  # c1#2 times out: retried elsewhere
        msg("r3", Reply("c1#3", True, None)),
        msg("r3", Reply("c1#2", True, "ok")),
        ("advance", 500.0),
    ],
)

CASES = [PAXOS_PROPOSER, PAXOS_ACCEPTOR, PAXOS_FORGETFUL, MULTIPAXOS_LEADER,
         MULTIPAXOS_FOLLOWER, P2P_PEER, KV_CLIENT_OPEN, KV_CLIENT_CLOSED]
BY_NAME = {case.name: case for case in CASES}
