"""The rules Raft's honest servers keep, as the explainer checks them on the log.

Each is a sentence of the extended Raft paper that safety rests on, and
each broken variant in ``variants.py`` breaks one of them:

- ``vote-once-per-term``: a server grants at most one vote per term, and
  ``votedFor`` is persistent state (``forget-vote-on-restart``);
- ``vote-for-up-to-date-log``: a vote goes only to a candidate whose log is
  at least as up-to-date as the voter's, section 5.4.1
  (``no-up-to-date-check``);
- ``commit-current-term-only``: a leader commits by counting replicas only
  entries of its current term, section 5.4.2 and Figure 8
  (``commit-old-term-by-count``);
- ``truncate-on-conflict``: a follower deletes a conflicting entry and all
  that follow it, AppendEntries receiver rule 3 (``no-truncate-on-conflict``);
- ``reply-from-log``: a server answers a command only once it applied it from
  the committed log, or, with ``read_index``, a read once a majority
  confirmed its leadership after the read arrived (``stale-read-leader``).
"""

from __future__ import annotations

from paxossim.protocols.replicated import command_id, parse_command
from paxossim.protocols.replicated_rules import replies_after_apply
from paxossim.protocols.rulebook import Breach, Event, History, Rule


def votes_in_term(history: History, term: int) -> list[Event]:
    """This server's votes in ``term`` so far: its ``voted`` events, and its
    ``campaign`` (a candidate votes for itself)."""
    return [seen for seen in history.of_kind("raft.voted", "raft.campaign")
            if seen["term"] == term]


def vote_once(event: Event, history: History) -> Breach | None:
    """A ``voted`` for a candidate other than the one this server voted for in that term."""
    for earlier in votes_in_term(history, event["term"]):
        chosen = earlier.get("candidate", history.node)
        if chosen == event["candidate"]:
            continue
        restarts = [seen for seen in history.of_kind("recover") if seen["pos"] > earlier["pos"]]
        why = (f"; it restarted at {history.time(restarts[-1])} and had forgotten that vote "
               "(votedFor is persistent state)" if restarts else "")
        return Breach(
            f"{history.node} voted for {event['candidate']} in term {event['term']} at "
            f"{history.time(event)} though it had voted for {chosen} in term {event['term']} "
            f"at {history.time(earlier)}{why}",
            (earlier["pos"],) + ((restarts[-1]["pos"],) if restarts else ()))
    return None


def vote_request(event: Event, history: History) -> Event | None:
    """The RequestVote a ``voted`` answers: the delivery its handler ran for."""
    for seen in reversed(list(history.received("request_vote"))):
        if seen["pos"] == event.get("cause"):
            return seen
    return None


def up_to_date(event: Event, history: History) -> Breach | None:
    """A ``voted`` for a candidate whose last entry is older, or whose log is
    shorter at the same last term, than the voter's (section 5.4.1)."""
    request = vote_request(event, history)
    if request is None:
        return None
    theirs = (request["msg"]["last_log_term"], request["msg"]["last_log_index"])
    ours = (event["last_log_term"], event["last_log_index"])
    if theirs >= ours:
        return None
    return Breach(
        f"{history.node} voted for {event['candidate']} in term {event['term']} at "
        f"{history.time(event)} though the candidate's log (last term {theirs[0]}, last "
        f"index {theirs[1]}) is less up-to-date than its own (last term {ours[0]}, last "
        f"index {ours[1]}): a candidate without the voter's entries may lack committed ones",
        (request["pos"],))


def leading(history: History) -> int | None:
    """The term this server leads now, if it does: elected since its last
    deposition or restart."""
    last = None
    for seen in history.of_kind("raft.elected", "raft.deposed", "crash", "recover"):
        last = seen
    return last["term"] if last is not None and last["ev"] == "raft.elected" else None


def majority_holds(history: History, term: int, index: int) -> set[str]:
    """Who, as this leader of ``term`` knows from their replies, holds its log through ``index``."""
    holders = {history.node}
    for seen in history.received("append_entries_reply"):
        msg = seen["msg"]
        if msg["term"] == term and msg["success"] and msg["match_index"] >= index:
            holders.add(seen["src"])
    return holders


