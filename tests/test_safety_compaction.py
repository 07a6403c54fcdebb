"""The safety check's settled instances (kept in columns) judge the future as before."""

from __future__ import annotations

import random
from typing import Any

from paxossim import protocols
from paxossim.checks.compact import StringTable, ValueSet
from paxossim.checks.safety import SafetyCheck

NODES = {"r1": ["replica"], "r2": ["replica"], "r3": ["replica"], "c1": ["client"]}
VALUES = ("x", "y", "z", "never-asked")


def stream(seed: int, instances: int = 12, noise: int = 25) -> list[dict[str, Any]]:
    """Requests, then per instance a quorum's votes and every replica's learn, with
    stray votes and learns of other values and rounds, early and late."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = [{"ev": "multipaxos.request", "node": "c1", "id": v,
                                     "value": v} for v in VALUES[:3]]
    for instance in range(instances):
        value, ballot = rng.choice(VALUES[:3]), [rng.randint(1, 3), "r1"]
        events += [{"ev": "multipaxos.accepted", "node": node, "instance": instance,
                    "ballot": ballot, "value": value} for node in ("r1", "r2", "r3")]
        events += [{"ev": "multipaxos.learned", "node": node, "instance": instance,
                    "value": value} for node in ("r1", "r2", "r3")]
    for _ in range(noise):
        instance = rng.randrange(instances)
        stray: dict[str, Any] = {"node": rng.choice(("r1", "r2", "r3", "c1")),
                                 "instance": instance, "value": rng.choice(VALUES)}
        if rng.random() < 0.5:
            stray |= {"ev": "multipaxos.accepted", "ballot": [rng.randint(1, 4), "r2"]}
        else:
            stray["ev"] = "multipaxos.learned"
        events.insert(rng.randrange(3, len(events) + 1), stray)
    return [event | {"t": float(t)} for t, event in enumerate(events)]


def judge(events: list[dict[str, Any]], settle: bool) -> SafetyCheck:
    check = SafetyCheck({"nodes": NODES}, protocols.get("multipaxos"))
    if not settle:
        check.settle = lambda: None  # type: ignore[method-assign]
    for event in events:
        if event["ev"] in check.kinds:
            check.feed(event)
    return check


def test_settling_changes_no_verdict() -> None:
    settled = found = 0
    for seed in range(300):
        events = stream(seed, noise=seed % 30)
        compact, whole = judge(events, True), judge(events, False)
        assert compact.violations == whole.violations, seed
        assert compact.first_choice == whole.first_choice
        assert compact.decisions == whole.decisions == len(whole.decided)
        settled += len(compact.settled)
        found += len(whole.violations)
    assert settled > 1000 and found > 100  # both the quiet and the conflicting paths ran


def test_a_settled_instance_holds_nothing_in_the_dicts() -> None:
    check = judge(stream(1, instances=50, noise=0), True)
    assert len(check.settled) == 50 and not check.decided and not check.learned
    assert not check.tallies and not check.violations


def test_string_table_is_a_set_with_indexes() -> None:
    table = StringTable()
    words = [f"c{i % 7}#{i}|put|k{i % 3}|é{i}" for i in range(2000)]
    indexes = [table.add(word) for word in words]
    assert indexes == list(range(2000)) and len(table) == 2000
    assert table.add(words[5]) == 5 and table[1234] == words[1234]
    assert words[77] in table and "c1#1" not in table and 3 not in table
    values = ValueSet()
    for value in ("a", 1, None):
        values.add(value)
    assert "a" in values and 1 in values and None in values and "b" not in values


def test_late_votes_for_a_decided_value_count_only_when_it_was_never_asked_for() -> None:
    def votes(ballot: int, value: str) -> list[dict[str, Any]]:
        return [{"ev": "multipaxos.accepted", "node": node, "instance": 0, "t": 1.0,
                 "ballot": [ballot, "r1"], "value": value} for node in ("r1", "r2")]

    asked = [{"ev": "multipaxos.request", "node": "c1", "value": "x", "t": 0.0}]
    valid = judge(asked + votes(1, "x") + votes(2, "x")[:1], True)
    assert valid.violations == [] and valid.tallies == {}  # nothing left to count
    # A value nobody asked for, decided in two ballots: each decision is a violation.
    invalid = judge(votes(1, "y") + votes(2, "y"), True)
    assert [v.invariant for v in invalid.violations] == ["validity", "validity"]
