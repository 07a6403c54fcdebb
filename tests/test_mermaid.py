"""The Mermaid diagram: nothing a scenario says can start a line of its own (issue 13 item 9)."""

from __future__ import annotations

from helpers_faults import SCENARIOS

from paxossim.plots.sequence import mermaid
from paxossim.runs import execute
from paxossim.scenario.model import load_raw, scenario_from_dict

INJECTED = 'data1\nclick Acceptor call alert(1)\n'


def test_values_and_names_cannot_inject_mermaid_lines() -> None:
    raw = load_raw(SCENARIOS / "late_arriving_proposal.toml")
    raw["requests"][0]["value"] = INJECTED
    raw["nodes"] = {("Proposer 1\nlink x: javascript:alert(1)" if name == "Proposer1" else name):
                    roles for name, roles in raw["nodes"].items()}
    raw["requests"][0]["node"] = "Proposer 1\nlink x: javascript:alert(1)"
    raw["network"]["links"] = {}
    result = execute(scenario_from_dict(raw, "injected.toml"))
    text = mermaid(result.header, result.events)
    lines = text.splitlines()
    assert lines[0] == "sequenceDiagram"
    assert all(line.startswith("    ") for line in lines[1:]), text
    assert not [line for line in lines if line.strip().startswith(("click", "link"))]
    assert "    participant n0 as Proposer 1 link x: javascript:alert(1)" in lines
    assert any(line.startswith("    n0->>Acceptor: prepare") for line in lines)


def test_plain_names_stay_as_they_are() -> None:
    result = execute(scenario_from_dict(load_raw(SCENARIOS / "late_arriving_proposal.toml")))
    text = mermaid(result.header, result.events)
    assert "    participant Proposer1" in text.splitlines()
    assert "    Proposer1->>Acceptor: prepare 5:31PM" in text.splitlines()
