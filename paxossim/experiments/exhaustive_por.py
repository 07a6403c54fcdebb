"""The exhaustive search with a partial-order reduction: dynamic POR with sleep sets.

Why dynamic. Most orders the plain search tries differ only in the order of
*independent* events: events at different nodes that do not touch the same
message, budget or facts. Trying one order of each such set suffices, but a
static choice (explore one node's events first) is not sound here: a node's
next delivery does not commute with a delivery of a message another node has
not sent yet, and which messages will be sent is only known by running.
Dynamic partial-order reduction (Flanagan and Godefroid, POPL 2005) learns
it from the paths it runs: depth first, it records for each event what
happened before it (the send of the message it consumes, and every earlier
dependent event), and where two dependent events could have come in the
other order (a *race*), it schedules that other order at the state before
the first of them. Sleep sets (Godefroid) keep it from running an order
that only permutes independent events of one already run.

Dependence, over the search's actions (:mod:`paxossim.experiments.exhaustive`):
two events are dependent if they act on the same node (a delivery, drop or
duplication acts on the message's destination; a request on the node it
goes to; a timer, crash or recovery on its node), or both add facts (the
checks read facts in order, so two orders of facts are two histories), or
both spend the same budget (drops, duplicates, crashes), or both are
requests (they keep the scenario's order). Otherwise they commute: each
changes only its own node, removes its own message and adds its own (a
multiset), and at most one of them appends facts. An event also happens
after the event that sent the copy of the message it consumes (copies with
one identity are taken oldest first), after the request before it, and a
recovery after the crash. An event that disables another (consumes the last
copy of its message, cancels its timer, spends the budget it needed) races
with it too: that other order is scheduled where it happened.

Two departures from the paper, both exploring more. Whether an event adds
facts depends on its node's state (a learner's second vote learns, its
first does not), so dependence is conditional; the paper's shortcut of
reversing only the latest race of an event then lost histories (a six-node
case with one duplicate, kept as a test), so every race is reversed. And
what this preserves is checked, not proved: on finite configurations the
tests compare the set of fact sequences (the histories the checks judge)
the reduced search visits with every reachable one, and they are equal.
Why that is the goal: events that add facts are pairwise dependent, so every
order of one Mazurkiewicz trace passes through the same sequence of facts,
and running one order of each trace shows the checks every history.

When paths are cut at ``max_depth`` (an infinite state space, e.g. timers
that re-arm), even that argument fails: the events a race needs may lie past
the cut. Races with the events enabled at a cut are still scheduled, but a
clean result is then weaker than the plain search's "none within the
depth" (:attr:`ReducedResult.cut` says when this happened).

Depth first, so the trace found is a trace, not a shortest one. States are
not cached (caching loses the races below a state reached again); the
distinct states it visits are counted, to compare with the plain search.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from paxossim.experiments.exhaustive import Action, Bounds, Search, SearchResult, State
from paxossim.scenario.model import Scenario

BUDGETED = frozenset({"drop", "duplicate", "crash"})


@dataclass(frozen=True, slots=True)
class Event:
    """What an action did at a state: enough to tell dependence and causality."""

    action: Action
    owner: int
    """The node it acts on (a message event: the destination)."""
    visible: bool
    """It appended facts."""
    budget: str | None
    instance: int
    """The message copy it consumes or copies (-1: none)."""
    sent: tuple[int, ...]
    """Message ids it put in flight, in order."""


def dependent(a: Event, b: Event) -> bool:
    return (a.owner == b.owner or (a.visible and b.visible)
            or (a.budget is not None and a.budget == b.budget)
            or (a.action[0] == "request" and b.action[0] == "request"))


@dataclass
class _Frame:
    """One position of the current path: the state before its event, and its bookkeeping."""

    state: State
    enabled: list[Action]
    enabled_set: frozenset[Action]
    copies: tuple[tuple[int, int], ...]
    """Message copies in flight: (message id, position of the event that sent it; -1 boot)."""
    sleep: dict[Action, Event]
    backtrack: dict[Action, None]
    done: set[Action]
    event: Event | None = None
    hb: int = 0
    """Bit k set: the event at position k happened before this frame's event."""


