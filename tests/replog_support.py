"""Helpers shared by the replicated-log tests: a hand-driven context, scenario runs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from paxossim.rng import Stream
from paxossim.runs import RunResult, execute
from paxossim.scenario import load_raw, scenario_from_dict

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


class HandContext:
    """A Context a test drives by hand: it records what the node sends, sets and emits."""

    def __init__(self, node_id: str, seed: int = 1) -> None:
        self.node_id = node_id
        self.rng = Stream(seed, f"node:{node_id}")
        self.storage: dict[str, Any] = {}
        self.time = 0.0
        self.sent: list[tuple[str, Any]] = []
        self.timers: dict[str, float] = {}
        self.events: list[dict[str, Any]] = []

    @property
    def now(self) -> float:
        return self.time

    @property
    def clock(self) -> float:
        return self.time

    def send(self, dst: str, msg: Any) -> None:
        self.sent.append((dst, msg))

    def set_timer(self, name: str, delay: float) -> None:
        self.timers[name] = self.time + delay

    def cancel_timer(self, name: str) -> None:
        self.timers.pop(name, None)

    def emit(self, kind: str, **fields: Any) -> None:
        self.events.append({"ev": kind, **fields})

    def take(self) -> list[tuple[str, Any]]:
        sent, self.sent = self.sent, []
        return sent


def raw_scenario(name: str) -> dict[str, Any]:
    return load_raw(SCENARIOS / f"{name}.toml")


def run_raw(raw: dict[str, Any], seed: int | None = None) -> RunResult:
    return execute(scenario_from_dict(copy.deepcopy(raw)), seed)


def run_named(
    name: str,
    seed: int | None = None,
    top: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
) -> RunResult:
    """Run a bundled scenario with top-level keys and protocol options changed."""
    raw = raw_scenario(name)
    raw.update(top or {})
    raw.setdefault(raw["protocol"], {}).update(options or {})
    return run_raw(raw, seed)


def of_kind(result: RunResult, kind: str) -> list[dict[str, Any]]:
    return [e for e in result.events if e["ev"] == kind]
