"""Hypothesis draws fault schedules; correct Paxos stays safe under every one of them."""

from __future__ import annotations

import copy
from typing import Any

from helpers_faults import BASE
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from paxossim.errors import UserError
from paxossim.runs import execute
from paxossim.scenario.model import scenario_from_dict

NODES = list(BASE["nodes"])
HORIZON = 1500.0
times = st.floats(min_value=0.0, max_value=1000.0, allow_nan=False)


@st.composite
def crash_schedules(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Per node, a few non-overlapping crash windows (some never recovered)."""
    crashes = []
    for node in draw(st.lists(st.sampled_from(NODES), unique=True, max_size=4)):
        edges = sorted(draw(st.lists(times, min_size=1, max_size=6, unique=True)))
        for start, end in zip(edges[::2], edges[1::2], strict=False):
            crashes.append({"node": node, "at": start, "recover": end})
        if len(edges) % 2:
            crashes.append({"node": node, "at": edges[-1]}
                           | ({} if draw(st.booleans()) else {"recover": edges[-1] + 50.0}))
    return crashes


@st.composite
def partition_schedules(draw: st.DrawFn) -> list[dict[str, Any]]:
    partitions = []
    for _ in range(draw(st.integers(0, 3))):
        side = draw(st.lists(st.sampled_from(NODES), unique=True, min_size=1,
                             max_size=len(NODES) - 1))
        rest = [n for n in NODES if n not in side]
        start = draw(times)
        partition = {"at": start, "groups": [side, rest], "oneway": draw(st.booleans())}
        if draw(st.booleans()):
            partition["heal"] = start + draw(st.floats(1.0, 500.0))
        partitions.append(partition)
    return partitions


@st.composite
def faulty_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    raw = copy.deepcopy(BASE)
    raw["horizon"] = HORIZON
    raw["network"] = {
        "latency": {"model": "exponential", "mean": draw(st.floats(1.0, 30.0)), "min": 0.5},
        "loss": draw(st.sampled_from([0.0, 0.05, 0.3])),
        "duplicate": draw(st.sampled_from([0.0, 0.1, 0.4])),
        "ordering": draw(st.sampled_from(["free", "fifo"])),
    }
    raw["faults"] = {"crashes": draw(crash_schedules()),
                     "partitions": draw(partition_schedules())}
    if draw(st.booleans()):
        raw["faults"]["random_crashes"] = {
            "mean_up": draw(st.floats(20.0, 500.0)), "mean_down": draw(st.floats(5.0, 200.0)),
            "max_down": draw(st.integers(1, len(NODES))),
        }
    if draw(st.booleans()):
        raw["faults"]["random_partitions"] = {
            "mean_interval": draw(st.floats(10.0, 500.0)),
            "mean_duration": draw(st.floats(5.0, 300.0)),
        }
    raw["requests"][1]["at"] = draw(st.floats(0.0, 200.0))
    raw["paxos"] = {"retry_timeout": draw(st.floats(20.0, 200.0)), "max_attempts": 20}
    return raw


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=faulty_scenarios(), seed=st.integers(0, 2**32 - 1))
def test_correct_paxos_is_safe_under_drawn_fault_schedules(raw: dict[str, Any], seed: int) -> None:
    try:
        scenario = scenario_from_dict(raw, "drawn.toml")
    except UserError as error:
        # Overlapping one-way partitions that cut the same link are refused on purpose.
        assume("overlap in time" not in str(error))
        raise
    result = execute(scenario, seed)
    assert result.safe, result.summary["safety"]["violations"]


@settings(max_examples=60, deadline=None)
@given(raw=faulty_scenarios(), seed=st.integers(0, 2**32 - 1))
def test_a_drawn_run_is_deterministic(raw: dict[str, Any], seed: int) -> None:
    try:
        scenario = scenario_from_dict(raw, "drawn.toml")
    except UserError:
        assume(False)
        return
    assert execute(scenario, seed).lines == execute(scenario, seed).lines
