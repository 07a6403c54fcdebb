"""The folding client history gives the verdict the whole history gives, in bounded memory."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from paxossim.checks.folding import FoldingHistory
from paxossim.checks.linearizability import (
    HistoryBuilder,
    Operation,
    Verdict,
    check_history,
    settle_key,
)


def client_events(seed: int, count: int = 300, keys: int = 2, stale: float = 0.0,
                  unanswered: float = 0.02) -> list[dict[str, Any]]:
    """invoke/respond events of three sequential clients on a linearizable register
    per key (each operation takes effect at a random point of its span); with
    probability ``stale`` a get returns a value up to three puts old instead."""
    rng = random.Random(seed)
    spans = []
    clock = [0.0, 0.0, 0.0]
    for client in range(3):
        for seq in range(count // 3):
            start = clock[client] + 2 * rng.random()
            end = start + 3 * rng.random()
            clock[client] = end
            spans.append((rng.uniform(start, end), client, seq, start, end))
    spans.sort()
    written: dict[str, list[str | None]] = {}
    timed = []
    for _point, client, seq, start, end in spans:
        cid, key = f"c{client}#{seq}", f"k{rng.randrange(keys)}"
        puts = written.setdefault(key, [None])
        op = "put" if rng.random() < 0.5 else "get"
        result = None
        if op == "put":
            puts.append(cid)
        else:
            back = rng.randint(1, 3) if rng.random() < stale else 0
            result = puts[max(0, len(puts) - 1 - back)]
        timed.append((start, 0, {"ev": "invoke", "t": start, "node": f"c{client}", "id": cid,
                                 "op": op, "key": key, "value": cid if op == "put" else None}))
        if rng.random() >= unanswered:
            timed.append((end, 1, {"ev": "respond", "t": end, "node": f"c{client}", "id": cid,
                                   "result": result}))
    timed.sort(key=lambda item: item[:2])
    return [event for _t, _order, event in timed]


def verdicts(events: list[dict[str, Any]], keep: int) -> tuple[Verdict, Verdict, FoldingHistory]:
    folding, whole = FoldingHistory(keep), HistoryBuilder()
    for position, event in enumerate(events):
        for history in (folding, whole):
            (history.invoke if event["ev"] == "invoke" else history.respond)(position, event)
    return folding.verdict(), check_history(whole.operations()), folding


def test_folded_and_whole_histories_give_the_same_verdict() -> None:
    folded = violated = 0
    for seed in range(120):
        for stale in (0.0, 0.02):
            mine, whole, history = verdicts(client_events(seed, stale=stale), keep=8)
            folded += sum(key.start is not None for key in history.keys.values())
            violated += whole.ok is False
            assert mine.ok == whole.ok and mine.operations == whole.operations, (seed, stale)
            # Only a read of a value folded away before its answer came is worded
            # otherwise (no put wrote it since the block the past was folded into).
            if " since " not in mine.detail:
                assert mine == whole, (seed, stale)
    assert folded > 100 and violated > 20  # both paths were exercised


def test_memory_is_bounded_by_keep_and_what_is_pending() -> None:
    events = client_events(7, count=3000, keys=2, unanswered=0.0)
    history = FoldingHistory(keep=16)
    largest = 0
    for position, event in enumerate(events):
        (history.invoke if event["ev"] == "invoke" else history.respond)(position, event)
        largest = max(largest, max(len(key.live) for key in history.keys.values()))
    assert largest < 200 and history.count == 3000 - 3000 % 3
    assert history.verdict().ok is True


def test_same_events_same_verdict() -> None:
    events = client_events(3, stale=0.05)
    assert verdicts(events, 8)[0] == verdicts(events, 8)[0]


def op(cid: str, kind: str, value: str | None, start: float, end: float) -> Operation:
    return Operation(cid, kind, "x", value, start, end)


def test_settle_key_finds_the_one_block_that_comes_last() -> None:
    # put a, then put b, then a get of b: b's block is last in every order.
    ops = [op("a", "put", "a", 0, 1), op("b", "put", "b", 2, 3), op("g", "get", "b", 4, 5)]
    last = settle_key("x", ops, None)
    assert last is not None and not isinstance(last, Verdict) and last.value(None) == "b"
    assert (last.lo, last.hi) == (3, 4)
    # Two overlapping puts and nothing after: either may be last, the value is open.
    assert settle_key("x", [op("a", "put", "a", 0, 3), op("b", "put", "b", 1, 4)], None) is None
    # A stale read: not linearizable, and the reason comes back.
    stale = [*ops, op("h", "get", "a", 6, 7)]
    found = settle_key("x", stale, None)
    assert isinstance(found, Verdict) and found.ok is False


def test_runs_folding_every_few_operations_summarize_as_runs_that_never_fold(
        monkeypatch: Any) -> None:
    import paxossim.checks.folding as folding
    from paxossim.runs import execute
    from paxossim.scenario.model import load_scenario

    folds: list[object] = []

    def counting(*args: Any) -> object:
        found = settle_key(*args)
        folds.append(found)
        return found

    monkeypatch.setattr(folding, "settle_key", counting)
    for name, sets in (("leader_partitioned", ['variant="stale-read-leader"']),
                       ("leader_failover", [])):
        scenario = load_scenario(Path(__file__).parent.parent / "scenarios" / f"{name}.toml",
                                 sets)
        monkeypatch.setattr(folding, "KEEP", 10**9)
        whole = execute(scenario, 1, keep=False).summary
        monkeypatch.setattr(folding, "KEEP", 4)
        assert execute(scenario, 1, keep=False).summary == whole, name
    assert sum(1 for found in folds if found is not None and not isinstance(found, Verdict)) \
        > 20
