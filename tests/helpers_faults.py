"""Small scenarios built in code for the fault tests (kept apart from the lead's conftest)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson

from paxossim.scenario.model import Scenario, scenario_from_dict, set_key

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"

RANDOM_CRASHES = {"mean_up": 80.0, "mean_down": 40.0, "max_down": 2}
RANDOM_PARTITIONS = {"mean_interval": 60.0, "mean_duration": 40.0}


def events_of(lines: list[bytes]) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in lines]

BASE: dict[str, Any] = {
    "name": "small",
    "horizon": 2000.0,
    "nodes": {
        "P1": ["proposer"],
        "P2": ["proposer"],
        "A1": ["acceptor"],
        "A2": ["acceptor"],
        "A3": ["acceptor"],
        "L1": ["learner"],
    },
    "requests": [
        {"node": "P1", "value": "x", "at": 0.0},
        {"node": "P2", "value": "y", "at": 5.0},
    ],
    "network": {"latency": {"model": "exponential", "mean": 10.0, "min": 1.0}},
    "paxos": {"max_attempts": 100, "backoff_max": 200.0},
}


def raw_scenario(**sets: Any) -> dict[str, Any]:
    """The base scenario with dotted keys set (``faults__amnesia=True`` -> faults.amnesia)."""
    raw = copy.deepcopy(BASE)
    for key, value in sets.items():
        set_key(raw, key.replace("__", "."), value)
    return raw


def scenario(**sets: Any) -> Scenario:
    return scenario_from_dict(raw_scenario(**sets), "small.toml")
