"""Broken Raft servers, each overriding the one rule it breaks.

Each can be set for every server (``variant = "..."``) or for one
(``[variants] S1 = "..."``); the generic checks, which know only the
decision rule, catch them (the bundled scenario named on each).
"""

from __future__ import annotations

from dataclasses import dataclass

from paxossim.protocols.contract import Variant
from paxossim.protocols.raft.messages import Entry
from paxossim.protocols.raft.server import Server
from paxossim.protocols.replicated import Reply, parse_command


class ForgetVoteOnRestart(Server):
    """``votedFor`` is not kept across a restart: a server that voted, crashed and came
    back votes again in the same term, and two leaders can be elected in one term
    (caught in ``raft_vote_restart``)."""

    def restore_vote(self) -> None:
        self.ctx.storage["voted_for"] = None


class NoUpToDateCheck(Server):
    """Grants its vote without comparing logs: a server that misses committed entries
    can win, and overwrite them (caught in ``raft_leader_crash``)."""

    def up_to_date(self, last_log_term: int, last_log_index: int) -> bool:
        return True


class CommitOldTermByCount(Server):
    """Commits any entry stored on a majority, whatever its term: the paper's Figure 8,
    where such an entry is overwritten later (caught in ``raft_figure8``)."""

    def may_commit(self, index: int) -> bool:
        return True


class NoTruncateOnConflict(Server):
    """Replaces a conflicting entry but keeps the entries after it: the stale suffix
    survives, and Log Matching no longer holds (caught in ``raft_stale_suffix``)."""

    def resolve_conflict(self, index: int, entry: Entry) -> None:
        self.ctx.emit("truncated", instance=index, count=1, term=self.term_at(index),
                      last_log_index=self.last_log_index())
        self.log[index - self.log_start] = entry


class StaleReadLeader(Server):
    """Answers reads from its own state machine instead of through the log; a leader
    cut off from the majority still believes it leads and serves stale values
    (caught in ``raft_partitioned_leader``)."""

    def serves_read_locally(self, src: str, cid: str, command: str) -> bool:
        parsed = parse_command(command)
        if parsed is None or parsed.op != "get":
            return False
        self.ctx.send(src, Reply(cid, True, self.kv.data.get(parsed.key)))
        return True


@dataclass(frozen=True)
class RaftVariant(Variant):
    server: type[Server] = Server


VARIANTS: dict[str, RaftVariant] = {
    "correct": RaftVariant("Raft as in the extended paper; reads go through the log"),
    "forget-vote-on-restart": RaftVariant(
        "votedFor is lost on restart: a server can vote twice in one term",
        server=ForgetVoteOnRestart),
    "no-up-to-date-check": RaftVariant(
        "votes are granted without the log up-to-date check", server=NoUpToDateCheck),
    "commit-old-term-by-count": RaftVariant(
        "a leader commits entries of earlier terms by counting replicas (Figure 8)",
        server=CommitOldTermByCount),
    "no-truncate-on-conflict": RaftVariant(
        "a follower replaces a conflicting entry but keeps the stale entries after it",
        server=NoTruncateOnConflict),
    "stale-read-leader": RaftVariant(
        "the leader answers reads from its own state, not through the log",
        server=StaleReadLeader),
}
