"""Why a run violated safety: which honest node broke which of its protocol's rules.

The safety checks say *that* two values were chosen; this module says *who*
made it possible. It reads a failing run's log once, and:

1. checks every event of every honest node against the protocol's
   :class:`~paxossim.protocols.rulebook.Rule` list, given that node's past
   (its own events, the messages delivered to it, its restarts);
2. finds the event at which each violation happened (the safety check is fed
   again);
3. walks back from that event, and from the other votes of the decision it
   completed (a decision is the work of its whole quorum), over the causal
   past: each event's ``cause`` (the delivery, timer or input its handler ran
   for) and the node's previous event (what it had seen before). The earliest
   broken rule in that past is the *culprit*; the shortest causal path from
   it to the violation is the *chain*. When that past holds no broken rule,
   the past of the decision (and first learn) it contradicts is searched too:
   the earlier decision may be the wrong one.

A protocol check's violation (linearizability, a log's prefix) knows only its
time and its words: its culprit is the broken rule whose subject (a command
id) the violation names, else the one nearest in time, and its chain is the
causal chain that led to the culprit and the delivery of what it sent.

Only failing runs are explained, from their log, after the run: a passing
run pays nothing. Memory and time grow with the failing run's length (position
arrays, each node's history, one walk back per violation), so
:data:`MAX_EXPLAINED` bounds the violations walked back.
"""

from __future__ import annotations

import bisect
import re
from array import array
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from paxossim import protocols
from paxossim.checks.safety import SafetyCheck, hashable, quorums_of
from paxossim.protocols.rulebook import Breach, History, Rule

MAX_EXPLAINED = 20
"""Violations explained per run; later ones (most repeat the first) are left bare."""

UNKEPT = frozenset({"timer", "timer_set", "timer_cancel", "store"})
"""Runtime events no rule reads: not kept in a node's history."""


