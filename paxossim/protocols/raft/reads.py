"""Read-index reads (Raft thesis, section 6.4): linearizable reads without a log entry.

A leader that receives a read notes its ``commitIndex`` as the read index,
then makes sure it still leads: it sends a round of heartbeats tagged with a
sequence number, and waits until a majority (counting itself) has answered
that round or a later one in its term. No other leader can have committed
anything it does not hold by then (a new leader needs a majority of votes in
a higher term, and those servers would have refused the heartbeats).
Once its state machine has applied through the read index, it answers from
its own state. It needs an entry of its own term committed first (the
no-op), so that its commit index is at least every earlier leader's; until
then reads go through the log.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from paxossim.protocols.quorums import Quorums


@dataclass(frozen=True)
class PendingRead:
    client: str
    cid: str
    key: str
    index: int
    """The leader's commitIndex when the read arrived."""
    seq: int
    """The heartbeat round a majority must answer."""


@dataclass
class ReadIndex:
    """A leader's reads waiting for a majority's heartbeat answers (reset per term)."""

    seq: int = 0
    acked: dict[str, int] = field(default_factory=dict)
    """Per follower: the latest round it answered in this term."""
    pending: list[PendingRead] = field(default_factory=list)

    def start(self, client: str, cid: str, key: str, index: int) -> int:
        """Register a read; returns the round to tag the heartbeats with."""
        self.seq += 1
        self.pending.append(PendingRead(client, cid, key, index, self.seq))
        return self.seq

    def ack(self, server: str, seq: int) -> None:
        if seq > self.acked.get(server, 0):
            self.acked[server] = seq

    def ready(self, quorums: Quorums, me: str, applied: int) -> list[PendingRead]:
        """Reads whose round a majority answered and whose index is applied; removed."""
        done = [read for read in self.pending if read.index <= applied and quorums.is_phase2(
            [me] + [s for s, seq in self.acked.items() if seq >= read.seq])]
        if done:
            self.pending = [read for read in self.pending if read not in done]
        return done
