"""Replicated-log invariants and figures, on hand-written event streams."""

from __future__ import annotations

from typing import Any

from paxossim.protocols.replicated_checks import CommandIds, ReplicatedLogCheck

NODES = {"r1": ["replica"], "r2": ["replica"], "r3": ["replica"], "c1": ["client"]}


def run(events: list[dict[str, Any]], horizon: float = 100.0) -> tuple[dict[str, Any], list]:
    """Feed ``events`` (protocol kinds written bare) to a multipaxos check; its results."""
    check = ReplicatedLogCheck("multipaxos",
                               {"nodes": NODES, "horizon": horizon, "time_unit": "ms"})
    for event in events:
        kind = event["ev"]
        full = kind if kind in ("send", "crash", "recover") else f"multipaxos.{kind}"
        assert full in check.kinds, full
        check.feed(event | {"ev": full})
    figures, violations = check.finish(horizon)
    return figures["replicated_log"], violations


def applied(t: float, node: str, slot: int, value: str, executed: bool = True) -> dict:
    return {"t": t, "ev": "applied", "node": node, "instance": slot, "value": value,
            "executed": executed}


def test_prefix_logs_pass() -> None:
    events = [applied(1, "r1", 0, "a#1|get|x"), applied(2, "r2", 0, "a#1|get|x"),
              applied(3, "r1", 1, "noop", False), applied(4, "r1", 2, "b#1|get|x")]
    assert run(events)[1] == []


def test_diverging_logs_skipped_slots_and_double_execution_are_caught() -> None:
    events = [applied(1, "r1", 0, "a#1|get|x"), applied(2, "r2", 0, "b#1|get|x"),
              applied(3, "r1", 2, "c#1|get|x"), applied(4, "r2", 1, "b#1|get|x")]
    found = {(v.invariant, v.instance) for v in run(events)[1]}
    assert found == {("prefix", 0), ("prefix", 2), ("exactly-once", 1)}


def test_amnesia_restart_may_apply_again() -> None:
    events = [applied(1, "r1", 0, "a#1|get|x"),
              {"t": 2, "ev": "recover", "node": "r1", "amnesia": True},
              applied(3, "r1", 0, "a#1|get|x")]
    assert run(events)[1] == []


def test_acknowledged_put_missing_from_the_log_is_caught() -> None:
    events = [
        {"t": 0, "ev": "invoke", "node": "c1", "id": "c1#1", "op": "put", "key": "x",
         "value": "c1#1"},
        {"t": 0, "ev": "invoke", "node": "c1", "id": "c1#2", "op": "get", "key": "x",
         "value": None},
        {"t": 5, "ev": "respond", "node": "c1", "id": "c1#1", "result": "ok"},
        {"t": 6, "ev": "respond", "node": "c1", "id": "c1#2", "result": None},
    ]
    assert [v.invariant for v in run(events)[1]] == ["durability"]
    learned = {"t": 4, "ev": "learned", "node": "r1", "instance": 0, "value": "c1#1|put|x|c1#1"}
    assert run([learned, *events])[1] == []


def test_time_without_leader_counts_gaps_between_reigns() -> None:
    events = [
        {"t": 10, "ev": "campaign", "node": "r1"},
        {"t": 40, "ev": "elected", "node": "r1"},
        {"t": 1000, "ev": "crash", "node": "r1"},
        {"t": 1250, "ev": "elected", "node": "r2"},
        {"t": 1300, "ev": "elected", "node": "r3"},  # overlapping reigns
        {"t": 1400, "ev": "deposed", "node": "r2"},
        {"t": 2000, "ev": "deposed", "node": "r3"},
    ]
    figures = run(events, horizon=3000.0)[0]
    assert figures["time_without_leader"] == 40 + 250 + 1000
    assert (figures["elections"], figures["leaders_elected"]) == (1, 3)


