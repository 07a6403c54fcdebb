"""Random fault schedules: crashes and partitions drawn from named streams.

Scripted faults (``[[faults.crashes]]``, ``[[faults.partitions]]``) say exactly
when things break. Random ones say only how often: each node fails after an
exponential time up (mean ``mean_up``) and is repaired after an exponential
time down (mean ``mean_down``), with at most ``max_down`` nodes down at once;
partitions start after an exponential interval and last an exponential
duration, either isolating one node or splitting a minority from a majority.

This module holds their specs and the draws they share;
:mod:`paxossim.scenario.schedule` draws them up front into the run's input schedule.
Every draw comes from its own named stream (``faults:crash:<node>``,
``faults:partition``), so turning on random partitions leaves the crash
times exactly as they were, and adding a node leaves the others' times alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from paxossim.rng import Stream
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


# -- draws shared with paxossim.scenario.schedule, which lays the faults out up front --------------


def exponential(stream: Stream, mean: float) -> float:
    """An exponential draw by inversion: one uniform per draw keeps streams easy to follow."""
    return -mean * math.log1p(-stream.random())


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
