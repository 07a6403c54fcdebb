"""The three messages of a fixed-leader write.

Each is a frozen, slotted dataclass (hashable, so node snapshots and logs can
hold it) with a ``TYPE``, the name the log writes as ``"type"``, and a
``LABEL``, the template a sequence diagram writes on its arrow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from paxossim.protocols.base import Message


@dataclass(frozen=True, slots=True)
class ClientRequest(Message):
    """A client asks for ``value`` to be written (what ``[[requests]]`` sends)."""

    TYPE: ClassVar[str] = "request"
    LABEL: ClassVar[str] = "request {value:value}"
    value: str


@dataclass(frozen=True, slots=True)
class Write(Message):
    """The leader asks a replica to store ``value``."""

    TYPE: ClassVar[str] = "write"
    LABEL: ClassVar[str] = "write {value:value}"
    value: str


@dataclass(frozen=True, slots=True)
class Ack(Message):
    """A replica tells the leader the value it holds (its vote)."""

    TYPE: ClassVar[str] = "ack"
    LABEL: ClassVar[str] = "ack {value:value}"
    value: str
