"""Paxos's rules that more than one protocol of the family applies word for word."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from paxossim.protocols.paxos.messages import Ballot

Value = TypeVar("Value")


def value_to_propose(own: Value, votes: Iterable[tuple[Ballot | None, Value | None]]
                     ) -> tuple[Value, Ballot | None]:
    """Phase 2a's rule: among the votes a phase-1 quorum reported as
    ``(accepted ballot, accepted value)``, the value of the highest ballot; the
    proposer's ``own`` value only if none of them voted. Returns the value and
    the ballot it was adopted from (None: our own)."""
    value, highest = own, None
    for ballot, accepted in votes:
        if ballot is not None and (highest is None or ballot > highest):
            assert accepted is not None, "a vote has a value"
            highest, value = ballot, accepted
    return value, highest