def test_figures_count_network_messages_per_committed_command() -> None:
    events = [
        {"t": 0, "ev": "invoke", "node": "c1", "id": "c1#1", "op": "get", "key": "x",
         "value": None},
        {"t": 0, "ev": "send", "src": "c1", "dst": "r1"},
        {"t": 1, "ev": "send", "src": "r1", "dst": "r1"},  # a self-send: not network
        {"t": 1, "ev": "send", "src": "r1", "dst": "r2"},
        {"t": 2, "ev": "send", "src": "r2", "dst": "r1"},
        {"t": 3, "ev": "learned", "node": "r1", "instance": 0, "value": "c1#1|get|x"},
        {"t": 3, "ev": "learned", "node": "r1", "instance": 1, "value": "noop"},
        {"t": 4, "ev": "send", "src": "r1", "dst": "c1"},
        {"t": 5, "ev": "respond", "node": "c1", "id": "c1#1", "result": None},
    ]
    figures = run(events)[0]
    assert figures["commands_committed"] == 1
    assert figures["messages_per_command"] == 4
    assert figures["replica_messages_per_command"] == 2
    assert figures["commit_latency"]["p50"] == 5
    assert figures["throughput_per_s"] == 200.0
    assert figures["time_without_leader"] is None
    assert figures["linearizability"]["verdict"] == "ok"


def test_downtime_counts_each_crash_of_the_only_leader_until_the_next_election() -> None:
    events = [
        {"t": 10, "ev": "campaign", "node": "r1"}, {"t": 20, "ev": "elected", "node": "r1"},
        {"t": 30, "ev": "crash", "node": "r2"},    # a follower: no downtime
        {"t": 50, "ev": "crash", "node": "r1"},    # the leader: downtime starts
        {"t": 60, "ev": "campaign", "node": "r3"}, {"t": 80, "ev": "elected", "node": "r3"},
        {"t": 85, "ev": "elected", "node": "r2"},  # overlapping reigns
        {"t": 90, "ev": "crash", "node": "r3"},    # another leader still leads
    ]
    assert run(events)[0]["leader_crash_downtime"]["values"] == [30.0]
    assert run(events[:3])[0]["leader_crash_downtime"] is None


def test_a_put_acknowledged_before_it_is_decided_is_durable_once_decided() -> None:
    invoke = {"t": 0, "ev": "invoke", "node": "c1", "id": "c1#1", "op": "put", "key": "x",
              "value": "c1#1"}
    answer = {"t": 5, "ev": "respond", "node": "c1", "id": "c1#1", "result": "ok"}
    learned = {"t": 7, "ev": "learned", "node": "r1", "instance": 0, "value": "c1#1|put|x|c1#1"}
    assert run([invoke, answer, learned])[1] == []
    assert [v.time for v in run([invoke, answer, answer])[1]] == [5, 5]


def test_command_ids_are_a_set() -> None:
    ids = CommandIds()
    added = ["c1#1", "c1#9", "c2#1", "c1#07", "noop", "x", "c1#", "#3", "c1#9", "c1#1000"]
    for cid in added:
        ids.add(cid)
    assert len(ids) == len(set(added))
    for cid in [*added, "c1#7", "c1#2", "c3#1", "c1#10000", "y"]:
        assert (cid in ids) == (cid in added), cid
    assert "c1#07" in ids.others and len(ids.bits["c1"]) == 1000 // 8 + 1


def test_exactly_once_remembers_every_executed_id_for_the_whole_run() -> None:
    # c1#1 executed again 9000 slots later, after every replica applied them all.
    events = [applied(slot, node, slot, f"c{2 + slot % 3}#{slot}|get|x")
              for slot in range(1, 9001) for node in ("r1", "r2", "r3")]
    first = [applied(0, node, 0, "c1#1|get|x") for node in ("r1", "r2", "r3")]
    again = [applied(9001, "r1", 9001, "c1#1|get|x")]
    found = run(first + events + again)[1]
    assert [(v.invariant, v.instance) for v in found] == [("exactly-once", 9001)]
