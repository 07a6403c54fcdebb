"""Scenario schema: dataclasses, TOML loading, ``--set`` overrides, validation.

A scenario is read from TOML into plain dicts, overridden key by key, then
validated into frozen dataclasses. :func:`scenario_to_dict` gives back the
fully resolved form (every default filled in) that the event log's header
stores, so that a log alone is enough to re-simulate its run.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paxossim import protocols
from paxossim.errors import UserError
from paxossim.protocols.contract import Protocol
from paxossim.protocols.quorums import Quorums
from paxossim.scenario.faults import (
    RandomCrashes,
    RandomPartitions,
    parse_random_crashes,
    parse_random_partitions,
)
from paxossim.scenario.latency import LatencySpec, parse_latency
from paxossim.scenario.schedule import Schedule
from paxossim.schema import Table, check_number, safe_name

ORDERINGS = ("free", "fifo")
MAX_SEED = 2**63 - 1
"""Seeds are written into logs as JSON integers, which hold 64 bits."""
MAX_CLOCK_OFFSET = 1e12
"""A clock reading becomes a ballot number (``ballot_source = "clock"``), a
64-bit integer in the log: offsets stay far below that."""
MAX_CLOCK_DRIFT = 1e3
"""A clock at most a thousand times as fast as simulated time (for the same reason)."""
BALLOT_FORMATS = ("number", "clock")


@dataclass(frozen=True)
class LinkSpec:
    """How one directed link behaves."""

    latency: LatencySpec
    loss: float = 0.0
    duplicate: float = 0.0
    ordering: str = "free"


@dataclass(frozen=True)
class ScriptedDelay:
    """Give the ``occurrence``-th message of ``type`` from ``src`` to ``dst`` a fixed latency."""

    src: str
    dst: str
    type: str
    occurrence: int
    latency: float


@dataclass(frozen=True)
class NetworkSpec:
    default: LinkSpec
    links: dict[tuple[str, str], LinkSpec] = field(default_factory=dict)
    delays: tuple[ScriptedDelay, ...] = ()

    def link(self, src: str, dst: str) -> LinkSpec:
        return self.links.get((src, dst), self.default)


@dataclass(frozen=True)
class Crash:
    node: str
    at: float
    recover: float | None = None


@dataclass(frozen=True)
class Partition:
    """During [at, heal) messages between groups are dropped.

    With ``oneway`` only messages from ``groups[0]`` to the other groups are.
    """

    at: float
    heal: float | None
    groups: tuple[tuple[str, ...], ...]
    oneway: bool = False

    def blocks(self, src: str, dst: str) -> bool:
        src_group = dst_group = -1
        for index, group in enumerate(self.groups):
            if src in group:
                src_group = index
            if dst in group:
                dst_group = index
        if src_group < 0 or dst_group < 0 or src_group == dst_group:
            return False
        return not self.oneway or src_group == 0


@dataclass(frozen=True)
class FaultSpec:
    crashes: tuple[Crash, ...] = ()
    partitions: tuple[Partition, ...] = ()
    amnesia: bool = False
    random_crashes: RandomCrashes | None = None
    random_partitions: RandomPartitions | None = None


@dataclass(frozen=True)
class ClockSpec:
    """A node's clock reads ``offset + now * (1 + drift)``."""

    offset: float = 0.0
    drift: float = 0.0

    def read(self, now: float) -> float:
        return self.offset + now * (1.0 + self.drift)


@dataclass(frozen=True)
class LivenessSpec:
    """Two phases: faults until ``heal_at``, then a value must be chosen within ``bound``."""

    heal_at: float | None = None
    """End of the faulty phase: partitions heal, crashed nodes restart, random
    faults stop, clients re-send their requests. None: faults until the horizon."""
    bound: float | None = None
    """A value must be chosen by ``heal_at + bound``; None: liveness is only reported."""

    @property
    def required_by(self) -> float | None:
        if self.heal_at is None or self.bound is None:
            return None
        return self.heal_at + self.bound


