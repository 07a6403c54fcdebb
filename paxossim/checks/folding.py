"""A run's client history for the linearizability check, with its settled past folded away.

Why: a long run's history was the largest thing its checks held (a few
hundred bytes per command, for the whole run), though almost all of it can no
longer change the verdict.

How: linearizability is checked key by key (see
:mod:`paxossim.checks.linearizability`). A key is *quiet* when none of its
operations is pending: each operation invoked so far was answered, so it
precedes, in real time, every operation invoked later, and every
linearization orders all of them first. If those operations (after what was
folded before) are linearizable and one block of the cluster method must come
last in every order (:func:`~paxossim.checks.linearizability.settle_key`), the
key's value at that moment is known, and the verdict on the whole key is the
verdict on the operations after it, starting from that block (its put, and
the span of its operations). So that prefix is folded into the block.

The newest ``keep`` operations of a key are never folded, and a key is not
folded any more once its settled past is not linearizable or a later read
returned a value that past overwrote (a stale read, what a broken replica
gives): such a violation is then reported as a check of the whole history
reports it. A read of a value folded away before it was answered is still a
violation, reported as a read of a value no put wrote since the folded block.

Memory per key: about twice ``keep`` operations, more while its quiet moments
are far apart or leave its value open (a key with an operation pending for
the whole run is never folded).

Command ids are unique (a client's sequence number is durable); the first
answer to an id counts, as in :class:`~paxossim.checks.linearizability.HistoryBuilder`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from paxossim.checks.interning import shared
from paxossim.checks.linearizability import (
    DEFAULT_BUDGET,
    Block,
    Operation,
    Verdict,
    check_key,
    settle_key,
)

KEEP = 512
"""Newest operations per key never folded (see the module docstring)."""
TRIES = 3
"""Quiet moments tried, newest first, when the newest leaves the key's value open."""


@dataclass(slots=True)
class _Entry:
    """One operation: its invocation, and its answer once it came."""

    position: int
    time: float
    op: str
    put: str | None
    client: str
    answer: tuple[int, float, str | None] | None = None
    """(position, time, result)."""

    def operation(self, cid: str, key: str) -> Operation:
        answer = self.answer
        value = self.put if self.op == "put" else (answer[2] if answer else None)
        return Operation(id=cid, op=self.op, key=key, value=value, invoke=float(self.position),
                         response=float(answer[0]) if answer else None, client=self.client,
                         shown_invoke=self.time, shown_response=answer[1] if answer else None)


@dataclass(slots=True)
class _Key:
    """One key's history: the block its past was folded into, and what came after."""

    name: str
    start: Block | None = None
    live: dict[str, _Entry] = field(default_factory=dict)
    """Operations after ``start``, in the order they were invoked."""
    pending: int = 0
    quiet: list[int] = field(default_factory=list)
    """Counts of ``live`` operations at the key's quiet moments, ascending."""
    retry_at: int = 0
    """Try no fold before ``live`` holds this many (after a try that left the value open)."""
    stuck: bool = False
    """Its settled past is not linearizable: keep everything from now on."""

    def operations(self, count: int | None = None) -> list[Operation]:
        entries = islice(self.live.items(), count)
        return [entry.operation(cid, self.name) for cid, entry in entries]


class FoldingHistory:
    """Client operations from ``invoke``/``respond`` events, in log order (``position``),
    holding per key only what can still change the verdict."""

    def __init__(self, keep: int | None = None) -> None:
        self.keep = KEEP if keep is None else keep
        self.keys: dict[str, _Key] = {}
        self.awaiting: dict[str, _Key] = {}
        """Command id -> the key of each operation not answered yet."""
        self.count = 0
        """Operations invoked (folded or not)."""

    def invoke(self, position: int, event: dict[str, Any]) -> None:
        op = event["op"]
        if op not in ("get", "put"):
            raise ValueError(f"unknown operation {op!r} in {event['id']}")
        cid, name = shared(event["id"]), shared(event["key"])
        key = self.keys.get(name)
        if key is None:
            key = self.keys[name] = _Key(name)
        self.count += 1
        key.pending += 1
        self.awaiting[cid] = key
        key.live[cid] = _Entry(position, event["t"], shared(op), shared(event.get("value")),
                               shared(event["node"]))

    def respond(self, position: int, event: dict[str, Any]) -> None:
        key = self.awaiting.pop(event["id"], None)
        if key is None:
            return  # a second answer (the first counts), or one to no invocation
        key.live[event["id"]].answer = (position, event["t"], shared(event.get("result")))
        key.pending -= 1
        if key.pending == 0:
            key.quiet.append(len(key.live))
            self.fold(key)

    def fold(self, key: _Key) -> None:
        """Fold the longest settled prefix that leaves ``keep`` operations, if any."""
        live = len(key.live)
        if key.stuck or live < 2 * self.keep or live < key.retry_at:
            return
        cuts = [cut for cut in key.quiet if cut <= live - self.keep][-TRIES:]
        for cut in reversed(cuts):
            settled = settle_key(key.name, key.operations(cut), key.start)
            if isinstance(settled, Verdict):
                key.stuck = True
                return
            if settled is not None and self.read_before(key, cut, settled):
                key.stuck = True
                return
            if settled is not None:
                key.start = settled
                for cid in list(islice(key.live, cut)):
                    del key.live[cid]
                key.quiet = [count - cut for count in key.quiet if count > cut]
                return
        key.retry_at = live + self.keep // 4

    def read_before(self, key: _Key, cut: int, last: Block) -> bool:
        """Does an operation after ``cut`` read a value the settled prefix overwrote?

        A violation already; not folded, the whole history words it (by the
        blocks it joins) rather than as a read of a value no put wrote.
        """
        start = key.start.value(None) if key.start is not None else None
        prefix = islice(key.live.values(), cut)
        overwritten = {start, *(e.put for e in prefix if e.op == "put")} - {last.value(None)}
        return any(e.op == "get" and e.answer is not None and e.answer[2] in overwritten
                   for e in islice(key.live.values(), cut, None))

    def verdict(self, budget: int = DEFAULT_BUDGET) -> Verdict:
        """The whole history's verdict, as :func:`~paxossim.checks.linearizability.check_history`
        gives it (key by key, the first violated key in name order)."""
        unknown: Verdict | None = None
        for name in sorted(self.keys):
            key = self.keys[name]
            verdict = check_key(name, key.operations(), None, budget, key.start)
            if verdict.ok is False:
                return Verdict(False, name, verdict.detail, self.count, verdict.time)
            if verdict.ok is None and unknown is None:
                unknown = verdict
        if unknown is not None:
            return Verdict(None, unknown.key, unknown.detail, self.count)
        return Verdict(True, None, "", self.count)
