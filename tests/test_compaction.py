"""Long-lived replicated logs stay small: compaction, bounded sessions, bounded catch-up."""

from __future__ import annotations

import copy
from typing import Any

from fakes import FakeContext
from replog_support import raw_scenario

from paxossim.protocols.multipaxos import (
    Cluster,
    Decisions,
    HeartbeatAck,
    MultiPaxosOptions,
    Replica,
)
from paxossim.protocols.replicated import Client, ClientOptions, KVStore, Reply, Submit
from paxossim.scenario.model import scenario_from_dict
from paxossim.sim.runtime import Simulation

REPLICAS = ("r1", "r2", "r3", "r4", "r5")


def simulate_raw(raw: dict[str, Any], seed: int = 1) -> Simulation:
    """Run a scenario and keep the Simulation, whose hosts hold the nodes' final state."""
    sim = Simulation(scenario_from_dict(copy.deepcopy(raw)), seed)
    sim.run()
    return sim


def long_cluster(window: int = 8, session_window: int = 8) -> dict[str, Any]:
    raw = raw_scenario("replicated_cluster")
    raw["horizon"] = 20000.0
    raw["network"]["loss"] = 0.1
    raw["multipaxos"] = {"window": window, "session_window": session_window}
    return raw


# -- Multi-Paxos log compaction ------------------------------------------------


def test_replicas_hold_a_window_of_slots_not_the_whole_log() -> None:
    sim = simulate_raw(long_cluster())
    replicas = [host for host in sim.hosts.values() if isinstance(host.node, Replica)]
    assert replicas
    for host in replicas:
        node = host.node
        assert isinstance(node, Replica)
        applied = host.storage["applied"]
        assert applied > 300, "too few commands committed to show anything"
        # O(window) per-slot entries (plus the lag since the last ack), not O(applied).
        assert len(node.decided) <= 4 * 8, (host.node_id, len(node.decided), applied)
        assert len(node.accepted) <= 4 * 8, (host.node_id, len(node.accepted), applied)
        assert host.storage["base"] > applied - 4 * 8


def test_compaction_is_deterministic() -> None:
    raw = long_cluster()
    raw["horizon"] = 5000.0
    first, again = simulate_raw(raw, seed=3).stream, simulate_raw(raw, seed=3).stream
    assert first.size > 1000 and first.digest() == again.digest()


def test_a_replica_down_for_long_catches_up_after_compaction() -> None:
    # r5 is down while hundreds of slots are decided: the others keep those
    # slots (r5 has not applied them), then send them and compact once r5 has.
    raw = long_cluster()
    raw["horizon"] = 12000.0
    raw["faults"] = {"crashes": [{"node": "r5", "at": 1000.0, "recover": 6000.0}]}
    sim = simulate_raw(raw)
    applied = {name: host.storage["applied"] for name, host in sim.hosts.items()
               if isinstance(host.node, Replica)}
    assert min(applied.values()) > max(applied.values()) - 4 * 8, applied
    r5 = sim.hosts["r5"].node
    assert isinstance(r5, Replica) and len(r5.decided) <= 4 * 8
    assert sim.hosts["r1"].storage["base"] > 300


def test_a_follower_never_compacts_past_what_it_applied() -> None:
    ctx = FakeContext("r2")
    node = Replica(ctx, Cluster(REPLICAS, "correct", MultiPaxosOptions()))
    node.on_start()
    node.on_message("r1", Decisions((1, "r1"), ((0, "c1#1|put|x|a"), (1, "c1#2|put|x|b"))))
    node.compact(10)  # a claim beyond what we applied is capped at our own progress
    assert ctx.storage["base"] == 2 and node.decided == {}
    node.on_message("r1", Decisions((1, "r1"), ((1, "c1#2|put|x|b"),)))
    assert [e["instance"] for e in ctx.events if e["ev"] == "applied"] == [0, 1]


# -- catch-up under duplication (issue 13, item 4) ----------------------------


