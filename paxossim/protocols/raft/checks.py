"""Raft's own figures, from the event stream: terms, elections, split votes, and
the downtime after each leader crash.

**Downtime** is the paper's election measure (section 9.3): from the crash
of a leader until every server still up follows one new leader, i.e. has
received the first AppendEntries of a leader of a later term (the leader's
own ``elected`` counts for itself). A loss that never ends that way within
the run (a partitioned survivor, a run that ends first) is counted in
``leader_losses`` but has no downtime.

A **split vote** is a term in which some candidate campaigned, nobody was
elected, and a later term's campaign started: an election that failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from paxossim.protocols.contract import StreamCheck


class RaftCheck(StreamCheck):
    def __init__(self, protocol: str, scenario: Mapping[str, Any]) -> None:
        self.servers = frozenset(n for n, roles in scenario["nodes"].items() if "replica" in roles)
        self.kind = {k: f"{protocol}.{k}" for k in ("campaign", "elected", "deposed", "follows")}
        self.kinds = frozenset({*self.kind.values(), "crash", "recover"})
        self.campaigned: set[int] = set()
        self.won: set[int] = set()
        self.campaigns = self.elections_won = 0
        self.highest_term = 0
        self.leader: tuple[str, int] | None = None
        self.down: set[str] = set()
        self.following: dict[str, tuple[int, str]] = {}
        self.open_loss: tuple[float, int] | None = None
        """(crash time, term) of the leader crash whose downtime is running."""
        self.losses = 0
        self.downtimes: list[float] = []

    def feed(self, event: dict[str, Any]) -> None:
        ev, node, time = event["ev"], event["node"], event["t"]
        if node not in self.servers:
            return
        if ev == "crash":
            self.down.add(node)
            self.following.pop(node, None)
            if self.leader is not None and self.leader[0] == node:
                self.losses += 1
                self.open_loss = (time, self.leader[1])
                self.leader = None
        elif ev == "recover":
            self.down.discard(node)
        elif ev == self.kind["campaign"]:
            self.campaigns += 1
            self.campaigned.add(event["term"])
            self.highest_term = max(self.highest_term, event["term"])
        elif ev == self.kind["elected"]:
            self.elections_won += 1
            self.won.add(event["term"])
            self.leader = (node, event["term"])
            self.following[node] = (event["term"], node)
        elif ev == self.kind["deposed"]:
            if self.leader is not None and self.leader[0] == node:
                self.leader = None
        elif ev == self.kind["follows"]:
            self.following[node] = (event["term"], event["leader"])
        self.close_loss(time)

    def close_loss(self, time: float) -> None:
        if self.open_loss is None:
            return
        up = self.servers - self.down
        seen = {self.following.get(server) for server in up}
        if len(seen) == 1:
            (current,) = seen
            if current is not None and current[0] > self.open_loss[1]:
                self.downtimes.append(time - self.open_loss[0])
                self.open_loss = None

    def finish(self, end: float) -> tuple[dict[str, Any], list[Any]]:
        split = {t for t in self.campaigned - self.won if t < self.highest_term}
        array = np.array(self.downtimes) if self.downtimes else None
        return {"raft": {
            "terms": self.highest_term,
            "elections_started": self.campaigns,
            "elections_won": self.elections_won,
            "split_votes": len(split),
            "leader_losses": self.losses,
            "downtime": None if array is None else {
                "count": len(self.downtimes),
                "mean": float(array.mean()),
                "p50": float(np.percentile(array, 50)),
                "p99": float(np.percentile(array, 99)),
                "max": float(array.max()),
                "values": [float(v) for v in self.downtimes],
            },
        }}, []
