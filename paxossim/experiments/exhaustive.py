"""Exhaustive search of a small configuration: every order of events, breadth first.

``paxossim check SCENARIO --exhaustive`` starts from the scenario's initial
state (every node booted) and enumerates every order in which the enabled
events can happen: the next client request of the scenario (requests keep
their order), the delivery of any message in flight, the firing of any armed
timer, and, within budgets, the loss of any message in flight (``--drops``)
the crash of any node (``--crashes``; a crashed node may recover at any
later point, from its durable storage) and the duplication of any message in
flight (``--duplicates``). Time is abstracted away: any enabled
event may be next, whatever the latencies and timer delays would say.

A global state is the nodes' snapshots (:mod:`paxossim.sim.snapshot`: durable
storage, volatile state, random-stream position, armed timers; a crashed
node's storage), the multiset of messages in flight, how many requests were
made, the budgets spent, and the *facts* so far: the events the safety checks
read (votes, learns, requests, ...), in order, without times. Facts are part
of the state because the checks judge a history, not a snapshot (an acceptor
overwrites its vote; the vote still counted). States are hashed by their
canonical encodings, so a state reached again by another order is expanded
once. Breadth first, so the first violation found has a shortest trace.

The verdict on a state comes from the same checks a run uses: the generic
:class:`~paxossim.checks.safety.SafetyCheck` and the protocol's own
``checks``, fed the facts in order (fact ``i`` at time ``i``). Nothing here
knows a protocol's names, so any protocol whose nodes can be snapshotted can
be searched.

No partial-order reduction: the state hashing (and memoising each node's
reaction to an event) keeps the small configurations within seconds, and a
reduction would have to be argued sound against the history-reading checks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from paxossim import protocols
from paxossim.checks.safety import SafetyCheck
from paxossim.errors import UserError
from paxossim.experiments.exhaustive_step import EventKey, Outcome, Stepper
from paxossim.protocols.base import Message, Node
from paxossim.rng import Streams
from paxossim.scenario.model import Scenario, scenario_to_dict
from paxossim.sim.snapshot import NodeSnapshot, SnapshotError

Action = tuple[Any, ...]
"""("request", index) | ("deliver", message id) | ("timer", node index, name) |
("drop", message id) | ("duplicate", message id) | ("crash", node index) |
("recover", node index)."""


@dataclass(frozen=True)
class Bounds:
    """How far the search goes: depth (events on a path) and fault budgets."""

    max_depth: int = 30
    drops: int = 0
    crashes: int = 0
    duplicates: int = 0
    max_states: int | None = None
    """Stop after this many distinct states (None: no limit)."""


@dataclass(frozen=True)
class State:
    nodes: tuple[NodeSnapshot, ...]
    flight: tuple[int, ...]
    """Message ids in flight, sorted (a multiset: an id may repeat)."""
    requests: int
    """How many of the scenario's requests were made."""
    drops: int
    crashes: int
    duplicates: int
    facts: tuple[bytes, ...]


@dataclass(frozen=True)
class TraceStep:
    """One event of a trace, with what it did (for the written scenario)."""

    action: Action
    node: str
    message: tuple[str, str, Message] | None
    """(src, dst, message) of a delivery, a drop or a duplication."""
    outcome: Outcome | None
    """None for a drop or a duplication, and for a request to a node that is down."""


@dataclass
class SearchResult:
    scenario: str
    variant: str
    bounds: Bounds
    generated: int = 0
    """Successor states computed (with repeats)."""
    distinct: int = 0
    depth: int = 0
    """Depth of the deepest distinct state."""
    seconds: float = 0.0
    complete: bool = False
    """Every reachable state within the fault budgets was expanded (the depth
    bound was never hit)."""
    violations: list[dict[str, Any]] = field(default_factory=list)
    trace: list[TraceStep] = field(default_factory=list)
    boot: list[tuple[str, Outcome]] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.violations)

    @property
    def rate(self) -> float:
        return self.generated / self.seconds if self.seconds > 0 else 0.0


def _refuse_unsupported(scenario: Scenario) -> None:
    faults = scenario.faults
    if faults.random_crashes or faults.random_partitions or faults.partitions or faults.crashes:
        raise UserError(f"{scenario.source}: faults",
                        "an exhaustive search enumerates faults itself (--drops, --crashes);"
                        " remove scripted and random crashes and partitions")


