"""Crashes, partitions, clocks and the healed phase, scripted and random."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fakes import FakeContext
from helpers_faults import (
    RANDOM_CRASHES,
    RANDOM_PARTITIONS,
    SCENARIOS,
    events_of,
    raw_scenario,
    scenario,
)

from paxossim.cli import main
from paxossim.log.stream import EventStream
from paxossim.protocols.backoff import Backoff
from paxossim.protocols.paxos import (
    ClientRequest,
    Cluster,
    Nack,
    PaxosNode,
    PaxosOptions,
    Prepare,
)
from paxossim.protocols.quorums import Quorums
from paxossim.runs import execute, save
from paxossim.scenario.model import load_scenario, scenario_from_dict, scenario_to_dict
from paxossim.sim.runtime import Simulation

# -- scripted crashes -----------------------------------------------------------


def test_a_crashed_node_receives_nothing_and_keeps_its_durable_state() -> None:
    spec = scenario(faults__crashes=[{"node": "A1", "at": 25.0, "recover": 400.0}],
                    network__latency={"model": "constant", "value": 10.0})
    out = io.BytesIO()
    sim = Simulation(spec, 1, EventStream(out))
    for host in sim.hosts.values():
        host.boot()
    sim.schedule_inputs()
    sim.env.run(until=24.0)
    before = dict(sim.hosts["A1"].storage)
    assert before.get("promised") is not None, "A1 should have promised before it crashed"
    sim.env.run(until=399.0)
    assert sim.hosts["A1"].storage == before
    sim.env.run(until=spec.horizon)
    events = events_of(out.getvalue().splitlines())
    to_a1 = {e["m"] for e in events if e["ev"] == "send" and e["dst"] == "A1"}
    down = [e for e in events if e.get("m") in to_a1 and 25.0 <= e["t"] < 400.0
            and e["ev"] in ("deliver", "drop")]
    assert down, "nothing was sent to A1 while it was down"
    assert all(e["ev"] == "drop" and e["why"] == "crashed" for e in down)
    recovered = [e for e in events if e["ev"] == "recover"]
    assert recovered == [{"t": 400.0, "ev": "recover", "node": "A1", "amnesia": False}]


def test_amnesia_breaks_correct_paxos_in_the_scripted_scenario() -> None:
    path = SCENARIOS / "forgetful_acceptor.toml"
    assert execute(load_scenario(path)).safe
    assert not execute(load_scenario(path, ["faults.amnesia=true"])).safe


def test_amnesia_plus_some_random_seed_breaks_safety() -> None:
    spec = load_scenario(SCENARIOS / "acceptor_crash_recovery.toml", ["faults.amnesia=true"])
    unsafe = next((seed for seed in range(1, 2001) if not execute(spec, seed).safe), None)
    assert unsafe is not None
    # ... and without amnesia the same seed is safe: durable state is what saves it.
    assert execute(load_scenario(SCENARIOS / "acceptor_crash_recovery.toml"), unsafe).safe


# -- random crashes and partitions ------------------------------------------------


def random_events(seed: int = 4, **sets: Any) -> list[dict[str, Any]]:
    spec = scenario(faults__random_crashes=RANDOM_CRASHES, **sets)
    return events_of(execute(spec, seed).lines)


def test_random_crashes_respect_the_cap_and_alternate() -> None:
    for seed in range(1, 21):
        down: set[str] = set()
        crashes = 0
        for event in random_events(seed):
            if event["ev"] == "crash":
                assert event["node"] not in down and event["origin"] == "random"
                down.add(event["node"])
                crashes += 1
                assert len(down) <= RANDOM_CRASHES["max_down"]
            elif event["ev"] == "recover":
                assert event["node"] in down
                down.discard(event["node"])
        assert crashes > 5


def test_random_crashes_only_hit_listed_nodes() -> None:
    crashes = dict(RANDOM_CRASHES, nodes=["A1", "A2"])
    events = events_of(execute(scenario(faults__random_crashes=crashes), 2).lines)
    assert {e["node"] for e in events if e["ev"] == "crash"} == {"A1", "A2"}


def test_random_partitions_isolate_or_split_a_minority() -> None:
    events = random_events(faults__random_partitions=RANDOM_PARTITIONS)
    nodes = set(scenario().nodes)
    starts = [e for e in events if e["ev"] == "partition"]
    assert len(starts) > 5
    active = 0
    for event in events:
        if event["ev"] in ("partition", "heal"):
            active += 1 if event["ev"] == "partition" else -1
            assert active in (0, 1), "one random partition at a time"
    for event in starts:
        minority, majority = event["groups"]
        assert set(minority) | set(majority) == nodes
        assert 1 <= len(minority) <= (len(nodes) - 1) // 2


def test_isolate_only_cuts_off_one_node() -> None:
    only = dict(RANDOM_PARTITIONS, kinds=["isolate"])
    events = events_of(execute(scenario(faults__random_partitions=only), 3).lines)
    assert all(len(e["groups"][0]) == 1 for e in events if e["ev"] == "partition")


def test_crash_times_do_not_move_when_partitions_are_turned_on() -> None:
    def crash_times(events: list[dict[str, Any]]) -> list[tuple[float, str, str]]:
        return [(e["t"], e["ev"], e["node"]) for e in events if e["ev"] in ("crash", "recover")]

    alone = random_events(seed=9)
    both = random_events(seed=9, faults__random_partitions=RANDOM_PARTITIONS)
    assert crash_times(alone) == crash_times(both)
    assert [e for e in both if e["ev"] == "partition"]


def test_random_faults_are_deterministic() -> None:
    spec = scenario(faults__random_crashes=RANDOM_CRASHES,
                    faults__random_partitions=RANDOM_PARTITIONS)
    assert execute(spec, 11).lines == execute(spec, 11).lines
    assert execute(spec, 11).lines != execute(spec, 12).lines


def test_enabled_false_turns_random_faults_off() -> None:
    off = scenario(faults__random_crashes=dict(RANDOM_CRASHES, enabled=False))
    assert off.faults.random_crashes is None
    assert not [e for e in events_of(execute(off, 4).lines) if e["ev"] == "crash"]


# -- the healed phase and liveness ------------------------------------------------


def healed(**sets: Any) -> Any:
    return scenario(faults__random_crashes=RANDOM_CRASHES,
                    faults__random_partitions=RANDOM_PARTITIONS,
                    liveness__heal_at=600.0, liveness__bound=1000.0, **sets)


def test_after_the_heal_no_fault_and_everyone_is_back() -> None:
    for seed in range(1, 11):
        events = events_of(execute(healed(), seed).lines)
        heal = next(i for i, e in enumerate(events) if e["ev"] == "healed")
        down: set[str] = set()
        cut = 0
        for event in events[: heal + 1]:
            if event["ev"] == "crash":
                down.add(event["node"])
            elif event["ev"] == "recover":
                down.discard(event["node"])
        after = events[heal + 1 :]
        recovered = {e["node"] for e in after if e["ev"] == "recover" and e["t"] == 600.0}
        assert down <= recovered
        cut = sum(1 if e["ev"] == "partition" else -1 for e in events[:heal]
                  if e["ev"] in ("partition", "heal"))
        heals = [e for e in after if e["ev"] == "heal" and e["t"] == 600.0]
        assert len(heals) == cut
        assert not [e for e in after if e["ev"] in ("crash", "partition")]


def test_liveness_verdict_in_the_summary() -> None:
    summary = execute(healed(), 3).summary
    liveness = summary["liveness"]
    assert liveness["verdict"] == "ok" and liveness["required_by"] == 1600.0
    assert liveness["chosen_at"] == summary["decided_at"]
    assert liveness["took"] == max(0.0, summary["decided_at"] - 600.0)


def test_liveness_fails_when_nothing_can_be_chosen() -> None:
    summary = execute(healed(network__loss=1.0), 3).summary
    assert summary["liveness"]["verdict"] == "failed"
    assert summary["liveness"]["chosen_at"] is None
    assert execute(scenario(network__loss=1.0), 3).summary["liveness"]["verdict"] == (
        "not-required")


def test_a_proposer_that_gave_up_tries_again_after_the_heal() -> None:
    spec = scenario(paxos__max_attempts=1, liveness__heal_at=500.0, liveness__bound=1000.0,
                    faults__partitions=[{"at": 0.0, "heal": 400.0,
                                         "groups": [["P1", "P2"], ["A1", "A2", "A3", "L1"]]}])
    result = execute(spec, 1)
    gave_up = [e["node"] for e in result.events if e["ev"] == "paxos.gave_up" and e["t"] < 500.0]
    assert sorted(gave_up) == ["P1", "P2"]
    assert "paxos.request_renewed" in [e["ev"] for e in result.events]
    assert result.summary["liveness"]["verdict"] == "ok"


def write(tmp_path: Path, raw: dict[str, Any]) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(_toml(raw), encoding="utf-8")
    return path


def _toml(raw: dict[str, Any]) -> str:
    """Enough of a TOML writer for these scenarios: everything as inline tables."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return f'"{v}"'
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f'"{k}" = {value(x)}' for k, x in v.items()) + "}"
        return repr(v)

    return "\n".join(f'"{k}" = {value(v)}' for k, v in raw.items())


