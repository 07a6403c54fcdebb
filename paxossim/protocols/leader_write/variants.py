"""The broken variant: a replica that replaces its vote with a later write.

A variant is code of its own: a subclass that overrides exactly the rule it
breaks, so reading it shows the bug and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from paxossim.protocols.contract import Variant
from paxossim.protocols.leader_write.nodes import Replica


class OverwriteReplica(Replica):
    """Stores every new value the leader writes, replacing its vote."""

    def replaces(self, held: str, value: str) -> bool:
        return True


@dataclass(frozen=True)
class LeaderWriteVariant(Variant):
    """A variant and the class its replicas are built from."""

    replica: type[Replica] = Replica


VARIANTS: dict[str, LeaderWriteVariant] = {
    "correct": LeaderWriteVariant("replicas store the first value written and keep it"),
    "overwrite": LeaderWriteVariant(
        "replicas store every new value the leader writes, replacing their vote",
        replica=OverwriteReplica),
}
