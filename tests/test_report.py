"""The run account: one sentence per protocol fact, plumbing left out, long runs cut."""

from __future__ import annotations

from pathlib import Path

from paxossim.report import MAX_LINES, account, describe
from paxossim.runs import execute
from paxossim.scenario import load_scenario


def test_phase_and_retry_events_read_as_sentences() -> None:
    assert describe({"t": 5.0, "ev": "healed"}, "number").startswith("faults end")
    assert describe({"t": 5.0, "ev": "client_retry", "node": "P1", "value": "x"},
                    "number") == "a client re-sends its request to P1"
    assert describe({"t": 5.0, "ev": "client_retry", "node": "c1", "id": "c1#4", "to": "r2"},
                    "number") == "client c1 re-sends c1#4 to r2"
    assert describe({"t": 5.0, "ev": "refused", "node": "A", "ballot": [966, "P2"],
                     "promised": [1051, "P1"], "phase": "prepare"}, "clock") == \
        "A refuses ballot 4:06PM (prepare): it promised 5:31PM"


def test_plumbing_events_are_not_told() -> None:
    for kind in ("send", "deliver", "drop", "timer", "duplicate"):
        assert describe({"t": 0.0, "ev": kind, "m": 1}, "number") is None


def test_a_long_run_is_cut_with_a_count_of_the_rest(root: Path) -> None:
    scenario = load_scenario(root / "scenarios" / "dueling_proposers.toml")
    result = execute(scenario)
    lines = account(result.summary, result.header, result.events)
    steps = [line for line in lines if line.startswith("  t=")]
    assert len(steps) == MAX_LINES
    assert any(line.startswith("  ... ") and "more steps" in line for line in lines)
