"""Binds sans-IO protocol nodes to a simpy event loop: delivery, timers, crashes.

A run executes an input schedule (:mod:`paxossim.schedule`): every request,
crash, recovery, partition and heal comes from it, through :meth:`Simulation._run_item`.
This is the only module that touches simpy. Deliveries and timers are plain
``Timeout`` events with a callback (not a process per message): DESIGN.md
section 5 measured that as 3x faster. Each event becomes one JSON line,
encoded with orjson as it happens and kept in memory until the run ends.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
import simpy
from simpy.events import Timeout

from paxossim import protocols
from paxossim import schedule as inputs
from paxossim.errors import UserError
from paxossim.network import Network
from paxossim.protocols.base import Message, Node
from paxossim.rng import Stream, Streams
from paxossim.scenario import ClockSpec, Partition, Scenario
from paxossim.schedule import Override, Schedule

_dumps = orjson.dumps


class Host:
    """One node's place in the simulation; the :class:`Context` its protocol uses."""

    def __init__(self, sim: Simulation, node_id: str) -> None:
        self.sim = sim
        self.node_id = node_id
        self._rng: Stream | None = None
        self.storage: dict[str, Any] = {}
        self.up = True
        self.node: Node | None = None
        self._timers: dict[str, object] = {}
        self._clock = sim.scenario.clocks.get(node_id, ClockSpec())
        self.down_cause: str | None = None
        """What keeps this node down: "scripted" or "random" (None while up)."""

    @property
    def rng(self) -> Stream:
        """The node's own stream, opened on first use (most nodes never draw)."""
        if self._rng is None:
            self._rng = self.sim.streams.stream(f"node:{self.node_id}")
        return self._rng

    @property
    def now(self) -> float:
        return self.sim.env.now

    @property
    def clock(self) -> float:
        """This node's own clock: ``[clocks.<node>]`` offset and drift applied."""
        return self._clock.read(self.sim.env.now)

    def send(self, dst: str, msg: Message) -> None:
        self.sim.send(self.node_id, dst, msg)

    def set_timer(self, name: str, delay: float) -> None:
        token = object()
        self._timers[name] = token
        event = Timeout(self.sim.env, delay, (name, token))
        event.callbacks.append(self._fire)

    def cancel_timer(self, name: str) -> None:
        self._timers.pop(name, None)

    def _fire(self, event: Timeout) -> None:
        name, token = event.value
        if self._timers.get(name) is not token or self.node is None:
            return  # cancelled, re-armed, or the node crashed since
        del self._timers[name]
        self.sim.record({"t": self.sim.env.now, "ev": "timer", "node": self.node_id,
                         "name": name})
        self.node.on_timer(name)

    def emit(self, kind: str, **fields: Any) -> None:
        self.sim.record({"t": self.sim.env.now, "ev": kind, "node": self.node_id, **fields})

    # -- lifecycle ---------------------------------------------------------
    def boot(self) -> None:
        self.up = True
        self.node = self.sim.family.make_node(self.node_id, self.sim.scenario, self)
        self.node.on_start()

    def crash(self) -> None:
        self.up = False
        self.node = None
        self._timers.clear()


@dataclass
class RunOutput:
    """The raw result of one simulation: the event lines (JSON, without newlines)
    and the schedule that was executed (for the log's header)."""

    lines: list[bytes]
    schedule: Schedule


