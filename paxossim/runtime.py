"""Binds sans-IO protocol nodes to a simpy event loop: delivery, timers, crashes.

This is the only module that touches simpy. Deliveries and timers are plain
``Timeout`` events with a callback (not a process per message): DESIGN.md
section 5 measured that as 3x faster. Each event is encoded once, as it
happens, into an :class:`~paxossim.eventstream.EventStream` that writes it
and feeds the online checks; no event is kept here.

Every event carries the position of its cause (see :mod:`paxossim.events`):
the runtime knows what it is doing when a node acts — handling a delivery,
a timer, or an input — and stamps what the node does with it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import simpy
from simpy.events import Timeout

from paxossim import protocols
from paxossim.eventstream import EventStream
from paxossim.faults import RandomFaults
from paxossim.network import Network
from paxossim.protocols.base import Message, Node
from paxossim.rng import Stream, Streams
from paxossim.scenario import ClockSpec, Partition, Request, Scenario
from paxossim.snapshot import NodeSnapshot, snapshot

_dumps = orjson.dumps


class Storage(dict[str, Any]):
    """A node's durable storage; each top-level write is logged (``store`` events).

    Why only top-level keys: protocols also mutate structures held under a
    key (a replica's log) in place, which a dict cannot see; the key names
    what a node persisted, and the node's snapshot holds the values.
    """

    __slots__ = ("_log",)

    def __init__(self, log: Callable[[str], None] | None) -> None:
        super().__init__()
        self._log = log

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        if self._log is not None:
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
    """One node's place in the simulation; the :class:`Context` its protocol uses."""

    def __init__(self, sim: Simulation, node_id: str) -> None:
        self.sim = sim
        self.node_id = node_id
        self.variant = sim.scenario.variant_of(node_id)
        self._rng: Stream | None = None
        log = sim.scenario.log
        self.storage = Storage(self._log_store if log.storage else None)
        self.up = True
        self.node: Node | None = None
        self._timers: dict[str, _Armed] = {}
        self._clock = sim.scenario.clocks.get(node_id, ClockSpec())
        self._log_timers = log.timers
        self.down_cause: object = None
        """What crashed this node (a random fault's token, or "scripted")."""

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
        token = _Armed(self.sim.env.now + delay)
        self._timers[name] = token
        sim = self.sim
        origin = sim.record({"t": sim.env.now, "ev": "timer_set", "node": self.node_id,
                             "name": name, "delay": delay}) if self._log_timers else sim.cause
        Timeout(sim.env, delay, (name, token, origin)).callbacks.append(self._fire)

    def cancel_timer(self, name: str) -> None:
        if self._timers.pop(name, None) is not None and self._log_timers:
            self.sim.record({"t": self.sim.env.now, "ev": "timer_cancel", "node": self.node_id,
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
        sim.cause = origin
        sim.cause = sim.record({"t": sim.env.now, "ev": "timer", "node": self.node_id,
                                "name": name})
        self.node.on_timer(name)

    def emit(self, kind: str, **fields: Any) -> None:
        sim = self.sim
        full = sim.prefix + kind
        declared = sim.event_kinds.get(full)
        assert declared is not None, f"{self.node_id} emitted undeclared event {kind!r}"
        assert fields.keys() <= declared.field_set, \
            f"{self.node_id} emitted {kind!r} with undeclared fields " \
            f"{sorted(fields.keys() - declared.field_set)}"
        sim.record({"t": sim.env.now, "ev": full, "node": self.node_id, **fields})

    def _log_store(self, key: str) -> None:
        self.sim.record({"t": self.sim.env.now, "ev": "store", "node": self.node_id,
                         "key": key})

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


class Simulation:
    def __init__(self, scenario: Scenario, seed: int, stream: EventStream | None = None) -> None:
        """``stream``: where events go (default: counted and hashed, then forgotten)."""
        self.scenario = scenario
        self.seed = seed
        self.protocol = protocols.get(scenario.protocol)
        self.prefix = f"{self.protocol.name}."
        self.event_kinds = self.protocol.event_kinds()
        self.env = simpy.Environment()
        self.streams = Streams(seed)
        self.network = Network(scenario.network, self.streams)
        self.stream = stream if stream is not None else EventStream(None)
        self.cause: int | None = None
        """Position of the event whose handling is under way (stamped on what follows)."""
        self.hosts = {name: Host(self, name) for name in scenario.nodes}
        self._next_message = 0
        self._partition_index: list[int | str] = []
        """The log's ``index`` of each active partition, aligned with network.partitions:
        a scripted partition's position in the scenario, ``random-<k>`` for random ones."""
        self._random_partitions = 0
        faults = scenario.faults
        self.random_faults = RandomFaults(
            faults.random_crashes, faults.random_partitions, list(scenario.nodes),
            self.streams, self,
        )

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
    def send(self, src: str, dst: str, msg: Message) -> None:
        env = self.env
        now = env.now
        mid = self._next_message = self._next_message + 1
        kind = msg.TYPE
        sent = self.record({"t": now, "ev": "send", "m": mid, "src": src, "dst": dst,
                            "type": kind, "msg": msg})
        if dst not in self.hosts:
            self._drop(now, mid, "no such node", sent)
            return
        reason, times = self.network.fate(src, dst, kind, now)
        if reason is not None:
            self._drop(now, mid, reason, sent)
            return
        Timeout(env, times[0] - now, (mid, src, dst, msg, sent)).callbacks.append(self._deliver)
        for time in times[1:]:
            copy = self._next_message = self._next_message + 1
            duplicate = self.stream.write("duplicate", _dumps(
                {"t": now, "ev": "duplicate", "m": copy, "of": mid, "cause": sent}))
            Timeout(env, time - now, (copy, src, dst, msg, duplicate)).callbacks.append(
                self._deliver)

    def _drop(self, now: float, mid: int, why: str, sent: int) -> None:
        self.stream.write("drop", _dumps({"t": now, "ev": "drop", "m": mid, "why": why,
                                          "cause": sent}))

    def _deliver(self, event: Timeout) -> None:
        mid, src, dst, msg, sent = event.value
        node = self.hosts[dst].node
        if node is None:
            self._drop(self.env.now, mid, "crashed", sent)
            return
        self.cause = self.stream.write("deliver", _dumps(
            {"t": self.env.now, "ev": "deliver", "m": mid, "cause": sent}))
        node.on_message(src, msg)

    # -- inputs --------------------------------------------------------------
    def _at(self, time: float, action: Callable[[], None]) -> None:
        def run(_event: Timeout) -> None:
            self.cause = None  # an input starts a causal chain of its own
            action()

        Timeout(self.env, time, None).callbacks.append(run)

    def _request(self, request: Request) -> None:
        self.cause = self.record({"t": self.env.now, "ev": "request", "node": request.node,
                                  "value": request.value}
                                 | ({"extra": request.extra} if request.extra else {}))
        self._hand_request(request)

    def _hand_request(self, request: Request) -> None:
        """A client's request reaches its node, or is lost if the node is down."""
        host = self.hosts[request.node]
        if host.node is None:
            self.record({"t": self.env.now, "ev": "request_lost", "node": request.node,
                         "value": request.value})
            return
        host.node.on_message("client", self.protocol.client_request(request.value,
                                                                    request.extra))

    def _crash(self, node_id: str, origin: object = "scripted") -> None:
        host = self.hosts[node_id]
        if not host.up:
            if origin == "scripted":
                # Down already (a random crash got there first): the script now
                # owns the outage, so only its own recovery ends it.
                host.down_cause = origin
            return
        host.crash()
        host.down_cause = origin
        self.record({"t": self.env.now, "ev": "crash", "node": node_id}
                    | ({} if origin == "scripted" else {"origin": "random"}))

    def _recover(self, node_id: str, why: str = "") -> None:
        host = self.hosts[node_id]
        if host.up:
            return  # already recovered (by the heal, or by another fault's recovery)
        host.down_cause = None
        if self.scenario.faults.amnesia:
            dict.clear(host.storage)
        self.cause = self.record(
            {"t": self.env.now, "ev": "recover", "node": node_id,
             "amnesia": self.scenario.faults.amnesia} | ({"origin": why} if why else {}))
        host.boot()

    def _partition(self, index: int, start: bool) -> None:
        partition = self.scenario.faults.partitions[index]
        if start:
            self.network.partitions.append(partition)
            self._partition_index.append(index)
        elif self._remove_partition(partition) is None:
            return  # healed already, at the end of the faulty phase
        self._log_partition(start, index, partition)

    def _log_partition(self, start: bool, index: int | str | None, partition: Partition,
                       origin: str = "") -> None:
        """One ``partition`` or ``heal`` event; scripted ones carry no ``origin``."""
        self.record({"t": self.env.now, "ev": "partition" if start else "heal", "index": index}
                    | ({"origin": origin} if origin else {})
                    | {"groups": partition.groups, "oneway": partition.oneway})

    def _remove_partition(self, partition: Partition) -> int | str | None:
        """Remove this very partition object (equal scripted ones may be active too);
        return its log index, or None if it was not active."""
        for position, active in enumerate(self.network.partitions):
            if active is partition:
                del self.network.partitions[position]
                return self._partition_index.pop(position)
        return None

    # -- random faults (the FaultDriver that paxossim.faults drives) -------
    def at(self, time: float, action: Any) -> None:
        if time < self.scenario.horizon:
            self._at(time - self.env.now, action)

    def is_down(self, node: str) -> bool:
        return not self.hosts[node].up

    def down_count(self) -> int:
        return sum(not host.up for host in self.hosts.values())

    def crash(self, node: str, token: object) -> None:
        self._crash(node, token)

    def recover(self, node: str, token: object) -> None:
        host = self.hosts[node]
        if not host.up and host.down_cause is token:
            self._recover(node, "random")

    def split(self, groups: tuple[tuple[str, ...], ...]) -> object:
        partition = Partition(at=self.env.now, heal=None, groups=groups)
        self._random_partitions += 1
        index = f"random-{self._random_partitions}"
        self.network.partitions.append(partition)
        self._partition_index.append(index)
        self._log_partition(True, index, partition, "random")
        return partition

    def join(self, handle: object) -> None:
        assert isinstance(handle, Partition)
        index = self._remove_partition(handle)
        if index is not None:
            self._log_partition(False, index, handle, "random")

    # -- the end of the faulty phase ----------------------------------------
    def _heal_all(self) -> None:
        """Stop random faults, heal every partition, restart every crashed node,
        and have each client whose request has come re-send it."""
        now = self.env.now
        self.random_faults.stop()
        healed = self.cause = self.record({"t": now, "ev": "healed"})
        for partition in list(self.network.partitions):
            self._log_partition(False, self._remove_partition(partition), partition, "phase")
        for node_id, host in self.hosts.items():
            if not host.up:
                self._recover(node_id, "phase")
                self.cause = healed
        for request in self.scenario.requests:
            if request.at <= now:
                self.cause = healed
                self.cause = self.record({"t": now, "ev": "client_retry",
                                          "node": request.node, "value": request.value})
                self._hand_request(request)

    def schedule_inputs(self) -> None:
        scenario = self.scenario
        for index, partition in enumerate(scenario.faults.partitions):
            self._at(partition.at, lambda i=index: self._partition(i, True))
            if partition.heal is not None:
                self._at(partition.heal, lambda i=index: self._partition(i, False))
        for crash in scenario.faults.crashes:
            self._at(crash.at, lambda n=crash.node: self._crash(n))
            if crash.recover is not None:
                self._at(crash.recover, lambda n=crash.node: self._recover(n))
        for request in scenario.requests:
            self._at(request.at, lambda r=request: self._request(r))
        if scenario.liveness.heal_at is not None:
            self._at(scenario.liveness.heal_at, self._heal_all)

    def start(self) -> None:
        """Boot every node and schedule the inputs: the run at time 0."""
        for host in self.hosts.values():
            host.boot()
        self.cause = None
        self.schedule_inputs()
        self.random_faults.start()

    def run(self, until: float | None = None) -> None:
        """Start, and run to ``until`` (default: the horizon)."""
        self.start()
        self.env.run(until=self.scenario.horizon if until is None else until)
