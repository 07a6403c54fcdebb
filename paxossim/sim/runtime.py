"""Binds sans-IO protocol nodes to a simpy event loop: delivery, timers, crashes.

A run executes an input schedule (:mod:`paxossim.scenario.schedule`): every request,
crash, recovery, partition and heal comes from it, through
:meth:`Simulation._run_item`. This is the only module that touches simpy.
Deliveries and timers are plain ``Timeout`` events with a callback (not a
process per message): DESIGN.md section 5 measured that as 3x faster. Each
event is encoded once, as it happens, into an
:class:`~paxossim.log.stream.EventStream` that writes it and feeds the
online checks; no event is kept here.

Every event carries the position of its cause (see :mod:`paxossim.sim.events`):
the runtime knows what it is doing when a node acts — handling a delivery,
a timer, or an input — and stamps what the node does with it.

Twins (:mod:`paxossim.scenario.twins`) make a node two hosts, each a full copy
with its own storage, timers and random stream (``node:r1#2``), both acting as
the node: their events carry ``node`` = the node and, for the second copy,
``copy``; a message to a twinned node is sent once per copy the phase routes it
to (``dst_copy``), and one from the second copy says so (``src_copy``). Inputs
(requests, crashes, recoveries) reach every copy of the node they name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import orjson
import simpy
from simpy.events import Timeout

from paxossim import protocols
from paxossim.errors import UserError
from paxossim.log.stream import EventStream
from paxossim.protocols.base import Message, Node
from paxossim.rng import Stream, Streams
from paxossim.scenario import schedule as inputs
from paxossim.scenario.model import ClockSpec, Partition, Scenario
from paxossim.scenario.schedule import Override, Schedule
from paxossim.sim.network import Network
from paxossim.sim.snapshot import NodeSnapshot, snapshot
from paxossim.sim.twins import TwinRoutes

_dumps = orjson.dumps
PROGRESS_STEPS = 100


class Storage(dict[str, Any]):
    """A node's durable storage; each top-level write is logged (``store`` events).

    Why only top-level keys: protocols also mutate structures held under a
    key (a replica's log) in place, which a dict cannot see; the key names
    what a node persisted, and the node's snapshot holds the values.
    """

    __slots__ = ("_log",)

    def __init__(self, log: Callable[[str], None]) -> None:
        super().__init__()
        self._log = log

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self._log(key)

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]


class _Armed:
    """A timer's arming: its identity tells a stale Timeout from the live one,
    and it knows when it is due (for :meth:`Host.pending_timers`)."""

    __slots__ = ("due",)

    def __init__(self, due: float) -> None:
        self.due = due


class Host:
    """One node's place in the simulation; the :class:`Context` its protocol uses.

    ``name`` is the instance: the node itself, or a twinned node's second copy.
    """

    def __init__(self, sim: Simulation, node_id: str, name: str | None = None) -> None:
        self.sim = sim
        self.node_id = node_id
        self.name = node_id if name is None else name
        self._copy: dict[str, str] = {} if self.name == node_id else {"copy": self.name}
        """Stamped on this host's events: a second copy's name, else nothing."""
        self.variant = sim.scenario.variant_of(node_id)
        self._rng: Stream | None = None
        log = sim.scenario.log
        # A plain dict when writes are not logged: Storage's Python-level
        # __setitem__ would slow every durable write for nothing.
        self.storage: dict[str, Any] = Storage(self._log_store) if log.storage else {}
        self.up = True
        self.node: Node | None = None
        self._timers: dict[str, _Armed] = {}
        self._clock = sim.scenario.clocks.get(node_id, ClockSpec())
        self._log_timers = log.timers
        self.down_cause: str | None = None
        """What keeps this node down: "scripted" or "random" (None while up)."""

    @property
    def rng(self) -> Stream:
        """The node's own stream, opened on first use (most nodes never draw)."""
        if self._rng is None:
            self._rng = self.sim.streams.stream(f"node:{self.name}")
        return self._rng

    @property
    def now(self) -> float:
        return self.sim.env.now

    @property
    def clock(self) -> float:
        """This node's own clock: ``[clocks.<node>]`` offset and drift applied."""
        return self._clock.read(self.sim.env.now)

    def send(self, dst: str, msg: Message) -> None:
        sim = self.sim
        if sim.twins is None:  # straight to the network: no routing on the hot path
            sim.transmit(self.node_id, self.node_id, dst, dst, msg, None)
        else:
            sim.send_twinned(self.name, self.node_id, dst, msg)

    def set_timer(self, name: str, delay: float) -> None:
        token = _Armed(self.sim.env.now + delay)
        self._timers[name] = token
        sim = self.sim
        origin = sim.record({"t": sim.env.now, "ev": "timer_set", "node": self.node_id,
                             **self._copy,
                             "name": name, "delay": delay}) if self._log_timers else sim.cause
        Timeout(sim.env, delay, (name, token, origin)).callbacks.append(self._fire)

    def cancel_timer(self, name: str) -> None:
        if self._timers.pop(name, None) is not None and self._log_timers:
            self.sim.record({"t": self.sim.env.now, "ev": "timer_cancel", "node": self.node_id,
                             **self._copy,
                             "name": name})

    def pending_timers(self) -> dict[str, float]:
        """Armed timers as name -> delay still to run (what a node snapshot records)."""
        now = self.sim.env.now
        return {name: token.due - now for name, token in self._timers.items()}

    def _fire(self, event: Timeout) -> None:
        name, token, origin = event.value
        if self._timers.get(name) is not token or self.node is None:
            return  # cancelled, re-armed, or the node crashed since
        del self._timers[name]
        sim = self.sim
        sim.timers_fired += 1
        if sim.timers_fired > sim.limits.timers or sim.stream.size > sim.limits.events:
            sim._over_limit()
        sim.cause = origin
        sim.cause = sim.record({"t": sim.env.now, "ev": "timer", "node": self.node_id,
                                **self._copy, "name": name})
        self.node.on_timer(name)

    def emit(self, kind: str, **fields: Any) -> None:
        sim = self.sim
        full = sim.prefix + kind
        declared = sim.event_kinds.get(full)
        assert declared is not None, f"{self.node_id} emitted undeclared event {kind!r}"
        assert fields.keys() <= declared.field_set, \
            f"{self.node_id} emitted {kind!r} with undeclared fields " \
            f"{sorted(fields.keys() - declared.field_set)}"
        sim.record({"t": sim.env.now, "ev": full, "node": self.node_id, **self._copy,
                    **fields})

    def _log_store(self, key: str) -> None:
        self.sim.record({"t": self.sim.env.now, "ev": "store", "node": self.node_id,
                         **self._copy, "key": key})

    # -- lifecycle ---------------------------------------------------------
    def boot(self) -> None:
        self.up = True
        self.node = self.sim.protocol.make_node(self.node_id, self.sim.scenario, self,
                                                self.variant)
        self.node.on_start()

    def crash(self) -> None:
        self.up = False
        self.node = None
        self._timers.clear()


class RunLimitReached(Exception):
    """A run passed one of its scenario's ``[limits]``: the simulation stops here."""

    def __init__(self, limit: str, value: int, at: float) -> None:
        super().__init__(f"{limit} limit {value} reached at t={at:g}")
        self.limit, self.value, self.at = limit, value, at


class Simulation:
    """One run: the scenario's nodes on a simulated network, fed by an input schedule.

    ``schedule`` None draws it from the scenario and ``seed``
    (:func:`paxossim.scenario.schedule.draw_schedule`); ``overrides`` are added to the
    schedule's own per-message overrides. ``self.schedule`` is what runs, and
    what the log's header must hold to replay the run. ``stream`` is where
    the events go (default: counted and hashed, then forgotten).
    """

    def __init__(self, scenario: Scenario, seed: int, stream: EventStream | None = None,
                 schedule: Schedule | None = None, overrides: Iterable[Override] = ()) -> None:
        self.scenario = scenario
        self.seed = seed
        if schedule is None:
            schedule = scenario.schedule or inputs.draw_schedule(scenario, seed)
        else:
            schedule.check(scenario)
        overrides = tuple(overrides)
        self.schedule = schedule.with_overrides(overrides) if overrides else schedule
        self._overrides = {override.m: override for override in self.schedule.overrides}
        self.protocol = protocols.get(scenario.protocol)
        self.prefix = f"{self.protocol.name}."
        self.event_kinds = self.protocol.event_kinds()
        self.env = simpy.Environment()
        self.streams = Streams(seed)
        self.twins = TwinRoutes(scenario.twins) if scenario.twins.nodes else None
        self.network = Network(scenario.network, self.streams,
                               self.twins.identity if self.twins else None)
        self.stream = stream if stream is not None else EventStream(None)
        self.cause: int | None = None
        """Position of the event whose handling is under way (stamped on what follows)."""
        self.copies = {name: [Host(self, name)] for name in scenario.nodes}
        """Node -> its hosts: one, or two for a twinned node."""
        for node, (_, second) in (self.twins.copies.items() if self.twins else ()):
            self.copies[node].append(Host(self, node, second))
        self.hosts = {host.name: host for hosts in self.copies.values() for host in hosts}
        """Instance -> host (a twin's second copy under its own name)."""
        self._next_message = 0
        self._partition_index: list[int | str] = []
        """The log's ``index`` of each active partition, aligned with network.partitions."""
        self._requested: list[inputs.Request] = []
        """The requests made so far, which the heal phase has sent again."""
        self.limits = scenario.limits
        self.in_flight = 0
        """Deliveries scheduled and not yet made (copies included)."""
        self.timers_fired = 0
        self.stopped: dict[str, Any] | None = None
        """Set when a ``[limits]`` entry stopped the run: which, its value, when."""

    def record(self, event: dict[str, Any]) -> int:
        """Log ``event`` (stamped with the current cause); return its position."""
        if self.cause is not None:
            event["cause"] = self.cause
        return self.stream.write(event["ev"], _dumps(event))

    def snapshot_nodes(self) -> dict[str, NodeSnapshot]:
        """Every node's state now (a crashed one: its storage and stream), e.g. to
        hash the nodes' part of a run's state at a time T. Messages in flight
        and scheduled inputs are not part of it."""
        return {name: snapshot(host, host.node) for name, host in self.hosts.items()}

    # -- messages ----------------------------------------------------------
    def send_twinned(self, at: str, src: str, dst: str, msg: Message) -> None:
        """One ``send`` per copy of ``dst`` the phase lets ``at`` reach; if it
        reaches none, the message is sent once and dropped (``twins``)."""
        assert self.twins is not None
        targets = self.twins.targets(at, dst)
        tag = {"src_copy": at} if at != src else {}
        for target in targets or [dst]:
            self.transmit(at, src, dst, target, msg,
                           tag | {"dst_copy": target} if target != dst else tag,
                           cut=not targets)

    def transmit(self, at: str, src: str, dst: str, to: str, msg: Message,
                  copies: dict[str, str] | None, cut: bool = False) -> None:
        """Send ``msg`` from node ``src`` (instance ``at``) to node ``dst`` (instance
        ``to``): log it, draw its fate, schedule its delivery. ``copies`` names the
        instances in the log when they are twins' copies; ``cut``: twins drop it."""
        env = self.env
        now = env.now
        mid = self._next_message = self._next_message + 1
        kind = msg.TYPE
        event = {"t": now, "ev": "send", "m": mid, "src": src, "dst": dst, "type": kind,
                 "msg": msg}
        if copies:
            event.update(copies)
        sent = self.record(event)
        if to not in self.hosts or cut:
            self._drop(now, mid, "twins" if cut else "no such node", sent)
            return
        # The fate is drawn even for an overridden message, so no other draw shifts.
        reason, times = self.network.fate(at, to, kind, now)
        if self._overrides:
            self._overridden(mid, src, to, msg, now, reason, times, sent)
            return
        if reason is not None:
            self._drop(now, mid, reason, sent)
            return
        self.in_flight += len(times)
        if self.in_flight > self.limits.in_flight or self.stream.size > self.limits.events:
            self._over_limit()
        Timeout(env, times[0] - now, (mid, src, to, msg, sent)).callbacks.append(self._deliver)
        for time in times[1:]:
            copy = self._next_message = self._next_message + 1
            duplicate = self._duplicate(now, copy, mid, sent)
            Timeout(env, time - now, (copy, src, to, msg, duplicate)).callbacks.append(
                self._deliver)

    def _overridden(self, mid: int, src: str, dst: str, msg: Message, now: float,
                    reason: str | None, times: list[float], sent: int) -> None:
        """:meth:`send` with per-message overrides: the network's fate (drop reason or
        delivery times, copies numbered as ever), then each override that matches."""
        copies = [(mid, times[0] if times else None)]
        for time in times[1:]:
            copy = self._next_message = self._next_message + 1
            copies.append((copy, time))
        for index, (message, time) in enumerate(copies):
            origin = self._duplicate(now, message, mid, sent) if index else sent
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
                assert reason is not None, "a message without a delivery time has a drop reason"
                self._drop(now, message, reason, origin)
                continue
            self.in_flight += 1
            Timeout(self.env, time - now, (message, src, dst, msg, origin)).callbacks.append(
                self._deliver)

    def _duplicate(self, now: float, copy: int, of: int, sent: int) -> int:
        return self.stream.write("duplicate", _dumps(
            {"t": now, "ev": "duplicate", "m": copy, "of": of, "cause": sent}))

    def _drop(self, now: float, mid: int, why: str, sent: int) -> None:
        self.stream.write("drop", _dumps({"t": now, "ev": "drop", "m": mid, "why": why,
                                          "cause": sent}))

    def _over_limit(self) -> None:
        limits, now = self.limits, self.env.now
        if self.in_flight > limits.in_flight:
            raise RunLimitReached("in_flight", limits.in_flight, now)
        if self.stream.size > limits.events:
            raise RunLimitReached("events", limits.events, now)
        raise RunLimitReached("timers", limits.timers, now)

    def _deliver(self, event: Timeout) -> None:
        mid, src, dst, msg, sent = event.value
        self.in_flight -= 1
        node = self.hosts[dst].node
        if node is None:
            self._drop(self.env.now, mid, "crashed", sent)
            return
        self.cause = self.stream.write("deliver", _dumps(
            {"t": self.env.now, "ev": "deliver", "m": mid, "cause": sent}))
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
        self.cause = None  # an input starts a causal chain of its own
        self._run_item(index, self.schedule.items[index])

    def _run_item(self, index: int, item: inputs.Item) -> None:
        """Carry out schedule item ``index``: the one door through which inputs enter."""
        match item:
            case inputs.Request():
                self._request(item)
            case inputs.Crash():
                self._crash(item.node, item.origin)
            case inputs.Recover():
                self._recover(item.node, item.origin)
            case inputs.Partition():
                self._partition(item)
            case inputs.Heal():
                self._heal(item)
            case inputs.HealPhase():
                self._heal_all()
            case inputs.TwinPhase():
                self._twin_phase(item.index, item.routes)

    def _request(self, item: inputs.Request) -> None:
        extra = dict(item.extra)
        self.cause = self.record({"t": self.env.now, "ev": "request", "node": item.node,
                                  "value": item.value} | ({"extra": extra} if extra else {}))
        self._requested.append(item)
        self._hand_request(item)

    def _hand_request(self, item: inputs.Request) -> None:
        """A client's request reaches its node (each copy of it), or is lost if it is down."""
        hosts = self.copies[item.node]
        if hosts[0].node is None:
            self.record({"t": self.env.now, "ev": "request_lost", "node": item.node,
                         "value": item.value})
            return
        for host in hosts:
            assert host.node is not None, "a node's copies are up and down together"
            host.node.on_message("client", self.protocol.client_request(item.value,
                                                                        dict(item.extra)))

    def _crash(self, node_id: str, origin: str) -> None:
        """``node_id`` (every copy of it) stops."""
        hosts = self.copies[node_id]
        if not hosts[0].up:
            if origin == "scripted":
                # Down already (a random crash got there first): the script now
                # owns the outage, so only its own recovery ends it.
                for host in hosts:
                    host.down_cause = origin
            return
        for host in hosts:
            host.crash()
            host.down_cause = origin
        self.record({"t": self.env.now, "ev": "crash", "node": node_id}
                    | ({} if origin == "scripted" else {"origin": origin}))

    def _recover(self, node_id: str, origin: str) -> None:
        """Restart a down node; a random recovery only ends a random crash's outage."""
        hosts = self.copies[node_id]
        if hosts[0].up or (origin == "random" and hosts[0].down_cause != "random"):
            return  # up already (healed, or recovered by another item), or not its outage
        for host in hosts:
            host.down_cause = None
            if self.scenario.faults.amnesia:
                dict.clear(host.storage)
        self.cause = recovered = self.record(
            {"t": self.env.now, "ev": "recover", "node": node_id,
             "amnesia": self.scenario.faults.amnesia}
            | ({} if origin == "scripted" else {"origin": origin}))
        for host in hosts:
            self.cause = recovered
            host.boot()

    def _partition(self, item: inputs.Partition) -> None:
        partition = Partition(at=item.at, heal=None, groups=item.groups, oneway=item.oneway)
        self.network.partitions.append(partition)
        self._partition_index.append(item.index)
        self._log_partition(True, item.index, partition, item.origin)

    def _heal(self, item: inputs.Heal) -> None:
        if item.index not in self._partition_index:
            return  # healed already, at the end of the faulty phase
        position = self._partition_index.index(item.index)
        partition = self.network.partitions.pop(position)
        del self._partition_index[position]
        self._log_partition(False, item.index, partition, item.origin)

    def _log_partition(self, start: bool, index: int | str, partition: Partition,
                       origin: str) -> None:
        """One ``partition`` or ``heal`` event; scripted ones carry no ``origin``."""
        self.record({"t": self.env.now, "ev": "partition" if start else "heal", "index": index}
                    | ({} if origin == "scripted" else {"origin": origin})
                    | {"groups": partition.groups, "oneway": partition.oneway})

    def _heal_all(self) -> None:
        """The heal phase: heal every partition, restart every crashed node, and have
        each request made so far sent again (random faults were drawn to stop here)."""
        now = self.env.now
        healed = self.cause = self.record({"t": now, "ev": "healed"})
        for index, partition in zip(self._partition_index, self.network.partitions,
                                    strict=True):
            self._log_partition(False, index, partition, "phase")
        self._partition_index.clear()
        self.network.partitions.clear()
        if self.twins is not None and self.twins.routes:
            self._twin_phase("heal", ())
            self.cause = healed
        for node_id, hosts in self.copies.items():
            if not hosts[0].up:
                self._recover(node_id, "phase")
                self.cause = healed
        for request in self._requested:
            self.cause = healed
            self.cause = self.record({"t": now, "ev": "client_retry", "node": request.node,
                                      "value": request.value})
            self._hand_request(request)

    def _twin_phase(self, index: int | str, routes: tuple[tuple[str, ...], ...]) -> None:
        """Route messages among the instances by ``routes`` from now on (``()``: all talk)."""
        assert self.twins is not None, "a twin phase in a run without twins"
        self.twins.set_phase(routes)
        self.record({"t": self.env.now, "ev": "twin_phase", "index": index}
                    | ({"routes": [list(group) for group in routes]} if routes else {}))

    def start(self) -> None:
        """Boot every node and schedule the inputs: the run at time 0."""
        for host in self.hosts.values():
            host.boot()
        self.cause = None
        self.schedule_inputs()

    def run(self, until: float | None = None,
            progress: Callable[[Simulation], None] | None = None) -> None:
        """Start, and run to ``until`` (default: the horizon); ``progress(self)`` is
        called after each hundredth of the way (a progress bar, a benchmark's marks)."""
        self.start()
        end = self.scenario.horizon if until is None else until
        try:
            if progress is None:
                self.env.run(until=end)
                return
            for step in range(1, PROGRESS_STEPS + 1):
                self.env.run(until=end * step / PROGRESS_STEPS)
                progress(self)
        except RunLimitReached as limit:
            # Stop cleanly: the log so far is kept, and its last event says why it ends.
            self.stopped = {"limit": limit.limit, "value": limit.value, "t": limit.at}
            self.record({"t": limit.at, "ev": "stopped", "limit": limit.limit,
                         "value": limit.value})

    def close(self) -> None:
        """Let go of a finished run's object graph, so that reference counting frees
        it at once.

        Why: the run is a web of cycles (hosts and the simulation, each node and
        its context, durable storage and its logging host, pending timeouts and
        their callbacks), so without this each run's ~1,000 objects waited for the
        cyclic collector, whose older generations then traversed the garbage of
        many runs: 15-25 % of the CPU of a sweep of short runs
        (``benchmarks/bench_core.py``). The simulation must not run again after.
        """
        for host in self.hosts.values():
            host.crash()
            host.storage = {}
        self.hosts.clear()
        self.copies.clear()
        self.network.links.clear()
        # simpy has no public way to drop what is still scheduled (timers set
        # past the horizon); its queue is a plain list of pending events.
        self.env._queue.clear()
