"""Exhaustive search of a small configuration: every order of events, breadth first.

``paxossim check SCENARIO --exhaustive`` starts from the scenario's initial
state (every node booted) and enumerates every order in which the enabled
events can happen: the next client request of the scenario (requests keep
their order), the delivery of any message in flight, the firing of any armed
timer, and, within budgets, the loss of any message in flight (``--drops``),
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
``checks``, fed the facts in order (fact ``i`` at time ``i``). Facts are the
protocol's events and the runtime's ``request``, ``crash`` and ``recover``;
message events (``send``, ``deliver``) are not facts (they would make every
path a state of its own), so a check that judged from those would not see them
(today's checks only count them for figures). Nothing here
knows a protocol's names, so any protocol whose nodes can be snapshotted can
be searched.

No partial-order reduction here. The simple one (explore only the events of
one node first) is not sound: a delivery to a node does not commute with
the delivery of a message another node has not sent yet, and votes and
learns, which the checks read, happen anywhere. State hashing (and memoising
each node's reaction to an event) is what keeps small configurations within
seconds; a dynamic reduction, depth first, is :mod:`.exhaustive_por`
(``--reduction``). The figures are in the README.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

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
    timers: int | None = None
    """Timer firings per path at most (None: no limit)."""
    """Timer firings per path (None: no limit). Time is abstracted away, so an armed
    timer may fire at every step; a protocol whose nodes always have one armed
    (election timers, heartbeats, client retries) never runs out of events, and
    this budget is what makes its search small."""
    reduction: bool = False
    """The check command searches with :class:`~.exhaustive_por.ReducedSearch`
    (:func:`search` here is always breadth first)."""


class State(NamedTuple):
    """A global state, as small ints: it is its own hash key."""

    nodes: tuple[int, ...]
    """Each node's snapshot, by its number in :attr:`Search.snapshots`."""
    flight: tuple[int, ...]
    """Message ids in flight, sorted (a multiset: an id may repeat)."""
    requests: int
    """How many of the scenario's requests were made."""
    drops: int
    crashes: int
    duplicates: int
    facts: int
    """The facts so far, by their number in :attr:`Search.facts`."""
    timers: int = 0
    """Timer firings so far (counted under a ``timers`` budget only, so that
    without one a state is what it always was)."""


@dataclass(frozen=True, slots=True)
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
    """What a search did (its figures) and found (the violations and the trace)."""

    scenario: str
    variant: str
    bounds: Bounds
    generated: int = 0
    """Successor states computed (with repeats)."""
    distinct: int = 0
    depth: int = 0
    """Depth of the deepest distinct state."""
    seconds: float = 0.0
    limited: bool = False
    """Stopped at ``max_states``, part way through a depth."""
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
    timed = [p for p in faults.partitions if p.at != 0 or p.heal is not None]
    if faults.random_crashes or faults.random_partitions or timed or faults.crashes:
        raise UserError(f"{scenario.source}: faults",
                        "an exhaustive search enumerates faults itself (--drops, --crashes);"
                        " remove scripted and random crashes and partitions (a partition"
                        " from at = 0 that never heals is allowed: it is the topology)")


