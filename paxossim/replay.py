"""Re-simulate a run from its log's header (scenario, seed, input schedule) and compare
the event streams line by line."""

from __future__ import annotations

from dataclasses import dataclass

from paxossim import __version__
from paxossim.eventlog import Log
from paxossim.runs import execute
from paxossim.scenario import scenario_from_dict
from paxossim.schedule import Schedule


@dataclass(frozen=True)
class Difference:
    line: int
    """1-based line number in the log file (the header is line 1)."""
    logged: bytes | None
    fresh: bytes | None

    def describe(self, path: str) -> str:
        def show(line: bytes | None) -> str:
            return "(nothing: the stream ended)" if line is None else line.decode()

        return (f"differs: {path}: line {self.line}\n  logged:       {show(self.logged)}\n"
                f"  re-simulated: {show(self.fresh)}")


def resimulate(log: Log) -> list[bytes]:
    """Run the header's scenario and seed again, executing the header's schedule as
    logged (a log without one, from before schedules, has it drawn from the seed)."""
    scenario = scenario_from_dict(log.header["scenario"], f"{log.path}: header scenario")
    raw = log.header.get("schedule")
    schedule = None if raw is None else Schedule.from_data(raw, f"{log.path}: header schedule")
    return execute(scenario, log.header["seed"], schedule).lines


def first_difference(logged: list[bytes], fresh: list[bytes]) -> Difference | None:
    for index in range(max(len(logged), len(fresh))):
        old = logged[index] if index < len(logged) else None
        new = fresh[index] if index < len(fresh) else None
        if old != new:
            return Difference(index + 2, old, new)
    return None


def version_note(log: Log) -> str:
    logged = log.header.get("paxossim")
    if logged != __version__:
        return f"\n  (the log was written by paxossim {logged}; this is {__version__})"
    return ""
