"""Safety invariants of consensus, judged from what honest nodes did, for any protocol.

The protocol declares its :class:`~paxossim.protocols.contract.DecisionRule`;
this module applies it to the event stream, one event at a time:

- **agreement**: per instance, at most one value is ever *decided* (a
  phase-2 quorum of honest voters voted for it in one round), and every
  honest node that says it learned a value learned that one;
- **validity**: a decided or learned value was asked for by some client;
- **integrity**: an honest node never changes its mind about an instance.

The quorum comes from the scenario's quorum system
(:mod:`paxossim.protocols.quorums`), not from the protocol, so a protocol
that miscounts is still judged correctly. Nodes the scenario marks
Byzantine are not held to anything and their votes never make a value
count: their events are skipped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from paxossim.checks.interning import shared
from paxossim.protocols.contract import Protocol
from paxossim.protocols.quorums import Quorums


@dataclass(frozen=True)
class Violation:
    invariant: str
    instance: Any
    time: float
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Choice:
    instance: Any
    value: Any
    round: Any
    time: float


def hashable(value: Any) -> Any:
    """Rounds come back from JSON as lists; make them hashable."""
    return tuple(hashable(v) for v in value) if isinstance(value, list) else value


def round_label(value: Any) -> str:
    return str(list(value)) if isinstance(value, tuple) else str(value)


def quorums_of(scenario: dict[str, Any], protocol: Protocol) -> Quorums:
    """The scenario's quorum system over the protocol's voters (as the log header says)."""
    role = protocol.decision.voters
    voters = [name for name, roles in scenario["nodes"].items() if role in roles]
    sizes = scenario.get("quorums", {})
    return Quorums.of(voters, sizes.get("phase1"), sizes.get("phase2"))


class SafetyCheck:
    """Agreement, validity and integrity, fed one event at a time.

    Memory grows with the number of instances, not with the number of events
    or nodes: a vote tally is a bit mask, dropped once it reaches a quorum, and
    what the nodes learned in an instance is one value and one bit mask.
    """

    def __init__(self, scenario: dict[str, Any], protocol: Protocol) -> None:
        rule = protocol.decision
        prefix = f"{protocol.name}."
        self.rule = rule
        self.vote_kind = prefix + rule.vote
        self.learn_kind = prefix + rule.learn if rule.learn else None
        self.proposal_kinds = {"request",
                               *(prefix + kind for kind in rule.proposals + rule.allowed)}
        self.claims = {prefix + kind for kind in rule.proposals}
        """Events in which a node says a client asked for a value (the runtime's own
        ``request`` events are inputs, and ``allowed`` values are the protocol's)."""
        self.kinds = frozenset({self.vote_kind, *self.proposal_kinds}
                               | ({self.learn_kind} if self.learn_kind else set()))
        self.quorums = quorums_of(scenario, protocol)
        byzantine = set(scenario.get("byzantine", ()))
        self.voters = frozenset(self.quorums.voters) - byzantine
        self.untrusted = frozenset(byzantine)
        self.bit = {name: 1 << index for index, name in enumerate(scenario["nodes"])}
        self.allowed: set[Any] = set()
        self.tallies: dict[tuple[Any, Any, Any], int] = {}
        """Votes so far (a bit mask of voters) per (instance, round, value)."""
        self.decided: dict[Any, Choice] = {}
        """The first decision in each instance."""
        self.conflicts: set[tuple[Any, Any, Any]] = set()
        """Tallies that reached a quorum for another value or round than the
        instance's first decision (a violation already: rare)."""
        self.first_choice: Choice | None = None
        self.learned: dict[Any, tuple[str, Any, int]] = {}
        """Per instance: the first honest node that learned a value, the value, and a
        bit mask of the nodes whose latest word on the instance is that value."""
        self.strays: dict[tuple[str, Any], Any] = {}
        """(node, instance) -> the other value a node learned there (a violation: rare)."""
        self.violations: list[Violation] = []

    def feed(self, event: dict[str, Any]) -> None:
        kind = event["ev"]
        untrusted = event.get("node") in self.untrusted
        if kind in self.proposal_kinds:
            if not (untrusted and kind in self.claims):  # a liar's word is no request
                self.allowed.add(shared(event["value"]))
        elif untrusted:
            return
        elif kind == self.vote_kind:
            self.vote(event)
        elif kind == self.learn_kind:
            self.learn(event)

    def instance_of(self, event: dict[str, Any]) -> Any:
        return event.get(self.rule.instance, 0) if self.rule.instance else 0

    def vote(self, event: dict[str, Any]) -> None:
        node = event["node"]
        if node not in self.voters:
            return
        instance, value = self.instance_of(event), shared(event[self.rule.value])
        round_ = hashable(event[self.rule.round])
        key = (instance, round_, value)
        mask = self.tallies.get(key)
        if mask is None:
            earlier = self.decided.get(instance)
            if earlier is not None and (earlier.round, earlier.value) == (round_, value):
                return  # decided already: later votes change nothing
            if key in self.conflicts:
                return
            mask = 0
        mask |= self.bit[node]
        if mask.bit_count() < self.quorums.phase2:
            self.tallies[key] = mask
            return
        self.tallies.pop(key, None)
        if instance in self.decided:
            self.conflicts.add(key)
        self.decide(Choice(instance, value, round_, event["t"]))

    def decide(self, choice: Choice) -> None:
        if self.first_choice is None:
            self.first_choice = choice
        earlier = self.decided.setdefault(choice.instance, choice)
        if earlier.value != choice.value:
            self.violations.append(Violation(
                "agreement", choice.instance, choice.time,
                f"{choice.value!r} was chosen in {self.rule.round} "
                f"{round_label(choice.round)} after {earlier.value!r} was chosen in "
                f"{self.rule.round} {round_label(earlier.round)} at t={earlier.time:g}",
            ))
        if choice.value not in self.allowed:
            self.violations.append(Violation(
                "validity", choice.instance, choice.time,
                f"{choice.value!r} was chosen but no client asked for it",
            ))

    def learn(self, event: dict[str, Any]) -> None:
        node, value, time = shared(event["node"]), shared(event["value"]), event["t"]
        instance = self.instance_of(event)
        bit = self.bit[node]
        first = self.learned.get(instance)
        if first is None:
            self.learned[instance] = first = (node, value, 0)
        other, first_value, mask = first
        previous = first_value if mask & bit else self.strays.get((node, instance), _NOTHING)
        if previous is not _NOTHING and previous != value:
            self.violations.append(Violation(
                "integrity", instance, time,
                f"learner {node} learned {value!r} after it had learned {previous!r}",
            ))
        if value == first_value:
            self.strays.pop((node, instance), None)
            self.learned[instance] = (other, first_value, mask | bit)
        else:
            self.strays[(node, instance)] = value
            self.learned[instance] = (other, first_value, mask & ~bit)
        if other != node and first_value != value:
            self.violations.append(Violation(
                "agreement", instance, time,
                f"learner {node} learned {value!r} but {other} learned {first_value!r}",
            ))
        choice = self.decided.get(instance)
        if choice is not None and choice.value != value:
            self.violations.append(Violation(
                "agreement", instance, time,
                f"learner {node} learned {value!r} but {choice.value!r} was chosen",
            ))
        if value not in self.allowed:
            self.violations.append(Violation(
                "validity", instance, time, f"learner {node} learned {value!r}, which no "
                "client asked for",
            ))


_NOTHING = object()