def lagging_leader() -> tuple[Replica, FakeContext]:
    """A leader that has decided slots 0..9 and one follower reported at slot 0."""
    ctx = FakeContext("r1")
    node = Replica(ctx, Cluster(REPLICAS, "correct", MultiPaxosOptions(catchup_batch=4)))
    node.on_start()
    node.ballot, node.role = (1, "r1"), "leader"
    for slot in range(10):
        node.learn(slot, f"c1#{slot + 1}|put|x|v")
    ctx.take()
    return node, ctx


def test_stale_and_duplicate_acks_do_not_trigger_new_batches() -> None:
    node, ctx = lagging_leader()
    node.on_message("r2", HeartbeatAck((1, "r1"), 0))
    node.on_message("r2", HeartbeatAck((1, "r1"), 4))
    # Copies of both acks arrive again: neither reports progress past 4.
    for upto in (0, 4, 0, 4, 0):
        node.on_message("r2", HeartbeatAck((1, "r1"), upto))
    batches = [msg for _, msg in ctx.take() if isinstance(msg, Decisions)]
    assert [batch.entries[0][0] for batch in batches] == [0, 4]
    # No progress for a heartbeat interval: the batch may be lost, send it again.
    ctx.now += node.options.heartbeat_interval
    node.on_message("r2", HeartbeatAck((1, "r1"), 4))
    assert [msg.entries[0][0] for _, msg in ctx.take() if isinstance(msg, Decisions)] == [4]


def test_duplicating_network_does_not_storm() -> None:
    # Before the fix this run sent 75,039 messages (and 0.8 passed 3 GB).
    raw = raw_scenario("replicated_cluster")
    raw["network"]["duplicate"] = 0.75
    sim = simulate_raw(raw)
    sends = sim.stream.counts["send"]
    assert sends < 15000, sends


# -- exactly-once sessions ----------------------------------------------------


def test_session_table_keeps_a_window_per_client() -> None:
    store = KVStore({}, window=4)
    for seq in range(1, 101):
        assert store.apply(f"c1#{seq}|put|x|{seq}") == (True, "ok")
    assert store.entries() <= 2 * 4
    # Everything at or below high - window counts as executed: never run twice.
    assert store.apply("c1#3|put|x|3") == (False, None)
    assert store.apply("c1#100|put|x|100") == (False, "ok")
    assert store.data == {"x": "100"}


def test_session_table_executes_out_of_order_commands_once() -> None:
    store = KVStore({}, window=4)
    assert store.apply("c1#3|put|x|a") == (True, "ok")
    assert store.executed("c1#3") and not store.executed("c1#2")
    assert store.apply("c1#2|get|x") == (True, "a")
    assert store.apply("c1#2|get|x") == (False, "a")
    assert store.apply("opaque") == (True, None) and store.executed("opaque")


def test_session_table_stays_bounded_in_a_long_run() -> None:
    sim = simulate_raw(long_cluster(session_window=8))
    for host in sim.hosts.values():
        if isinstance(host.node, Replica):
            assert host.storage["applied"] > 300
            assert host.node.kv.entries() <= 3 * 2 * 8  # three clients


def test_client_waits_while_its_oldest_command_is_a_window_behind() -> None:
    ctx = FakeContext("c1")
    client = Client(ctx, REPLICAS, ClientOptions(outstanding=2, session_window=3), home=0)
    client.on_start()  # c1#1 and c1#2
    client.on_reply("r1", Reply("c1#2", True, "ok"))  # c1#3: 3 - 1 < 3
    client.on_reply("r1", Reply("c1#3", True, "ok"))  # c1#4 would be 3 past c1#1: wait
    submitted = [msg.command.split("|")[0] for _, msg in ctx.take() if isinstance(msg, Submit)]
    assert submitted == ["c1#1", "c1#2", "c1#3"] and client.deferred == 1
    client.on_reply("r1", Reply("c1#1", True, "ok"))
    submitted = [msg.command.split("|")[0] for _, msg in ctx.take() if isinstance(msg, Submit)]
    assert submitted == ["c1#4", "c1#5"] and client.deferred == 0