@dataclass(frozen=True)
class Explanation:
    """One violation, explained: the rule broken, by which event, and the chain to it."""

    rule: str
    """The rule's name; "" when no honest node broke one in the violation's past."""
    rule_description: str
    sentence: str
    culprit: dict[str, Any] | None
    """The event that broke the rule: ``pos``, ``t``, ``node``, ``ev``."""
    chain: tuple[int, ...]
    """Event positions from the culprit (or the violation's first cause) to the
    violation, or to one of the votes of a decision involved (the violating
    one's, or the earlier one it contradicts) when that is where the culprit's
    effect went; a culprit that is itself such a vote is its whole chain."""
    messages: tuple[int, ...]
    """Ids of the messages sent or delivered along the chain (diagrams highlight them)."""
    evidence: tuple[int, ...] = ()
    """Positions of the earlier events the sentence cites (the promise forgotten,
    the restart, the promise whose value was ignored)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def signature(violation: dict[str, Any]) -> tuple[str, str]:
    """What makes two failures the same: the invariant, and the rule broken ("" if none)."""
    return violation["invariant"], violation.get("rule", "")


def explanation_lines(violation: dict[str, Any], seen: set[tuple[str, int]]) -> list[str]:
    """The account's lines under a violation: the culprit's sentence and rule,
    and the chain; a culprit already told (in ``seen``) is only named."""
    explanation = violation.get("explanation")
    if explanation is None:
        return []
    culprit = explanation["culprit"]
    if culprit is None:
        return [f"    why: {explanation['sentence']}"]
    key = (explanation["rule"], culprit["pos"])
    if key in seen:
        return [f"    why: as above ({culprit['node']} broke {explanation['rule']})"]
    seen.add(key)
    steps = [str(pos) for pos in explanation["chain"]]
    if len(steps) > 12:
        steps = [*steps[:5], f"... ({len(steps) - 10} more)", *steps[-5:]]
    chain = " -> ".join(steps)
    return [f"    why: {explanation['sentence']}",
            f"    rule broken: {explanation['rule']} ({explanation['rule_description']})",
            f"    causal chain (positions of events in events.jsonl, from 0): {chain}"]


def mentions(text: str, subject: str) -> bool:
    """Whether ``text`` names ``subject`` as a word ("c1#1" is not in "c1#17")."""
    return bool(subject) and re.search(
        rf"(?<![\w#]){re.escape(subject)}(?![\w#])", text) is not None


class CausalLog:
    """One pass over a log: causal links, node histories and every rule broken."""

    def __init__(self, header: dict[str, Any]) -> None:
        scenario = header["scenario"]
        self.protocol = protocols.get(scenario["protocol"])
        self.safety = SafetyCheck(scenario, self.protocol)
        quorums = quorums_of(scenario, self.protocol)
        self.untrusted = frozenset(scenario.get("byzantine", ()))
        self.histories: dict[str, History] = {
            name: History(name, quorums, scenario) for name in scenario["nodes"]}
        self.rules: dict[str, list[Rule]] = {}
        for rule in self.protocol.rules:
            for kind in rule.kinds:
                self.rules.setdefault(kind, []).append(rule)
        self.cause = array("q")
        self.previous = array("q")
        """Per position: its cause, and the previous event of the same node (-1: none)."""
        self.times = array("d")
        self.node: list[str | None] = []
        self.kind: list[str] = []
        self.message: dict[int, int] = {}
        """Position of a send or delivery -> its message id."""
        self.sends: dict[int, dict[str, Any]] = {}
        self.delivered: dict[int, int] = {}
        """Message id -> the position of its first delivery."""
        self.last: dict[str, int] = {}
        self.breaches: dict[int, tuple[Rule, Breach]] = {}
        self.located: list[int] = []
        """The position of each of the safety check's violations, in its order."""
        self.related: list[tuple[int, ...]] = []
        """Per located violation: the votes of the tally its event completed (a
        decision is the work of every vote in its quorum, not only the last)."""
        self.tallies: dict[tuple[Any, Any, Any], list[int]] = {}
        """The honest votes so far per (instance, round, value)."""
        self.first: dict[Any, list[int]] = {}
        """Per instance: the votes of its first decision, and its first learn (what
        a later decision or learn contradicts; their causal past is searched too)."""
        self.learned: set[Any] = set()

    def read(self, events: Iterable[dict[str, Any]]) -> None:
        for pos, event in enumerate(events):
            self.add(pos, event)

    def add(self, pos: int, event: dict[str, Any]) -> None:
        kind = event["ev"]
        node = event.get("node")
        if kind == "send":
            self.sends[event["m"]] = event
            node = event["src"]
            self.message[pos] = event["m"]
        elif kind == "duplicate":
            self.sends[event["m"]] = self.sends[event["of"]]
        elif kind == "deliver":
            sent = self.sends[event["m"]]
            node = sent["dst"]
            event = event | {"node": node, "src": sent["src"], "type": sent["type"],
                             "msg": sent["msg"]}
            self.message[pos] = event["m"]
            self.delivered.setdefault(event["m"], pos)
        event["pos"] = pos
        self.cause.append(event.get("cause", -1))
        self.previous.append(self.last.get(node, -1) if node is not None else -1)
        self.times.append(event["t"])
        self.node.append(node)
        self.kind.append(kind)
        if node is not None:
            self.last[node] = pos
        if kind in self.safety.kinds:
            self.judge(pos, kind, node, event)
        history = self.histories.get(node) if node is not None else None
        if history is None:
            return  # a scripted client outside the scenario's nodes: no rules
        if node not in self.untrusted:
            for rule in self.rules.get(kind, ()):
                breach = rule.check(event, history)
                if breach is not None:
                    self.breaches[pos] = (rule, breach)
                    break
        if kind not in UNKEPT:
            history.append(event)

    def judge(self, pos: int, kind: str, node: str | None, event: dict[str, Any]) -> None:
        """Feed the safety check; note where each violation happened and which votes
        made the decisions involved."""
        safety = self.safety
        instance = hashable(safety.instance_of(event))
        votes: list[int] = []
        if kind == safety.vote_kind and node in safety.voters:
            key = (instance, hashable(event[safety.rule.round]),
                   hashable(event[safety.rule.value]))
            votes = self.tallies.setdefault(key, [])
            votes.append(pos)
        before, decided = len(safety.violations), safety.decisions
        safety.feed(event)
        found = len(safety.violations) - before
        self.located += [pos] * found
        self.related += [tuple(votes)] * found
        if safety.decisions > decided:
            self.first.setdefault(instance, []).extend(votes)
        elif kind == safety.learn_kind and node not in self.untrusted \
                and instance not in self.learned:
            self.learned.add(instance)
            self.first.setdefault(instance, []).append(pos)

    # -- walking back ----------------------------------------------------------
    def named(self, violation: dict[str, Any]) -> Explanation:
        """A violation found at the end of the run: the breach it names (else
        the nearest in time), with the chain into and out of it."""
        breaches = sorted(self.breaches)
        named = [pos for pos in breaches if mentions(violation["detail"],
                                                     self.breaches[pos][1].subject)]
        if not (named or breaches):
            last = max(0, bisect.bisect_right(self.times, violation["time"]) - 1)
            return self.explain(last, (), violation.get("instance"))
        culprit = min(named or breaches,
                      key=lambda pos: (abs(self.times[pos] - violation["time"]), pos))
        chain = [culprit]
        while self.cause[chain[-1]] >= 0:
            chain.append(self.cause[chain[-1]])
        chain.reverse()
        sent = self.delivered.get(self.message.get(culprit, -1))
        if sent is not None:
            chain.append(sent)
        rule, breach = self.breaches[culprit]
        return Explanation(rule.name, rule.description, breach.text, self.describe(culprit),
                           tuple(chain), self.messages(chain), breach.evidence)

    def past(self, *anchors: int) -> dict[int, int]:
        """Every event in the causal past of ``anchors``, each mapped to the event
        after it on a shortest causal path to one of them (breadth first)."""
        after = {anchor: anchor for anchor in anchors}
        queue = deque(anchors)
        while queue:
            pos = queue.popleft()
            for earlier in (self.cause[pos], self.previous[pos]):
                if earlier >= 0 and earlier not in after:
                    after[earlier] = pos
                    queue.append(earlier)
        return after

    def explain(self, anchor: int, related: tuple[int, ...], instance: Any) -> Explanation:
        """The earliest rule broken in the causal past of the violation's event
        (and of the votes that made its decision), else in that of the instance's
        first decision and learn (an agreement violation may be the *earlier*
        decision's fault)."""
        after = self.past(anchor, *related)
        broken = [pos for pos in after if pos in self.breaches]
        if not broken:
            earlier = [pos for pos in self.first.get(hashable(instance), []) if pos <= anchor]
            after = self.past(anchor, *related, *earlier)
            broken = [pos for pos in after if pos in self.breaches]
        if broken:
            culprit = min(broken)
            rule, breach = self.breaches[culprit]
            chain = [culprit]
            while after[chain[-1]] != chain[-1]:
                chain.append(after[chain[-1]])
            return Explanation(rule.name, rule.description, breach.text,
                               self.describe(culprit), tuple(chain), self.messages(chain),
                               breach.evidence)
        chain = [anchor]
        while self.cause[chain[-1]] >= 0:
            chain.append(self.cause[chain[-1]])
        chain.reverse()
        return Explanation("", "", self.no_culprit(after), None, tuple(chain),
                           self.messages(chain))

    def no_culprit(self, past: dict[int, int]) -> str:
        name = self.protocol.name
        if not self.protocol.rules:
            return f"{name} declares no rules to explain this violation by"
        liars = sorted({self.node[pos] for pos in past} & self.untrusted)
        text = f"no honest node broke a rule of {name} in this violation's causal past"
        if liars:
            text += (f"; the Byzantine node(s) {', '.join(liars)} took part in it, more than "
                     f"{name} may tolerate")
        return text

    def describe(self, pos: int) -> dict[str, Any]:
        return {"pos": pos, "t": self.times[pos], "node": self.node[pos],
                "ev": self.kind[pos]}

    def messages(self, chain: list[int]) -> tuple[int, ...]:
        return tuple(dict.fromkeys(self.message[pos] for pos in chain if pos in self.message))


def explain(header: dict[str, Any], events: Iterable[dict[str, Any]],
            violations: list[dict[str, Any]]) -> list[Explanation | None]:
    """An explanation per violation (the summary's, in its order); None past
    :data:`MAX_EXPLAINED`."""
    log = CausalLog(header)
    log.read(events)
    found: list[Explanation | None] = []
    cache: dict[tuple[int, Any], Explanation] = {}
    for index, violation in enumerate(violations):
        if index >= MAX_EXPLAINED:
            found.append(None)
            continue
        if index >= len(log.located):
            found.append(log.named(violation))
            continue
        anchor = log.located[index]
        key = (anchor, hashable(violation.get("instance")))
        if key not in cache:
            cache[key] = log.explain(anchor, log.related[index], violation.get("instance"))
        found.append(cache[key])
    return found


def attach(header: dict[str, Any], events: Iterable[dict[str, Any]],
           summary: dict[str, Any]) -> None:
    """Add ``rule`` and ``explanation`` to each of ``summary``'s violations."""
    violations = summary["safety"]["violations"]
    for violation, explanation in zip(violations, explain(header, events, violations),
                                      strict=True):
        if explanation is not None:
            violation["rule"] = explanation.rule
            violation["explanation"] = explanation.to_dict()