class Search:
    """The breadth-first search of one scenario."""

    def __init__(self, scenario: Scenario, bounds: Bounds) -> None:
        _refuse_unsupported(scenario)
        self.scenario = scenario
        self.bounds = bounds
        self.protocol = protocols.get(scenario.protocol)
        self.names = tuple(scenario.nodes)
        self.index = {name: i for i, name in enumerate(self.names)}
        self.blocked = frozenset(
            (src, dst) for src in self.names for dst in self.names
            if any(p.blocks(src, dst) for p in scenario.faults.partitions))
        """Links a partition cuts for good: what is sent on them is lost, as the
        runtime's network loses it."""
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
        self.destinations: list[int] = []
        """Each message's destination, as a node's position."""
        self.snapshots: list[NodeSnapshot] = []
        self._snapshot_ids: dict[bytes, int] = {}
        self.facts: list[tuple[bytes, ...]] = []
        self._facts_ids: dict[tuple[bytes, ...], int] = {}
        self._appended: dict[tuple[int, tuple[bytes, ...]], int] = {}
        self._steps: dict[tuple[int, EventKey], tuple[int, tuple[int, ...], tuple[bytes, ...],
                                                      Outcome]] = {}
        self._verdicts: dict[int, list[dict[str, Any]]] = {}

    def _make_node(self, node_id: str, ctx: Any) -> Node:
        return self.protocol.make_node(node_id, self.scenario, ctx,
                                       self.scenario.variant_of(node_id))

    # -- interning: everything in a state is a small int ---------------------------
    def message_id(self, src: str, dst: str, msg: Message) -> int:
        key = (src, dst, msg)
        found = self._message_ids.get(key)
        if found is None:
            found = self._message_ids[key] = len(self.messages)
            self.messages.append(key)
            self.destinations.append(self.index[dst])
        return found

    def snapshot_id(self, snap: NodeSnapshot) -> int:
        found = self._snapshot_ids.get(snap.key)
        if found is None:
            found = self._snapshot_ids[snap.key] = len(self.snapshots)
            self.snapshots.append(snap)
        return found

    def facts_id(self, facts: tuple[bytes, ...]) -> int:
        found = self._facts_ids.get(facts)
        if found is None:
            found = self._facts_ids[facts] = len(self.facts)
            self.facts.append(facts)
        return found

    def _add_facts(self, facts: int, more: tuple[bytes, ...]) -> int:
        if not more:
            return facts
        key = (facts, more)
        found = self._appended.get(key)
        if found is None:
            found = self._appended[key] = self.facts_id(self.facts[facts] + more)
        return found

    def _fact(self, kind: str, node: str, fields: dict[str, Any]) -> tuple[bytes, ...]:
        if kind not in self.relevant:
            return ()
        return (orjson.dumps({"ev": kind, "node": node, **fields}),)

    # -- states and actions -------------------------------------------------------
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
        facts = self.facts_id(())
        for name, outcome in booted:
            sent, more = self._effects(name, outcome)
            flight += sent
            facts = self._add_facts(facts, more)
        nodes = tuple(self.snapshot_id(outcome.after) for _, outcome in booted)
        return State(nodes, tuple(sorted(flight)), 0, 0, 0, 0, facts), booted

    def _effects(self, name: str, outcome: Outcome) -> tuple[tuple[int, ...], tuple[bytes, ...]]:
        """The message ids an outcome sends and the facts it adds."""
        # A message to a name that is no node (the client a request came from) is
        # dropped, as the runtime drops it ("no such node"): it can never be delivered.
        sent = tuple(self.message_id(name, dst, msg) for dst, msg in outcome.sent
                     if dst in self.index and (name, dst) not in self.blocked)
        facts: tuple[bytes, ...] = ()
        for kind, fields in outcome.emitted:
            facts += self._fact(self.prefix + kind, name, dict(fields))
        return sent, facts

    def _step(self, position: int, snap: int, event: EventKey
              ) -> tuple[int, tuple[int, ...], tuple[bytes, ...], Outcome]:
        """Node ``position`` in snapshot ``snap`` takes ``event`` (memoised)."""
        key = (snap, event)
        found = self._steps.get(key)
        if found is None:
            outcome = self.stepper.step(self.snapshots[snap], event)
            sent, facts = self._effects(self.names[position], outcome)
            found = self._steps[key] = (self.snapshot_id(outcome.after), sent, facts, outcome)
        return found

    def actions(self, state: State) -> list[Action]:
        """The enabled events, in a fixed order (so the search is deterministic)."""
        found: list[Action] = []
        if state.requests < len(self.requests):
            found.append(("request", state.requests))
        up = [self.snapshots[snap].up for snap in state.nodes]
        distinct = sorted(set(state.flight))
        for mid in distinct:
            if up[self.destinations[mid]]:
                found.append(("deliver", mid))
        if self.bounds.timers is None or state.timers < self.bounds.timers:
            for position, snap in enumerate(state.nodes):
                for name, _delay in self.snapshots[snap].timers:
                    found.append(("timer", position, name))
        if state.drops < self.bounds.drops:
            found += [("drop", mid) for mid in distinct]
        if state.duplicates < self.bounds.duplicates:
            found += [("duplicate", mid) for mid in distinct]
        for position, is_up in enumerate(up):
            if not is_up:
                found.append(("recover", position))
            elif state.crashes < self.bounds.crashes:
                found.append(("crash", position))
        return found

    def apply(self, state: State, action: Action) -> tuple[State, TraceStep]:
        nodes, flight, requests, drops, crashes, duplicates, facts, timers = state
        kind = action[0]
        message = None
        event: EventKey
        if kind == "request":
            item = self.requests[action[1]]
            position = self.index[item.node]
            fields: dict[str, Any] = {"value": item.value}
            if item.extra:
                fields["extra"] = dict(item.extra)
            requests += 1
            facts = self._add_facts(facts, self._fact("request", item.node, fields))
            if not self.snapshots[nodes[position]].up:
                return (State(nodes, flight, requests, drops, crashes, duplicates, facts, timers),
                        TraceStep(action, item.node, None, None))
            event = ("request", self.protocol.client_request(item.value, item.extra))
        elif kind in ("deliver", "drop", "duplicate"):
            message = self.messages[action[1]]
            if kind == "duplicate":
                flight = tuple(sorted((*flight, action[1])))
                return (State(nodes, flight, requests, drops, crashes, duplicates + 1, facts,
                              timers), TraceStep(action, message[1], message, None))
            at = flight.index(action[1])
            flight = flight[:at] + flight[at + 1:]
            if kind == "drop":
                return (State(nodes, flight, requests, drops + 1, crashes, duplicates, facts,
                              timers), TraceStep(action, message[1], message, None))
            position = self.destinations[action[1]]
            event = ("msg", message[0], message[2])
        elif kind == "timer":
            position = action[1]
            timers += self.bounds.timers is not None
            event = ("timer", action[2])
        else:
            position = action[1]
            event = (kind,)
            crashes += kind == "crash"
            extra = {"amnesia": self.scenario.faults.amnesia} if kind == "recover" else {}
            facts = self._add_facts(facts, self._fact(kind, self.names[position], extra))
        after, sent, more, outcome = self._step(position, nodes[position], event)
        if sent:
            flight = tuple(sorted(flight + sent))
        new = State((*nodes[:position], after, *nodes[position + 1:]), flight, requests, drops,
                    crashes, duplicates, self._add_facts(facts, more) if more else facts, timers)
        return new, TraceStep(action, self.names[position], message, outcome)

    # -- the verdict ----------------------------------------------------------------
    def verdict(self, facts_id: int) -> list[dict[str, Any]]:
        """The violations the run's checks find in these facts (fact i at time i)."""
        found = self._verdicts.get(facts_id)
        if found is not None:
            return found
        safety = SafetyCheck(self.scenario_dict, self.protocol)
        readers = [safety, *self.protocol.checks(self.scenario_dict)]
        facts = self.facts[facts_id]
        for position, line in enumerate(facts):
            event = orjson.loads(line)
            event["t"] = float(position)
            for reader in readers:
                if event["ev"] in reader.kinds:
                    reader.feed(event)
        violations = list(safety.violations)
        for check in readers[1:]:
            violations += check.finish(float(len(facts)))[1]
        found = self._verdicts[facts_id] = [v.to_dict() for v in violations]
        return found

    # -- the search -----------------------------------------------------------------
    def run(self, progress: Callable[[SearchResult], None] | None = None) -> SearchResult:
        started = time.perf_counter()
        result = SearchResult(self.scenario.name, self.scenario.variant, self.bounds)
        root, result.boot = self.initial()
        seen: dict[State, int] = {root: 0}
        parents: list[tuple[int, Action] | None] = [None]
        result.distinct = 1
        violations = self.verdict(root.facts)
        frontier = [root] if not violations else []
        found: State | None = root if violations else None
        depth = 0
        limit = self.bounds.max_states
        while frontier and depth < self.bounds.max_depth and found is None:
            depth += 1
            following: list[State] = []
            for state in frontier:
                index = seen[state]
                for action in self.actions(state):
                    new, _ = self.apply(state, action)
                    result.generated += 1
                    if new in seen:
                        continue
                    seen[new] = len(parents)
                    parents.append((index, action))
                    following.append(new)
                    if new.facts != state.facts:
                        violations = self.verdict(new.facts)
                        if violations:
                            found = new
                            break
                if found is not None or (limit is not None and len(parents) >= limit):
                    break
            result.distinct = len(parents)
            result.depth = depth if following else depth - 1
            frontier = following
            result.seconds = time.perf_counter() - started
            if progress is not None:
                progress(result)
            if limit is not None and len(parents) >= limit:
                result.limited = found is None
                break
        result.complete = not frontier and found is None
        result.seconds = time.perf_counter() - started
        if found is not None:
            result.violations = violations
            result.trace = self._trace(root, parents, seen[found])
        return result

    def _trace(self, root: State, parents: list[tuple[int, Action] | None],
               index: int) -> list[TraceStep]:
        actions: list[Action] = []
        link = parents[index]
        while link is not None:
            actions.append(link[1])
            link = parents[link[0]]
        state = root
        steps = []
        for action in reversed(actions):
            state, step = self.apply(state, action)
            steps.append(step)
        return steps


def search(scenario: Scenario, bounds: Bounds,
           progress: Callable[[SearchResult], None] | None = None) -> SearchResult:
    """Search ``scenario`` exhaustively within ``bounds`` (see the module doc)."""
    return Search(scenario, bounds).run(progress)