def commit_current_term(event: Event, history: History) -> Breach | None:
    """A leader's ``learned`` at an index that no entry of its term, at or after
    it, stored on a majority, commits (section 5.4.2)."""
    term = leading(history)
    if term is None:
        return None
    index = event["instance"]
    elected = max(seen["pos"] for seen in history.of_kind("raft.elected"))
    own = sorted({seen["instance"] for seen in history.of_kind("raft.accepted")
                  if seen["pos"] > elected and seen["term"] == term
                  and seen["instance"] >= index})
    if any(history.quorums.is_phase2(majority_holds(history, term, n)) for n in own):
        return None
    holders = sorted(majority_holds(history, term, index))
    return Breach(
        f"{history.node} committed {history.value(event['value'])} at index {index} at "
        f"{history.time(event)} as leader of term {term}, counting the servers that store "
        f"it ({', '.join(holders)}), though no entry of term {term} at or after that index "
        "was on a majority: an older term's entry on a majority can still be overwritten "
        "(Figure 8)")


def truncates_suffix(event: Event, history: History) -> Breach | None:
    """A ``truncated`` that deletes fewer entries than there were from the conflict on."""
    index, count = event["instance"], event["count"]
    following = event["last_log_index"] - index + 1
    if count >= following:
        return None
    kept = following - count
    return Breach(
        f"{history.node} replaced its entry of term {event['term']} at index {index} at "
        f"{history.time(event)} but kept the {kept} entr(ies) after it (through index "
        f"{event['last_log_index']}): a follower deletes a conflicting entry and all that "
        "follow it")


def confirmed_read(event: Event, history: History) -> bool:
    """Whether a read of this ``reply`` was confirmed by read index: after a request
    for it arrived, a majority (counting this server) answered the heartbeat round
    it sent next, in that round's term."""
    cid = event["msg"]["id"]
    for request in history.received("submit"):
        parsed = parse_command(request["msg"]["command"])
        if command_id(request["msg"]["command"]) != cid or parsed is None or parsed.op != "get":
            continue
        rounds = [seen["msg"] for seen in history.sent("append_entries")
                  if request["pos"] < seen["pos"] < event["pos"] and seen["msg"]["read_seq"]]
        if not rounds:
            continue
        term, seq = rounds[0]["term"], rounds[0]["read_seq"]
        answered = {history.node} | {
            seen["src"] for seen in history.received("append_entries_reply")
            if request["pos"] < seen["pos"] and seen["msg"]["term"] == term
            and seen["msg"]["read_seq"] >= seq}
        if history.quorums.is_phase2(answered):
            return True
    return False


def reply_from_log(event: Event, history: History) -> Breach | None:
    """Multi-Paxos's ``reply-from-log``, but a read-index read is answered without a log entry."""
    breach = replies_after_apply(event, history)
    if breach is None or confirmed_read(event, history):
        return None
    return breach


RULES: tuple[Rule, ...] = (
    Rule("vote-once-per-term",
         "a server grants at most one vote per term, and votedFor survives its restarts",
         frozenset({"raft.voted"}), vote_once),
    Rule("vote-for-up-to-date-log",
         "a server votes only for a candidate whose log is at least as up-to-date as its "
         "own: a later last term, or the same last term and at least as long (section 5.4.1)",
         frozenset({"raft.voted"}), up_to_date),
    Rule("commit-current-term-only",
         "a leader commits by counting replicas only entries of its current term; earlier "
         "ones commit with them (section 5.4.2, Figure 8)",
         frozenset({"raft.learned"}), commit_current_term),
    Rule("truncate-on-conflict",
         "a follower whose entry conflicts with a new one deletes it and all that follow it "
         "(AppendEntries receiver, rule 3)",
         frozenset({"raft.truncated"}), truncates_suffix),
    Rule("reply-from-log",
         "a server answers a command only once it applied it from the committed log (a "
         "read-index read: once a majority confirmed its leadership after the read arrived)",
         frozenset({"send"}), reply_from_log),
)