def test_run_exits_1_on_a_liveness_failure_only_with_a_bound(tmp_path: Path) -> None:
    runner = CliRunner()
    bounded = write(tmp_path, raw_scenario(network__loss=1.0, liveness__heal_at=100.0,
                                           liveness__bound=500.0))
    result = runner.invoke(main, ["run", str(bounded), "--no-plots", "--out",
                                  str(tmp_path / "a")])
    assert result.exit_code == 1, result.output
    assert "liveness: FAILED" in result.output and "reproduce: paxossim run" in result.output
    unbounded = write(tmp_path, raw_scenario(network__loss=1.0, liveness__heal_at=100.0))
    result = runner.invoke(main, ["run", str(unbounded), "--no-plots", "--out",
                                  str(tmp_path / "b")])
    assert result.exit_code == 0, result.output


# -- clocks ------------------------------------------------------------------------


def test_clock_reads_offset_and_drift() -> None:
    spec = scenario(clocks__P1={"offset": 100.0, "drift": 0.5})
    sim = Simulation(spec, 1)
    sim.env.run(until=10.0)
    assert sim.hosts["P1"].clock == pytest.approx(115.0)
    assert sim.hosts["P2"].clock == pytest.approx(10.0)
    assert sim.hosts["P1"].now == 10.0


