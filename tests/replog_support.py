"""Helpers shared by the replicated-log tests: running bundled scenarios with changes."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from paxossim.runs import RunResult, execute
from paxossim.scenario.model import load_raw, scenario_from_dict
from paxossim.sim.events import RUNTIME_EVENTS

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


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
    """Events of ``kind``: a runtime kind, or the run's protocol's kind (``elected``)."""
    full = kind if kind in RUNTIME_EVENTS else f"{result.header['scenario']['protocol']}.{kind}"
    return [e for e in result.events if e["ev"] == full]
