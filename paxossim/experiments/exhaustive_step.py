"""One step of an exhaustive search: a node, restored from its snapshot, takes one event.

Why a runtime of its own: the search does not run simulated time. Any
enabled event may happen next, so a node is restored from its
:class:`~paxossim.sim.snapshot.NodeSnapshot` into a :class:`StepContext`
that records what the node does (messages sent, timers armed or cancelled,
events emitted) instead of scheduling it, and snapshotted again afterwards.

A node is deterministic given its state and the event, so each outcome is
memoised by (snapshot key, event): the same node state receiving the same
message in a thousand global states is computed once.

Time. Nodes read ``now`` and ``clock`` as 0: the search abstracts time away,
so a protocol whose decisions read the clock is explored as if no time ever
passed (the written scenario then replays the trace in real time, which the
search verifies by running it). Two things happen at once, as the runtime
does them: a message a node sends to itself is delivered within the same
step (the runtime gives it zero latency), and so does a timer armed with
zero delay.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from paxossim.protocols.base import Message, Node
from paxossim.rng import Stream
from paxossim.sim.snapshot import NodeSnapshot, restore, snapshot

TimerOp = tuple[str, str, float]
"""("set", name, delay), ("cancel", name, 0) or ("fire", name, 0)."""

EventKey = tuple[Any, ...]
"""What happens to a node: ("msg", src, message), ("timer", name), ("crash",),
("recover",) or ("request", message)."""


class StepContext:
    """A node's context during one step: records instead of scheduling."""

    def __init__(self, node_id: str, rng: Stream, clock_offset: float = 0.0) -> None:
        self.node_id = node_id
        self.rng = rng
        self.storage: dict[str, Any] = {}
        self._clock_offset = clock_offset
        self.timers: dict[str, float] = {}
        self.sent: list[tuple[str, Message]] = []
        self.emitted: list[tuple[str, dict[str, Any]]] = []
        self.timer_ops: list[TimerOp] = []
        """Timers armed, cancelled and fired during the step, in order: the written
        scenario must time them."""
        self.immediate: list[EventKey] = []
        """Self-sends and zero-delay timers, handled before the step ends."""

    @property
    def now(self) -> float:
        return 0.0

    @property
    def clock(self) -> float:
        return self._clock_offset

    def send(self, dst: str, msg: Message) -> None:
        if dst == self.node_id:
            self.immediate.append(("msg", dst, msg))
        else:
            self.sent.append((dst, msg))

    def set_timer(self, name: str, delay: float) -> None:
        self.timers[name] = delay
        self.timer_ops.append(("set", name, delay))
        if delay == 0:
            self.immediate.append(("timer", name))

    def cancel_timer(self, name: str) -> None:
        if self.timers.pop(name, None) is not None:
            self.timer_ops.append(("cancel", name, 0.0))

    def emit(self, kind: str, **fields: Any) -> None:
        self.emitted.append((kind, fields))

    def pending_timers(self) -> dict[str, float]:
        return dict(self.timers)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one event did to one node."""

    after: NodeSnapshot
    sent: tuple[tuple[str, Message], ...]
    """(destination, message), in send order (self-sends excluded: handled in the step)."""
    emitted: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...]
    """(kind, sorted fields) of each protocol event, in order."""
    timer_ops: tuple[TimerOp, ...]


class Stepper:
    """Computes (and memoises) the outcome of an event at a node in a given state."""

    def __init__(self, make_node: Callable[[str, StepContext], Node],
                 make_rng: Callable[[str], Stream], clock_offsets: dict[str, float],
                 amnesia: bool = False) -> None:
        self.make_node = make_node
        self.amnesia = amnesia
        self.make_rng = make_rng
        self.clock_offsets = clock_offsets
        self._rngs: dict[str, Stream] = {}
        self._memo: dict[tuple[bytes, EventKey], Outcome] = {}
        self.computed = 0
        """Outcomes computed (not found in the memo)."""

    def context(self, node_id: str) -> StepContext:
        rng = self._rngs.get(node_id)
        if rng is None:
            rng = self._rngs[node_id] = self.make_rng(node_id)
        return StepContext(node_id, rng, self.clock_offsets.get(node_id, 0.0))

    def boot(self, node_id: str) -> Outcome:
        """The node as it starts: built, ``on_start`` called."""
        ctx = self.context(node_id)
        ctx.rng.set_state(self.make_rng(node_id).state())
        node = self.make_node(node_id, ctx)
        node.on_start()
        return self._finish(ctx, node)

    def step(self, before: NodeSnapshot, event: EventKey) -> Outcome:
        key = (before.key, event)
        outcome = self._memo.get(key)
        if outcome is None:
            outcome = self._memo[key] = self._compute(before, event)
            self.computed += 1
        return outcome

    def _compute(self, before: NodeSnapshot, event: EventKey) -> Outcome:
        ctx = self.context(before.node_id)
        node = restore(before, ctx)
        ctx.timer_ops.clear()
        ctx.immediate.clear()
        match event:
            case ("crash",):
                return self._finish(ctx, None)
            case ("recover",):
                if self.amnesia:
                    ctx.storage.clear()
                node = self.make_node(before.node_id, ctx)
                node.on_start()
            case ("timer", name):
                assert node is not None
                del ctx.timers[name]
                ctx.timer_ops.append(("fire", name, 0.0))
                node.on_timer(name)
            case ("msg", src, msg):
                assert node is not None
                node.on_message(src, msg)
            case ("request", msg):
                assert node is not None
                node.on_message("client", msg)
        return self._finish(ctx, node)

    def _finish(self, ctx: StepContext, node: Node | None) -> Outcome:
        """Deliver self-sends and zero-delay timers in order, then snapshot."""
        while node is not None and ctx.immediate:
            kind, *rest = ctx.immediate.pop(0)
            if kind == "msg":
                node.on_message(rest[0], rest[1])
            elif ctx.timers.get(rest[0]) == 0:
                del ctx.timers[rest[0]]
                ctx.timer_ops.append(("fire", rest[0], 0.0))
                node.on_timer(rest[0])
        if node is None:
            ctx.timers.clear()
        return Outcome(
            after=snapshot(ctx, node),
            sent=tuple(ctx.sent),
            emitted=tuple((kind, tuple(sorted(fields.items()))) for kind, fields in ctx.emitted),
            timer_ops=tuple(ctx.timer_ops),
        )
