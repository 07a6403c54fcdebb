"""The run account: one sentence per protocol fact, plumbing left out, long runs cut."""

from __future__ import annotations

from pathlib import Path

from paxossim.analysis.account import MAX_LINES, account, describer
from paxossim.runs import execute
from paxossim.scenario.model import load_scenario


def test_phase_and_retry_events_read_as_sentences() -> None:
    describe = describer("paxos", "number")
    assert describe({"t": 5.0, "ev": "healed"}).startswith("faults end")
    assert describe({"t": 5.0, "ev": "client_retry", "node": "P1", "value": "x"}) == \
        "a client re-sends its request to P1"
    assert describer("multipaxos", "number")(
        {"t": 5.0, "ev": "multipaxos.client_retry", "node": "c1", "id": "c1#4", "to": "r2"}
    ) == "client c1 re-sends c1#4 to r2"
    assert describer("paxos", "clock")(
        {"t": 5.0, "ev": "paxos.refused", "node": "A", "ballot": [966, "P2"],
         "promised": [1051, "P1"], "phase": "prepare"}
    ) == "A refuses ballot 4:06PM (prepare): it promised 5:31PM"


def test_details_are_told_only_when_their_field_is_set() -> None:
    describe = describer("paxos", "number")
    promised = {"t": 1.0, "ev": "paxos.promised", "node": "A", "ballot": [2, "P1"],
                "accepted_ballot": None, "accepted_value": None}
    assert describe(promised) == "A promises ballot (2,P1)"
    reported = promised | {"accepted_ballot": [1, "P2"], "accepted_value": "v"}
    assert describe(reported) == 'A promises ballot (2,P1), reporting "v" accepted at (1,P2)'


def test_plumbing_events_and_unknown_kinds_are_not_told() -> None:
    describe = describer("paxos", "number")
    for kind in ("send", "deliver", "drop", "timer", "duplicate", "timer_set", "store",
                 "paxos.proposer_done", "accepted", "multipaxos.elected"):
        assert describe({"t": 0.0, "ev": kind, "m": 1}) is None


def test_a_long_run_is_cut_with_a_count_of_the_rest(root: Path) -> None:
    scenario = load_scenario(root / "scenarios" / "dueling_proposers.toml")
    result = execute(scenario)
    lines = account(result.summary, result.header, result.events)
    steps = [line for line in lines if line.startswith("  t=")]
    assert len(steps) == MAX_LINES
    assert any(line.startswith("  ... ") and "more steps" in line for line in lines)
