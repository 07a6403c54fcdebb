"""What ``paxossim run`` prints of Raft's own figures (``summary["raft"]``, from
:class:`paxossim.protocols.raft.checks.RaftCheck`): one line on elections, and one
on the downtime after leader losses when there was any.

Why a line of its own: the generic log figures count elections and the time
without a leader, but not terms, split votes or the downtime per leader loss,
which are what a reader of Raft compares across timeout settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from paxossim.labels import plain_number


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else many or word + 's'}"


def raft_lines(summary: Mapping[str, Any], unit: str) -> list[str]:
    """The account's lines for Raft's summary fields (none if the run has none)."""
    raft = summary.get("raft")
    if not raft:
        return []
    lines = [f"raft: {plural(raft['terms'], 'term')}, {raft['elections_started']} "
             f"election(s) started, {raft['elections_won']} won, "
             f"{plural(raft['split_votes'], 'split vote')}, "
             f"{plural(raft['leader_losses'], 'leader loss', 'leader losses')}"]
    downtime = raft["downtime"]
    if downtime is not None:
        lines.append(f"raft: downtime per leader loss: mean {plain_number(downtime['mean'], 4)}"
                     f" {unit}, max {plain_number(downtime['max'], 4)} {unit} "
                     f"({plural(downtime['count'], 'loss', 'losses')} ended)")
    elif raft["leader_losses"]:
        lines.append("raft: no leader loss ended with every survivor following a new leader")
    return lines
