"""Quorum systems: how many voters make a phase-1 and a phase-2 quorum.

One module for every protocol and for the checker, so that the protocol and
the judge of its safety count the same way unless a broken variant says
otherwise. By default both phases need a majority of the voters. A scenario
may set other sizes (``[quorums] phase1 = 3, phase2 = 2``), as in Flexible
Paxos (Howard, Malkhi, Spiegelman, 2016): safety needs only that every
phase-1 quorum meets every phase-2 quorum, which for counting quorums is
``phase1 + phase2 > N``. A scenario that breaks that rule is allowed on
purpose (it shows why the rule exists): the checker then catches two
decisions, and :attr:`Quorums.intersecting` says why.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass


def majority(count: int) -> int:
    """The smallest number of voters that is more than half of ``count``."""
    return count // 2 + 1


@dataclass(frozen=True)
class Quorums:
    """Counting quorums over ``voters``: any ``phase1`` (resp. ``phase2``) of them."""

    voters: tuple[str, ...]
    phase1: int
    phase2: int

    def __post_init__(self) -> None:
        count = len(self.voters)
        assert 1 <= self.phase1 <= max(count, 1), f"phase-1 quorum {self.phase1} of {count}"
        assert 1 <= self.phase2 <= max(count, 1), f"phase-2 quorum {self.phase2} of {count}"

    @classmethod
    def of(cls, voters: Collection[str], phase1: int | None = None,
           phase2: int | None = None) -> Quorums:
        """Majorities unless a size is given."""
        voters = tuple(voters)
        default = majority(len(voters))
        return cls(voters, phase1 or default, phase2 or default)

    @property
    def intersecting(self) -> bool:
        """Every phase-1 quorum meets every phase-2 quorum (what safety needs)."""
        return self.phase1 + self.phase2 > len(self.voters)

    def is_phase1(self, group: Collection[str]) -> bool:
        return len(group) >= self.phase1

    def is_phase2(self, group: Collection[str]) -> bool:
        return len(group) >= self.phase2

    def to_dict(self) -> dict[str, int]:
        return {"phase1": self.phase1, "phase2": self.phase2}
