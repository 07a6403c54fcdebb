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

from array import array
from dataclasses import asdict, dataclass
from typing import Any

from paxossim.checks.compact import StringTable, ValueSet
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


class Settled:
    """Instances 0, 1, 2, ... that are decided and learned by every honest voter, in columns.

    What agreement, validity and integrity still need of such an instance is
    its decision (value, round, time) and who learned it first; a late vote or
    learn of its value changes nothing, and one of another value finds it here.
    About 18 bytes an instance (the value is an index into the check's
    :class:`~paxossim.checks.compact.StringTable` of values clients asked for).
    """

    def __init__(self, nodes: list[str], all_voters: int) -> None:
        self.nodes = nodes
        self.node_index = {name: index for index, name in enumerate(nodes)}
        self.all_voters = all_voters
        self.rounds: list[Any] = []
        self.round_index: dict[Any, int] = {}
        self.round_of = array("i")
        self.value_of = array("i")
        self.time_of = array("d")
        self.first_of = array("H")
        self.masks: dict[int, int] = {}
        """Learner masks other than every honest voter's (a learner that does not vote)."""

    def __len__(self) -> int:
        return len(self.time_of)

    def append(self, choice: Choice, value: int, first: str, mask: int) -> None:
        index = self.round_index.get(choice.round)
        if index is None:
            index = self.round_index[choice.round] = len(self.rounds)
            self.rounds.append(choice.round)
        if mask != self.all_voters:
            self.masks[len(self)] = mask
        self.round_of.append(index)
        self.value_of.append(value)
        self.time_of.append(choice.time)
        self.first_of.append(self.node_index[first])

    def holds(self, instance: Any) -> bool:
        return type(instance) is int and 0 <= instance < len(self.time_of)

    def choice(self, instance: int, values: StringTable) -> Choice:
        return Choice(instance, values[self.value_of[instance]],
                      self.rounds[self.round_of[instance]], self.time_of[instance])

    def learned(self, instance: int, values: StringTable) -> tuple[str, Any, int]:
        return (self.nodes[self.first_of[instance]], values[self.value_of[instance]],
                self.masks.get(instance, self.all_voters))


