"""Routing for twinned nodes: which copy of a node a message reaches, phase by phase.

A run with ``[twins]`` has one host per *instance*: each node, and a second
copy (``r1#2``) of each twinned node. Both copies send under the node's name,
so the receiver cannot tell them apart; who hears which copy is this module's
decision, from the current phase's groups (see :mod:`paxossim.scenario.twins`).
Kept out of the runtime so that a run without twins pays one ``is None`` test
per message.
"""

from __future__ import annotations

from paxossim.scenario.twins import TwinsSpec, copy_name


class TwinRoutes:
    """The current phase's groups, and the copies of each twinned node."""

    def __init__(self, spec: TwinsSpec) -> None:
        self.copies: dict[str, tuple[str, str]] = {
            node: (node, copy_name(node)) for node in spec.nodes}
        self.identity: dict[str, str] = {copy_name(node): node for node in spec.nodes}
        """Copy name -> the node it is a copy of (a node's first copy is the node)."""
        self.routes: tuple[tuple[str, ...], ...] = ()
        self._groups: dict[str, frozenset[int]] = {}
        """Instance -> the groups of the current phase it is in (absent: talks to all)."""

    def set_phase(self, routes: tuple[tuple[str, ...], ...]) -> None:
        """Enter a phase (``()``: every instance talks to every other)."""
        self.routes = routes
        groups: dict[str, set[int]] = {}
        for index, group in enumerate(routes):
            for name in group:
                groups.setdefault(name, set()).add(index)
        self._groups = {name: frozenset(found) for name, found in groups.items()}

    def connected(self, a: str, b: str) -> bool:
        mine, theirs = self._groups.get(a), self._groups.get(b)
        return mine is None or theirs is None or not mine.isdisjoint(theirs)

    def targets(self, src: str, dst: str) -> list[str]:
        """The instances a message from instance ``src`` to node ``dst`` reaches.

        A copy's message to its own node stays with that copy; empty: the phase
        cuts ``src`` off from every copy of ``dst``.
        """
        if self.identity.get(src, src) == dst:
            return [src]
        return [copy for copy in self.copies.get(dst, (dst,)) if self.connected(src, copy)]
