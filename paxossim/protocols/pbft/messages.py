"""PBFT's messages, with the paper's names (Castro and Liskov, OSDI 1999).

Every message carries ``sender``, the id it claims to come from. Signatures
are modelled as unforgeable tokens: the runtime tells a receiver the true
``src`` of a delivery, and a replica drops a message whose claimed sender
differs from it. A message forwarded inside another (a NEW-VIEW carries the
VIEW-CHANGEs it was built from) keeps its own sender; the simulator does not
model a Byzantine node forging one of those (none of the variants here does).

Requests travel as the shared KV client's :class:`~paxossim.protocols.replicated.Submit`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import ClassVar

from paxossim.protocols.base import Message


def digest(request: str) -> str:
    """``d = D(m)``: a short collision-resistant digest of a request (8 hex digits)."""
    return hashlib.sha256(request.encode()).hexdigest()[:8]


@dataclass(frozen=True, slots=True)
class PrePrepare(Message):
    """The primary of ``view`` assigns sequence number ``n`` to request ``request``."""

    TYPE: ClassVar[str] = "pre-prepare"
    LABEL: ClassVar[str] = "pre-prepare v={view} n={n}"
    view: int
    n: int
    digest: str
    request: str
    sender: str


@dataclass(frozen=True, slots=True)
class Prepare(Message):
    """A backup agrees to ``(view, n, digest)``."""

    TYPE: ClassVar[str] = "prepare"
    LABEL: ClassVar[str] = "prepare v={view} n={n}"
    view: int
    n: int
    digest: str
    sender: str


@dataclass(frozen=True, slots=True)
class Commit(Message):
    """The sender has ``prepared`` ``(view, n, digest)``."""

    TYPE: ClassVar[str] = "commit"
    LABEL: ClassVar[str] = "commit v={view} n={n}"
    view: int
    n: int
    digest: str
    sender: str


@dataclass(frozen=True, slots=True)
class PbftReply(Message):
    """A replica's answer to a client: the result of request ``id`` in ``view``."""

    TYPE: ClassVar[str] = "reply"
    LABEL: ClassVar[str] = "reply {id}"
    view: int
    id: str
    result: str | None
    sender: str


@dataclass(frozen=True, slots=True)
class Checkpoint(Message):
    """CHECKPOINT(n, d, i): the sender's state after executing ``n`` has digest ``digest``."""

    TYPE: ClassVar[str] = "checkpoint"
    LABEL: ClassVar[str] = "checkpoint n={n}"
    n: int
    digest: str
    sender: str


@dataclass(frozen=True, slots=True)
class Fetch(Message):
    """State transfer: the sender fell behind the stable checkpoint ``n``."""

    TYPE: ClassVar[str] = "fetch"
    LABEL: ClassVar[str] = "fetch n={n}"
    n: int
    sender: str


@dataclass(frozen=True, slots=True)
class State(Message):
    """The state (the KV store, as JSON) after executing ``n``; the receiver
    checks it against the digest 2f+1 checkpoints vouched for."""

    TYPE: ClassVar[str] = "state"
    LABEL: ClassVar[str] = "state n={n}"
    n: int
    state: str
    sender: str


@dataclass(frozen=True, slots=True)
class Certificate:
    """A prepared certificate ``P_m``: the pre-prepare of ``request`` at ``(view, n)``
    and the backups whose matching prepares the sender holds (2f of them)."""

    n: int
    view: int
    digest: str
    request: str
    prepares: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ViewChange(Message):
    """VIEW-CHANGE(v+1, n, C, P, i): move to ``view``; ``stable`` is the first
    sequence number not covered by the sender's last stable checkpoint (0: none
    yet; the proof C is not modelled); ``prepared`` is P, one certificate per
    n from ``stable`` on."""

    TYPE: ClassVar[str] = "view-change"
    LABEL: ClassVar[str] = "view-change v={view}"
    view: int
    stable: int
    prepared: tuple[Certificate, ...]
    sender: str
    answer: bool = False
    """Sent again to a replica still asking for ``view`` after we moved past it
    (an answer is never answered: no two replicas can bounce one forever)."""


@dataclass(frozen=True, slots=True)
class Proposal:
    """One pre-prepare of a NEW-VIEW's O: request (or the null request) at ``n``."""

    n: int
    digest: str
    request: str


@dataclass(frozen=True, slots=True)
class NewView(Message):
    """NEW-VIEW(v+1, V, O): the 2f+1 view-changes and the pre-prepares they imply."""

    TYPE: ClassVar[str] = "new-view"
    LABEL: ClassVar[str] = "new-view v={view}"
    view: int
    view_changes: tuple[ViewChange, ...]
    pre_prepares: tuple[Proposal, ...]
    sender: str