class Search:
    """The breadth-first search of one scenario."""

    def __init__(self, scenario: Scenario, bounds: Bounds) -> None:
        _refuse_unsupported(scenario)
        self.scenario = scenario
        self.bounds = bounds
        self.protocol = protocols.get(scenario.protocol)
        self.names = tuple(scenario.nodes)
        self.index = {name: i for i, name in enumerate(self.names)}
        self.requests = sorted(scenario.requests, key=lambda r: r.at)
        streams = Streams(scenario.seed)
        self.stepper = Stepper(self._make_node, lambda node: streams.stream(f"node:{node}"),
                               {n: c.offset for n, c in scenario.clocks.items()},
                               amnesia=scenario.faults.amnesia)
        self.scenario_dict = orjson.loads(orjson.dumps(scenario_to_dict(scenario)))
        self.prefix = f"{self.protocol.name}."
        self.relevant = set(SafetyCheck(self.scenario_dict, self.protocol).kinds)
        for check in self.protocol.checks(self.scenario_dict):
            self.relevant |= check.kinds
        self.messages: list[tuple[str, str, Message]] = []
        self._message_ids: dict[tuple[str, str, Message], int] = {}
        self._verdicts: dict[tuple[bytes, ...], list[dict[str, Any]]] = {}

    def _make_node(self, node_id: str, ctx: Any) -> Node:
        return self.protocol.make_node(node_id, self.scenario, ctx,
                                       self.scenario.variant_of(node_id))

    # -- states and actions -------------------------------------------------------
    def message_id(self, src: str, dst: str, msg: Message) -> int:
        key = (src, dst, msg)
        found = self._message_ids.get(key)
        if found is None:
            found = self._message_ids[key] = len(self.messages)
            self.messages.append(key)
        return found

    def initial(self) -> tuple[State, list[tuple[str, Outcome]]]:
        booted = []
        for name in self.names:
            try:
                booted.append((name, self.stepper.boot(name)))
            except SnapshotError as error:
                raise UserError(f"{self.scenario.source}",
                                f"protocol {self.protocol.name!r} cannot be searched"
                                f" exhaustively: its nodes cannot be snapshotted ({error})"
                                ) from None
        flight: list[int] = []
        facts: list[bytes] = []
        for name, outcome in booted:
            self._absorb(name, outcome, flight, facts)
        state = State(tuple(o.after for _, o in booted), tuple(sorted(flight)), 0, 0, 0, 0,
                      tuple(facts))
        return state, booted

    def _absorb(self, name: str, outcome: Outcome, flight: list[int],
                facts: list[bytes]) -> None:
        for dst, msg in outcome.sent:
            flight.append(self.message_id(name, dst, msg))
        for kind, fields in outcome.emitted:
            self._fact(facts, self.prefix + kind, name, dict(fields))

    def _fact(self, facts: list[bytes], kind: str, node: str, fields: dict[str, Any]) -> None:
        if kind in self.relevant:
            facts.append(orjson.dumps({"ev": kind, "node": node, **fields}))

    def actions(self, state: State) -> list[Action]:
        """The enabled events, in a fixed order (so the search is deterministic)."""
        found: list[Action] = []
        if state.requests < len(self.requests):
            found.append(("request", state.requests))
        distinct = sorted(set(state.flight))
        for mid in distinct:
            if state.nodes[self.index[self.messages[mid][1]]].up:
                found.append(("deliver", mid))
        for position, snap in enumerate(state.nodes):
            for name, _delay in snap.timers:
                found.append(("timer", position, name))
        if state.drops < self.bounds.drops:
            found += [("drop", mid) for mid in distinct]
        if state.duplicates < self.bounds.duplicates:
            found += [("duplicate", mid) for mid in distinct]
        for position, snap in enumerate(state.nodes):
            if not snap.up:
                found.append(("recover", position))
            elif state.crashes < self.bounds.crashes:
                found.append(("crash", position))
        return found

    def apply(self, state: State, action: Action) -> tuple[State, TraceStep]:
        kind = action[0]
        flight = list(state.flight)
        facts = list(state.facts)
        requests, drops, crashes = state.requests, state.drops, state.crashes
        duplicates = state.duplicates
        message = None
        event: EventKey
        if kind == "request":
            item = self.requests[action[1]]
            requests += 1
            position = self.index[item.node]
            fields: dict[str, Any] = {"value": item.value}
            if item.extra:
                fields["extra"] = dict(item.extra)
            self._fact(facts, "request", item.node, fields)
            if not state.nodes[position].up:
                new = State(state.nodes, state.flight, requests, drops, crashes, duplicates,
                            tuple(facts))
                return new, TraceStep(action, item.node, None, None)
            event = ("request", self.protocol.client_request(item.value, item.extra))
        elif kind == "duplicate":
            message = self.messages[action[1]]
            new = State(state.nodes, tuple(sorted((*flight, action[1]))), requests, drops,
                        crashes, duplicates + 1, state.facts)
            return new, TraceStep(action, message[1], message, None)
        elif kind in ("deliver", "drop"):
            message = self.messages[action[1]]
            flight.remove(action[1])
            if kind == "drop":
                new = State(state.nodes, tuple(flight), requests, drops + 1, crashes,
                            duplicates, state.facts)
                return new, TraceStep(action, message[1], message, None)
            position = self.index[message[1]]
            event = ("msg", message[0], message[2])
        elif kind == "timer":
            position = action[1]
            event = ("timer", action[2])
        else:
            position = action[1]
            event = (kind,)
            crashes += kind == "crash"
            self._fact(facts, kind, self.names[position], {})
        name = self.names[position]
        outcome = self.stepper.step(state.nodes[position], event)
        self._absorb(name, outcome, flight, facts)
        nodes = (*state.nodes[:position], outcome.after, *state.nodes[position + 1:])
        new = State(nodes, tuple(sorted(flight)), requests, drops, crashes, duplicates,
                    tuple(facts))
        return new, TraceStep(action, name, message, outcome)

    # -- the verdict ----------------------------------------------------------------
    def verdict(self, facts: tuple[bytes, ...]) -> list[dict[str, Any]]:
        """The violations the run's checks find in these facts (fact i at time i)."""
        found = self._verdicts.get(facts)
        if found is not None:
            return found
        safety = SafetyCheck(self.scenario_dict, self.protocol)
        readers = [safety, *self.protocol.checks(self.scenario_dict)]
        for position, line in enumerate(facts):
            event = orjson.loads(line)
            event["t"] = float(position)
            for reader in readers:
                if event["ev"] in reader.kinds:
                    reader.feed(event)
        violations = list(safety.violations)
        for check in readers[1:]:
            violations += check.finish(float(len(facts)))[1]
        found = self._verdicts[facts] = [v.to_dict() for v in violations]
        return found

    # -- the search -----------------------------------------------------------------
    def run(self, progress: Callable[[SearchResult], None] | None = None) -> SearchResult:
        started = time.perf_counter()
        result = SearchResult(self.scenario.name, self.scenario.variant, self.bounds)
        root, result.boot = self.initial()
        keys: dict[tuple[Any, ...], int] = {}
        node_keys: dict[bytes, int] = {}
        fact_keys: dict[tuple[bytes, ...], int] = {}

        def key_of(state: State) -> tuple[Any, ...]:
            nodes = tuple(node_keys.setdefault(s.key, len(node_keys)) for s in state.nodes)
            return (nodes, state.flight, state.requests, state.drops, state.crashes,
                    state.duplicates, fact_keys.setdefault(state.facts, len(fact_keys)))

        states = [root]
        parents: list[tuple[int, Action] | None] = [None]
        keys[key_of(root)] = 0
        result.distinct = 1
        violations = self.verdict(root.facts)
        frontier = [0] if not violations else []
        found_at = 0 if violations else None
        depth = 0
        limit = self.bounds.max_states
        while frontier and depth < self.bounds.max_depth and found_at is None:
            depth += 1
            following: list[int] = []
            for index in frontier:
                state = states[index]
                for action in self.actions(state):
                    new, _ = self.apply(state, action)
                    result.generated += 1
                    key = key_of(new)
                    if key in keys:
                        continue
                    keys[key] = len(states)
                    states.append(new)
                    parents.append((index, action))
                    following.append(len(states) - 1)
                    if new.facts != state.facts:
                        violations = self.verdict(new.facts)
                        if violations:
                            found_at = len(states) - 1
                            break
                if found_at is not None or (limit is not None and len(states) >= limit):
                    break
            result.distinct = len(states)
            result.depth = depth if following else depth - 1
            frontier = following
            if progress is not None:
                progress(result)
            if limit is not None and len(states) >= limit:
                break
        result.complete = not frontier and found_at is None
        result.seconds = time.perf_counter() - started
        if found_at is not None:
            result.violations = violations
            result.trace = self._trace(states, parents, found_at)
        return result

    def _trace(self, states: list[State], parents: list[tuple[int, Action] | None],
               index: int) -> list[TraceStep]:
        actions: list[Action] = []
        link = parents[index]
        while link is not None:
            actions.append(link[1])
            link = parents[link[0]]
        state = states[0]
        steps = []
        for action in reversed(actions):
            state, step = self.apply(state, action)
            steps.append(step)
        return steps


def search(scenario: Scenario, bounds: Bounds,
           progress: Callable[[SearchResult], None] | None = None) -> SearchResult:
    """Search ``scenario`` exhaustively within ``bounds`` (see the module doc)."""
    return Search(scenario, bounds).run(progress)