@dataclass(frozen=True)
class LogSpec:
    """``[log]``: what the event log records beyond messages, faults and protocol events."""

    timers: bool = True
    """Timer set and cancel events (a timer's firing is always logged)."""
    storage: bool = True
    """A ``store`` event per durable-storage write."""


@dataclass(frozen=True)
class LimitSpec:
    """``[limits]``: where a run that runs away is stopped (cleanly, log kept).

    The defaults are far above what any bundled scenario reaches (the largest
    writes about 2 million events), and below what exhausts a laptop: a run
    past 50 million events writes gigabytes of log, and a million messages in
    flight is a duplication storm, not a workload.
    """

    events: int = 50_000_000
    in_flight: int = 1_000_000
    timers: int = 20_000_000
    """Timer firings, logged or not (``[log] timers = false`` hides a flood of them)."""

    def to_dict(self) -> dict[str, int]:
        return {"events": self.events, "in_flight": self.in_flight, "timers": self.timers}


@dataclass(frozen=True)
class Request:
    """A client asks ``node`` to have ``value`` decided, at time ``at``."""

    node: str
    value: str
    at: float
    extra: dict[str, Any] = field(default_factory=dict)
    """The protocol's own keys (``Protocol.request_keys``), e.g. a Paxos ballot."""


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    protocol: str
    variant: str
    seed: int
    horizon: float
    time_unit: str
    ballot_format: str
    nodes: dict[str, tuple[str, ...]]
    requests: tuple[Request, ...]
    network: NetworkSpec
    faults: FaultSpec
    options: Any
    source: str = "<scenario>"
    clocks: dict[str, ClockSpec] = field(default_factory=dict)
    liveness: LivenessSpec = LivenessSpec()
    node_variants: dict[str, str] = field(default_factory=dict)
    """``[variants]``: nodes that run another variant than ``variant``."""
    byzantine: tuple[str, ...] = ()
    """Nodes the safety checks do not trust: listed in ``byzantine``, or
    running a variant its protocol declares Byzantine."""
    quorum_sizes: tuple[int | None, int | None] = (None, None)
    """``[quorums] phase1, phase2``, resolved (None only where there are no voters)."""
    log: LogSpec = LogSpec()
    limits: LimitSpec = LimitSpec()
    schedule: Schedule | None = None
    """``[schedule]``: the run's inputs given as data (what ``shrink`` writes); None:
    drawn from the scripted requests and faults and the seed."""

    def nodes_with(self, role: str) -> list[str]:
        return [name for name, roles in self.nodes.items() if role in roles]

    def variant_of(self, node: str) -> str:
        return self.node_variants.get(node, self.variant)

    def quorums_of(self, voters: Sequence[str]) -> Quorums:
        return Quorums.of(voters, *self.quorum_sizes)


# -- loading ----------------------------------------------------------------


