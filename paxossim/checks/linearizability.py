"""Linearizability of a key-value (get/put) history, checked by search.

A history is the set of client operations with the times they were invoked
and answered. It is *linearizable* if each operation can be given one point
between its invocation and its response such that, taken in that order, the
operations are a legal run of a sequential key-value map: every get returns
the latest value put to its key (or None if none was).

How: linearizability is *local* (Herlihy & Wing): a history is linearizable
iff each key's sub-history is, so keys are checked one by one
(P-compositionality). For one key, two exact methods:

- when every put writes a distinct value (the simulator's clients write
  their command id), the *cluster* method (after Gibbons & Korach): a put and
  the gets that read its value must form one contiguous block of any
  linearization (another put inside the block would change what the later
  gets read), so the history is linearizable iff no get precedes the put it
  read and the blocks can be ordered consistently with real time, i.e. the
  graph "some operation of block A ended before some operation of block B
  began" has no cycle. With ``lo`` = earliest response and ``hi`` = latest
  invocation in a block, A -> B iff lo(A) < hi(B), and Kahn's algorithm over
  two sorted orders decides it in O(n log n); a stuck step exhibits a 2-cycle,
  which is the explanation given. This stays fast when a partition leaves
  operations pending for seconds, where a search must try every subset of
  the overlapping puts;
- otherwise, a depth-first search in the style of Wing & Gong with Lowe's
  memoization: the state is (operations already linearized, the register's
  value); an operation may go next iff no other pending one was answered
  before it was invoked; seen states are not expanded again; a get whose value
  matches the register is linearized at once (doing so never loses a
  solution), and candidates are tried earliest response first.

Operations still pending when the history ends may have taken effect or not:
a pending put gets response time +infinity (so it can always be put last,
where it changes nothing), a pending get is dropped (its result is unknown).

From a run's log, :func:`history_from_events` orders operations by the
position of their ``invoke`` and ``respond`` events in the log, not by their
times, so that two events at the same simulated time keep the order in which
they happened. A run's online check folds each key's settled past into one
block as it goes (:func:`settle_key`, :mod:`paxossim.checks.folding`), so a
long run does not hold its whole history.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from paxossim.checks.interning import shared

DEFAULT_BUDGET = 2_000_000
"""Search states explored per key before the checker gives up (verdict unknown)."""


@dataclass(frozen=True)
class Operation:
    id: str
    op: str
    """``get`` or ``put``."""
    key: str
    value: str | None
    """put: the value written; get: the value read (None: the key had no value)."""
    invoke: float
    response: float | None
    """None: the operation never got an answer."""
    client: str = ""
    shown_invoke: float | None = None
    """The time to show people (the simulated time); ``invoke`` orders."""
    shown_response: float | None = None

    @property
    def shown_start(self) -> float:
        return self.shown_invoke if self.shown_invoke is not None else self.invoke

    def describe(self) -> str:
        what = f"put({self.key}, {self.value!r})" if self.op == "put" else \
            f"get({self.key}) -> {self.value!r}"
        start = self.shown_invoke if self.shown_invoke is not None else self.invoke
        end = self.shown_response if self.shown_response is not None else self.response
        answered = "never answered" if end is None else f"answered t={end:g}"
        return f"{what} [{self.id}, invoked t={start:g}, {answered}]"


@dataclass(frozen=True)
class Verdict:
    ok: bool | None
    """True linearizable, False not, None unknown (the search budget ran out)."""
    key: str | None = None
    detail: str = ""
    operations: int = 0
    time: float | None = None
    """When the violation shows: the (shown) invocation of the operation that exposes it."""

    @property
    def label(self) -> str:
        return {True: "ok", False: "violated", None: "unknown"}[self.ok]


def check_history(
    operations: Iterable[Operation], initial: str | None = None, budget: int = DEFAULT_BUDGET
) -> Verdict:
    """Check a whole get/put history, key by key."""
    by_key: dict[str, list[Operation]] = {}
    count = 0
    for operation in operations:
        if operation.op not in ("get", "put"):
            raise ValueError(f"unknown operation {operation.op!r} in {operation.id}")
        by_key.setdefault(operation.key, []).append(operation)
        count += 1
    unknown: Verdict | None = None
    for key in sorted(by_key):
        verdict = check_key(key, by_key[key], initial, budget)
        if verdict.ok is False:
            return Verdict(False, key, verdict.detail, count, verdict.time)
        if verdict.ok is None and unknown is None:
            unknown = verdict
    if unknown is not None:
        return Verdict(None, unknown.key, unknown.detail, count)
    return Verdict(True, None, "", count)


def check_key(
    key: str, operations: list[Operation], initial: str | None, budget: int = DEFAULT_BUDGET,
    start: Block | None = None,
) -> Verdict:
    """One key's verdict: the cluster method if puts write distinct values, else search.

    ``start``: the block a settled past was folded into (see :func:`settle_key`);
    ``operations`` then are those after it, and the key starts from its value.
    """
    ops = [o for o in operations if not (o.op == "get" and o.response is None)]
    state = start.value(initial) if start is not None else initial
    written = [o.value for o in ops if o.op == "put"]
    if len(set(written)) == len(written) and state not in written:
        return check_key_clusters(key, ops, initial, start)
    return check_key_search(key, ops, state, budget)


@dataclass
class Block:
    """A put (None: the initial value) and the gets that read its value, as spans."""

    put: Operation | None
    lo: float = math.inf
    """Earliest response of the block's operations."""
    hi: float = -math.inf
    """Latest invocation of the block's operations."""
    first: Operation | None = None
    """The operation whose response is ``lo``."""
    last: Operation | None = None
    """The operation whose invocation is ``hi``."""
    gone: bool = False
    """Already placed by Kahn's algorithm."""

    def add(self, operation: Operation) -> None:
        end = math.inf if operation.response is None else operation.response
        if end < self.lo:
            self.lo, self.first = end, operation
        if operation.invoke > self.hi:
            self.hi, self.last = operation.invoke, operation

    def value(self, initial: str | None) -> str | None:
        """The value the block's gets read."""
        return initial if self.put is None else self.put.value

    def name(self, initial: str | None) -> str:
        if self.put is None:
            return f"the initial value {initial!r}"
        return self.put.describe()


