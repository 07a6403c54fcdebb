"""The simulated network's decisions: latency, loss, duplication, ordering, partitions.

The network decides the fate of each message when it is sent; the runtime
only schedules what it is told. Each directed link draws from its own named
streams (``latency:a->b``, ``loss:a->b``, ``duplicate:a->b``), so turning on
loss on one link leaves every other link's latencies exactly as they were.

With twins (:mod:`paxossim.sim.twins`) messages travel between *instances*: a
twinned node's second copy ``r1#2`` has links (and streams) of its own, so
adding a twin leaves the draws of ``r1``'s links as they were, while the link's
settings, partitions and scripted delays are those of the node ``r1``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from paxossim.rng import Stream, Streams
from paxossim.scenario.latency import sampler
from paxossim.scenario.model import LinkSpec, NetworkSpec, Partition


@dataclass(slots=True)
class LinkState:
    spec: LinkSpec
    latency: Callable[[], float]
    loss: Stream | None
    duplicate: Stream | None
    last_delivery: float = 0.0
    """Latest delivery time scheduled so far (used by fifo links)."""


class Network:
    def __init__(self, spec: NetworkSpec, streams: Streams,
                 identity: dict[str, str] | None = None) -> None:
        self.spec = spec
        self.identity = identity or {}
        """A twin copy's name -> its node's name (empty without twins)."""
        self.streams = streams
        self.links: dict[tuple[str, str], LinkState] = {}
        self.partitions: list[Partition] = []
        self._scripted = {(d.src, d.dst, d.type, d.occurrence): d.latency for d in spec.delays}
        self._counts: dict[tuple[str, str, str], int] = {}

    def link(self, src: str, dst: str) -> LinkState:
        state = self.links.get((src, dst))
        if state is None:
            spec = self.spec.link(self.identity.get(src, src), self.identity.get(dst, dst))
            name = f"{src}->{dst}"
            state = LinkState(
                spec=spec,
                latency=sampler(spec.latency, self.streams.generator(f"latency:{name}")),
                loss=self.streams.stream(f"loss:{name}") if spec.loss > 0 else None,
                duplicate=self.streams.stream(f"duplicate:{name}") if spec.duplicate > 0 else None,
            )
            self.links[(src, dst)] = state
        return state

    def blocked(self, src: str, dst: str) -> bool:
        if self.identity:
            src, dst = self.identity.get(src, src), self.identity.get(dst, dst)
        return any(p.blocks(src, dst) for p in self.partitions)

    def scripted_latency(self, src: str, dst: str, kind: str) -> float | None:
        """The scripted latency of this message, if a ``[[network.delays]]`` entry matches."""
        if not self._scripted:
            return None
        if self.identity:
            src, dst = self.identity.get(src, src), self.identity.get(dst, dst)
        key = (src, dst, kind)
        count = self._counts.get(key, 0) + 1
        self._counts[key] = count
        return self._scripted.get((src, dst, kind, count))

    def fate(self, src: str, dst: str, kind: str, now: float) -> tuple[str | None, list[float]]:
        """Decide a message's fate: a drop reason, or the delivery times of its copies.

        The first time is the original's; any further one is a duplicate's.
        """
        if src == dst:
            return None, [now]
        if self.partitions and self.blocked(src, dst):
            return "partition", []
        link = self.links.get((src, dst)) or self.link(src, dst)
        scripted = self.scripted_latency(src, dst, kind) if self._scripted else None
        if link.loss is not None and link.loss.random() < link.spec.loss:
            return "loss", []
        times = [now + (scripted if scripted is not None else link.latency())]
        if link.duplicate is not None and link.duplicate.random() < link.spec.duplicate:
            times.append(now + link.latency())
        if link.spec.ordering == "fifo":
            for index, time in enumerate(times):
                if time < link.last_delivery:
                    times[index] = time = link.last_delivery
                link.last_delivery = time
        return None, times
