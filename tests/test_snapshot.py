"""Node snapshots: restore gives the same future; equal states, equal values and digests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import simpy
from fakes import FakeContext
from snapshot_cases import BY_NAME, CASES, Case, advance, play

from paxossim.protocols import multipaxos, paxos
from paxossim.protocols.base import Message, Node
from paxossim.rng import Stream, generator
from paxossim.scenario.model import load_scenario
from paxossim.sim.runtime import Simulation
from paxossim.sim.snapshot import NodeSnapshot, SnapshotError, encode_state, restore, snapshot

IDS = [case.name for case in CASES]


def restored(snap: NodeSnapshot, now: float) -> tuple[Node, FakeContext]:
    """``snap`` restored into a fresh context whose own stream differs (seed 99):
    only a restored stream position can make its draws match."""
    ctx = FakeContext(snap.node_id, seed=99)
    ctx.now = ctx.clock = now
    node = restore(snap, ctx)
    assert node is not None
    return node, ctx


def future(node: Node, ctx: FakeContext, case: Case) -> tuple[Any, ...]:
    ctx.sent, ctx.events = [], []
    play(node, ctx, case.after)
    return ctx.sent, ctx.events, ctx.timers, ctx.storage


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_restored_node_has_the_same_future(case: Case) -> None:
    node, ctx = case.driven()
    snap = snapshot(ctx, node)
    copy, copy_ctx = restored(snap, ctx.now)
    assert snapshot(copy_ctx, copy) == snap
    assert copy_ctx.timers == ctx.timers
    original = future(node, ctx, case)
    again = future(copy, copy_ctx, case)
    assert original == again
    assert original[0] and original[1], "the future must do something to compare"
    assert snapshot(ctx, node) == snapshot(copy_ctx, copy)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_future_depends_on_the_restored_stream_and_timers(case: Case) -> None:
    """The control for the test above: without the stream position or the timers
    the future differs for every case that draws or waits."""
    node, ctx = case.driven()
    snap = snapshot(ctx, node)
    bare, bare_ctx = restored(snap, ctx.now)
    bare_ctx.rng = Stream(99, "other")
    bare_ctx.timers = {}
    if case.name in ("paxos-acceptor-learner", "paxos-acceptor-forgetful"):
        pytest.skip("acceptors and learners neither draw nor wait")
    assert future(node, ctx, case) != future(bare, bare_ctx, case)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_equal_states_give_equal_snapshots_hashes_and_digests(case: Case) -> None:
    first = snapshot(*reversed(case.driven()))
    second = snapshot(*reversed(case.driven()))
    assert first == second and hash(first) == hash(second)
    assert first.digest() == second.digest()
    assert len({first, second}) == 1


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_different_states_give_different_snapshots(case: Case) -> None:
    node, ctx = case.driven()
    snap = snapshot(ctx, node)
    play(node, ctx, case.after[:1])
    moved = snapshot(ctx, node)
    assert moved != snap and moved.digest() != snap.digest()


def test_the_stream_position_and_the_timers_are_part_of_the_state() -> None:
    node, ctx = BY_NAME["p2p-peer"].driven()
    snap = snapshot(ctx, node)
    ctx.rng.random()
    drawn = snapshot(ctx, node)
    assert drawn != snap
    ctx.rng.set_state(snap.rng)
    assert snapshot(ctx, node) == snap
    ctx.timers["attempt"] += 1.0
    assert snapshot(ctx, node) != snap


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_snapshot_does_not_alias_the_node(case: Case) -> None:
    node, ctx = case.driven()
    snap = snapshot(ctx, node)
    key, image = snap.key, snap.image
    play(node, ctx, case.after)
    for value in ctx.storage.values():
        if isinstance(value, dict):
            value.clear()
    ctx.storage["scribble"] = 1
    assert (snap.key, snap.image) == (key, image)
    copy, copy_ctx = restored(snap, snap.taken_at)
    assert "scribble" not in copy_ctx.storage
    assert snapshot(copy_ctx, copy) == snap


def test_restore_keeps_references_to_storage_shared() -> None:
    node, ctx = BY_NAME["multipaxos-leader"].driven()
    copy, copy_ctx = restored(snapshot(ctx, node), ctx.now)
    assert isinstance(copy, multipaxos.Replica)
    assert copy.accepted is copy_ctx.storage["accepted"]
    assert copy.kv.data is copy_ctx.storage["kv"]
    assert copy.ctx is copy_ctx
    node, ctx = BY_NAME["paxos-acceptor-learner"].driven()
    copy, copy_ctx = restored(snapshot(ctx, node), ctx.now)
    assert isinstance(copy, paxos.PaxosNode) and copy.acceptor and copy.learner
    assert copy.acceptor.state is copy_ctx.storage
    assert copy.handlers[paxos.Prepare] == [copy.acceptor.on_prepare]
    # The forgetful variant's volatile state is its own dict, and stays so.
    node, ctx = BY_NAME["paxos-acceptor-forgetful"].driven()
    copy, copy_ctx = restored(snapshot(ctx, node), ctx.now)
    assert isinstance(copy, paxos.PaxosNode) and copy.acceptor
    assert copy.acceptor.state is not copy_ctx.storage
    assert copy.acceptor.state["promised"] == (1, "P1")


def test_sharing_is_part_of_the_state() -> None:
    """A role whose state *is* storage differs from one holding an equal copy."""
    shared, ctx = BY_NAME["paxos-acceptor-learner"].driven()
    assert shared.acceptor is not None
    detached = snapshot(ctx, shared)
    shared.acceptor.state = dict(ctx.storage)
    assert snapshot(ctx, shared) != detached


def test_a_down_node_is_its_storage_and_stream() -> None:
    node, ctx = BY_NAME["multipaxos-follower"].driven()
    down = snapshot(ctx, None)
    assert not down.up and down.timers == ()
    assert down != snapshot(ctx, node)
    fresh = FakeContext("r1", seed=99)
    assert restore(down, fresh) is None
    assert fresh.storage == ctx.storage and fresh.rng.state() == ctx.rng.state()


def test_restoring_into_another_node_is_refused() -> None:
    node, ctx = BY_NAME["p2p-peer"].driven()
    with pytest.raises(ValueError, match="'r1' restored into 'r2'"):
        restore(snapshot(ctx, node), FakeContext("r2"))


def test_digests_are_stable_across_processes(tmp_path: Path) -> None:
    """Sets of strings iterate in another order under another PYTHONHASHSEED;
    the digests must not move."""
    here = {case.name: snapshot(*reversed(case.driven())).digest() for case in CASES}
    script = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from snapshot_cases import CASES\n"
        "from paxossim.sim.snapshot import snapshot\n"
        "for case in CASES:\n"
        "    node, ctx = case.driven()\n"
        "    print(case.name, snapshot(ctx, node).digest())\n"
    )
    tests = str(Path(__file__).resolve().parent)
    for seed in ("1", "4242"):
        out = subprocess.run([sys.executable, "-c", script, tests], check=True,
                             capture_output=True, text=True,
                             env=dict(os.environ, PYTHONHASHSEED=seed)).stdout
        there = dict(line.split() for line in out.splitlines())
        assert there == here


# -- what cannot be snapshotted -------------------------------------------------


class Holder(Node):
    """A node that keeps whatever a test gives it."""

    def __init__(self, ctx: FakeContext, thing: Any) -> None:
        super().__init__(ctx)
        self.thing = thing

    def on_message(self, src: str, msg: Message) -> None:
        """Never called."""


def handler(_src: str, _msg: Message) -> None:
    """A module-level function: code, not state, so a node may hold it."""


@pytest.mark.parametrize(
    ("thing", "problem"),
    [
        (lambda: None, "<lambda> is local to a function"),
        (simpy.Environment(), "a simpy.core.Environment cannot be part"),
        (generator(0, "x"), "numpy.random._generator.Generator cannot be part"),
        ({"k": [1, (i for i in range(2))]}, "a generator cannot be part"),
        ({Message: [1], frozenset({"a"}): dict}, None),
    ],
    ids=["lambda", "simpy", "numpy", "generator", "class-key"],
)
def test_unsnapshottable_state_is_refused_with_its_path(thing: Any, problem: str | None) -> None:
    ctx = FakeContext("X")
    node = Holder(ctx, thing)
    if problem is None:
        snapshot(ctx, node)
        return
    with pytest.raises(SnapshotError, match=problem) as caught:
        snapshot(ctx, node)
    assert str(caught.value).startswith("Holder.thing")


def test_mutable_dict_keys_and_subclassed_containers_are_refused() -> None:
    class Bag(dict[str, int]):
        pass

    ctx = FakeContext("X")
    with pytest.raises(SnapshotError, match="Bag subclasses dict"):
        snapshot(ctx, Holder(ctx, Bag()))
    with pytest.raises(SnapshotError, match="as a dict key"):
        encode_state({Holder(ctx, 1): 1})


def test_what_a_node_may_hold_restores_bound_to_the_new_context() -> None:
    ctx = FakeContext("X")
    node = Holder(ctx, {"send": ctx.send, "rng": ctx.rng, "handler": handler,
                        "big": 1 << 100, "nan": float("nan"), "kinds": {Message: 1}})
    ctx.rng.random()
    snap = snapshot(ctx, node)
    copy = restore(snap, FakeContext("X", seed=5))
    assert isinstance(copy, Holder)
    thing = copy.thing
    assert thing["send"].__self__ is copy.ctx and thing["rng"] is copy.ctx.rng
    assert thing["handler"] is handler and thing["big"] == 1 << 100
    assert thing["rng"].random() == ctx.rng.random()


def test_the_encoding_tells_types_apart_and_ignores_insertion_order() -> None:
    assert encode_state([1]) != encode_state((1,)) != encode_state({1})
    assert encode_state(1) != encode_state(1.0) != encode_state(True)
    assert encode_state({"b": 1, "a": {3, 1, 2}}) == encode_state({"a": {2, 3, 1}, "b": 1})
    assert encode_state({2: "x", "2": "y"}) == encode_state({"2": "y", 2: "x"})


# -- random streams ---------------------------------------------------------------


@pytest.mark.parametrize("draws", [0, 1, 8, 9, 100])
def test_a_stream_resumes_from_its_state(draws: int) -> None:
    stream = Stream(3, "s")
    for _ in range(draws):
        stream.random()
    state = stream.state()
    other = Stream(8, "elsewhere")
    other.set_state(state)
    assert other.state() == state
    assert [other.random() for _ in range(50)] == [stream.random() for _ in range(50)]


def test_advance_fires_timers_in_time_order() -> None:
    """The harness itself: timers set while others fire are honoured in time order."""
    node, ctx = BY_NAME["kv-client-open"].fresh()
    advance(node, ctx, 500.0)
    kinds = [e["ev"] for e in ctx.events if e["ev"] != "request"]
    # Arrivals at rate 0.02 and retries every 150 interleave by time.
    assert kinds.index("client_retry") < len(kinds) - 1 - kinds[::-1].index("invoke")
    assert ctx.now == 500.0 and min(ctx.timers.values()) > 500.0


# -- a real run ---------------------------------------------------------------------

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def run_to(name: str, seed: int, until: float) -> Simulation:
    sim = Simulation(load_scenario(SCENARIOS / f"{name}.toml"), seed)
    sim.start()
    sim.env.run(until=until)
    return sim


@pytest.mark.parametrize(("name", "until"), [("leader_failover", 3000.0),
                                             ("peer_to_peer", 1500.0),
                                             ("dueling_proposers", 60.0)])
def test_a_running_simulation_snapshots_every_host(name: str, until: float) -> None:
    sim = run_to(name, 7, until)
    snaps = sim.snapshot_nodes()
    assert snaps == run_to(name, 7, until).snapshot_nodes()  # same seed, same states
    assert snaps != run_to(name, 8, until).snapshot_nodes()
    assert any(snap.timers for snap in snaps.values())
    for node_id, snap in snaps.items():
        host = sim.hosts[node_id]
        assert snap.up == host.up
        assert dict(snap.timers) == host.pending_timers()
        fresh = FakeContext(node_id, seed=99)
        fresh.now = fresh.clock = until
        assert snapshot(fresh, restore(snap, fresh)) == snap
        assert fresh.storage == host.storage
    if name == "leader_failover":
        assert not snaps["r1"].up  # crashed at 2000, recovers at 4000
