"""PBFT's client: the shared KV client, answered by f+1 matching replies.

A client cannot trust one replica's answer (it may be Byzantine), but f+1
replicas that agree include at least one honest replica, which executed the
request in the agreed order. The client sends a request to the primary of
the view it last heard of and, when no answer comes within its timeout,
sends it to every replica (backups then forward it to the primary and start
their view-change timers). It keeps the shared client's ``invoke``,
``request`` and ``respond`` events, so the replicated-log checks
(linearizability, exactly-once, durability) read its history unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from paxossim.protocols.base import Context, Message
from paxossim.protocols.pbft.messages import PbftReply
from paxossim.protocols.replicated import Client, ClientNode, ClientOptions, Submit


@dataclass
class PbftClient(Client):
    f: int = 0
    view: int = 0
    """The highest view a accepted reply came from: its primary is asked first."""
    replies: dict[str, dict[str, str | None]] = field(default_factory=dict)
    """cid -> replica -> the result it replied (one vote per replica)."""

    def send(self, cid: str) -> None:
        primary = self.replicas[self.view % len(self.replicas)]
        self.ctx.send(primary, Submit(self.pending[cid].command))
        self.ctx.set_timer(f"retry:{cid}", self.options.client_timeout)

    def on_pbft_reply(self, src: str, msg: PbftReply) -> None:
        if msg.sender != src or src not in self.replicas or msg.id not in self.pending:
            return
        votes = self.replies.setdefault(msg.id, {})
        votes[src] = msg.result
        if sum(1 for result in votes.values() if result == msg.result) < self.f + 1:
            return
        del self.replies[msg.id]
        self.view = max(self.view, msg.view)
        self.answered(msg.id, msg.result)

    def on_timer(self, name: str) -> None:
        if not name.startswith("retry:"):
            super().on_timer(name)
            return
        cid = name.removeprefix("retry:")
        pending = self.pending.get(cid)
        if pending is None:
            return
        self.ctx.emit("client_retry", id=cid, to="all")
        for replica in self.replicas:
            self.ctx.send(replica, Submit(pending.command))
        self.ctx.set_timer(name, self.options.client_timeout)


class PbftClientNode(ClientNode):
    client: PbftClient

    def on_message(self, src: str, msg: Message) -> None:
        if isinstance(msg, PbftReply):
            self.client.on_pbft_reply(src, msg)


def make_pbft_client(ctx: Context, scenario: Any, options: ClientOptions, f: int) -> PbftClientNode:
    replicas = tuple(scenario.nodes_with("replica"))
    return PbftClientNode(ctx, PbftClient(ctx, replicas, options, home=0, f=f))