def load_raw(path: str | Path) -> dict[str, Any]:
    """Read a TOML file, turning every failure into a one-line UserError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(str(path), "no such file") from None
    except OSError as error:
        raise UserError(str(path), f"cannot read: {error.strerror}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UserError(str(path), f"not valid TOML: {error}") from None
    except RecursionError:
        raise UserError(str(path), f"nested more than {MAX_DEPTH} deep") from None
    check_depth(raw, str(path))
    return raw


MAX_DEPTH = 32
"""Tables and lists nested deeper than this are refused when read: no scenario
needs them, and the code that walks a scenario recurses."""


def check_depth(value: Any, where: str, depth: int = 0) -> None:
    """Refuse values nested deeper than MAX_DEPTH (iteratively: the check itself must
    not be what overflows)."""
    stack = [(value, depth)]
    while stack:
        item, level = stack.pop()
        if level > MAX_DEPTH:
            raise UserError(where, f"nested more than {MAX_DEPTH} deep")
        if isinstance(item, dict):
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, level + 1) for child in item)


def load_scenario(
    path: str | Path, overrides: list[str] | tuple[str, ...] = ()
) -> Scenario:
    raw = load_raw(path)
    if is_sweep_spec(raw):
        raise UserError(str(path), "this is a sweep spec (it has [grid]), not a scenario: "
                        f"run it with `paxossim sweep {path}`")
    for assignment in overrides:
        apply_override(raw, assignment)
    return scenario_from_dict(raw, str(path), base_dir=Path(path).parent)


def is_sweep_spec(raw: dict[str, Any]) -> bool:
    """Whether a TOML file is a sweep spec rather than a scenario.

    Why: both kinds live side by side under ``scenarios/``, and a user who
    hands one to the other's command must be told which kind was expected,
    not that some key of the other kind is missing.
    """
    return "grid" in raw and "nodes" not in raw


def parse_override(assignment: str) -> tuple[str, Any]:
    """Split ``KEY=VALUE``; VALUE is read as a TOML value, else kept as a string."""
    key, sep, text = assignment.partition("=")
    key = key.strip()
    if not sep or not key:
        raise UserError(f"--set {assignment}", "expected KEY=VALUE, e.g. network.loss=0.1")
    try:
        value = tomllib.loads(f"v = {text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = text.strip()
    except RecursionError:
        raise UserError(f"--set {key}", f"nested more than {MAX_DEPTH} deep") from None
    check_depth(value, f"--set {key}", 1)
    return key, value


def apply_override(raw: dict[str, Any], assignment: str) -> None:
    key, value = parse_override(assignment)
    set_key(raw, key, value, origin=f"--set {assignment}")


def set_key(raw: dict[str, Any], dotted: str, value: Any, origin: str = "") -> None:
    """Set a dotted key (``network.links."a->b".loss``, ``requests.0.at``)."""
    parts = split_dotted(dotted, origin or dotted)
    node: Any = raw
    for index, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            node = _list_item(node, part, origin or dotted)
        else:
            if part not in node:
                node[part] = {}
            node = node[part]
        if not isinstance(node, dict | list):
            joined = ".".join(parts[: index + 1])
            raise UserError(origin or dotted, f"{joined} is a value, not a table")
    last = parts[-1]
    if isinstance(node, list):
        position = _list_index(node, last, origin or dotted)
        node[position] = value
    else:
        node[last] = value


def split_dotted(dotted: str, origin: str) -> list[str]:
    parts: list[str] = []
    current = ""
    quoted = False
    for char in dotted:
        if char == '"':
            quoted = not quoted
        elif char == "." and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    if quoted or any(not p for p in parts):
        raise UserError(origin, f"malformed key {dotted!r}")
    return parts


def _list_index(items: list[Any], part: str, origin: str) -> int:
    if not part.isdigit() or int(part) >= len(items):
        raise UserError(origin, f"{part!r} is not an index of a list of {len(items)}")
    return int(part)


def _list_item(items: list[Any], part: str, origin: str) -> Any:
    return items[_list_index(items, part, origin)]


# -- validation -------------------------------------------------------------


def scenario_from_dict(
    raw: dict[str, Any], source: str = "<scenario>", base_dir: Path | None = None
) -> Scenario:
    """Validate a raw scenario dict into a :class:`Scenario` (or raise UserError)."""
    top = Table(copy.deepcopy(raw), source)
    name = top.file_name("name", safe_name(Path(source).stem) if source.endswith(".toml")
                         else "scenario")
    description = top.string("description", "")
    protocol_name = top.string("protocol", "paxos", choices=protocols.names())
    family = protocols.get(protocol_name)
    variant = top.string("variant", "correct", choices=family.variants)
    seed = top.integer("seed", 1, minimum=0, maximum=MAX_SEED)
    horizon = top.number("horizon", 10_000.0, positive=True)
    time_unit = top.string("time_unit", "ms")

    nodes = _parse_nodes(top.table("nodes", default_empty=False), family.roles)
    requests = _parse_requests(top, nodes, family)
    ballot_format = top.string("ballot_format", "number", choices=BALLOT_FORMATS)
    node_variants = _parse_node_variants(top.table("variants"), nodes, family)
    byzantine = _parse_byzantine(top, nodes, family, variant, node_variants)
    quorum_sizes = _parse_quorums(top.table("quorums"), nodes, family)
    log_table = top.table("log")
    log = LogSpec(timers=log_table.boolean("timers", True),
                  storage=log_table.boolean("storage", True))
    log_table.finish()
    limits = _parse_limits(top.table("limits"))
    network = _parse_network(top.table("network"), nodes, base_dir)
    faults = _parse_faults(top.table("faults"), nodes, horizon)
    clocks = _parse_clocks(top.table("clocks"), nodes)
    liveness = _parse_liveness(top.table("liveness"), horizon, faults)
    options_table = top.table(protocol_name)
    options = family.parse_options(options_table, nodes)
    options_table.finish()
    _check_periods(options, horizon, options_table)
    schedule = _parse_schedule(top, requests, faults)
    top.finish()
    scenario = Scenario(
        name=name,
        description=description,
        protocol=protocol_name,
        variant=variant,
        seed=seed,
        horizon=horizon,
        time_unit=time_unit,
        ballot_format=ballot_format,
        nodes=nodes,
        requests=requests,
        network=network,
        faults=faults,
        options=options,
        source=source,
        clocks=clocks,
        liveness=liveness,
        node_variants=node_variants,
        byzantine=byzantine,
        quorum_sizes=quorum_sizes,
        log=log,
        limits=limits,
        schedule=schedule,
    )
    if schedule is not None:
        schedule.check(scenario, top.where("schedule"))
    return scenario


def _parse_schedule(top: Table, requests: tuple[Request, ...],
                    faults: FaultSpec) -> Schedule | None:
    """``[schedule]`` (items and overrides, as a log header holds them) replaces the
    drawn inputs, so it may not come with inputs of the other kind: two sources of
    requests or crashes would leave a reader guessing which ran."""
    raw = top.raw("schedule", None)
    if raw is None:
        return None
    where = top.where("schedule")
    others = {"requests": bool(requests), "faults.crashes": bool(faults.crashes),
              "faults.partitions": bool(faults.partitions),
              "faults.random_crashes": faults.random_crashes is not None,
              "faults.random_partitions": faults.random_partitions is not None}
    for key, present in others.items():
        if present:
            raise UserError(where, f"a scenario with a schedule lists every input in it; "
                            f"remove {key} (or the schedule)")
    return Schedule.from_data(raw, where)


MAX_FIRINGS = 1_000_000
"""A timer period or timeout that would fire more often than this per node within
the horizon is a typo (``heartbeat_interval = 1e-3`` wrote gigabytes), not a
study: it is refused before the run."""
PERIOD_WORDS = ("interval", "timeout", "period")


def _check_periods(options: Any, horizon: float, table: Table) -> None:
    """Refuse protocol periods below the run's time resolution (horizon / MAX_FIRINGS)."""
    if not dataclasses.is_dataclass(options):
        return
    for option in dataclasses.fields(options):
        value = getattr(options, option.name)
        if any(word in option.name for word in PERIOD_WORDS) and not isinstance(value, bool) \
                and isinstance(value, int | float) and value > 0:
            _check_period(value, horizon, table, option.name)


