"""``[twins]``: nodes that run as two copies of their code under one identity.

Twins (Bano et al., "Twins: BFT Systems Made Robust") finds what breaks a
Byzantine-fault-tolerant protocol without writing attack code: a twinned node
``r1`` runs twice, as ``r1`` and ``r1#2``, both correct code, both sending
under the name ``r1``. Peers that reach one copy see one story, peers that
reach the other see another: equivocation and double voting arise by
themselves. A twinned node is therefore Byzantine for the checks.

Who reaches which copy is set by **phases**, each a list of groups of
*instances* (node names and copy names, ``r1#2``) from a time on::

    [twins]
    nodes = ["r1"]
    [[twins.phases]]
    at = 0
    groups = [["r0", "r1", "r2"], ["r1#2", "r3"]]

Two instances exchange messages when they share a group; an instance the
phase does not list talks to everyone (the clients, usually). Before the first
phase and after the heal phase every instance talks to everyone. A message to
a twinned identity goes to each copy its sender may talk to (both, for an
unlisted sender); a copy's message to its own identity stays with that copy.

Twin the protocol's voters (replicas, acceptors), as the paper does: any node
may be twinned, but a twinned client is Byzantine too, and the checks then
trust none of its requests (its commands fail validity).
"""

from __future__ import annotations

from dataclasses import dataclass

from paxossim.schema import Table

COPY_SUFFIX = "#2"


def copy_name(node: str) -> str:
    """The name of ``node``'s second copy (its first copy keeps ``node``)."""
    return node + COPY_SUFFIX


@dataclass(frozen=True)
class TwinPhase:
    """From ``at`` on, instances talk only within their ``groups`` (unlisted: to all)."""

    at: float
    groups: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class TwinsSpec:
    nodes: tuple[str, ...] = ()
    phases: tuple[TwinPhase, ...] = ()

    def instances(self, nodes: list[str] | tuple[str, ...]) -> list[str]:
        """Every host of a run: each node, each twinned node's copy right after it."""
        out = []
        for node in nodes:
            out.append(node)
            if node in self.nodes:
                out.append(copy_name(node))
        return out

    def to_dict(self) -> dict[str, object]:
        return {"nodes": list(self.nodes),
                "phases": [{"at": p.at, "groups": [list(g) for g in p.groups]}
                           for p in self.phases]}


def parse_twins(table: Table, nodes: dict[str, tuple[str, ...]]) -> TwinsSpec:
    """Validate ``[twins]``; every error names the key (e.g. ``twins.phases[1].groups``)."""
    twinned = table.string_list("nodes", [])
    for name in twinned:
        if name not in nodes:
            table.fail(f"no node named {name!r} (nodes: {', '.join(nodes)})", "nodes")
        if copy_name(name) in nodes:
            table.fail(f"node {name!r} cannot be twinned: its copy's name "
                       f"{copy_name(name)!r} is a node already", "nodes")
    if len(set(twinned)) != len(twinned):
        table.fail("lists a node twice", "nodes")
    spec = TwinsSpec(nodes=tuple(twinned))
    instances = spec.instances(list(nodes))
    phases = []
    previous = -1.0
    for item in table.tables("phases"):
        at = item.number("at", minimum=0)
        if at <= previous:
            item.fail(f"phases must be in increasing time order ({at} after {previous})", "at")
        previous = at
        raw = item.raw("groups")
        if not isinstance(raw, list) or not raw or not all(
                isinstance(group, list) and group for group in raw):
            item.fail("must be a list of non-empty lists of node or copy names", "groups")
        for group in raw:
            for name in group:
                if name not in instances:
                    item.fail(f"no node or copy named {name!r} (instances: "
                              f"{', '.join(instances)})", "groups")
        item.finish()
        phases.append(TwinPhase(at=at, groups=tuple(tuple(group) for group in raw)))
    if phases and not twinned:
        table.fail("phases need at least one twinned node", "nodes")
    table.finish()
    return TwinsSpec(nodes=tuple(twinned), phases=tuple(phases))
