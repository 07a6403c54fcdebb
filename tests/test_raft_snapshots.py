"""Raft's log compaction (thesis chapter 5): snapshots every K applied entries, and
InstallSnapshot for a follower that needs entries its leader discarded."""

from __future__ import annotations

from typing import Any

import pytest
from replog_support import raw_scenario, run_named, run_raw

from paxossim.protocols.raft.snapshots import restore, state_of
from paxossim.protocols.replicated import KVStore

EVERY = 10
DOWN = {"crashes": [{"node": "S5", "at": 200.0, "recover": 1500.0}]}


def compacting_run(seed: int = 1) -> Any:
    return run_named("raft_cluster", seed, top={"faults": DOWN},
                     options={"snapshot_every": EVERY})


def test_a_follower_down_past_the_compacted_prefix_catches_up_by_snapshot() -> None:
    run = compacting_run()
    assert run.safe
    assert run.summary["replicated_log"]["linearizability"]["verdict"] == "ok"
    events = run.events
    after = [e for e in events if e.get("node") == "S5" and e["t"] >= 1500.0
             and e["ev"] in ("raft.applied", "raft.installed")]
    first = after[0]
    assert first["ev"] == "raft.installed", "its first state after the restart is a snapshot"
    leaders = {e["node"] for e in events if e["ev"] == "raft.elected"}
    assert first["source"] in leaders
    compacted = {e["upto"] for e in events
                 if e["ev"] == "raft.compacted" and e["node"] == first["source"]}
    assert first["upto"] in compacted
    applied = [e["instance"] for e in after[1:] if e["ev"] == "raft.applied"]
    assert applied[0] >= first["upto"], "it applies on from the snapshot, not from the start"
    last = max(e["instance"] for e in events if e["ev"] == "raft.applied")
    assert max(applied) >= last - EVERY, "and keeps up with the log afterwards"


def test_a_server_compacts_once_k_entries_are_applied_and_keeps_fewer_after() -> None:
    run = compacting_run(2)
    applied: dict[str, int] = {}
    start: dict[str, int] = {}
    for event in run.events:
        node = event.get("node")
        if event["ev"] == "raft.applied":
            applied[node] = event["instance"]
        elif event["ev"] == "raft.compacted":
            assert event["upto"] == applied[node] + 1
            assert event["upto"] - start.get(node, 0) >= EVERY
            start[node] = event["upto"]
        elif event["ev"] == "raft.installed":
            start[node] = event["upto"]
    assert len(start) == 5
    for node, last in applied.items():
        assert last - start[node] + 1 < EVERY


def test_snapshots_are_off_by_default() -> None:
    raw = raw_scenario("raft_cluster")
    raw["faults"] = DOWN
    run = run_raw(raw, seed=1)
    kinds = {e["ev"] for e in run.events}
    assert not kinds & {"raft.compacted", "raft.installed"}
    assert not [e for e in run.events if e["ev"] == "send" and e.get("type") == "install_snapshot"]


def test_same_seed_same_log_with_snapshots() -> None:
    assert compacting_run(3).lines == compacting_run(3).lines


def test_a_state_machine_survives_the_round_trip_through_a_snapshot() -> None:
    source = KVStore({})
    for command in ("c1#1|put|x|1", "c1#2|put|y|2", "c2#1|put|x|3", "opaque"):
        source.apply(command)
    state = state_of(source)
    hash(state)  # travels in a frozen message
    target = KVStore({"kv": {"z": "9"}})
    restore(target, state)
    assert (target.data, target.results, target.sessions) == (
        source.data, source.results, source.sessions)
    assert target.data is not source.data and target.sessions["c1"][1].keys() == {1, 2}


def test_snapshot_every_must_be_a_positive_integer() -> None:
    from paxossim.errors import UserError
    raw = raw_scenario("raft_cluster")
    raw["raft"] = {"snapshot_every": 0}
    with pytest.raises(UserError, match="snapshot_every"):
        run_raw(raw)
