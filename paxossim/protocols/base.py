"""The sans-IO contract between protocol nodes and whatever runs them.

A node never imports simpy, never reads a clock, never draws from a global
random state. It reacts to three calls (``on_start``, ``on_message``,
``on_timer``) and acts only through the :class:`Context` it was built with.
That keeps every protocol testable by hand-feeding messages (see
:class:`FakeContext` in the tests) and replayable from a log.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Protocol

from paxossim.rng import Stream


class Context(Protocol):
    """What a node may do. Implemented by the runtime (and by test fakes)."""

    node_id: str
    rng: Stream
    storage: dict[str, Any]
    """Durable state: survives a crash (unless the scenario turns on amnesia)."""

    @property
    def now(self) -> float:
        """Simulated time: what an omniscient observer would read."""
        ...

    @property
    def clock(self) -> float:
        """The node's own clock reading (offset and drift applied)."""
        ...

    def send(self, dst: str, msg: Message) -> None: ...

    def set_timer(self, name: str, delay: float) -> None:
        """(Re)arm timer ``name``: ``on_timer(name)`` runs after ``delay``."""
        ...

    def cancel_timer(self, name: str) -> None: ...

    def emit(self, kind: str, **fields: Any) -> None:
        """Record a protocol-level fact (promised, accepted, learned, ...) in the log."""
        ...


class Message:
    """Base of protocol messages: frozen slotted dataclasses with a ``TYPE``.

    The log writes a message as ``"type": TYPE`` plus its fields. ``LABEL``
    (and ``DETAILS``) say how diagrams write it, in the template notation of
    :class:`paxossim.protocols.contract.EventKind`; without one, a message
    is written as its type and ballot.
    """

    TYPE: ClassVar[str] = "message"
    LABEL: ClassVar[str] = ""
    DETAILS: ClassVar[tuple[tuple[str, str], ...]] = ()


class Node(ABC):
    """One simulated process; it may hold several roles."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def on_start(self) -> None:
        """Called when the node boots, and again after each recovery."""

    @abstractmethod
    def on_message(self, src: str, msg: Message) -> None: ...

    def on_timer(self, name: str) -> None:
        """Called when a timer set with ``ctx.set_timer`` fires."""
