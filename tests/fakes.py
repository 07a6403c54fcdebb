"""A hand-driven Context, so protocol nodes can be tested without any simulator."""

from __future__ import annotations

from typing import Any

from paxossim.protocols.base import Message
from paxossim.rng import Stream


class FakeContext:
    """Records what a node does; the test moves time and feeds messages itself."""

    def __init__(self, node_id: str, seed: int = 0) -> None:
        self.node_id = node_id
        self.rng = Stream(seed, f"node:{node_id}")
        self.storage: dict[str, Any] = {}
        self.now = 0.0
        self.clock = 0.0
        self.sent: list[tuple[str, Message]] = []
        self.timers: dict[str, float] = {}
        self.events: list[dict[str, Any]] = []

    def send(self, dst: str, msg: Message) -> None:
        self.sent.append((dst, msg))

    def set_timer(self, name: str, delay: float) -> None:
        self.timers[name] = self.now + delay

    def cancel_timer(self, name: str) -> None:
        self.timers.pop(name, None)

    def pending_timers(self) -> dict[str, float]:
        """Armed timers as name -> delay still to run (what a snapshot records)."""
        return {name: due - self.now for name, due in self.timers.items()}

    def emit(self, kind: str, **fields: Any) -> None:
        self.events.append({"ev": kind, **fields})

    def take(self) -> list[tuple[str, Message]]:
        """The messages sent since the last take()."""
        sent, self.sent = self.sent, []
        return sent

    def kinds(self) -> list[str]:
        return [event["ev"] for event in self.events]