class Simulation:
    """One run: the scenario's nodes on a simulated network, fed by an input schedule.

    ``schedule`` None draws it from the scenario and ``seed``
    (:func:`paxossim.schedule.draw_schedule`); ``overrides`` are added to the
    schedule's own per-message overrides. ``self.schedule`` is what runs, and
    what the log's header must hold to replay the run.
    """

    def __init__(self, scenario: Scenario, seed: int, schedule: Schedule | None = None,
                 overrides: Iterable[Override] = ()) -> None:
        self.scenario = scenario
        self.seed = seed
        if schedule is None:
            schedule = inputs.draw_schedule(scenario, seed)
        else:
            schedule.check(scenario)
        overrides = tuple(overrides)
        self.schedule = schedule.with_overrides(overrides) if overrides else schedule
        self._overrides = {override.m: override for override in self.schedule.overrides}
        self.family = protocols.get(scenario.protocol)
        self.env = simpy.Environment()
        self.streams = Streams(seed)
        self.network = Network(scenario.network, self.streams)
        self.hosts = {name: Host(self, name) for name in scenario.nodes}
        self.lines: list[bytes] = []
        self._next_message = 0
        self._partition_index: list[int | str] = []
        """The log's ``index`` of each active partition, aligned with network.partitions."""
        self._requested: list[inputs.Request] = []
        """The requests made so far, which the heal phase has sent again."""

    def record(self, event: dict[str, Any]) -> None:
        self.lines.append(_dumps(event))

    # -- messages ----------------------------------------------------------
    def send(self, src: str, dst: str, msg: Message) -> None:
        env = self.env
        now = env.now
        mid = self._next_message = self._next_message + 1
        kind = msg.TYPE
        self.lines.append(_dumps({"t": now, "ev": "send", "m": mid, "src": src, "dst": dst,
                                  "type": kind, "msg": msg}))
        if dst not in self.hosts:
            self.record({"t": now, "ev": "drop", "m": mid, "why": "no such node"})
            return
        # The fate is drawn even for an overridden message, so no other draw shifts.
        reason, times = self.network.fate(src, dst, kind, now)
        if self._overrides:
            self._overridden(mid, src, dst, msg, now, reason, times)
            return
        if reason is not None:
            self.lines.append(_dumps({"t": now, "ev": "drop", "m": mid, "why": reason}))
            return
        Timeout(env, times[0] - now, (mid, src, dst, msg)).callbacks.append(self._deliver)
        for time in times[1:]:
            copy = self._next_message = self._next_message + 1
            self.lines.append(_dumps({"t": now, "ev": "duplicate", "m": copy, "of": mid}))
            Timeout(env, time - now, (copy, src, dst, msg)).callbacks.append(self._deliver)

    def _overridden(self, mid: int, src: str, dst: str, msg: Message, now: float,
                    reason: str | None, times: list[float]) -> None:
        """:meth:`send` with per-message overrides: the network's fate (drop reason or
        delivery times, copies numbered as ever), then each override that matches."""
        copies = [(mid, times[0] if times else None)]
        for time in times[1:]:
            copy = self._next_message = self._next_message + 1
            copies.append((copy, time))
        for index, (message, time) in enumerate(copies):
            if index:
                self.record({"t": now, "ev": "duplicate", "m": message, "of": mid})
            override = self._overrides.get(message)
            if override is not None:
                if override.drop:
                    time, reason = None, "override"
                else:
                    time = override.deliver_at
                    if time is None or time < now:
                        raise UserError(f"schedule: override of message {message}",
                                        f"deliver_at {time} is before it is sent at {now}")
            if time is None:
                self.record({"t": now, "ev": "drop", "m": message, "why": reason})
                continue
            Timeout(self.env, time - now, (message, src, dst, msg)).callbacks.append(
                self._deliver)

    def _deliver(self, event: Timeout) -> None:
        mid, src, dst, msg = event.value
        host = self.hosts[dst]
        node = host.node
        if node is None:
            self.lines.append(_dumps({"t": self.env.now, "ev": "drop", "m": mid,
                                      "why": "crashed"}))
            return
        self.lines.append(_dumps({"t": self.env.now, "ev": "deliver", "m": mid}))
        node.on_message(src, msg)

    # -- the input schedule ----------------------------------------------------
    def schedule_inputs(self) -> None:
        """Put every schedule item on the event queue now, in schedule order, so that
        items at the same time run in that order (simpy breaks ties by insertion)."""
        env = self.env
        for index, item in enumerate(self.schedule.items):
            Timeout(env, item.at - env.now, index).callbacks.append(self._fire_item)

    def _fire_item(self, event: Timeout) -> None:
        index = event.value
        self._run_item(index, self.schedule.items[index])

    def _run_item(self, index: int, item: inputs.Item) -> None:
        """Carry out schedule item ``index``: the one door through which inputs enter."""
        match item:
            case inputs.Request():
                self._request(item)
            case inputs.Crash():
                self._crash(item.node, item.cause)
            case inputs.Recover():
                self._recover(item.node, item.cause)
            case inputs.Partition():
                self._partition(item)
            case inputs.Heal():
                self._heal(item)
            case inputs.HealPhase():
                self._heal_all()

    def _request(self, item: inputs.Request) -> None:
        self.record({"t": self.env.now, "ev": "request", "node": item.node, "value": item.value,
                     "ballot": item.ballot})
        self._requested.append(item)
        self._hand_request(item)

    def _hand_request(self, item: inputs.Request) -> None:
        """A client's request reaches its proposer, or is lost if the node is down."""
        host = self.hosts[item.node]
        if host.node is None:
            self.record({"t": self.env.now, "ev": "request_lost", "node": item.node,
                         "value": item.value})
            return
        host.node.on_message("client", self.family.request(item.value, item.ballot))

    def _crash(self, node_id: str, cause: str) -> None:
        host = self.hosts[node_id]
        if not host.up:
            if cause == "scripted":
                # Down already (a random crash got there first): the script now
                # owns the outage, so only its own recovery ends it.
                host.down_cause = cause
            return
        host.crash()
        host.down_cause = cause
        self.record({"t": self.env.now, "ev": "crash", "node": node_id}
                    | ({} if cause == "scripted" else {"cause": cause}))

    def _recover(self, node_id: str, cause: str) -> None:
        """Restart a down node; a random recovery only ends a random crash's outage."""
        host = self.hosts[node_id]
        if host.up or (cause == "random" and host.down_cause != "random"):
            return  # up already (healed, or recovered by another item), or not its outage
        host.down_cause = None
        if self.scenario.faults.amnesia:
            host.storage.clear()
        self.record({"t": self.env.now, "ev": "recover", "node": node_id,
                     "amnesia": self.scenario.faults.amnesia}
                    | ({} if cause == "scripted" else {"cause": cause}))
        host.boot()

    def _partition(self, item: inputs.Partition) -> None:
        partition = Partition(at=item.at, heal=None, groups=item.groups, oneway=item.oneway)
        self.network.partitions.append(partition)
        self._partition_index.append(item.index)
        self._log_partition(True, item.index, partition, item.cause)

    def _heal(self, item: inputs.Heal) -> None:
        if item.index not in self._partition_index:
            return  # healed already, at the end of the faulty phase
        position = self._partition_index.index(item.index)
        partition = self.network.partitions.pop(position)
        del self._partition_index[position]
        self._log_partition(False, item.index, partition, item.cause)

    def _log_partition(self, start: bool, index: int | str, partition: Partition,
                       cause: str) -> None:
        """One ``partition`` or ``heal`` event; scripted ones carry no ``cause``."""
        self.record({"t": self.env.now, "ev": "partition" if start else "heal", "index": index}
                    | ({} if cause == "scripted" else {"cause": cause})
                    | {"groups": partition.groups, "oneway": partition.oneway})

    def _heal_all(self) -> None:
        """The heal phase: heal every partition, restart every crashed node, and have
        each request made so far sent again (random faults were drawn to stop here)."""
        now = self.env.now
        self.record({"t": now, "ev": "healed"})
        for index, partition in zip(self._partition_index, self.network.partitions,
                                    strict=True):
            self._log_partition(False, index, partition, "phase")
        self._partition_index.clear()
        self.network.partitions.clear()
        for node_id, host in self.hosts.items():
            if not host.up:
                self._recover(node_id, "phase")
        for request in self._requested:
            self.record({"t": now, "ev": "client_retry", "node": request.node,
                         "value": request.value})
            self._hand_request(request)

    def run(self) -> RunOutput:
        for host in self.hosts.values():
            host.boot()
        self.schedule_inputs()
        self.env.run(until=self.scenario.horizon)
        return RunOutput(lines=self.lines, schedule=self.schedule)


def simulate(scenario: Scenario, seed: int | None = None, schedule: Schedule | None = None,
             overrides: Iterable[Override] = ()) -> RunOutput:
    """Run ``scenario`` once with ``seed`` (default: the scenario's own seed), executing
    ``schedule`` (default: drawn from the scenario and the seed) and ``overrides``."""
    seed = scenario.seed if seed is None else seed
    return Simulation(scenario, seed, schedule, overrides).run()
