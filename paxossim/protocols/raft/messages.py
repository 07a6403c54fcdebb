"""Raft's two RPCs and their replies, with the paper's argument names (in Python spelling).

Indices follow the replicated log of this package's neighbours: the first
entry is index 0, so "no previous entry" is ``prev_log_index = -1`` with
``prev_log_term = 0`` (the paper starts at 1 and uses 0 for "none").
An entry travels as ``(term, command)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from paxossim.protocols.base import Message

Entry = tuple[int, str]
"""One log entry: the term it was created in, and the command (a KV command string)."""


@dataclass(frozen=True, slots=True)
class RequestVote(Message):
    """A candidate asks for a vote in ``term``; its last entry decides whether it is up to date."""

    TYPE: ClassVar[str] = "request_vote"
    LABEL: ClassVar[str] = "RequestVote t{term}"
    DETAILS: ClassVar[tuple[tuple[str, str], ...]] = (("pre_vote", " (pre-vote)"),)
    term: int
    candidate_id: str
    last_log_index: int
    last_log_term: int
    pre_vote: bool = False
    """The thesis's PreVote (section 9.6): would you vote for me in ``term``? Nobody
    changes its term or its vote for it."""


@dataclass(frozen=True, slots=True)
class RequestVoteReply(Message):
    TYPE: ClassVar[str] = "request_vote_reply"
    LABEL: ClassVar[str] = "vote t{term} {vote_granted}"
    DETAILS: ClassVar[tuple[tuple[str, str], ...]] = (("pre_vote", " (pre-vote)"),)
    term: int
    vote_granted: bool
    pre_vote: bool = False


@dataclass(frozen=True, slots=True)
class AppendEntries(Message):
    """Replicate ``entries`` after ``prev_log_index``; with no entries, a heartbeat."""

    TYPE: ClassVar[str] = "append_entries"
    LABEL: ClassVar[str] = "AppendEntries t{term} prev={prev_log_index} n={count}"
    term: int
    leader_id: str
    prev_log_index: int
    prev_log_term: int
    entries: tuple[Entry, ...]
    leader_commit: int
    count: int = 0
    """len(entries), for the diagrams' label (set by :func:`append_entries`)."""
    read_seq: int = 0
    """The leader's latest read-index round (0: none), echoed in the reply."""


def append_entries(term: int, leader_id: str, prev_log_index: int, prev_log_term: int,
                   entries: tuple[Entry, ...], leader_commit: int,
                   read_seq: int = 0) -> AppendEntries:
    return AppendEntries(term, leader_id, prev_log_index, prev_log_term, entries,
                         leader_commit, len(entries), read_seq)


@dataclass(frozen=True, slots=True)
class AppendEntriesReply(Message):
    """``success``: the follower's log matches the leader's through ``match_index``.

    ``match_index`` is not in the paper's reply (it is the leader's bookkeeping
    there); sending it lets the leader match replies to what they answer when
    the network reorders them. On failure it is the follower's last log
    index, so the leader backs ``nextIndex`` off to it at once instead of one
    entry per round trip (the optimisation the paper sketches in section 5.3).
    """

    TYPE: ClassVar[str] = "append_entries_reply"
    LABEL: ClassVar[str] = "ack t{term} {success} @{match_index}"
    term: int
    success: bool
    match_index: int
    read_seq: int = 0


State = tuple[tuple[tuple[str, str | None], ...], tuple[tuple[str, str | None], ...],
              tuple[tuple[str, int, tuple[tuple[int, str | None], ...]], ...]]
"""A state machine as plain, hashable data: the KV map, the results of opaque
commands, and per client session (client, high, ((seq, result), ...))."""


@dataclass(frozen=True, slots=True)
class InstallSnapshot(Message):
    """The leader's snapshot, for a follower that needs entries the leader discarded
    (thesis chapter 5, in one message: no chunks). The follower answers with an
    :class:`AppendEntriesReply` matching through ``last_included_index``."""

    TYPE: ClassVar[str] = "install_snapshot"
    LABEL: ClassVar[str] = "InstallSnapshot t{term} through {last_included_index}"
    term: int
    leader_id: str
    last_included_index: int
    last_included_term: int
    state: State
