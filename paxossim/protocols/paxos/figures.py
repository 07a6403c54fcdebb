"""Summary figures of the Paxos family (Basic Paxos, and p2p's Paxos per slot):
how many ballots the proposers tried."""

from __future__ import annotations

from typing import Any

from paxossim.protocols.contract import StreamCheck


class BallotCount(StreamCheck):
    """``attempts``: ballots proposed; ``retries``: those beyond one per client request."""

    def __init__(self, protocol: str) -> None:
        self.kinds = frozenset({f"{protocol}.propose", "request"})
        self.proposed = self.requests = 0

    def feed(self, event: dict[str, Any]) -> None:
        if event["ev"] == "request":
            self.requests += 1
        else:
            self.proposed += 1

    def finish(self, end: float) -> tuple[dict[str, Any], list[Any]]:
        return {"attempts": self.proposed,
                "retries": max(0, self.proposed - self.requests)}, []