class _Stop(Exception):
    """A violation was found, or the state limit reached."""


@dataclass
class ReducedResult(SearchResult):
    """A reduced search's figures; ``distinct`` counts the distinct states visited."""

    cut: bool = False
    """Some path reached ``max_depth`` (see the module doc: a clean result is then
    weaker than the plain search's)."""


class ReducedSearch:
    """Depth-first search of a scenario, with dynamic partial-order reduction."""

    def __init__(self, scenario: Scenario, bounds: Bounds) -> None:
        self.base = Search(scenario, bounds)
        self.bounds = bounds
        self.path: list[_Frame] = []
        self.seen: set[State] = set()
        self.result = ReducedResult(scenario.name, scenario.variant, bounds)

    def initial(self) -> tuple[State, list]:
        """The initial state (refuses a protocol whose nodes cannot be snapshotted)."""
        return self.base.initial()

    # -- events ---------------------------------------------------------------------
    def event(self, frame: _Frame, action: Action) -> tuple[Event, State]:
        base = self.base
        new, _ = base.apply(frame.state, action)
        kind = action[0]
        instance = -1
        if kind in ("deliver", "drop", "duplicate"):
            owner = base.destinations[action[1]]
            instance = next(i for i, (mid, _) in enumerate(frame.copies) if mid == action[1])
        elif kind == "request":
            owner = base.index[base.requests[action[1]].node]
        else:
            owner = action[1]
        sent = self._sent(frame.state, new, action) if kind not in ("drop", "duplicate") else ()
        return Event(action, owner, new.facts != frame.state.facts,
                     kind if kind in BUDGETED else None, instance, sent), new

    def _sent(self, before: State, after: State, action: Action) -> tuple[int, ...]:
        """The message ids an action added to the flight (multiset difference)."""
        remaining = list(before.flight)
        if action[0] in ("deliver", "drop"):
            remaining.remove(action[1])
        added: list[int] = []
        for mid in after.flight:
            if mid in remaining:
                remaining.remove(mid)
            else:
                added.append(mid)
        return tuple(added)

    def _causal(self, frame: _Frame, event: Event, position: int) -> int:
        """The position of the event this one needs to have happened (-1: none)."""
        if event.instance >= 0:
            return frame.copies[event.instance][1]
        kind = event.action[0]
        if kind == "request" or kind == "recover":
            for k in range(position - 1, -1, -1):
                other = self.path[k].event
                assert other is not None
                if other.action[0] == ("request" if kind == "request" else "crash") and (
                        kind == "request" or other.owner == event.owner):
                    return k
        return -1

    def _past(self, frame: _Frame, event: Event, position: int, stop: int) -> int:
        """Events at positions > ``stop`` that happen before ``event`` (a bit mask),
        with their own pasts."""
        mask = 0
        causal = self._causal(frame, event, position)
        if causal >= 0:
            mask |= (1 << causal) | self.path[causal].hb
        for k in range(position - 1, stop, -1):
            other = self.path[k]
            assert other.event is not None
            if dependent(other.event, event):
                mask |= (1 << k) | other.hb
        return mask

    def _race(self, frame: _Frame, event: Event) -> None:
        """Schedule the other order of every race of ``event`` (about to run at
        the end of the path) with an event of the path, not only the latest one
        (see the module docstring: dependence here is conditional)."""
        position = len(self.path) - 1
        causal = self._causal(frame, event, position)
        reach = ((1 << causal) | self.path[causal].hb) if causal >= 0 else 0
        for j in range(position - 1, -1, -1):
            other = self.path[j]
            assert other.event is not None
            if dependent(other.event, event):
                if not reach >> j & 1:
                    self._schedule(j, event, reach)
                reach |= (1 << j) | other.hb
            # j is then in the past: only earlier events can race.

    def _schedule(self, j: int, event: Event, reach: int) -> None:
        target = self.path[j]
        if event.action in target.enabled_set:
            target.backtrack.setdefault(event.action, None)
            return
        for k in range(j + 1, len(self.path) - 1):
            other = self.path[k].event
            assert other is not None
            if reach >> k & 1 and other.action in target.enabled_set:
                target.backtrack.setdefault(other.action, None)
                return
        for action in target.enabled:
            target.backtrack.setdefault(action, None)

    # -- the search ---------------------------------------------------------------
    def run(self, progress: Callable[[SearchResult], None] | None = None) -> ReducedResult:
        started = time.perf_counter()
        result = self.result
        root, result.boot = self.base.initial()
        self.seen.add(root)
        result.distinct = 1
        violations = self.base.verdict(root.facts)
        if violations:
            result.violations = violations
        else:
            copies = tuple((mid, -1) for mid in root.flight)
            with contextlib.suppress(_Stop):
                self._explore(root, self.base.actions(root), copies, {}, 0)
        result.distinct = len(self.seen)
        result.seconds = time.perf_counter() - started
        result.complete = not result.cut and not result.limited and not result.found
        if progress is not None:
            progress(result)
        return result

    def _explore(self, state: State, enabled: list[Action],
                 copies: tuple[tuple[int, int], ...], sleep: dict[Action, Event],
                 depth: int) -> None:
        frame = _Frame(state, enabled, frozenset(enabled), copies, sleep, {}, set())
        self.path.append(frame)
        events: dict[Action, tuple[Event, State]] = {}
        for action in enabled:
            events[action] = self.event(frame, action)
            self._race(frame, events[action][0])
        if depth >= self.bounds.max_depth:
            if enabled:
                self.result.cut = True
            self.path.pop()
            return
        first = next((a for a in enabled if a not in sleep), None)
        if first is not None:
            frame.backtrack[first] = None
        while True:
            action = next((a for a in frame.backtrack if a not in frame.done
                           and a not in sleep), None)
            if action is None:
                break
            frame.done.add(action)
            event, new = events[action]
            self.result.generated += 1
            if new == state:
                continue  # nothing changed: an order through it is an order without it
            frame.event = event
            position = len(self.path) - 1
            frame.hb = self._past(frame, event, position, -1)
            self.result.depth = max(self.result.depth, depth + 1)
            if new not in self.seen:
                self.seen.add(new)
                limit = self.bounds.max_states
                if limit is not None and len(self.seen) >= limit:
                    self.result.limited = True
                    raise _Stop
            if new.facts != state.facts:
                violations = self.base.verdict(new.facts)
                if violations:
                    self.result.violations = violations
                    self.result.trace = self._trace()
                    raise _Stop
            child_sleep = {a: e for a, e in sleep.items() if not dependent(e, event)}
            for done in frame.done:
                if done != action and done in events and not dependent(events[done][0], event):
                    child_sleep[done] = events[done][0]
            following = self.base.actions(new)
            # An action this one disables (the last copy of a message consumed, a
            # timer cancelled, a budget spent) conflicts with it and will never run
            # after it: its order first is a race no later event shows.
            still = set(following)
            for other in enabled:
                if other != action and other not in still:
                    frame.backtrack.setdefault(other, None)
            self._explore(new, following, self._after(copies, event, position), child_sleep,
                          depth + 1)
            frame.event = None
        self.path.pop()

    @staticmethod
    def _after(copies: tuple[tuple[int, int], ...], event: Event,
               position: int) -> tuple[tuple[int, int], ...]:
        kept = list(copies)
        if event.instance >= 0:
            mid = kept[event.instance][0]
            if event.action[0] == "duplicate":
                kept.append((mid, position))
            else:
                del kept[event.instance]
        kept += [(mid, position) for mid in event.sent]
        return tuple(kept)

    def _trace(self) -> list:
        state = self.path[0].state
        steps = []
        for frame in self.path:
            assert frame.event is not None
            state, step = self.base.apply(state, frame.event.action)
            steps.append(step)
        return steps