def check_key_clusters(key: str, ops: list[Operation], initial: str | None,
                       start: Block | None = None) -> Verdict:
    """The cluster method for puts of distinct values (see the module docstring);
    ``start`` as for :func:`check_key`."""
    blocks = _blocks(key, ops, initial, start)
    if isinstance(blocks, Verdict):
        return blocks
    return _order(key, blocks, initial, len(ops))


def settle_key(key: str, ops: list[Operation], start: Block | None) -> Block | Verdict | None:
    """The block that comes last in every linearization of ``ops`` (answered
    operations of one key, after ``start``), if there is exactly one.

    What :class:`paxossim.checks.folding.FoldingHistory` folds a key's settled
    past into. A Verdict when ``ops`` are not linearizable; None when the
    cluster method does not apply (a value put twice) or more than one block
    may come last (the key's value is not known yet).
    """
    written = [o.value for o in ops if o.op == "put"]
    if len(set(written)) != len(written) or (start is not None and
                                             start.value(None) in written):
        return None
    blocks = _blocks(key, ops, None, start)
    if isinstance(blocks, Verdict):
        return blocks
    verdict = _order(key, blocks, None, len(ops))
    if verdict.ok is False:
        return verdict
    # A block can come last iff no other block has an operation invoked after
    # one of its own was answered (it has no successor): lo >= every other hi.
    spans = sorted(blocks.values(), key=lambda b: b.hi, reverse=True)

    def latest_other(block: Block) -> float:
        others = spans[1:] if block is spans[0] else spans
        return others[0].hi if others else -math.inf

    last = [b for b in spans if b.lo >= latest_other(b)]
    if len(last) != 1:
        return None
    last[0].gone = False
    return last[0]


