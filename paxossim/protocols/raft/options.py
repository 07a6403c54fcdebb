"""Raft's options (the scenario's ``[raft]`` table) and the disk it waits for.

Every option is off or at the paper's value by default: heartbeats every
50 ms, election timeouts drawn from 150-300 ms, no disk latency.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from paxossim.protocols.replicated import (
    ClientOptions,
    check_nodes,
    client_options_to_dict,
    parse_client_options,
)
from paxossim.rng import Stream
from paxossim.scenario.latency import LatencySpec, parse_latency
from paxossim.schema import Table


@dataclass(frozen=True)
class RaftOptions:
    heartbeat_interval: float = 50.0
    election_timeout_min: float = 150.0
    election_timeout_max: float = 300.0
    """A follower (or candidate) starts an election after a silence drawn
    uniformly from [min, max], drawn anew each time the timer is reset."""
    election_timeouts: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    """Per server: its own [min, max] (scripted scenarios pick who times out first)."""
    retry_timeout: float | None = None
    """A follower that has not acknowledged entries sent to it is sent them
    again after this long (checked at each heartbeat); None: every heartbeat."""
    max_batch: int = 64
    """Entries per AppendEntries at most."""
    leader_noop: bool = True
    """A new leader appends a no-op of its term, which commits the entries of
    earlier terms it holds (section 8 of the paper); off in ``raft_figure8``."""
    preferred_leader: str | None = None
    """A server that starts an election at once on its first boot."""
    pre_vote: bool = False
    """Before a real election, ask a majority whether they would vote (thesis 9.6):
    a server cut off from the others does not raise its term, and cannot depose a
    healthy leader when it comes back."""
    read_index: bool = False
    """Reads skip the log: the leader confirms with a heartbeat round that it still
    leads and answers once it has applied through its commit index (thesis 6.4)."""
    check_quorum: bool = False
    """A leader that has heard from no majority for an election timeout steps down
    (thesis 6.2): a leader cut off by a partition stops taking requests."""
    disk_latency: LatencySpec | None = None
    """How long a write to stable storage takes (any latency model): a server
    waits for it before it answers a vote or an append it had to persist."""
    disk_latencies: Mapping[str, LatencySpec] = field(default_factory=dict)
    """Per server, instead of ``disk_latency``."""
    snapshot_every: int | None = None
    """Log compaction (thesis chapter 5): a server snapshots its applied state every
    this many applied entries and discards them; a follower that needs a discarded
    entry gets the leader's snapshot (InstallSnapshot). None: never (the paper)."""
    clients: ClientOptions = field(default_factory=ClientOptions)

    def timeouts_of(self, server: str) -> tuple[float, float]:
        return self.election_timeouts.get(
            server, (self.election_timeout_min, self.election_timeout_max))

    def disk_of(self, server: str) -> LatencySpec | None:
        return self.disk_latencies.get(server, self.disk_latency)


def _range(table: Table, key: str, value: Any) -> tuple[float, float]:
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)):
        table.fail("must be [min, max], two numbers", key)
    low, high = float(value[0]), float(value[1])
    if not 0 < low <= high:
        table.fail(f"needs 0 < min <= max, not [{low:g}, {high:g}]", key)
    return low, high


