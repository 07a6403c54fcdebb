"""A run's log streams: written as it goes, read back as a stream, never held whole."""

from __future__ import annotations

import gc
import io
from pathlib import Path

import pytest
from helpers_faults import SCENARIOS

from paxossim import progress
from paxossim.log.files import iter_events, scan_log
from paxossim.plots.sequence import opening
from paxossim.runs import execute
from paxossim.scenario.model import load_scenario
from paxossim.sim.runtime import Simulation


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_run_streamed_to_a_file_keeps_nothing_and_reads_back_the_same(tmp_path: Path) -> None:
    scenario = load_scenario(SCENARIOS / "dueling_proposers.toml")
    kept = execute(scenario)
    log = tmp_path / "events.jsonl"
    streamed = execute(scenario, keep=False, log_path=log)
    assert streamed.block is None and kept.block is not None
    assert list(iter_events(log)) == kept.events
    assert streamed.summary == kept.summary
    head = scan_log(log)
    assert head.events == len(kept.events) and head.footer["summary"] == kept.summary
    with pytest.raises(ValueError, match="kept no events"):
        _ = execute(scenario, keep=False).lines


def test_diagrams_read_only_the_opening_of_a_long_run() -> None:
    result = execute(load_scenario(SCENARIOS / "leader_failover.toml"))
    first = opening(result.iter_events(), 50)
    sends = [e for e in first if e["ev"] in ("send", "duplicate")]
    assert len(sends) == 50
    assert len(first) < len(result.events) / 10
    settled = {e["m"] for e in first if e["ev"] in ("deliver", "drop")}
    assert {e["m"] for e in sends} <= settled, "every shown message's fate is in the opening"
    small = execute(load_scenario(SCENARIOS / "late_arriving_proposal.toml")).events
    assert opening(iter(small), 300) == small


def test_progress_shows_on_a_terminal_only_and_is_erased(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(progress, "SHOW_AFTER", 0.0)
    sim = Simulation(load_scenario(SCENARIOS / "late_arriving_proposal.toml"), 7)
    terminal, piped = Terminal(), io.StringIO()
    shown, hidden = progress.SimulatedTime(terminal), progress.SimulatedTime(piped)
    sim.run(progress=lambda s: (shown(s), hidden(s)))
    assert "simulated 1,000 / 1,000 ms (100%)" in terminal.getvalue()
    assert piped.getvalue() == ""
    shown.close()
    assert terminal.getvalue().endswith("\r\033[K")


def test_a_finished_run_leaves_nothing_for_the_cyclic_collector(tmp_path: Path) -> None:
    """Simulation.close() breaks the run's cycles: its hosts, nodes and link streams
    are freed by reference counting, not left as garbage for the collector."""
    from paxossim.rng import Stream
    from paxossim.sim.runtime import Host

    scenario = load_scenario(SCENARIOS / "dueling_proposers.toml")
    gc.collect()
    gc.disable()
    try:
        execute(scenario, keep=False, log_path=tmp_path / "events.jsonl")
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        left = [type(thing).__name__ for thing in gc.garbage
                if isinstance(thing, Host | Simulation | Stream)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert left == []


def test_a_rerun_replaces_its_log(tmp_path: Path) -> None:
    scenario = load_scenario(SCENARIOS / "dueling_proposers.toml")
    log = tmp_path / "events.jsonl"
    first = execute(scenario, 1, keep=False, log_path=log)
    second = execute(scenario, 2, keep=False, log_path=log)
    assert first.summary["events_sha256"] != second.summary["events_sha256"]
    assert scan_log(log).footer["summary"] == second.summary
    assert [path.name for path in tmp_path.iterdir()] == ["events.jsonl"]
