"""FLP, shown: fixed timeouts duel forever; randomized timeouts decide."""

from __future__ import annotations

from replog_support import of_kind, raw_scenario, run_named, run_raw


def test_fixed_timeouts_on_a_fixed_latency_network_decide_nothing() -> None:
    result = run_named("flp_livelock")
    assert result.safe
    assert result.summary["chosen"] is None and not of_kind(result, "learned")
    proposals = of_kind(result, "propose")
    # Not for lack of trying: both keep proposing until the horizon.
    assert {e["node"] for e in proposals} == {"r1", "r2"}
    assert max(e["t"] for e in proposals) > result.header["scenario"]["horizon"] - 50
    # Seeds change nothing: there is no randomness left to break the tie.
    assert run_named("flp_livelock", seed=99).summary["chosen"] is None


def test_either_proposer_alone_decides_with_the_same_timeouts() -> None:
    # The livelock is a duel, not a timeout too short to finish a round.
    for keep in (0, 1):
        raw = raw_scenario("flp_livelock")
        raw["requests"] = [raw["requests"][keep]]
        result = run_raw(raw)
        assert result.summary["chosen"] == raw["requests"][0]["value"]


def test_randomized_twin_decides_on_every_seed() -> None:
    for seed in range(1, 11):
        result = run_named("flp_randomized", seed=seed)
        assert result.safe
        assert result.summary["chosen"] in ("a|put|x|1", "b|put|x|2"), seed
        learned = of_kind(result, "learned")
        assert len({e["node"] for e in learned}) == 5


def test_the_twins_differ_only_in_the_timeout_jitter() -> None:
    livelock, randomized = raw_scenario("flp_livelock"), raw_scenario("flp_randomized")
    assert livelock["p2p"]["timeout_jitter"] == 0 and randomized["p2p"]["timeout_jitter"] > 0
    for raw in (livelock, randomized):
        del raw["p2p"]["timeout_jitter"], raw["name"], raw["description"]
    assert livelock == randomized


def test_flp_chart_data_is_the_same_twice() -> None:
    from paxossim.experiments.flp import decision_times

    raw = raw_scenario("flp_livelock")
    raw["horizon"] = 1000.0
    first = decision_times(raw, (0.0, 5.0), 3)
    assert first == decision_times(raw, (0.0, 5.0), 3)
    assert first[0.0] == [None, None, None] and None not in first[5.0]
    assert first == decision_times(raw, (0.0, 5.0), 3, workers=2)
