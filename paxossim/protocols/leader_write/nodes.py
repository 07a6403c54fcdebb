"""The two kinds of node: the one leader, and the replicas that vote.

Nodes are sans-IO: they react to ``on_start``, ``on_message`` and
``on_timer`` and act only through ``self.ctx`` (send, timers, durable
storage, emit). What must survive a crash goes in ``ctx.storage``; the rest
is rebuilt when the node boots again.
"""

from __future__ import annotations

from dataclasses import dataclass

from paxossim.protocols.base import Context, Message, Node
from paxossim.protocols.leader_write.messages import Ack, ClientRequest, Write
from paxossim.protocols.quorums import Quorums


@dataclass(frozen=True)
class Options:
    """The scenario's ``[leader_write]`` table."""

    resend_every: float = 50.0
    """How long the leader waits for a quorum of acks before it writes again."""


@dataclass(frozen=True)
class Cluster:
    """Who is who and what a quorum is, as every node sees it (from the scenario)."""

    leader: str
    replicas: tuple[str, ...]
    quorums: Quorums
    resend_every: float


class Leader(Node):
    """Writes every value a client asks for to every replica, until a quorum holds one.

    Durable: the values it was asked to write (so a restarted leader writes
    them again) and the value it learned. Volatile: which replica acked what.
    """

    def __init__(self, ctx: Context, cluster: Cluster) -> None:
        super().__init__(ctx)
        self.cluster = cluster
        self.acks: dict[str, set[str]] = {}

    @property
    def values(self) -> tuple[str, ...]:
        return self.ctx.storage.get("values", ())

    def on_start(self) -> None:
        if self.values and "learned" not in self.ctx.storage:
            self.write_all(again=True)

    def on_message(self, src: str, msg: Message) -> None:
        if isinstance(msg, ClientRequest) and msg.value not in self.values:
            # A new tuple, not an append: storage logs the keys it is given.
            self.ctx.storage["values"] = (*self.values, msg.value)
            self.write(msg.value, again=False)
            self.ctx.set_timer("resend", self.cluster.resend_every)
        elif isinstance(msg, Ack):
            self.on_ack(src, msg)

    def write(self, value: str, again: bool) -> None:
        self.ctx.emit("write", value=value, again=again)
        for replica in self.cluster.replicas:
            self.ctx.send(replica, Write(value))

    def write_all(self, again: bool) -> None:
        for value in self.values:
            self.write(value, again)
        self.ctx.set_timer("resend", self.cluster.resend_every)

    def on_ack(self, src: str, msg: Ack) -> None:
        voters = self.acks.setdefault(msg.value, set())
        voters.add(src)
        # A correct leader never learns twice; it reports a second, different
        # value anyway, so that a bug upstream shows in the log (and the checker).
        if self.cluster.quorums.is_phase2(voters) and self.ctx.storage.get("learned") != msg.value:
            self.ctx.storage["learned"] = msg.value
            self.ctx.cancel_timer("resend")
            self.ctx.emit("learned", value=msg.value)

    def on_timer(self, name: str) -> None:
        if name == "resend" and "learned" not in self.ctx.storage:
            self.write_all(again=True)


class Replica(Node):
    """Stores the first value the leader writes, durably, and acks the value it holds."""

    def __init__(self, ctx: Context, cluster: Cluster) -> None:
        super().__init__(ctx)
        self.cluster = cluster

    def on_message(self, src: str, msg: Message) -> None:
        if isinstance(msg, ClientRequest):
            self.ctx.send(self.cluster.leader, msg)  # a client reached the wrong node
        elif isinstance(msg, Write):
            self.on_write(src, msg)

    def on_write(self, src: str, msg: Write) -> None:
        held = self.ctx.storage.get("value")
        if held is None or (held != msg.value and self.replaces(held, msg.value)):
            # Written down before the ack leaves: a crash cannot undo a vote.
            self.ctx.storage["value"] = held = msg.value
            self.ctx.emit("stored", value=msg.value, leader=src)
        elif held != msg.value:
            self.ctx.emit("kept", value=held, refused=msg.value)
        self.ctx.send(src, Ack(held))

    def replaces(self, held: str, value: str) -> bool:
        """The rule safety rests on: a replica votes once and never changes its vote."""
        return False
