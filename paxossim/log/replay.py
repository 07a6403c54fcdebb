"""Re-simulate a run from its log's header (scenario, seed, input schedule) and compare
the event streams line by line."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from paxossim import __version__
from paxossim.log.files import LogHead, event_lines
from paxossim.log.stream import EventStream
from paxossim.scenario.model import scenario_from_dict
from paxossim.scenario.schedule import Schedule
from paxossim.sim.runtime import Simulation


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


class Comparison:
    """Holds each re-simulated event line against the logged one as the run writes
    it (an :class:`EventStream`'s output), so neither log is kept in memory."""

    def __init__(self, logged: Iterator[bytes]) -> None:
        self.logged = logged
        self.count = 0
        self.difference: Difference | None = None

    def write(self, block: bytes) -> None:
        self.count += 1
        if self.difference is None:
            old, new = next(self.logged, None), block[:-1]
            if old != new:
                self.difference = Difference(self.count + 1, old, new)

    def finish(self) -> Difference | None:
        """The first difference, or the first logged line the re-run never wrote."""
        if self.difference is None:
            extra = next(self.logged, None)
            if extra is not None:
                self.difference = Difference(self.count + 2, extra, None)
        return self.difference


def resimulate(log: LogHead) -> Comparison:
    """Run the header's scenario and seed again, executing the header's schedule as
    logged (a log without one, from before schedules, has it drawn from the seed),
    and compare its event lines with the log's, streaming both."""
    scenario = scenario_from_dict(log.header["scenario"], f"{log.path}: header scenario")
    raw = log.header.get("schedule")
    schedule = None if raw is None else Schedule.from_data(raw, f"{log.path}: header schedule")
    comparison = Comparison(event_lines(log.path))
    stream = EventStream(comparison)
    simulation = Simulation(scenario, log.header["seed"], stream, schedule)
    try:
        simulation.run()
    finally:
        simulation.close()
    comparison.finish()
    return comparison


def version_note(log: LogHead) -> str:
    logged = log.header.get("paxossim")
    if logged != __version__:
        return f"\n  (the log was written by paxossim {logged}; this is {__version__})"
    return ""