def parse_raft_options(table: Table, nodes: Mapping[str, tuple[str, ...]]) -> RaftOptions:
    defaults = RaftOptions()
    check_nodes(table, nodes)
    servers = [name for name, roles in nodes.items() if "replica" in roles]
    low = table.number("election_timeout_min", defaults.election_timeout_min, positive=True)
    high = table.number("election_timeout_max", defaults.election_timeout_max, positive=True)
    if high < low:
        table.fail(f"must be at least election_timeout_min ({low:g})", "election_timeout_max")
    per_node = table.table("election_timeouts")
    timeouts: dict[str, tuple[float, float]] = {}
    for name in per_node:
        if name not in servers:
            per_node.fail(f"{name!r} is not a replica", name)
        timeouts[name] = _range(per_node, name, per_node.raw(name))
    preferred = table.raw("preferred_leader", None)
    if preferred is not None:
        preferred = table.string("preferred_leader")
        if preferred not in servers:
            table.fail(f"{preferred!r} is not a replica", "preferred_leader")
    retry = table.raw("retry_timeout", None)
    every = table.raw("snapshot_every", None)
    disk_raw = table.raw("disk_latency", None)
    disk = None if disk_raw is None else parse_latency(
        disk_raw, table.source, table.child_path("disk_latency"))
    disks_table = table.table("disk_latencies")
    disks: dict[str, LatencySpec] = {}
    for name in disks_table:
        if name not in servers:
            disks_table.fail(f"{name!r} is not a replica", name)
        disks[name] = parse_latency(disks_table.raw(name), table.source,
                                    disks_table.child_path(name))
    return RaftOptions(
        heartbeat_interval=table.number("heartbeat_interval", defaults.heartbeat_interval,
                                        positive=True),
        election_timeout_min=low,
        election_timeout_max=high,
        election_timeouts=timeouts,
        retry_timeout=None if retry is None else table.number("retry_timeout", positive=True),
        max_batch=table.integer("max_batch", defaults.max_batch, minimum=1),
        leader_noop=table.boolean("leader_noop", defaults.leader_noop),
        preferred_leader=preferred,
        pre_vote=table.boolean("pre_vote", defaults.pre_vote),
        check_quorum=table.boolean("check_quorum", defaults.check_quorum),
        read_index=table.boolean("read_index", defaults.read_index),
        disk_latency=disk,
        disk_latencies=disks,
        snapshot_every=None if every is None else table.integer("snapshot_every", minimum=1),
        clients=parse_client_options(table),
    )


def raft_options_to_dict(options: RaftOptions) -> dict[str, Any]:
    out: dict[str, Any] = {
        "heartbeat_interval": options.heartbeat_interval,
        "election_timeout_min": options.election_timeout_min,
        "election_timeout_max": options.election_timeout_max,
        "max_batch": options.max_batch,
        "leader_noop": options.leader_noop,
        "pre_vote": options.pre_vote,
        "check_quorum": options.check_quorum,
        "read_index": options.read_index,
    }
    if options.election_timeouts:
        out["election_timeouts"] = {k: list(v) for k, v in options.election_timeouts.items()}
    if options.retry_timeout is not None:
        out["retry_timeout"] = options.retry_timeout
    if options.preferred_leader is not None:
        out["preferred_leader"] = options.preferred_leader
    if options.disk_latency is not None:
        out["disk_latency"] = options.disk_latency.to_dict()
    if options.snapshot_every is not None:
        out["snapshot_every"] = options.snapshot_every
    if options.disk_latencies:
        out["disk_latencies"] = {k: v.to_dict() for k, v in options.disk_latencies.items()}
    return out | client_options_to_dict(options.clients)


def draw_latency(spec: LatencySpec, rng: Stream) -> float:
    """One draw from ``spec`` by inversion of the node's own uniform stream.

    Nodes draw only through their context's stream (that keeps them
    snapshottable), so the network's numpy samplers cannot be reused here;
    the models and their parameters are the same.
    """
    p = dict(spec.params)
    match spec.model:
        case "constant":
            return p["value"]
        case "uniform":
            return rng.uniform(p["low"], p["high"])
        case "exponential":
            return p["min"] - math.log(1.0 - rng.random()) * (p["mean"] - p["min"])
        case "pareto":
            return p["min"] * (1.0 - rng.random()) ** (-1.0 / p["alpha"])
        case "empirical":
            return spec.samples[int(rng.random() * len(spec.samples))]
    # normal and lognormal: Box-Muller from two uniforms.
    gauss = math.sqrt(-2.0 * math.log(1.0 - rng.random())) * math.cos(2 * math.pi * rng.random())
    if spec.model == "normal":
        return max(0.0, p["mean"] + p["std"] * gauss)
    sigma2 = math.log(1 + (p["std"] / p["mean"]) ** 2)
    return math.exp(math.log(p["mean"]) - sigma2 / 2 + math.sqrt(sigma2) * gauss)
