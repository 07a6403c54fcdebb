"""The example protocol of docs/writing-a-protocol.md: its nodes by hand, its
runs under run/explore/sweep, its broken variant caught by the generic
checker, and a third-party protocol registered through the entry-point group."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fakes import FakeContext

import paxossim
from paxossim import protocols
from paxossim.cli import main
from paxossim.experiments.explore import explore
from paxossim.protocols.leader_write import (
    Ack,
    ClientRequest,
    Cluster,
    Leader,
    LeaderWriteProtocol,
    Replica,
    Write,
)
from paxossim.protocols.leader_write.variants import OverwriteReplica
from paxossim.protocols.quorums import Quorums
from paxossim.sim.snapshot import snapshot

REPLICAS = ("R1", "R2", "R3")
CLUSTER = Cluster("L", REPLICAS, Quorums.of(REPLICAS), resend_every=50.0)


# -- nodes fed by hand ------------------------------------------------------------


def test_the_leader_writes_a_new_value_to_every_replica_once() -> None:
    ctx = FakeContext("L")
    leader = Leader(ctx, CLUSTER)
    leader.on_message("client", ClientRequest("x"))
    assert ctx.take() == [(r, Write("x")) for r in REPLICAS]
    assert ctx.events == [{"ev": "write", "value": "x", "again": False}]
    assert ctx.timers == {"resend": 50.0}
    leader.on_message("client", ClientRequest("x"))  # a client's retry: nothing new
    assert ctx.take() == []
    leader.on_message("client", ClientRequest("y"))  # another value: written too
    assert ctx.take() == [(r, Write("y")) for r in REPLICAS]
    assert ctx.storage["values"] == ("x", "y")


def test_the_leader_learns_on_a_quorum_of_acks_and_stops_resending() -> None:
    ctx = FakeContext("L")
    leader = Leader(ctx, CLUSTER)
    leader.on_message("client", ClientRequest("x"))
    leader.on_message("R1", Ack("x"))
    leader.on_message("R1", Ack("x"))  # the same replica twice is one vote
    assert "learned" not in ctx.kinds()
    leader.on_message("R2", Ack("x"))
    assert ctx.events[-1] == {"ev": "learned", "value": "x"}
    assert ctx.timers == {}
    leader.on_timer("resend")
    assert ctx.take() == [(r, Write("x")) for r in REPLICAS]  # the first write only


def test_the_leader_resends_until_a_quorum_and_again_after_a_restart() -> None:
    ctx = FakeContext("L")
    Leader(ctx, CLUSTER).on_message("client", ClientRequest("x"))
    ctx.take()
    restarted = Leader(ctx, CLUSTER)  # same durable storage, fresh volatile state
    restarted.on_start()
    assert ctx.take() == [(r, Write("x")) for r in REPLICAS]
    assert ctx.events[-1] == {"ev": "write", "value": "x", "again": True}
    restarted.on_timer("resend")
    assert len(ctx.take()) == len(REPLICAS)


def test_a_replica_stores_the_first_value_and_keeps_it() -> None:
    ctx = FakeContext("R1")
    replica = Replica(ctx, CLUSTER)
    replica.on_message("L", Write("x"))
    assert ctx.storage["value"] == "x"
    assert ctx.take() == [("L", Ack("x"))]
    replica.on_message("L", Write("y"))
    assert ctx.storage["value"] == "x"
    assert ctx.take() == [("L", Ack("x"))]  # it acks the value it holds, never another
    assert ctx.events == [{"ev": "stored", "value": "x", "leader": "L"},
                          {"ev": "kept", "value": "x", "refused": "y"}]
    Replica(ctx, CLUSTER).on_message("L", Write("y"))  # after a restart, too
    assert ctx.storage["value"] == "x"


def test_a_replica_forwards_a_client_to_the_leader() -> None:
    ctx = FakeContext("R2")
    Replica(ctx, CLUSTER).on_message("client", ClientRequest("x"))
    assert ctx.take() == [("L", ClientRequest("x"))]


def test_the_overwrite_replica_replaces_its_vote() -> None:
    ctx = FakeContext("R1")
    replica = OverwriteReplica(ctx, CLUSTER)
    replica.on_message("L", Write("x"))
    replica.on_message("L", Write("y"))
    assert ctx.storage["value"] == "y"
    assert ctx.kinds() == ["stored", "stored"]


def test_nodes_snapshot_to_a_hashable_value() -> None:
    ctx = FakeContext("L")
    leader = Leader(ctx, CLUSTER)
    leader.on_message("client", ClientRequest("x"))
    leader.on_message("R1", Ack("x"))
    first = snapshot(ctx, leader)
    assert first == snapshot(ctx, leader) and hash(first) == hash(snapshot(ctx, leader))
    leader.on_message("R2", Ack("x"))
    assert snapshot(ctx, leader) != first


def test_visible_state_shows_votes_and_acks() -> None:
    ctx = FakeContext("L")
    leader = Leader(ctx, CLUSTER)
    leader.on_message("client", ClientRequest("x"))
    leader.on_message("R2", Ack("x"))
    state = LeaderWriteProtocol().visible_state(leader)
    assert state == {"values": ("x",), "learned": None, "acks": {"x": ["R2"]}}


# -- runs ---------------------------------------------------------------------------


def test_the_bundled_scenario_is_safe_and_decides() -> None:
    run = paxossim.run("leader_write")
    assert run.verdict == "ok"
    assert run.summary["chosen"] in ("x", "y")
    assert run.summary["learned"]["L"]["value"] == run.summary["chosen"]
    kinds = {event["ev"] for event in run.events()}
    assert {"leader_write.write", "leader_write.stored", "leader_write.learned"} <= kinds


def test_correct_replicas_stay_safe_on_many_seeds() -> None:
    outcomes = explore(paxossim.scenario.bundled.resolve("leader_write"), range(1, 41))
    assert all(outcome.safe for outcome in outcomes)


@pytest.mark.parametrize(("overrides", "variant"), [
    ((), "overwrite"),                          # every replica broken
    (("variants.R3=\"overwrite\"",), None),     # one replica of three is enough
])
def test_the_generic_checker_catches_replaced_votes(overrides: tuple[str, ...],
                                                    variant: str | None) -> None:
    run = paxossim.run("leader_write", set=list(overrides), variant=variant)
    assert not run.safe
    assert "agreement" in {violation["invariant"] for violation in run.violations}


def test_the_buggy_replica_scenario_fails_as_its_comment_says() -> None:
    run = paxossim.run("leader_write_buggy_replica")
    assert run.verdict == "unsafe"
    first = run.violations[0]
    assert first["invariant"] == "agreement" and "'y' was chosen" in first["detail"]


def test_same_seed_same_log() -> None:
    first, second = (paxossim.run("leader_write", seed=11, variant="overwrite")
                     for _ in range(2))
    assert list(first.events()) == list(second.events())
    assert first.summary["events_sha256"] == second.summary["events_sha256"]
    other = paxossim.run("leader_write", seed=12, variant="overwrite")
    assert other.summary["events_sha256"] != first.summary["events_sha256"]


def test_explore_finds_the_broken_variant(tmp_path: Path) -> None:
    outcomes = explore(paxossim.scenario.bundled.resolve("leader_write"), range(1, 11),
                       overrides=('variant="overwrite"',), out_dir=tmp_path)
    failed = [outcome for outcome in outcomes if outcome.failed]
    assert failed and all(outcome.problem.startswith("agreement") for outcome in failed)
    assert (tmp_path / f"seed-{failed[0].seed}" / "events.jsonl").exists()


def test_sweep_runs_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["sweep", "sweep_leader_write", "--seeds-per-point", "2",
                                       "--out", str(tmp_path), "--no-charts"])
    assert result.exit_code == 0, result.output
    rows = (tmp_path / "results.csv").read_text().splitlines()
    assert len(rows) == 1 + 2 * 5 * 2  # header, 2 seeds x 5 loss rates x 2 sizes
    header = rows[0].split(",")
    safe = header.index("safe")
    assert all(row.split(",")[safe] == "true" for row in rows[1:])


# -- a third-party protocol, registered through the entry-point group -----------------

PLUGIN = "thirdparty_write_plugin"


@pytest.fixture
def plugin_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An installed distribution, as pip would leave it: a module and its dist-info."""
    (tmp_path / f"{PLUGIN}.py").write_text(
        "from paxossim.protocols.leader_write import LeaderWriteProtocol\n\n\n"
        "class ThirdPartyWrite(LeaderWriteProtocol):\n"
        "    name = 'thirdparty_write'\n")
    info = tmp_path / f"{PLUGIN}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {PLUGIN}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[paxossim.protocols]\nthirdparty_write = {PLUGIN}:ThirdPartyWrite\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    protocols._paths.cache_clear()
    protocols.get.cache_clear()
    yield tmp_path
    protocols._paths.cache_clear()
    protocols.get.cache_clear()
    sys.modules.pop(PLUGIN, None)


