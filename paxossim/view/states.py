"""Each node's visible state through a run, recorded by re-simulating it from its log.

Why re-simulate: the log holds what nodes did, not what they held. The header
holds the scenario, the seed and the input schedule, so running it again gives
the same events; while it runs, we ask the protocol what each node shows
(:meth:`Protocol.visible_state`) and keep only the changes. Every re-simulated
line is compared with the file's: states are only offered for a run that
re-simulated identically (another paxossim version may not).

Only the node that is acting can change between two event lines (the runtime
runs one handler at a time), so after each event we look at the node the event
concerns (the sender of a ``send``, the receiver of a ``deliver``, the ``node``
of anything else) and at the node acting just before it, not at every node.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from paxossim.labels import ballot_label
from paxossim.log.files import LogHead, event_lines
from paxossim.log.stream import EventStream
from paxossim.protocols.contract import Protocol
from paxossim.scenario.model import scenario_from_dict
from paxossim.scenario.schedule import Schedule
from paxossim.sim.runtime import Simulation

DOWN = "down"
"""What the node panel shows for a crashed node."""


def shown(value: Any, nodes: frozenset[str], ballot_format: str) -> Any:
    """A state value as plain JSON for people: ballots ``(number, node)`` written as
    the diagrams write them, sets sorted, everything else as it is."""
    if isinstance(value, (tuple, list)):
        if (len(value) == 2 and isinstance(value[0], int) and not isinstance(value[0], bool)
                and value[1] in nodes):
            return ballot_label(tuple(value), ballot_format)
        return [shown(item, nodes, ballot_format) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((shown(item, nodes, ballot_format) for item in value), key=str)
    if isinstance(value, dict):
        return {str(key): shown(item, nodes, ballot_format) for key, item in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _plain(value: Any) -> Any:
    """orjson's fallback for what it cannot encode: sets (sorted), anything else as text."""
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    return repr(value)


@dataclass
class StateTrack:
    """Per node, the event positions after which its visible state changed, and the
    state then (an index into ``texts``); position -1 is the state at the start."""

    changes: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    texts: list[str] = field(default_factory=list)
    problem: str | None = None
    """Why there are no states (the run did not re-simulate identically)."""


class _Recorder:
    """The re-simulation's sink: compares each line with the log's and records the
    visible state of the nodes that may have changed since the line before."""

    def __init__(self, logged: Iterator[bytes], protocol: Protocol, nodes: list[str],
                 ballot_format: str) -> None:
        self.logged = logged
        self.protocol = protocol
        self.names = frozenset(nodes)
        self.ballot_format = ballot_format
        self.simulation: Simulation | None = None
        self.track = StateTrack({name: [] for name in nodes})
        self._interned: dict[str, int] = {}
        self._last: dict[str, int] = {}
        self._raw: dict[str, bytes] = {}
        """Each node's last visible state as encoded raw, to skip an unchanged one cheaply."""
        self._dst: dict[int, str] = {}
        self._acting: str | None = None
        self.count = 0
        self.differs_at: int | None = None
        self.started = False
        """Whether every node has booted (states are recorded from then on)."""

    def state_text(self, value: Any) -> int:
        text = orjson.dumps(shown(value, self.names, self.ballot_format),
                            option=orjson.OPT_SORT_KEYS).decode()
        index = self._interned.get(text)
        if index is None:
            index = self._interned[text] = len(self.track.texts)
            self.track.texts.append(text)
        return index

    def look(self, name: str | None, position: int) -> None:
        """Record ``name``'s state as it is after event ``position`` if it changed."""
        if name is None or name not in self.names:
            return
        assert self.simulation is not None
        node = self.simulation.hosts[name].node
        value = DOWN if node is None else self.protocol.visible_state(node)
        raw = orjson.dumps(value, default=_plain,
                           option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
        if self._raw.get(name) == raw:
            return
        self._raw[name] = raw
        index = self.state_text(value)
        if self._last.get(name) != index:
            self._last[name] = index
            self.track.changes[name].append((position, index))

    def concerns(self, event: dict[str, Any]) -> str | None:
        kind = event["ev"]
        if kind == "send":
            self._dst[event["m"]] = event["dst"]
            return event["src"]
        if kind == "duplicate":
            self._dst[event["m"]] = self._dst.get(event["of"], "")
            return None
        if kind == "deliver":
            return self._dst.get(event["m"])
        return event.get("node")

    def write(self, block: bytes) -> None:
        line = block[:-1]
        if self.differs_at is None and next(self.logged, None) != line:
            self.differs_at = self.count + 2  # the header is line 1
        position = self.count
        self.count += 1
        event = orjson.loads(line)
        node = self.concerns(event)
        if self.started:
            self.look(self._acting, position - 1)
            # a crash empties the node before its line is written
            if node != self._acting and event["ev"] != "crash":
                self.look(node, position - 1)
        if node is not None:
            self._acting = node

    def booted(self) -> None:
        """Every node has started: their states now are the run's first (position -1),
        shown from its first event on, the boot's own events included."""
        self.started = True
        for name in sorted(self.names):
            self.look(name, -1)

    def finish(self) -> None:
        if self.differs_at is None and next(self.logged, None) is not None:
            self.differs_at = self.count + 2
        for name in sorted(self.names):
            self.look(name, self.count - 1)


class _Observed(Simulation):
    """The run as :meth:`Simulation.run` makes it (limits and all), telling the
    recorder when every node has booted."""

    def __init__(self, recorder: _Recorder, *args: Any) -> None:
        super().__init__(*args)
        self.recorder = recorder
        recorder.simulation = self

    def start(self) -> None:
        super().start()
        self.recorder.booted()


def record_states(head: LogHead, protocol: Protocol) -> StateTrack:
    """Re-simulate ``head``'s run and return its nodes' visible states over time."""
    header = head.header
    scenario = scenario_from_dict(header["scenario"], f"{head.path}: header scenario")
    raw = header.get("schedule")
    schedule = None if raw is None else Schedule.from_data(raw, f"{head.path}: header schedule")
    nodes = list(header["scenario"]["nodes"])
    recorder = _Recorder(event_lines(head.path), protocol, nodes,
                         str(header["scenario"].get("ballot_format", "number")))
    stream = EventStream(None)
    simulation = _Observed(recorder, scenario, header["seed"], stream, schedule)
    stream.out = recorder
    simulation.run()
    recorder.finish()
    if recorder.differs_at is not None:
        return StateTrack({}, [], f"node states left out: re-simulating the run differs from "
                          f"the log at line {recorder.differs_at}")
    return recorder.track
