"""Safety invariants of consensus, computed from a run's events alone.

- **agreement**: per instance, at most one value is ever *chosen* (accepted
  by a majority of acceptors in one ballot), and every learner learns that
  same value;
- **validity**: a chosen or learned value was asked for by some client;
- **integrity**: a learner never changes its mind.

The majority is computed from the scenario's acceptors, not taken from the
protocol, so a protocol that miscounts its quorum is still judged correctly.
Events may carry an ``instance`` (a log slot); single-decree runs use 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any


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
    ballot: Any
    time: float


def acceptors_of(scenario: dict[str, Any]) -> list[str]:
    """Nodes that vote: acceptors, and replicas of a replicated log (which all accept)."""
    return [name for name, roles in scenario["nodes"].items()
            if "acceptor" in roles or "replica" in roles]


def majority_of(scenario: dict[str, Any]) -> int:
    return len(acceptors_of(scenario)) // 2 + 1


def ballot_key(ballot: Any) -> Any:
    """Ballots come back from JSON as lists; make them hashable."""
    return tuple(ballot) if isinstance(ballot, list) else ballot


def choices(events: Iterable[dict[str, Any]], quorum: int) -> list[Choice]:
    """Every (instance, ballot, value) that a majority of acceptors accepted, in time order."""
    voters: dict[tuple[Any, Any, Any], set[str]] = {}
    found = []
    for event in events:
        if event["ev"] != "accepted":
            continue
        instance = event.get("instance", 0)
        key = (instance, ballot_key(event["ballot"]), event["value"])
        group = voters.setdefault(key, set())
        if event["node"] in group:
            continue
        group.add(event["node"])
        if len(group) == quorum:
            found.append(Choice(instance, event["value"], key[1], event["t"]))
    return found


def check_safety(
    scenario: dict[str, Any], events: list[dict[str, Any]], chosen: list[Choice] | None = None
) -> list[Violation]:
    """Every violation of agreement, validity or integrity, in time order of discovery.

    ``chosen`` is :func:`choices` of the same events, when the caller has it already.
    """
    if chosen is None:
        chosen = choices(events, majority_of(scenario))
    allowed = {e["value"] for e in events if e["ev"] == "request"}
    allowed.update(e["value"] for e in events if e["ev"] == "noop_allowed")
    violations: list[Violation] = []

    first_choice: dict[Any, Choice] = {}
    for choice in chosen:
        earlier = first_choice.setdefault(choice.instance, choice)
        if earlier.value != choice.value:
            violations.append(Violation(
                "agreement", choice.instance, choice.time,
                f"{choice.value!r} was chosen in ballot {list(choice.ballot)} after "
                f"{earlier.value!r} was chosen in ballot {list(earlier.ballot)} "
                f"at t={earlier.time:g}",
            ))
        if choice.value not in allowed:
            violations.append(Violation(
                "validity", choice.instance, choice.time,
                f"{choice.value!r} was chosen but no client asked for it",
            ))

    learned: dict[tuple[str, Any], Any] = {}
    first_learned: dict[Any, tuple[str, Any]] = {}
    for event in events:
        if event["ev"] != "learned":
            continue
        instance, node, value, time = event.get("instance", 0), event["node"], event["value"], \
            event["t"]
        previous = learned.get((node, instance), _NOTHING)
        if previous is not _NOTHING and previous != value:
            violations.append(Violation(
                "integrity", instance, time,
                f"learner {node} learned {value!r} after it had learned {previous!r}",
            ))
        learned[(node, instance)] = value
        other = first_learned.setdefault(instance, (node, value))
        if other[0] != node and other[1] != value:
            violations.append(Violation(
                "agreement", instance, time,
                f"learner {node} learned {value!r} but {other[0]} learned {other[1]!r}",
            ))
        choice = first_choice.get(instance)
        if choice is not None and choice.value != value:
            violations.append(Violation(
                "agreement", instance, time,
                f"learner {node} learned {value!r} but {choice.value!r} was chosen",
            ))
        if value not in allowed:
            violations.append(Violation(
                "validity", instance, time, f"learner {node} learned {value!r}, which no "
                "client asked for",
            ))
    return violations


_NOTHING = object()
