"""Basic Paxos's messages, named as in "Paxos Made Simple" (prepare, promise,
accept, accepted), plus the explicit nack that the paper mentions as an
optimisation and the client's request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from paxossim.protocols.base import Message

Ballot = tuple[int, str]
"""(number, proposer id): compared as tuples, so two proposers never share one."""


@dataclass(frozen=True, slots=True)
class ClientRequest(Message):
    TYPE: ClassVar[str] = "request"
    LABEL: ClassVar[str] = "request {value:value}"
    value: str
    ballot: int | None = None
    """A ballot number the scenario wants this proposer to start from (the post's "5:31PM")."""


@dataclass(frozen=True, slots=True)
class Prepare(Message):
    """Phase 1a: will you promise to ignore ballots below ``ballot``?"""

    TYPE: ClassVar[str] = "prepare"
    LABEL: ClassVar[str] = "prepare {ballot:ballot}"
    ballot: Ballot


@dataclass(frozen=True, slots=True)
class Promise(Message):
    """Phase 1b: the promise, with the highest-ballot vote this acceptor cast."""

    TYPE: ClassVar[str] = "promise"
    LABEL: ClassVar[str] = "promise {ballot:ballot}"
    DETAILS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("accepted_ballot", " (accepted {accepted_ballot:ballot}, {accepted_value:value})"),)
    ballot: Ballot
    accepted_ballot: Ballot | None
    accepted_value: str | None


@dataclass(frozen=True, slots=True)
class Accept(Message):
    """Phase 2a: please vote for ``value`` in ``ballot``."""

    TYPE: ClassVar[str] = "accept"
    LABEL: ClassVar[str] = "accept {ballot:ballot}, {value:value}"
    ballot: Ballot
    value: str


@dataclass(frozen=True, slots=True)
class Accepted(Message):
    """Phase 2b: the vote, sent to the proposer and to every learner."""

    TYPE: ClassVar[str] = "accepted"
    LABEL: ClassVar[str] = "accepted {ballot:ballot}, {value:value}"
    ballot: Ballot
    value: str


@dataclass(frozen=True, slots=True)
class Nack(Message):
    """An acceptor's refusal of ``ballot``: it has promised ``promised``."""

    TYPE: ClassVar[str] = "nack"
    LABEL: ClassVar[str] = "nack {ballot:ballot} (promised {promised:ballot})"
    ballot: Ballot
    promised: Ballot
    phase: str