def _check_period(value: float, horizon: float, table: Table, key: str,
                  nodes: int = 1) -> None:
    """Refuse a period that fires more than MAX_FIRINGS times (over ``nodes`` nodes)."""
    firings = horizon / value * nodes
    if firings > MAX_FIRINGS:
        across = f" across {nodes} nodes" if nodes > 1 else ""
        table.fail(f"{value:g} would fire {firings:,.0f} times{across} within the horizon "
                   f"{horizon:g}; at most {MAX_FIRINGS:,} (use at least "
                   f"{horizon * nodes / MAX_FIRINGS:g})", key)


def _parse_limits(table: Table) -> LimitSpec:
    default = LimitSpec()
    limits = LimitSpec(events=table.integer("events", default.events, minimum=1),
                       in_flight=table.integer("in_flight", default.in_flight, minimum=1),
                       timers=table.integer("timers", default.timers, minimum=1))
    table.finish()
    return limits


def _parse_nodes(table: Table, known_roles: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    nodes: dict[str, tuple[str, ...]] = {}
    for name in table:
        if "->" in name or not name:
            table.fail("node names must be non-empty and must not contain '->'", name)
        roles = table.string_list(name)
        if not roles:
            table.fail("a node needs at least one role", name)
        for role in roles:
            if role not in known_roles:
                table.fail(f"unknown role {role!r} (roles: {', '.join(known_roles)})", name)
        nodes[name] = tuple(dict.fromkeys(roles))
    if not nodes:
        table.fail("at least one node is required")
    return nodes


def _node(table: Table, key: str, nodes: dict[str, tuple[str, ...]], role: str = "") -> str:
    name = table.string(key)
    if name not in nodes:
        table.fail(f"no node named {name!r} (nodes: {', '.join(nodes)})", key)
    if role and role not in nodes[name]:
        table.fail(f"node {name!r} is not a {role}", key)
    return name


def _parse_requests(
    top: Table, nodes: dict[str, tuple[str, ...]], family: Protocol
) -> tuple[Request, ...]:
    requests = []
    for item in top.tables("requests"):
        node = _node(item, "node", nodes)
        value = item.string("value")
        at = item.number("at", 0.0, minimum=0)
        extra = family.parse_request(item)
        item.finish()
        requests.append(Request(node=node, value=value, at=at, extra=extra))
    return tuple(requests)


def _parse_node_variants(
    table: Table, nodes: dict[str, tuple[str, ...]], family: Protocol
) -> dict[str, str]:
    """``[variants]``: node name -> variant, for "one buggy replica" scenarios."""
    chosen = {}
    for name in table:
        if name not in nodes:
            table.fail(f"no node named {name!r} (nodes: {', '.join(nodes)})", name)
        chosen[name] = table.string(name, choices=family.variants)
    table.finish()
    return chosen


def _parse_byzantine(
    top: Table, nodes: dict[str, tuple[str, ...]], family: Protocol, variant: str,
    node_variants: dict[str, str],
) -> tuple[str, ...]:
    listed = top.string_list("byzantine", [])
    for name in listed:
        if name not in nodes:
            top.fail(f"no node named {name!r} (nodes: {', '.join(nodes)})", "byzantine")
    lying = [name for name in nodes
             if family.variants[node_variants.get(name, variant)].byzantine]
    return tuple(name for name in nodes if name in listed or name in lying)


def _parse_quorums(
    table: Table, nodes: dict[str, tuple[str, ...]], family: Protocol
) -> tuple[int | None, int | None]:
    """``[quorums]``: phase-1 and phase-2 quorum sizes over the protocol's voters,
    resolved (the protocol's default, a majority unless it says otherwise).

    Sizes that do not intersect (phase1 + phase2 <= voters) are allowed on
    purpose: such a scenario shows the checker catching what follows.
    """
    voters = [name for name, roles in nodes.items() if family.decision.voters in roles]
    defaults = family.default_quorums(len(voters))
    sizes = []
    for key, default in zip(("phase1", "phase2"), defaults, strict=True):
        size = table.raw(key, None)
        if size is not None:
            size = table.integer(key, minimum=1)
            if size > len(voters):
                table.fail(f"is {size} but there are only {len(voters)} "
                           f"{family.decision.voters}(s)", key)
        elif voters:
            size = default
        sizes.append(size)
    table.finish()
    return sizes[0], sizes[1]


def _parse_link(
    table: Table, base: LinkSpec | None, base_dir: Path | None
) -> LinkSpec:
    if base is None or table.has("latency"):
        default_latency = {"model": "constant", "value": 10.0}
        latency = parse_latency(
            table.raw("latency", default_latency), table.source, table.child_path("latency"),
            base_dir,
        )
    else:
        latency = base.latency
    loss = table.probability("loss", base.loss if base else 0.0)
    duplicate = table.probability("duplicate", base.duplicate if base else 0.0)
    ordering = table.string("ordering", base.ordering if base else "free", choices=ORDERINGS)
    return LinkSpec(latency=latency, loss=loss, duplicate=duplicate, ordering=ordering)


def _parse_network(
    table: Table, nodes: dict[str, tuple[str, ...]], base_dir: Path | None
) -> NetworkSpec:
    links_table = table.table("links")
    delays_items = table.tables("delays")
    default = _parse_link(table, None, base_dir)
    links: dict[tuple[str, str], LinkSpec] = {}
    for key in links_table:
        src, sep, dst = key.partition("->")
        if not sep:
            links_table.fail("a link is written \"from->to\"", key)
        for end in (src.strip(), dst.strip()):
            if end not in nodes:
                links_table.fail(f"no node named {end!r} (nodes: {', '.join(nodes)})", key)
        link_table = links_table.table(key)
        links[(src.strip(), dst.strip())] = _parse_link(link_table, default, base_dir)
        link_table.finish()
    links_table.finish()
    delays = []
    for item in delays_items:
        delays.append(
            ScriptedDelay(
                src=_node(item, "from", nodes),
                dst=_node(item, "to", nodes),
                type=item.string("type"),
                occurrence=item.integer("occurrence", 1, minimum=1),
                latency=item.number("latency", minimum=0),
            )
        )
        item.finish()
    table.finish()
    return NetworkSpec(default=default, links=links, delays=tuple(delays))


def _end_after(item: Table, key: str, start: float, what: str, of: str) -> float | None:
    """An optional end time (a recovery, a heal) that must come after its start."""
    end = item.raw(key, None)
    if end is None:
        return None
    end = check_number(end, item.where(key), minimum=0)
    if end <= start:
        item.fail(f"{what} at {end} must come after {of} at {start}", key)
    return end


def _parse_faults(
    table: Table, nodes: dict[str, tuple[str, ...]], horizon: float
) -> FaultSpec:
    crashes = []
    for item in table.tables("crashes"):
        node = _node(item, "node", nodes)
        at = item.number("at", minimum=0)
        recover = _end_after(item, "recover", at, "recovery", "the crash")
        item.finish()
        crashes.append(Crash(node=node, at=at, recover=recover))
    _check_crash_overlap(crashes, table)
    partitions = []
    for item in table.tables("partitions"):
        at = item.number("at", minimum=0)
        heal = _end_after(item, "heal", at, "heal", "the partition")
        groups_raw = item.raw("groups")
        if (
            not isinstance(groups_raw, list)
            or len(groups_raw) < 2
            or not all(isinstance(g, list) and g for g in groups_raw)
        ):
            item.fail("must be a list of at least two non-empty lists of node names", "groups")
        seen: set[str] = set()
        for group in groups_raw:
            for name in group:
                if name not in nodes:
                    item.fail(f"no node named {name!r} (nodes: {', '.join(nodes)})", "groups")
                if name in seen:
                    item.fail(f"node {name!r} is in more than one group", "groups")
                seen.add(name)
        oneway = item.boolean("oneway", False)
        if oneway and len(groups_raw) != 2:
            item.fail("a one-way partition has exactly two groups: from, to", "groups")
        item.finish()
        partitions.append(
            Partition(at=at, heal=heal, groups=tuple(tuple(g) for g in groups_raw), oneway=oneway)
        )
    _check_oneway_overlap(partitions, nodes, table)
    amnesia = table.boolean("amnesia", False)
    random_crashes = parse_random_crashes(table.table("random_crashes"), list(nodes))
    random_partitions = parse_random_partitions(table.table("random_partitions"), list(nodes))
    # The random faults are laid out before the run: a mean far below the horizon
    # would fill memory with millions of schedule items first.
    if random_crashes is not None:
        _check_period(random_crashes.mean_up, horizon, table.table("random_crashes"),
                      "mean_up", nodes=len(random_crashes.nodes))
    if random_partitions is not None:
        _check_period(random_partitions.mean_interval, horizon,
                      table.table("random_partitions"), "mean_interval")
    table.finish()
    return FaultSpec(crashes=tuple(crashes), partitions=tuple(partitions), amnesia=amnesia,
                     random_crashes=random_crashes, random_partitions=random_partitions)


def _check_oneway_overlap(
    partitions: list[Partition], nodes: dict[str, tuple[str, ...]], table: Table
) -> None:
    """Reject a one-way partition that, while it overlaps another, cuts a link that one
    cuts too: one of them does nothing, which is never what the author meant."""
    for (i, first), (j, second) in itertools.combinations(enumerate(partitions), 2):
        if not (first.oneway or second.oneway):
            continue
        first_end = math.inf if first.heal is None else first.heal
        second_end = math.inf if second.heal is None else second.heal
        if first.at >= second_end or second.at >= first_end:
            continue
        for src in nodes:
            for dst in nodes:
                if first.blocks(src, dst) and second.blocks(src, dst):
                    table.fail(
                        f"partitions {i} and {j} overlap in time and both cut {src}->{dst}; "
                        "for both directions write one partition without oneway",
                        "partitions",
                    )


def _parse_clocks(table: Table, nodes: dict[str, tuple[str, ...]]) -> dict[str, ClockSpec]:
    clocks = {}
    for name in table:
        if name not in nodes:
            table.fail(f"no node named {name!r} (nodes: {', '.join(nodes)})", name)
        item = table.table(name)
        offset = item.number("offset", 0.0, minimum=-MAX_CLOCK_OFFSET,
                             maximum=MAX_CLOCK_OFFSET)
        drift = item.number("drift", 0.0, maximum=MAX_CLOCK_DRIFT)
        if drift <= -1.0:
            item.fail(f"must be greater than -1 (a clock must move forward), got {drift}",
                      "drift")
        item.finish()
        clocks[name] = ClockSpec(offset=offset, drift=drift)
    table.finish()
    return clocks


def _parse_liveness(table: Table, horizon: float, faults: FaultSpec) -> LivenessSpec:
    heal_raw = table.raw("heal_at", None)
    bound_raw = table.raw("bound", None)
    table.finish()
    heal_at = None if heal_raw is None else check_number(
        heal_raw, table.where("heal_at"), minimum=0)
    bound = None if bound_raw is None else check_number(
        bound_raw, table.where("bound"), positive=True)
    if bound is not None and heal_at is None:
        table.fail("a liveness bound needs heal_at, the end of the faulty phase", "bound")
    if heal_at is None:
        return LivenessSpec()
    if heal_at > horizon:
        table.fail(f"is {heal_at}, after the horizon {horizon}", "heal_at")
    if bound is not None and heal_at + bound > horizon:
        table.fail(f"heal_at + bound = {heal_at + bound} is after the horizon {horizon}",
                   "bound")
    for index, crash in enumerate(faults.crashes):
        if crash.at >= heal_at:
            table.fail(f"faults.crashes[{index}] at {crash.at} is not before heal_at "
                       f"({heal_at}): the healed phase has no faults", "heal_at")
    for index, partition in enumerate(faults.partitions):
        if partition.at >= heal_at:
            table.fail(f"faults.partitions[{index}] at {partition.at} is not before heal_at "
                       f"({heal_at}): the healed phase has no faults", "heal_at")
    return LivenessSpec(heal_at=heal_at, bound=bound)


def _check_crash_overlap(crashes: list[Crash], table: Table) -> None:
    by_node: dict[str, list[Crash]] = {}
    for crash in crashes:
        by_node.setdefault(crash.node, []).append(crash)
    for node, items in by_node.items():
        items.sort(key=lambda c: c.at)
        for before, after in itertools.pairwise(items):
            if before.recover is None or before.recover > after.at:
                table.fail(
                    f"node {node!r} crashes at {after.at} while still down from {before.at}",
                    "crashes",
                )


# -- back to a dict ---------------------------------------------------------


def link_to_dict(link: LinkSpec) -> dict[str, Any]:
    return {
        "latency": link.latency.to_dict(),
        "loss": link.loss,
        "duplicate": link.duplicate,
        "ordering": link.ordering,
    }


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """The fully resolved scenario, loadable again by :func:`scenario_from_dict`."""
    family = protocols.get(scenario.protocol)
    voters = scenario.nodes_with(family.decision.voters)
    network = link_to_dict(scenario.network.default)
    network["links"] = {
        f"{src}->{dst}": link_to_dict(link) for (src, dst), link in scenario.network.links.items()
    }
    network["delays"] = [
        {"from": d.src, "to": d.dst, "type": d.type, "occurrence": d.occurrence,
         "latency": d.latency}
        for d in scenario.network.delays
    ]
    faults: dict[str, Any] = {
        "crashes": [
            {"node": c.node, "at": c.at} | ({"recover": c.recover} if c.recover is not None else {})
            for c in scenario.faults.crashes
        ],
        "partitions": [
            {"at": p.at, "groups": [list(g) for g in p.groups], "oneway": p.oneway}
            | ({"heal": p.heal} if p.heal is not None else {})
            for p in scenario.faults.partitions
        ],
        "amnesia": scenario.faults.amnesia,
    }
    if scenario.faults.random_crashes is not None:
        faults["random_crashes"] = scenario.faults.random_crashes.to_dict()
    if scenario.faults.random_partitions is not None:
        faults["random_partitions"] = scenario.faults.random_partitions.to_dict()
    liveness = scenario.liveness
    extra: dict[str, Any] = {}
    if scenario.clocks:
        extra["clocks"] = {name: {"offset": c.offset, "drift": c.drift}
                           for name, c in scenario.clocks.items()}
    if scenario.node_variants:
        extra["variants"] = dict(scenario.node_variants)
    if scenario.byzantine:
        extra["byzantine"] = list(scenario.byzantine)
    if scenario.limits != LimitSpec():  # only when set: plain runs' headers stay as they were
        extra["limits"] = scenario.limits.to_dict()
    if liveness.heal_at is not None:
        extra["liveness"] = {"heal_at": liveness.heal_at} | (
            {"bound": liveness.bound} if liveness.bound is not None else {})
    if scenario.schedule is not None:
        extra["schedule"] = scenario.schedule.to_data()
    return {
        "name": scenario.name,
        "description": scenario.description,
        "protocol": scenario.protocol,
        "variant": scenario.variant,
        "seed": scenario.seed,
        "horizon": scenario.horizon,
        "time_unit": scenario.time_unit,
        "ballot_format": scenario.ballot_format,
        "nodes": {name: list(roles) for name, roles in scenario.nodes.items()},
        "requests": [
            {"node": r.node, "value": r.value, "at": r.at} | r.extra
            for r in scenario.requests
        ],
        "quorums": scenario.quorums_of(voters).to_dict(),
        "log": {"timers": scenario.log.timers, "storage": scenario.log.storage},
        "network": network,
        "faults": faults,
        scenario.protocol: family.options_to_dict(scenario.options),
        **extra,
    }
