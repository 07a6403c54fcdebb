"""The input schedule: everything that happens to a run from outside, as data.

A run's inputs (client requests, crashes and recoveries, partitions and their
heals, the heal phase) are one ordered tuple of frozen items, drawn up front
from the scenario and the seed by :func:`draw_schedule`, written into the log
header, and executed by the runtime item by item. Because it is data, a
shrinker can remove items, a fork can change one, and a replay re-executes it
as logged. Per-message overrides (drop message ``m``, deliver it at ``t``)
travel with the schedule: they are inputs too, but they match messages by id
rather than happening at a time.

Order. Items are sorted by time; items at the same time run in tuple order
(the runtime schedules them all before the run starts, so simpy breaks ties
by that order). The tuple index is an item's stable identity in a log.

Random faults are drawn here, before the run, from the same named streams as
ever (``faults:crash:<node>``, ``faults:partition``), so turning on random
partitions leaves the crash times as they were. Drawing up front is possible
because every crash and recovery, scripted or random, is in the schedule: the
cap on nodes down at once (``max_down``) is decided by replaying that timeline
here, with the rules the runtime used to apply live (a node already down, or
a full cap, skips the failure and draws its next one). Random faults stop at
``heal_at``: nothing random is drawn at or after it.

The heal phase is one :class:`HealPhase` item, not the list of heals,
restarts and re-sends it causes. Why: what it must mend depends on which
other items ran. If it were expanded here, removing a crash would leave a
restart of a node that never went down, and removing a request would leave a
re-send of a value nobody asked for, which the validity check would report
as a violation the shrunk run does not really have. So the runtime executes
it: heal every active partition, restart every node that is down, and have
each request made so far (each :class:`Request` item that ran, in order) sent
again.

Clocks are not items: a node's clock offset and drift are fixed for the
whole run, so they stay a scenario setting (``[clocks.<node>]``). A clock
that jumps during a run would become an item here.

This module is pure (no simpy): the runtime imports it, not the other way.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, ClassVar

from paxossim.errors import UserError
from paxossim.rng import Streams
from paxossim.scenario.faults import draw_groups, exponential

if TYPE_CHECKING:
    from paxossim.scenario.faults import RandomCrashes, RandomPartitions
    from paxossim.scenario.model import Scenario

ORIGINS = ("scripted", "random")

# -- items ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request:
    """A client asks ``node`` to get ``value`` decided; ``extra`` holds the protocol's
    own request keys (``Protocol.request_keys``, e.g. a Paxos ballot), as sorted pairs."""

    KIND: ClassVar[str] = "request"
    at: float
    node: str
    value: str
    extra: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Crash:
    """``node`` stops; it keeps its durable storage (unless the scenario says amnesia).

    A scripted crash of a node that is already down takes the outage over, so
    that only a scripted recovery ends it; a random crash of a down node does nothing.
    """

    KIND: ClassVar[str] = "crash"
    at: float
    node: str
    origin: str = "scripted"


@dataclass(frozen=True, slots=True)
class Recover:
    """``node`` restarts from its durable storage.

    A random recovery only ends an outage that a random crash began (a
    scripted crash in between owns the node until its own recovery).
    """

    KIND: ClassVar[str] = "recover"
    at: float
    node: str
    origin: str = "scripted"


@dataclass(frozen=True, slots=True)
class Partition:
    """Messages between ``groups`` are dropped until a :class:`Heal` of the same ``index``.

    ``index`` names the partition in the log: a scripted one's position in
    the scenario, ``random-<k>`` for the k-th random one. With ``oneway``
    only messages from ``groups[0]`` to the other groups are dropped.
    """

    KIND: ClassVar[str] = "partition"
    at: float
    index: int | str
    groups: tuple[tuple[str, ...], ...]
    oneway: bool = False
    origin: str = "scripted"


@dataclass(frozen=True, slots=True)
class Heal:
    """The active partition ``index`` ends (nothing happens if it is not active)."""

    KIND: ClassVar[str] = "heal"
    at: float
    index: int | str
    origin: str = "scripted"


@dataclass(frozen=True, slots=True)
class HealPhase:
    """The faulty phase ends: heal all, restart all, clients re-send (see the module doc)."""

    KIND: ClassVar[str] = "heal_phase"
    at: float


@dataclass(frozen=True, slots=True)
class TwinPhase:
    """From now on, instances (nodes and twins' copies) talk only within ``routes``;
    an instance no route lists talks to everyone (see :mod:`paxossim.scenario.twins`).
    ``index`` is the phase's position in the scenario's ``[[twins.phases]]``."""

    KIND: ClassVar[str] = "twin_phase"
    at: float
    index: int | str
    routes: tuple[tuple[str, ...], ...]


Item = Request | Crash | Recover | Partition | Heal | HealPhase | TwinPhase
ITEM_TYPES: dict[str, type[Item]] = {
    cls.KIND: cls for cls in (Request, Crash, Recover, Partition, Heal, HealPhase, TwinPhase)
}


@dataclass(frozen=True, slots=True)
class Override:
    """Overrule the network's fate of message ``m`` (the runtime's message id, as in
    the log's ``send`` and ``duplicate`` events): ``drop`` it, or deliver it at the
    absolute time ``deliver_at`` (not before it is sent), even if the network lost
it or a partition cut it. The network still draws
    the message's fate, so no other message's draws shift."""

    m: int
    drop: bool = False
    deliver_at: float | None = None

    def __post_init__(self) -> None:
        if self.drop == (self.deliver_at is not None):
            raise ValueError("an override either drops a message or gives deliver_at")


# -- the schedule -----------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """The ordered inputs of one run and its per-message overrides."""

    items: tuple[Item, ...] = ()
    overrides: tuple[Override, ...] = ()

    def __post_init__(self) -> None:
        for index in range(1, len(self.items)):
            if self.items[index].at < self.items[index - 1].at:
                raise ValueError(f"schedule item {index} comes before item {index - 1} in time")
        seen: set[int] = set()
        for override in self.overrides:
            if override.m in seen:
                raise ValueError(f"message {override.m} is overridden twice")
            seen.add(override.m)

    def without(self, *indices: int) -> Schedule:
        """The schedule with the items at ``indices`` removed (what a shrinker does)."""
        gone = set(indices)
        return replace(self, items=tuple(item for i, item in enumerate(self.items)
                                         if i not in gone))

    def replace_item(self, index: int, item: Item) -> Schedule:
        """The schedule with item ``index`` changed (what a fork does), kept in time
        order: a moved item goes after every item that shares its new time."""
        rest = [old for i, old in enumerate(self.items) if i != index]
        position = next((i for i, old in enumerate(rest) if old.at > item.at), len(rest))
        return replace(self, items=(*rest[:position], item, *rest[position:]))

    def with_overrides(self, overrides: Iterable[Override]) -> Schedule:
        """The schedule with more per-message overrides (a message may have only one)."""
        return replace(self, overrides=(*self.overrides, *overrides))

    def check(self, scenario: Scenario, where: str = "schedule") -> None:
        """Refuse items that name a node the scenario does not have (one-line UserError)."""
        instances = scenario.twins.instances(list(scenario.nodes))
        for index, item in enumerate(self.items):
            if isinstance(item, TwinPhase):
                if not scenario.twins.nodes:
                    raise UserError(f"{where}.items[{index}]",
                                    "a twin_phase item, but the scenario twins no node")
                for name in (n for group in item.routes for n in group):
                    if name not in instances:
                        raise UserError(f"{where}.items[{index}]", f"no node or copy named "
                                        f"{name!r} (instances: {', '.join(instances)})")
                continue
            names = [item.node] if isinstance(item, Request | Crash | Recover) else (
                [n for group in item.groups for n in group] if isinstance(item, Partition) else [])
            for name in names:
                if name not in scenario.nodes:
                    raise UserError(f"{where}.items[{index}]",
                                    f"no node named {name!r} (nodes: {', '.join(scenario.nodes)})")

    # -- plain data ----------------------------------------------------------------
    def to_data(self) -> dict[str, Any]:
        """JSON-able form, keys in a fixed order: ``{"items": [...], "overrides": [...]}``."""
        return {
            "items": [_item_to_data(item) for item in self.items],
            "overrides": [{"m": o.m, "drop": True} if o.drop
                          else {"m": o.m, "deliver_at": o.deliver_at} for o in self.overrides],
        }

    @classmethod
    def from_data(cls, data: object, where: str = "schedule") -> Schedule:
        """Validate what :meth:`to_data` wrote (or a person edited); errors name the key."""
        if not isinstance(data, dict):
            raise UserError(where, "must be a table with 'items' (and 'overrides')")
        unknown = sorted(set(data) - {"items", "overrides"})
        if unknown:
            raise UserError(f"{where}.{unknown[0]}", "unknown key (keys: items, overrides)")
        items = tuple(_item_from_data(raw, f"{where}.items[{i}]")
                      for i, raw in enumerate(_list(data, "items", where)))
        for index in range(1, len(items)):
            if items[index].at < items[index - 1].at:
                raise UserError(f"{where}.items[{index}].at",
                                f"{items[index].at} is before the previous item's "
                                f"{items[index - 1].at}: items must be in time order")
        overrides = tuple(_override_from_data(raw, f"{where}.overrides[{i}]")
                          for i, raw in enumerate(_list(data, "overrides", where, [])))
        seen: dict[int, int] = {}
        for index, override in enumerate(overrides):
            if override.m in seen:
                raise UserError(f"{where}.overrides[{index}].m",
                                f"message {override.m} is overridden already by "
                                f"overrides[{seen[override.m]}]")
            seen[override.m] = index
        return cls(items, overrides)


def _item_to_data(item: Item) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": item.KIND}
    for spec in fields(item):
        value = getattr(item, spec.name)
        if spec.name in ("groups", "routes"):
            value = [list(group) for group in value]
        elif spec.name == "extra":
            if not value:
                continue
            value = dict(value)
        data[spec.name] = value
    return data


# -- validation of plain data ---------------------------------------------------------


def _list(data: dict[str, Any], key: str, where: str,
          default: list[Any] | None = None) -> list[Any]:
    if key not in data:
        if default is None:
            raise UserError(f"{where}.{key}", "missing")
        return default
    value = data[key]
    if not isinstance(value, list):
        raise UserError(f"{where}.{key}", f"must be a list, got {type(value).__name__}")
    return value


def _time(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise UserError(where, f"must be a finite number, got {value!r}")
    if value < 0:
        raise UserError(where, f"must be >= 0, got {value!r}")
    return float(value)


def _string(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise UserError(where, f"must be a non-empty string, got {value!r}")
    return value


def _field(name: str, value: object, where: str) -> object:
    """Check one item field by its name (the item types share field meanings)."""
    match name:
        case "at":
            return _time(value, where)
        case "node" | "value":
            return _string(value, where)
        case "extra":
            if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
                raise UserError(where, f"must be a table of the protocol's request keys, "
                                f"got {value!r}")
            return tuple(sorted(value.items()))
        case "origin":
            if value not in ORIGINS:
                raise UserError(where, f"must be one of {', '.join(ORIGINS)}, got {value!r}")
            return value
        case "index":
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise UserError(where, f"must be an integer or a string, got {value!r}")
            return value
        case "oneway":
            if not isinstance(value, bool):
                raise UserError(where, f"must be true or false, got {value!r}")
            return value
        case "groups":
            if (not isinstance(value, list) or len(value) < 2
                    or not all(isinstance(g, list) and g for g in value)):
                raise UserError(where, "must be a list of at least two non-empty node lists")
            return tuple(tuple(_string(n, where) for n in group) for group in value)
        case "routes":
            if not isinstance(value, list) or not value or not all(
                    isinstance(g, list) and g for g in value):
                raise UserError(where, "must be a list of non-empty lists of node or copy names")
            return tuple(tuple(_string(n, where) for n in group) for group in value)
    raise AssertionError(name)  # every field of every item type is matched above


def _item_from_data(raw: object, where: str) -> Item:
    if not isinstance(raw, dict):
        raise UserError(where, "must be a table with a 'kind'")
    kind = raw.get("kind")
    cls = ITEM_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise UserError(f"{where}.kind", f"must be one of {', '.join(ITEM_TYPES)}, got {kind!r}")
    specs = {spec.name: spec for spec in fields(cls)}
    unknown = sorted(set(raw) - set(specs) - {"kind"})
    if unknown:
        raise UserError(f"{where}.{unknown[0]}",
                        f"unknown key for a {kind} item (keys: {', '.join(specs)})")
    values = {}
    for name, spec in specs.items():
        if name in raw:
            values[name] = _field(name, raw[name], f"{where}.{name}")
        elif spec.default is spec.default_factory:  # both MISSING: the key is required
            raise UserError(f"{where}.{name}", f"missing (a {kind} item needs it)")
    return cls(**values)


def _override_from_data(raw: object, where: str) -> Override:
    if not isinstance(raw, dict):
        raise UserError(where, "must be a table with 'm' and either 'drop' or 'deliver_at'")
    unknown = sorted(set(raw) - {"m", "drop", "deliver_at"})
    if unknown:
        raise UserError(f"{where}.{unknown[0]}", "unknown key (keys: m, drop, deliver_at)")
    m = raw.get("m")
    if isinstance(m, bool) or not isinstance(m, int) or m < 1:
        raise UserError(f"{where}.m", f"must be a message id (an integer >= 1), got {m!r}")
    if raw.get("drop", False) is not True and "deliver_at" not in raw:
        raise UserError(where, "needs 'drop = true' or 'deliver_at'")
    if "drop" in raw and "deliver_at" in raw:
        raise UserError(where, "give either 'drop' or 'deliver_at', not both")
    if "deliver_at" in raw:
        return Override(m, deliver_at=_time(raw["deliver_at"], f"{where}.deliver_at"))
    return Override(m, drop=True)


# -- drawing a schedule from a scenario and a seed ----------------------------------------


def draw_schedule(scenario: Scenario, seed: int) -> Schedule:
    """Expand the scenario's scripted inputs and draw its random faults up front.

    Items are listed in the order the runtime used to schedule them (scripted
    partitions, crashes, requests, the heal phase, then random faults) and
    sorted stably by time, so that ties break as they always did.
    """
    faults = scenario.faults
    items: list[Item] = []
    for index, partition in enumerate(faults.partitions):
        items.append(Partition(partition.at, index, partition.groups, partition.oneway))
        if partition.heal is not None:
            items.append(Heal(partition.heal, index))
    for crash in faults.crashes:
        items.append(Crash(crash.at, crash.node))
        if crash.recover is not None:
            items.append(Recover(crash.recover, crash.node))
    for request in scenario.requests:
        items.append(Request(request.at, request.node, request.value,
                             tuple(sorted(request.extra.items()))))
    for index, phase in enumerate(scenario.twins.phases):
        items.append(TwinPhase(phase.at, index, phase.groups))
    heal_at = scenario.liveness.heal_at
    if heal_at is not None:
        items.append(HealPhase(heal_at))
    # Random faults happen before the horizon and, if there is a heal phase, before it.
    stop = scenario.horizon if heal_at is None else min(heal_at, scenario.horizon)
    streams = Streams(seed)
    if faults.random_crashes is not None:
        items += draw_random_crashes(faults.random_crashes, list(scenario.nodes), items,
                                     streams, stop)
    if faults.random_partitions is not None:
        items += draw_random_partitions(faults.random_partitions, list(scenario.nodes),
                                        streams, stop)
    return Schedule(tuple(sorted(items, key=lambda item: item.at)))


def draw_random_crashes(
    spec: RandomCrashes, nodes: Sequence[str], scripted: Sequence[Item], streams: Streams,
    stop: float,
) -> list[Item]:
    """Each listed node alternates exponential up and down times, at most ``max_down``
    nodes down at once, scripted crashes counted.

    The timeline is replayed in time order (ties: scripted first, then in the
    order the draws were made, as the runtime's event queue used to order
    them), because whether a failure happens depends on who else is down.
    """
    crash_streams = {node: streams.stream(f"faults:crash:{node}") for node in spec.nodes}
    down: dict[str, str] = {}
    """Node -> what keeps it down ("scripted" or "random")."""
    queue: list[tuple[float, int, str, str]] = []
    """(time, tie order, action, node); scripted actions hold their list position."""
    for order, item in enumerate(scripted):
        if isinstance(item, Crash | Recover):
            queue.append((item.at, order, item.KIND, item.node))
    heapq.heapify(queue)
    order = len(scripted)

    def push(time: float, action: str, node: str) -> None:
        nonlocal order
        if time < stop:
            heapq.heappush(queue, (time, order, action, node))
            order += 1

    for node in spec.nodes:
        push(spec.start + exponential(crash_streams[node], spec.mean_up), "fail", node)
    drawn: list[Item] = []
    while queue:
        now, _, action, node = heapq.heappop(queue)
        stream = crash_streams.get(node)
        if action == "crash":  # scripted: a down node's outage is now the script's
            down[node] = "scripted"
        elif action == "recover":
            down.pop(node, None)
        elif action == "fail":
            assert stream is not None
            if node in down or len(down) >= spec.max_down:
                # The cap (or a scripted crash) holds: this failure does not happen;
                # the node's next one is drawn as if it had just been repaired.
                push(now + exponential(stream, spec.mean_up), "fail", node)
                continue
            down[node] = "random"
            drawn.append(Crash(now, node, "random"))
            push(now + exponential(stream, spec.mean_down), "repair", node)
        else:  # "repair": listed even when a scripted crash owns the node now, so that
            # removing that crash from the schedule leaves the random outage its end.
            assert stream is not None
            if down.get(node) == "random":
                del down[node]
            drawn.append(Recover(now, node, "random"))
            push(now + exponential(stream, spec.mean_up), "fail", node)
    return drawn


def draw_random_partitions(
    spec: RandomPartitions, nodes: Sequence[str], streams: Streams, stop: float
) -> list[Item]:
    """One random partition at a time: wait an interval, partition, wait, heal.

    Draw order on the ``faults:partition`` stream: interval, then at each
    partition its kind, its groups and its duration.
    """
    stream = streams.stream("faults:partition")
    drawn: list[Item] = []
    since = spec.start
    for count in itertools.count(1):
        start = since + exponential(stream, spec.mean_interval)
        if start >= stop:
            break
        kinds = spec.kinds
        kind = kinds[min(int(stream.random() * len(kinds)), len(kinds) - 1)]
        groups = draw_groups(kind, nodes, stream)
        index = f"random-{count}"
        drawn.append(Partition(start, index, groups, origin="random"))
        since = start + exponential(stream, spec.mean_duration)
        if since >= stop:
            break  # the heal phase (or the horizon) ends it
        drawn.append(Heal(since, index, "random"))
    return drawn