def _blocks(key: str, ops: list[Operation], initial: str | None,
            start: Block | None) -> dict[str | None, Block] | Verdict:
    """Each value's block, or the violation of a get that no put explains."""
    n = len(ops)
    head = Block(None, -math.inf, -math.inf) if start is None else replace(start)
    blocks: dict[str | None, Block] = {head.value(initial): head}
    for operation in ops:
        if operation.op == "put":
            blocks[operation.value] = Block(operation)
    for operation in ops:
        block = blocks.get(operation.value)
        if operation.op == "get":
            if block is None:
                since = "" if start is None else f" since {start.name(initial)} took effect"
                return Verdict(False, key, f"key {key!r}: {operation.describe()} read a value "
                               f"no put wrote{since}", n, operation.shown_start)
            put = block.put
            if put is not None and operation.response is not None \
                    and operation.response < put.invoke:
                return Verdict(False, key, f"key {key!r}: {operation.describe()} ended before "
                               f"the put of its value began: {put.describe()}", n,
                               put.shown_start)
        assert block is not None
        block.add(operation)
    return blocks


def _order(key: str, blocks: dict[str | None, Block], initial: str | None, n: int) -> Verdict:
    """Kahn's algorithm: a block may go first iff no other remaining block has an
    operation that ended before one of its own began (hi <= every other lo)."""
    by_lo = sorted(blocks.values(), key=lambda b: b.lo)
    by_hi = sorted(blocks.values(), key=lambda b: b.hi)
    lo_index = hi_index = 0
    for _ in range(len(blocks)):
        while by_lo[lo_index].gone:
            lo_index += 1
        least = by_lo[lo_index]
        second = lo_index + 1
        while second < len(by_lo) and by_lo[second].gone:
            second += 1
        next_lo = by_lo[second].lo if second < len(by_lo) else math.inf
        if least.hi <= next_lo:
            least.gone = True
            continue
        while by_hi[hi_index].gone:
            hi_index += 1
        candidate = hi_index
        if by_hi[candidate] is least:
            candidate += 1
            while candidate < len(by_hi) and by_hi[candidate].gone:
                candidate += 1
        if candidate < len(by_hi) and by_hi[candidate].hi <= least.lo:
            by_hi[candidate].gone = True
            continue
        other = by_lo[second]
        exposed = max((b.last for b in (least, other) if b.last is not None),
                      key=lambda o: o.invoke)
        return Verdict(False, key, _explain_cycle(key, least, other, initial), n,
                       exposed.shown_start)
    return Verdict(True, key, "", n)


def _explain_cycle(key: str, a: Block, b: Block, initial: str | None) -> str:
    """Blocks a and b must each come before the other: say why, with the operations."""

    def before(x: Block, y: Block) -> str:
        assert y.last is not None
        if x.first is None:
            return f"{x.name(initial)} held before {y.last.describe()} began"
        return f"{x.first.describe()} ended before {y.last.describe()} began"

    return (f"key {key!r}: no linearization: {a.name(initial)} and the gets reading it must "
            f"come both before and after {b.name(initial)} and the gets reading it "
            f"({before(a, b)}; {before(b, a)})")