def test_a_third_party_protocol_registers_through_the_entry_point(plugin_on_path: Path) -> None:
    assert "thirdparty_write" in protocols.names()
    assert "leader_write" in protocols.names()  # built-ins stay
    bundled = paxossim.scenario.bundled.resolve("leader_write").read_text()
    scenario = plugin_on_path / "plugin.toml"
    scenario.write_text(bundled.replace('"leader_write"', '"thirdparty_write"')
                        .replace("[leader_write]", "[thirdparty_write]"))
    run = paxossim.run(scenario)
    assert run.verdict == "ok" and run.summary["protocol"] == "thirdparty_write"
    assert any(event["ev"] == "thirdparty_write.stored" for event in run.events())
    broken = paxossim.run(scenario, variant="overwrite")
    assert not broken.safe


def test_the_registry_forgets_the_plugin_once_it_is_gone() -> None:
    assert "thirdparty_write" not in protocols.names()


@pytest.mark.parametrize(("assignment", "message"), [
    ('nodes.L=["replica"]', "leader_write: needs exactly one node with the leader role, not 0"),
    ('nodes.L=["leader", "replica"]', "the leader cannot be one"),
    ("leader_write.resend=1", "leader_write.resend: unknown key"),
])
def test_a_bad_topology_or_option_is_one_line(assignment: str, message: str) -> None:
    result = CliRunner().invoke(main, ["validate", "leader_write", "--set", assignment])
    assert result.exit_code == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