class SafetyCheck:
    """Agreement, validity and integrity, fed one event at a time.

    Memory grows with the number of instances, not with the number of events
    or nodes, and slowly: a vote tally is a bit mask, dropped once it reaches a
    quorum (or once its value is decided); what the nodes learned in an
    instance is one value and one bit mask; an instance decided and learned by
    every honest voter moves into :class:`Settled` columns; the values clients
    asked for are kept as bytes (:class:`~paxossim.checks.compact.ValueSet`).
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
        self.allowed = ValueSet()
        self.tallies: dict[Any, dict[tuple[Any, Any], int]] = {}
        """Votes so far (a bit mask of voters) per instance, per (round, value)."""
        self.decided: dict[Any, Choice] = {}
        """The first decision in each instance not :class:`Settled` yet."""
        self.decisions = 0
        """Instances decided so far."""
        self.invalid: set[Any] = set()
        """Instances whose first decision was a value no client had asked for (rare)."""
        self.conflicts: set[tuple[Any, Any, Any]] = set()
        """Tallies that reached a quorum for another value or round than the
        instance's first decision (a violation already: rare)."""
        self.first_choice: Choice | None = None
        self.learned: dict[Any, tuple[str, Any, int]] = {}
        """Per instance not settled: the first honest node that learned a value, the
        value, and a bit mask of the nodes whose latest word on the instance is that value."""
        self.strays: dict[tuple[str, Any], Any] = {}
        """(node, instance) -> the other value a node learned there (a violation: rare)."""
        self.settled = Settled(list(scenario["nodes"]),
                               sum(self.bit[name] for name in self.voters))
        self.violations: list[Violation] = []

    def feed(self, event: dict[str, Any]) -> None:
        kind = event["ev"]
        untrusted = event.get("node") in self.untrusted
        if kind in self.proposal_kinds:
            if not (untrusted and kind in self.claims):  # a liar's word is no request
                self.allowed.add(event["value"])
        elif untrusted:
            return
        elif kind == self.vote_kind:
            self.vote(event)
        elif kind == self.learn_kind:
            self.learn(event)

    def instance_of(self, event: dict[str, Any]) -> Any:
        return event.get(self.rule.instance, 0) if self.rule.instance else 0

    def decision(self, instance: Any) -> Choice | None:
        """The first decision in ``instance``, if any (settled or not)."""
        choice = self.decided.get(instance)
        if choice is None and self.settled.holds(instance):
            return self.settled.choice(instance, self.allowed.strings)
        return choice

    def vote(self, event: dict[str, Any]) -> None:
        node = event["node"]
        if node not in self.voters:
            return
        instance, value = self.instance_of(event), shared(event[self.rule.value])
        earlier = self.decision(instance)
        if earlier is not None and earlier.value == value and instance not in self.invalid:
            return  # decided, validly: more votes for its value change nothing
        round_ = hashable(event[self.rule.round])
        tallies = self.tallies.get(instance)
        mask = tallies.get((round_, value)) if tallies is not None else None
        if mask is None:
            if earlier is not None and (earlier.round, earlier.value) == (round_, value):
                return  # decided already: later votes change nothing
            if (instance, round_, value) in self.conflicts:
                return
            mask = 0
        mask |= self.bit[node]
        if mask.bit_count() < self.quorums.phase2:
            if tallies is None:
                tallies = self.tallies[instance] = {}
            tallies[(round_, value)] = mask
            return
        if tallies is not None:
            tallies.pop((round_, value), None)
        if earlier is not None:
            self.conflicts.add((instance, round_, value))
        self.decide(Choice(instance, value, round_, event["t"]))

    def decide(self, choice: Choice) -> None:
        if self.first_choice is None:
            self.first_choice = choice
        earlier = self.decision(choice.instance)
        if earlier is None:
            earlier = self.decided[choice.instance] = choice
            self.decisions += 1
            if choice.value in self.allowed:
                self.drop_tallies(choice)
            else:
                self.invalid.add(choice.instance)
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
        if choice.instance == len(self.settled):
            self.settle()

    def drop_tallies(self, choice: Choice) -> None:
        """Forget the instance's tallies of the value just validly decided: did they
        reach a quorum, they would decide it again, which changes nothing."""
        tallies = self.tallies.get(choice.instance)
        if tallies is None:
            return
        for key in [key for key in tallies if key[1] == choice.value]:
            del tallies[key]
        if not tallies:
            del self.tallies[choice.instance]

    def learn(self, event: dict[str, Any]) -> None:
        node, value, time = shared(event["node"]), shared(event["value"]), event["t"]
        instance = self.instance_of(event)
        bit = self.bit[node]
        first = self.learned.get(instance)
        if first is None and self.settled.holds(instance):
            first = self.settled.learned(instance, self.allowed.strings)
            if first[1] == value and first[2] & bit:
                return  # settled, and the node says again what it said: nothing changes
            # Anything else is judged as if the instance had never been settled.
            self.learned[instance] = first
            self.decided[instance] = self.settled.choice(instance, self.allowed.strings)
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
        choice = self.decision(instance)
        if choice is not None and choice.value != value:
            self.violations.append(Violation(
                "agreement", instance, time,
                f"learner {node} learned {value!r} but {choice.value!r} was chosen",
            ))
        valid = choice is not None and choice.value == value and instance not in self.invalid
        if not valid and value not in self.allowed:  # (a valid decision's value was asked for)
            self.violations.append(Violation(
                "validity", instance, time, f"learner {node} learned {value!r}, which no "
                "client asked for",
            ))
        if instance == len(self.settled):
            self.settle()

    def settle(self) -> None:
        """Move the next instances into :class:`Settled` while each is decided, validly,
        and every honest voter's latest word on it is its decided value (called when
        the next instance to settle changed: those after it wait for it)."""
        settled, all_voters = self.settled, self.settled.all_voters
        while True:
            instance = len(settled)
            choice = self.decided.get(instance)
            learned = self.learned.get(instance)
            if choice is None or learned is None or instance in self.invalid:
                return
            first, value, mask = learned
            if value != choice.value or mask & all_voters != all_voters or type(value) is not str:
                return
            index = self.allowed.strings.index(value)
            if index is None:
                return
            settled.append(choice, index, first, mask)
            del self.decided[instance], self.learned[instance]


_NOTHING = object()