def check_key_search(
    key: str, ops: list[Operation], initial: str | None, budget: int = DEFAULT_BUDGET
) -> Verdict:
    """Wing & Gong search with memoization over one key's operations."""
    ops = sorted(ops, key=lambda o: o.invoke)
    n = len(ops)
    invoke = [o.invoke for o in ops]
    response = [math.inf if o.response is None else o.response for o in ops]
    is_put = [o.op == "put" for o in ops]
    values = [o.value for o in ops]
    full = (1 << n) - 1
    seen: set[tuple[int, str | None]] = set()
    stack: list[tuple[int, str | None]] = [(0, initial)]
    deepest = (-1, 0, initial)
    while stack:
        mask, value = stack.pop()
        if mask == full:
            return Verdict(True, key, "", n)
        if (mask, value) in seen:
            continue
        seen.add((mask, value))
        if len(seen) > budget:
            return Verdict(None, key, f"key {key!r}: gave up after {budget} search states "
                           f"({n} operations)", n)
        # Scan unlinearized operations in invocation order; once one was invoked
        # after the earliest pending response, no later one can go next.
        first = (~mask & (mask + 1)).bit_length() - 1
        earliest = math.inf
        window = []
        for i in range(first, n):
            if mask >> i & 1:
                continue
            if invoke[i] > earliest:
                break
            window.append(i)
            earliest = min(earliest, response[i])
        done = mask.bit_count()
        if done > deepest[0]:
            deepest = (done, mask, value)
        candidates = [i for i in window if invoke[i] <= earliest]
        free = next((i for i in candidates if not is_put[i] and values[i] == value), None)
        if free is not None:
            stack.append((mask | 1 << free, value))
            continue
        # Pushed last is tried first: earliest response first.
        for i in sorted(candidates, key=lambda i: response[i], reverse=True):
            if is_put[i]:
                stack.append((mask | 1 << i, values[i]))
    stuck = _stuck(ops, deepest[1], response)
    return Verdict(False, key, _explain(key, ops, deepest, stuck), n, ops[stuck].shown_start)


def _stuck(ops: list[Operation], mask: int, response: list[float]) -> int:
    """The operation the deepest search state could not get past: the earliest-answered one."""
    return min((i for i in range(len(ops)) if not mask >> i & 1), key=lambda i: response[i])


def _explain(
    key: str, ops: list[Operation], deepest: tuple[int, int, str | None], first: int
) -> str:
    done, _mask, value = deepest
    return (f"key {key!r}: no linearization; the longest legal order places {done} of "
            f"{len(ops)} operations, leaving the value {value!r}, after which "
            f"{ops[first].describe()} cannot take effect")


class HistoryBuilder:
    """Client operations built as ``invoke`` and ``respond`` events come, in log order.

    ``position`` is the event's place in the log (only the order matters), so
    that two events at the same simulated time keep the order they happened in.
    Each operation is kept as a few fields, not as its events, because a long
    run's history is the largest thing its checks hold.
    """

    def __init__(self) -> None:
        self.invoked: dict[str, tuple[int, float, str, str, str | None, str]] = {}
        """id -> (position, time, op, key, value put, client)."""
        self.answered: dict[str, tuple[int, float, str | None]] = {}
        """id -> (position, time, result)."""

    def invoke(self, position: int, event: dict[str, Any]) -> None:
        self.invoked[shared(event["id"])] = (position, event["t"], shared(event["op"]),
                                             shared(event["key"]), shared(event.get("value")),
                                             shared(event["node"]))

    def respond(self, position: int, event: dict[str, Any]) -> None:
        if event["id"] not in self.answered:
            self.answered[shared(event["id"])] = (position, event["t"],
                                                  shared(event.get("result")))

    def operations(self) -> list[Operation]:
        operations = []
        for cid, (position, time, op, key, put, client) in self.invoked.items():
            reply = self.answered.get(cid)
            value = put if op == "put" else (reply[2] if reply else None)
            operations.append(Operation(
                id=cid, op=op, key=key, value=value, invoke=float(position),
                response=float(reply[0]) if reply else None, client=client,
                shown_invoke=time, shown_response=reply[1] if reply else None,
            ))
        return operations


def history_from_events(events: Iterable[dict[str, Any]], invoke: str = "invoke",
                        respond: str = "respond") -> list[Operation]:
    """Client operations from a run's ``invoke`` and ``respond`` events (kinds as named)."""
    builder = HistoryBuilder()
    for position, event in enumerate(events):
        if event["ev"] == invoke:
            builder.invoke(position, event)
        elif event["ev"] == respond:
            builder.respond(position, event)
    return builder.operations()
