"""The contract a protocol implements to run under paxossim: one declaration each.

A protocol is a package (or module) with a subclass of :class:`Protocol`
registered by name. It declares, in one place:

- its **roles** and **messages** (frozen dataclasses, see
  :class:`paxossim.protocols.base.Message`);
- its **options** (the scenario's ``[<name>]`` table) and extra keys of
  ``[[requests]]`` items (Paxos: ``ballot``);
- its **events**: every kind it may ``emit``, with typed fields and a
  one-line label; the runtime logs them as ``"<protocol>.<kind>"`` so they
  can never collide with the runtime's own events, and refuses a kind or a
  field that was not declared;
- its **decision rule** (:class:`DecisionRule`): what "decided" means,
  so that the generic checker judges agreement, validity and integrity
  from the votes of honest nodes, over the scenario's quorum system, without
  asking the protocol what it thinks was decided;
- its **variants**: broken (or Byzantine) versions as code of their own,
  which a scenario can set for every node or for one node;
- optional protocol-specific checks and summary figures, fed the event
  stream as it is written (:class:`StreamCheck`);
- optional **rules** its honest nodes keep
  (:class:`~paxossim.protocols.rulebook.Rule`), from which a violation is
  explained: which node broke which rule.
- optionally, its **visible state** (:meth:`Protocol.visible_state`): what the
  run viewer shows of a node at each moment.

Nothing outside the protocol's package knows its names: the account, the
diagrams and the checks read these declarations.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

from paxossim.protocols.base import Context, Message, Node
from paxossim.protocols.quorums import majority
from paxossim.protocols.rulebook import Rule
from paxossim.schema import Table

RESERVED_FIELDS = frozenset({"t", "ev", "node", "cause", "copy"})
"""Keys every event line has (time, kind, node, and the id of its cause), and
``copy``, which names a twinned node's second copy on the events it causes."""


@dataclass(frozen=True)
class EventKind:
    """One kind of event: its fields and the sentence the account tells for it.

    ``label`` is a template over the fields (and ``{node}``), in which a
    field may name its notation: ``{ballot:ballot}`` (the post writes ballots
    as clock times), ``{value:value}`` (quoted), ``{groups:groups}``; each of
    ``details`` is ``(field, template)``, appended when that field is set (not
    None, not false). Templates, not code, so that a viewer in another
    language can render the same sentence from the log alone
    (:func:`paxossim.labels.render`).
    """

    name: str
    fields: tuple[str, ...]
    label: str
    details: tuple[tuple[str, str], ...] = ()
    told: bool = True
    """Whether the run's account tells it (plumbing events such as a
    replica's ``applied`` are logged but not told)."""
    mark: str = ""
    """A short note (a template) that diagrams write beside the node's
    lifeline at this event; empty: not marked."""
    mark_style: str = "note"
    """How a diagram draws the mark: ``decision`` (a star), ``refusal``
    (red), ``fault`` (the diagram draws the outage itself), ``note``."""

    @cached_property
    def field_set(self) -> frozenset[str]:
        return frozenset(self.fields)

    def __post_init__(self) -> None:
        assert "." not in self.name, f"event kind {self.name!r}: no dots (they namespace)"
        for name in self.fields:
            assert name not in RESERVED_FIELDS, f"event {self.name!r}: field {name!r} is reserved"


@dataclass(frozen=True)
class DecisionRule:
    """What "decided" means, in terms of the protocol's own events.

    A value ``v`` is decided in instance ``i`` once a phase-2 quorum of
    honest nodes holding role ``voters`` emitted a ``vote`` event for the
    same ``(i, round, v)``. A node that emits a ``learn`` event says it knows
    the decision of instance ``i``; integrity and agreement hold such claims
    against each other and against what the votes decided. Values a client
    asked for are the runtime's ``request`` events plus this protocol's
    ``proposals`` events (their ``value`` field); with the values of its
    ``allowed`` events (a no-op a new leader may write), only those are valid.
    """

    vote: str
    voters: str
    round: str = "ballot"
    value: str = "value"
    instance: str | None = None
    """The field naming the instance (a log slot); None: one decision per run."""
    learn: str | None = None
    proposals: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()
    learners: str | None = None
    """The role whose nodes each get their own figures as they learn (a sweep's
    ``learn_latency_<node>`` columns); None: none do (a log's replicas would
    make a column per replica)."""