def test_a_proposer_whose_clock_runs_behind_is_refused_then_adopts_the_value() -> None:
    result = execute(load_scenario(SCENARIOS / "clock_skew.toml"))
    proposals = [e for e in result.events if e["ev"] == "paxos.propose"]
    assert proposals[0]["node"] == "Proposer1" and proposals[0]["ballot"] == [1051, "Proposer1"]
    late = proposals[1]
    assert late["node"] == "Proposer2" and late["ballot"][0] < 1051 and late["t"] > 0
    assert any(e["ev"] == "paxos.refused" and e["ballot"] == late["ballot"] for e in result.events)
    assert result.summary["chosen"] == "data1" and result.safe


def test_a_clock_running_ahead_is_not_refused() -> None:
    spec = load_scenario(SCENARIOS / "clock_skew.toml", ["clocks.Proposer2.offset=1100.0"])
    result = execute(spec)
    first = next(e for e in result.events
                 if e["ev"] == "paxos.propose" and e["node"] == "Proposer2")
    assert first["ballot"][0] == 1100
    assert not [e for e in result.events if e["ev"] == "paxos.refused"]
    assert result.safe


# -- bad input -----------------------------------------------------------------------


BAD_INPUTS = [
    ({"faults__partitions": [{"at": 0.0, "groups": [["P1"], ["Z9"]]}]},
     "faults.partitions[0].groups: no node named 'Z9'"),
    ({"faults__crashes": [{"node": "A1", "at": 50.0, "recover": 20.0}]},
     "faults.crashes[0].recover: recovery at 20.0 must come after the crash at 50.0"),
    ({"network__loss": 1.5}, "network.loss: is a probability and must be within [0, 1]"),
    ({"network__links__P1->A1__duplicate": -0.1}, "must be within [0, 1]"),
    ({"network__latency": {"model": "empirical", "file": "nowhere.csv"}},
     "does not exist"),
    ({"faults__partitions": [
        {"at": 0.0, "heal": 50.0, "oneway": True, "groups": [["P1"], ["A1", "A2"]]},
        {"at": 20.0, "heal": 80.0, "oneway": True, "groups": [["P1", "P2"], ["A1"]]}]},
     "partitions 0 and 1 overlap in time and both cut P1->A1"),
    ({"faults__random_crashes": {"nodes": ["A1", "Q"]}},
     "faults.random_crashes.nodes: no node named 'Q'"),
    ({"faults__random_crashes": {"nodes": ["A1"], "max_down": 2}},
     "faults.random_crashes.max_down: is 2 but only 1 node(s) can crash"),
    ({"faults__random_crashes": {"mean_up": 0}}, "faults.random_crashes.mean_up: must be greater"),
    ({"faults__random_crashes": {"mtbf": 10}}, "faults.random_crashes.mtbf: unknown key"),
    ({"faults__random_partitions": {"kinds": ["shuffle"]}},
     "faults.random_partitions.kinds: unknown kind 'shuffle'"),
    ({"clocks__Q": {"offset": 1.0}}, "clocks.Q: no node named 'Q'"),
    ({"clocks__P1": {"drift": -1.0}}, "clocks.P1.drift: must be greater than -1"),
    ({"liveness__bound": 100.0}, "liveness.bound: a liveness bound needs heal_at"),
    ({"liveness__heal_at": 5000.0}, "liveness.heal_at: is 5000.0, after the horizon"),
    ({"liveness__heal_at": 1500.0, "liveness__bound": 1000.0},
     "liveness.bound: heal_at + bound = 2500.0 is after the horizon"),
    ({"liveness__heal_at": 100.0, "faults__crashes": [{"node": "A1", "at": 150.0}]},
     "faults.crashes[0] at 150.0 is not before heal_at (100.0)"),
    ({"paxos__ballot_source": "sundial"}, "paxos.ballot_source: must be one of counter, clock"),
]


