"""The sans-IO contract between protocol nodes and whatever runs them.

A node never imports simpy, never reads a clock, never draws from a global
random state. It reacts to three calls (``on_start``, ``on_message``,
``on_timer``) and acts only through the :class:`Context` it was built with.
That keeps every protocol testable by hand-feeding messages (see
:class:`FakeContext` in the tests) and replayable from a log.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

from paxossim.rng import Stream
from paxossim.schema import Table


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

    The log writes a message as ``"type": TYPE`` plus its fields.
    """

    TYPE: ClassVar[str] = "message"


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


class ProtocolFamily(ABC):
    """Everything the rest of paxossim needs to know about one protocol."""

    name: ClassVar[str]
    description: ClassVar[str]

    @abstractmethod
    def roles(self) -> tuple[str, ...]: ...

    @abstractmethod
    def variants(self) -> dict[str, str]:
        """Variant name -> one-line description; ``correct`` is always there."""

    @abstractmethod
    def parse_options(self, table: Table, nodes: Mapping[str, tuple[str, ...]]) -> Any:
        """Validate the scenario's ``[<protocol name>]`` table."""

    @abstractmethod
    def options_to_dict(self, options: Any) -> dict[str, Any]: ...

    @abstractmethod
    def make_node(self, node_id: str, scenario: Any, ctx: Context) -> Node: ...

    @abstractmethod
    def request(self, value: str, ballot: int | None) -> Message:
        """The message a client sends to ask for ``value`` to be decided."""

    def extra_checks(
        self, header: dict[str, Any], events: list[dict[str, Any]]
    ) -> tuple[dict[str, Any], list[Any]]:
        """Protocol-specific summary fields and safety violations (``checks.Violation``),
        from the log, beyond the per-instance checks every run gets.

        Why a hook: a replicated log has invariants of its own (applied logs are
        prefixes of one another, the client history is linearizable) and figures
        of its own (commit latency, elections); ``metrics.summarize`` merges both.
        """
        return {}, []
