"""The rules a protocol's honest nodes keep, in a form an explainer can check one event at a time.

Safety checks (``paxossim.checks.safety``) say *that* a run went wrong; a
protocol's rules say *who* made it go wrong. Each :class:`Rule` looks at one
event of one node, given what that node did and received before it (its
:class:`History`), and answers with a :class:`Breach` (a sentence in the
protocol's words, and the events that prove it) or None. A correct node
never breaks one, whatever the network and the faults do; each broken
variant breaks at least one. Rules read only the log, so any log can be
explained after the fact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from paxossim.labels import ballot_label, time_label, value_label
from paxossim.protocols.quorums import Quorums

Event = dict[str, Any]
"""One event line, decoded, with ``pos`` (its position in the log). A delivery
also carries ``node`` (the receiver) and its message's ``src``, ``type`` and
``msg``, copied from its ``send``."""


@dataclass(frozen=True)
class Breach:
    """What a node did that it should not have: one sentence, and the earlier
    events (positions) the sentence cites (the promise it forgot, ...)."""

    text: str
    evidence: tuple[int, ...] = ()
    subject: str = ""
    """What the breach is about, as a protocol's own checks would name it (a
    command id): a violation that knows only its time and words is matched to
    the breach it names."""


@dataclass
class History:
    """One node's past, oldest first: its own events, the messages delivered to
    it, its crashes and recoveries. Rules read it; the explainer appends to it."""

    node: str
    quorums: Quorums
    """The scenario's quorum system (not the node's idea of it: a variant may miscount)."""
    scenario: dict[str, Any]
    events: list[Event] = field(default_factory=list)
    kinds: dict[str, list[Event]] = field(default_factory=dict)
    """The same events by kind (deliveries and sends by ``deliver:<type>``,
    ``send:<type>``): rules look up what they need without a scan."""

    def append(self, event: Event) -> None:
        self.events.append(event)
        kind = event["ev"]
        self.kinds.setdefault(kind, []).append(event)
        if kind in ("deliver", "send"):
            self.kinds.setdefault(f"{kind}:{event['type']}", []).append(event)

    def of_kind(self, *kinds: str) -> Iterator[Event]:
        """This node's events of ``kinds`` (full names), oldest first."""
        if len(kinds) == 1:
            return iter(self.kinds.get(kinds[0], ()))
        return (event for event in self.events if event["ev"] in kinds)

    def received(self, message_type: str) -> Iterator[Event]:
        """Deliveries to this node of messages of ``message_type``, oldest first."""
        return iter(self.kinds.get(f"deliver:{message_type}", ()))

    def sent(self, message_type: str) -> Iterator[Event]:
        """Messages of ``message_type`` this node sent, oldest first."""
        return iter(self.kinds.get(f"send:{message_type}", ()))

    def ballot(self, ballot: Any) -> str:
        """A ballot as the scenario writes them: ``(2,P2)``, or the post's "5:31PM"."""
        return ballot_label(as_ballot(ballot), self.scenario.get("ballot_format", "number"))

    @staticmethod
    def value(value: Any) -> str:
        return value_label(value)

    @staticmethod
    def time(event: Event) -> str:
        return "t=" + time_label(event["t"])

    def last_restart(self) -> Event | None:
        """The latest ``recover`` event: what came before it, a correct node kept
        only in durable storage."""
        restarts = self.kinds.get("recover")
        return restarts[-1] if restarts else None


Check = Callable[[Event, History], Breach | None]


@dataclass(frozen=True)
class Rule:
    """A rule of the protocol: ``check`` runs on every event of ``kinds`` (full
    names, e.g. ``paxos.accepted``) of an honest node."""

    name: str
    description: str
    kinds: frozenset[str]
    check: Check


def as_ballot(ballot: Any) -> Any:
    """Ballots come back from JSON as lists; tuples compare the same and hash."""
    return tuple(ballot) if isinstance(ballot, list) else ballot