@pytest.mark.parametrize(("sets", "message"), BAD_INPUTS)
def test_bad_fault_input_is_one_line_and_exit_2(
    tmp_path: Path, sets: dict[str, Any], message: str
) -> None:
    path = write(tmp_path, raw_scenario(**sets))
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert result.output.startswith(f"error: {path}") and result.output.count("\n") == 1
    assert "Traceback" not in result.output


def test_csv_with_no_numbers_is_refused(tmp_path: Path) -> None:
    (tmp_path / "lat.csv").write_text("latency\nfast\n", encoding="utf-8")
    path = write(tmp_path, raw_scenario(network__latency={"model": "empirical",
                                                           "file": "lat.csv"}))
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2 and "holds no non-negative numbers" in result.output


# -- the log's header holds every new key -----------------------------------------------


@pytest.mark.parametrize("name", ["acceptor_crash_recovery", "minority_partition",
                                  "clock_skew", "lossy_network", "dueling_proposers"])
def test_resolved_scenario_loads_back_identical(name: str) -> None:
    spec = load_scenario(SCENARIOS / f"{name}.toml")
    again = scenario_from_dict(scenario_to_dict(spec), spec.source)
    assert again == spec


def test_replay_proves_a_random_fault_run_identical(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "run"
    result = runner.invoke(main, ["run", str(SCENARIOS / "minority_partition.toml"),
                                  "--seed", "5", "--no-plots", "--out", str(out)])
    assert result.exit_code == 0, result.output
    replayed = runner.invoke(main, ["replay", str(out / "events.jsonl")])
    assert replayed.exit_code == 0 and "identical" in replayed.output


def test_a_scripted_outage_is_not_cut_short_by_a_random_recovery() -> None:
    crashes = {"nodes": ["A1"], "mean_up": 5.0, "mean_down": 30.0, "max_down": 1}
    spec = scenario(faults__random_crashes=crashes,
                    faults__crashes=[{"node": "A1", "at": 100.0, "recover": 900.0}])
    for seed in range(1, 30):
        events = events_of(execute(spec, seed).lines)
        inside = [e for e in events if e["ev"] in ("crash", "recover") and 100 < e["t"] < 900]
        assert inside == []


def test_random_partitions_and_the_heal_are_drawn(tmp_path: Path) -> None:
    """Every partition event carries an index, so the diagram can shade its window."""
    spec = healed(network__latency={"model": "uniform", "low": 1.0, "high": 5.0})
    result = execute(spec, 2)
    cuts = [e for e in result.events if e["ev"] in ("partition", "heal")]
    assert cuts and all("index" in e for e in cuts)
    save(result, tmp_path, render=True)
    assert (tmp_path / "sequence.png").stat().st_size > 0


# -- proposer retries, clock ballots and renewed requests, fed by hand ----------------


def proposer(options: PaxosOptions, clock: float = 0.0) -> tuple[PaxosNode, FakeContext]:
    ctx = FakeContext("P1")
    ctx.clock = clock
    acceptors = ("A1", "A2", "A3")
    cluster = Cluster(acceptors=acceptors, learners=(), quorums=Quorums.of(acceptors),
                      options=options)
    return PaxosNode(ctx, ("proposer",), cluster), ctx


def test_backoff_on_timeout_waits_a_jittered_growing_delay_before_the_next_ballot() -> None:
    options = PaxosOptions(backoff_on_timeout=True, backoff=Backoff(base=10.0, jitter=0.5),
                           retry_timeout=100.0)
    node, ctx = proposer(options)
    node.on_message("client", ClientRequest("v"))
    ctx.take()
    waits = []
    for attempt in (1, 2, 3):
        ctx.now = ctx.timers["retry"]
        node.on_timer("retry")  # the ballot times out: back off, send nothing yet
        assert ctx.take() == []
        waits.append(ctx.timers["retry"] - ctx.now)
        ctx.now = ctx.timers["retry"]
        node.on_timer("retry")  # the backoff is over: a higher ballot
        assert ctx.take()[0][1] == Prepare((attempt + 1, "P1"))
    for attempt, wait in enumerate(waits, start=1):
        base = 10.0 * 2 ** (attempt - 1)
        assert 0.5 * base <= wait <= 1.5 * base
    assert [e["backoff"] for e in ctx.events if e["ev"] == "timeout"] == pytest.approx(waits)


def test_clock_ballots_take_the_clock_but_never_go_back() -> None:
    node, ctx = proposer(PaxosOptions(ballot_source="clock"), clock=966.7)
    node.on_message("client", ClientRequest("v"))
    assert ctx.take()[0][1] == Prepare((966, "P1"))
    node.on_message("A1", Nack((966, "P1"), (1051, "P2"), "prepare"))
    ctx.clock = 967.2
    node.on_timer("retry")
    assert ctx.take()[0][1] == Prepare((1052, "P1"))


def test_a_renewed_request_gives_a_fresh_attempt_budget() -> None:
    node, ctx = proposer(PaxosOptions(max_attempts=2, backoff_on_timeout=False))
    node.on_message("client", ClientRequest("v"))
    node.on_timer("retry")
    node.on_timer("retry")
    assert ctx.kinds()[-1] == "gave_up"
    ctx.take()
    node.on_message("client", ClientRequest("v"))
    assert ctx.kinds()[-2:] == ["request_renewed", "propose"]
    assert ctx.take()[0][1] == Prepare((3, "P1"))


# -- files a scenario reads (issue 13 item 10) ------------------------------------------


def empirical_scenario(folder: Path, file: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return write(folder, raw_scenario(network__latency={"model": "empirical", "file": file}))


def test_a_samples_file_outside_the_scenario_s_folder_needs_the_flag(tmp_path: Path) -> None:
    (tmp_path / "lat.csv").write_text("3\n4\n", encoding="utf-8")
    path = empirical_scenario(tmp_path / "scenario", "../lat.csv")
    refused = CliRunner().invoke(main, ["validate", str(path)])
    assert refused.exit_code == 2 and refused.output.count("\n") == 1
    assert "outside the scenario's folder" in refused.output
    assert "--allow-outside-files" in refused.output
    allowed = CliRunner().invoke(main, ["--allow-outside-files", "validate", str(path)],
                                 env={"PAXOSSIM_ALLOW_OUTSIDE_FILES": ""})
    assert allowed.exit_code == 0, allowed.output


def test_a_samples_file_that_is_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    path = empirical_scenario(tmp_path, "/dev/zero")
    result = CliRunner().invoke(main, ["--allow-outside-files", "validate", str(path)],
                                env={"PAXOSSIM_ALLOW_OUTSIDE_FILES": ""})  # restored after
    assert result.exit_code == 2 and "is not a regular file" in result.output


def test_the_header_names_the_samples_file_and_its_hash(tmp_path: Path) -> None:
    import hashlib

    import orjson

    data = b"latency\n3\n4\n9\n"
    (tmp_path / "lat.csv").write_bytes(data)
    path = empirical_scenario(tmp_path, "lat.csv")
    out = tmp_path / "out"
    ran = CliRunner().invoke(main, ["run", str(path), "--out", str(out), "--no-plots"])
    assert ran.exit_code in (0, 1), ran.output
    header = orjson.loads((out / "events.jsonl").read_bytes().split(b"\n")[0])
    latency = header["scenario"]["network"]["latency"]
    assert latency["file"] == "lat.csv"
    assert latency["file_sha256"] == hashlib.sha256(data).hexdigest()
    assert latency["samples"] == [3.0, 4.0, 9.0]
    (tmp_path / "lat.csv").unlink()  # replay needs the samples, not the file
    replayed = CliRunner().invoke(main, ["replay", str(out / "events.jsonl")])
    assert replayed.exit_code == 0, replayed.output
