"""Random fault schedules: crashes and partitions drawn from named streams.

Scripted faults (``[[faults.crashes]]``, ``[[faults.partitions]]``) say exactly
when things break. Random ones say only how often: each node fails after an
exponential time up (mean ``mean_up``) and is repaired after an exponential
time down (mean ``mean_down``), with at most ``max_down`` nodes down at once;
partitions start after an exponential interval and last an exponential
duration, either isolating one node or splitting a minority from a majority.

Why the schedule is drawn as the run goes rather than up front: the cap on
nodes down at once depends on scripted crashes too, which only the runtime
knows. Every draw comes from its own named stream (``faults:crash:<node>``,
``faults:partition``), so turning on random partitions leaves the crash
times exactly as they were, and adding a node leaves the others' times alone.

This module never imports simpy: the runtime hands it a :class:`FaultDriver`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from paxossim.rng import Stream, Streams
from paxossim.schema import Table

PARTITION_KINDS = ("isolate", "split")


@dataclass(frozen=True)
class RandomCrashes:
    """Each listed node alternates exponential up and down times."""

    nodes: tuple[str, ...]
    mean_up: float = 1000.0
    """Mean time to failure of one node."""
    mean_down: float = 100.0
    """Mean time to repair of one node."""
    max_down: int = 1
    """At most this many nodes are down at once (scripted crashes count too)."""
    start: float = 0.0
    """No random crash before this time."""

    def to_dict(self) -> dict[str, Any]:
        return {"enabled": True, "nodes": list(self.nodes), "mean_up": self.mean_up,
                "mean_down": self.mean_down, "max_down": self.max_down, "start": self.start}


@dataclass(frozen=True)
class RandomPartitions:
    """One random partition at a time: wait an interval, partition, wait, heal."""

    kinds: tuple[str, ...] = PARTITION_KINDS
    mean_interval: float = 1000.0
    """Mean time from one heal (or ``start``) to the next partition."""
    mean_duration: float = 100.0
    start: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"enabled": True, "kinds": list(self.kinds), "mean_interval": self.mean_interval,
                "mean_duration": self.mean_duration, "start": self.start}


# -- validation ---------------------------------------------------------------


def parse_random_crashes(table: Table, nodes: Sequence[str]) -> RandomCrashes | None:
    """``[faults.random_crashes]``; None when absent or ``enabled = false``.

    Every knob has a default, so ``enabled = false`` (as ``explore --swarm``
    writes it) needs no other key.
    """
    if not table.keys():
        table.finish()
        return None
    enabled = table.boolean("enabled", True)
    chosen = _node_list(table, "nodes", nodes)
    defaults = RandomCrashes(nodes=())
    spec = RandomCrashes(
        nodes=chosen,
        mean_up=table.number("mean_up", defaults.mean_up, positive=True),
        mean_down=table.number("mean_down", defaults.mean_down, positive=True),
        max_down=table.integer("max_down", defaults.max_down, minimum=1),
        start=table.number("start", defaults.start, minimum=0),
    )
    if spec.max_down > len(chosen):
        table.fail(f"is {spec.max_down} but only {len(chosen)} node(s) can crash", "max_down")
    table.finish()
    return spec if enabled else None


def parse_random_partitions(table: Table, nodes: Sequence[str]) -> RandomPartitions | None:
    """``[faults.random_partitions]``; None when absent or ``enabled = false``."""
    if not table.keys():
        table.finish()
        return None
    enabled = table.boolean("enabled", True)
    defaults = RandomPartitions()
    kinds = tuple(table.string_list("kinds", list(defaults.kinds)))
    for kind in kinds:
        if kind not in PARTITION_KINDS:
            table.fail(f"unknown kind {kind!r} (kinds: {', '.join(PARTITION_KINDS)})", "kinds")
    if not kinds:
        table.fail(f"needs at least one kind ({', '.join(PARTITION_KINDS)})", "kinds")
    if len(nodes) < 2:
        table.fail("a partition needs at least two nodes")
    spec = RandomPartitions(
        kinds=tuple(dict.fromkeys(kinds)),
        mean_interval=table.number("mean_interval", defaults.mean_interval, positive=True),
        mean_duration=table.number("mean_duration", defaults.mean_duration, positive=True),
        start=table.number("start", defaults.start, minimum=0),
    )
    table.finish()
    return spec if enabled else None


def _node_list(table: Table, key: str, nodes: Sequence[str]) -> tuple[str, ...]:
    chosen = table.string_list(key, list(nodes))
    for name in chosen:
        if name not in nodes:
            table.fail(f"no node named {name!r} (nodes: {', '.join(nodes)})", key)
    if not chosen:
        table.fail("must name at least one node", key)
    return tuple(dict.fromkeys(chosen))


# -- the schedule, drawn as the run goes --------------------------------------


class FaultDriver(Protocol):
    """What random faults need from the runtime."""

    def at(self, time: float, action: Callable[[], None]) -> None:
        """Run ``action`` at absolute simulated time ``time``."""
        ...

    def is_down(self, node: str) -> bool: ...

    def down_count(self) -> int: ...

    def crash(self, node: str, token: object) -> None:
        """Crash ``node``, remembering ``token`` as the cause."""
        ...

    def recover(self, node: str, token: object) -> None:
        """Recover ``node`` if ``token`` still is the cause of its crash."""
        ...

    def split(self, groups: tuple[tuple[str, ...], ...]) -> object:
        """Start a symmetric partition between ``groups``; return a handle for :meth:`join`."""
        ...

    def join(self, handle: object) -> None:
        """Heal the partition ``handle`` (a no-op if it was healed already)."""
        ...


def exponential(stream: Stream, mean: float) -> float:
    """An exponential draw by inversion: one uniform per draw keeps streams easy to follow."""
    return -mean * math.log1p(-stream.random())


class RandomFaults:
    """Drives the random crashes and partitions of one run until :meth:`stop`."""

    def __init__(
        self,
        crashes: RandomCrashes | None,
        partitions: RandomPartitions | None,
        nodes: Sequence[str],
        streams: Streams,
        driver: FaultDriver,
    ) -> None:
        self.crashes = crashes
        self.partitions = partitions
        self.nodes = tuple(nodes)
        self.driver = driver
        self.active = False
        crashable = crashes.nodes if crashes is not None else ()
        self._crash_streams = {node: streams.stream(f"faults:crash:{node}") for node in crashable}
        self._partition_stream = streams.stream("faults:partition") if partitions else None

    def start(self) -> None:
        self.active = True
        if self.crashes is not None:
            for node in self.crashes.nodes:
                self._next_failure(node, self.crashes.start)
        if self.partitions is not None:
            self._next_partition(self.partitions.start)

    def stop(self) -> None:
        """No new fault from now on; the runtime heals what is broken."""
        self.active = False

    # -- crashes --------------------------------------------------------------
    def _next_failure(self, node: str, since: float) -> None:
        assert self.crashes is not None
        when = since + exponential(self._crash_streams[node], self.crashes.mean_up)
        self.driver.at(when, lambda: self._fail(node, when))

    def _fail(self, node: str, now: float) -> None:
        assert self.crashes is not None
        if not self.active:
            return
        if self.driver.is_down(node) or self.driver.down_count() >= self.crashes.max_down:
            # The cap (or a scripted crash) holds: this failure does not happen;
            # the node's next one is drawn as if it had just been repaired.
            self._next_failure(node, now)
            return
        token = object()
        self.driver.crash(node, token)
        repair = now + exponential(self._crash_streams[node], self.crashes.mean_down)
        self.driver.at(repair, lambda: self._repair(node, token, repair))

    def _repair(self, node: str, token: object, now: float) -> None:
        if not self.active:
            return
        self.driver.recover(node, token)
        self._next_failure(node, now)

    # -- partitions -----------------------------------------------------------
    def _next_partition(self, since: float) -> None:
        assert self.partitions is not None and self._partition_stream is not None
        when = since + exponential(self._partition_stream, self.partitions.mean_interval)
        self.driver.at(when, lambda: self._split(when))

    def _split(self, now: float) -> None:
        assert self.partitions is not None and self._partition_stream is not None
        if not self.active:
            return
        stream = self._partition_stream
        kinds = self.partitions.kinds
        kind = kinds[min(int(stream.random() * len(kinds)), len(kinds) - 1)]
        groups = draw_groups(kind, self.nodes, stream)
        handle = self.driver.split(groups)
        heal = now + exponential(stream, self.partitions.mean_duration)
        self.driver.at(heal, lambda: self._join(handle, heal))

    def _join(self, handle: object, now: float) -> None:
        if not self.active:
            return
        self.driver.join(handle)
        self._next_partition(now)


def draw_groups(
    kind: str, nodes: Sequence[str], stream: Stream
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Two groups: one node against the rest (``isolate``), or a minority against a majority.

    The minority's size is uniform in 1..(n-1)//2 (at least 1); its members
    are a uniformly random subset, kept in scenario order so logs read well.
    """
    order = list(nodes)
    # A Fisher-Yates shuffle driven by the stream's uniforms.
    for index in range(len(order) - 1, 0, -1):
        pick = min(int(stream.random() * (index + 1)), index)
        order[index], order[pick] = order[pick], order[index]
    if kind == "isolate":
        size = 1
    else:
        largest = max(1, (len(order) - 1) // 2)
        size = 1 + min(int(stream.random() * largest), largest - 1)
    minority = set(order[:size])
    return (
        tuple(n for n in nodes if n in minority),
        tuple(n for n in nodes if n not in minority),
    )
