"""The post's late-arriving proposal, asserted message by message; determinism; the checker."""

from __future__ import annotations

from pathlib import Path

from paxossim.runs import execute
from paxossim.scenario.model import load_scenario

HERE = Path(__file__).resolve().parent


def deliveries(result) -> list[tuple[float, str, str, str]]:
    sends = {e["m"]: e for e in result.events if e["ev"] == "send"}
    return [
        (e["t"], sends[e["m"]]["src"], sends[e["m"]]["dst"], sends[e["m"]]["type"])
        for e in result.events
        if e["ev"] == "deliver"
    ]


def test_post_story_message_by_message(post_scenario: Path) -> None:
    result = execute(load_scenario(post_scenario))
    assert deliveries(result) == [
        (10.0, "Proposer1", "Acceptor", "prepare"),  # 5:31PM, "data1"
        (20.0, "Acceptor", "Proposer1", "promise"),  # i vote yes, 5:31PM
        (25.0, "Proposer2", "Acceptor", "prepare"),  # 4:06PM, "data2", late
        (30.0, "Proposer1", "Acceptor", "accept"),  # accept as law, 5:31PM, "data1"
        (35.0, "Acceptor", "Proposer2", "nack"),  # i vote no, 4:06PM
        (40.0, "Acceptor", "Proposer1", "accepted"),
        (40.0, "Acceptor", "Learner", "accepted"),  # the acceptor tells the learner
    ]
    refused = [e for e in result.events if e["ev"] == "paxos.refused"]
    assert len(refused) == 1
    assert refused[0]["ballot"] == [16 * 60 + 6, "Proposer2"]
    assert refused[0]["promised"] == [17 * 60 + 31, "Proposer1"]
    summary = result.summary
    assert summary["chosen"] == "data1"
    assert summary["decided_at"] == 30.0
    assert summary["learned"] == {"Learner": {"value": "data1", "t": 40.0}}
    assert summary["messages"] == {"sent": 7, "delivered": 7, "dropped": 0, "duplicated": 0}
    assert summary["safety"] == {"ok": True, "violations": []}


def test_post_retry_adopts_the_chosen_value(post_scenario: Path) -> None:
    result = execute(load_scenario(post_scenario, ["paxos.max_attempts=3"]))
    phase2 = [e for e in result.events if e["ev"] == "paxos.phase2" and e["node"] == "Proposer2"]
    assert phase2 and phase2[0]["value"] == "data1"
    assert phase2[0]["adopted_from"] == [17 * 60 + 31, "Proposer1"]
    assert result.summary["safety"]["ok"]


RANDOM_LATENCY = 'network.latency={model="exponential", mean=10.0, min=1.0}'


def test_same_seed_gives_identical_lines_other_seed_differs(post_scenario: Path) -> None:
    scenario = load_scenario(post_scenario, [RANDOM_LATENCY, "paxos.max_attempts=5"])
    first, second = execute(scenario, 3), execute(scenario, 3)
    assert first.lines == second.lines
    assert first.summary["events_sha256"] == second.summary["events_sha256"]
    assert execute(scenario, 4).lines != first.lines


def test_loss_on_one_link_leaves_other_links_latencies_alone(post_scenario: Path) -> None:
    base = load_scenario(post_scenario, [RANDOM_LATENCY])
    lossy = load_scenario(post_scenario, [RANDOM_LATENCY,
                                          'network.links."Proposer2->Acceptor".loss=1.0'])

    def first_prepare_delivery(result) -> float:
        return deliveries(result)[0][0]

    assert first_prepare_delivery(execute(base, 5)) == first_prepare_delivery(execute(lossy, 5))


def test_checker_catches_the_forgetful_acceptor() -> None:
    path = HERE / "scenarios" / "restart_between_phases.toml"
    correct = execute(load_scenario(path))
    assert correct.summary["safety"]["ok"]
    assert correct.summary["chosen"] == "v2"
    broken = execute(load_scenario(path, ['variant="forget-promise-on-restart"']))
    violations = broken.summary["safety"]["violations"]
    assert {v["invariant"] for v in violations} >= {"agreement", "integrity"}
    assert violations[0]["time"] == 210.0


def test_crashed_acceptor_receives_nothing() -> None:
    path = HERE / "scenarios" / "restart_between_phases.toml"
    result = execute(load_scenario(path, ["faults.crashes.0.recover=400.0"]))
    drops = [e for e in result.events if e["ev"] == "drop"]
    assert [(e["t"], e["why"]) for e in drops] == [(210.0, "crashed")]
    acted = [e for e in result.events if e.get("node") == "A2" and 50.0 <= e["t"] < 400.0]
    assert [e["ev"] for e in acted] == ["crash"]


def test_restarted_acceptor_keeps_its_durable_promise() -> None:
    path = HERE / "scenarios" / "restart_between_phases.toml"
    result = execute(load_scenario(path))
    refusals = [(e["t"], e["ballot"], e["promised"]) for e in result.events
                if e["ev"] == "paxos.refused" and e["node"] == "A2"]
    assert refusals == [(210.0, [1, "P1"], [2, "P2"])]