@dataclass(frozen=True)
class Variant:
    """A way to run a protocol's nodes: ``correct``, or a deliberate bug.

    ``byzantine`` variants lie on purpose; a node running one is excluded
    from the safety checks as if the scenario listed it in ``byzantine``.
    """

    description: str
    byzantine: bool = False


class StreamCheck(ABC):
    """A protocol's own invariants and figures, computed as the events stream by.

    ``kinds`` lists the event kinds (full names, e.g. ``multipaxos.learned``
    or ``send``) it reads; it sees no other, so that an idle check costs
    nothing per event.
    """

    kinds: frozenset[str] = frozenset()

    @abstractmethod
    def feed(self, event: dict[str, Any]) -> None: ...

    @abstractmethod
    def finish(self, end: float) -> tuple[dict[str, Any], list[Any]]:
        """Summary fields and violations (``paxossim.checks.safety.Violation``) at the end."""


class Protocol(ABC):
    """Everything the rest of paxossim knows about one protocol."""

    name: ClassVar[str]
    description: ClassVar[str]
    roles: ClassVar[tuple[str, ...]]
    messages: ClassVar[tuple[type[Message], ...]]
    events: ClassVar[tuple[EventKind, ...]]
    decision: ClassVar[DecisionRule]
    variants: ClassVar[Mapping[str, Variant]]
    """Name -> variant; ``correct`` is always there."""
    request_keys: ClassVar[tuple[str, ...]] = ()
    """Extra keys a ``[[requests]]`` item may set for this protocol."""
    rules: ClassVar[tuple[Rule, ...]] = ()
    """The rules an honest node keeps, each checkable on one event from the log
    (``paxossim.checks.explain`` walks a violation back to the first broken one)."""

    @abstractmethod
    def parse_options(self, table: Table, nodes: Mapping[str, tuple[str, ...]]) -> Any:
        """Validate the scenario's ``[<protocol name>]`` table."""

    @abstractmethod
    def options_to_dict(self, options: Any) -> dict[str, Any]: ...

    def default_quorums(self, voters: int) -> tuple[int, int]:
        """Phase-1 and phase-2 quorum sizes over ``voters`` voters when the
        scenario's ``[quorums]`` sets none: majorities (PBFT: 2f+1 of 3f+1)."""
        return majority(voters), majority(voters)

    def parse_request(self, item: Table) -> dict[str, Any]:
        """Validate a ``[[requests]]`` item's protocol-specific keys (``request_keys``)."""
        return {}

    @abstractmethod
    def client_request(self, value: str, extra: Mapping[str, Any]) -> Message:
        """The message a scripted client sends to ask for ``value`` to be decided."""

    @abstractmethod
    def make_node(self, node_id: str, scenario: Any, ctx: Context, variant: str) -> Node:
        """Build node ``node_id`` running ``variant`` (every call boots a fresh node)."""

    def checks(self, scenario: Mapping[str, Any]) -> list[StreamCheck]:
        """This protocol's own invariants and figures for one run."""
        return []

    def account_lines(self, summary: Mapping[str, Any], unit: str) -> list[str]:
        """A few lines the run's account prints from this protocol's own summary
        fields (what its ``checks`` returned), after the generic figures; none by
        default. Keep it short: the account is read in a terminal."""
        return []

    def visible_state(self, node: Node) -> dict[str, Any]:
        """What a viewer shows of a node's state at a moment (promised ballot, term,
        view, log): a small dict of plain values, read after each event of a re-run.

        By default the node's durable storage, where a protocol keeps what it
        promised and voted; override it to choose, and to add volatile state (a
        phase, the leader it follows). Keep it small: it is recorded each time it
        changes, into every ``view.html``.
        """
        return dict(node.ctx.storage)

    # -- derived, for the runtime and the readers of logs ----------------------
    def event_kinds(self) -> dict[str, EventKind]:
        """Declared kinds by their full (namespaced) name."""
        return {f"{self.name}.{kind.name}": kind for kind in self.events}

    def message_label(self, kind: str, fields: Mapping[str, Any]) -> tuple[str, tuple]:
        """The template (and details) a diagram writes a message of type ``kind`` with."""
        for message in self.messages:
            if kind == message.TYPE and message.LABEL:
                return message.LABEL, message.DETAILS
        return kind + (" {ballot:ballot}" if "ballot" in fields else ""), ()
