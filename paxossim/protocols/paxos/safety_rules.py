"""The rules Paxos's honest nodes keep, as the explainer checks them on the log.

Each is one sentence of "Paxos Made Simple" that safety rests on, and each
broken variant in ``variants.py`` breaks one of them:

- ``promise-survives-restart``: an acceptor's promises and votes are durable
  (``forget-promise-on-restart`` keeps them in memory);
- ``no-accept-below-promise``: an acceptor never promises or accepts a ballot
  below one it promised (``accept-below-promise``);
- ``phase1-quorum``: a proposer starts phase 2 only with promises from a
  phase-1 quorum (``quorum-one-short``);
- ``adopt-highest-accepted``: a proposer proposes the value of the
  highest-ballot vote its promises reported (``ignore-accepted-values``);
- ``learn-from-quorum``: a learner learns a value only once a phase-2 quorum
  of acceptors accepted it in one ballot (``mixed-ballot-learner``,
  ``quorum-one-short``).

Peer-to-peer Multi-Paxos (``p2p``) runs Basic Paxos per slot and keeps the
same rules per slot: :func:`paxos_rules` builds them for either log.
"""

from __future__ import annotations

import math
from typing import Any

from paxossim.protocols.rulebook import Breach, Event, History, Rule, as_ballot


class PaxosRules:
    """The rules over one protocol's events: ``instance`` names the slot field of
    its events and ``slot`` that of its messages (None: a single decree)."""

    def __init__(self, protocol: str, instance: str | None, slot: str | None) -> None:
        self.prefix = protocol + "."
        self.instance = instance
        self.slot = slot

    def where(self, event: Event) -> str:
        return f" in slot {event[self.instance]}" if self.instance else ""

    def same_instance(self, event: Event, other: Event) -> bool:
        return self.instance is None or other.get(self.instance) == event[self.instance]

    def commitments(self, event: Event, history: History, after: int = -1,
                    before: float = math.inf) -> Event | None:
        """The highest-ballot promise or vote of this event's instance that the
        node made between positions ``after`` and ``before``."""
        best = None
        for seen in (*history.of_kind(self.prefix + "promised"),
                     *history.of_kind(self.prefix + "accepted")):
            if after < seen["pos"] < before and self.same_instance(event, seen) and (
                    best is None or as_ballot(seen["ballot"]) > as_ballot(best["ballot"])):
                best = seen
        return best

    def acted(self, event: Event) -> str:
        return "accepted" if event["ev"] == self.prefix + "accepted" else "promised"

    # -- acceptors -----------------------------------------------------------
    def survives_restart(self, event: Event, history: History) -> Breach | None:
        restart = history.last_restart()
        if restart is None:
            return None
        ballot = as_ballot(event["ballot"])
        lost = self.commitments(event, history, before=restart["pos"])
        why = ("its durable storage was wiped" if restart.get("amnesia")
               else "it was not in durable storage")
        node = history.node
        if lost is not None and as_ballot(lost["ballot"]) > ballot:
            return Breach(
                f"{node} {self.acted(event)} {history.ballot(ballot)}{self.where(event)} at "
                f"{history.time(event)} though it {self.acted(lost)} "
                f"{history.ballot(lost['ballot'])} at {history.time(lost)}; it restarted at "
                f"{history.time(restart)} and had forgotten that ({why})",
                (lost["pos"], restart["pos"]))
        if event["ev"] != self.prefix + "promised":
            return None
        votes = [seen for seen in history.of_kind(self.prefix + "accepted")
                 if seen["pos"] < restart["pos"] and self.same_instance(event, seen)]
        if not votes:
            return None
        vote = max(votes, key=lambda seen: as_ballot(seen["ballot"]))
        reported = event.get("accepted_ballot")
        if reported is not None and as_ballot(reported) >= as_ballot(vote["ballot"]):
            return None
        said = ("reporting no vote" if reported is None
                else f"reporting its vote at {history.ballot(reported)}")
        return Breach(
            f"{node} promised {history.ballot(ballot)}{self.where(event)} at "
            f"{history.time(event)} {said}, though it accepted {history.value(vote['value'])} "
            f"at {history.ballot(vote['ballot'])} at {history.time(vote)}; it restarted at "
            f"{history.time(restart)} and had forgotten its vote ({why})",
            (vote["pos"], restart["pos"]))

    def below_promise(self, event: Event, history: History) -> Breach | None:
        restart = history.last_restart()
        promise = self.commitments(event, history, after=restart["pos"] if restart else -1)
        ballot = as_ballot(event["ballot"])
        if promise is None or as_ballot(promise["ballot"]) <= ballot:
            return None
        return Breach(
            f"{history.node} {self.acted(event)} {history.ballot(ballot)}{self.where(event)} "
            f"at {history.time(event)} though it {self.acted(promise)} "
            f"{history.ballot(promise['ballot'])} at {history.time(promise)}",
            (promise["pos"],))

    # -- proposers -----------------------------------------------------------
    def promises(self, event: Event, history: History) -> dict[str, Event]:
        """The promises for this phase 2's ballot (and slot) the node received, by sender."""
        ballot = event["ballot"]
        found: dict[str, Event] = {}
        for seen in history.received("promise"):
            msg = seen["msg"]
            if msg["ballot"] == ballot and (
                    self.slot is None or msg[self.slot] == event[self.instance or ""]):
                found.setdefault(seen["src"], seen)
        return found

    def phase1_quorum(self, event: Event, history: History) -> Breach | None:
        promises = self.promises(event, history)
        needed = history.quorums.phase1
        if len(promises) >= needed:
            return None
        return Breach(
            f"{history.node} asked to accept {history.value(event['value'])} at "
            f"{history.ballot(event['ballot'])}{self.where(event)} at {history.time(event)} "
            f"with promises from {len(promises)} acceptor(s) ({', '.join(sorted(promises))}); "
            f"a phase-1 quorum is {needed}",
            tuple(seen["pos"] for seen in promises.values()))

    def adopt_highest(self, event: Event, history: History) -> Breach | None:
        reports = [seen for seen in self.promises(event, history).values()
                   if seen["msg"]["accepted_ballot"] is not None]
        if not reports:
            return None
        best = max(reports, key=lambda seen: as_ballot(seen["msg"]["accepted_ballot"]))
        reported = best["msg"]
        if reported["accepted_value"] == event["value"]:
            return None
        return Breach(
            f"{history.node} asked to accept {history.value(event['value'])} at "
            f"{history.ballot(event['ballot'])}{self.where(event)} at {history.time(event)} "
            f"though {best['src']}'s promise (received at {history.time(best)}) reported "
            f"{history.value(reported['accepted_value'])} accepted at "
            f"{history.ballot(reported['accepted_ballot'])}: it must propose that value",
            (best["pos"],))

    # -- learners ------------------------------------------------------------
    def learn_from_quorum(self, event: Event, history: History) -> Breach | None:
        voters: dict[Any, set[str]] = {}
        for seen in history.received("accepted"):
            msg = seen["msg"]
            if msg.get("value") == event["value"]:
                voters.setdefault(as_ballot(msg["ballot"]), set()).add(seen["src"])
        needed = history.quorums.phase2
        if any(len(nodes) >= needed for nodes in voters.values()):
            return None
        tally = "; ".join(f"{history.ballot(ballot)}: {', '.join(sorted(nodes))}"
                          for ballot, nodes in sorted(voters.items())) or "none"
        return Breach(
            f"{history.node} learned {history.value(event['value'])} at {history.time(event)} "
            f"though no ballot had {needed} acceptors' votes for it (votes it received: "
            f"{tally})")

    def rules(self, learner: bool) -> tuple[Rule, ...]:
        votes = frozenset({self.prefix + "promised", self.prefix + "accepted"})
        phase2 = frozenset({self.prefix + "phase2"})
        found = (
            Rule("promise-survives-restart",
                 "an acceptor's promises and votes survive its restarts", votes,
                 self.survives_restart),
            Rule("no-accept-below-promise",
                 "an acceptor never promises or accepts a ballot below one it promised", votes,
                 self.below_promise),
            Rule("phase1-quorum",
                 "a proposer starts phase 2 only with promises from a phase-1 quorum", phase2,
                 self.phase1_quorum),
            Rule("adopt-highest-accepted",
                 "a proposer proposes the value of the highest-ballot vote its promises "
                 "reported", phase2, self.adopt_highest),
        )
        if learner:
            found += (Rule("learn-from-quorum",
                           "a learner learns a value only once a phase-2 quorum of acceptors "
                           "accepted it in one ballot", frozenset({self.prefix + "learned"}),
                           self.learn_from_quorum),)
        return found


def paxos_rules(protocol: str, instance: str | None = None, slot: str | None = None,
                learner: bool = True) -> tuple[Rule, ...]:
    """The rules for ``protocol``'s events (see :class:`PaxosRules`)."""
    return PaxosRules(protocol, instance, slot).rules(learner)
